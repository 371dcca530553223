// How far a fill is: after a segment is made or changed, everyone is evaluated again, a chunk
// of people at a time; pages showing it ask again every FILL_REFRESH_MS until it is done.
import { fillText, type Segment } from "./segments";

/** How often a page asks again while a fill goes on. */
export const FILL_REFRESH_MS = 2000;

/** How far the evaluation of everyone is, as a bar and in words. */
export function FillProgress({ fill }: { fill: NonNullable<Segment["fill"]> }) {
  const text = fillText(fill);
  return (
    <span className="segment-fill">
      <progress value={fill.done} max={Math.max(1, fill.of)} aria-label={text} />
      <span>{text}</span>
    </span>
  );
}
