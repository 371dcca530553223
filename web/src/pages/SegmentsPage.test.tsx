// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { mockApi } from "../test/api";
import { segment } from "../test/fixtures";
import { sessionAs, withSession } from "../test/session";
import { SegmentsPage } from "./SegmentsPage";

beforeEach(() => window.history.pushState(null, "", "/segments"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const LAPSED = segment({
  id: "lapsed",
  name: "No order in 30 days",
  size: 1234,
  condition: {
    all: [
      { trait: "email", op: "exists" },
      { history: { event: "Order Completed", within: "30d" }, op: "eq", value: 0 },
    ],
  } as unknown as Schemas["SegmentView"]["condition"],
});
const VIP = segment({ id: "vip", name: "VIP", size: 3, condition: { all: [{ segment: "lapsed" }, { trait: "plan", op: "eq", value: "pro" }] } as unknown as Schemas["SegmentView"]["condition"] });

const rows = () => within(screen.getByRole("table")).getAllByRole("row").slice(1);

test("each segment: its name (a link to its page), id, who is in it in words, its size now", async () => {
  mockApi({ "GET /api/segments": { segments: [LAPSED, VIP] } });
  render(<SegmentsPage />);
  expect(await screen.findByRole("link", { name: "No order in 30 days" })).toBeTruthy();
  const [lapsed, vip] = rows();
  expect(within(lapsed).getByRole("link").getAttribute("href")).toBe("/segments/lapsed");
  expect(within(lapsed).getByText("lapsed").tagName).toBe("CODE");
  expect(within(lapsed).getByText("email is set and no Order Completed in 30 days")).toBeTruthy();
  expect(within(lapsed).getByText("1,234")).toBeTruthy();
  // Another segment is named by its name.
  expect(within(vip).getByText("in segment No order in 30 days and plan is pro")).toBeTruthy();
  expect(screen.queryByText(/Filling/)).toBeNull();
  expect(screen.getByText("2 segments").getAttribute("role")).toBe("status");
});

test("while everyone is evaluated again, how far that is; asked for again until done", async () => {
  let asked = 0;
  const { calls } = mockApi({
    "GET /api/segments": () => {
      asked++;
      return { segments: [{ ...LAPSED, size: asked, fill: asked < 2 ? { done: 200, of: 1000 } : null }] };
    },
  });
  render(<SegmentsPage />);
  const progress = await screen.findByRole("progressbar", { name: "Filling: 200 of 1,000 people" });
  expect(progress.getAttribute("value")).toBe("200");
  expect(screen.getByText("Filling: 200 of 1,000 people")).toBeTruthy();
  // Refreshed in place: the table stays while the next answer comes.
  await waitFor(() => expect(screen.queryByText(/Filling/)).toBeNull(), { timeout: 6000 });
  expect(within(rows()[0]).getByText("2")).toBeTruthy();
  // Done: not asked again.
  await new Promise((r) => setTimeout(r, 2500));
  expect(calls.filter((c) => c.path === "/api/segments")).toHaveLength(2);
}, 15000);

test("New segment: an id as the server takes it, not one there is already; then the segment's page", async () => {
  mockApi({ "GET /api/segments": { segments: [LAPSED] } });
  render(<SegmentsPage />);
  await screen.findByRole("link", { name: "No order in 30 days" });
  fireEvent.click(screen.getByRole("button", { name: "New segment" }));
  const form = screen.getByRole("form", { name: "New segment" });
  const input = within(form).getByLabelText("Id of the new segment (what journeys name)");
  fireEvent.change(input, { target: { value: "Big Spenders" } });
  fireEvent.click(within(form).getByRole("button", { name: "Create" }));
  expect(within(form).getByRole("alert").textContent).toBe("An id is 1 to 64 of a-z, 0-9, - and _, starting with a letter or a digit.");
  expect(input.getAttribute("aria-invalid")).toBe("true");
  fireEvent.change(input, { target: { value: "lapsed" } });
  fireEvent.click(within(form).getByRole("button", { name: "Create" }));
  expect(within(form).getByRole("alert").textContent).toBe("There is a segment lapsed already.");
  fireEvent.change(input, { target: { value: "big-spenders" } });
  fireEvent.click(within(form).getByRole("button", { name: "Create" }));
  expect(window.location.pathname).toBe("/segments/big-spenders");
});

test("none yet: what a segment is, and how to make one", async () => {
  mockApi({ "GET /api/segments": { segments: [] } });
  render(<SegmentsPage />);
  expect(await screen.findByText("No segments yet.")).toBeTruthy();
  expect(screen.getByText(/curl -X PUT .*\/api\/segments\/lapsed-buyers/)).toBeTruthy();
});

test("a viewer reads the list, and is told why there is no New segment", async () => {
  mockApi({ "GET /api/segments": { segments: [LAPSED] } });
  render(withSession(sessionAs("viewer"), <SegmentsPage />));
  await screen.findByRole("link", { name: "No order in 30 days" });
  expect(screen.queryByRole("button", { name: "New segment" })).toBeNull();
  expect(screen.getByText(/Read only/)).toBeTruthy();
});

test("the list could not be had: the server's words, and Try again", async () => {
  let fail = true;
  mockApi({ "GET /api/segments": () => (fail ? { __status: 503, body: { code: "unavailable", message: "the store is unavailable" } } : { segments: [VIP] }) });
  render(<SegmentsPage />);
  expect((await screen.findByRole("alert")).textContent).toContain("The segments could not be listed: the store is unavailable");
  fail = false;
  fireEvent.click(screen.getByRole("button", { name: "Try again" }));
  expect(await screen.findByRole("link", { name: "VIP" })).toBeTruthy();
});
