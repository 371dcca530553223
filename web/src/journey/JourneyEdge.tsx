import { BaseEdge, EdgeLabelRenderer, type Edge, type EdgeProps } from "@xyflow/react";
import { useContext } from "react";
import type { GraphEdge } from "./graph";
import type { EdgeRoute, Point } from "./layout";
import { CardActions } from "./NodeCard";
import { StepMenu } from "./edit/fields";

export type RouteData = { edge: GraphEdge; route: EdgeRoute };

export type RouteEdge = Edge<RouteData, "route">;

const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });

/** A smooth SVG path through the layout's points: each bend is rounded off between segment midpoints. */
export function routePath(points: Point[]): string {
  if (points.length === 0) return "";
  const [first, ...rest] = points;
  let d = `M ${first.x} ${first.y}`;
  rest.forEach((p, i) => {
    const after = rest[i + 1];
    if (after === undefined) d += ` L ${p.x} ${p.y}`;
    else {
      const m = mid(p, after);
      d += ` Q ${p.x} ${p.y} ${m.x} ${m.y}`;
    }
  });
  return d;
}

/** Where an edge's "+" goes: halfway between its label (or its start) and its end, along the route. */
export function plusPoint(route: EdgeRoute): Point | undefined {
  const pts = route.points;
  if (pts.length < 2) return undefined;
  let part = pts;
  const l = route.label;
  if (l) {
    // From the label on: the segment it lies on, cut at the label.
    const on = (a: Point, b: Point) =>
      Math.abs((b.x - a.x) * (l.y - a.y) - (b.y - a.y) * (l.x - a.x)) < 1 &&
      l.x >= Math.min(a.x, b.x) - 1 &&
      l.x <= Math.max(a.x, b.x) + 1 &&
      l.y >= Math.min(a.y, b.y) - 1 &&
      l.y <= Math.max(a.y, b.y) + 1;
    const i = pts.findIndex((p, k) => k < pts.length - 1 && on(p, pts[k + 1]));
    if (i >= 0) part = [l, ...pts.slice(i + 1)];
  }
  const lengths = part.slice(1).map((p, i) => Math.hypot(p.x - part[i].x, p.y - part[i].y));
  const total = lengths.reduce((a, b) => a + b, 0);
  // Past a label, far enough below it not to sit on it (a pill is 20 px high).
  let left = l ? Math.max(total * 0.5, Math.min(22, total * 0.8)) : total * 0.5;
  for (let i = 0; i < lengths.length; i++) {
    if (left <= lengths[i] || i === lengths.length - 1) {
      const t = lengths[i] === 0 ? 0 : Math.min(1, left / lengths[i]);
      return { x: part[i].x + (part[i + 1].x - part[i].x) * t, y: part[i].y + (part[i + 1].y - part[i].y) * t };
    }
    left -= lengths[i];
  }
  return undefined;
}

/** An edge drawn along the route the layout computed, with its label where the layout left room, and a "+" to insert a step. */
export function JourneyEdge({ id, data, markerEnd }: EdgeProps<RouteEdge>) {
  const actions = useContext(CardActions);
  if (!data) return null;
  const { edge, route } = data;
  const plus = actions && edge.source !== edge.target ? plusPoint(route) : undefined;
  const output = edge.id.slice(edge.source.length + 1);
  return (
    <>
      <BaseEdge id={id} path={routePath(route.points)} markerEnd={markerEnd} />
      {((edge.label !== undefined && route.label) || plus) && (
        <EdgeLabelRenderer>
          {edge.label !== undefined && route.label && (
            <div
              className={`edge-label edge-label-${edge.kind} nodrag nopan`}
              style={{ transform: `translate(-50%, -50%) translate(${route.label.x}px, ${route.label.y}px)` }}
              title={edge.detail}
            >
              {edge.label}
            </div>
          )}
          {plus && actions && (
            <div
              className="edge-plus nodrag nopan"
              data-source={edge.source}
              data-output={output}
              style={{ transform: `translate(-50%, -50%) translate(${plus.x}px, ${plus.y}px)` }}
            >
              <StepMenu
                label="+"
                className="edge-plus-button"
                title={`Insert a step between ${edge.source === "(entry)" ? "the entry" : edge.source} and ${edge.target}`}
                onPick={(t) => actions.insert({ source: edge.source, output }, t)}
              />
            </div>
          )}
        </EdgeLabelRenderer>
      )}
    </>
  );
}
