// The rendered SMS: its text in a message bubble, as a phone shows it, and how many characters
// and parts it is sent (and billed) as. The server counts the parts: it knows the GSM character
// set, outside which (an emoji, some accented letters) a part holds 70 characters, not 160.
import type { ReactNode } from "react";
import type { Schemas } from "../api/client";
import { PartError } from "./PartProblem";

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** `source` is the SMS text as written, to tell no SMS text from one that renders as nothing. */
export function SmsPreview({ preview, source, stale }: { preview: Schemas["Preview"]; source: string; stale: boolean }) {
  const { sms, sms_segments } = preview;
  // An SMS is sent trimmed, and its parts counted so.
  const text = (sms.rendered ?? "").trim();
  let body: ReactNode;
  if (source.trim() === "") body = <p className="muted">No SMS: this template has no SMS text, so SMS send steps cannot use it.</p>;
  else if (sms.error) body = <PartError part="The SMS text" error={sms.error} />;
  else if (text === "") body = <p className="muted">No SMS: the SMS text renders as nothing for this person.</p>;
  else {
    body = (
      <>
        <div className="sms-thread">
          <p className="sms-bubble" data-testid="preview-sms">
            {text}
          </p>
        </div>
        <p data-testid="preview-sms-count">
          {count([...text].length, "character", "characters")} · {count(sms_segments, "part", "parts")}
        </p>
        <p className="muted">A part holds 160 characters alone and 153 in a longer message; 70 and 67 when a character is outside the GSM set (an emoji, say).</p>
      </>
    );
  }
  return (
    <div className="sms-preview" aria-busy={stale}>
      {body}
    </div>
  );
}
