import type { ApiProblem } from "../../api/errors";
import type { PreviewPage } from "../../api/types";
import { short } from "../../lib/format";
import { ErrorBox } from "../ErrorBox";

/** The items the schema gets from the page, each with its validation problems. */
export function ItemsPreview({ page, problem, busy, columns }: { page: PreviewPage | null; problem: ApiProblem | null; busy: boolean; columns: string[] }) {
  return (
    <section class="preview-area" aria-labelledby="items-heading" aria-busy={busy}>
      <h2 id="items-heading">
        Items{" "}
        <span class="muted" id="item-count" aria-live="polite">
          {page ? `${page.items.length} found` : ""}
          {busy ? " (updating…)" : ""}
        </span>
      </h2>
      <ErrorBox problem={problem} id="preview-error" />
      {page?.error && <ErrorBox problem={{ status: 0, code: page.error.code, message: page.error.message, details: null }} />}
      {page && (
        <p class="hint">
          {page.final_url ?? page.url} {page.status != null && `· HTTP ${page.status}`} · fuel {page.fuel} · fetch {page.fetch_ms} ms · extract {page.extract_ms} ms
        </p>
      )}
      {!page && !problem && <p class="muted">Load a page to see the items extracted from it.</p>}
      <div id="preview-items">
        {page?.items.map((item, i) => {
          const data = (item.data ?? {}) as Record<string, unknown>;
          const keys = [...columns, ...Object.keys(data).filter((k) => !columns.includes(k))];
          return (
            <div key={i} class={`item-card${item.kept ? "" : " refused"}`} data-item={i}>
              <table>
                <caption class="visually-hidden">Item {i + 1}</caption>
                <tbody>
                  {keys.map((k) => {
                    const problems = item.problems.filter((p) => p.path === `/${k}` || p.path.startsWith(`/${k}/`));
                    return (
                      <tr key={k} class={problems.length ? "invalid" : ""}>
                        <th scope="row">{k}</th>
                        <td class={problems.length ? "invalid-cell" : ""}>
                          {k in data ? short(data[k], 200) : <span class="muted">missing</span>}
                          {problems.map((p, j) => (
                            <span key={j} class="cell-problem">
                              {p.message}
                            </span>
                          ))}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {item.problems
                .filter((p) => !keys.some((k) => p.path === `/${k}` || p.path.startsWith(`/${k}/`)))
                .map((p, j) => (
                  <p key={j} class="cell-problem">
                    <code>{p.path || "/"}</code> {p.message}
                  </p>
                ))}
              <p class="hint">
                {item.kept ? "kept" : "not kept"}
                {item.confidence != null && ` · confidence ${item.confidence.toFixed(2)}`}
              </p>
            </div>
          );
        })}
        {page?.refused.map((r, i) => (
          <p key={`r${i}`} class="cell-problem">
            Item {r.index + 1} refused: <code>{r.code}</code> {r.message}
          </p>
        ))}
      </div>
    </section>
  );
}
