// Hash routes: `#/jobs`, `#/runs/<id>`, `#/jobs/new?schema=<id>`. The server serves only
// `/`, so every screen lives after the `#`.

export type Route = { parts: string[]; query: URLSearchParams };

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, "");
  const q = text.indexOf("?");
  const path = q < 0 ? text : text.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : text.slice(q + 1));
  const parts = path.split("/").filter((p) => p !== "").map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query };
}

/** The hash of a screen: `href("runs", id)` → `#/runs/<id>`. */
export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join("/")}`;
}
