// Picking elements on the page: clicks become examples (or rejects) of the current
// property, the server proposes a selector from them (and, the first time a property
// has two examples, the repeating item around them), and the elements each selector
// matches are highlighted. The server's DOM does the matching, so the counts are a run's.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import type { SelectorIn, SelectorOut } from "../../api/types";
import { samePath } from "../../lib/dom-path";
import { useDebounced } from "../../lib/hooks";
import { freshName, nameFrom, propertiesOf, scopeOf, selectorOf, setHint, setProperty, setScope } from "../../lib/schema-model";
import type { Draft } from "./draft";
import type { Picks } from "./PropertyEditor";
import type { LoadedPage } from "./usePreview";

const NONE: Picks = { examples: [], rejects: [] };

function toggle(list: number[][], path: number[]): number[][] {
  return list.some((p) => samePath(p, path)) ? list.filter((p) => !samePath(p, path)) : [...list, path];
}

async function ask(body: SelectorIn): Promise<SelectorOut> {
  return must(api.POST("/v1/preview/selector", { body }));
}

/** The elements one selector matches (within the scope, if any), debounced. */
function useMatches(page: LoadedPage | null, selector: string, within: string) {
  const [out, setOut] = useState<{ paths: number[][]; count: number | null; problem: ApiProblem | null }>({ paths: [], count: null, problem: null });
  const asked = useDebounced(useMemo(() => ({ page, selector, within }), [page, selector, within]), 250);
  const seq = useRef(0);
  useEffect(() => {
    const { page, selector, within } = asked;
    const mine = ++seq.current;
    if (!page || !selector.trim()) {
      setOut({ paths: [], count: null, problem: null });
      return;
    }
    const body: SelectorIn = { html: page.html, selector, sample: 100 };
    if (page.url) body.url = page.url;
    if (within.trim()) body.within = within;
    ask(body).then(
      (r) => mine === seq.current && setOut({ paths: r.matches.map((m) => m.path), count: r.count, problem: null }),
      (e) => mine === seq.current && setOut({ paths: [], count: null, problem: problemOf(e) }),
    );
  }, [asked]);
  return out;
}

export function usePicker(draft: Draft, page: LoadedPage | null) {
  const [picks, setPicks] = useState<Record<string, Picks>>({});
  const [current, setCurrent] = useState<string | null>(null);
  const [rejectMode, setRejectMode] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  const scope = scopeOf(draft.schema);
  const currentDef = propertiesOf(draft.schema).find(([k]) => k === current)?.[1];
  const currentSelector = currentDef ? selectorOf(currentDef) : "";
  const scopeMatches = useMatches(page, scope, "");
  const propertyMatches = useMatches(page, currentSelector, scope);

  const picksOf = (name: string) => (name && picks[name]) || NONE;

  const pick = async (path: number[], alt: boolean, word = "") => {
    if (!page) return;
    let name = current;
    if (!name || !propertiesOf(draft.schema).some(([k]) => k === name)) {
      name = word ? nameFrom(draft.schema, word) : freshName(draft.schema);
      const fresh = name;
      draft.update((s) => setProperty(s, fresh, { type: "string" }));
      setCurrent(name);
    }
    const was = picksOf(name);
    const reject = alt || rejectMode;
    const now: Picks = reject
      ? { examples: was.examples.filter((p) => !samePath(p, path)), rejects: toggle(was.rejects, path) }
      : { examples: toggle(was.examples, path), rejects: was.rejects.filter((p) => !samePath(p, path)) };
    setPicks((all) => ({ ...all, [name!]: now }));
    if (now.examples.length === 0) return;
    // The first property with two examples and no item scope yet asks for the container.
    const proposeContainer = !scope && now.examples.length >= 2;
    const body: SelectorIn = { html: page.html, examples: now.examples, rejects: now.rejects, sample: 100 };
    if (page.url) body.url = page.url;
    if (scope) body.within = scope;
    setBusy(true);
    try {
      const answer = await ask(body);
      setProblem(null);
      const target = name;
      if (proposeContainer && answer.container) {
        const c = answer.container;
        draft.update((s) => setHint(setScope(s, c.selector), target, "x-selector", c.field ?? undefined));
      } else {
        draft.update((s) => setHint(s, target, "x-selector", answer.selector));
      }
    } catch (e) {
      setProblem(problemOf(e));
    } finally {
      setBusy(false);
    }
  };

  const renamePicks = (from: string, to: string) => {
    setPicks((all) => {
      const { [from]: moved, ...rest } = all;
      return moved ? { ...rest, [to]: moved } : rest;
    });
    if (current === from) setCurrent(to);
  };

  const clearPicks = (name: string) => setPicks(({ [name]: _, ...rest }) => rest);

  const highlights = {
    scope: scopeMatches.paths,
    match: propertyMatches.paths,
    example: picksOf(current ?? "").examples,
    reject: picksOf(current ?? "").rejects,
  };

  return {
    current,
    setCurrent,
    rejectMode,
    setRejectMode,
    picksOf,
    pick,
    renamePicks,
    clearPicks,
    problem: problem ?? propertyMatches.problem,
    scopeProblem: scopeMatches.problem,
    busy,
    highlights,
    scopeCount: scopeMatches.count,
    currentCount: propertyMatches.count,
  };
}
