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
const ContentPage = lazy(() => import("./pages/ContentPage").then((m) => ({ default: m.ContentPage })));
const TemplatePage = lazy(() => import("./pages/TemplatePage").then((m) => ({ default: m.TemplatePage })));
const SettingsPage = lazy(() => import("./pages/SettingsPage").then((m) => ({ default: m.SettingsPage })));

function Page({ path }: { path: string }) {
  if (path === "/" || path === "/journeys") return <JourneysPage />;
  const journey = match("/journeys/:id", path);
  if (journey) return <JourneyPage key={journey.id} id={journey.id} />;
  if (path === "/people") return <PeoplePage />;
  const person = match("/people/:id", path);
  if (person) return <PersonPage key={person.id} id={person.id} />;
  const run = match("/people/:id/runs/:run", path);
  if (run) return <RunPage key={`${run.id}/${run.run}`} id={run.id} runId={run.run} />;
  if (path === "/content") return <ContentPage />;
  const template = match("/content/:id", path);
  if (template) return <TemplatePage key={template.id} id={template.id} />;
  if (path === "/settings") return <SettingsPage />;
  return <Placeholder title="Not found">{`Nothing lives at ${path}. The navigation on the left lists what there is.`}</Placeholder>;
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
