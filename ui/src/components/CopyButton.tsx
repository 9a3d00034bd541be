import { useState } from "preact/hooks";

/** Copy `text` to the clipboard (navigator.clipboard, else a selected hidden field). */
export function CopyButton({ text, id, label = "Copy link" }: { text: string; id?: string; label?: string }) {
  const [said, setSaid] = useState("");
  const copy = async () => {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
      } else {
        const field = document.createElement("textarea");
        field.value = text;
        field.setAttribute("readonly", "");
        field.className = "offscreen";
        document.body.appendChild(field);
        field.select();
        const ok = document.execCommand("copy");
        field.remove();
        if (!ok) throw new Error("the browser refused to copy");
      }
      setSaid("Copied");
    } catch (e) {
      setSaid(`Could not copy: ${e instanceof Error ? e.message : String(e)}`);
    }
    setTimeout(() => setSaid(""), 3000);
  };
  return (
    <>
      <button type="button" id={id} onClick={copy}>
        {label}
      </button>
      <span class="muted" aria-live="polite">
        {said}
      </span>
    </>
  );
}
