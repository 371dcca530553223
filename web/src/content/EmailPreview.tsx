// The rendered email: the subject, the HTML in a frame at desktop or phone width, the text.
import { useState } from "react";
import type { Schemas } from "../api/client";
import { PartError } from "./PartProblem";
import { previewDocument } from "./template";

type Width = "desktop" | "phone";
const WIDTH: Record<Width, number> = { desktop: 600, phone: 375 };

export function EmailPreview({ preview, stale }: { preview: Schemas["Preview"]; stale: boolean }) {
  const [width, setWidth] = useState<Width>("desktop");
  const { subject, html, text } = preview;
  return (
    <div className="email-preview" aria-busy={stale}>
      <div className="preview-subject">
        <span className="muted">Subject</span>
        {subject.error ? <PartError part="The subject" error={subject.error} /> : <strong data-testid="preview-subject">{subject.rendered}</strong>}
      </div>
      <div className="preview-toolbar">
        <div className="segmented" role="group" aria-label="Width">
          {(["desktop", "phone"] as Width[]).map((w) => (
            <button key={w} type="button" aria-pressed={width === w} onClick={() => setWidth(w)}>
              {w === "desktop" ? `Desktop (${WIDTH.desktop}px)` : `Phone (${WIDTH.phone}px)`}
            </button>
          ))}
        </div>
        <span className="muted">Remote images are not loaded in the preview.</span>
      </div>
      {html.error ? (
        <PartError part="The HTML" error={html.error} />
      ) : html.rendered ? (
        <div className="preview-frame-wrap">
          <iframe title={`The HTML part at ${width} width`} className="preview-frame" sandbox="" srcDoc={previewDocument(html.rendered)} style={{ width: WIDTH[width] }} />
        </div>
      ) : (
        <p className="muted">No HTML part.</p>
      )}
      <div className="preview-text">
        <span className="muted">Text</span>
        {text.error ? <PartError part="The text" error={text.error} /> : text.rendered ? <pre data-testid="preview-text">{text.rendered}</pre> : <p className="muted">No text part.</p>}
      </div>
    </div>
  );
}
