import type { Me } from "../api/types";
import { PluginsAdmin } from "../components/admin/PluginsAdmin";
import { UsersAdmin } from "../components/admin/UsersAdmin";

/** `#/admin`: plugins, users, keys, credits and usage (admins only). */
export function Admin({ me }: { me: Me }) {
  if (me.role !== "admin") {
    return (
      <p id="forbidden" class="error" role="alert">
        <code class="error-code">forbidden</code> Only admins may use this screen: you are signed in as {me.email} ({me.role}).
      </p>
    );
  }
  return (
    <>
      <h1>Admin</h1>
      <PluginsAdmin />
      <UsersAdmin />
    </>
  );
}
