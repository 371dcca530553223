import { BaseEdge, EdgeLabelRenderer, type Edge, type EdgeProps } from "@xyflow/react";
import type { GraphEdge } from "./graph";
import type { EdgeRoute, Point } from "./layout";

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

/** An edge drawn along the route the layout computed, with its label where the layout left room. */
export function JourneyEdge({ id, data, markerEnd }: EdgeProps<RouteEdge>) {
  if (!data) return null;
  const { edge, route } = data;
  return (
    <>
      <BaseEdge id={id} path={routePath(route.points)} markerEnd={markerEnd} />
      {edge.label !== undefined && route.label && (
        <EdgeLabelRenderer>
          <div
            className={`edge-label edge-label-${edge.kind} nodrag nopan`}
            style={{ transform: `translate(-50%, -50%) translate(${route.label.x}px, ${route.label.y}px)` }}
            title={edge.detail}
          >
            {edge.label}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}
