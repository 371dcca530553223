// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { answer, mockApi, type MockRequest, type Route } from "../test/api";
import { computedTrait } from "../test/fixtures";
import { sessionAs, withSession } from "../test/session";
import { ComputedTraitsPage } from "./ComputedTraitsPage";

beforeEach(() => window.history.pushState(null, "", "/computed-traits"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const NAMES: Schemas["Names"] = {
  events: ["Order Completed", "Product Viewed"],
  traits: ["plan", "email", "favourite"],
  properties: { "Order Completed": ["total", "currency"], "Product Viewed": ["sku"] },
  template_variables: [],
};
const SPENT = computedTrait();
const BIGGEST = computedTrait({ trait: "biggest_order", label: "Biggest order", history: { event: "Order Completed", within: "365d", aggregate: "max", property: "total" } });
const ORDERS = computedTrait({ trait: "orders_30d", label: "Orders in 30 days", history: { event: "Order Completed", within: "30d" } });
const SKUS = computedTrait({ trait: "skus_7d", label: "skus_7d", history: { event: "Product Viewed", within: "7d", aggregate: "distinct", property: "sku" } });

function server(over: Record<string, Route | object> = {}) {
  return mockApi({
    "GET /api/computed-traits": { computed_traits: [BIGGEST, SKUS, SPENT] },
    "GET /api/names": NAMES,
    "GET /api/segments": { segments: [] },
    ...over,
  });
}

const rows = () => within(screen.getByRole("table")).getAllByRole("row").slice(1);
const form = (name: string) => screen.getByRole("form", { name });
const keeps = (scope: HTMLElement) => within(scope).getByRole("region", { name: "What it keeps" });

test("each computed trait: its label and trait, what it keeps in words, when it changed; a tab of Segments", async () => {
  server();
  render(<ComputedTraitsPage />);
  expect(await screen.findByText("Biggest order")).toBeTruthy();
  const [biggest, skus, spent] = rows();
  expect(within(biggest).getByText("biggest_order").tagName).toBe("CODE");
  expect(within(biggest).getByText("The largest total of Order Completed in 365 days")).toBeTruthy();
  expect(within(skus).getByText("How many different sku of Product Viewed in 7 days")).toBeTruthy();
  expect(within(spent).getByText("The sum of total of Order Completed in 90 days")).toBeTruthy();
  expect(within(spent).getByRole("button", { name: "Change Spent in 90 days" })).toBeTruthy();
  expect(screen.getByText("3 computed traits").getAttribute("role")).toBe("status");
  const tabs = screen.getByRole("navigation", { name: "Segments, computed traits and lifecycle" });
  expect(within(tabs).getByRole("link", { name: "Computed traits" }).getAttribute("aria-current")).toBe("page");
  expect(within(tabs).getByRole("link", { name: "Lifecycle" }).getAttribute("href")).toBe("/lifecycle");
});

test("a new one: the trait checked as the server would, the query built with the history form, saved; the list asked for again", async () => {
  let saved: unknown;
  let made = false;
  const { calls } = server({
    "GET /api/computed-traits": () => ({ computed_traits: made ? [BIGGEST, SKUS, SPENT, ORDERS] : [BIGGEST, SKUS, SPENT] }),
    "PUT /api/computed-traits/orders_30d": ({ body }: MockRequest) => {
      saved = body;
      made = true;
      return answer(201, ORDERS);
    },
  });
  render(<ComputedTraitsPage />);
  await screen.findByText("Biggest order");
  fireEvent.click(screen.getByRole("button", { name: "New computed trait" }));
  const f = form("New computed trait");
  const trait = within(f).getByLabelText("Trait");
  fireEvent.change(trait, { target: { value: "Orders 30d" } });
  fireEvent.click(within(f).getByRole("button", { name: "Save" }));
  expect(within(f).getByRole("alert").textContent).toBe("A trait's name is 1 to 64 of a-z, 0-9 and _, starting with a letter (templates read it as traits.name).");
  expect(trait.getAttribute("aria-invalid")).toBe("true");
  fireEvent.change(trait, { target: { value: "skus_7d" } });
  fireEvent.click(within(f).getByRole("button", { name: "Save" }));
  expect(within(f).getByRole("alert").textContent).toBe("There is a computed trait skus_7d already: change it from the list.");
  // A trait the data has: said, not refused.
  fireEvent.change(trait, { target: { value: "favourite" } });
  expect(within(f).getByText(/Profiles have a favourite trait already/)).toBeTruthy();
  fireEvent.change(trait, { target: { value: "orders_30d" } });
  fireEvent.change(within(f).getByLabelText("Label"), { target: { value: "Orders in 30 days" } });
  // The event picked from the names the data has.
  const event = within(keeps(f)).getByLabelText("History: event name");
  expect([...(document.getElementById(event.getAttribute("list") ?? "")?.querySelectorAll("option") ?? [])].map((o) => o.getAttribute("value"))).toEqual([
    "Order Completed",
    "Product Viewed",
  ]);
  fireEvent.change(event, { target: { value: "Order Completed" } });
  // What the trait will hold, in words, as it is written.
  expect(within(f).getByText("The number of Order Completed in 30 days", { exact: false })).toBeTruthy();
  expect(calls.some((c) => c.method === "PUT")).toBe(false);
  fireEvent.click(within(f).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(screen.queryByRole("form", { name: "New computed trait" })).toBeNull());
  expect(saved).toEqual({ name: "Orders in 30 days", history: { event: "Order Completed", within: "30d" } });
  expect(screen.getByText(/^Made Orders in 30 days \(traits\.orders_30d\): it is being computed for everyone/)).toBeTruthy();
  expect(await screen.findByText("The number of Order Completed in 30 days")).toBeTruthy();
  expect(calls.filter((c) => c.path === "/api/computed-traits")).toHaveLength(2);
});

test("refused: each problem under the field its path names; the rest said at the top; kept while values are fixed", async () => {
  server({
    "PUT /api/computed-traits/top_order": answer(422, {
      code: "computed_trait_invalid",
      message: "the computed trait is not valid: …",
      details: {
        diagnostics: [
          { path: "/history/property", code: "condition_invalid", severity: "error", message: 'aggregate "max" needs the "property" it reads' },
          { path: "/history/event", code: "condition_invalid", severity: "error", message: '"event" is a non-empty string' },
          { path: "/extra", code: "unknown_field", severity: "error", message: '"extra" is not a field of a computed trait' },
        ],
      },
    }),
  });
  render(<ComputedTraitsPage />);
  await screen.findByText("Biggest order");
  fireEvent.click(screen.getByRole("button", { name: "New computed trait" }));
  const f = form("New computed trait");
  fireEvent.change(within(f).getByLabelText("Trait"), { target: { value: "top_order" } });
  fireEvent.change(within(keeps(f)).getByLabelText("History: aggregate"), { target: { value: "max" } });
  fireEvent.click(within(f).getByRole("button", { name: "Save" }));
  const alert = await within(f).findByRole("alert");
  expect(alert.textContent).toContain("Not saved: the computed trait has 3 problems, shown at the fields they are about.");
  expect(within(alert).getByText("/extra")).toBeTruthy();
  const property = within(keeps(f)).getByLabelText("History: property");
  expect(property.getAttribute("aria-invalid")).toBe("true");
  expect(within(keeps(f)).getByText('aggregate "max" needs the "property" it reads')).toBeTruthy();
  expect(within(keeps(f)).getByLabelText("History: event name").getAttribute("aria-invalid")).toBe("true");
  // Fixing a value keeps them; another aggregate (the query's structure changes) hides them.
  fireEvent.change(property, { target: { value: "total" } });
  expect(within(keeps(f)).getByText(/needs the "property"/)).toBeTruthy();
  fireEvent.change(within(keeps(f)).getByLabelText("History: aggregate"), { target: { value: "count" } });
  expect(within(f).queryByText(/needs the "property"/)).toBeNull();
  expect(within(f).queryByRole("alert")).toBeNull();
});

test("changed: its trait kept, its label and query edited; saved with PUT (200)", async () => {
  let saved: unknown;
  server({
    "PUT /api/computed-traits/biggest_order": ({ body }: MockRequest) => {
      saved = body;
      return computedTrait({ ...BIGGEST, label: "Largest order", history: (body as Schemas["ComputedTraitBody"]).history });
    },
  });
  render(<ComputedTraitsPage />);
  await screen.findByText("Biggest order");
  fireEvent.click(screen.getByRole("button", { name: "Change Biggest order" }));
  const f = form("Change Biggest order");
  expect(within(f).queryByLabelText("Trait")).toBeNull();
  expect(within(f).getByText("biggest_order").tagName).toBe("CODE");
  expect((within(f).getByLabelText("Label") as HTMLInputElement).value).toBe("Biggest order");
  expect((within(keeps(f)).getByLabelText("History: aggregate") as HTMLSelectElement).value).toBe("max");
  expect((within(keeps(f)).getByLabelText("History: property") as HTMLInputElement).value).toBe("total");
  fireEvent.change(within(f).getByLabelText("Label"), { target: { value: "Largest order" } });
  fireEvent.change(within(keeps(f)).getByLabelText("In the last: number"), { target: { value: "90" } });
  fireEvent.click(within(f).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(screen.queryByRole("form", { name: "Change Biggest order" })).toBeNull());
  expect(saved).toEqual({ name: "Largest order", history: { event: "Order Completed", within: "90d", aggregate: "max", property: "total" } });
  expect(screen.getByText(/^Saved Largest order \(traits\.biggest_order\)/)).toBeTruthy();
});

test("delete asks once, naming what happens to the values; deleted, gone from the list; already gone (404), said", async () => {
  let gone = false;
  const { calls } = server({
    "GET /api/computed-traits": () => ({ computed_traits: gone ? [BIGGEST, SKUS] : [BIGGEST, SKUS, SPENT] }),
    "DELETE /api/computed-traits/spent_90d": () => {
      gone = true;
      return answer(204, "");
    },
  });
  render(<ComputedTraitsPage />);
  await screen.findByText("Spent in 90 days");
  fireEvent.click(screen.getByRole("button", { name: "Delete Spent in 90 days…" }));
  const question = screen.getByRole("group", { name: /^Delete the computed trait “Spent in 90 days”\?/ });
  expect(question.textContent).toContain("Wayfarer stops keeping traits.spent_90d: the values written stay on the profiles, no longer updated.");
  fireEvent.click(within(question).getByRole("button", { name: "Cancel" }));
  expect(calls.some((c) => c.method === "DELETE")).toBe(false);
  fireEvent.click(screen.getByRole("button", { name: "Delete Spent in 90 days…" }));
  fireEvent.click(screen.getByRole("button", { name: "Yes, delete Spent in 90 days" }));
  await waitFor(() => expect(screen.queryByText("The sum of total of Order Completed in 90 days")).toBeNull());
  expect(screen.getByText("Deleted Spent in 90 days: traits.spent_90d is no longer kept.")).toBeTruthy();
  expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(1);

  // Deleted elsewhere meanwhile: the server's words.
  cleanup();
  vi.unstubAllGlobals();
  server({ "DELETE /api/computed-traits/spent_90d": answer(404, { code: "not_found", message: 'computed trait "spent_90d"' }) });
  render(<ComputedTraitsPage />);
  await screen.findByText("Spent in 90 days");
  fireEvent.click(screen.getByRole("button", { name: "Delete Spent in 90 days…" }));
  fireEvent.click(screen.getByRole("button", { name: "Yes, delete Spent in 90 days" }));
  expect((await screen.findByRole("alert")).textContent).toBe('Not deleted: computed trait "spent_90d"');
});

test("none yet: what a computed trait is, an example to start from, and the API", async () => {
  let saved: unknown;
  server({
    "GET /api/computed-traits": { computed_traits: [] },
    "PUT /api/computed-traits/spent_90d": ({ body }: MockRequest) => {
      saved = body;
      return answer(201, SPENT);
    },
  });
  render(<ComputedTraitsPage />);
  expect(await screen.findByText("No computed traits yet.")).toBeTruthy();
  expect(screen.getByText(/curl -X PUT .*\/api\/computed-traits\/spent_90d/)).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Start from an example: Spent in 90 days" }));
  const f = form("New computed trait");
  expect((within(f).getByLabelText("Trait") as HTMLInputElement).value).toBe("spent_90d");
  expect((within(keeps(f)).getByLabelText("History: aggregate") as HTMLSelectElement).value).toBe("sum");
  fireEvent.click(within(f).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(saved).toEqual({ name: "Spent in 90 days", history: { event: "Order Completed", within: "90d", aggregate: "sum", property: "total" } }));
});

test("a viewer reads the list, and is told why there is nothing to change it with", async () => {
  server();
  render(withSession(sessionAs("viewer"), <ComputedTraitsPage />));
  await screen.findByText("Biggest order");
  expect(screen.queryByRole("button", { name: "New computed trait" })).toBeNull();
  expect(screen.queryByRole("button", { name: /^Change / })).toBeNull();
  expect(screen.queryByRole("button", { name: /^Delete / })).toBeNull();
  expect(screen.getByText(/Read only/)).toBeTruthy();
});

test("the list could not be had: the server's words, and Try again", async () => {
  let fail = true;
  server({ "GET /api/computed-traits": () => (fail ? answer(503, { code: "unavailable", message: "the store is unavailable" }) : { computed_traits: [SPENT] }) });
  render(<ComputedTraitsPage />);
  expect((await screen.findByRole("alert")).textContent).toContain("The computed traits could not be listed: the store is unavailable");
  fail = false;
  fireEvent.click(screen.getByRole("button", { name: "Try again" }));
  expect(await screen.findByText("Spent in 90 days")).toBeTruthy();
});
