/** Load the next page of a list. */
export function MoreButton({ more, loading, id }: { more: (() => void) | null; loading: boolean; id?: string }) {
  if (!more) return null;
  return (
    <div class="actions">
      <button type="button" id={id} onClick={more} disabled={loading}>
        {loading ? "Loading…" : "Load more"}
      </button>
    </div>
  );
}
