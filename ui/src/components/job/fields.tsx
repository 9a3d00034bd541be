// Labelled inputs for the job form: every input has its <label for>, and the API's
// problems under its JSON pointer beside it.

import type { ComponentChildren } from "preact";
import type { ApiProblem } from "../../api/errors";
import { FieldProblems } from "../ErrorBox";

type Base = { id: string; label: string; at?: string; problem: ApiProblem | null; hint?: ComponentChildren };

export function TextField(p: Base & { value: string; onInput: (v: string) => void; type?: string; placeholder?: string; mono?: boolean; list?: string; required?: boolean }) {
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      <input
        id={p.id}
        type={p.type ?? "text"}
        class={p.mono ? "mono" : undefined}
        value={p.value}
        placeholder={p.placeholder}
        list={p.list}
        required={p.required}
        onInput={(e) => p.onInput(e.currentTarget.value)}
        {...(p.type === "number" ? { inputMode: "numeric" as const } : {})}
      />
      {p.hint && <span class="hint">{p.hint}</span>}
      {p.at && <FieldProblems problem={p.problem} at={p.at} />}
    </div>
  );
}

export function AreaField(p: Base & { value: string; onInput: (v: string) => void; rows?: number; placeholder?: string }) {
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      <textarea id={p.id} class="code" rows={p.rows ?? 3} value={p.value} placeholder={p.placeholder} onInput={(e) => p.onInput(e.currentTarget.value)} />
      {p.hint && <span class="hint">{p.hint}</span>}
      {p.at && <FieldProblems problem={p.problem} at={p.at} />}
    </div>
  );
}

export function SelectField(p: Base & { value: string; onChange: (v: string) => void; options: readonly (string | [string, string])[] }) {
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      <select id={p.id} value={p.value} onChange={(e) => p.onChange(e.currentTarget.value)}>
        {p.options.map((o) => {
          const [value, text] = typeof o === "string" ? [o, o] : o;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
      {p.hint && <span class="hint">{p.hint}</span>}
      {p.at && <FieldProblems problem={p.problem} at={p.at} />}
    </div>
  );
}

export function CheckField({ id, label, checked, onChange }: { id: string; label: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <div class="check">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
    </div>
  );
}
