import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must, problemOf, type ApiProblem } from "../api/errors";
import { randomId } from "../lib/hooks";
import { href } from "../lib/route";
import { go } from "../lib/router";
import { ErrorBox } from "./ErrorBox";

/**
 * "Run now": queues a run of the job with a fresh `Idempotency-Key` (a double click
 * sends the same key, so it makes one run), then opens its monitor.
 */
export function RunNow({ jobId, id, className }: { jobId: string; id?: string; className?: string }) {
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [key, setKey] = useState(randomId);
  const start = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const run = await must(
        api.POST("/v1/jobs/{id}/runs", {
          params: { path: { id: jobId }, header: { "Idempotency-Key": key } },
        }),
      );
      setKey(randomId());
      go(href("runs", run.id));
    } catch (e) {
      setProblem(problemOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" id={id} class={className} onClick={start} disabled={busy}>
        {busy ? "Starting…" : "Run now"}
      </button>
      <ErrorBox problem={problem} />
    </>
  );
}
