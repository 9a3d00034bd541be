import type { PreviewPage } from "../../api/types";
import { freshName, isRequired, propertiesOf, propertyOfPointer, removeProperty, renameProperty, setHint, setProperty, setRequired, type JsonObject } from "../../lib/schema-model";
import type { Draft } from "./draft";
import { PropertyEditor, type PropertyCount } from "./PropertyEditor";
import type { usePicker } from "./usePicker";

type Picker = ReturnType<typeof usePicker>;

/**
 * An edit of the property at `index`, by the name it has when the edit is applied: a rename
 * and an edit made in one moment (leaving the name field for the type list) both land on
 * the one property, never on a new one under the old name.
 */
function atIndex(schema: JsonObject, index: number, edit: (name: string) => JsonObject): JsonObject {
  const name = propertiesOf(schema)[index]?.[0];
  return name === undefined ? schema : edit(name);
}

/** The properties panel: one editor per property, and a way to add one. */
export function PropertyList({ draft, picker, preview }: { draft: Draft; picker: Picker; preview: PreviewPage | null }) {
  const props = propertiesOf(draft.schema);
  const countOf = (name: string): PropertyCount => {
    const s = preview?.selectors.find((x) => propertyOfPointer(x.pointer) === name && x.pointer.split("/").length === 3);
    return s ? { matches: s.matches, scopes_matched: s.scopes_matched } : null;
  };
  const scopes = picker.scopeCount;

  const add = () => {
    const name = freshName(draft.schema);
    draft.update((s) => setProperty(s, name, { type: "string" }));
    picker.setCurrent(name);
  };

  return (
    <section aria-labelledby="properties-heading">
      <h2 id="properties-heading">Properties</h2>
      {props.length === 0 && <p class="muted">No properties yet: click an element of the page, or add one.</p>}
      {props.map(([name, def], i) => (
        <PropertyEditor
          key={`${i}`}
          index={i}
          name={name}
          def={def}
          required={isRequired(draft.schema, name)}
          current={picker.current === name}
          count={countOf(name)}
          scopes={scopes}
          picks={picker.picksOf(name)}
          onSelect={() => picker.setCurrent(picker.current === name ? null : name)}
          onRename={(to) => {
            if (to === name) return null;
            if (!to) return "a property needs a name";
            if (props.some(([k]) => k === to)) return `there is a property named ${to} already`;
            draft.update((s) => renameProperty(s, name, to));
            picker.renamePicks(name, to);
            return null;
          }}
          onHint={(hint, value) => draft.update((s) => atIndex(s, i, (n) => setHint(s, n, hint, value)))}
          onRequired={(on) => draft.update((s) => atIndex(s, i, (n) => setRequired(s, n, on)))}
          onRemove={() => {
            draft.update((s) => removeProperty(s, name));
            picker.clearPicks(name);
            if (picker.current === name) picker.setCurrent(null);
          }}
          onClearPicks={() => picker.clearPicks(name)}
        />
      ))}
      <button type="button" id="add-property" onClick={add}>
        Add property
      </button>
    </section>
  );
}
