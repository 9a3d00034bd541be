// Element identity shared with the server: a path of element-child indexes from the
// `<html>` element down. `[]` is `<html>`, `[1]` its second element child (`<body>`
// after `<head>`), `[1, 0]` the body's first element child. Text and comment nodes do
// not count.

/** The little of a DOM element these helpers need (any DOM, or a test's stand-in). */
export interface TreeElement {
  readonly parentElement: TreeElement | null;
  readonly children: ArrayLike<TreeElement>;
}

/** The path of `element` from its document's root element. */
export function pathOf(element: TreeElement): number[] {
  const path: number[] = [];
  let at = element;
  while (at.parentElement) {
    const parent = at.parentElement;
    path.unshift(Array.prototype.indexOf.call(parent.children, at));
    at = parent;
  }
  return path;
}

/** The element at `path` below `root` (the `<html>` element), or null. */
export function elementAt<T extends TreeElement>(root: T, path: readonly number[]): T | null {
  let at: TreeElement = root;
  for (const index of path) {
    const next = at.children[index];
    if (!next) return null;
    at = next;
  }
  return at as T;
}

/** Whether two paths name the same element. */
export function samePath(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** The path as text, for keys and labels: `1.0.3` (`html` for the root). */
export function pathKey(path: readonly number[]): string {
  return path.length === 0 ? "html" : path.join(".");
}
