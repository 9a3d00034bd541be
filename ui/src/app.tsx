import { useEffect, useRef, useState } from "preact/hooks";
import { api, storeKey, storedKey, whenUnauthorized } from "./api/client";
import { must, problemOf, type ApiProblem } from "./api/errors";
import type { Me } from "./api/types";
import { TopBar } from "./components/TopBar";
import { ErrorBox } from "./components/ErrorBox";
import { SkeletonBlock } from "./components/Skeleton";
import { useRoute } from "./lib/router";
import { SignIn } from "./screens/SignIn";
import { Screen } from "./screens/Screen";

/** The console: signed out, the sign-in form; signed in, the top bar and a screen. */
export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);
  const route = useRoute();
  const signedIn = useRef(false);
  signedIn.current = me !== null;

  const signOut = () => {
    storeKey(null);
    setMe(null);
    setChecking(false);
  };

  useEffect(() => {
    whenUnauthorized(() => {
      // A key refused while signing in is the sign-in form's to say.
      if (!signedIn.current) return;
      signOut();
      setProblem({ status: 401, code: "invalid_api_key", message: "the API key is unknown or revoked: sign in again", details: null });
    });
    if (storedKey() === null) return;
    must(api.GET("/v1/me"))
      .then((m) => setMe(m))
      .catch((e) => {
        setProblem(problemOf(e));
        storeKey(null);
      })
      .finally(() => setChecking(false));
  }, []);

  const signIn = async (key: string): Promise<ApiProblem | null> => {
    storeKey(key);
    try {
      const m = await must(api.GET("/v1/me"));
      setMe(m);
      setProblem(null);
      return null;
    } catch (e) {
      storeKey(null);
      return problemOf(e);
    }
  };

  if (checking) {
    return (
      <main aria-busy="true">
        <SkeletonBlock lines={4} />
      </main>
    );
  }
  if (!me) {
    return (
      <>
        <ErrorBox problem={problem} />
        <SignIn onSignIn={signIn} />
      </>
    );
  }
  return (
    <>
      <TopBar me={me} route={route} onSignOut={signOut} />
      <main>
        <Screen route={route} me={me} />
      </main>
    </>
  );
}
