import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import type { LogRow } from "../../api/types";
import { useInterval } from "../../lib/hooks";
import { ErrorBox } from "../ErrorBox";

/** Lines kept on screen: a run that logs for hours keeps its newest ones. */
export const MAX_LINES = 2000;
const POLL_MS = 2000;

/**
 * What plugins logged, followed while the run goes: lines after the last one shown are
 * asked for every two seconds (a log line's id is also its cursor).
 */
export function LogView({ runId, live }: { runId: string; live: boolean }) {
  const [lines, setLines] = useState<LogRow[]>([]);
  const [dropped, setDropped] = useState(0);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const cursor = useRef<string | undefined>(undefined);
  const busy = useRef(false);
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  const pull = async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      for (let round = 0; round < 20; round++) {
        const page = await must(api.GET("/v1/runs/{id}/logs", { params: { path: { id: runId }, query: { cursor: cursor.current, limit: 500 } } }));
        if (page.items.length === 0) break;
        cursor.current = page.items[page.items.length - 1]!.id;
        setLines((old) => {
          const all = old.concat(page.items);
          const over = all.length - MAX_LINES;
          if (over > 0) setDropped((d) => d + over);
          return over > 0 ? all.slice(over) : all;
        });
        if (!page.next_cursor) break;
      }
      setProblem(null);
    } catch (e) {
      setProblem(problemOf(e));
    } finally {
      busy.current = false;
    }
  };

  useEffect(() => {
    void pull();
  }, [runId]);
  // One more pull when the run ends, for its last lines.
  useEffect(() => {
    if (!live) void pull();
  }, [live]);
  useInterval(() => void pull(), POLL_MS, live);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <section aria-labelledby="logs-heading">
      <h2 id="logs-heading">
        Plugin logs <span class="muted">{lines.length} lines{dropped ? `, ${dropped} older ones no longer shown` : ""}</span>
      </h2>
      <ErrorBox problem={problem} />
      <pre
        class="logs"
        id="run-logs"
        ref={box}
        tabIndex={0}
        aria-label="Plugin logs"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 30;
        }}
      >
        {lines.length === 0 && <span class="muted">No log lines.</span>}
        {lines.map((l) => (
          <div key={l.id} class={`log-line level-${l.level}`}>
            {new Date(l.created_at).toLocaleTimeString()} {l.level.toUpperCase().padEnd(5)} {l.message}
            {l.page_url ? `  (${l.page_url})` : ""}
          </div>
        ))}
      </pre>
    </section>
  );
}
