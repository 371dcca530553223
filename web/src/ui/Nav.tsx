import type { ComponentType, ReactNode } from "react";
import { Link } from "../router";
import { ContentIcon, DeliveryIcon, JourneysIcon, PeopleIcon, SegmentsIcon, SettingsIcon, TasksIcon } from "./icons";

const SECTIONS: { to: string; label: string; Icon: ComponentType }[] = [
  { to: "/journeys", label: "Journeys", Icon: JourneysIcon },
  { to: "/people", label: "People", Icon: PeopleIcon },
  { to: "/segments", label: "Segments", Icon: SegmentsIcon },
  { to: "/tasks", label: "Tasks", Icon: TasksIcon },
  { to: "/content", label: "Content", Icon: ContentIcon },
  { to: "/delivery", label: "Delivery", Icon: DeliveryIcon },
  { to: "/settings", label: "Settings", Icon: SettingsIcon },
];

/** The section a path belongs to: "/journeys/x" is in Journeys, and so is "/". */
export function sectionOf(path: string): string {
  return path === "/" ? "/journeys" : (SECTIONS.find((s) => path === s.to || path.startsWith(`${s.to}/`))?.to ?? "");
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
