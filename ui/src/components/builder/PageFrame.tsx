import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { elementAt, pathOf } from "../../lib/dom-path";
import { inertHtml } from "../../lib/inert";

/** The highlight classes the page gets (the page's scripts are gone: nothing else runs). */
const CSS = `
.trawl-scope { outline: 2px dashed #8a5a00 !important; outline-offset: 1px !important; }
.trawl-match { outline: 2px solid #0b5cad !important; background-color: rgba(11, 92, 173, 0.12) !important; }
.trawl-example { outline: 3px solid #1e7a3c !important; background-color: rgba(30, 122, 60, 0.18) !important; }
.trawl-reject { outline: 3px solid #b3261e !important; background-color: rgba(179, 38, 30, 0.16) !important; }
.trawl-hover { outline: 2px dotted #ff9d00 !important; cursor: crosshair !important; }
.trawl-cursor { outline: 3px dashed #6b2fb3 !important; outline-offset: 2px !important; }
`;

/** Where the keyboard's cursor goes from `el` for a key, if the key moves it. */
function step(el: Element, key: string): Element | null {
  switch (key) {
    case "ArrowDown":
      return el.firstElementChild;
    case "ArrowUp":
      return el.parentElement && el.parentElement.tagName !== "HTML" ? el.parentElement : null;
    case "ArrowRight":
      return el.nextElementSibling;
    case "ArrowLeft":
      return el.previousElementSibling;
    default:
      return null;
  }
}

/** An element in a few words, for the live description of the keyboard's cursor. */
function describe(el: Element): string {
  const cls = Array.from(el.classList).filter((c) => !c.startsWith("trawl-")).slice(0, 2);
  const text = (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 60);
  return `<${el.tagName.toLowerCase()}${cls.length ? "." + cls.join(".") : ""}>${text ? ` “${text}”` : ""}`;
}

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
  const [cursorText, setCursorText] = useState("");

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
    // The keyboard: arrows move a cursor through the tree (down: first child, up: parent,
    // left and right: siblings), Enter picks what it is on, Shift+Enter rejects it.
    let cursor: Element | null = null;
    const moveTo = (el: Element | null) => {
      if (!el) return;
      cursor?.classList.remove("trawl-cursor");
      cursor = el;
      el.classList.add("trawl-cursor");
      el.scrollIntoView({ block: "nearest" });
      setCursorText(describe(el));
    };
    doc.addEventListener(
      "keydown",
      (e) => {
        if (e.key === "Enter" && cursor) {
          e.preventDefault();
          const tag = cursor.tagName.toLowerCase();
          const word = Array.from(cursor.classList).find((c) => !c.startsWith("trawl-")) ?? TAG_WORDS[tag] ?? tag;
          pick.current(pathOf(cursor), e.shiftKey || e.altKey, word);
          return;
        }
        if (!e.key.startsWith("Arrow")) return;
        e.preventDefault();
        moveTo(cursor ? step(cursor, e.key) : doc.body?.firstElementChild ?? doc.body);
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
    <>
      <iframe
        id="page-frame"
        ref={frame}
        title="The page: click an element to pick it, or use the arrow keys and Enter (Shift+Enter rejects)"
        sandbox="allow-same-origin"
        srcdoc={shown}
        onLoad={onLoad}
      />
      <p class="hint" id="frame-cursor" aria-live="polite">
        {cursorText ? `Keyboard cursor: ${cursorText}` : "In the page: arrow keys move a cursor, Enter picks, Shift+Enter rejects."}
      </p>
    </>
  );
}
