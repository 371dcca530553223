import { useEffect, useState } from "react";

/**
 * Copies `text`; says so for a moment (or that it could not, e.g. on a page that is not served
 * over HTTPS). `label` names it for assistive technology; `children` is what it says ("Copy").
 */
export function CopyButton({ text, label, children = "Copy" }: { text: string; label: string; children?: string }) {
  const [said, setSaid] = useState<"copied" | "failed">();
  useEffect(() => {
    if (!said) return;
    const timer = setTimeout(() => setSaid(undefined), 2000);
    return () => clearTimeout(timer);
  }, [said]);
  const copy = () => {
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!clipboard) return setSaid("failed");
    clipboard.writeText(text).then(
      () => setSaid("copied"),
      () => setSaid("failed"),
    );
  };
  const shown = said === "copied" ? "Copied" : said === "failed" ? "Select and copy by hand" : children;
  // The name says what it does, and what it says for now: a name holds the words shown.
  return (
    <button type="button" className="button button-small" onClick={copy} aria-label={said ? `${label}: ${shown.toLowerCase()}` : label}>
      {shown}
    </button>
  );
}
