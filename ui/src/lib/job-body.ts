// The job form's model turned into the body of POST/PUT /v1/jobs, or the places the form
// cannot be read (numbers that are not, name=value lines that are not), as the API would
// name them.

import type { FetchSettings, JobIn, Pagination, WebhookIn } from "../api/types";
import type { JobDraft } from "./job-draft";

type Problem = { path: string; message: string };

function splitLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

function parsePairs(text: string, sep: string, at: string, problems: Problem[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of splitLines(text)) {
    const i = line.indexOf(sep);
    if (i <= 0) {
      problems.push({ path: at, message: `${JSON.stringify(line)} is not name${sep.trim()}value` });
      continue;
    }
    out[line.slice(0, i).trim()] = line.slice(i + sep.length).trim();
  }
  return out;
}

function int(text: string, at: string, problems: Problem[]): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (!/^-?\d+$/.test(t)) {
    problems.push({ path: at, message: "must be a whole number" });
    return undefined;
  }
  return Number(t);
}

type Fetch = FetchSettings;

function paginationOf(p: JobDraft["pagination"], n: (t: string, at: string) => number | undefined): Pagination {
  switch (p.type) {
    case "next-link":
      return { type: "next-link", selector: p.selector };
    case "url-template":
      return { type: "url-template", template: p.template, start: n(p.start, "/pagination/start") ?? 1, step: n(p.step, "/pagination/step") ?? 1, end: n(p.end, "/pagination/end") ?? null };
    case "plugin":
      return { type: "plugin" };
    case "crawl":
      return { type: "crawl", include: splitLines(p.include), exclude: splitLines(p.exclude), same_host: p.same_host, selector: p.links.trim() || "a[href]" };
    case "sitemap":
      return {
        type: "sitemap",
        include: splitLines(p.include),
        exclude: splitLines(p.exclude),
        max_sitemaps: n(p.max_sitemaps, "/pagination/max_sitemaps") ?? 100,
        modified_since: p.modified_since.trim() || null,
      };
    default:
      return { type: "none" };
  }
}

function fetchOf(d: JobDraft, n: (t: string, at: string) => number | undefined, problems: Problem[]): Fetch {
  const f = d.fetch;
  let body: Fetch["body"] = null;
  if (f.method === "POST" && f.body_kind === "json") {
    try {
      body = { json: JSON.parse(f.body) as unknown };
    } catch (e) {
      problems.push({ path: "/fetch/body", message: `not JSON: ${e instanceof Error ? e.message : String(e)}` });
    }
  } else if (f.method === "POST" && f.body_kind === "form") {
    body = { form: parsePairs(f.body, "=", "/fetch/body", problems) };
  }
  const l = d.login;
  const login: Fetch["login"] = l.on
    ? {
        url: l.url.trim(),
        form: l.form.trim() || "form",
        fields: parsePairs(l.fields, "=", "/fetch/login/fields", problems),
        success_selector: l.success_selector.trim() || null,
        failure_selector: l.failure_selector.trim() || null,
      }
    : null;
  const contentTypes = splitLines(f.content_types);
  const settings: Fetch = {
    per_host_concurrency: n(f.per_host_concurrency, "/fetch/per_host_concurrency") ?? 2,
    delay_ms: n(f.delay_ms, "/fetch/delay_ms") ?? 0,
    obey_robots: f.obey_robots,
    user_agent: f.user_agent.trim() || null,
    max_attempts: n(f.max_attempts, "/fetch/max_attempts") ?? 3,
    timeout_ms: n(f.timeout_ms, "/fetch/timeout_ms") ?? null,
    content_types: contentTypes,
    render: f.render as Fetch["render"],
    method: f.method as Fetch["method"],
    proxy_rotation: f.proxy_rotation as Fetch["proxy_rotation"],
    browser: {
      wait_for: f.browser.wait_for.trim() || null,
      network_idle: f.browser.network_idle,
      delay_ms: n(f.browser.delay_ms, "/fetch/browser/delay_ms") ?? 0,
      wait_timeout_ms: n(f.browser.wait_timeout_ms, "/fetch/browser/wait_timeout_ms") ?? 10000,
      scroll_rounds: n(f.browser.scroll_rounds, "/fetch/browser/scroll_rounds") ?? 0,
      block: f.browser.block as Fetch["browser"]["block"],
      context: f.browser.context as Fetch["browser"]["context"],
    },
    body,
    login,
  };
  // Left out, the server picks the media types from the schema's extractor (JSON for
  // the json-extractor, HTML otherwise).
  if (contentTypes.length === 0) delete (settings as Partial<Fetch>).content_types;
  return settings;
}

/** The request body of the draft, or what keeps it from being one (as API-style problems). */
export function jobBody(d: JobDraft): { body: JobIn } | { problems: Problem[] } {
  const problems: Problem[] = [];
  const n = (text: string, at: string) => int(text, at, problems);
  const body: JobIn = {
    name: d.name.trim(),
    schema_id: d.schema_id,
    start_urls: splitLines(d.start_urls),
    pagination: paginationOf(d.pagination, n),
    max_pages: n(d.max_pages, "/max_pages") ?? 100,
    concurrency: n(d.concurrency, "/concurrency") ?? 4,
    max_depth: n(d.max_depth, "/max_depth") ?? null,
    max_duration_secs: n(d.max_duration_secs, "/max_duration_secs") ?? null,
    max_credits: n(d.max_credits, "/max_credits") ?? null,
    fetch: fetchOf(d, n, problems),
    drop_query_params: splitLines(d.drop_query_params),
    dedup_scope: d.dedup_scope as JobIn["dedup_scope"],
    enabled: d.enabled,
    webhooks: d.webhooks
      .filter((w) => w.url.trim())
      .map((w) => ({ url: w.url.trim(), events: w.events as NonNullable<WebhookIn["events"]> })),
    cron: d.cron.trim() || null,
    timezone: d.timezone.trim() || "UTC",
    overlap: d.overlap as JobIn["overlap"],
  };
  if (d.secrets.replace) {
    body.secrets = {
      headers: parsePairs(d.secrets.headers, ":", "/secrets/headers", problems),
      login: parsePairs(d.secrets.login, "=", "/secrets/login", problems),
      proxies: splitLines(d.secrets.proxies),
    };
  }
  if (!d.schema_id) problems.push({ path: "/schema_id", message: "choose a schema" });
  return problems.length ? { problems } : { body };
}
