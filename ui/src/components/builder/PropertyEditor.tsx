import { useEffect, useState } from "preact/hooks";
import { PROPERTY_TYPES, selectorOf, type Json, type JsonObject } from "../../lib/schema-model";

export type Picks = { examples: number[][]; rejects: number[][] };

export type PropertyCount = { matches: number; scopes_matched?: number | null } | null;

type Props = {
  index: number;
  name: string;
  def: JsonObject;
  required: boolean;
  current: boolean;
  count: PropertyCount;
  scopes: number | null;
  picks: Picks;
  onSelect: () => void;
  onRename: (to: string) => string | null;
  onHint: (hint: string, value: Json | undefined) => void;
  onRequired: (on: boolean) => void;
  onRemove: () => void;
  onClearPicks: () => void;
};

/** One property: its name, type and hints, its selector and how many elements it matches. */
export function PropertyEditor(p: Props) {
  const id = (what: string) => `prop-${p.index}-${what}`;
  const [name, setName] = useState(p.name);
  const [nameError, setNameError] = useState<string | null>(null);
  useEffect(() => setName(p.name), [p.name]);
  const type = typeof p.def["type"] === "string" ? (p.def["type"] as string) : "string";
  const text = (hint: string) => (typeof p.def[hint] === "string" ? (p.def[hint] as string) : "");

  const rename = () => {
    const error = p.onRename(name.trim());
    setNameError(error);
    if (error) setName(p.name);
  };

  return (
    <section
      class={`property${p.current ? " current" : ""}`}
      aria-label={`Property ${p.name}`}
      data-property={p.name}
    >
      <div class="property-head">
        <div class="field">
          <label for={id("name")}>Name</label>
          <input
            id={id("name")}
            class="prop-name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            onChange={rename}
          />
        </div>
        <div class="field">
          <label for={id("type")}>Type</label>
          <select id={id("type")} class="prop-type" value={type} onChange={(e) => p.onHint("type", e.currentTarget.value)}>
            {PROPERTY_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="pick-property" aria-pressed={p.current} onClick={p.onSelect}>
          {p.current ? "Picking" : "Pick"}
        </button>
        <button type="button" class="danger remove-property" onClick={p.onRemove} aria-label={`Remove property ${p.name}`}>
          Remove
        </button>
      </div>
      {nameError && <p class="field-problems">{nameError}</p>}
      <div class="field">
        <label for={id("selector")}>Selector (x-selector)</label>
        <input
          id={id("selector")}
          class="prop-selector mono"
          value={selectorOf(p.def)}
          onInput={(e) => p.onHint("x-selector", e.currentTarget.value)}
          placeholder="click the page, or type a CSS selector"
        />
        <span class="hint">
          <span id={id("count")} class={`count prop-count${p.count?.matches === 0 ? " zero" : ""}`} aria-live="polite">
            {p.count ? `${p.count.matches} matched` : "—"}
          </span>
          {p.count?.scopes_matched != null && p.scopes != null && ` in ${p.count.scopes_matched} of ${p.scopes} items`}
          <span class="picks">
            {" · "}
            {p.picks.examples.length} example{p.picks.examples.length === 1 ? "" : "s"}, {p.picks.rejects.length} reject
            {p.picks.rejects.length === 1 ? "" : "s"}
            {(p.picks.examples.length > 0 || p.picks.rejects.length > 0) && (
              <>
                {" "}
                <button type="button" class="linkish" onClick={p.onClearPicks}>
                  clear
                </button>
              </>
            )}
          </span>
        </span>
      </div>
      <div class="grid2">
        <div class="field">
          <label for={id("attr")}>Attribute (x-attr)</label>
          <input id={id("attr")} class="prop-attr" value={text("x-attr")} placeholder="text content" onInput={(e) => p.onHint("x-attr", e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={id("regex")}>Regex (x-regex)</label>
          <input id={id("regex")} class="prop-regex mono" value={text("x-regex")} onInput={(e) => p.onHint("x-regex", e.currentTarget.value)} />
        </div>
      </div>
      <MapField id={id("map")} value={p.def["x-map"]} onChange={(v) => p.onHint("x-map", v)} />
      <div class="row">
        <div class="check">
          <input id={id("url")} class="prop-url" type="checkbox" checked={p.def["x-url"] === true} onChange={(e) => p.onHint("x-url", e.currentTarget.checked)} />
          <label for={id("url")}>Resolve as URL (x-url)</label>
        </div>
        <div class="check">
          <input id={id("required")} class="prop-required" type="checkbox" checked={p.required} onChange={(e) => p.onRequired(e.currentTarget.checked)} />
          <label for={id("required")}>Required</label>
        </div>
      </div>
    </section>
  );
}

/** `x-map` as JSON text: applied while it is a JSON object, kept as typed otherwise. */
function MapField({ id, value, onChange }: { id: string; value: Json | undefined; onChange: (v: Json | undefined) => void }) {
  const shown = value === undefined ? "" : JSON.stringify(value);
  const [text, setText] = useState(shown);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    // Follow changes made elsewhere (the JSON Schema text) unless this field holds an edit.
    setText((t) => (error ? t : shown));
  }, [shown]);
  const edit = (t: string) => {
    setText(t);
    if (t.trim() === "") {
      setError(null);
      onChange(undefined);
      return;
    }
    try {
      const v = JSON.parse(t) as Json;
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("x-map must be a JSON object");
      setError(null);
      onChange(v);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div class="field">
      <label for={id}>Map (x-map, JSON)</label>
      <input id={id} class="prop-map mono" value={text} placeholder='{"One": 1, "Two": 2}' onInput={(e) => edit(e.currentTarget.value)} />
      {error && <span class="field-problems">{error}</span>}
    </div>
  );
}
