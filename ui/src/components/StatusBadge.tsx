/** A run's (or an export's) status as a coloured word; live where it may change. */
export function StatusBadge({ status, id, live }: { status: string | null | undefined; id?: string; live?: boolean }) {
  return (
    <span id={id} class={`status status-${status ?? "none"}`} aria-live={live ? "polite" : undefined}>
      {status ?? "—"}
    </span>
  );
}
