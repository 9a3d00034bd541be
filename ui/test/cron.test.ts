import { test } from "node:test";
import assert from "node:assert/strict";
import { cronInWords } from "../src/lib/cron.js";

test("fixed times", () => {
  assert.equal(cronInWords("30 2 * * *"), "At 02:30 every day");
  assert.equal(cronInWords("0 9,17 * * 1-5"), "At 09:00 and 17:00 on Monday through Friday");
  assert.equal(cronInWords("@daily"), "At 00:00 every day");
  assert.equal(cronInWords("0 0 1 1 *"), "At 00:00 on day 1 of the month in January");
});

test("repeating times", () => {
  assert.equal(cronInWords("* * * * *"), "Every minute every day");
  assert.equal(cronInWords("*/15 * * * *"), "Every 15 minutes every day");
  assert.equal(cronInWords("@hourly"), "At minute 0 past every hour every day");
  assert.equal(cronInWords("5 */2 * * *"), "At minute 5 past every 2nd hour every day");
});

test("days, months, names and seconds", () => {
  assert.equal(cronInWords("0 6 * * SUN"), "At 06:00 on Sunday");
  assert.equal(cronInWords("0 6 1,15 * 1"), "At 06:00 on day 1 and 15 of the month or on Monday");
  assert.equal(cronInWords("0 6 * JAN-MAR *"), "At 06:00 every day in January through March");
  assert.equal(cronInWords("*/10 * * * * *"), "Every 10 seconds, every minute every day");
  assert.equal(cronInWords("0 30 2 * * *"), "At 02:30 every day");
});

test("what does not parse", () => {
  for (const bad of ["", "* * *", "61 * * * *", "a b c d e", "1-/2 * * * *", "@often", "5-1 * * * *"]) {
    assert.equal(cronInWords(bad), null, bad);
  }
});
