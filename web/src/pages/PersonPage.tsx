import { useMemo, type ReactNode } from "react";
import { apiGet, type Schemas } from "../api/client";
import { apiGetAll } from "../api/getAll";
import { useApi, type Loadable } from "../api/useApi";
import { usePaged } from "../api/usePaged";
import { JourneysPanel } from "../people/JourneysPanel";
import "../people/people.css";
import { personName } from "../people/person";
import { PersonFacts } from "../people/PersonFacts";
import { Timeline } from "../people/Timeline";
import { PersonTasks } from "../tasks/PersonTasks";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { useTitle } from "../ui/useTitle";

/** A profile id from the address: digits, else nothing. */
export const profileId = (id: string): number | null => (/^\d{1,15}$/.test(id) ? Number(id) : null);

/** The person and their latest events and runs; loading or failing, said where it matters. */
export function useProfile(id: string): [Loadable<Schemas["ProfileView"]>, () => void] {
  const numeric = profileId(id);
  return useApi(numeric === null ? null : `profile:${numeric}`, (signal) => apiGet("/api/profiles/{id}", { params: { id: numeric ?? 0 }, signal }));
}

/** Journey id → name, from the journeys list (ids when it cannot be had). */
export function useJourneyNames(): Record<string, string> {
  const [list] = useApi("journeys", (signal) => apiGetAll("/api/journeys", { signal }));
  return list.state === "ready" ? Object.fromEntries(list.data.map((j) => [j.id, j.name])) : {};
}

/** Lifecycle stage id → name, from the lifecycle (ids when it cannot be had). */
export function useStageNames(): Record<string, string> {
  const [lifecycle] = useApi("lifecycle", (signal) => apiGet("/api/lifecycle", { signal }));
  return useMemo(() => (lifecycle.state === "ready" ? Object.fromEntries(lifecycle.data.stages.map((s) => [s.id, s.name])) : {}), [lifecycle]);
}

export function PersonHead({ id, profile, children }: { id: string; profile?: Schemas["ProfileView"]; children?: ReactNode }) {
  const name = profile ? personName(profile) : `Person ${id}`;
  return (
    <div className="page-head">
      <Link to="/people">People</Link>
      <span aria-hidden="true">/</span>
      {children ? <Link to={`/people/${profile?.id ?? id}`}>{name}</Link> : <h1>{name}</h1>}
      {children}
    </div>
  );
}

export function PersonPending({ id, profile, onRetry }: { id: string; profile: Exclude<Loadable<Schemas["ProfileView"]>, { state: "ready" }>; onRetry: () => void }) {
  useTitle(`Person ${id}`);
  return (
    <div className="page">
      <PersonHead id={id} />
      {profileId(id) === null ? (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>No such person</strong>: “{id}” is not a person's number. Find them on the <Link to="/people">People</Link> page.
          </p>
        </div>
      ) : profile.state === "loading" ? (
        <p className="muted" role="status">
          Loading the person…
        </p>
      ) : (
        <ErrorNotice what={`Person ${id} could not be loaded`} error={profile.error} onRetry={onRetry} />
      )}
    </div>
  );
}

function Person({ id, profile }: { id: string; profile: Schemas["ProfileView"] }) {
  useTitle(personName(profile));
  const [journeys, reloadJourneys] = useApi(`profile-journeys:${profile.id}:${profile.journeys.length}`, (signal) =>
    apiGet("/api/profiles/{id}/journeys", { params: { id: profile.id }, signal }),
  );
  const messages = usePaged(`messages:${profile.id}`, async (cursor, signal) => {
    const page = await apiGet("/api/messages", { query: { profile_id: profile.id, limit: 200, cursor }, signal });
    return { items: page.messages, next: page.next_cursor ?? null };
  });
  const names = useJourneyNames();
  const stageNames = useStageNames();
  // A message sent again is pending: the list says so; the profile keeps its place on the page.
  const retried = () => {
    messages.reload();
    reloadJourneys();
  };
  return (
    <div className="page page-wide">
      <PersonHead id={id} profile={profile} />
      <p className="muted">
        Person {profile.id}
        {profile.merged_from != null && <> · person {profile.merged_from} was merged into this person</>}
      </p>
      <div className="person">
        <PersonFacts profile={profile} stageNames={stageNames} />
        <div className="person-middle">
          <PersonTasks profileId={profile.id} />
          <Timeline profile={profile} messages={messages} onRetried={retried} />
        </div>
        <JourneysPanel profileId={profile.id} journeys={journeys} names={names} onRetry={reloadJourneys} />
      </div>
    </div>
  );
}

export function PersonPage({ id }: { id: string }) {
  const [profile, reload] = useProfile(id);
  return profile.state === "ready" ? <Person id={id} profile={profile.data} /> : <PersonPending id={id} profile={profile} onRetry={reload} />;
}
