// A part's problem, as the server words it (Liquid's messages draw the line with a caret under
// the place), with a button that puts the cursor there.
import { errorPosition } from "./template";

export function PartProblem({ id, label, message, soft, onGoTo }: { id?: string; label: string; message: string; soft?: boolean; onGoTo?: (line: number, column: number) => void }) {
  const at = errorPosition(message);
  return (
    <div id={id} className={`part-problem${soft ? " part-problem-soft" : ""}`}>
      <p>
        <strong>{label}</strong>
        {at && onGoTo && (
          <>
            {" "}
            <button type="button" className="button button-small" onClick={() => onGoTo(at.line, at.column)}>
              Go to line {at.line}, column {at.column}
            </button>
          </>
        )}
      </p>
      <pre tabIndex={0}>{message.trimEnd()}</pre>
    </div>
  );
}

/** A part that does not render in a preview, said at once (role alert). */
export function PartError({ part, error }: { part: string; error: string }) {
  return (
    <div role="alert">
      <PartProblem label={`${part} does not render`} message={error} />
    </div>
  );
}
