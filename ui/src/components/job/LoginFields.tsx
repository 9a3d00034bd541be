import type { JobDraft } from "../../lib/job-draft";
import { AreaField, CheckField, TextField } from "./fields";
import type { SectionProps } from "./section";

/** A login before the start URLs, and the job's secrets (headers, login fields, proxies). */
export function LoginFields({ d, up, problem, shown }: SectionProps & { shown: { headers: string[]; login: string[]; proxies: number } | null }) {
  const l = d.login;
  const s = d.secrets;
  const setL = (patch: Partial<JobDraft["login"]>) => up((x) => ({ ...x, login: { ...x.login, ...patch } }));
  const setS = (patch: Partial<JobDraft["secrets"]>) => up((x) => ({ ...x, secrets: { ...x.secrets, ...patch } }));
  return (
    <fieldset>
      <legend>Login and secrets</legend>
      <CheckField id="login-on" label="Log in before the start URLs" checked={l.on} onChange={(on) => setL({ on })} />
      {l.on && (
        <div class="grid2">
          <TextField id="login-url" label="Login page URL" type="url" value={l.url} onInput={(url) => setL({ url })} problem={problem} at="/fetch/login/url" />
          <TextField id="login-form" label="Form (CSS selector)" mono value={l.form} onInput={(form) => setL({ form })} problem={problem} at="/fetch/login/form" />
          <TextField id="login-success" label="Logged in when this matches" mono value={l.success_selector} onInput={(success_selector) => setL({ success_selector })} problem={problem} at="/fetch/login/success_selector" />
          <TextField id="login-failure" label="Failed when this matches" mono value={l.failure_selector} onInput={(failure_selector) => setL({ failure_selector })} problem={problem} at="/fetch/login/failure_selector" />
          <AreaField id="login-fields" label="Other fields, not secret (name=value)" value={l.fields} onInput={(fields) => setL({ fields })} problem={problem} at="/fetch/login/fields" />
        </div>
      )}
      {shown && (
        <p class="hint" id="secrets-shown">
          Stored secrets: headers {shown.headers.length ? shown.headers.join(", ") : "none"}; login fields {shown.login.length ? shown.login.join(", ") : "none"}; {shown.proxies} prox{shown.proxies === 1 ? "y" : "ies"}. Values are never shown.
        </p>
      )}
      {shown && <CheckField id="replace-secrets" label="Replace the stored secrets with these" checked={s.replace} onChange={(replace) => setS({ replace })} />}
      {s.replace && (
        <div class="grid3">
          <AreaField id="secret-headers" label="Headers (Name: value)" value={s.headers} onInput={(headers) => setS({ headers })} problem={problem} at="/secrets/headers" />
          <AreaField id="secret-login" label="Login fields (name=value)" value={s.login} onInput={(login) => setS({ login })} placeholder={"username=alice\npassword=…"} problem={problem} at="/secrets/login" />
          <AreaField id="secret-proxies" label="Proxies (one URL a line)" value={s.proxies} onInput={(proxies) => setS({ proxies })} problem={problem} at="/secrets/proxies" />
        </div>
      )}
    </fieldset>
  );
}
