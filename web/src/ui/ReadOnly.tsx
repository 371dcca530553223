import { VIEWERS_CANNOT } from "../auth/context";

/** Where a control a viewer may not use would be: says why it is not there. */
export function ReadOnly() {
  return (
    <span className="muted read-only" title={VIEWERS_CANNOT}>
      Read only: {VIEWERS_CANNOT}
    </span>
  );
}
