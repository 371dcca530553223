import { lazy, Suspense, useEffect, useState } from "react";
import { getToken } from "./api/client";
import { SessionContext } from "./auth/context";
import { currentSession, remember, signOut, type Session } from "./auth/session";
import { SignInPage } from "./auth/SignInPage";
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
const SegmentsPage = lazy(() => import("./pages/SegmentsPage").then((m) => ({ default: m.SegmentsPage })));
const SegmentPage = lazy(() => import("./pages/SegmentPage").then((m) => ({ default: m.SegmentPage })));
const ComputedTraitsPage = lazy(() => import("./pages/ComputedTraitsPage").then((m) => ({ default: m.ComputedTraitsPage })));
const LifecyclePage = lazy(() => import("./pages/LifecyclePage").then((m) => ({ default: m.LifecyclePage })));
const TasksPage = lazy(() => import("./pages/TasksPage").then((m) => ({ default: m.TasksPage })));
const DeliveryPage = lazy(() => import("./pages/DeliveryPage").then((m) => ({ default: m.DeliveryPage })));
const JourneyResultsPage = lazy(() => import("./pages/JourneyResultsPage").then((m) => ({ default: m.JourneyResultsPage })));
const SettingsPage = lazy(() => import("./pages/SettingsPage").then((m) => ({ default: m.SettingsPage })));

function Page({ path }: { path: string }) {
  if (path === "/" || path === "/journeys") return <JourneysPage />;
  const journey = match("/journeys/:id", path);
  if (journey) return <JourneyPage key={journey.id} id={journey.id} />;
  const results = match("/journeys/:id/results", path);
  if (results) return <JourneyResultsPage key={results.id} id={results.id} />;
  if (path === "/people") return <PeoplePage />;
  const person = match("/people/:id", path);
  if (person) return <PersonPage key={person.id} id={person.id} />;
  const run = match("/people/:id/runs/:run", path);
  if (run) return <RunPage key={`${run.id}/${run.run}`} id={run.id} runId={run.run} />;
  if (path === "/segments") return <SegmentsPage />;
  const segment = match("/segments/:id", path);
  if (segment) return <SegmentPage key={segment.id} id={segment.id} />;
  if (path === "/computed-traits") return <ComputedTraitsPage />;
  if (path === "/lifecycle") return <LifecyclePage />;
  if (path === "/tasks") return <TasksPage />;
  if (path === "/content") return <ContentPage />;
  const template = match("/content/:id", path);
  if (template) return <TemplatePage key={template.id} id={template.id} />;
  if (path === "/delivery") return <DeliveryPage />;
  if (path === "/settings") return <SettingsPage />;
  return <Placeholder title="Not found">{`Nothing lives at ${path}. The navigation on the left lists what there is.`}</Placeholder>;
}

// The session's context lives in auth/context.ts (pages import it without importing the shell).
export { SessionContext, useSession } from "./auth/context";

function Who({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const name = session.user ? session.user.email : session.actor;
  return (
    <div className="who">
      <span>
        {name} <span className="muted">({session.role})</span>
      </span>
      {session.user && (
        <button className="button" type="button" onClick={() => void signOut().then(onSignedOut)}>
          Sign out
        </button>
      )}
    </div>
  );
}

export function App() {
  const path = usePath();
  // `undefined` while asking the server; `null` when nobody is signed in.
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    // A bearer token in localStorage (for engineers and tests) is a session too.
    const token = getToken();
    currentSession(token ? { authorization: `Bearer ${token}` } : {})
      .then((s) => {
        remember(s);
        setSession(s);
      })
      .catch((e: unknown) => setProblem(e instanceof Error ? e.message : String(e)));
  }, []);
  if (problem) {
    return (
      <p className="page notice notice-error" role="alert">
        The server could not be asked who you are: {problem}
      </p>
    );
  }
  if (session === undefined) {
    return (
      <p className="page muted" role="status">
        Loading…
      </p>
    );
  }
  if (session === null) {
    return (
      <SignInPage
        onSignedIn={(s) => {
          remember(s);
          setSession(s);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <div className="shell">
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <Nav path={path} footer={<Who session={session} onSignedOut={() => setSession(null)} />} />
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
    </SessionContext.Provider>
  );
}
