// The live preview: the items the schema (as it is now) gets from the loaded page,
// asked for 300 ms after the last edit.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import type { PreviewIn, PreviewPage, ValidationMode } from "../../api/types";
import { useDebounced } from "../../lib/hooks";
import type { JsonObject } from "../../lib/schema-model";

export type LoadedPage = { html: string; url: string | null };
export type SchemaMeta = { plugin: string; validation_mode: ValidationMode; plugin_options: JsonObject };

export function usePreview(schema: JsonObject, meta: SchemaMeta, page: LoadedPage | null) {
  const [result, setResult] = useState<PreviewPage | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);
  const asked = useDebounced(useMemo(() => ({ schema, meta, page }), [schema, meta, page]), 300);

  useEffect(() => {
    const { schema, meta, page } = asked;
    if (!page) return;
    const mine = ++seq.current;
    setBusy(true);
    const body: PreviewIn = {
      schema: {
        json_schema: schema,
        plugin: meta.plugin,
        validation_mode: meta.validation_mode,
        plugin_options: meta.plugin_options,
      },
      html: page.html,
      ...(page.url ? { url: page.url } : {}),
    };
    must(api.POST("/v1/preview", { body }))
      .then((out) => {
        if (mine !== seq.current) return;
        setResult(out.pages[0] ?? null);
        setProblem(null);
      })
      .catch((e) => {
        if (mine === seq.current) setProblem(problemOf(e));
      })
      .finally(() => {
        if (mine === seq.current) setBusy(false);
      });
  }, [asked]);

  return { result, problem, busy, setResult };
}
