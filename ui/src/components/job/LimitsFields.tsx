import { AreaField, SelectField, TextField } from "./fields";
import type { SectionProps } from "./section";

/** How far a run goes. */
export function LimitsFields({ d, up, problem }: SectionProps) {
  return (
    <fieldset>
      <legend>Limits</legend>
      <div class="grid3">
        <TextField id="max-pages" label="Max pages per run" type="number" value={d.max_pages} onInput={(max_pages) => up((x) => ({ ...x, max_pages }))} problem={problem} at="/max_pages" />
        <TextField id="max-depth" label="Max depth (empty: no limit)" type="number" value={d.max_depth} onInput={(max_depth) => up((x) => ({ ...x, max_depth }))} problem={problem} at="/max_depth" />
        <TextField id="concurrency" label="Concurrency (requests in flight)" type="number" value={d.concurrency} onInput={(concurrency) => up((x) => ({ ...x, concurrency }))} problem={problem} at="/concurrency" />
      </div>
      <div class="grid3">
        <TextField id="max-duration" label="Time limit, seconds (empty: none)" type="number" value={d.max_duration_secs} onInput={(max_duration_secs) => up((x) => ({ ...x, max_duration_secs }))} problem={problem} at="/max_duration_secs" />
        <SelectField id="dedup-scope" label="Deduplicate items" value={d.dedup_scope} onChange={(dedup_scope) => up((x) => ({ ...x, dedup_scope }))} options={[["run", "within a run"], ["job", "across all runs of the job"]]} problem={problem} at="/dedup_scope" />
        <AreaField id="drop-query-params" label="Query parameters to drop (one a line)" rows={2} value={d.drop_query_params} onInput={(drop_query_params) => up((x) => ({ ...x, drop_query_params }))} problem={problem} at="/drop_query_params" />
      </div>
    </fieldset>
  );
}
