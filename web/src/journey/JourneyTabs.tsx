// A journey's two views, as tabs in its page's head: the canvas (the editor, or the drawing a
// viewer gets) and its results (conversions, experiments, the funnel per content).
import { Link } from "../router";

export type JourneyView = "canvas" | "results";

/** The address of a journey's view. */
export function journeyPath(id: string, view: JourneyView = "canvas"): string {
  const base = `/journeys/${encodeURIComponent(id)}`;
  return view === "results" ? `${base}/results` : base;
}

export function JourneyTabs({ id, current }: { id: string; current: JourneyView }) {
  const tabs: [JourneyView, string][] = [
    ["canvas", "Canvas"],
    ["results", "Results"],
  ];
  return (
    <nav className="journey-tabs" aria-label="Journey views">
      <ul>
        {tabs.map(([view, label]) => (
          <li key={view}>
            <Link to={journeyPath(id, view)} aria-current={view === current ? "page" : undefined}>
              {label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
