import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must, problemOf, type ApiProblem } from "../api/errors";
import type { ExportOut } from "../api/types";
import { CopyButton } from "../components/CopyButton";
import { ErrorBox } from "../components/ErrorBox";
import { ExportPanel } from "../components/ExportPanel";
import { reachable } from "../components/ExportStatus";
import { SelectField } from "../components/job/fields";
import { MoreButton } from "../components/MoreButton";
import { Busy, SkeletonRows } from "../components/Skeleton";
import { StatusBadge } from "../components/StatusBadge";
import { bytes, num, when } from "../lib/format";
import { useCursorList, useInterval, useLoad } from "../lib/hooks";
import { href } from "../lib/route";

/** `#/exports`: your exports, newest first, and a new export of a job's results. */
export function Exports() {
  const jobs = useLoad(() => must(api.GET("/v1/jobs", { params: { query: { limit: 500 } } })), []);
  const [jobId, setJobId] = useState("");
  const list = useCursorList((cursor) => must(api.GET("/v1/exports", { params: { query: { cursor, limit: 50 } } })), []);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  // Exports still being written are looked at again every two seconds.
  useInterval(list.reload, 2000, list.items.some((e) => e.status === "queued" || e.status === "running"));

  const remove = async (e: ExportOut) => {
    try {
      await must(api.DELETE("/v1/exports/{id}", { params: { path: { id: e.id } } }));
      list.reload();
    } catch (err) {
      setProblem(problemOf(err));
    }
  };
  const chosen = jobId || jobs.data?.items[0]?.id || "";
  return (
    <>
      <h1>Exports</h1>
      <section aria-labelledby="new-export-heading">
        <h2 id="new-export-heading">New export</h2>
        <ErrorBox problem={jobs.problem} />
        <SelectField
          id="export-job"
          label="Job"
          value={chosen}
          onChange={setJobId}
          options={(jobs.data?.items ?? []).map((j): [string, string] => [j.id, j.name])}
          problem={null}
        />
        {chosen && <ExportPanel key={chosen} target={{ kind: "job", id: chosen }} />}
      </section>
      <h2>Your exports</h2>
      <ErrorBox problem={list.problem ?? problem} />
      <Busy on={list.loading} />
      <div class="table-wrap">
        <table id="exports-table">
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Of</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">Rows</th>
              <th scope="col" class="num">Size</th>
              <th scope="col">Link</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.loading && list.items.length === 0 ? (
              <SkeletonRows cols={7} rows={3} />
            ) : list.items.length === 0 ? (
              <tr>
                <td colSpan={7} class="muted">
                  No exports yet.
                </td>
              </tr>
            ) : (
              list.items.map((e) => (
                <tr key={e.id}>
                  <td>{when(e.created_at)}</td>
                  <td>{e.run_id ? <a href={href("runs", e.run_id)}>run {e.run_id.slice(0, 8)}</a> : <a href={href("jobs", e.job_id)}>job (all runs)</a>}</td>
                  <td>
                    <StatusBadge status={e.status} />
                    {e.error && (
                      <span class="cell-problem">
                        {e.error.code}: {e.error.message}
                      </span>
                    )}
                  </td>
                  <td class="num">{num(e.row_count)}</td>
                  <td class="num">{bytes(e.size_bytes)}</td>
                  <td>
                    {e.download_url ? (
                      <>
                        <a href={reachable(e.download_url)} rel="noopener">
                          {e.file_name ?? "download"}
                        </a>
                        <span class="hint"> until {when(e.expires_at)} </span>
                        <CopyButton text={reachable(e.download_url)} />
                      </>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td>
                    <button type="button" class="danger" onClick={() => remove(e)} aria-label={`Delete export ${e.id}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <MoreButton more={list.more} loading={list.loading} />
    </>
  );
}
