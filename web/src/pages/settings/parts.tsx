import { useId, useState } from "react";
import { ApiError } from "../../api/client";
import { CopyButton } from "../../ui/CopyButton";
import { generatePassword, MIN_PASSWORD } from "./password";

export const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

/** A password input with "Generate": a generated password is shown (once, while the form is open) to copy. */
export function PasswordField({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  const id = useId();
  const [shown, setShown] = useState(false);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="inline">
        <input
          id={id}
          type={shown ? "text" : "password"}
          autoComplete="new-password"
          spellCheck={false}
          minLength={MIN_PASSWORD}
          value={value}
          aria-describedby={`${id}-hint`}
          onChange={(e) => {
            setShown(false);
            onChange(e.target.value);
          }}
        />
        <button
          type="button"
          className="button"
          onClick={() => {
            setShown(true);
            onChange(generatePassword());
          }}
        >
          Generate
        </button>
        {shown && value !== "" && <CopyButton text={value} label="Copy the password" />}
      </div>
      <p id={`${id}-hint`} className="muted">
        {shown ? "Copy it now and hand it over: it is not shown again." : `At least ${MIN_PASSWORD} characters.`}
      </p>
    </div>
  );
}

/** "Delete X?" asked once, naming what goes, with the choice to go on or not. */
export function ConfirmDelete({ question, action, busy, onConfirm, onCancel }: { question: string; action: string; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  return (
    <div className="confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button type="button" className="button button-danger" onClick={onConfirm} disabled={busy} autoFocus>
        {busy ? "Deleting…" : action}
      </button>
      <button type="button" className="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
