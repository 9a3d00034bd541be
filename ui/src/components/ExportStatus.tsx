import type { ExportOut } from "../api/types";
import { bytes, num, when } from "../lib/format";
import { CopyButton } from "./CopyButton";
import { ErrorBox } from "./ErrorBox";
import { StatusBadge } from "./StatusBadge";

/**
 * The signed link as the browser can follow it: a host listening on every address
 * (`0.0.0.0`, `::`) names that in its links, which no browser can reach; the console's
 * own origin serves the same API.
 */
export function reachable(url: string): string {
  try {
    const u = new URL(url);
    if (u.hostname === "0.0.0.0" || u.hostname === "[::]") return `${location.origin}${u.pathname}${u.search}`;
  } catch {
    // not a URL: shown as it is
  }
  return url;
}

/** An export's progress, and once written its signed link (no key needed) with its expiry. */
export function ExportStatus({ exp }: { exp: ExportOut }) {
  return (
    <div class="export-status" aria-live="polite">
      <p>
        Export <StatusBadge status={exp.status} id="export-status" />{" "}
        <span id="export-progress">
          {num(exp.row_count)} rows, {bytes(exp.size_bytes)}
        </span>
      </p>
      {exp.error && <ErrorBox problem={{ status: 0, code: exp.error.code, message: exp.error.message, details: null }} />}
      {exp.download_url && (
        <p>
          <a id="download-link" href={reachable(exp.download_url)} download={exp.file_name ?? undefined} rel="noopener">
            Download {exp.file_name ?? "the file"}
          </a>{" "}
          <span class="muted" id="download-expiry">
            (link works until {when(exp.expires_at)})
          </span>{" "}
          <CopyButton id="copy-link" text={reachable(exp.download_url)} />
        </p>
      )}
    </div>
  );
}
