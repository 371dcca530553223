// The rendered in-app message: a banner across the top of a page, or a modal over it, drawn as
// the served script (/in-app.js) shows it, with where it shows, where its button leads and the
// image's address. Text only: the parts are plain text, and the image is not loaded (the page
// fetches nothing from elsewhere).
import type { ReactNode } from "react";
import type { Schemas } from "../api/client";
import { PartError } from "./PartProblem";
import { buttonLabel, webLink } from "./template";

const PARTS = [
  ["title", "The in-app title"],
  ["body", "The in-app body"],
  ["button", "The in-app button label"],
  ["link", "The in-app link"],
  ["image", "The in-app image"],
] as const;

/**
 * `source` is the message as written: its title and body, to tell no in-app message from one
 * that renders as nothing, and where and how it shows (`placement`, `layout`); `who` is the
 * person picked, if any.
 */
export function InAppPreview({
  preview,
  source,
  who,
  stale,
}: {
  preview: Schemas["Preview"];
  source: { title: string; body: string; placement: string; layout: string };
  who?: string;
  stale: boolean;
}) {
  const { in_app } = preview;
  // Each part is kept trimmed, and the empty ones left out.
  const [title, body, button, link, image] = PARTS.map(([k]) => (in_app[k].rendered ?? "").trim());
  const errors = PARTS.filter(([k]) => in_app[k].error);
  const modal = source.layout === "modal";
  const placement = source.placement.trim();
  let content: ReactNode;
  if (source.title.trim() === "" && source.body.trim() === "") {
    content = <p className="muted">No in-app message: this template has no in-app title or body, so in-app send steps cannot use it.</p>;
  } else if (errors.length > 0) {
    content = errors.map(([k, name]) => <PartError key={k} part={name} error={in_app[k].error ?? ""} />);
  } else if (title === "" && body === "") {
    content = <p className="muted">No in-app message: the title and body render as nothing for this person.</p>;
  } else {
    const label = buttonLabel(button, link);
    const message = (
      <div className={modal ? "in-app-modal" : "in-app-banner"} data-testid="preview-in-app" data-layout={modal ? "modal" : "banner"}>
        {image && (
          <div className="in-app-image" data-testid="preview-in-app-image">
            Image, not loaded in the preview: <code>{image}</code>
          </div>
        )}
        <div className="in-app-text">
          {title && <strong data-testid="preview-in-app-title">{title}</strong>}
          {body && <p data-testid="preview-in-app-body">{body}</p>}
        </div>
        {label && (
          <span className="in-app-cta" data-testid="preview-in-app-button">
            {label}
          </span>
        )}
        <span className="in-app-close" aria-hidden="true">
          ×
        </span>
      </div>
    );
    content = (
      <>
        <figure className={`in-app-page${modal ? " in-app-page-modal" : ""}`}>
          <figcaption className="muted">{modal ? "A modal over the page" : placement ? `A banner in the page's place “${placement}”` : "A banner across the top of the page"}</figcaption>
          {/* The page the message shows on: grey lines where its own content is. */}
          <div className="in-app-screen">
            {!modal && message}
            <span className="in-app-line" />
            <span className="in-app-line in-app-line-short" />
            <span className="in-app-line" />
            {modal && <div className="in-app-back">{message}</div>}
          </div>
        </figure>
        <p data-testid="preview-in-app-link">
          {link ? (
            <>
              {label} opens: <code>{link}</code>
            </>
          ) : (
            <span className="muted">No button (no link): the message has its close button only.</span>
          )}
        </p>
        {link && !webLink(link) && (
          <p className="push-warning">
            Web pages show no button for this link, as they open http(s) links only (apps asking <code>/v1/decide</code> get it as it is): <code>{link}</code>
          </p>
        )}
        {image && !image.startsWith("https://") && (
          <p className="push-warning">
            The image is not an https URL, so pages served over https may not show it: <code>{image}</code>
          </p>
        )}
        <p className="muted" data-testid="preview-in-app-where">
          {placement ? (
            <>
              Shown where the page or app asks for the place <code>{placement}</code> (<code>data-placement="{placement}"</code>).
            </>
          ) : (
            "Shown wherever the page or app asks (no placement: any place)."
          )}{" "}
          {who ? `Kept for ${who}'s next visit, until they click or dismiss it or it expires.` : "Kept for the person's next visit, until they click or dismiss it or it expires."}
        </p>
      </>
    );
  }
  return (
    <div className="in-app-preview" aria-busy={stale}>
      {content}
    </div>
  );
}
