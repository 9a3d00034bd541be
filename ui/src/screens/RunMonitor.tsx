import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/client";
import { must, problemOf, type ApiProblem } from "../api/errors";
import { RateChart } from "../components/charts";
import { ErrorBox } from "../components/ErrorBox";
import { LogView } from "../components/run/LogView";
import { PagesTable } from "../components/run/PagesTable";
import { RunCost } from "../components/run/RunCost";
import { RunCounters } from "../components/run/RunCounters";
import { RunParams } from "../components/run/RunParams";
import { useRunStream } from "../components/run/useRunStream";
import { StatusBadge } from "../components/StatusBadge";
import { duration, when } from "../lib/format";
import { href } from "../lib/route";

const STREAM_WORDS = {
  connecting: "connecting to the live stream…",
  open: "live",
  reconnecting: "connection lost: reconnecting…",
  ended: "the run is over",
  failed: "the live stream was refused",
};

/** `#/runs/<id>`: a run as it goes, from its event stream. */
export function RunMonitor({ id }: { id: string }) {
  const { run, setRun, stream, problem, samples, going } = useRunStream(id);
  const [cancelProblem, setCancelProblem] = useState<ApiProblem | null>(null);
  const [cancelling, setCancelling] = useState(false);
  // Tables that are not in the stream are refreshed at most every five seconds while
  // the run goes, and once when it ends.
  const [refresh, setRefresh] = useState(0);
  const lastRefresh = useRef(0);
  useEffect(() => {
    if (!run) return;
    const now = Date.now();
    if (!going || now - lastRefresh.current > 5000) {
      lastRefresh.current = now;
      setRefresh((r) => r + 1);
    }
  }, [run?.version, going]);

  const cancel = async () => {
    setCancelling(true);
    setCancelProblem(null);
    try {
      setRun(await must(api.POST("/v1/runs/{id}/cancel", { params: { path: { id } } })));
    } catch (e) {
      setCancelProblem(problemOf(e));
    } finally {
      setCancelling(false);
    }
  };

  if (!run && problem) return <ErrorBox problem={problem} />;
  const ended = run?.error ?? run?.reason;
  const avg = run?.started_at
    ? (run.counters.pages_fetched + run.counters.pages_failed) /
      Math.max(1, ((run.finished_at ? new Date(run.finished_at).getTime() : Date.now()) - new Date(run.started_at).getTime()) / 1000)
    : 0;
  return (
    <>
      <h1>
        Run <span class="mono">{id.slice(0, 8)}</span>
      </h1>
      <div class="actions">
        <span>
          Status: <StatusBadge status={run?.status} id="run-status" live />
        </span>
        <span class="muted" id="stream-state" aria-live="polite">
          {STREAM_WORDS[stream]}
        </span>
        <button type="button" id="cancel-run" class="danger" onClick={cancel} disabled={!going || cancelling || !!run?.cancel_requested_at}>
          {run?.cancel_requested_at && going ? "Cancelling…" : "Cancel run"}
        </button>
        <a href={href("runs", id, "results")} id="results-link">
          Results
        </a>
        {run && <a href={href("jobs", run.job_id)}>The job</a>}
      </div>
      <ErrorBox problem={cancelProblem} />
      {stream === "failed" && <ErrorBox problem={problem} />}
      <p class="hint" id="run-times">
        Queued {when(run?.created_at)} · started {when(run?.started_at)} · {run?.finished_at ? `ended ${when(run.finished_at)}` : "still going"} · took{" "}
        {duration(run?.started_at, run?.finished_at)}
      </p>
      {ended && (
        <p id="run-reason" class={run?.error ? "error" : "notice"}>
          <code>{ended.code}</code> {ended.message}
        </p>
      )}
      <RunCounters counters={run?.counters ?? null} />
      <RateChart samples={samples} span={10 * 60 * 1000} unit="pages/s" label={`Pages per second (average ${avg.toFixed(2)})`} />
      {run && <RunCost run={run} refresh={refresh} />}
      <PagesTable runId={id} refresh={refresh} />
      <LogView runId={id} live={going || !run} />
      {run && <RunParams run={run} />}
    </>
  );
}
