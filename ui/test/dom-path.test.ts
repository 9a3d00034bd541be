import { test } from "node:test";
import assert from "node:assert/strict";
import { elementAt, pathKey, pathOf, samePath, type TreeElement } from "../src/lib/dom-path.js";

type Fake = TreeElement & { name: string; children: Fake[]; parentElement: Fake | null };

function el(name: string, ...children: Fake[]): Fake {
  const node: Fake = { name, children, parentElement: null };
  for (const c of children) c.parentElement = node;
  return node;
}

test("paths from <html> down, element children only", () => {
  const link = el("a");
  const html = el("html", el("head", el("title")), el("body", el("h1"), el("ul", el("li"), el("li", link))));
  assert.deepEqual(pathOf(html), []);
  assert.deepEqual(pathOf(link), [1, 1, 1, 0]);
  assert.equal(elementAt(html, [1, 1, 1, 0]), link);
  assert.equal(elementAt(html, [])?.name, "html");
  assert.equal(elementAt(html, [1, 5]), null);
  assert.ok(samePath([1, 0], [1, 0]));
  assert.ok(!samePath([1, 0], [1]));
  assert.equal(pathKey([]), "html");
  assert.equal(pathKey([1, 2]), "1.2");
});
