import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api/client";
import { must, problemOf, type ApiProblem } from "../api/errors";
import type { PreviewIn, SchemaIn, SchemaOut } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { SkeletonBlock } from "../components/Skeleton";
import { useDraft } from "../components/builder/draft";
import { ItemsPreview } from "../components/builder/ItemsPreview";
import { PageFrame } from "../components/builder/PageFrame";
import { PropertyList } from "../components/builder/PropertyList";
import { SchemaText } from "../components/builder/SchemaText";
import { SourceForm, type Source } from "../components/builder/SourceForm";
import { usePicker } from "../components/builder/usePicker";
import { usePreview, type LoadedPage, type SchemaMeta } from "../components/builder/usePreview";
import { SchemaSettings } from "../components/builder/SchemaSettings";
import { useLoad } from "../lib/hooks";
import { href } from "../lib/route";
import { emptySchema, propertiesOf, setScope, type JsonObject } from "../lib/schema-model";

const LAST_URL = "trawl.builder.url.";

/**
 * Fetch settings that only ask for browser rendering. The server fills every other field
 * with its default; the generated type lists them all as required (the settings struct
 * defaults them as a whole), hence the cast.
 */
const RENDER_IN_BROWSER = { render: "browser" } as unknown as NonNullable<PreviewIn["fetch"]>;

/** `#/schemas/new` and `#/schemas/<id>`: build a schema by pointing at a page. */
export function SchemaBuilder({ id }: { id: string | null }) {
  const draft = useDraft();
  const [name, setName] = useState("");
  const [meta, setMeta] = useState<SchemaMeta>({ plugin: "css-extractor", validation_mode: "strict", plugin_options: {} });
  const [limits, setLimits] = useState<SchemaIn["limits"] | undefined>(undefined);
  const [savedId, setSavedId] = useState<string | null>(id);
  const [saved, setSaved] = useState<SchemaOut | null>(null);
  const [saveProblem, setSaveProblem] = useState<ApiProblem | null>(null);
  const [saving, setSaving] = useState(false);
  const [page, setPage] = useState<LoadedPage | null>(null);
  const [loadProblem, setLoadProblem] = useState<ApiProblem | null>(null);
  const [loadingPage, setLoadingPage] = useState(false);

  const existing = useLoad(async () => {
    if (!id) return null;
    const s = await must(api.GET("/v1/schemas/{id}", { params: { path: { id } } }));
    return s;
  }, [id]);
  useEffect(() => {
    const s = existing.data;
    if (!s) return;
    setName(s.name);
    draft.update(() => (s.json_schema as JsonObject) ?? emptySchema());
    setMeta({ plugin: s.plugin.name, validation_mode: s.validation_mode, plugin_options: (s.plugin_options as JsonObject) ?? {} });
    setLimits(s.limits);
  }, [existing.data]);

  const preview = usePreview(draft.schema, meta, page);
  const picker = usePicker(draft, page);
  const highlights = useMemo(
    () => picker.highlights,
    [picker.highlights.scope, picker.highlights.match, picker.highlights.example, picker.highlights.reject],
  );

  const loadPage = async (source: Source) => {
    setLoadingPage(true);
    setLoadProblem(null);
    try {
      // The page is loaded with an empty schema, so that a schema being edited cannot
      // keep it from loading; the live preview then runs the real one on it.
      const schema = { json_schema: { type: "object", properties: {} }, plugin: "css-extractor" };
      const body: PreviewIn =
        source.kind === "url"
          ? { schema, urls: [source.url], include_html: true, ...(source.browser ? { fetch: RENDER_IN_BROWSER } : {}) }
          : { schema, html: source.html, include_html: true, ...(source.url ? { url: source.url } : {}) };
      const out = await must(api.POST("/v1/preview", { body }));
      const p = out.pages[0];
      if (!p) throw new Error("the preview gave no page");
      if (p.error || p.html == null) {
        setLoadProblem({ status: 0, code: p.error?.code ?? "no_html", message: p.error?.message ?? "the page has no HTML to show", details: null });
        return;
      }
      const url = p.final_url ?? (source.url || null);
      setPage({ html: p.html, url });
      if (source.url) sessionStorage.setItem(LAST_URL + (savedId ?? "new"), source.url);
    } catch (e) {
      setLoadProblem(problemOf(e));
    } finally {
      setLoadingPage(false);
    }
  };

  const save = async () => {
    setSaving(true);
    setSaveProblem(null);
    const body: SchemaIn = {
      name,
      json_schema: draft.schema,
      plugin: meta.plugin,
      validation_mode: meta.validation_mode,
      plugin_options: meta.plugin_options,
      ...(limits ? { limits } : {}),
    };
    try {
      const out = savedId
        ? await must(api.PUT("/v1/schemas/{id}", { params: { path: { id: savedId } }, body }))
        : await must(api.POST("/v1/schemas", { body }));
      setSaved(out);
      if (!savedId) {
        setSavedId(out.id);
        // The address names the schema now, without reloading the screen.
        history.replaceState(null, "", href("schemas", out.id));
      }
    } catch (e) {
      setSaveProblem(problemOf(e));
    } finally {
      setSaving(false);
    }
  };

  if (id && existing.loading && !existing.data) return <SkeletonBlock lines={8} />;
  if (id && existing.problem) return <ErrorBox problem={existing.problem} />;

  const columns = propertiesOf(draft.schema).map(([k]) => k);
  return (
    <>
      <h1>{savedId ? `Schema ${name}` : "New schema"}</h1>
      <div class="builder">
        <div class="page-pane">
          <SourceForm busy={loadingPage} onLoad={loadPage} initialUrl={sessionStorage.getItem(LAST_URL + (id ?? "new")) ?? ""} />
          <ErrorBox problem={loadProblem} id="load-error" />
          <div class="actions">
            <button
              type="button"
              id="reject-mode"
              aria-pressed={picker.rejectMode}
              onClick={() => picker.setRejectMode(!picker.rejectMode)}
            >
              Reject mode {picker.rejectMode ? "on" : "off"}
            </button>
            <span class="hint" aria-live="polite">
              {page
                ? picker.current
                  ? `Clicks pick ${picker.rejectMode ? "rejects" : "examples"} for “${picker.current}” (alt-click: reject).`
                  : "Click an element to start a property."
                : ""}
              {picker.busy ? " Proposing a selector…" : ""}
            </span>
          </div>
          <ErrorBox problem={picker.problem} id="picker-error" />
          {page ? (
            <PageFrame html={page.html} highlights={highlights} onPick={picker.pick} />
          ) : (
            <div class="frame-placeholder">{loadingPage ? "Loading the page…" : "Load a URL or paste HTML to show the page here."}</div>
          )}
        </div>
        <div>
          <SchemaSettings
            name={name}
            onName={setName}
            meta={meta}
            onMeta={setMeta}
            scope={draft.schema["x-scope"]}
            scopeCount={picker.scopeCount}
            scopeProblem={picker.scopeProblem}
            onScope={(s) => draft.update((d) => setScope(d, s))}
          />
          <PropertyList draft={draft} picker={picker} preview={preview.result} />
          <div class="actions">
            <button type="button" id="save-schema" class="primary" onClick={save} disabled={saving || !name.trim()}>
              {saving ? "Saving…" : savedId ? "Save changes" : "Save schema"}
            </button>
            {saved && (
              <span class="notice" role="status" id="schema-saved">
                Saved {saved.name}, version {saved.version}.{" "}
                <a id="new-job-link" href={`#/jobs/new?schema=${encodeURIComponent(saved.id)}`}>
                  Create a job with it
                </a>
              </span>
            )}
          </div>
          <ErrorBox problem={saveProblem} id="save-error" />
          <ItemsPreview page={preview.result} problem={preview.problem} busy={preview.busy} columns={columns} />
          <SchemaText text={draft.text} error={draft.textError} onEdit={draft.editText} />
        </div>
      </div>
    </>
  );
}
