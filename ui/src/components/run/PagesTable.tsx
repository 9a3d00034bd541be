import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import { must } from "../../api/errors";
import type { PageOut } from "../../api/types";
import { bytes, num } from "../../lib/format";
import { useCursorList } from "../../lib/hooks";
import { ErrorBox } from "../ErrorBox";
import { MoreButton } from "../MoreButton";
import { SkeletonRows } from "../Skeleton";

const OUTCOMES = ["pending", "fetching", "done", "failed", "skipped"] as const;
type Outcome = (typeof OUTCOMES)[number];

/** The pages of a run, by outcome, with why each failed or was skipped. */
export function PagesTable({ runId, refresh }: { runId: string; refresh: number }) {
  const [outcome, setOutcome] = useState<"" | Outcome>("");
  const list = useCursorList(
    (cursor) =>
      must(api.GET("/v1/runs/{id}/pages", { params: { path: { id: runId }, query: { cursor, limit: 50, ...(outcome ? { outcome } : {}) } } })),
    [runId, outcome],
  );
  // Refreshed as the run goes (the first page only: pages loaded further stay as they are).
  useEffect(() => {
    if (refresh > 0) list.reload();
  }, [refresh]);
  return (
    <section aria-labelledby="pages-heading">
      <h2 id="pages-heading">Pages</h2>
      <div class="field" style={{ maxWidth: "16rem" }}>
        <label for="outcome-filter">Outcome</label>
        <select id="outcome-filter" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value as "" | Outcome)}>
          <option value="">all</option>
          {OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </div>
      <ErrorBox problem={list.problem} />
      <div class="table-wrap">
        <table id="pages-table">
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Outcome</th>
              <th scope="col" class="num">HTTP</th>
              <th scope="col" class="num">Depth</th>
              <th scope="col" class="num">Items</th>
              <th scope="col" class="num">Size</th>
              <th scope="col" class="num">Time</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {list.loading && list.items.length === 0 ? (
              <SkeletonRows cols={8} rows={3} />
            ) : list.items.length === 0 ? (
              <tr>
                <td colSpan={8} class="muted">
                  No pages{outcome ? ` ${outcome}` : ""}.
                </td>
              </tr>
            ) : (
              list.items.map((p: PageOut) => (
                <tr key={p.url} class={p.outcome === "failed" ? "invalid" : ""} data-outcome={p.outcome}>
                  <td class="mono" style={{ overflowWrap: "anywhere" }}>
                    {p.url}
                    {p.final_url && p.final_url !== p.url && <span class="hint"> → {p.final_url}</span>}
                  </td>
                  <td>{p.outcome}</td>
                  <td class="num">{p.http_status ?? "—"}</td>
                  <td class="num">{p.depth}</td>
                  <td class="num">
                    {p.items ?? "—"}
                    {p.items_invalid > 0 && <span class="cell-problem">{p.items_invalid} invalid</span>}
                    {p.items_empty > 0 && <span class="hint"> {p.items_empty} empty</span>}
                  </td>
                  <td class="num">{bytes(p.bytes)}</td>
                  <td class="num">{p.elapsed_ms != null ? `${num(p.elapsed_ms)} ms` : "—"}</td>
                  <td>
                    {p.error && (
                      <>
                        <code>{p.error.code}</code> {p.error.message}
                      </>
                    )}
                    {p.item_issues.map((i, k) => (
                      <span key={k} class="cell-problem">
                        item {i.index}: {i.code} {i.message ?? ""}
                      </span>
                    ))}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <MoreButton more={list.more} loading={list.loading} id="more-pages" />
    </section>
  );
}
