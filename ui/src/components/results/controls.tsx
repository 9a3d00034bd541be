import type { ResultOut } from "../../api/types";
import { CheckField, SelectField, TextField } from "../job/fields";

export type Filters = { minConfidence: string; validity: "any" | "valid" | "invalid"; text: string };

/** The items of a page that pass the filters. */
export function applyFilters(items: ResultOut[], f: Filters): ResultOut[] {
  const min = f.minConfidence.trim() === "" ? null : Number(f.minConfidence);
  const text = f.text.trim().toLowerCase();
  return items.filter((r) => {
    if (min !== null && !Number.isNaN(min) && (r.confidence ?? 1) < min) return false;
    const invalid = Array.isArray(r.validation_errors) && r.validation_errors.length > 0;
    if (f.validity === "valid" && invalid) return false;
    if (f.validity === "invalid" && !invalid) return false;
    if (text && !`${r.source_url} ${JSON.stringify(r.data)}`.toLowerCase().includes(text)) return false;
    return true;
  });
}

export function ResultFilters({ filters, onFilters }: { filters: Filters; onFilters: (f: Filters) => void }) {
  return (
    <div class="row" role="group" aria-label="Filters">
      <TextField id="results-text" label="Contains" type="search" value={filters.text} onInput={(text) => onFilters({ ...filters, text })} problem={null} />
      <TextField id="results-min-confidence" label="Min confidence" type="number" value={filters.minConfidence} onInput={(minConfidence) => onFilters({ ...filters, minConfidence })} problem={null} />
      <SelectField
        id="results-validity"
        label="Validation"
        value={filters.validity}
        onChange={(v) => onFilters({ ...filters, validity: v as Filters["validity"] })}
        options={[["any", "all items"], ["valid", "valid"], ["invalid", "with errors"]]}
        problem={null}
      />
    </div>
  );
}

/** Which columns the table shows. */
export function ColumnChooser({ all, hidden, onHidden }: { all: string[]; hidden: string[]; onHidden: (h: string[]) => void }) {
  return (
    <details id="column-chooser">
      <summary>Columns ({all.length - hidden.length} of {all.length})</summary>
      <div class="columns-chooser">
        {all.map((c) => (
          <CheckField
            key={c}
            id={`column-${c}`}
            label={c}
            checked={!hidden.includes(c)}
            onChange={(on) => onHidden(on ? hidden.filter((h) => h !== c) : [...hidden, c])}
          />
        ))}
      </div>
    </details>
  );
}
