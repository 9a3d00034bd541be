import { useState } from "preact/hooks";
import type { ApiProblem } from "../api/errors";
import { ErrorBox } from "../components/ErrorBox";

/** Sign in with an API key; the key stays in this tab's session storage only. */
export function SignIn({ onSignIn }: { onSignIn: (key: string) => Promise<ApiProblem | null> }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!key.trim()) return;
    setBusy(true);
    setProblem(await onSignIn(key.trim()));
    setBusy(false);
  };
  return (
    <main>
      <form class="signin" onSubmit={submit}>
        <h1>Sign in to trawl</h1>
        <div class="field">
          <label for="api-key">API key</label>
          <input
            id="api-key"
            type="password"
            autocomplete="off"
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
            placeholder="trawl_…"
            required
          />
          <span class="hint">Kept in this tab's session only; closing the tab signs you out.</span>
        </div>
        <ErrorBox problem={problem} />
        <button type="submit" class="primary" id="sign-in" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
