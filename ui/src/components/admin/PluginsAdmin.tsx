import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import { must, problemOf, type ApiProblem } from "../../api/errors";
import type { Plugin } from "../../api/types";
import { bytes, when } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { ErrorBox } from "../ErrorBox";
import { Busy, SkeletonRows } from "../Skeleton";

/** Plugins: upload a component, read what it says about itself, deprecate it. */
export function PluginsAdmin() {
  const plugins = useLoad(() => must(api.GET("/v1/plugins")), []);
  const [file, setFile] = useState<File | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [uploaded, setUploaded] = useState<Plugin | null>(null);
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<string | null>(null);

  const upload = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setProblem(null);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const out = await must(
        api.POST("/v1/plugins", {
          // The component's bytes as they are: the body is not JSON.
          body: bytes as unknown as never,
          bodySerializer: (b: unknown) => b as BodyInit,
          headers: { "Content-Type": "application/wasm" },
        }),
      );
      setUploaded(out);
      plugins.reload();
    } catch (err) {
      setProblem(problemOf(err));
    } finally {
      setBusy(false);
    }
  };
  const deprecate = async (p: Plugin) => {
    setProblem(null);
    try {
      await must(api.POST("/v1/plugins/{id}/deprecate", { params: { path: { id: p.id } } }));
      plugins.reload();
    } catch (err) {
      setProblem(problemOf(err));
    }
  };

  return (
    <section aria-labelledby="plugins-heading">
      <h2 id="plugins-heading">Plugins</h2>
      <form class="row" onSubmit={upload}>
        <div class="field">
          <label for="plugin-file">WebAssembly component (.wasm)</label>
          <input id="plugin-file" type="file" accept=".wasm,application/wasm" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </div>
        <button type="submit" id="upload-plugin" class="primary" disabled={!file || busy}>
          {busy ? "Uploading…" : "Upload"}
        </button>
      </form>
      <ErrorBox problem={problem ?? plugins.problem} id="plugin-error" />
      {uploaded && (
        <p class="notice" role="status">
          Uploaded {uploaded.name}@{uploaded.version} ({uploaded.kind}).
        </p>
      )}
      <Busy on={plugins.loading} />
      <div class="table-wrap">
        <table id="plugins-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Kind</th>
              <th scope="col">Description</th>
              <th scope="col">Size</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {plugins.loading && !plugins.data ? (
              <SkeletonRows cols={7} rows={4} />
            ) : (
              (plugins.data ?? []).map((p) => (
                <Fragment key={p.id}>
                  <tr>
                    <td>{p.name}</td>
                    <td>{p.version}</td>
                    <td>{p.kind}</td>
                    <td>{p.description}</td>
                    <td class="num">{bytes(p.size_bytes)}</td>
                    <td>
                      {p.system ? "bundled" : p.private ? "private" : "uploaded"}
                      {p.deprecated_at && `, deprecated ${when(p.deprecated_at)}`}
                    </td>
                    <td>
                      <button type="button" aria-expanded={open === p.id} onClick={() => setOpen(open === p.id ? null : p.id)}>
                        Info
                      </button>{" "}
                      {!p.system && !p.deprecated_at && (
                        <button type="button" class="danger" onClick={() => deprecate(p)}>
                          Deprecate
                        </button>
                      )}
                    </td>
                  </tr>
                  {open === p.id && (
                    <tr>
                      <td colSpan={7}>
                        <p class="hint">
                          WIT {p.wit_version} · sha256 <code>{p.digest}</code> · registered {when(p.created_at)}
                        </p>
                        <pre class="json">{JSON.stringify(p.info, null, 2)}</pre>
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
