import type { Me } from "../api/types";
import type { Route } from "../lib/route";

const LINKS: { hash: string; label: string; first: string; admin?: boolean }[] = [
  { hash: "#/schemas", label: "Schemas", first: "schemas" },
  { hash: "#/jobs", label: "Jobs", first: "jobs" },
  { hash: "#/exports", label: "Exports", first: "exports" },
  { hash: "#/admin", label: "Admin", first: "admin", admin: true },
];

/** Where to go, who is signed in, and the way out. */
export function TopBar({ me, route, onSignOut }: { me: Me; route: Route; onSignOut: () => void }) {
  const here = route.parts[0] === "runs" ? "jobs" : route.parts[0] ?? "jobs";
  return (
    <header class="topbar">
      <a class="brand" href="#/jobs">
        trawl
      </a>
      <nav aria-label="Main">
        {LINKS.filter((l) => !l.admin || me.role === "admin").map((l) => (
          <a key={l.hash} href={l.hash} aria-current={here === l.first ? "page" : undefined}>
            {l.label}
          </a>
        ))}
      </nav>
      <div class="who">
        <span id="whoami">
          {me.email} <span class="muted-on-dark">({me.role})</span>
        </span>
        <button type="button" id="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
