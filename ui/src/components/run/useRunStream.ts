// A run as its event stream tells it: the latest state, how the stream is doing, and a
// pages-per-second series sampled every two seconds while the run goes.

import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import { followRun, type StreamState } from "../../api/stream";
import type { RunOut } from "../../api/types";
import { useInterval } from "../../lib/hooks";
import type { Sample } from "../charts";

export const OVER = ["succeeded", "failed", "cancelled", "timed_out"];
const SAMPLE_MS = 2000;
const KEEP = 600;

export function useRunStream(id: string) {
  const [run, setRun] = useState<RunOut | null>(null);
  const [stream, setStream] = useState<StreamState>("connecting");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [samples, setSamples] = useState<Sample[]>([]);
  const last = useRef<{ t: number; pages: number } | null>(null);

  useEffect(() => {
    // The first state comes from the run itself, so the screen fills even before the
    // stream answers (and when it cannot).
    must(api.GET("/v1/runs/{id}", { params: { path: { id } } })).then(
      (r) => setRun((cur) => (cur && cur.version >= r.version ? cur : r)),
      (e) => setProblem(problemOf(e)),
    );
    const stop = followRun(id, {
      onEvent: (ev) => {
        try {
          const r = JSON.parse(ev.data) as RunOut;
          setRun((cur) => (cur && cur.version > r.version ? cur : r));
        } catch {
          // A keep-alive or an event this console does not know: nothing to show.
        }
      },
      onState: (state, p) => {
        setStream(state);
        if (state === "failed" && p) setProblem(p);
      },
    });
    return stop;
  }, [id]);

  const going = !!run && !OVER.includes(run.status);
  useInterval(
    () => {
      if (!run) return;
      const now = Date.now();
      const pages = run.counters.pages_fetched + run.counters.pages_failed;
      const prev = last.current;
      last.current = { t: now, pages };
      if (!prev) return;
      const rate = Math.max(0, ((pages - prev.pages) * 1000) / (now - prev.t));
      setSamples((s) => [...s.slice(-(KEEP - 1)), { t: now, v: rate }]);
    },
    SAMPLE_MS,
    going,
  );

  return { run, setRun, stream, problem, samples, going };
}
