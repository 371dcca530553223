// The Segments section's three pages, as tabs under its heading: segments (who is in a named
// group), computed traits (values kept from each person's history) and the lifecycle (everyone's
// stage, and the moves between stages). The main navigation's "Segments" stands for all three.
import { Link } from "../router";

export const SEGMENTS_AREA: readonly { to: string; label: string }[] = [
  { to: "/segments", label: "Segments" },
  { to: "/computed-traits", label: "Computed traits" },
  { to: "/lifecycle", label: "Lifecycle" },
];

export function SegmentsTabs({ current }: { current: string }) {
  return (
    <nav className="area-tabs" aria-label="Segments, computed traits and lifecycle">
      <ul>
        {SEGMENTS_AREA.map(({ to, label }) => (
          <li key={to}>
            <Link to={to} aria-current={to === current ? "page" : undefined}>
              {label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
