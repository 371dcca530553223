// Lists the API answers a page at a time, read whole: for what needs every item (a picker, a
// map of ids to names), not for what a person pages through (that is usePaged's "Load more").
import { apiGet, ApiError, type Schemas } from "./client";

/** The paged lists read whole, with the type of their items. */
interface Lists {
  "/api/journeys": Schemas["JourneySummary"];
  "/api/templates": Schemas["TemplateView"];
  "/api/sources": Schemas["SourceView"];
  "/api/users": Schemas["UserView"];
}

/** The field of each list's answer that holds its items. */
const FIELD: { [P in keyof Lists]: string } = {
  "/api/journeys": "journeys",
  "/api/templates": "templates",
  "/api/sources": "sources",
  "/api/users": "users",
};

/** The most a page holds (the API's limit). */
export const ALL_PAGE = 1000;

/**
 * Every item of a paged list, in the API's order: the first page, then each next one with the
 * cursor the page before answered, until a page has no `next_cursor`. A cursor answered twice
 * is an error rather than a loop.
 */
export async function apiGetAll<P extends keyof Lists>(path: P, options: { signal?: AbortSignal; limit?: number } = {}): Promise<Lists[P][]> {
  const limit = options.limit ?? ALL_PAGE;
  const items: Lists[P][] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    // One call for the four lists: their query is the same, their answers differ by FIELD.
    const page = (await apiGet(path as "/api/templates", { query: { limit, cursor }, signal: options.signal })) as unknown as Record<string, unknown>;
    const got = page[FIELD[path]];
    if (!Array.isArray(got)) throw new ApiError("malformed_answer", `the server's answer to GET ${path} has no ${FIELD[path]}`);
    items.push(...(got as Lists[P][]));
    const next = page.next_cursor;
    if (typeof next !== "string") return items;
    if (seen.has(next)) throw new ApiError("malformed_answer", `the server's answer to GET ${path} gave the cursor ${next} twice`);
    seen.add(next);
    cursor = next;
  }
}
