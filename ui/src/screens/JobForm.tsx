import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import { must, problemOf, type ApiProblem } from "../api/errors";
import type { JobOut } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { SkeletonBlock } from "../components/Skeleton";
import { CreditFields } from "../components/job/CreditFields";
import { FetchFields } from "../components/job/FetchFields";
import { AreaField, CheckField, SelectField, TextField } from "../components/job/fields";
import { LimitsFields } from "../components/job/LimitsFields";
import { LoginFields } from "../components/job/LoginFields";
import { PaginationFields } from "../components/job/PaginationFields";
import { ScheduleFields } from "../components/job/ScheduleFields";
import { WebhookFields } from "../components/job/WebhookFields";
import { jobBody } from "../lib/job-body";
import { draftOf, newDraft, type JobDraft } from "../lib/job-draft";
import { useLoad } from "../lib/hooks";
import { href } from "../lib/route";

/** `#/jobs/new` and `#/jobs/<id>/edit`. */
export function JobForm({ id, schemaId }: { id: string | null; schemaId: string | null }) {
  const [jobId, setJobId] = useState(id);
  const [d, setD] = useState<JobDraft>(() => newDraft(schemaId ?? ""));
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<JobOut | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const schemas = useLoad(() => must(api.GET("/v1/schemas", { params: { query: { limit: 500 } } })), []);
  const existing = useLoad(async () => (id ? must(api.GET("/v1/jobs/{id}", { params: { path: { id } } })) : null), [id]);
  useEffect(() => {
    if (existing.data) setD(draftOf(existing.data));
  }, [existing.data]);

  const up = (f: (d: JobDraft) => JobDraft) => setD(f);
  const save = async (e: Event) => {
    e.preventDefault();
    const made = jobBody(d);
    if ("problems" in made) {
      setProblem({ status: 0, code: "invalid_job", message: "the form is not complete", details: made.problems });
      return;
    }
    setSaving(true);
    setProblem(null);
    try {
      const out = jobId
        ? await must(api.PUT("/v1/jobs/{id}", { params: { path: { id: jobId } }, body: made.body }))
        : await must(api.POST("/v1/jobs", { body: made.body }));
      setSaved(out);
      if (out.webhook_secret) setSecret(out.webhook_secret);
      if (!jobId) {
        setJobId(out.id);
        history.replaceState(null, "", href("jobs", out.id, "edit"));
      }
      setD(draftOf(out));
    } catch (err) {
      setProblem(problemOf(err));
    } finally {
      setSaving(false);
    }
  };

  if (id && !existing.data) {
    return existing.problem ? <ErrorBox problem={existing.problem} /> : <SkeletonBlock lines={10} />;
  }
  const schemaOptions: [string, string][] = [["", "— choose a schema —"], ...(schemas.data?.items ?? []).map((s): [string, string] => [s.id, `${s.name} (v${s.version})`])];
  if (d.schema_id && !schemaOptions.some(([v]) => v === d.schema_id)) schemaOptions.push([d.schema_id, d.schema_id]);
  const props = { d, up, problem };
  return (
    <form onSubmit={save} noValidate>
      <h1>{jobId ? `Edit job ${existing.data?.name ?? d.name}` : "New job"}</h1>
      <fieldset>
        <legend>Job</legend>
        <div class="grid2">
          <TextField id="job-name" label="Name" value={d.name} onInput={(name) => up((x) => ({ ...x, name }))} problem={problem} at="/name" required />
          <SelectField id="job-schema" label="Schema" value={d.schema_id} onChange={(schema_id) => up((x) => ({ ...x, schema_id }))} options={schemaOptions} problem={problem} at="/schema_id" hint={d.schema_id && <a href={href("schemas", d.schema_id)}>open the schema</a>} />
        </div>
        <AreaField id="start-urls" label="Start URLs (one a line)" rows={4} value={d.start_urls} onInput={(start_urls) => up((x) => ({ ...x, start_urls }))} problem={problem} at="/start_urls" />
        <CheckField id="job-enabled" label="Enabled (a disabled job's schedule fires nothing)" checked={d.enabled} onChange={(enabled) => up((x) => ({ ...x, enabled }))} />
        <ErrorBox problem={schemas.problem} />
      </fieldset>
      <PaginationFields {...props} />
      <LimitsFields {...props} />
      <FetchFields {...props} />
      <LoginFields {...props} shown={jobId ? (saved ?? existing.data)?.secrets ?? null : null} />
      <ScheduleFields {...props} />
      <WebhookFields {...props} />
      <CreditFields {...props} jobId={jobId} savedAt={saved?.updated_at ?? null} />
      <ErrorBox problem={problem} id="job-error" />
      <div class="actions">
        <button type="submit" id="save-job" class="primary" disabled={saving}>
          {saving ? "Saving…" : jobId ? "Save changes" : "Create job"}
        </button>
        {jobId && <a href={href("jobs", jobId)}>Back to the job</a>}
        {saved && (
          <span class="notice" role="status" id="job-saved">
            Saved. <a href={href("jobs", saved.id)}>Open the job</a>
          </span>
        )}
      </div>
      {secret && (
        <div class="notice" role="status">
          The webhooks' signing secret, shown this once: <span class="secret" id="webhook-secret">{secret}</span>
        </div>
      )}
    </form>
  );
}
