import type { Counters } from "../../api/types";
import { bytes, num } from "../../lib/format";

const SHOWN: [keyof Counters, string, (n: number) => string][] = [
  ["pages_fetched", "Pages fetched", num],
  ["pages_failed", "Pages failed", num],
  ["items_new", "New items", num],
  ["items_duplicate", "Duplicates", num],
  ["items_invalid", "Invalid items", num],
  ["items_empty", "Empty items", num],
  ["bytes_fetched", "Fetched", bytes],
  ["fuel_consumed", "Plugin fuel", num],
];

/** The run's counters, live: each in a box of its own, ids like `#pages-fetched`. */
export function RunCounters({ counters }: { counters: Counters | null }) {
  return (
    <dl class="counters" aria-live="polite">
      {SHOWN.map(([key, label, show]) => (
        <div class="counter" key={key}>
          <dt>{label}</dt>
          <dd id={String(key).replace(/_/g, "-")} data-value={counters ? counters[key] : ""}>
            {counters ? show(counters[key]) : ""}
          </dd>
        </div>
      ))}
    </dl>
  );
}
