import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must, problemOf, type ApiProblem } from "../api/errors";
import { ErrorBox } from "../components/ErrorBox";
import { ExportPanel } from "../components/ExportPanel";
import { JobSettings } from "../components/JobSettings";
import { MoreButton } from "../components/MoreButton";
import { RunNow } from "../components/RunNow";
import { RunsTable } from "../components/RunsTable";
import type { RunOut } from "../api/types";
import { SkeletonBlock } from "../components/Skeleton";
import { useCursorList, useLoad } from "../lib/hooks";
import { href } from "../lib/route";
import { go } from "../lib/router";

type RunStatus = RunOut["status"];
const RUN_STATUSES: RunStatus[] = ["queued", "running", "succeeded", "failed", "cancelled", "timed_out"];

/** `#/jobs/<id>`: a job's settings, its runs, and the ways to run, edit and export it. */
export function JobPage({ id }: { id: string }) {
  const job = useLoad(() => must(api.GET("/v1/jobs/{id}", { params: { path: { id } } })), [id]);
  const [status, setStatus] = useState<RunStatus | "any">("any");
  const runs = useCursorList(
    (cursor) =>
      must(
        api.GET("/v1/jobs/{id}/runs", {
          params: { path: { id }, query: { cursor, limit: 20, ...(status !== "any" ? { status } : {}) } },
        }),
      ),
    [id, status],
  );
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const remove = async () => {
    if (!confirm("Delete this job with its runs, results and exports?")) return;
    try {
      await must(api.DELETE("/v1/jobs/{id}", { params: { path: { id } } }));
      go("#/jobs");
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  if (job.problem) return <ErrorBox problem={job.problem} />;
  return (
    <>
      <h1>{job.data ? `Job ${job.data.name}` : "Job"}</h1>
      <div class="actions">
        <RunNow jobId={id} id="run-now" className="primary" />
        <a class="button" id="edit-job" href={href("jobs", id, "edit")}>
          Edit
        </a>
        <button type="button" class="danger" id="delete-job" onClick={remove}>
          Delete
        </button>
      </div>
      <ErrorBox problem={problem} />
      <h2>Settings</h2>
      {job.data ? <JobSettings job={job.data} /> : <SkeletonBlock lines={8} />}
      <h2>Runs</h2>
      <div class="field">
        <label for="runs-status">Status</label>
        <select id="runs-status" value={status} onChange={(e) => setStatus(e.currentTarget.value as RunStatus | "any")}>
          {(["any", ...RUN_STATUSES] as const).map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <ErrorBox problem={runs.problem} />
      <RunsTable runs={runs.items} loading={runs.loading} />
      <MoreButton more={runs.more} loading={runs.loading} />
      <ExportPanel target={{ kind: "job", id }} />
    </>
  );
}
