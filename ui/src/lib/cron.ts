// A crontab expression in words, for the job form. The server is the judge of what a
// schedule means (it answers the next occurrences); this only says it for people, and
// gives null for an expression it cannot read.

type Item = { from: number; to: number; step: number };
type Field = { any: true; step: number } | { any: false; items: Item[] };

const MONTHS = ["January", "February", "March", "April", "May", "June", "July",
  "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

function value(text: string, min: number, max: number, names: string[] | null): number | null {
  let n: number;
  if (/^\d+$/.test(text)) {
    n = Number(text);
  } else if (names) {
    const i = names.findIndex((name) => name.slice(0, 3).toUpperCase() === text.toUpperCase());
    if (i < 0) return null;
    n = i + min;
  } else {
    return null;
  }
  return n >= min && n <= max ? n : null;
}

function field(text: string, min: number, max: number, names: string[] | null = null): Field | null {
  const items: Item[] = [];
  for (const part of text.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined || range === undefined || range === "") return null;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) return null;
      step = Number(stepText);
    }
    if (range === "*" || range === "?") {
      if (text.includes(",")) {
        items.push({ from: min, to: max, step });
        continue;
      }
      return { any: true, step };
    }
    const [a, b, more] = range.split("-");
    if (more !== undefined || a === undefined) return null;
    const from = value(a, min, max, names);
    const to = b === undefined ? (stepText !== undefined ? max : from) : value(b, min, max, names);
    if (from === null || to === null || to < from) return null;
    items.push({ from, to, step });
  }
  return { any: false, items };
}

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${["th", "st", "nd", "rd"][n % 10] ?? "th"}`;
}

function joinWords(words: string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

function listWords(f: Field & { any: false }, name: (n: number) => string, unit: string): string {
  return joinWords(f.items.map((it) => {
    if (it.from === it.to) return name(it.from);
    const span = `${name(it.from)} through ${name(it.to)}`;
    return it.step === 1 ? span : `every ${ordinal(it.step)} ${unit} from ${span}`;
  }));
}

function single(f: Field): number | null {
  if (f.any || f.items.length !== 1) return null;
  const it = f.items[0]!;
  return it.from === it.to ? it.from : null;
}

function singles(f: Field): number[] | null {
  if (f.any) return null;
  const out: number[] = [];
  for (const it of f.items) {
    if (it.from !== it.to) return null;
    out.push(it.from);
  }
  return out;
}

const pad = (n: number) => String(n).padStart(2, "0");

function timeWords(sec: Field | null, min: Field, hour: Field): string {
  const secs = sec && single(sec);
  const atSecond = sec === null || secs === 0 ? "" : null;
  const minute = single(min);
  const hours = singles(hour);
  if (atSecond === "" && minute !== null && hours !== null && hours.length <= 6) {
    return `At ${joinWords(hours.map((h) => `${pad(h)}:${pad(minute)}`))}`;
  }
  let out: string;
  if (min.any && min.step === 1) out = "Every minute";
  else if (min.any) out = `Every ${min.step} minutes`;
  else if (minute !== null) out = `At minute ${minute}`;
  else out = `At minutes ${listWords(min, String, "minute")}`;
  if (!min.any || min.step !== 1 || !hour.any || hour.step !== 1) {
    if (hour.any && hour.step === 1) out += min.any ? "" : " past every hour";
    else if (hour.any) out += ` past every ${ordinal(hour.step)} hour`;
    else out += `${min.any ? " during" : " past"} hour ${listWords(hour, pad, "hour")}`;
  }
  if (sec && atSecond === null) {
    const s = single(sec);
    const said = sec.any
      ? (sec.step === 1 ? "every second" : `every ${sec.step} seconds`)
      : s !== null ? `second ${s}` : `seconds ${listWords(sec, String, "second")}`;
    out = `${said[0]!.toUpperCase()}${said.slice(1)}, ${out[0]!.toLowerCase()}${out.slice(1)}`;
  }
  return out;
}

function dayWords(dom: Field, dow: Field): string {
  const dayName = (n: number) => DAYS[n % 7]!;
  const domText = dom.any
    ? null
    : `on day ${listWords(dom, String, "day")} of the month`;
  const dowText = dow.any ? null : `on ${listWords(dow, dayName, "day")}`;
  if (dom.any && dom.step > 1) return `every ${ordinal(dom.step)} day of the month`;
  if (domText && dowText) return `${domText} or ${dowText}`;
  return domText ?? dowText ?? "every day";
}

/** The expression in words ("At 02:30 every day"), or null when it does not parse. */
export function cronInWords(expression: string): string | null {
  const text = expression.trim();
  if (text === "") return null;
  const expanded = MACROS[text.toLowerCase()] ?? text;
  if (expanded.startsWith("@")) return null;
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return null;
  const withSeconds = parts.length === 6;
  const [s, m, h, dom, mon, dow] = withSeconds ? parts : ["0", ...parts];
  const sec = withSeconds ? field(s!, 0, 59) : null;
  const min = field(m!, 0, 59);
  const hour = field(h!, 0, 23);
  const days = field(dom!, 1, 31);
  const months = field(mon!, 1, 12, MONTHS);
  const weekdays = field(dow!, 0, 7, DAYS);
  if ((withSeconds && !sec) || !min || !hour || !days || !months || !weekdays) return null;
  let out = `${timeWords(sec, min, hour)} ${dayWords(days, weekdays)}`;
  if (!months.any) out += ` in ${listWords(months, (n) => MONTHS[n - 1]!, "month")}`;
  else if (months.step > 1) out += `, every ${ordinal(months.step)} month`;
  return out;
}
