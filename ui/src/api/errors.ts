// API errors as the console shows them: `{"error": {"code", "message", "details"}}`,
// with the HTTP status, and the same shape for failures that never reached the API.

export type Problem = { path: string; message: string };

export type ApiProblem = {
  status: number;
  code: string;
  message: string;
  details: unknown;
};

/** The problem an answer's error body (or a thrown error) stands for. */
export function toProblem(error: unknown, response?: Response): ApiProblem {
  const status = response?.status ?? 0;
  const body = (error as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (body && typeof body.code === "string") {
    return {
      status,
      code: body.code,
      message: typeof body.message === "string" ? body.message : "",
      details: body.details ?? null,
    };
  }
  if (error instanceof Error) {
    return { status, code: status ? `http_${status}` : "network_error", message: error.message, details: null };
  }
  return {
    status,
    code: status ? `http_${status}` : "network_error",
    message: status ? `the server answered ${status} ${response?.statusText ?? ""}`.trim() : "the server could not be reached",
    details: null,
  };
}

/** The `{path, message}` pairs of a problem's details, when it has them. */
export function problemsOf(problem: ApiProblem | null): Problem[] {
  const d = problem?.details;
  if (!Array.isArray(d)) return [];
  return d.filter((p): p is Problem => typeof p?.path === "string" && typeof p?.message === "string");
}

export class ApiFailure extends Error {
  constructor(readonly problem: ApiProblem) {
    super(`${problem.code}: ${problem.message}`);
  }
}

/**
 * The data of a client call, or an `ApiFailure` thrown with the API's error. Network
 * failures become `network_error`.
 */
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiFailure(toProblem(e));
  }
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiFailure(toProblem(result.error, result.response));
  }
  return result.data as T;
}

/** The problem of a caught error (an `ApiFailure`, or anything else). */
export function problemOf(e: unknown): ApiProblem {
  return e instanceof ApiFailure ? e.problem : toProblem(e);
}
