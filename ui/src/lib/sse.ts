// A parser of `text/event-stream` bodies, fed the text as it arrives in chunks of any
// size (a line, or an event, may be split anywhere). Follows the HTML standard's rules:
// `field: value` lines, `:` comments, a blank line dispatches, `data` lines joined by
// newlines, an `id` kept for reconnecting.

export type SseEvent = { event: string; data: string; id: string | null };

export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private hasData = false;
  private idBuffer: string | null = null;
  /**
   * The `id` of the last event dispatched (an `id` line counts once its event's blank
   * line came): send it as `Last-Event-ID` when reconnecting.
   */
  lastEventId: string | null = null;
  /** A `retry:` the stream asked for, in milliseconds. */
  retry: number | null = null;

  /** Feed text; get the events it completes. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone `\r` at the end may be the first half of `\r\n`: wait for more.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) out.push(event);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      this.lastEventId = this.idBuffer;
      if (!this.hasData) {
        this.event = "";
        return null;
      }
      const event = { event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId };
      this.event = "";
      this.data = [];
      this.hasData = false;
      return event;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (name) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.idBuffer = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
    return null;
  }
}
