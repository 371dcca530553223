// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { mockApi } from "../test/api";
import { summary } from "../test/fixtures";
import { PeoplePage } from "./PeoplePage";

beforeEach(() => window.history.pushState(null, "", "/people"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

test("searches by the start of an identity, and loads the next pages with the cursor", async () => {
  const { calls } = mockApi({
    "GET /api/profiles": ({ query }: { query: URLSearchParams }) => {
      if (query.get("q") !== "al") return { profiles: [summary(9, "zed")], next_cursor: null };
      if (query.get("cursor") === null) return { profiles: [summary(1, "alice", { email: "alice@example.com", firstName: "Alice", plan: "pro" })], next_cursor: "1" };
      if (query.get("cursor") === "1") return { profiles: [summary(2, "alan")], next_cursor: "2" };
      return { profiles: [summary(3, "albert")], next_cursor: null };
    },
  });
  render(<PeoplePage />);
  expect(await screen.findByRole("link", { name: "zed" })).toBeTruthy();
  fireEvent.change(screen.getByLabelText("Find a person by the start of a user id or an anonymous id"), { target: { value: "al" } });
  const alice = await screen.findByRole("link", { name: "Alice" });
  expect(alice.getAttribute("href")).toBe("/people/1");
  expect(window.location.search).toBe("?q=al");
  const row = alice.closest("tr") as HTMLElement;
  expect(within(row).getByText("alice")).toBeTruthy();
  expect(within(row).getByText("email")).toBeTruthy();
  expect(within(row).getByText("firstName")).toBeTruthy();
  expect(within(row).queryByText("plan")).toBeNull();
  expect(screen.getByRole("status").textContent).toBe("1 person shown");

  fireEvent.click(screen.getByRole("button", { name: "Load more" }));
  expect(await screen.findByRole("link", { name: "alan" })).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Load more" }));
  expect(await screen.findByRole("link", { name: "albert" })).toBeTruthy();
  expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
  expect(screen.getByRole("status").textContent).toBe("3 people shown, that is all");
  expect(screen.getAllByRole("link").map((l) => l.textContent)).toEqual(["Alice", "alan", "albert"]);
  const asked = calls.filter((c) => c.query.get("q") === "al").map((c) => [c.query.get("cursor"), c.query.get("limit")]);
  expect(asked).toEqual([
    [null, "50"],
    ["1", "50"],
    ["2", "50"],
  ]);
});

test("nobody found, and a failed next page says why next to the button", async () => {
  mockApi({
    "GET /api/profiles": ({ query }: { query: URLSearchParams }) =>
      query.get("q") === "nobody"
        ? { profiles: [], next_cursor: null }
        : query.get("cursor")
          ? { __status: 400, body: { code: "invalid_request", message: "the cursor is not one this list gave" } }
          : { profiles: [summary(1, "alice")], next_cursor: "1" },
  });
  render(<PeoplePage />);
  fireEvent.click(await screen.findByRole("button", { name: "Load more" }));
  expect((await screen.findByRole("alert")).textContent).toContain("The next people could not be loaded: the cursor is not one this list gave");
  expect(screen.getByRole("link", { name: "alice" })).toBeTruthy();
  fireEvent.change(screen.getByRole("searchbox"), { target: { value: "nobody" } });
  expect(await screen.findByText("Nobody has an identity that starts with “nobody”.")).toBeTruthy();
});
