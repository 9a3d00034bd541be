import { useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import type { User } from "../../api/types";
import { num, when } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { BarChart } from "../charts";
import { ErrorBox } from "../ErrorBox";
import { SelectField, TextField } from "../job/fields";

/** One user's API keys, a credit grant, and their usage by day or job. */
export function UserDetail({ user, onChange }: { user: User; onChange: () => void }) {
  return (
    <div class="property">
      <h3>{user.email}</h3>
      <Keys user={user} />
      <Grant user={user} onChange={onChange} />
      <Usage user={user} />
    </div>
  );
}

function Keys({ user }: { user: User }) {
  const keys = useLoad(() => must(api.GET("/v1/users/{id}/keys", { params: { path: { id: user.id } } })), [user.id]);
  const [name, setName] = useState("");
  const [shown, setShown] = useState<string | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    try {
      const out = await must(api.POST("/v1/users/{id}/keys", { params: { path: { id: user.id } }, body: { name: name.trim() } }));
      setShown(out.key);
      setName("");
      keys.reload();
    } catch (err) {
      setProblem(problemOf(err));
    }
  };
  const revoke = async (id: string) => {
    try {
      await must(api.DELETE("/v1/keys/{id}", { params: { path: { id } } }));
      keys.reload();
    } catch (err) {
      setProblem(problemOf(err));
    }
  };
  return (
    <section aria-label={`API keys of ${user.email}`}>
      <h4>API keys</h4>
      <ul id="keys-list">
        {(keys.data ?? []).map((k) => (
          <li key={k.id}>
            {k.name} <code>{k.prefix}…</code> created {when(k.created_at)}
            {k.revoked_at ? (
              <span class="muted"> — revoked {when(k.revoked_at)}</span>
            ) : (
              <>
                {" "}
                <button type="button" class="danger" onClick={() => revoke(k.id)}>
                  Revoke
                </button>
              </>
            )}
          </li>
        ))}
        {keys.data?.length === 0 && <li class="muted">No keys.</li>}
      </ul>
      <form class="row" onSubmit={create}>
        <TextField id="new-key-name" label="New key's name" value={name} onInput={setName} problem={problem} required />
        <div class="field">
          <button type="submit" id="create-key" disabled={!name.trim()}>
            Create key
          </button>
        </div>
      </form>
      {shown && (
        <p class="notice" role="status">
          The new key, shown this once: <span class="secret" id="new-key">{shown}</span>
        </p>
      )}
      <ErrorBox problem={problem ?? keys.problem} />
    </section>
  );
}

function Grant({ user, onChange }: { user: User; onChange: () => void }) {
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const grant = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    setDone(null);
    try {
      const out = await must(api.POST("/v1/users/{id}/credits", { params: { path: { id: user.id } }, body: { amount: Number(amount), reason: reason.trim() } }));
      setDone(`Done: balance ${num(out.balance)}.`);
      setAmount("");
      setReason("");
      onChange();
    } catch (err) {
      setProblem(problemOf(err));
    }
  };
  return (
    <section aria-label={`Credits of ${user.email}`}>
      <h4>Credits (balance {num(user.credits)})</h4>
      <form class="row" onSubmit={grant}>
        <TextField id="grant-amount" label="Amount (negative: take)" type="number" value={amount} onInput={setAmount} problem={problem} required />
        <TextField id="grant-reason" label="Reason" value={reason} onInput={setReason} problem={problem} required />
        <div class="field">
          <button type="submit" id="grant-credits" disabled={!amount.trim() || !reason.trim()}>
            Grant
          </button>
        </div>
      </form>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <ErrorBox problem={problem} />
    </section>
  );
}

function Usage({ user }: { user: User }) {
  const [group, setGroup] = useState<"day" | "job">("day");
  const usage = useLoad(() => must(api.GET("/v1/users/{id}/usage", { params: { path: { id: user.id }, query: { group } } })), [user.id, group]);
  const rows = usage.data?.rows ?? [];
  return (
    <section aria-label={`Usage of ${user.email}`}>
      <h4>Usage, last 30 days ({num(usage.data?.total ?? null)} credits)</h4>
      <div class="narrow">
        <SelectField id="usage-group" label="By" value={group} onChange={(g) => setGroup(g as "day" | "job")} options={["day", "job"]} problem={null} />
      </div>
      <ErrorBox problem={usage.problem} />
      <BarChart
        label={`Credits charged by ${group}`}
        unit="credits"
        bars={rows.map((r) => ({
          label: group === "job" ? (r.key ?? "—").slice(0, 8) : r.key ?? "—",
          value: r.total,
          title: `${r.key ?? "—"} (pages ${r.pages}, fuel ${r.fuel}, items ${r.items}, exports ${r.export})`,
        }))}
      />
    </section>
  );
}
