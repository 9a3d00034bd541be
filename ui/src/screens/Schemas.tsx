import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import { ErrorBox } from "../components/ErrorBox";
import { MoreButton } from "../components/MoreButton";
import { Busy, SkeletonRows } from "../components/Skeleton";
import { when } from "../lib/format";
import { useCursorList, useDebounced } from "../lib/hooks";
import { href } from "../lib/route";

/** `#/schemas`: your schemas, searched by name on the server. */
export function Schemas() {
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 250);
  const list = useCursorList(
    (cursor) => must(api.GET("/v1/schemas", { params: { query: { cursor, limit: 50, ...(q ? { q } : {}) } } })),
    [q],
  );
  return (
    <>
      <h1>Schemas</h1>
      <div class="row">
        <div class="field">
          <label for="schema-search">Search by name</label>
          <input id="schema-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </div>
        <div class="field">
          <a class="button primary" href="#/schemas/new" id="new-schema">
            New schema
          </a>
        </div>
      </div>
      <ErrorBox problem={list.problem} />
      <Busy on={list.loading} />
      <div class="table-wrap">
        <table id="schemas-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Extractor</th>
              <th scope="col">Validation</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.loading && list.items.length === 0 ? (
              <SkeletonRows cols={6} />
            ) : list.items.length === 0 ? (
              <tr>
                <td colSpan={6} class="muted">
                  No schemas yet.
                </td>
              </tr>
            ) : (
              list.items.map((s) => (
                <tr key={s.id}>
                  <td>
                    <a href={href("schemas", s.id)}>{s.name}</a>
                  </td>
                  <td class="num">{s.version}</td>
                  <td>
                    {s.plugin.name}@{s.plugin.version}
                  </td>
                  <td>{s.validation_mode}</td>
                  <td>{when(s.updated_at)}</td>
                  <td>
                    <a href={`#/jobs/new?schema=${encodeURIComponent(s.id)}`}>New job</a>
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <MoreButton more={list.more} loading={list.loading} />
    </>
  );
}
