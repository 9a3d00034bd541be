import { test } from "node:test";
import assert from "node:assert/strict";
import { SseParser } from "../src/lib/sse.js";

test("events with ids, in one chunk", () => {
  const p = new SseParser();
  const events = p.push('event: status\nid: 3\ndata: {"a":1}\n\nevent: end\ndata: x\n\n');
  assert.deepEqual(events, [
    { event: "status", data: '{"a":1}', id: "3" },
    { event: "end", data: "x", id: "3" },
  ]);
  assert.equal(p.lastEventId, "3");
});

test("chunks split anywhere, CRLF, comments and multi-line data", () => {
  const p = new SseParser();
  const text = ": keep-alive\r\n\r\nevent: progress\r\nid: 7\r\ndata: one\r\ndata: two\r\n\r\n";
  const out = [];
  for (const ch of text) out.push(...p.push(ch));
  assert.deepEqual(out, [{ event: "progress", data: "one\ntwo", id: "7" }]);
});

test("default event name, retry, no dispatch without data", () => {
  const p = new SseParser();
  assert.deepEqual(p.push("retry: 1500\nevent: nothing\n\n"), []);
  assert.equal(p.retry, 1500);
  assert.deepEqual(p.push("data\n\n"), [{ event: "message", data: "", id: null }]);
  assert.deepEqual(p.push("data: unfinished"), []);
});

test("an id counts once its event is complete", () => {
  const p = new SseParser();
  p.push("id: 2\ndata: a\n\nid: 3\nda");
  assert.equal(p.lastEventId, "2");
  p.push("ta: b\n\n");
  assert.equal(p.lastEventId, "3");
});
