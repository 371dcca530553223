// Dialogs of the journey page: publish (with what happens to runs in flight) and stop (naming
// how many people it takes out).
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { Schemas } from "../../api/client";
import { DiagnosticList } from "./panels";

/** A modal dialog (the browser's <dialog>): Escape or Cancel closes it. */
export function Modal({ title, children, onClose, actions }: { title: string; children: ReactNode; onClose: () => void; actions: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (typeof d.showModal === "function" && !d.open) d.showModal();
    else d.setAttribute("open", "");
  }, []);
  return (
    <dialog
      ref={ref}
      className="modal"
      aria-labelledby={id}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id={id}>{title}</h2>
      <div className="modal-body">{children}</div>
      <div className="modal-actions">{actions}</div>
    </dialog>
  );
}

export type InFlight = Schemas["InFlight"];

export function PublishDialog({
  waiting,
  dirty,
  busy,
  refused,
  onPublish,
  onClose,
  onPick,
}: {
  /** People waiting in the live version now, when known. */
  waiting: number | undefined;
  /** The draft has changes not saved yet: publishing saves them first. */
  dirty: boolean;
  busy: boolean;
  /** The server refused: its message and diagnostics. */
  refused?: { message: string; diagnostics: Schemas["Diagnostic"][] };
  onPublish: (inFlight: InFlight) => void;
  onClose: () => void;
  onPick: (d: Schemas["Diagnostic"]) => void;
}) {
  const [choice, setChoice] = useState<InFlight>("stay");
  const name = useId();
  const people = waiting === undefined ? "People already in the journey" : waiting === 1 ? "The 1 person waiting in the journey" : `The ${waiting.toLocaleString("en")} people waiting in the journey`;
  return (
    <Modal
      title="Publish this journey"
      onClose={onClose}
      actions={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="button button-primary" onClick={() => onPublish(choice)} disabled={busy}>
            {busy ? "Publishing…" : dirty ? "Save and publish" : "Publish"}
          </button>
        </>
      }
    >
      <p>The draft becomes a new version: new entries follow it at once.</p>
      <fieldset className="ed-choices">
        <legend>{people}</legend>
        <label>
          <input type="radio" name={name} value="stay" checked={choice === "stay"} onChange={() => setChoice("stay")} />
          <span>
            <strong>Stay on their version</strong>
            <span className="muted"> — they finish the journey as it was when they entered.</span>
          </span>
        </label>
        <label>
          <input type="radio" name={name} value="move" checked={choice === "move"} onChange={() => setChoice("move")} />
          <span>
            <strong>Move to the new version</strong>
            <span className="muted"> — they go on from the step they wait at; refused if a step they wait at is gone.</span>
          </span>
        </label>
      </fieldset>
      {refused && (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>Not published</strong>: {refused.message}
          </p>
          <DiagnosticList diagnostics={refused.diagnostics} onPick={onPick} />
        </div>
      )}
    </Modal>
  );
}

export function StopDialog({ waiting, busy, onStop, onClose }: { waiting: number | undefined; busy: boolean; onStop: (reason: string) => void; onClose: () => void }) {
  const [reason, setReason] = useState("");
  const id = useId();
  const what =
    waiting === undefined
      ? "Everyone waiting in this journey will leave it."
      : waiting === 0
        ? "Nobody is waiting in this journey now."
        : `${waiting.toLocaleString("en")} ${waiting === 1 ? "person" : "people"} waiting in this journey will leave it.`;
  return (
    <Modal
      title="Stop this journey?"
      onClose={onClose}
      actions={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="button button-danger" onClick={() => onStop(reason)} disabled={busy}>
            {busy ? "Stopping…" : "Stop the journey"}
          </button>
        </>
      }
    >
      <p className="stop-what">
        <strong>{what}</strong> Nobody new enters. Publishing again makes it active.
      </p>
      <div className="ed-field">
        <label htmlFor={id}>Reason (recorded on each run that ends)</label>
        <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} placeholder="campaign over" />
      </div>
    </Modal>
  );
}
