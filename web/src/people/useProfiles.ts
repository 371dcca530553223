import { apiGet, type Schemas } from "../api/client";
import { usePaged, type Paged } from "../api/usePaged";

/** People whose user id or anonymous id starts with `q` (everyone for ""), `limit` a page; null: none asked for yet. */
export function useProfiles(q: string | null, limit: number): Paged<Schemas["ProfileSummary"]> {
  return usePaged(q === null ? null : `profiles:${limit}:${q}`, async (cursor, signal) => {
    const page = await apiGet("/api/profiles", { query: { q: q || undefined, limit, cursor }, signal });
    return { items: page.profiles, next: page.next_cursor ?? null };
  });
}
