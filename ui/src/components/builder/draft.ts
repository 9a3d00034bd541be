// The schema being built, in its two views kept in step: the object the properties panel
// edits, and the JSON text of `#json-schema`. Text that is not a JSON object is kept as
// typed, with its error, and leaves the object (and so the form) as it was.

import { useState } from "preact/hooks";
import { emptySchema, parseSchemaText, type JsonObject } from "../../lib/schema-model";

export type Draft = {
  schema: JsonObject;
  text: string;
  textError: string | null;
  /** Replace the object (the form's edits): the text follows. */
  update: (f: (s: JsonObject) => JsonObject) => void;
  /** The text was edited: the object follows when it parses. */
  editText: (text: string) => void;
};

const show = (s: JsonObject) => JSON.stringify(s, null, 2);

export function useDraft(initial: JsonObject = emptySchema()): Draft {
  const [state, setState] = useState(() => ({ schema: initial, text: show(initial), textError: null as string | null }));
  return {
    ...state,
    update: (f) =>
      setState((st) => {
        const schema = f(st.schema);
        return { schema, text: show(schema), textError: null };
      }),
    editText: (text) =>
      setState((st) => {
        const parsed = parseSchemaText(text);
        return "schema" in parsed
          ? { schema: parsed.schema, text, textError: null }
          : { schema: st.schema, text, textError: parsed.error };
      }),
  };
}
