import { JourneyPage } from "./pages/JourneyPage";
import { JourneysPage } from "./pages/JourneysPage";
import { Placeholder } from "./pages/Placeholder";
import { match, usePath } from "./router";
import { Nav } from "./ui/Nav";

function Page({ path }: { path: string }) {
  if (path === "/" || path === "/journeys") return <JourneysPage />;
  const journey = match("/journeys/:id", path);
  if (journey) return <JourneyPage key={journey.id} id={journey.id} />;
  switch (path) {
    case "/people":
      return (
        <Placeholder title="People">
          One page per person, found by any of their identities: traits and identities, a timeline of their events, messages and journey steps, and
          the journeys they are in, with the path each run took and why they are not in another.
        </Placeholder>
      );
    case "/content":
      return (
        <Placeholder title="Content">
          The email templates: Liquid on the left with the variables a template can use, the message rendered for a person you pick on the right, at
          desktop and phone widths, with errors pointing at their line.
        </Placeholder>
      );
    case "/settings":
      return (
        <Placeholder title="Settings">
          Sources and their write keys, admin access and sign-in, email delivery (SMTP) and webhook signing.
        </Placeholder>
      );
    default:
      return <Placeholder title="Not found">{`Nothing lives at ${path}. The navigation on the left lists what there is.`}</Placeholder>;
  }
}

export function App() {
  const path = usePath();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Nav path={path} />
      <main id="main" className="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </div>
  );
}
