// How a person is named and summed up in lists: their traits and identities as the API has them.
import type { Schemas } from "../api/client";

type Person = Pick<Schemas["ProfileSummary"], "id" | "identities" | "traits">;

const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);

/** A name for people to read: the `name` trait, first and last name, the email, a user id, an anonymous id, the profile id. */
export function personName(p: Person): string {
  const t = p.traits;
  const full = [text(t.firstName) ?? text(t.first_name), text(t.lastName) ?? text(t.last_name)].filter(Boolean).join(" ");
  return (
    text(t.name) ??
    (full || undefined) ??
    text(t.email) ??
    p.identities.find((i) => i.kind === "user_id")?.value ??
    p.identities.find((i) => i.kind === "anonymous_id")?.value ??
    `Person ${p.id}`
  );
}

/** The traits a list shows beside the identities: email and name first, then the first others. */
export function briefTraits(traits: Record<string, unknown>, count = 2): [string, unknown][] {
  const preferred = ["email", "name", "firstName", "lastName", "phone", "plan"];
  const keys = [...preferred.filter((k) => k in traits), ...Object.keys(traits).filter((k) => !preferred.includes(k)).sort()];
  return keys.slice(0, count).map((k) => [k, traits[k]]);
}

export const IDENTITY_LABEL: Record<Schemas["IdentityKind"], string> = { user_id: "user id", anonymous_id: "anonymous id" };

/** A trait's value as it reads in a list: strings as they are, anything else as JSON. */
export function traitText(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}
