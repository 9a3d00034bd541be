import { WEBHOOK_EVENTS } from "../../lib/job-draft";
import { FieldProblems } from "../ErrorBox";
import { CheckField, TextField } from "./fields";
import type { SectionProps } from "./section";

/** Where run events are POSTed (at most ten URLs), and which events each wants. */
export function WebhookFields({ d, up, problem }: SectionProps) {
  const set = (i: number, patch: Partial<{ url: string; events: string[] }>) =>
    up((x) => ({ ...x, webhooks: x.webhooks.map((w, j) => (j === i ? { ...w, ...patch } : w)) }));
  return (
    <fieldset>
      <legend>Webhooks</legend>
      {d.webhooks.length === 0 && <p class="muted">No webhooks.</p>}
      {d.webhooks.map((w, i) => (
        <div key={i} class="property" data-webhook={i}>
          <div class="row">
            <div style={{ flex: 1 }}>
              <TextField id={`webhook-${i}-url`} label={`Webhook ${i + 1} URL`} type="url" value={w.url} onInput={(url) => set(i, { url })} problem={problem} at={`/webhooks/${i}/url`} />
            </div>
            <button type="button" class="danger" onClick={() => up((x) => ({ ...x, webhooks: x.webhooks.filter((_, j) => j !== i) }))}>
              Remove webhook {i + 1}
            </button>
          </div>
          <div class="columns-chooser" role="group" aria-label={`Events of webhook ${i + 1}`}>
            {WEBHOOK_EVENTS.map((ev) => (
              <CheckField
                key={ev}
                id={`webhook-${i}-${ev.replace(".", "-")}`}
                label={ev}
                checked={w.events.includes(ev)}
                onChange={(on) => set(i, { events: on ? [...w.events, ev] : w.events.filter((e) => e !== ev) })}
              />
            ))}
          </div>
          <FieldProblems problem={problem} at={`/webhooks/${i}/events`} />
        </div>
      ))}
      <button
        type="button"
        id="add-webhook"
        disabled={d.webhooks.length >= 10}
        onClick={() => up((x) => ({ ...x, webhooks: [...x.webhooks, { url: "", events: [...WEBHOOK_EVENTS] }] }))}
      >
        Add webhook
      </button>
      <FieldProblems problem={problem} at="/webhooks" />
    </fieldset>
  );
}
