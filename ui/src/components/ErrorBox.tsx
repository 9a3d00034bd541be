import type { ApiProblem } from "../api/errors";
import { problemsOf } from "../api/errors";

/** An API error where it happened: its code, its message, and the places it names. */
export function ErrorBox({ problem, id }: { problem: ApiProblem | null; id?: string }) {
  if (!problem) return null;
  const places = problemsOf(problem);
  return (
    <div class="error" role="alert" id={id}>
      <code class="error-code">{problem.code}</code> <span class="error-message">{problem.message}</span>
      {places.length > 0 && (
        <ul class="error-details">
          {places.map((p, i) => (
            <li key={i}>
              {p.path && <code>{p.path}</code>} {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The messages of a 422's details under one JSON pointer, beside the field they concern. */
export function FieldProblems({ problem, at }: { problem: ApiProblem | null; at: string }) {
  const mine = problemsOf(problem).filter((p) => p.path === at || p.path.startsWith(`${at}/`));
  if (mine.length === 0) return null;
  return (
    <ul class="field-problems">
      {mine.map((p, i) => (
        <li key={i}>{p.message}</li>
      ))}
    </ul>
  );
}
