import { RESOURCE_KINDS, type JobDraft } from "../../lib/job-draft";
import { AreaField, CheckField, SelectField, TextField } from "./fields";
import type { SectionProps } from "./section";

type Fetch = JobDraft["fetch"];

/** Politeness, timeouts, content types, the request method and body, and rendering. */
export function FetchFields({ d, up, problem }: SectionProps) {
  const f = d.fetch;
  const set = (patch: Partial<Fetch>) => up((x) => ({ ...x, fetch: { ...x.fetch, ...patch } }));
  return (
    <fieldset>
      <legend>Fetching and politeness</legend>
      <div class="grid3">
        <TextField id="per-host-concurrency" label="Requests to one host at once" type="number" value={f.per_host_concurrency} onInput={(per_host_concurrency) => set({ per_host_concurrency })} problem={problem} at="/fetch/per_host_concurrency" />
        <TextField id="delay-ms" label="Delay between requests to a host (ms)" type="number" value={f.delay_ms} onInput={(delay_ms) => set({ delay_ms })} problem={problem} at="/fetch/delay_ms" />
        <TextField id="timeout-ms" label="Request timeout (ms, empty: the host's)" type="number" value={f.timeout_ms} onInput={(timeout_ms) => set({ timeout_ms })} problem={problem} at="/fetch/timeout_ms" />
        <TextField id="max-attempts" label="Attempts per page" type="number" value={f.max_attempts} onInput={(max_attempts) => set({ max_attempts })} problem={problem} at="/fetch/max_attempts" />
        <TextField id="user-agent" label="User-Agent (empty: trawl's)" value={f.user_agent} onInput={(user_agent) => set({ user_agent })} problem={problem} at="/fetch/user_agent" />
        <SelectField id="proxy-rotation" label="Proxy rotation" value={f.proxy_rotation} onChange={(proxy_rotation) => set({ proxy_rotation })} options={[["per-request", "next proxy per request"], ["sticky-host", "one proxy per site"]]} problem={problem} at="/fetch/proxy_rotation" />
      </div>
      <CheckField id="obey-robots" label="Obey robots.txt" checked={f.obey_robots} onChange={(obey_robots) => set({ obey_robots })} />
      <AreaField id="content-types" label="Content types taken (one a line)" rows={2} value={f.content_types} onInput={(content_types) => set({ content_types })} placeholder={"empty: HTML, or JSON for a json-extractor schema"} problem={problem} at="/fetch/content_types" />
      <div class="grid3">
        <SelectField id="render-mode" label="Render" value={f.render} onChange={(render) => set({ render })} options={[["http", "http: the server's HTML"], ["browser", "browser: headless Chromium"]]} problem={problem} at="/fetch/render" />
        <SelectField id="method" label="Method" value={f.method} onChange={(method) => set({ method, ...(method === "GET" ? { body_kind: "none" as const } : {}) })} options={["GET", "POST"]} problem={problem} at="/fetch/method" />
        {f.method === "POST" && (
          <SelectField id="body-kind" label="Body" value={f.body_kind} onChange={(v) => set({ body_kind: v as Fetch["body_kind"] })} options={[["none", "none"], ["json", "JSON"], ["form", "form fields"]]} problem={problem} />
        )}
      </div>
      {f.method === "POST" && f.body_kind !== "none" && (
        <AreaField id="request-body" label={f.body_kind === "json" ? "JSON body" : "Form fields (name=value, one a line)"} value={f.body} onInput={(body) => set({ body })} problem={problem} at="/fetch/body" />
      )}
      {f.render === "browser" && <BrowserFields f={f} set={set} problem={problem} />}
    </fieldset>
  );
}

function BrowserFields({ f, set, problem }: { f: Fetch; set: (p: Partial<Fetch>) => void; problem: SectionProps["problem"] }) {
  const b = f.browser;
  const setB = (patch: Partial<Fetch["browser"]>) => set({ browser: { ...b, ...patch } });
  return (
    <fieldset>
      <legend>Browser rendering</legend>
      <div class="grid3">
        <TextField id="wait-for" label="Wait for (CSS selector)" mono value={b.wait_for} onInput={(wait_for) => setB({ wait_for })} problem={problem} at="/fetch/browser/wait_for" />
        <TextField id="browser-delay" label="Extra delay (ms)" type="number" value={b.delay_ms} onInput={(delay_ms) => setB({ delay_ms })} problem={problem} at="/fetch/browser/delay_ms" />
        <TextField id="wait-timeout" label="Waits last at most (ms)" type="number" value={b.wait_timeout_ms} onInput={(wait_timeout_ms) => setB({ wait_timeout_ms })} problem={problem} at="/fetch/browser/wait_timeout_ms" />
        <TextField id="scroll-rounds" label="Scroll rounds" type="number" value={b.scroll_rounds} onInput={(scroll_rounds) => setB({ scroll_rounds })} problem={problem} at="/fetch/browser/scroll_rounds" />
        <SelectField id="browser-context" label="Browser context" value={b.context} onChange={(context) => setB({ context })} options={[["run", "one per run"], ["page", "one per page"]]} problem={problem} />
      </div>
      <CheckField id="network-idle" label="Wait for the network to be idle" checked={b.network_idle} onChange={(network_idle) => setB({ network_idle })} />
      <fieldset>
        <legend>Never fetch</legend>
        <div class="columns-chooser">
          {RESOURCE_KINDS.map((k) => (
            <CheckField
              key={k}
              id={`block-${k}`}
              label={k}
              checked={b.block.includes(k)}
              onChange={(on) => setB({ block: on ? [...b.block, k] : b.block.filter((x) => x !== k) })}
            />
          ))}
        </div>
      </fieldset>
    </fieldset>
  );
}
