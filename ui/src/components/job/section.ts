import type { ApiProblem } from "../../api/errors";
import type { JobDraft } from "../../lib/job-draft";

/** What every section of the job form gets: the draft, a way to change it, the last problem. */
export type SectionProps = {
  d: JobDraft;
  up: (f: (d: JobDraft) => JobDraft) => void;
  problem: ApiProblem | null;
};
