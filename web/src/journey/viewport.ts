// Where the canvas first looks: the whole journey if it fits at a readable zoom, else its top,
// entry first, at that zoom. Set once per journey, so later edits never move the view.
import type { NodeBox } from "./layout";

/** Below this the cards' words are too small to read: the view starts at the top instead. */
export const MIN_START_ZOOM = 0.7;
const PADDING = 24;

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

export function initialViewport(bounds: NodeBox, size: { width: number; height: number }): Viewport {
  const fit = Math.min((size.width - 2 * PADDING) / bounds.width, (size.height - 2 * PADDING) / bounds.height);
  const zoom = Math.min(1, Math.max(MIN_START_ZOOM, fit));
  const fitsAcross = bounds.width * zoom <= size.width - 2 * PADDING;
  // Centred on the whole width when it fits, else on the entry (x = 0).
  const middle = fitsAcross ? bounds.x + bounds.width / 2 : 0;
  return { x: size.width / 2 - middle * zoom, y: PADDING - bounds.y * zoom, zoom };
}
