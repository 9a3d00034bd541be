import type { Me } from "../api/types";
import type { Route } from "../lib/route";
import { Admin } from "./Admin";
import { Exports } from "./Exports";
import { JobForm } from "./JobForm";
import { JobPage } from "./JobPage";
import { Jobs } from "./Jobs";
import { Results } from "./Results";
import { RunMonitor } from "./RunMonitor";
import { SchemaBuilder } from "./SchemaBuilder";
import { Schemas } from "./Schemas";

/** The screen a hash route names; each is keyed by its route, so it starts afresh. */
export function Screen({ route, me }: { route: Route; me: Me }) {
  const [a, b, c] = route.parts;
  const key = route.parts.join("/");
  switch (a) {
    case undefined:
    case "jobs":
      if (b === undefined) return <Jobs key={key} />;
      if (b === "new") return <JobForm key={`${key}?${route.query}`} id={null} schemaId={route.query.get("schema")} />;
      if (c === "edit") return <JobForm key={key} id={b} schemaId={null} />;
      if (c === undefined) return <JobPage key={key} id={b} />;
      break;
    case "schemas":
      if (b === undefined) return <Schemas key={key} />;
      if (b === "new") return <SchemaBuilder key={key} id={null} />;
      if (c === undefined) return <SchemaBuilder key={key} id={b} />;
      break;
    case "runs":
      if (b && c === undefined) return <RunMonitor key={key} id={b} />;
      if (b && c === "results") return <Results key={key} id={b} />;
      break;
    case "exports":
      if (b === undefined) return <Exports key={key} />;
      break;
    case "admin":
      if (b === undefined) return <Admin key={key} me={me} />;
      break;
  }
  return (
    <>
      <h1>Not found</h1>
      <p id="not-found">
        There is no screen at <code>{location.hash}</code>. <a href="#/jobs">Go to the jobs</a>.
      </p>
    </>
  );
}
