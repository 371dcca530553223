// Arrow keys move the selection between cards: to the nearest card in that direction, on the
// layout the canvas draws.
import type { Layout } from "../layout";

export type Direction = "up" | "down" | "left" | "right";

export function nearest(positions: Layout, from: string, direction: Direction): string | undefined {
  const box = positions.nodes[from];
  if (!box) return undefined;
  const c = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  let best: { id: string; score: number } | undefined;
  for (const [id, b] of Object.entries(positions.nodes)) {
    if (id === from) continue;
    const dx = b.x + b.width / 2 - c.x;
    const dy = b.y + b.height / 2 - c.y;
    // Along the direction, and more along it than across it.
    const [along, across] = direction === "up" ? [-dy, dx] : direction === "down" ? [dy, dx] : direction === "left" ? [-dx, dy] : [dx, dy];
    if (along <= 0 || Math.abs(across) > along * 2) continue;
    const score = along + Math.abs(across) * 2;
    if (!best || score < best.score) best = { id, score };
  }
  return best?.id;
}
