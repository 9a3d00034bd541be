import { useState } from "preact/hooks";

export type Source = { kind: "url"; url: string; browser: boolean } | { kind: "html"; html: string; url: string };

/** Where the page comes from: a URL trawl fetches, or HTML pasted here. */
export function SourceForm({ busy, onLoad, initialUrl }: { busy: boolean; onLoad: (s: Source) => void; initialUrl: string }) {
  const [kind, setKind] = useState<"url" | "html">("url");
  const [url, setUrl] = useState(initialUrl);
  const [html, setHtml] = useState("");
  const [browser, setBrowser] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    onLoad(kind === "url" ? { kind, url: url.trim(), browser } : { kind, html, url: url.trim() });
  };
  return (
    <form onSubmit={submit} aria-label="Page to build the schema on">
      <fieldset>
        <legend>Page</legend>
        <div class="row">
          <div class="check">
            <input type="radio" id="source-url" name="source" checked={kind === "url"} onChange={() => setKind("url")} />
            <label for="source-url">Load a URL</label>
          </div>
          <div class="check">
            <input type="radio" id="source-html" name="source" checked={kind === "html"} onChange={() => setKind("html")} />
            <label for="source-html">Paste HTML</label>
          </div>
        </div>
        <div class="row">
          <div class="field" style={{ flex: 1 }}>
            <label for="page-url">{kind === "url" ? "URL" : "The URL it stands for (optional, for relative links)"}</label>
            <input id="page-url" type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="https://…" required={kind === "url"} />
          </div>
          <button type="submit" id="load-page" class="primary" disabled={busy}>
            {busy ? "Loading…" : "Load"}
          </button>
        </div>
        {kind === "url" && (
          <div class="check">
            <input type="checkbox" id="source-browser" checked={browser} onChange={(e) => setBrowser(e.currentTarget.checked)} />
            <label for="source-browser">Render it in a browser first (for pages that scripts build)</label>
          </div>
        )}
        {kind === "html" && (
          <div class="field">
            <label for="page-html">HTML</label>
            <textarea id="page-html" class="code" rows={6} value={html} onInput={(e) => setHtml(e.currentTarget.value)} required />
          </div>
        )}
      </fieldset>
    </form>
  );
}
