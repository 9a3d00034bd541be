import { defineConfig } from "vite";

// The console is served by trawl itself at `/`, with its files under `/assets/`.
// Preact's JSX goes through Vite's own transform: no plugin needed.
export default defineConfig({
  base: "/",
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    sourcemap: false,
    modulePreload: { polyfill: false },
    target: "es2022",
  },
  server: {
    // `npm run dev` against a local trawl: the API calls go through to it.
    proxy: { "/v1": process.env.TRAWL_URL ?? "http://127.0.0.1:8080" },
  },
});
