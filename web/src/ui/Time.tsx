import { formatTime } from "./format";

/** A time as people read it, machine-readable in `dateTime`. */
export function Time({ at, seconds }: { at: string; seconds?: boolean }) {
  return (
    <time dateTime={at} title={at}>
      {formatTime(at, seconds)}
    </time>
  );
}
