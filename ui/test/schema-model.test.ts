import { test } from "node:test";
import assert from "node:assert/strict";
import * as m from "../src/lib/schema-model.js";

test("properties keep their order through renames and edits", () => {
  let s = m.emptySchema();
  s = m.setProperty(s, "title", { type: "string" });
  s = m.setProperty(s, "price", { type: "number" });
  s = m.setRequired(s, "title", true);
  s = m.renameProperty(s, "title", "name");
  s = m.setHint(s, "price", "x-selector", "p.price");
  assert.deepEqual(m.propertiesOf(s).map(([k]) => k), ["name", "price"]);
  assert.deepEqual(s["required"], ["name"]);
  assert.equal(m.selectorOf(m.propertiesOf(s)[1]![1]), "p.price");
  s = m.setHint(s, "price", "x-selector", "");
  assert.deepEqual(m.propertiesOf(s)[1]![1], { type: "number" });
  s = m.removeProperty(s, "name");
  assert.equal(s["required"], undefined);
  assert.equal(m.freshName(m.setProperty(s, "field_1", {})), "field_2");
  assert.equal(m.nameFrom(s, "product-Price"), "product_price");
  assert.equal(m.nameFrom(m.setProperty(s, "h3", {}), "H3"), "h3_2");
  assert.equal(m.nameFrom(s, "--"), "field_1");
});

test("scope, pointers and the text view", () => {
  const s = m.setScope(m.emptySchema(), "article.product");
  assert.equal(m.scopeOf(s), "article.product");
  assert.equal(m.scopeOf(m.setScope(s, " ")), "");
  assert.equal(m.propertyOfPointer("/properties/a~1b/x-selector"), "a/b");
  assert.equal(m.propertyOfPointer("/x-scope"), null);
  assert.ok("error" in m.parseSchemaText("{"));
  assert.ok("error" in m.parseSchemaText("[]"));
  assert.deepEqual(m.parseSchemaText('{"type":"object"}'), { schema: { type: "object" } });
});
