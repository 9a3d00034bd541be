/** The JSON Schema as text, editable; kept in step with the properties panel. */
export function SchemaText({ text, error, onEdit }: { text: string; error: string | null; onEdit: (t: string) => void }) {
  return (
    <div class="field">
      <label for="json-schema">JSON Schema</label>
      <textarea
        id="json-schema"
        class="code"
        spellcheck={false}
        value={text}
        onInput={(e) => onEdit(e.currentTarget.value)}
        aria-invalid={error ? "true" : "false"}
        aria-describedby="json-schema-error"
      />
      <span id="json-schema-error" class="field-problems" role={error ? "alert" : undefined}>
        {error ? `Not applied: ${error}` : ""}
      </span>
    </div>
  );
}
