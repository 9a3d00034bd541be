import type { RunOut } from "../api/types";
import { duration, num, when } from "../lib/format";
import { href } from "../lib/route";
import { SkeletonRows } from "./Skeleton";
import { StatusBadge } from "./StatusBadge";

/** Runs, newest first, each linked to its monitor and its results. */
export function RunsTable({ runs, loading }: { runs: RunOut[]; loading: boolean }) {
  return (
    <div class="table-wrap">
      <table id="runs-table">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Status</th>
            <th scope="col">Trigger</th>
            <th scope="col">Queued</th>
            <th scope="col">Took</th>
            <th scope="col" class="num">Pages</th>
            <th scope="col" class="num">New items</th>
            <th scope="col" class="num">Credits</th>
            <th scope="col">
              <span class="visually-hidden">Results</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {loading && runs.length === 0 ? (
            <SkeletonRows cols={9} rows={3} />
          ) : runs.length === 0 ? (
            <tr>
              <td colSpan={9} class="muted">
                No runs yet.
              </td>
            </tr>
          ) : (
            runs.map((r) => (
              <tr key={r.id}>
                <td>
                  <a href={href("runs", r.id)} class="run-link">
                    {r.id.slice(0, 8)}
                  </a>
                </td>
                <td>
                  <StatusBadge status={r.status} />
                  {(r.error ?? r.reason) && <span class="hint"> {(r.error ?? r.reason)!.code}</span>}
                </td>
                <td>{r.trigger}</td>
                <td>{when(r.created_at)}</td>
                <td>{duration(r.started_at, r.finished_at)}</td>
                <td class="num">{num(r.counters.pages_fetched)}</td>
                <td class="num">{num(r.counters.items_new)}</td>
                <td class="num">{num(r.credits.total)}</td>
                <td>
                  <a href={href("runs", r.id, "results")}>results</a>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
