import { api } from "../../api/client";
import { must } from "../../api/errors";
import type { RunOut } from "../../api/types";
import { when } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { href } from "../../lib/route";
import { ErrorBox } from "../ErrorBox";
import { JobSettings } from "../JobSettings";

/** What the run was asked to do: its overrides of the job, and the job's settings. */
export function RunParams({ run }: { run: RunOut }) {
  const job = useLoad(() => must(api.GET("/v1/jobs/{id}", { params: { path: { id: run.job_id } } })), [run.job_id]);
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
      <details>
        <summary>The job's settings (as they are now)</summary>
        <ErrorBox problem={job.problem} />
        {job.data && <JobSettings job={job.data} />}
      </details>
    </section>
  );
}
