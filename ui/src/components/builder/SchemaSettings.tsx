import { api } from "../../api/client";
import { must, type ApiProblem } from "../../api/errors";
import { useLoad } from "../../lib/hooks";
import type { Json } from "../../lib/schema-model";
import { ErrorBox } from "../ErrorBox";
import type { SchemaMeta } from "./usePreview";

type Props = {
  name: string;
  onName: (n: string) => void;
  meta: SchemaMeta;
  onMeta: (m: SchemaMeta) => void;
  scope: Json | undefined;
  scopeCount: number | null;
  scopeProblem: ApiProblem | null;
  onScope: (s: string) => void;
};

/** The schema's name, extractor, validation mode and item scope. */
export function SchemaSettings(p: Props) {
  const plugins = useLoad(() => must(api.GET("/v1/plugins")), []);
  const extractors = (plugins.data ?? []).filter((x) => x.kind === "extractor" && (!x.deprecated_at || x.name === p.meta.plugin));
  const names = [...new Set([p.meta.plugin, ...extractors.map((x) => x.name)])];
  const scope = typeof p.scope === "string" ? p.scope : "";
  return (
    <fieldset>
      <legend>Schema</legend>
      <div class="grid2">
        <div class="field">
          <label for="schema-name">Name</label>
          <input id="schema-name" value={p.name} onInput={(e) => p.onName(e.currentTarget.value)} required maxLength={200} />
        </div>
        <div class="field">
          <label for="schema-plugin">Extractor</label>
          <select id="schema-plugin" value={p.meta.plugin} onChange={(e) => p.onMeta({ ...p.meta, plugin: e.currentTarget.value })}>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div class="grid2">
        <div class="field">
          <label for="item-scope">Item scope (x-scope)</label>
          <input
            id="item-scope"
            class="mono"
            value={scope}
            onInput={(e) => p.onScope(e.currentTarget.value)}
            placeholder="the repeating item, e.g. article.product"
          />
          <span class="hint">
            <span id="scope-count" class="count" aria-live="polite">
              {scope ? (p.scopeCount === null ? "…" : `${p.scopeCount} items`) : "no scope: one item per page"}
            </span>
          </span>
        </div>
        <div class="field">
          <label for="validation-mode">Validation</label>
          <select id="validation-mode" value={p.meta.validation_mode} onChange={(e) => p.onMeta({ ...p.meta, validation_mode: e.currentTarget.value as SchemaMeta["validation_mode"] })}>
            <option value="strict">strict: invalid items are refused</option>
            <option value="lenient">lenient: stored with their errors</option>
            <option value="off">off</option>
          </select>
        </div>
      </div>
      <ErrorBox problem={p.scopeProblem} />
      <ErrorBox problem={plugins.problem} />
    </fieldset>
  );
}
