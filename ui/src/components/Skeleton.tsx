/** Grey bars where rows will be, so nothing moves when they arrive. */
export function SkeletonRows({ rows = 5, cols = 4 }: { rows?: number; cols?: number }) {
  return (
    <>
      {Array.from({ length: rows }, (_, r) => (
        <tr key={r} class="skeleton-row" aria-hidden="true">
          {Array.from({ length: cols }, (_, c) => (
            <td key={c}>
              <span class="skeleton" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

export function SkeletonBlock({ lines = 3 }: { lines?: number }) {
  return (
    <div aria-hidden="true" class="skeleton-block">
      {Array.from({ length: lines }, (_, i) => (
        <span key={i} class="skeleton" />
      ))}
    </div>
  );
}

/** "Loading…" for screen readers while the skeletons stand in. */
export function Busy({ on, label = "Loading" }: { on: boolean; label?: string }) {
  return (
    <span class="visually-hidden" aria-live="polite">
      {on ? `${label}…` : ""}
    </span>
  );
}
