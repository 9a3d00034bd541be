import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import type { EstimateOut } from "../../api/types";
import { num } from "../../lib/format";
import { ErrorBox } from "../ErrorBox";
import { TextField } from "./fields";
import type { SectionProps } from "./section";

/** The credit cap of each run, and what a run may cost at worst (once the job is saved). */
export function CreditFields({ d, up, problem, jobId, savedAt }: SectionProps & { jobId: string | null; savedAt: string | null }) {
  const [estimate, setEstimate] = useState<EstimateOut | null>(null);
  const [estimateProblem, setEstimateProblem] = useState<ApiProblem | null>(null);
  const load = () => {
    if (!jobId) return;
    must(api.POST("/v1/jobs/{id}/estimate", { params: { path: { id: jobId } } })).then(
      (e) => {
        setEstimate(e);
        setEstimateProblem(null);
      },
      (e) => setEstimateProblem(problemOf(e)),
    );
  };
  useEffect(load, [jobId, savedAt]);
  return (
    <fieldset>
      <legend>Credits</legend>
      <div class="grid2">
        <TextField id="max-credits" label="Credit cap per run (empty: none)" type="number" value={d.max_credits} onInput={(max_credits) => up((x) => ({ ...x, max_credits }))} problem={problem} at="/max_credits" />
        <div id="estimate" aria-live="polite" class="field">
          <span class="hint">Estimate of a run (of the saved job)</span>
          {!jobId ? (
            <span class="muted">Save the job to see what a run may cost.</span>
          ) : estimate ? (
            <span>
              At worst <strong id="estimate-worst">{num(estimate.worst_case)}</strong> credits ({num(estimate.work.pages)} pages; pages {num(estimate.credits.pages)}, fuel {num(estimate.credits.fuel)}, items {num(estimate.credits.items)})
              {estimate.max_credits != null && `, capped at ${num(estimate.max_credits)}`}. Balance {num(estimate.balance)}
              {estimate.charged ? (estimate.covered ? ": covered." : ": not covered.") : " (not charged)."}
            </span>
          ) : (
            <span class="muted">…</span>
          )}
          {jobId && (
            <button type="button" id="refresh-estimate" onClick={load}>
              Estimate again
            </button>
          )}
        </div>
      </div>
      <ErrorBox problem={estimateProblem} />
    </fieldset>
  );
}
