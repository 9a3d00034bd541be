import { useEffect } from "preact/hooks";
import { api } from "../../api/client";
import { must } from "../../api/errors";
import type { RunOut } from "../../api/types";
import { num } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { ErrorBox } from "../ErrorBox";

/** What the run has cost so far: live from the run, and its charge lines. */
export function RunCost({ run, refresh }: { run: RunOut; refresh: number }) {
  const usage = useLoad(() => must(api.GET("/v1/runs/{id}/usage", { params: { path: { id: run.id } } })), [run.id]);
  useEffect(() => {
    if (refresh > 0) usage.reload();
  }, [refresh]);
  const c = run.credits;
  return (
    <section aria-labelledby="cost-heading">
      <h2 id="cost-heading">Cost so far</h2>
      <p id="run-cost" aria-live="polite">
        <strong>{num(c.total)}</strong> credits (pages {num(c.pages)}, fuel {num(c.fuel)}, items {num(c.items)})
        {c.max_credits != null && `, capped at ${num(c.max_credits)}`}; {c.charged ? `${num(run.credits_consumed)} taken from the balance` : "priced, not charged"}.
      </p>
      <ErrorBox problem={usage.problem} />
      {usage.data && (
        <p class="hint">
          Work: {num(usage.data.work.pages)} pages, {num(usage.data.work.fuel)} fuel, {num(usage.data.work.items)} new items; {usage.data.charges.items.length} charge lines
          {usage.data.charges.next_cursor ? " (and more)" : ""}.
        </p>
      )}
    </section>
  );
}
