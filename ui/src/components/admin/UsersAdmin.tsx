import { useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import type { Role, User, UserIn } from "../../api/types";
import { num, when } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { ErrorBox } from "../ErrorBox";
import { SelectField, TextField } from "../job/fields";
import { SkeletonRows } from "../Skeleton";
import { UserDetail } from "./UserDetail";

/** Users: create one, pick one to see its keys, credits and usage. */
export function UsersAdmin() {
  const users = useLoad(() => must(api.GET("/v1/users")), []);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [credits, setCredits] = useState("");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [chosen, setChosen] = useState<User | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    try {
      const body: UserIn = { email: email.trim(), role, ...(credits.trim() ? { credits: Number(credits) } : {}) } ;
      const user = await must(api.POST("/v1/users", { body }));
      setEmail("");
      setCredits("");
      users.reload();
      setChosen(user);
    } catch (err) {
      setProblem(problemOf(err));
    }
  };

  return (
    <section aria-labelledby="users-heading">
      <h2 id="users-heading">Users</h2>
      <form class="row" onSubmit={create} aria-label="New user">
        <TextField id="new-user-email" label="E-mail or handle" value={email} onInput={setEmail} problem={problem} required />
        <SelectField id="new-user-role" label="Role" value={role} onChange={(r) => setRole(r as Role)} options={["member", "admin"]} problem={problem} />
        <TextField id="new-user-credits" label="Starting credits" type="number" value={credits} onInput={setCredits} problem={problem} placeholder="host default" />
        <div class="field">
          <button type="submit" id="create-user" class="primary" disabled={!email.trim()}>
            Create user
          </button>
        </div>
      </form>
      <ErrorBox problem={problem ?? users.problem} id="user-error" />
      <div class="table-wrap">
        <table id="users-table">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col" class="num">Credits</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.loading && !users.data ? (
              <SkeletonRows cols={5} rows={3} />
            ) : (
              (users.data ?? []).map((u) => (
                <tr key={u.id} aria-selected={chosen?.id === u.id}>
                  <td>{u.email}</td>
                  <td>{u.role}</td>
                  <td class="num">{num(u.credits)}</td>
                  <td>{when(u.created_at)}</td>
                  <td>
                    <button type="button" class="manage-user" onClick={() => setChosen(u)} aria-pressed={chosen?.id === u.id}>
                      Keys, credits and usage
                    </button>
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {chosen && <UserDetail key={chosen.id} user={chosen} onChange={users.reload} />}
    </section>
  );
}
