import { useMemo, useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { ResultOut } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { ExportPanel } from "../components/ExportPanel";
import { ColumnChooser, ResultFilters, applyFilters, type Filters } from "../components/results/controls";
import { ResultsTable } from "../components/results/ResultsTable";
import { Busy } from "../components/Skeleton";
import { useDebounced, useLoad } from "../lib/hooks";
import { href } from "../lib/route";
import { propertiesOf, type JsonObject } from "../lib/schema-model";

const PAGE = 50;

/** `#/runs/<id>/results`: a run's items as a table (or JSON), page by page. */
export function Results({ id }: { id: string }) {
  const columns = useLoad(async () => {
    const run = await must(api.GET("/v1/runs/{id}", { params: { path: { id } } }));
    const job = await must(api.GET("/v1/jobs/{id}", { params: { path: { id: run.job_id } } }));
    // The schema the run used (its job may point at another one since).
    const schemaId = run.params?.schema_id ?? job.schema_id;
    const schema = await must(api.GET("/v1/schemas/{id}", { params: { path: { id: schemaId } } }));
    return { run, job, names: propertiesOf(schema.json_schema as JsonObject).map(([k]) => k) };
  }, [id]);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const [hidden, setHidden] = useState<string[]>([]);
  const [json, setJson] = useState(false);
  const [filters, setFiltersState] = useState<Filters>({ minConfidence: "", validity: "any", text: "" });
  // Confidence and validity are the server's filters (as an export's): a change starts
  // again from the first page. The text filter reads the page shown.
  const setFilters = (f: Filters) => {
    if (f.minConfidence !== filters.minConfidence || f.validity !== filters.validity) setCursors([undefined]);
    setFiltersState(f);
  };
  const minConfidence = useDebounced(filters.minConfidence.trim(), 300);
  const query = {
    cursor,
    limit: PAGE,
    ...(minConfidence !== "" && !Number.isNaN(Number(minConfidence)) ? { min_confidence: Number(minConfidence) } : {}),
    ...(filters.validity !== "any" ? { valid: filters.validity === "valid" } : {}),
  };
  const page = useLoad(
    () => must(api.GET("/v1/runs/{id}/results", { params: { path: { id }, query } })),
    [id, cursor, minConfidence, filters.validity],
  );

  const items: ResultOut[] = page.data?.items ?? [];
  const names = useMemo(() => {
    const known = columns.data?.names ?? [];
    const extra = new Set<string>();
    for (const r of items) for (const k of Object.keys((r.data ?? {}) as object)) if (!known.includes(k)) extra.add(k);
    return [...known, ...extra];
  }, [columns.data, items]);
  const all = [...names, "_confidence", "_source_url", "_created_at"];
  const shownColumns = all.filter((c) => !hidden.includes(c));
  const shown = applyFilters(items, filters);

  return (
    <>
      <h1>
        Results of run <a href={href("runs", id)} class="mono">{id.slice(0, 8)}</a>
        {columns.data && <span class="muted"> ({columns.data.job.name})</span>}
      </h1>
      <ErrorBox problem={columns.problem} />
      <div class="actions">
        <button type="button" id="json-view" aria-pressed={json} onClick={() => setJson(!json)}>
          JSON view
        </button>
        <ColumnChooser all={all} hidden={hidden} onHidden={setHidden} />
      </div>
      <ResultFilters filters={filters} onFilters={setFilters} />
      <ErrorBox problem={page.problem} />
      <Busy on={page.loading} />
      <p class="hint" aria-live="polite" id="results-summary">
        Page {cursors.length}: {shown.length} of {items.length} items shown{filters.text ? " (the text filter reads this page)" : ""}.
      </p>
      {json ? (
        <pre class="json" id="results-json">
          {JSON.stringify(shown, null, 2)}
        </pre>
      ) : (
        <ResultsTable items={shown} columns={shownColumns} loading={page.loading && !page.data} />
      )}
      <div class="actions">
        <button type="button" id="prev-page" disabled={cursors.length <= 1 || page.loading} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          id="next-page"
          disabled={!page.data?.next_cursor || page.loading}
          onClick={() => page.data?.next_cursor && setCursors([...cursors, page.data.next_cursor])}
        >
          Next page
        </button>
      </div>
      <ExportPanel target={{ kind: "run", id }} fields={shownColumns.filter((c) => !c.startsWith("_"))} />
    </>
  );
}
