import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must, problemOf, type ApiProblem } from "../api/errors";
import type { ExportIn, ExportOut } from "../api/types";
import { useInterval, useLoad } from "../lib/hooks";
import { ExportStatus } from "./ExportStatus";
import { ErrorBox } from "./ErrorBox";
import { CheckField, SelectField, TextField } from "./job/fields";

export type ExportTarget = { kind: "run" | "job"; id: string };

const EXTRA = ["source_url", "confidence", "validation_errors"] as const;

/** Make an export of a run's or a job's results, follow it, and give its link. */
export function ExportPanel({ target, fields }: { target: ExportTarget; fields?: string[] }) {
  const plugins = useLoad(() => must(api.GET("/v1/plugins")), []);
  const formats = (plugins.data ?? []).filter((p) => p.kind === "exporter" && !p.deprecated_at).map((p) => p.name);
  const names = [...new Set(formats)];
  const [format, setFormat] = useState("");
  const [include, setInclude] = useState<string[]>([]);
  const [gzip, setGzip] = useState(false);
  const [onlyShown, setOnlyShown] = useState(false);
  const [options, setOptions] = useState("");
  const [minConfidence, setMinConfidence] = useState("");
  const [valid, setValid] = useState("any");
  const [expiresIn, setExpiresIn] = useState("");
  const [made, setMade] = useState<ExportOut | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = format || names.find((n) => n.startsWith("csv")) || names[0] || "csv";

  const create = async () => {
    setProblem(null);
    let extra: Record<string, unknown> = {};
    if (options.trim()) {
      try {
        extra = JSON.parse(options) as Record<string, unknown>;
      } catch (e) {
        setProblem({ status: 0, code: "invalid_export_options", message: `the exporter's options are not JSON: ${e instanceof Error ? e.message : e}`, details: null });
        return;
      }
    }
    const body: ExportIn = {
      format: chosen,
      options: { ...extra, ...(include.length ? { include } : {}), ...(gzip ? { gzip: true } : {}), ...(onlyShown && fields?.length ? { fields } : {}) },
      filters: {
        ...(minConfidence.trim() ? { min_confidence: Number(minConfidence) } : {}),
        ...(valid !== "any" ? { valid: valid === "valid" } : {}),
      },
      ...(expiresIn.trim() ? { expires_in: expiresIn.trim() } : {}),
    };
    setBusy(true);
    try {
      const out =
        target.kind === "run"
          ? await must(api.POST("/v1/runs/{id}/exports", { params: { path: { id: target.id } }, body }))
          : await must(api.POST("/v1/jobs/{id}/exports", { params: { path: { id: target.id } }, body }));
      setMade(out);
    } catch (e) {
      setProblem(problemOf(e));
    } finally {
      setBusy(false);
    }
  };

  const going = made && (made.status === "queued" || made.status === "running");
  useInterval(
    () => {
      if (!made) return;
      must(api.GET("/v1/exports/{id}", { params: { path: { id: made.id } } })).then(setMade, (e) => setProblem(problemOf(e)));
    },
    1000,
    !!going,
  );

  return (
    <section class="export-panel" aria-labelledby={`export-${target.kind}-heading`}>
      <h2 id={`export-${target.kind}-heading`}>Export {target.kind === "job" ? "all of the job's results" : "this run's results"}</h2>
      <div class="grid3">
        <SelectField id="export-format" label="Format" value={chosen} onChange={setFormat} options={names.length ? names : [chosen]} problem={problem} />
        <TextField id="export-min-confidence" label="Min confidence (0–1)" type="number" value={minConfidence} onInput={setMinConfidence} problem={problem} />
        <SelectField id="export-valid" label="Items" value={valid} onChange={setValid} options={[["any", "all"], ["valid", "valid only"], ["invalid", "stored with errors only"]]} problem={problem} />
        <TextField id="export-expires" label="Link lasts (e.g. 24h, 7days)" value={expiresIn} onInput={setExpiresIn} placeholder="server default" problem={problem} />
        <TextField id="export-options" label="Exporter options (JSON)" mono value={options} onInput={setOptions} placeholder='{"delimiter": ";"}' problem={problem} />
      </div>
      <div class="columns-chooser" role="group" aria-label="Extra columns">
        {EXTRA.map((x) => (
          <CheckField key={x} id={`export-include-${x}`} label={`include ${x}`} checked={include.includes(x)} onChange={(on) => setInclude(on ? [...include, x] : include.filter((y) => y !== x))} />
        ))}
        <CheckField id="export-gzip" label="gzip (text formats)" checked={gzip} onChange={setGzip} />
        {fields && <CheckField id="export-shown-columns" label="only the columns shown" checked={onlyShown} onChange={setOnlyShown} />}
      </div>
      <div class="actions">
        <button type="button" id="create-export" class="primary" onClick={create} disabled={busy || !!going}>
          {busy ? "Creating…" : "Create export"}
        </button>
      </div>
      <ErrorBox problem={problem} id="export-error" />
      <ErrorBox problem={plugins.problem} />
      {made && <ExportStatus exp={made} />}
    </section>
  );
}
