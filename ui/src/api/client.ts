// The one way the console talks to trawl: the client generated from trawl's OpenAPI
// document, with the caller's key added to every request.

import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

const KEY = "trawl.key";

/** The API key of this tab's session, if signed in. */
export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null) {
  try {
    if (key === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, key);
  } catch {
    // Storage refused (private mode): the key lives as long as the page.
  }
  memoryKey = key;
}

let memoryKey: string | null = storedKey();

/** Called when the API says the key is unknown or revoked (401). */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(f: () => void) {
  onUnauthorized = f;
}

const auth: Middleware = {
  onRequest({ request }) {
    const key = memoryKey ?? storedKey();
    if (key) request.headers.set("Authorization", `Bearer ${key}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && memoryKey) onUnauthorized();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: location.origin });
api.use(auth);

/** The key for the fetch-based readers that cannot use the client (event streams). */
export function currentKey(): string | null {
  return memoryKey ?? storedKey();
}
