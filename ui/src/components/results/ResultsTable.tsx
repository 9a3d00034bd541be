import type { ResultOut } from "../../api/types";
import { short, when } from "../../lib/format";
import { ConfidenceBar } from "../charts";
import { SkeletonRows } from "../Skeleton";

type Problem = { path?: unknown; message?: unknown };
type FieldMeta = { confidence?: number; origin?: string; detail?: string };

const ORIGINS: Record<string, string> = {
  structured_data: "structured data",
  meta: "meta tag",
  page_text: "page text",
  hint: "hint",
  other: "other",
};

/** What the extractor said of one field: where the value came from and how sure it is. */
function FieldOrigin({ meta }: { meta: FieldMeta | undefined }) {
  if (!meta || typeof meta.origin !== "string") return null;
  const sure = typeof meta.confidence === "number" ? ` · ${Math.round(meta.confidence * 100)}%` : "";
  return (
    <span class="cell-origin" title={meta.detail ?? undefined}>
      {(ORIGINS[meta.origin] ?? meta.origin) + sure}
    </span>
  );
}

/** The validation errors of one item, by the property they are about ("" for the item). */
function problemsByField(r: ResultOut, names: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const list = Array.isArray(r.validation_errors) ? (r.validation_errors as Problem[]) : [];
  for (const p of list) {
    const path = typeof p.path === "string" ? p.path : "";
    const message = typeof p.message === "string" ? p.message : JSON.stringify(p);
    const field = names.find((n) => path === `/${n}` || path.startsWith(`/${n}/`)) ?? "";
    out.set(field, [...(out.get(field) ?? []), message]);
  }
  return out;
}

/** `#results-table`: one row per item, the schema's properties as columns. */
export function ResultsTable({ items, columns, loading }: { items: ResultOut[]; columns: string[]; loading: boolean }) {
  const names = columns.filter((c) => !c.startsWith("_"));
  return (
    <div class="table-wrap">
      <table id="results-table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c === "_confidence" ? "confidence" : c === "_source_url" ? "source" : c === "_created_at" ? "stored" : c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {loading ? (
            <SkeletonRows cols={Math.max(1, columns.length)} />
          ) : items.length === 0 ? (
            <tr>
              <td colSpan={Math.max(1, columns.length)} class="muted">
                No items.
              </td>
            </tr>
          ) : (
            items.map((r) => {
              const problems = problemsByField(r, names);
              const data = (r.data ?? {}) as Record<string, unknown>;
              const fields = (r.fields ?? {}) as Record<string, FieldMeta>;
              const itemProblems = problems.get("");
              return (
                <tr key={r.id} class={problems.size ? "invalid" : ""} data-result={r.id}>
                  {columns.map((c, i) => {
                    if (c === "_confidence")
                      return (
                        <td key={c}>
                          <ConfidenceBar value={r.confidence} />
                        </td>
                      );
                    if (c === "_source_url")
                      return (
                        <td key={c} class="mono" style={{ overflowWrap: "anywhere" }}>
                          {r.source_url}
                        </td>
                      );
                    if (c === "_created_at") return <td key={c}>{when(r.created_at)}</td>;
                    const mine = problems.get(c);
                    return (
                      <td key={c} class={mine ? "invalid-cell" : ""} title={mine?.join("; ")}>
                        {c in data ? short(data[c], 200) : <span class="muted">—</span>}
                        {c in data && <FieldOrigin meta={fields[c]} />}
                        {mine?.map((m, k) => (
                          <span key={k} class="cell-problem">
                            {m}
                          </span>
                        ))}
                        {i === 0 && itemProblems?.map((m, k) => (
                          <span key={`i${k}`} class="cell-problem">
                            {m}
                          </span>
                        ))}
                      </td>
                    );
                  })}
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
