import { useEffect, useState } from "react";

/** Copies `text`; says so for a moment (or that it could not, e.g. on a page that is not served over HTTPS). */
export function CopyButton({ text, label }: { text: string; label: string }) {
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
  return (
    <button type="button" className="button button-small" onClick={copy} aria-label={label}>
      {said === "copied" ? "Copied" : said === "failed" ? "Select and copy by hand" : "Copy"}
    </button>
  );
}
