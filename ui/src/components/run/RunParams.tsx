import { api } from "../../api/client";
import { must } from "../../api/errors";
import type { RunOut } from "../../api/types";
import { when } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { href } from "../../lib/route";
import { ErrorBox } from "../ErrorBox";
import { JobSettings } from "../JobSettings";

type Params = NonNullable<RunOut["params"]>;

/** The settings the run was worked with, as its worker read them when it started. */
function AsRun({ p }: { p: Params }) {
  const f = p.fetch;
  return (
    <dl class="settings" id="run-used">
      <dt>Schema</dt>
      <dd>
        <a href={href("schemas", p.schema_id)}>{p.schema_name}</a>, version {p.schema_version} ({p.plugin}, validation {p.validation_mode})
      </dd>
      <dt>Start URLs</dt>
      <dd class="mono">{p.start_urls.slice(0, 20).join(" ")}{p.start_urls.length > 20 ? ` … (${p.start_urls.length} in all)` : ""}</dd>
      <dt>Pagination</dt>
      <dd class="mono">{JSON.stringify(p.pagination)}</dd>
      <dt>Limits</dt>
      <dd>
        max pages {p.max_pages}; max depth {p.max_depth ?? "none"}; concurrency {p.concurrency}; max credits {p.max_credits ?? "none"}
      </dd>
      <dt>Fetch</dt>
      <dd>
        render {f.render ?? "http"}; delay {f.delay_ms ?? 0} ms; per host {f.per_host_concurrency ?? "default"}; robots.txt {f.obey_robots === false ? "ignored" : "obeyed"}
      </dd>
      <dt>Dedup</dt>
      <dd>{p.dedup_scope}</dd>
    </dl>
  );
}

/** What the run was asked to do and what it ran with; the job's settings as they are now. */
export function RunParams({ run }: { run: RunOut }) {
  const job = useLoad(() => must(api.GET("/v1/jobs/{id}", { params: { path: { id: run.job_id } } })), [run.job_id]);
  // Lists and the event stream carry no parameters: the run's own answer has them once
  // a worker has started it.
  const used = useLoad(
    () => must(api.GET("/v1/runs/{id}", { params: { path: { id: run.id } } })).then((r) => r.params ?? null),
    [run.id, run.started_at ?? ""],
  );
  const o = run.overrides;
  return (
    <section aria-labelledby="params-heading">
      <h2 id="params-heading">Parameters</h2>
      <dl class="settings" id="run-params">
        <dt>Job</dt>
        <dd>
          <a href={href("jobs", run.job_id)}>{job.data?.name ?? run.job_id}</a>
        </dd>
        <dt>Trigger</dt>
        <dd>
          {run.trigger}
          {run.scheduled_for && ` (occurrence of ${when(run.scheduled_for)})`}
        </dd>
        <dt>Overrides</dt>
        <dd>
          {o.start_urls ? `start URLs ${o.start_urls.join(", ")}; ` : ""}
          {o.max_pages != null ? `max pages ${o.max_pages}; ` : ""}
          {o.max_credits != null ? `max credits ${o.max_credits}; ` : ""}
          {o.start_urls == null && o.max_pages == null && o.max_credits == null && "none: the job's settings"}
        </dd>
        {run.idempotency_key && (
          <>
            <dt>Idempotency-Key</dt>
            <dd class="mono">{run.idempotency_key}</dd>
          </>
        )}
        <dt>Deadline</dt>
        <dd>{run.deadline_at ? when(run.deadline_at) : "none"}</dd>
      </dl>
      <h3>As run</h3>
      <ErrorBox problem={used.problem} />
      {used.data ? <AsRun p={used.data} /> : <p class="muted">{run.started_at ? "Loading…" : "Not started yet."}</p>}
      <details>
        <summary>The job's settings (as they are now)</summary>
        <ErrorBox problem={job.problem} />
        {job.data && <JobSettings job={job.data} />}
      </details>
    </section>
  );
}
