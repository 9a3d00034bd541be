import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import { cronInWords } from "../../lib/cron";
import { when } from "../../lib/format";
import { useDebounced } from "../../lib/hooks";
import { ErrorBox } from "../ErrorBox";
import { SelectField, TextField } from "./fields";
import type { SectionProps } from "./section";

const zones: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

/** The schedule: a crontab expression and its time zone, in words and as its next runs. */
export function ScheduleFields({ d, up, problem }: SectionProps) {
  const cron = d.cron.trim();
  const timezone = d.timezone.trim() || "UTC";
  const asked = useDebounced(useMemo(() => ({ cron, timezone }), [cron, timezone]), 300);
  const [next, setNext] = useState<string[]>([]);
  const [nextProblem, setNextProblem] = useState<ApiProblem | null>(null);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    if (!asked.cron) {
      setNext([]);
      setNextProblem(null);
      return;
    }
    must(api.POST("/v1/schedule/preview", { body: { cron: asked.cron, timezone: asked.timezone, count: 5 } })).then(
      (out) => {
        if (mine !== seq.current) return;
        setNext(out.occurrences);
        setNextProblem(null);
      },
      (e) => {
        if (mine !== seq.current) return;
        setNext([]);
        setNextProblem(problemOf(e));
      },
    );
  }, [asked]);
  const words = d.cron.trim() ? cronInWords(d.cron) : null;
  const validZone = zones.includes(asked.timezone) || asked.timezone === "UTC";
  return (
    <fieldset>
      <legend>Schedule</legend>
      <div class="grid3">
        <TextField
          id="schedule"
          label="Cron expression (empty: no schedule)"
          mono
          value={d.cron}
          onInput={(cron) => up((x) => ({ ...x, cron }))}
          placeholder="30 2 * * *"
          problem={problem}
          at="/cron"
          hint={<span id="schedule-words">{d.cron.trim() ? words ?? "not an expression this console can put in words" : "runs start only when asked"}</span>}
        />
        <TextField id="timezone" label="Time zone" value={d.timezone} list="timezones" onInput={(timezone) => up((x) => ({ ...x, timezone }))} problem={problem} at="/timezone" />
        <SelectField id="overlap" label="When a run is still going" value={d.overlap} onChange={(overlap) => up((x) => ({ ...x, overlap }))} options={[["skip", "skip the occurrence"], ["queue", "queue a run anyway"]]} problem={problem} at="/overlap" />
      </div>
      <datalist id="timezones">
        {zones.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
      <div aria-live="polite">
        <ErrorBox problem={nextProblem} id="schedule-error" />
        <h3>Next runs {validZone ? `(${asked.timezone})` : ""}</h3>
        <ol id="schedule-next">
          {next.map((t) => (
            <li key={t}>
              <time dateTime={t}>{when(t, validZone ? asked.timezone : undefined)}</time>
            </li>
          ))}
        </ol>
        {asked.cron === "" && <p class="muted">No schedule.</p>}
      </div>
    </fieldset>
  );
}
