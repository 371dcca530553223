// The left column of a person's page: traits, identities, the segments they are in, warnings,
// refused merges.
import type { Schemas } from "../api/client";
import { Link } from "../router";
import { Time } from "../ui/Time";
import { Identities } from "./Identities";
import { IDENTITY_LABEL, traitText } from "./person";

export function PersonFacts({ profile }: { profile: Schemas["ProfileView"] }) {
  const traits = Object.entries(profile.traits).sort(([a], [b]) => a.localeCompare(b));
  return (
    <aside className="person-facts" aria-label="Traits and identities">
      {profile.warnings.length > 0 && (
        <div className="notice notice-warning">
          <h2>Warnings</h2>
          <ul>
            {profile.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      )}
      <section className="panel">
        <h2>Traits</h2>
        {traits.length === 0 ? (
          <p className="muted">No traits yet.</p>
        ) : (
          <dl className="traits">
            {traits.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{typeof v === "string" ? v : <code>{traitText(v)}</code>}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>
      <section className="panel">
        <h2>Identities</h2>
        <Identities identities={profile.identities} />
      </section>
      <section className="panel" aria-labelledby="person-segments">
        <h2 id="person-segments">Segments</h2>
        {profile.segments.length === 0 ? (
          <p className="muted">In no segment.</p>
        ) : (
          <ul className="person-segments">
            {profile.segments.map((s) => (
              <li key={s.id}>
                <Link to={`/segments/${encodeURIComponent(s.id)}`}>{s.name}</Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      {profile.refused_merges.length > 0 && (
        <section className="panel">
          <h2>Merges refused</h2>
          <ul className="refused">
            {profile.refused_merges.map((m) => (
              <li key={`${m.message_id}:${m.other_profile_id}`}>
                <p>
                  Not merged with <Link to={`/people/${m.other_profile_id}`}>person {m.other_profile_id}</Link> by {IDENTITY_LABEL[m.identity.kind]}{" "}
                  <code>{m.identity.value}</code>: {m.reason}
                </p>
                <p className="muted">
                  The identity now belongs to{" "}
                  {m.identity_now_with === profile.id ? "this person" : <Link to={`/people/${m.identity_now_with}`}>person {m.identity_now_with}</Link>}; <Time at={m.at} />
                </p>
              </li>
            ))}
          </ul>
        </section>
      )}
    </aside>
  );
}
