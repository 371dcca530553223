// The left column of a person's page: traits (those Wayfarer computes marked so), identities, the
// segments they are in, their lifecycle stage and moves, warnings, refused merges.
import type { Schemas } from "../api/client";
import { Link } from "../router";
import { STAGE_TRAIT } from "../segments/computed";
import { moveText, stageText } from "../segments/lifecycle";
import { Time } from "../ui/Time";
import { Identities } from "./Identities";
import { IDENTITY_LABEL, traitText } from "./person";

/**
 * The person's stage (the trait `lifecycle_stage`, by the stage's name) since their last move to
 * it, and their moves, newest first. `names`: stage id → name (ids are shown until they are had).
 */
function Stage({ profile, names }: { profile: Schemas["ProfileView"]; names: Readonly<Record<string, string>> }) {
  const current = typeof profile.traits[STAGE_TRAIT] === "string" ? (profile.traits[STAGE_TRAIT] as string) : null;
  const moves = [...profile.stage_history].reverse();
  const since = current === null ? undefined : moves.find((m) => m.to === current)?.at;
  return (
    <section className="panel" aria-labelledby="person-stage">
      <h2 id="person-stage">Lifecycle stage</h2>
      {current === null ? (
        <p className="muted">At no stage.</p>
      ) : (
        <p data-testid="person-stage">
          <Link to="/lifecycle">
            <strong>{stageText(current, names)}</strong>
          </Link>
          {since && (
            <span className="muted">
              {" "}
              since <Time at={since} />
            </span>
          )}
        </p>
      )}
      {moves.length > 0 && (
        <>
          <h3 className="visually-hidden">Moves</h3>
          <ol className="stage-moves" aria-label="Stage moves, newest first">
            {moves.map((m, i) => (
              <li key={`${m.at}:${i}`}>
                <span>{moveText(m.from, m.to, names)}</span>
                <span className="muted nowrap">
                  <Time at={m.at} />
                </span>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

export function PersonFacts({ profile, stageNames = {} }: { profile: Schemas["ProfileView"]; stageNames?: Readonly<Record<string, string>> }) {
  const traits = Object.entries(profile.traits).sort(([a], [b]) => a.localeCompare(b));
  const computed = new Set(profile.computed_traits);
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
                <dd>
                  {typeof v === "string" ? v : <code>{traitText(v)}</code>}
                  {computed.has(k) && (
                    <span className="trait-badge" title="Wayfarer computes it from the person's history (Segments › Computed traits)">
                      computed
                    </span>
                  )}
                  {k === STAGE_TRAIT && (
                    <span className="trait-badge" title="The person's lifecycle stage, kept by Wayfarer">
                      stage
                    </span>
                  )}
                </dd>
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
      <Stage profile={profile} names={stageNames} />
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
