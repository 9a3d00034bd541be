import { PAGINATION_TYPES, type JobDraft } from "../../lib/job-draft";
import { AreaField, CheckField, SelectField, TextField } from "./fields";
import type { SectionProps } from "./section";

const LABELS: Record<string, string> = {
  none: "none: only the start URLs",
  "next-link": "next-link: follow a next-page link",
  "url-template": "url-template: numbered pages",
  plugin: "plugin: the URLs the extractor returns",
  crawl: "crawl: every matching link",
  sitemap: "sitemap: the pages sitemaps list",
};

/** How the next pages are found, with the fields of the chosen mode. */
export function PaginationFields({ d, up, problem }: SectionProps) {
  const p = d.pagination;
  const set = (patch: Partial<JobDraft["pagination"]>) => up((x) => ({ ...x, pagination: { ...x.pagination, ...patch } }));
  return (
    <fieldset>
      <legend>Pagination</legend>
      <SelectField id="pagination" label="Mode" value={p.type} onChange={(type) => set({ type })} options={PAGINATION_TYPES.map((t) => [t, LABELS[t] ?? t] as [string, string])} problem={problem} at="/pagination/type" />
      {p.type === "next-link" && (
        <TextField id="next-selector" label="Next-page link (CSS selector)" mono value={p.selector} onInput={(selector) => set({ selector })} placeholder="li.next a" problem={problem} at="/pagination/selector" />
      )}
      {p.type === "url-template" && (
        <>
          <TextField id="url-template" label="URL template (with {page})" mono value={p.template} onInput={(template) => set({ template })} placeholder="https://shop.example/list?page={page}" problem={problem} at="/pagination/template" />
          <div class="grid3">
            <TextField id="template-start" label="First page" type="number" value={p.start} onInput={(start) => set({ start })} problem={problem} at="/pagination/start" />
            <TextField id="template-end" label="Last page (empty: until a page gives no items)" type="number" value={p.end} onInput={(end) => set({ end })} problem={problem} at="/pagination/end" />
            <TextField id="template-step" label="Step" type="number" value={p.step} onInput={(step) => set({ step })} problem={problem} at="/pagination/step" />
          </div>
        </>
      )}
      {(p.type === "crawl" || p.type === "sitemap") && (
        <div class="grid2">
          <AreaField id="pagination-include" label="Include (regular expressions, one a line)" value={p.include} onInput={(include) => set({ include })} problem={problem} at="/pagination/include" />
          <AreaField id="pagination-exclude" label="Exclude (regular expressions, one a line)" value={p.exclude} onInput={(exclude) => set({ exclude })} problem={problem} at="/pagination/exclude" />
        </div>
      )}
      {p.type === "crawl" && (
        <div class="grid2">
          <TextField id="crawl-selector" label="Links to consider (CSS selector)" mono value={p.links} onInput={(links) => set({ links })} problem={problem} at="/pagination/selector" />
          <CheckField id="crawl-same-host" label="Only the start URLs' hosts" checked={p.same_host} onChange={(same_host) => set({ same_host })} />
        </div>
      )}
      {p.type === "sitemap" && (
        <div class="grid2">
          <TextField id="sitemap-modified-since" label="Modified since (date or RFC 3339)" value={p.modified_since} onInput={(modified_since) => set({ modified_since })} placeholder="2026-01-01" problem={problem} at="/pagination/modified_since" />
          <TextField id="sitemap-max" label="Sitemap files at most" type="number" value={p.max_sitemaps} onInput={(max_sitemaps) => set({ max_sitemaps })} problem={problem} at="/pagination/max_sitemaps" />
        </div>
      )}
    </fieldset>
  );
}
