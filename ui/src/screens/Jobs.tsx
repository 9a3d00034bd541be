import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { JobOut } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { MoreButton } from "../components/MoreButton";
import { RunNow } from "../components/RunNow";
import { Busy, SkeletonRows } from "../components/Skeleton";
import { StatusBadge } from "../components/StatusBadge";
import { when } from "../lib/format";
import { useCursorList, useDebounced } from "../lib/hooks";
import { href } from "../lib/route";

type Tri = "any" | "yes" | "no";
const matches = (t: Tri, v: boolean) => t === "any" || (t === "yes") === v;

/** `#/jobs`: your jobs, searched by name on the server, filtered here. */
export function Jobs() {
  const [search, setSearch] = useState("");
  const [enabled, setEnabled] = useState<Tri>("any");
  const [scheduled, setScheduled] = useState<Tri>("any");
  const q = useDebounced(search.trim(), 250);
  const list = useCursorList(
    (cursor) =>
      must(
        api.GET("/v1/jobs", {
          params: {
            query: {
              cursor,
              limit: 50,
              ...(q ? { q } : {}),
              ...(enabled !== "any" ? { enabled: enabled === "yes" } : {}),
              ...(scheduled !== "any" ? { scheduled: scheduled === "yes" } : {}),
            },
          },
        }),
      ),
    [q, enabled, scheduled],
  );
  // The server filters; the same test here keeps a row out between a change and its answer.
  const shown = list.items.filter((j: JobOut) => matches(enabled, j.enabled) && matches(scheduled, !!j.cron));
  return (
    <>
      <h1>Jobs</h1>
      <div class="row">
        <div class="field">
          <label for="job-search">Search by name</label>
          <input id="job-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </div>
        <TriSelect id="filter-enabled" label="Enabled" value={enabled} onChange={setEnabled} />
        <TriSelect id="filter-scheduled" label="Scheduled" value={scheduled} onChange={setScheduled} />
        <div class="field">
          <a class="button primary" href="#/jobs/new" id="new-job">
            New job
          </a>
        </div>
      </div>
      <ErrorBox problem={list.problem} />
      <Busy on={list.loading} />
      <div class="table-wrap">
        <table id="jobs-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Last run</th>
              <th scope="col">Next scheduled run</th>
              <th scope="col">Enabled</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.loading && list.items.length === 0 ? (
              <SkeletonRows cols={5} />
            ) : shown.length === 0 ? (
              <tr>
                <td colSpan={5} class="muted">
                  {q || enabled !== "any" || scheduled !== "any" ? "No job matches the search and filters." : "No jobs yet."}
                </td>
              </tr>
            ) : (
              shown.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <td>
                    <a class="job-link" href={href("jobs", j.id)}>
                      {j.name}
                    </a>
                  </td>
                  <td>
                    {j.last_run ? (
                      <a href={href("runs", j.last_run.id)}>
                        <StatusBadge status={j.last_run.status} /> {when(j.last_run.finished_at ?? j.last_run.created_at)}
                      </a>
                    ) : (
                      <span class="muted">never run</span>
                    )}
                  </td>
                  <td>{j.next_run_at ? when(j.next_run_at) : <span class="muted">{j.cron ? "disabled" : "no schedule"}</span>}</td>
                  <td>{j.enabled ? "yes" : "no"}</td>
                  <td>
                    <RunNow jobId={j.id} className="run-now" />
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

function TriSelect({ id, label, value, onChange }: { id: string; label: string; value: Tri; onChange: (t: Tri) => void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value as Tri)}>
        <option value="any">any</option>
        <option value="yes">yes</option>
        <option value="no">no</option>
      </select>
    </div>
  );
}
