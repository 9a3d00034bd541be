// The job form's model: every field as the form holds it (text for numbers and lists),
// made from a stored job (`job-body.ts` makes the request body of it).

import type { JobOut } from "../api/types";

export const PAGINATION_TYPES = ["none", "next-link", "url-template", "plugin", "crawl", "sitemap"] as const;
export const WEBHOOK_EVENTS = ["run.started", "run.succeeded", "run.failed", "run.cancelled", "run.timed_out"] as const;
export const RESOURCE_KINDS = ["image", "font", "media", "stylesheet", "script", "xhr", "fetch", "document", "other"] as const;

export type JobDraft = {
  name: string;
  schema_id: string;
  start_urls: string;
  enabled: boolean;
  pagination: {
    type: string;
    selector: string;
    template: string;
    start: string;
    end: string;
    step: string;
    include: string;
    exclude: string;
    same_host: boolean;
    links: string;
    modified_since: string;
    max_sitemaps: string;
  };
  max_pages: string;
  max_depth: string;
  concurrency: string;
  max_duration_secs: string;
  max_credits: string;
  drop_query_params: string;
  dedup_scope: string;
  fetch: {
    per_host_concurrency: string;
    delay_ms: string;
    obey_robots: boolean;
    user_agent: string;
    max_attempts: string;
    timeout_ms: string;
    content_types: string;
    render: string;
    method: string;
    body_kind: "none" | "json" | "form";
    body: string;
    proxy_rotation: string;
    browser: {
      wait_for: string;
      network_idle: boolean;
      delay_ms: string;
      wait_timeout_ms: string;
      scroll_rounds: string;
      block: string[];
      context: string;
    };
  };
  login: { on: boolean; url: string; form: string; fields: string; success_selector: string; failure_selector: string };
  cron: string;
  timezone: string;
  overlap: string;
  webhooks: { url: string; events: string[] }[];
  secrets: { replace: boolean; headers: string; login: string; proxies: string };
};

const str = (v: unknown) => (v === null || v === undefined ? "" : String(v));
const lines = (v: string[] | null | undefined) => (v ?? []).join("\n");
const pairs = (o: Record<string, string> | null | undefined, sep: string) =>
  Object.entries(o ?? {})
    .map(([k, v]) => `${k}${sep}${v}`)
    .join("\n");

export function newDraft(schemaId = ""): JobDraft {
  return {
    name: "",
    schema_id: schemaId,
    start_urls: "",
    enabled: true,
    pagination: { type: "none", selector: "", template: "", start: "1", end: "", step: "1", include: "", exclude: "", same_host: true, links: "a[href]", modified_since: "", max_sitemaps: "100" },
    max_pages: "100",
    max_depth: "",
    concurrency: "4",
    max_duration_secs: "",
    max_credits: "",
    drop_query_params: "",
    dedup_scope: "run",
    fetch: {
      per_host_concurrency: "2",
      delay_ms: "0",
      obey_robots: true,
      user_agent: "",
      max_attempts: "3",
      timeout_ms: "",
      // Empty: the server's default, which depends on the schema's extractor.
      content_types: "",
      render: "http",
      method: "GET",
      body_kind: "none",
      body: "",
      proxy_rotation: "per-request",
      browser: { wait_for: "", network_idle: true, delay_ms: "0", wait_timeout_ms: "10000", scroll_rounds: "0", block: ["image", "font", "media"], context: "run" },
    },
    login: { on: false, url: "", form: "form", fields: "", success_selector: "", failure_selector: "" },
    cron: "",
    timezone: "UTC",
    overlap: "skip",
    webhooks: [],
    secrets: { replace: true, headers: "", login: "", proxies: "" },
  };
}

/** The form's model of a stored job. */
export function draftOf(job: JobOut): JobDraft {
  const d = newDraft(job.schema_id);
  const p = job.pagination as Record<string, unknown>;
  const f = job.fetch;
  const b = f.browser;
  const body = f.body as { json?: unknown; form?: Record<string, string> } | null | undefined;
  return {
    ...d,
    name: job.name,
    start_urls: lines(job.start_urls),
    enabled: job.enabled,
    pagination: {
      ...d.pagination,
      type: str(p["type"]) || "none",
      selector: p["type"] === "next-link" ? str(p["selector"]) : "",
      links: p["type"] === "crawl" ? str(p["selector"]) || "a[href]" : "a[href]",
      template: str(p["template"]),
      start: str(p["start"] ?? 1),
      end: str(p["end"]),
      step: str(p["step"] ?? 1),
      include: lines(p["include"] as string[]),
      exclude: lines(p["exclude"] as string[]),
      same_host: p["same_host"] !== false,
      modified_since: str(p["modified_since"]),
      max_sitemaps: str(p["max_sitemaps"] ?? 100),
    },
    max_pages: str(job.max_pages),
    max_depth: str(job.max_depth),
    concurrency: str(job.concurrency),
    max_duration_secs: str(job.max_duration_secs),
    max_credits: str(job.max_credits),
    drop_query_params: lines(job.drop_query_params),
    dedup_scope: job.dedup_scope,
    fetch: {
      per_host_concurrency: str(f.per_host_concurrency),
      delay_ms: str(f.delay_ms),
      obey_robots: f.obey_robots,
      user_agent: str(f.user_agent),
      max_attempts: str(f.max_attempts),
      timeout_ms: str(f.timeout_ms),
      content_types: lines(f.content_types),
      render: f.render,
      method: f.method,
      body_kind: body?.json !== undefined ? "json" : body?.form ? "form" : "none",
      body: body?.json !== undefined ? JSON.stringify(body.json, null, 2) : pairs(body?.form, "="),
      proxy_rotation: f.proxy_rotation,
      browser: {
        wait_for: str(b.wait_for),
        network_idle: b.network_idle,
        delay_ms: str(b.delay_ms),
        wait_timeout_ms: str(b.wait_timeout_ms),
        scroll_rounds: str(b.scroll_rounds),
        block: [...b.block],
        context: b.context,
      },
    },
    login: f.login
      ? { on: true, url: f.login.url, form: f.login.form ?? "form", fields: pairs(f.login.fields, "="), success_selector: str(f.login.success_selector), failure_selector: str(f.login.failure_selector) }
      : d.login,
    cron: str(job.cron),
    timezone: job.timezone,
    overlap: job.overlap,
    webhooks: job.webhooks.map((w) => ({ url: w.url, events: [...(w.events ?? [])] })),
    // A stored job's secrets are never shown: they are kept unless replaced.
    secrets: { replace: false, headers: "", login: "", proxies: "" },
  };
}
