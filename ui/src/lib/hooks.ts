// Small hooks the screens share: loading data, debouncing, polling.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { problemOf, type ApiProblem } from "../api/errors";

export type Loaded<T> = {
  data: T | null;
  problem: ApiProblem | null;
  loading: boolean;
  reload: () => void;
  set: (data: T) => void;
};

/** Load with `load` whenever `deps` change; answers of superseded loads are dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    load().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setProblem(null);
        setLoading(false);
      },
      (e) => {
        if (mine !== seq.current) return;
        setProblem(problemOf(e));
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, problem, loading, reload, set: setData };
}

/**
 * `value`, once it has stayed the same (by identity: memoise objects) for `ms`.
 */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** Call `f` every `ms` while `on`. */
export function useInterval(f: () => void, ms: number, on = true) {
  const saved = useRef(f);
  saved.current = f;
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => saved.current(), ms);
    return () => clearInterval(t);
  }, [ms, on]);
}

/** A random id for `Idempotency-Key` (also outside secure contexts). */
export function randomId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export type CursorList<T> = {
  items: T[];
  problem: ApiProblem | null;
  loading: boolean;
  more: (() => void) | null;
  reload: () => void;
};

/**
 * A cursor-paginated list: the first page when `deps` change, the next ones appended by
 * `more` (null on the last page).
 */
export function useCursorList<T>(
  load: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
  deps: unknown[],
): CursorList<T> {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const fetchPage = (cursor: string | undefined, append: boolean) => {
    const mine = ++seq.current;
    setLoading(true);
    load(cursor).then(
      (page) => {
        if (mine !== seq.current) return;
        setItems((old) => (append ? [...old, ...page.items] : page.items));
        setNext(page.next_cursor ?? null);
        setProblem(null);
        setLoading(false);
      },
      (e) => {
        if (mine !== seq.current) return;
        setProblem(problemOf(e));
        setLoading(false);
      },
    );
  };
  useEffect(() => {
    fetchPage(undefined, false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return {
    items,
    problem,
    loading,
    more: next ? () => fetchPage(next, true) : null,
    reload: () => setTick((t) => t + 1),
  };
}
