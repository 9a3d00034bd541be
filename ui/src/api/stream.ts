// The reader of a run's event stream (`GET /v1/runs/{id}/events`). Browsers'
// EventSource cannot send an Authorization header, so the stream is read with fetch.
// When the connection drops before `event: end`, it reconnects with `Last-Event-ID`;
// the server starts every connection with the run's current state, so nothing but
// intermediate counter values is missed.

import { SseParser, type SseEvent } from "../lib/sse";
import { currentKey } from "./client";
import { toProblem, type ApiProblem } from "./errors";

export type StreamState = "connecting" | "open" | "reconnecting" | "ended" | "failed";

export type StreamHandlers = {
  onEvent: (event: SseEvent) => void;
  onState: (state: StreamState, problem?: ApiProblem) => void;
};

/** Follow a run's events until `end`; the returned function stops early. */
export function followRun(runId: string, handlers: StreamHandlers): () => void {
  const abort = new AbortController();
  let lastId: string | null = null;
  let delay = 1000;

  const connect = async (): Promise<void> => {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    const key = currentKey();
    if (key) headers["Authorization"] = `Bearer ${key}`;
    if (lastId !== null) headers["Last-Event-ID"] = lastId;
    const response = await fetch(`/v1/runs/${encodeURIComponent(runId)}/events`, {
      headers,
      signal: abort.signal,
      cache: "no-store",
    });
    if (!response.ok || !response.body) {
      const body = await response.json().catch(() => null);
      const problem = toProblem(body, response);
      // Refusals (unknown run, bad key) do not get better by retrying.
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        handlers.onState("failed", problem);
        return;
      }
      throw problem;
    }
    handlers.onState("open");
    delay = 1000;
    const parser = new SseParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.push(value)) {
        handlers.onEvent(event);
        if (event.event === "end") {
          abort.abort();
          handlers.onState("ended");
          return;
        }
      }
      lastId = parser.lastEventId ?? lastId;
      if (parser.retry !== null) delay = parser.retry;
    }
    throw new Error("the stream closed before the run ended");
  };

  const loop = async () => {
    handlers.onState("connecting");
    while (!abort.signal.aborted) {
      try {
        await connect();
        return;
      } catch (e) {
        if (abort.signal.aborted) return;
        handlers.onState("reconnecting", "code" in (e as object) ? (e as ApiProblem) : toProblem(e));
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 15000);
      }
    }
  };
  void loop();
  return () => abort.abort();
}
