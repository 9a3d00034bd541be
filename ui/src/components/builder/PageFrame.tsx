import { useEffect, useMemo, useRef } from "preact/hooks";
import { elementAt, pathOf } from "../../lib/dom-path";
import { inertHtml } from "../../lib/inert";

/** The highlight classes the page gets (the page's scripts are gone: nothing else runs). */
const CSS = `
.trawl-scope { outline: 2px dashed #8a5a00 !important; outline-offset: 1px !important; }
.trawl-match { outline: 2px solid #0b5cad !important; background-color: rgba(11, 92, 173, 0.12) !important; }
.trawl-example { outline: 3px solid #1e7a3c !important; background-color: rgba(30, 122, 60, 0.18) !important; }
.trawl-reject { outline: 3px solid #b3261e !important; background-color: rgba(179, 38, 30, 0.16) !important; }
.trawl-hover { outline: 2px dotted #ff9d00 !important; cursor: crosshair !important; }
`;

/** Names for new properties picked on elements without a class. */
const TAG_WORDS: Record<string, string> = { a: "link", img: "image", h1: "heading", h2: "heading", h3: "heading", h4: "heading", p: "text", span: "text", div: "text", li: "item", td: "cell", time: "date" };

const CLASSES = ["trawl-scope", "trawl-match", "trawl-example", "trawl-reject"] as const;

export type Highlights = {
  scope: number[][];
  match: number[][];
  example: number[][];
  reject: number[][];
};

type Props = {
  html: string;
  highlights: Highlights;
  /**
   * An element was clicked: its path, whether it is a reject (alt-click), and a word
   * naming it (its first class, else its tag) for a new property's name.
   */
  onPick: (path: number[], reject: boolean, word: string) => void;
};

function addStyle(doc: Document) {
  // The page's own policy lets inline styles apply; appended last in <head>, the rules
  // shift no element path of the page.
  const style = doc.createElement("style");
  style.textContent = CSS;
  (doc.head ?? doc.documentElement).appendChild(style);
}

function paint(doc: Document | null, highlights: Highlights) {
  const root = doc?.documentElement;
  if (!doc || !root) return;
  for (const c of CLASSES) {
    for (const el of Array.from(doc.getElementsByClassName(c))) el.classList.remove(c);
  }
  const mark = (paths: number[][], c: string) => {
    for (const p of paths) elementAt(root, p)?.classList.add(c);
  };
  mark(highlights.scope, "trawl-scope");
  mark(highlights.match, "trawl-match");
  mark(highlights.example, "trawl-example");
  mark(highlights.reject, "trawl-reject");
}

/**
 * The page, sandboxed without scripts. Because the sandbox keeps the console's origin,
 * the console reaches into it: it adds the highlight styles, and takes clicks (links do
 * not navigate) as picks.
 */
export function PageFrame({ html, highlights, onPick }: Props) {
  const frame = useRef<HTMLIFrameElement>(null);
  const pick = useRef(onPick);
  pick.current = onPick;
  const shown = useMemo(() => inertHtml(html), [html]);
  const latest = useRef(highlights);
  latest.current = highlights;

  const onLoad = () => {
    const f = frame.current;
    const doc = f?.contentDocument;
    if (!f || !doc) return;
    addStyle(doc);
    const elementOf = (e: Event): Element | null => {
      const t = e.target as Node | null;
      if (!t) return null;
      return t.nodeType === 1 ? (t as Element) : t.parentElement;
    };
    doc.addEventListener(
      "click",
      (e) => {
        e.preventDefault();
        e.stopPropagation();
        const el = elementOf(e);
        if (el) {
          const tag = el.tagName.toLowerCase();
          const word = Array.from(el.classList).find((c) => !c.startsWith("trawl-")) ?? TAG_WORDS[tag] ?? tag;
          pick.current(pathOf(el), e.altKey, word);
        }
      },
      true,
    );
    doc.addEventListener("submit", (e) => e.preventDefault(), true);
    doc.addEventListener("auxclick", (e) => e.preventDefault(), true);
    doc.addEventListener("mouseover", (e) => elementOf(e)?.classList.add("trawl-hover"), true);
    doc.addEventListener("mouseout", (e) => elementOf(e)?.classList.remove("trawl-hover"), true);
    paint(doc, latest.current);
  };

  useEffect(() => {
    paint(frame.current?.contentDocument ?? null, highlights);
  }, [highlights]);

  return (
    <iframe
      id="page-frame"
      ref={frame}
      title="The page: click an element to pick it"
      sandbox="allow-same-origin"
      srcdoc={shown}
      onLoad={onLoad}
    />
  );
}
