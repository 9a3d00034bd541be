import type { JobOut } from "../api/types";
import { cronInWords } from "../lib/cron";
import { when } from "../lib/format";
import { href } from "../lib/route";

/** A job's settings, read-only. */
export function JobSettings({ job }: { job: JobOut }) {
  const f = job.fetch;
  const p = job.pagination as Record<string, unknown>;
  const paging = Object.entries(p)
    .filter(([k]) => k !== "type")
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(", ");
  return (
    <dl class="settings" id="job-settings">
      <dt>Schema</dt>
      <dd>
        <a href={href("schemas", job.schema_id)}>{job.schema_id}</a>
      </dd>
      <dt>Start URLs</dt>
      <dd>
        {job.start_urls.length === 0 ? "—" : job.start_urls.slice(0, 5).join(", ")}
        {job.start_urls.length > 5 && ` and ${job.start_urls.length - 5} more`}
      </dd>
      <dt>Pagination</dt>
      <dd>
        {String(p["type"])}
        {paging && ` (${paging})`}
      </dd>
      <dt>Limits</dt>
      <dd>
        {job.max_pages} pages, depth {job.max_depth ?? "unlimited"}, {job.concurrency} in flight
        {job.max_duration_secs ? `, ${job.max_duration_secs}s at most` : ""}
        {job.max_credits ? `, ${job.max_credits} credits at most` : ""}
      </dd>
      <dt>Fetching</dt>
      <dd>
        {f.render}, {f.method}, {f.per_host_concurrency} per host, delay {f.delay_ms} ms, {f.max_attempts} attempts
        {f.timeout_ms ? `, timeout ${f.timeout_ms} ms` : ""}, robots.txt {f.obey_robots ? "obeyed" : "ignored"}
        {f.user_agent ? `, User-Agent ${f.user_agent}` : ""}
        {f.login ? `, logs in at ${f.login.url}` : ""}
      </dd>
      <dt>Schedule</dt>
      <dd>
        {job.cron ? `${job.cron} (${job.timezone}): ${cronInWords(job.cron) ?? ""}` : "none"}
        {job.cron && `; next ${job.next_run_at ? when(job.next_run_at) : "— (disabled)"}`}
      </dd>
      <dt>Enabled</dt>
      <dd>{job.enabled ? "yes" : "no"}</dd>
      <dt>Webhooks</dt>
      <dd>{job.webhooks.length ? job.webhooks.map((w) => `${w.url} (${(w.events ?? []).join(", ")})`).join("; ") : "none"}</dd>
      <dt>Secrets</dt>
      <dd>
        headers {job.secrets.headers.join(", ") || "none"}; login {job.secrets.login.join(", ") || "none"}; {job.secrets.proxies} proxies
      </dd>
    </dl>
  );
}
