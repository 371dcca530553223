// The rendered push notification: a card as a phone's notification shade shows it (the app's
// icon, the title, the body), where a tap leads, and the image's address. The image itself is
// not loaded: the page fetches nothing from elsewhere.
import type { ReactNode } from "react";
import type { Schemas } from "../api/client";
import { PartError } from "./PartProblem";

const PARTS = [
  ["title", "The push title"],
  ["body", "The push body"],
  ["link", "The push link"],
  ["image", "The push image"],
] as const;

/** How many devices the person has: the strings of the `push_tokens` trait the template saw. */
function devices(context: Schemas["Preview"]["context"]): number {
  const tokens = (context.traits as Record<string, unknown> | undefined)?.push_tokens;
  return Array.isArray(tokens) ? tokens.filter((t) => typeof t === "string" && t !== "").length : 0;
}

/**
 * `source` is the title and body as written, to tell no push notification from one that renders
 * as nothing; `who` is the person picked, if any.
 */
export function PushPreview({ preview, source, who, stale }: { preview: Schemas["Preview"]; source: { title: string; body: string }; who?: string; stale: boolean }) {
  const { push } = preview;
  // Each part is sent trimmed, and an empty link or image left out.
  const [title, body, link, image] = PARTS.map(([k]) => (push[k].rendered ?? "").trim());
  const errors = PARTS.filter(([k]) => push[k].error);
  let content: ReactNode;
  if (source.title.trim() === "" && source.body.trim() === "") {
    content = <p className="muted">No push notification: this template has no push title or body, so push send steps cannot use it.</p>;
  } else if (errors.length > 0) {
    content = errors.map(([k, name]) => <PartError key={k} part={name} error={push[k].error ?? ""} />);
  } else if (title === "" && body === "") {
    content = <p className="muted">No push notification: the title and body render as nothing for this person.</p>;
  } else {
    const n = devices(preview.context);
    content = (
      <>
        <div className="push-shade">
          <div className="push-card" data-testid="preview-push">
            <span className="push-icon" aria-hidden="true" />
            <div className="push-text">
              <span className="push-app">Your app · now</span>
              {title && <strong data-testid="preview-push-title">{title}</strong>}
              {body && <p data-testid="preview-push-body">{body}</p>}
              {image.startsWith("https://") && (
                <div className="push-image">
                  Image, not loaded in the preview: <code>{image}</code>
                </div>
              )}
            </div>
          </div>
        </div>
        <p data-testid="preview-push-link">
          {link ? (
            <>
              Opens: <code>{link}</code>
            </>
          ) : (
            <span className="muted">Opens the app (no link).</span>
          )}
        </p>
        {image && !image.startsWith("https://") && (
          <p className="push-warning">
            The image is not an https URL, so devices may not show it: <code>{image}</code>
          </p>
        )}
        {who && (
          <p className="muted">
            {n > 0
              ? `Goes to ${who}'s ${n === 1 ? "device" : `${n} devices`} (push_tokens).`
              : `${who} has no push device (no push_tokens): push send steps find them unreachable.`}
          </p>
        )}
      </>
    );
  }
  return (
    <div className="push-preview" aria-busy={stale}>
      {content}
    </div>
  );
}
