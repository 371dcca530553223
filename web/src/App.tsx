import { lazy, Suspense } from "react";
import { JourneyPage } from "./pages/JourneyPage";
import { JourneysPage } from "./pages/JourneysPage";
import { Placeholder } from "./pages/Placeholder";
import { match, usePath } from "./router";
import { Nav } from "./ui/Nav";

// The other sections load when first opened, not with the shell.
const PeoplePage = lazy(() => import("./pages/PeoplePage").then((m) => ({ default: m.PeoplePage })));
const PersonPage = lazy(() => import("./pages/PersonPage").then((m) => ({ default: m.PersonPage })));
const RunPage = lazy(() => import("./pages/RunPage").then((m) => ({ default: m.RunPage })));

function Page({ path }: { path: string }) {
  if (path === "/" || path === "/journeys") return <JourneysPage />;
  const journey = match("/journeys/:id", path);
  if (journey) return <JourneyPage key={journey.id} id={journey.id} />;
  if (path === "/people") return <PeoplePage />;
  const person = match("/people/:id", path);
  if (person) return <PersonPage key={person.id} id={person.id} />;
  const run = match("/people/:id/runs/:run", path);
  if (run) return <RunPage key={`${run.id}/${run.run}`} id={run.id} runId={run.run} />;
  switch (path) {
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
        <Suspense
          fallback={
            <p className="page muted" role="status">
              Loading…
            </p>
          }
        >
          <Page path={path} />
        </Suspense>
      </main>
    </div>
  );
}
