// The schema builder's view of an item's JSON Schema: an object with `properties`, each
// with its `x-` hints for the extractor, and the root `x-scope` (the repeating item).
// These functions never change their input: they return a new schema.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const PROPERTY_TYPES = ["string", "number", "integer", "boolean"] as const;

/** A new item schema with nothing in it yet. */
export function emptySchema(): JsonObject {
  return { type: "object", properties: {} };
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The properties in order, as `[name, definition]`. */
export function propertiesOf(schema: JsonObject): [string, JsonObject][] {
  const props = schema["properties"];
  if (!isObject(props)) return [];
  return Object.entries(props).map(([k, v]) => [k, isObject(v) ? v : {}]);
}

function withProperties(schema: JsonObject, entries: [string, JsonObject][]): JsonObject {
  return { ...schema, properties: Object.fromEntries(entries) };
}

/** The schema with property `name` replaced by `def` (added last when new). */
export function setProperty(schema: JsonObject, name: string, def: JsonObject): JsonObject {
  const entries = propertiesOf(schema);
  const i = entries.findIndex(([k]) => k === name);
  if (i < 0) entries.push([name, def]);
  else entries[i] = [name, def];
  return withProperties(schema, entries);
}

/** The schema with one hint of a property set (`undefined`, `""` or `false` removes it). */
export function setHint(schema: JsonObject, name: string, hint: string, value: Json | undefined): JsonObject {
  const def = { ...(propertiesOf(schema).find(([k]) => k === name)?.[1] ?? {}) };
  if (value === undefined || value === "" || value === false) delete def[hint];
  else def[hint] = value;
  return setProperty(schema, name, def);
}

/** The schema with a property renamed in place; `required` follows. */
export function renameProperty(schema: JsonObject, from: string, to: string): JsonObject {
  if (from === to) return schema;
  const entries = propertiesOf(schema).map(([k, v]): [string, JsonObject] => [k === from ? to : k, v]);
  const out = withProperties(schema, entries);
  const required = schema["required"];
  if (Array.isArray(required)) out["required"] = required.map((r) => (r === from ? to : r));
  return out;
}

/** The schema without a property (nor its `required` entry). */
export function removeProperty(schema: JsonObject, name: string): JsonObject {
  const out = withProperties(schema, propertiesOf(schema).filter(([k]) => k !== name));
  const required = schema["required"];
  if (Array.isArray(required)) {
    const left = required.filter((r) => r !== name);
    if (left.length) out["required"] = left;
    else delete out["required"];
  }
  return out;
}

/** A name not used by any property yet: `field_1`, `field_2`, … */
export function freshName(schema: JsonObject, stem = "field"): string {
  const taken = new Set(propertiesOf(schema).map(([k]) => k));
  for (let i = 1; ; i++) if (!taken.has(`${stem}_${i}`)) return `${stem}_${i}`;
}

/**
 * A property name from a word (an element's class or tag): lower snake case, and a
 * number added when a property has it already (`price`, `price_2`).
 */
export function nameFrom(schema: JsonObject, word: string): string {
  const stem = word.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40);
  if (!/^[a-z]/.test(stem)) return freshName(schema);
  const taken = new Set(propertiesOf(schema).map(([k]) => k));
  if (!taken.has(stem)) return stem;
  for (let i = 2; ; i++) if (!taken.has(`${stem}_${i}`)) return `${stem}_${i}`;
}

export function isRequired(schema: JsonObject, name: string): boolean {
  const required = schema["required"];
  return Array.isArray(required) && required.includes(name);
}

export function setRequired(schema: JsonObject, name: string, on: boolean): JsonObject {
  const required = Array.isArray(schema["required"]) ? schema["required"].filter((r) => r !== name) : [];
  if (on) required.push(name);
  const out = { ...schema };
  if (required.length) out["required"] = required;
  else delete out["required"];
  return out;
}

/** The root `x-scope`: the CSS selector of the repeating item, or "". */
export function scopeOf(schema: JsonObject): string {
  const scope = schema["x-scope"];
  return typeof scope === "string" ? scope : "";
}

/** The schema with the root `x-scope` set (written after `type`), or removed when blank. */
export function setScope(schema: JsonObject, scope: string): JsonObject {
  const { ["x-scope"]: _, ...rest } = schema;
  if (scope.trim() === "") return rest;
  const { type, ...others } = rest;
  return type === undefined ? { "x-scope": scope, ...others } : { type, "x-scope": scope, ...others };
}

/** A property's `x-selector`, or "". */
export function selectorOf(def: JsonObject): string {
  const s = def["x-selector"];
  return typeof s === "string" ? s : "";
}

/** A JSON pointer's property name: `/properties/title` → `title` (`~1`, `~0` decoded). */
export function propertyOfPointer(pointer: string): string | null {
  const m = /^\/properties\/([^/]+)/.exec(pointer);
  return m ? m[1]!.replace(/~1/g, "/").replace(/~0/g, "~") : null;
}

/** Parse the JSON Schema textarea: the object, or the reason it is not one. */
export function parseSchemaText(text: string): { schema: JsonObject } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { error: "the schema must be a JSON object" };
  }
  return { schema: value as JsonObject };
}
