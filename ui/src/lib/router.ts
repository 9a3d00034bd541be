// The current hash route, as a hook.

import { useEffect, useState } from "preact/hooks";
import { parseHash, type Route } from "./route";

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** Go to a screen (`#/runs/<id>`). */
export function go(hash: string) {
  if (location.hash !== hash) location.hash = hash;
}
