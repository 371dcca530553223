// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { mockApi } from "../test/api";
import { message } from "../test/fixtures";
import { sessionAs, withSession } from "../test/session";
import { DeliveryPage, rateText } from "./DeliveryPage";

beforeEach(() => window.history.pushState(null, "", "/delivery"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const channels = {
  channels: [
    {
      name: "email",
      detail: "smtp.acme.test:587 (STARTTLS), from Acme <hello@acme.test>",
      concurrency: 16,
      rate_per_sec: 10,
      pending: 3,
      frequency_cap: "at most 3 marketing messages to a person in 7d",
    },
    { name: "webhook", detail: "the URL each step names; signed (Standard Webhooks); private addresses refused", concurrency: 8, rate_per_sec: 0, pending: 0 },
    { name: "sms", detail: "no SMS provider: text messages are rendered and kept (captured), not sent", concurrency: 8, rate_per_sec: 0, pending: 0 },
    { name: "push", detail: "no push provider: notifications are rendered and kept (captured), not sent", concurrency: 8, rate_per_sec: 0, pending: 1 },
    { name: "in_app", detail: "kept for each person's next visit to the website or app (/v1/decide, /v1/in-app/stream)", concurrency: 16, rate_per_sec: 0, pending: 0 },
  ],
};

test("each channel's queue: where it sends, its limits and what waits", async () => {
  mockApi({ "GET /api/channels": channels, "GET /api/messages": { messages: [], next_cursor: null } });
  render(withSession(sessionAs("viewer"), <DeliveryPage />));
  const email = (await screen.findByRole("rowheader", { name: "email" })).closest("tr") as HTMLElement;
  expect(within(email).getAllByRole("cell").map((c) => c.textContent)).toEqual([
    "smtp.acme.test:587 (STARTTLS), from Acme <hello@acme.test>",
    "16",
    "at most 10 a second",
    "3",
    "at most 3 marketing messages to a person in 7d",
  ]);
  const webhook = screen.getByRole("rowheader", { name: "webhook" }).closest("tr") as HTMLElement;
  expect(within(webhook).getAllByRole("cell")[2].textContent).toBe("no limit");
  expect(within(webhook).getAllByRole("cell")[4].textContent).toBe("none");
  // Every channel the server lists, push and in-app among them, in its order: five lanes.
  expect(screen.getAllByRole("rowheader").map((h) => h.textContent)).toEqual(["email", "webhook", "sms", "push", "in_app"]);
  const push = screen.getByRole("rowheader", { name: "push" }).closest("tr") as HTMLElement;
  expect(within(push).getAllByRole("cell").map((c) => c.textContent)).toEqual(["no push provider: notifications are rendered and kept (captured), not sent", "8", "no limit", "1", "none"]);
  const inApp = screen.getByRole("rowheader", { name: "in_app" }).closest("tr") as HTMLElement;
  expect(within(inApp).getAllByRole("cell").map((c) => c.textContent)).toEqual([
    "kept for each person's next visit to the website or app (/v1/decide, /v1/in-app/stream)",
    "16",
    "no limit",
    "0",
    "none",
  ]);
  expect(await screen.findByText("No failed message.")).toBeTruthy();
});

test("failed messages first, with the person and the error; Retry sends one again and the list reloads", async () => {
  let retried = false;
  const failed = message({ id: 7, status: "failed", delivered: false, profile_id: 42, to: "ann@x.test", last_error: "smtp: 550 no such user", attempts: 1 });
  const { calls } = mockApi({
    "GET /api/channels": channels,
    "GET /api/messages": ({ query }: { query: URLSearchParams }) => {
      if (query.get("status") === "failed") return { messages: retried ? [] : [failed], next_cursor: null };
      if (query.get("status") === "sent") return { messages: [message({ id: 8, status: "sent", delivered: true })], next_cursor: "8" };
      return { messages: [], next_cursor: null };
    },
    "POST /api/messages/7/retry": () => {
      retried = true;
      return { retried: 1 };
    },
  });
  render(withSession(sessionAs("editor"), <DeliveryPage />));
  const list = await screen.findByRole("list", { name: "Messages" });
  expect(within(list).getByText("smtp: 550 no such user")).toBeTruthy();
  expect(within(list).getByRole("link", { name: "person 42" }).getAttribute("href")).toBe("/people/42");
  fireEvent.click(within(list).getByRole("button", { name: "Retry" }));
  expect(await screen.findByText("No failed message.")).toBeTruthy();
  expect(calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual(["/api/messages/7/retry"]);
  fireEvent.change(screen.getByLabelText("Show"), { target: { value: "sent" } });
  expect(await screen.findByRole("button", { name: "Load more" })).toBeTruthy();
  const asked = calls.filter((c) => c.path === "/api/messages").map((c) => [c.query.get("status"), c.query.get("limit")]);
  expect(asked).toEqual([
    ["failed", "50"],
    ["failed", "50"],
    ["sent", "50"],
  ]);
});

test("a viewer sees failed messages but may not retry them", async () => {
  mockApi({
    "GET /api/channels": channels,
    "GET /api/messages": { messages: [message({ id: 7, status: "failed", delivered: false })], next_cursor: null },
  });
  render(withSession(sessionAs("viewer"), <DeliveryPage />));
  const list = await screen.findByRole("list", { name: "Messages" });
  expect(within(list).queryByRole("button", { name: "Retry" })).toBeNull();
});

test("a rate reads as words", () => {
  expect([rateText(0), rateText(2.5)]).toEqual(["no limit", "at most 2.5 a second"]);
});
