// The page as the frame shows it, with nothing left that would try to load. The server's
// policy already blocks every load, but each blocked one is a console error; removing
// the URLs first keeps the console quiet. Only attributes and style text change, never an
// element, so element paths stay those of the server's text (which is what the picker
// requests send).

const URL_IN_CSS = /url\(\s*(['"]?)[^)]*\1\s*\)/gi;
const IMPORT = /@import[^;]*;?/gi;

function quietCss(css: string): string {
  return css.replace(IMPORT, "").replace(URL_IN_CSS, "none");
}

/** `html` with every resource URL removed (images, stylesheets, media, CSS `url()`s). */
export function inertHtml(html: string): string {
  let doc: Document;
  try {
    doc = new DOMParser().parseFromString(html, "text/html");
  } catch {
    return html;
  }
  for (const el of Array.from(doc.querySelectorAll("[src], [srcset], [poster], [background]"))) {
    for (const a of ["src", "srcset", "poster", "background"]) el.removeAttribute(a);
  }
  for (const el of Array.from(doc.querySelectorAll("link[href]"))) el.removeAttribute("href");
  for (const el of Array.from(doc.querySelectorAll("image, use, feImage"))) {
    for (const a of ["href", "xlink:href"]) {
      const v = el.getAttribute(a);
      if (v !== null && !v.startsWith("#")) el.removeAttribute(a);
    }
  }
  for (const el of Array.from(doc.querySelectorAll("[style]"))) {
    const style = el.getAttribute("style") ?? "";
    if (/url\(|@import/i.test(style)) el.setAttribute("style", quietCss(style));
  }
  for (const el of Array.from(doc.querySelectorAll("style"))) {
    const css = el.textContent ?? "";
    if (/url\(|@import/i.test(css)) el.textContent = quietCss(css);
  }
  // The doctype decides quirks mode, which changes how some markup nests: keep it.
  const doctype = doc.doctype ? new XMLSerializer().serializeToString(doc.doctype) : "";
  return doctype + doc.documentElement.outerHTML;
}
