import type { ComponentType, ReactNode } from "react";
import { Link } from "../router";
import { ContentIcon, DeliveryIcon, JourneysIcon, PeopleIcon, SegmentsIcon, SettingsIcon, TasksIcon } from "./icons";

const SECTIONS: { to: string; label: string; Icon: ComponentType; also?: readonly string[] }[] = [
  { to: "/journeys", label: "Journeys", Icon: JourneysIcon },
  { to: "/people", label: "People", Icon: PeopleIcon },
  // Computed traits and the lifecycle are tabs of the Segments section.
  { to: "/segments", label: "Segments", Icon: SegmentsIcon, also: ["/computed-traits", "/lifecycle"] },
  { to: "/tasks", label: "Tasks", Icon: TasksIcon },
  { to: "/content", label: "Content", Icon: ContentIcon },
  { to: "/delivery", label: "Delivery", Icon: DeliveryIcon },
  { to: "/settings", label: "Settings", Icon: SettingsIcon },
];

/** The section a path belongs to: "/journeys/x" is in Journeys, and so is "/"; "/lifecycle" is in Segments. */
export function sectionOf(path: string): string {
  const within = (to: string) => path === to || path.startsWith(`${to}/`);
  return path === "/" ? "/journeys" : (SECTIONS.find((s) => within(s.to) || (s.also ?? []).some(within))?.to ?? "");
}

export function Nav({ path, footer }: { path: string; footer?: ReactNode }) {
  const current = sectionOf(path);
  return (
    <nav className="nav" aria-label="Main">
      <div className="nav-brand">Wayfarer</div>
      <ul>
        {SECTIONS.map(({ to, label, Icon }) => (
          <li key={to}>
            <Link to={to} aria-current={to === current ? "page" : undefined}>
              <Icon />
              {label}
            </Link>
          </li>
        ))}
      </ul>
      {footer}
    </nav>
  );
}
