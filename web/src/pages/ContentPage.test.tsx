// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { mockApi, type MockRequest } from "../test/api";
import { summary } from "../test/fixtures";
import { ContentPage } from "./ContentPage";
import { TemplatePage } from "./TemplatePage";

beforeEach(() => window.history.pushState(null, "", "/content"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
});

const welcome: Schemas["TemplateView"] = {
  id: "welcome",
  subject: "Hi {{ traits.firstName }}",
  html: "<p>Hello {{ traits.firstName }}</p>",
  text: "",
  category: "marketing",
  sms: "",
  push: {},
  in_app: {},
  locales: {},
  updated_at: "2030-01-01T00:00:00Z",
};

/** No image uploaded yet. */
const NO_ASSETS: Schemas["AssetList"] = { assets: [], next_cursor: null };

test("the templates with the channels each has, and a new one by its id", async () => {
  const templates = [
    { ...welcome, id: "back-in-stock", subject: "", html: "", push: { title: "Back in stock", link: "myapp://cart" } },
    { ...welcome, id: "reminder", html: "", text: "Still there?", sms: "Still there?", push: { body: "Still there?" } },
    { ...welcome, id: "spring-sale", subject: "", html: "", in_app: { placement: "home", layout: "banner", title: "Spring sale", button: "Shop", link: "https://shop.test" }, locales: { de: { in_app: { title: "Frühlingsangebot" } }, fr: { in_app: { title: "Soldes" } } } },
    { ...welcome, id: "text-only", subject: "", html: "", sms: "Hi {{ traits.firstName }}" },
    welcome,
  ];
  mockApi({ "GET /api/templates": { templates, next_cursor: null }, "GET /api/assets": NO_ASSETS });
  render(<ContentPage />);
  const table = await within(screen.getByRole("region", { name: "Templates" })).findByRole("table");
  expect(within(table).getAllByRole("link").map((l) => l.textContent)).toEqual(["back-in-stock", "reminder", "spring-sale", "text-only", "welcome"]);
  const column = within(table)
    .getAllByRole("columnheader")
    .findIndex((h) => h.textContent === "Channels");
  const cells = within(table)
    .getAllByRole("row")
    .slice(1)
    .map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent));
  expect(cells.map((r) => r[column])).toEqual(["Push", "Email (text) · SMS · Push", "In-app", "SMS", "Email (HTML)"]);
  // And its translations' locales.
  expect(cells.map((r) => r[column + 1])).toEqual(["none", "none", "de, fr", "none", "none"]);
  expect(within(table).getByText("de, fr").getAttribute("title")).toBe("German (de), French (fr)");
  // An SMS, a push notification or an in-app message has no subject.
  expect(cells[0][1]).toBe("none");
  expect(cells[2][1]).toBe("none");
  expect(cells[3][1]).toBe("none");
  fireEvent.click(screen.getByRole("button", { name: "New template" }));
  const id = screen.getByLabelText(/Id of the new template/);
  fireEvent.change(id, { target: { value: "Welcome!" } });
  fireEvent.click(screen.getByRole("button", { name: "Create" }));
  expect(screen.getByRole("alert").textContent).toBe("An id is 1-100 characters of a-z, 0-9, - and _.");
  fireEvent.change(id, { target: { value: "welcome" } });
  fireEvent.click(screen.getByRole("button", { name: "Create" }));
  expect(screen.getByRole("alert").textContent).toBe("There is a template welcome already.");
  fireEvent.change(id, { target: { value: "winback" } });
  fireEvent.click(screen.getByRole("button", { name: "Create" }));
  expect(window.location.pathname).toBe("/content/winback");
});

test("templates a page at a time; a new id not among those shown is asked about", async () => {
  const { calls } = mockApi({
    "GET /api/templates": ({ query }: { query: URLSearchParams }) =>
      query.get("cursor") === "reminder" ? { templates: [{ ...welcome, id: "zeta" }], next_cursor: null } : { templates: [{ ...welcome, id: "reminder" }], next_cursor: "reminder" },
    "GET /api/templates/welcome": welcome,
    "GET /api/assets": NO_ASSETS,
  });
  render(<ContentPage />);
  const list = screen.getByRole("region", { name: "Templates" });
  expect(await screen.findByRole("link", { name: "reminder" })).toBeTruthy();
  expect(within(list).getByRole("status").textContent).toBe("1 template shown");
  fireEvent.click(screen.getByRole("button", { name: "New template" }));
  fireEvent.change(screen.getByLabelText(/Id of the new template/), { target: { value: "welcome" } });
  fireEvent.click(screen.getByRole("button", { name: "Create" }));
  expect((await screen.findByRole("alert")).textContent).toBe("There is a template welcome already.");
  expect(calls.some((c) => c.path === "/api/templates/welcome")).toBe(true);
  fireEvent.click(screen.getByRole("button", { name: "Load more" }));
  expect(await screen.findByRole("link", { name: "zeta" })).toBeTruthy();
  expect(within(list).getByRole("status").textContent).toBe("2 templates shown, that is all");
  expect(calls.filter((c) => c.path === "/api/templates").map((c) => c.query.get("cursor"))).toEqual([null, "reminder"]);
});

/** Renders `{{ traits.firstName }}` as the server would, for person 4 (Alice, with two devices) or nobody. */
function preview({ body }: MockRequest) {
  const { template: own, profile_id, locale } = body as Schemas["PreviewRequest"];
  // Asked for a translation the template has: its parts, each empty one the template's own.
  const tr = locale ? own.locales?.[locale] : undefined;
  const pick = (mine = "", theirs = "") => (theirs.trim() ? theirs : mine);
  const pickAll = <T extends Record<string, string | undefined>>(mine: T = {} as T, theirs: Partial<T> = {}) =>
    Object.fromEntries([...new Set([...Object.keys(mine), ...Object.keys(theirs)])].map((k) => [k, pick(mine[k], theirs[k])])) as T;
  const template = tr
    ? { ...own, subject: pick(own.subject, tr.subject), html: pick(own.html, tr.html), text: pick(own.text, tr.text), sms: pick(own.sms, tr.sms), push: pickAll(own.push, tr.push), in_app: pickAll(own.in_app, tr.in_app) }
    : own;
  const traits = profile_id === 4 ? { firstName: "Alice", email: "alice@example.com", locale: "fr-CA", push_tokens: ["phone-token", "tablet-token"] } : {};
  const part = (src = "") =>
    src.includes("traits.firstName") && profile_id !== 4
      ? { rendered: null, error: "liquid: Unknown variable traits.firstName (line 1)" }
      : { rendered: src.replaceAll("{{ traits.firstName }}", "Alice"), error: null };
  const sms = part(template.sms);
  // The server's count for GSM text: 160 characters in one part, 153 a part beyond.
  const length = (sms.rendered ?? "").trim().length;
  const sms_segments = length === 0 ? 0 : length <= 160 ? 1 : Math.ceil(length / 153);
  const push = template.push ?? {};
  const in_app = template.in_app ?? {};
  return {
    subject: part(template.subject),
    html: part(template.html),
    text: part(template.text),
    sms,
    sms_segments,
    push: { title: part(push.title), body: part(push.body), link: part(push.link), image: part(push.image) },
    in_app: { title: part(in_app.title), body: part(in_app.body), button: part(in_app.button), link: part(in_app.link), image: part(in_app.image) },
    ...(tr ? { locale } : {}),
    context: { traits, event: { path: "/products/a" }, event_name: "Page Viewed", profile_id: profile_id ?? 0 },
  };
}

const slow = { timeout: 3000 };

/** A template without a push notification, as the editor sends it. */
const NO_PUSH = { title: "", body: "", link: "", image: "" };
/** A template without an in-app message, as the editor sends it: a banner for any place, nothing in it. */
const NO_IN_APP = { placement: "", layout: "banner", title: "", body: "", button: "", link: "", image: "" };

test("the editor: the preview for a picked person, again as the template changes; variables insert at the cursor", async () => {
  const { calls } = mockApi({
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: ["Page Viewed"], traits: ["firstName", "email"], properties: { "Page Viewed": ["path"] }, template_variables: ["traits", "event", "event_name", "journey", "profile_id", "run"] },
    "POST /api/template-preview": preview,
    "GET /api/profiles": { profiles: [summary(4, "alice", { firstName: "Alice" })], next_cursor: null },
  });
  render(<TemplatePage id="welcome" />);
  const subject = (await screen.findByLabelText("Subject")) as HTMLInputElement;
  expect(subject.value).toBe("Hi {{ traits.firstName }}");
  // For nobody, the parts that read a trait do not render: said under each part.
  const problem = await screen.findByText(/Unknown variable traits.firstName/, { selector: "#template-subject-render pre" }, slow);
  expect(problem.parentElement?.textContent).toContain("Does not render for nobody");
  expect(subject.getAttribute("aria-invalid")).toBe("true");
  expect(subject.getAttribute("aria-describedby")).toBe("template-subject-render");

  fireEvent.click(screen.getByRole("button", { name: "Pick a person" }));
  fireEvent.change(screen.getByRole("searchbox"), { target: { value: "al" } });
  fireEvent.click(await screen.findByRole("button", { name: "Alice" }, slow));
  expect((await screen.findByTestId("preview-subject", {}, slow)).textContent).toBe("Hi Alice");
  const frame = screen.getByTitle("The HTML part at desktop width") as HTMLIFrameElement;
  expect(frame.getAttribute("sandbox")).toBe("");
  expect(frame.getAttribute("srcdoc")).toContain("<p>Hello Alice</p>");
  expect(frame.getAttribute("srcdoc")).toContain("default-src 'none'");
  fireEvent.click(screen.getByRole("button", { name: "Phone (375px)" }));
  expect(screen.getByTitle("The HTML part at phone width").style.width).toBe("375px");

  // Typing changes the preview, once typing pauses.
  fireEvent.change(subject, { target: { value: "Welcome, {{ traits.firstName }}!" } });
  await vi.waitFor(() => expect(screen.getByTestId("preview-subject").textContent).toBe("Welcome, Alice!"), slow);
  const asked = calls.filter((c) => c.path === "/api/template-preview").map((c) => c.body as Schemas["PreviewRequest"]);
  expect(asked.at(-1)).toEqual({ template: { subject: "Welcome, {{ traits.firstName }}!", html: welcome.html, text: "", sms: "", push: NO_PUSH, in_app: NO_IN_APP }, profile_id: 4 });
  expect(screen.getByRole("status").textContent).toBe("Changes not saved");

  // The person's context as a tree; a click inserts its Liquid where the cursor was.
  const text = screen.getByLabelText("Text") as HTMLTextAreaElement;
  fireEvent.change(text, { target: { value: "Dear , bye" } });
  text.setSelectionRange(5, 5);
  fireEvent.focus(text);
  fireEvent.click(await screen.findByRole("button", { name: "Insert {{ traits.firstName }}" }, slow));
  expect(text.value).toBe("Dear {{ traits.firstName }}, bye");
  fireEvent.click(screen.getByRole("button", { name: "event_name" }));
  expect(text.value).toBe("Dear {{ traits.firstName }}{{ event_name }}, bye");
  expect(screen.getByRole("button", { name: "Insert {{ event.path }}" })).toBeTruthy();
});

test("saving: a 422 template_invalid puts each problem next to its part; then a save that works", async () => {
  let attempt = 0;
  const { calls } = mockApi({
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: ["traits"] },
    "POST /api/template-preview": preview,
    "PUT /api/templates/welcome": ({ body }: MockRequest) =>
      ++attempt === 1
        ? { __status: 422, body: { code: "template_invalid", message: "html: unknown tag", details: { problems: [{ part: "html", message: "does not parse as Liquid: liquid:  --> 2:4\n  |\n2 | {% iff x %}</p>\n  |    ^-^\n  = Unknown tag." }] } } }
        : { ...welcome, ...(body as object), updated_at: "2030-01-02T00:00:00Z" },
  });
  render(<TemplatePage id="welcome" />);
  const html = (await screen.findByLabelText("HTML")) as HTMLTextAreaElement;
  const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
  expect(save.disabled).toBe(true);
  fireEvent.change(html, { target: { value: "<p>\n{% iff x %}</p>" } });
  fireEvent.click(save);
  expect((await screen.findByText(/Unknown tag\./)).closest(".field")?.querySelector("label")?.textContent).toBe("HTML");
  expect(html.getAttribute("aria-invalid")).toBe("true");
  expect(html.getAttribute("aria-describedby")).toContain("template-html-save");
  // The problem points at its line: the cursor goes there.
  fireEvent.click(screen.getByRole("button", { name: "Go to line 2, column 4" }));
  expect(html.selectionStart).toBe("<p>\n".length + 3);
  expect(screen.getByText("Not saved: HTML has problems")).toBeTruthy();
  expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ subject: welcome.subject, html: "<p>\n{% iff x %}</p>", text: "", sms: "", push: NO_PUSH, in_app: NO_IN_APP, locales: {}, category: "marketing" });
  // Editing the part clears its problem; saving again works.
  fireEvent.change(html, { target: { value: "<p>fixed</p>" } });
  expect(screen.queryByText(/Unknown tag\./)).toBeNull();
  fireEvent.click(save);
  expect(await screen.findByText(/^Saved/)).toBeTruthy();
  expect(save.disabled).toBe(true);
  // The kind of message is saved with it: transactional is sent even to people who unsubscribed.
  fireEvent.change(screen.getByLabelText("Kind of message"), { target: { value: "transactional" } });
  expect(save.disabled).toBe(false);
  fireEvent.click(save);
  expect(await screen.findByText(/^Saved/)).toBeTruthy();
  expect(calls.filter((c) => c.method === "PUT").at(-1)?.body).toMatchObject({ html: "<p>fixed</p>", category: "transactional" });
});

test("a template that does not exist yet is a new one; other errors are said", async () => {
  mockApi({
    "GET /api/templates/fresh": { __status: 404, body: { code: "not_found", message: "no template fresh" } },
    "GET /api/templates/broken": { __status: 503, body: { code: "unavailable", message: "the store is unavailable" } },
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: [] },
    "POST /api/template-preview": preview,
  });
  render(<TemplatePage id="fresh" />);
  expect(await screen.findByText("New template, not saved yet")).toBeTruthy();
  expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(false);
  cleanup();
  render(<TemplatePage id="broken" />);
  expect((await screen.findByRole("alert")).textContent).toContain("Template broken could not be loaded: the store is unavailable");
});

test("the SMS part: a section of its own, previewed as a message with its characters and parts; its variables leave out unsubscribe_url", async () => {
  mockApi({
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: ["firstName"], properties: {}, template_variables: ["traits", "event_name", "unsubscribe_url"] },
    "POST /api/template-preview": preview,
  });
  render(<TemplatePage id="welcome" />);
  await screen.findByLabelText("Subject");
  const email = screen.getByRole("region", { name: "Email" });
  expect(within(email).getByLabelText("Subject")).toBeTruthy();
  expect(within(email).getByLabelText("HTML")).toBeTruthy();
  expect(within(email).getByLabelText("Text")).toBeTruthy();
  const sms = within(screen.getByRole("region", { name: "SMS" })).getByLabelText("SMS text") as HTMLTextAreaElement;
  const shownPreview = screen.getByRole("region", { name: "Preview" });
  expect(await within(shownPreview).findByText("No SMS: this template has no SMS text, so SMS send steps cannot use it.", {}, slow)).toBeTruthy();

  // The unsubscribe link is for emails: not offered while the SMS text is where the cursor was.
  const chips = () =>
    within(screen.getByRole("region", { name: "Variables" }))
      .getAllByRole("button")
      .map((b) => b.textContent);
  await vi.waitFor(() => expect(chips()).toContain("unsubscribe_url"));
  fireEvent.focus(sms);
  expect(chips()).not.toContain("unsubscribe_url");
  expect(screen.getByText(/now: SMS text/)).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "event_name" }));
  expect(sms.value).toBe("{{ event_name }}");
  expect(screen.getByRole("status").textContent).toBe("Changes not saved");

  // Sent trimmed, as the server counts it.
  fireEvent.change(sms, { target: { value: "  Your order has shipped.\n" } });
  expect((await screen.findByTestId("preview-sms", {}, slow)).textContent).toBe("Your order has shipped.");
  expect(screen.getByTestId("preview-sms-count").textContent).toBe("23 characters · 1 part");
  fireEvent.change(sms, { target: { value: "x".repeat(200) } });
  await vi.waitFor(() => expect(screen.getByTestId("preview-sms-count").textContent).toBe("200 characters · 2 parts"), slow);

  // For nobody, a trait does not render: said under the part and in the preview.
  fireEvent.change(sms, { target: { value: "Hi {{ traits.firstName }}" } });
  expect(await screen.findByText(/Unknown variable traits.firstName/, { selector: "#template-sms-render pre" }, slow)).toBeTruthy();
  expect(sms.getAttribute("aria-describedby")).toBe("template-sms-render");
  expect(within(shownPreview).getAllByRole("alert").map((a) => a.querySelector("strong")?.textContent)).toContain("The SMS text does not render");

  // Back as it was saved: nothing to save.
  fireEvent.change(sms, { target: { value: "" } });
  expect(screen.getByRole("status").textContent).toMatch(/^Saved/);
});

test("a new template with SMS text only: no email in the preview, asks before leaving, a problem in the SMS text shown next to it", async () => {
  let attempt = 0;
  const { calls } = mockApi({
    "GET /api/templates/code": { __status: 404, body: { code: "not_found", message: "no template code" } },
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: ["traits"] },
    "POST /api/template-preview": preview,
    "PUT /api/templates/code": ({ body }: MockRequest) =>
      ++attempt === 1
        ? { __status: 422, body: { code: "template_invalid", message: "sms uses unsubscribe_url", details: { problems: [{ part: "sms", message: "uses unsubscribe_url, which SMS text does not have" }] } } }
        : { ...welcome, id: "code", subject: "", html: "", ...(body as object), updated_at: "2030-01-02T00:00:00Z" },
  });
  const confirm = vi.fn(() => false);
  vi.stubGlobal("confirm", confirm);
  window.history.pushState(null, "", "/content/code");
  render(<TemplatePage id="code" />);
  const sms = (await screen.findByLabelText("SMS text")) as HTMLTextAreaElement;
  fireEvent.click(screen.getByRole("link", { name: "Content" }));
  expect(confirm).not.toHaveBeenCalled();
  window.history.pushState(null, "", "/content/code");

  fireEvent.change(sms, { target: { value: "Your code: {{ unsubscribe_url }}" } });
  fireEvent.click(screen.getByRole("link", { name: "Content" }));
  expect(confirm).toHaveBeenCalledWith("This template has changes that are not saved. Leave without saving them?");
  expect(window.location.pathname).toBe("/content/code");
  expect(await screen.findByText("No email: this template has no subject, HTML or text, so email send steps cannot use it.", {}, slow)).toBeTruthy();

  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  const problem = await screen.findByText("uses unsubscribe_url, which SMS text does not have");
  expect(problem.closest(".field")?.querySelector("label")?.textContent).toBe("SMS text");
  expect(sms.getAttribute("aria-invalid")).toBe("true");
  expect(screen.getByText("Not saved: SMS text has problems")).toBeTruthy();
  expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ subject: "", html: "", text: "", sms: "Your code: {{ unsubscribe_url }}", push: NO_PUSH, in_app: NO_IN_APP, locales: {}, category: "marketing" });

  fireEvent.change(sms, { target: { value: "Your code is ready." } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  expect(await screen.findByText(/^Saved/)).toBeTruthy();
  expect(calls.filter((c) => c.method === "PUT").at(-1)?.body).toMatchObject({ sms: "Your code is ready." });
  fireEvent.click(screen.getByRole("link", { name: "Content" }));
  expect(confirm).toHaveBeenCalledTimes(1);
  expect(window.location.pathname).toBe("/content");
});

test("the push part: a section of its own (title, body, link, image), previewed as a notification whose image is not loaded; its variables leave out unsubscribe_url", async () => {
  mockApi({
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: ["firstName"], properties: {}, template_variables: ["traits", "event_name", "unsubscribe_url"] },
    "POST /api/template-preview": preview,
    "GET /api/profiles": { profiles: [summary(4, "alice", { firstName: "Alice" })], next_cursor: null },
  });
  render(<TemplatePage id="welcome" />);
  await screen.findByLabelText("Subject");
  const region = screen.getByRole("region", { name: "Push notification" });
  const [title, body, link, image] = ["Push title", "Push body", "Push link", "Push image"].map((l) => within(region).getByLabelText(l) as HTMLInputElement | HTMLTextAreaElement);
  expect([title, body, link, image].map((f) => f.tagName)).toEqual(["INPUT", "TEXTAREA", "INPUT", "INPUT"]);
  const shownPreview = screen.getByRole("region", { name: "Preview" });
  expect(await within(shownPreview).findByText("No push notification: this template has no push title or body, so push send steps cannot use it.", {}, slow)).toBeTruthy();

  // The unsubscribe link is for emails: not offered while a push part is where the cursor was.
  const chips = () =>
    within(screen.getByRole("region", { name: "Variables" }))
      .getAllByRole("button")
      .map((b) => b.textContent);
  await vi.waitFor(() => expect(chips()).toContain("unsubscribe_url"));
  fireEvent.focus(title);
  expect(chips()).not.toContain("unsubscribe_url");
  expect(screen.getByText(/now: Push title/)).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "traits.firstName" }));
  expect(title.value).toBe("{{ traits.firstName }}");
  expect(screen.getByRole("status").textContent).toBe("Changes not saved");

  // For nobody, a trait does not render: said under the part and in the preview.
  expect(await screen.findByText(/Unknown variable traits.firstName/, { selector: "#template-push-title-render pre" }, slow)).toBeTruthy();
  expect(title.getAttribute("aria-describedby")).toBe("template-push-title-render");
  expect(within(shownPreview).getAllByRole("alert").map((a) => a.querySelector("strong")?.textContent)).toContain("The push title does not render");

  // For Alice: the card, trimmed as it is sent, where a tap leads, and the image's address only.
  fireEvent.click(screen.getByRole("button", { name: "Pick a person" }));
  fireEvent.change(screen.getByRole("searchbox"), { target: { value: "al" } });
  fireEvent.click(await screen.findByRole("button", { name: "Alice" }, slow));
  fireEvent.change(title, { target: { value: "Hi {{ traits.firstName }}" } });
  fireEvent.change(body, { target: { value: "  Your size is back in stock.\n" } });
  fireEvent.change(link, { target: { value: "myapp://cart" } });
  fireEvent.change(image, { target: { value: "https://cdn.acme.test/shoe.png" } });
  await vi.waitFor(() => expect(screen.getByTestId("preview-push-title").textContent).toBe("Hi Alice"), slow);
  await vi.waitFor(() => expect(screen.getByTestId("preview-push").textContent).toContain("https://cdn.acme.test/shoe.png"), slow);
  expect(screen.getByTestId("preview-push-body").textContent).toBe("Your size is back in stock.");
  expect(screen.getByTestId("preview-push-link").textContent).toBe("Opens: myapp://cart");
  expect(screen.getByTestId("preview-push").textContent).toContain("Image, not loaded in the preview");
  expect(shownPreview.querySelector("img")).toBeNull();
  expect(within(shownPreview).getByText("Goes to alice's 2 devices (push_tokens).")).toBeTruthy();
  // An image that is not https is said so, and not drawn in the card.
  fireEvent.change(image, { target: { value: "http://cdn.acme.test/shoe.png" } });
  expect(await within(shownPreview).findByText(/The image is not an https URL, so devices may not show it/, {}, slow)).toBeTruthy();
  expect(screen.getByTestId("preview-push").textContent).not.toContain("shoe.png");

  // Back as it was saved: nothing to save.
  for (const f of [title, body, link, image]) fireEvent.change(f, { target: { value: "" } });
  expect(screen.getByRole("status").textContent).toMatch(/^Saved/);
});

test("a new template with a push notification only: no email or SMS in the preview, asks before leaving, a problem in its link shown next to it", async () => {
  let attempt = 0;
  const { calls } = mockApi({
    "GET /api/templates/restock": { __status: 404, body: { code: "not_found", message: "no template restock" } },
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: ["traits"] },
    "POST /api/template-preview": preview,
    "PUT /api/templates/restock": ({ body }: MockRequest) =>
      ++attempt === 1
        ? {
            __status: 422,
            body: {
              code: "template_invalid",
              message: "push.link uses unsubscribe_url",
              details: { problems: [{ part: "push.link", message: "uses unsubscribe_url, which push notifications do not have" }] },
            },
          }
        : { ...welcome, id: "restock", subject: "", html: "", ...(body as object), updated_at: "2030-01-02T00:00:00Z" },
  });
  const confirm = vi.fn(() => false);
  vi.stubGlobal("confirm", confirm);
  window.history.pushState(null, "", "/content/restock");
  render(<TemplatePage id="restock" />);
  const title = (await screen.findByLabelText("Push title")) as HTMLInputElement;
  const link = screen.getByLabelText("Push link") as HTMLInputElement;
  fireEvent.change(title, { target: { value: "Back in stock" } });
  fireEvent.change(link, { target: { value: "{{ unsubscribe_url }}" } });
  fireEvent.click(screen.getByRole("link", { name: "Content" }));
  expect(confirm).toHaveBeenCalledWith("This template has changes that are not saved. Leave without saving them?");
  expect(window.location.pathname).toBe("/content/restock");
  expect(await screen.findByText("No email: this template has no subject, HTML or text, so email send steps cannot use it.", {}, slow)).toBeTruthy();
  expect(screen.getByText("No SMS: this template has no SMS text, so SMS send steps cannot use it.")).toBeTruthy();

  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  const problem = await screen.findByText("uses unsubscribe_url, which push notifications do not have");
  expect(problem.closest(".field")?.querySelector("label")?.textContent).toBe("Push link");
  expect(link.getAttribute("aria-invalid")).toBe("true");
  expect(link.getAttribute("aria-describedby")).toContain("template-push-link-save");
  expect(screen.getByText("Not saved: Push link has problems")).toBeTruthy();
  expect(calls.find((c) => c.method === "PUT")?.body).toEqual({
    subject: "",
    html: "",
    text: "",
    sms: "",
    push: { title: "Back in stock", body: "", link: "{{ unsubscribe_url }}", image: "" },
    in_app: NO_IN_APP,
    locales: {},
    category: "marketing",
  });

  fireEvent.change(link, { target: { value: "myapp://restock" } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  expect(await screen.findByText(/^Saved/)).toBeTruthy();
  expect(calls.filter((c) => c.method === "PUT").at(-1)?.body).toMatchObject({ push: { title: "Back in stock", link: "myapp://restock" } });
  // What the server answered is what the editor holds: nothing left to save.
  expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(true);
  fireEvent.click(screen.getByRole("link", { name: "Content" }));
  expect(confirm).toHaveBeenCalledTimes(1);
  expect(window.location.pathname).toBe("/content");
});

test("the in-app part: a section of its own (place, layout, title, body, button, link, image), previewed as a banner or a modal in plain text, its image not loaded", async () => {
  const { calls } = mockApi({
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: ["firstName"], properties: {}, template_variables: ["traits", "event_name", "unsubscribe_url"] },
    "POST /api/template-preview": preview,
    "GET /api/profiles": { profiles: [summary(4, "alice", { firstName: "Alice" })], next_cursor: null },
  });
  render(<TemplatePage id="welcome" />);
  await screen.findByLabelText("Subject");
  const region = screen.getByRole("region", { name: "In-app message" });
  const labels = ["In-app placement", "In-app layout", "In-app title", "In-app body", "In-app button label", "In-app link", "In-app image"];
  const [placement, layout, title, body, button, link, image] = labels.map((l) => within(region).getByLabelText(l) as HTMLInputElement);
  expect([placement, layout, title, body, button, link, image].map((f) => f.tagName)).toEqual(["INPUT", "SELECT", "INPUT", "TEXTAREA", "INPUT", "INPUT", "INPUT"]);
  // The place is plain words, empty for any place; the layout a banner unless the template says a modal.
  expect(placement.getAttribute("aria-describedby")).toBe("template-in_app-placement-hint");
  expect(document.getElementById("template-in_app-placement-hint")?.textContent).toMatch(/^Empty: any place\. /);
  expect([...(layout as unknown as HTMLSelectElement).options].map((o) => [o.value, o.textContent])).toEqual([
    ["banner", "Banner"],
    ["modal", "Modal"],
  ]);
  expect(layout.getAttribute("aria-describedby")).toBe("template-in_app-layout-hint");
  expect(layout.value).toBe("banner");
  const shownPreview = screen.getByRole("region", { name: "Preview" });
  expect(await within(shownPreview).findByText("No in-app message: this template has no in-app title or body, so in-app send steps cannot use it.", {}, slow)).toBeTruthy();

  // Variables go into the Liquid parts, without the unsubscribe link; not into the place.
  const chips = () =>
    within(screen.getByRole("region", { name: "Variables" }))
      .getAllByRole("button")
      .map((b) => b.textContent);
  await vi.waitFor(() => expect(chips()).toContain("unsubscribe_url"));
  fireEvent.focus(placement);
  expect(screen.getByText(/now: HTML/)).toBeTruthy();
  fireEvent.focus(title);
  expect(chips()).not.toContain("unsubscribe_url");
  expect(screen.getByText(/now: In-app title/)).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "traits.firstName" }));
  expect(title.value).toBe("{{ traits.firstName }}");
  expect(screen.getByRole("status").textContent).toBe("Changes not saved");

  // For nobody, a trait does not render: said under the part and in the preview.
  expect(await screen.findByText(/Unknown variable traits.firstName/, { selector: "#template-in_app-title-render pre" }, slow)).toBeTruthy();
  expect(title.getAttribute("aria-describedby")).toBe("template-in_app-title-render");
  expect(within(shownPreview).getAllByRole("alert").map((a) => a.querySelector("strong")?.textContent)).toContain("The in-app title does not render");

  // For Alice: a banner in its place, trimmed as it is kept, the button "Open" without a label, the image's address only.
  fireEvent.click(screen.getByRole("button", { name: "Pick a person" }));
  fireEvent.change(screen.getByRole("searchbox"), { target: { value: "al" } });
  fireEvent.click(await screen.findByRole("button", { name: "Alice" }, slow));
  fireEvent.change(placement, { target: { value: "home" } });
  fireEvent.change(title, { target: { value: "Hi {{ traits.firstName }}" } });
  fireEvent.change(body, { target: { value: "  20% off everything this week.\n" } });
  fireEvent.change(link, { target: { value: "https://shop.acme.test/sale" } });
  fireEvent.change(image, { target: { value: "https://cdn.acme.test/sale.png" } });
  await vi.waitFor(() => expect(screen.getByTestId("preview-in-app-title").textContent).toBe("Hi Alice"), slow);
  await vi.waitFor(() => expect(screen.getByTestId("preview-in-app-image").textContent).toBe("Image, not loaded in the preview: https://cdn.acme.test/sale.png"), slow);
  const message = screen.getByTestId("preview-in-app");
  expect(message.getAttribute("data-layout")).toBe("banner");
  expect(screen.getByTestId("preview-in-app-body").textContent).toBe("20% off everything this week.");
  expect(screen.getByTestId("preview-in-app-button").textContent).toBe("Open");
  expect(screen.getByTestId("preview-in-app-link").textContent).toBe("Open opens: https://shop.acme.test/sale");
  expect(within(shownPreview).getByText("A banner in the page's place “home”")).toBeTruthy();
  expect(screen.getByTestId("preview-in-app-where").textContent).toBe(
    'Shown where the page or app asks for the place home (data-placement="home"). Kept for alice\'s next visit, until they click or dismiss it or it expires.',
  );
  expect(shownPreview.querySelector("img")).toBeNull();
  // Nothing in it is a control: the preview is a picture of the page.
  expect(within(message).queryAllByRole("button")).toEqual([]);

  // A modal, with a button label; the parts are text, never HTML.
  fireEvent.change(layout, { target: { value: "modal" } });
  fireEvent.change(button, { target: { value: "Shop the sale" } });
  fireEvent.change(title, { target: { value: "<b>{{ traits.firstName }}</b>, it is on" } });
  await vi.waitFor(() => expect(screen.getByTestId("preview-in-app-title").textContent).toBe("<b>Alice</b>, it is on"), slow);
  expect(screen.getByTestId("preview-in-app").getAttribute("data-layout")).toBe("modal");
  expect(shownPreview.querySelector("b")).toBeNull();
  expect(within(shownPreview).getByText("A modal over the page")).toBeTruthy();
  expect(screen.getByTestId("preview-in-app-button").textContent).toBe("Shop the sale");
  const asked = calls.filter((c) => c.path === "/api/template-preview").map((c) => c.body as Schemas["PreviewRequest"]);
  expect(asked.at(-1)?.template.in_app).toEqual({
    placement: "home",
    layout: "modal",
    title: "<b>{{ traits.firstName }}</b>, it is on",
    body: "  20% off everything this week.\n",
    button: "Shop the sale",
    link: "https://shop.acme.test/sale",
    image: "https://cdn.acme.test/sale.png",
  });
  // An app's link: web pages show no button for it; an image that is not https is said so.
  fireEvent.change(link, { target: { value: "myapp://sale" } });
  fireEvent.change(image, { target: { value: "http://cdn.acme.test/sale.png" } });
  expect(await within(shownPreview).findByText(/Web pages show no button for this link, as they open http\(s\) links only/, {}, slow)).toBeTruthy();
  expect(within(shownPreview).getByText(/The image is not an https URL/)).toBeTruthy();

  // Back as it was saved: nothing to save.
  for (const f of [placement, title, body, button, link, image]) fireEvent.change(f, { target: { value: "" } });
  fireEvent.change(layout, { target: { value: "banner" } });
  expect(screen.getByRole("status").textContent).toMatch(/^Saved/);
});

test("a new template with an in-app message only: no other channel in the preview, asks before leaving once changed, a problem in its button shown next to it", async () => {
  let attempt = 0;
  const { calls } = mockApi({
    "GET /api/templates/spring": { __status: 404, body: { code: "not_found", message: "no template spring" } },
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: ["traits"] },
    "POST /api/template-preview": preview,
    "PUT /api/templates/spring": ({ body }: MockRequest) =>
      ++attempt === 1
        ? {
            __status: 422,
            body: {
              code: "template_invalid",
              message: "in_app.button uses unsubscribe_url",
              details: { problems: [{ part: "in_app.button", message: "uses unsubscribe_url, which in-app messages do not have" }] },
            },
          }
        : { ...welcome, id: "spring", subject: "", html: "", ...(body as object), updated_at: "2030-01-02T00:00:00Z" },
  });
  const confirm = vi.fn(() => false);
  vi.stubGlobal("confirm", confirm);
  window.history.pushState(null, "", "/content/spring");
  render(<TemplatePage id="spring" />);
  const title = (await screen.findByLabelText("In-app title")) as HTMLInputElement;
  // A banner is what a new template holds already: nothing to lose yet.
  fireEvent.click(screen.getByRole("link", { name: "Content" }));
  expect(confirm).not.toHaveBeenCalled();
  window.history.pushState(null, "", "/content/spring");
  // A modal is a change.
  fireEvent.change(screen.getByLabelText("In-app layout"), { target: { value: "modal" } });
  fireEvent.click(screen.getByRole("link", { name: "Content" }));
  expect(confirm).toHaveBeenCalledWith("This template has changes that are not saved. Leave without saving them?");
  expect(window.location.pathname).toBe("/content/spring");

  const button = screen.getByLabelText("In-app button label") as HTMLInputElement;
  fireEvent.change(title, { target: { value: "Spring sale" } });
  fireEvent.change(button, { target: { value: "{{ unsubscribe_url }}" } });
  expect(await screen.findByText("No email: this template has no subject, HTML or text, so email send steps cannot use it.", {}, slow)).toBeTruthy();
  expect(screen.getByText("No SMS: this template has no SMS text, so SMS send steps cannot use it.")).toBeTruthy();
  expect(screen.getByText("No push notification: this template has no push title or body, so push send steps cannot use it.")).toBeTruthy();
  await vi.waitFor(() => expect(screen.getByTestId("preview-in-app-title").textContent).toBe("Spring sale"), slow);
  // No link, no button: the message closes, that is all.
  expect(screen.queryByTestId("preview-in-app-button")).toBeNull();
  expect(screen.getByTestId("preview-in-app-link").textContent).toBe("No button (no link): the message has its close button only.");

  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  const problem = await screen.findByText("uses unsubscribe_url, which in-app messages do not have");
  expect(problem.closest(".field")?.querySelector("label")?.textContent).toBe("In-app button label");
  expect(button.getAttribute("aria-invalid")).toBe("true");
  expect(button.getAttribute("aria-describedby")).toContain("template-in_app-button-save");
  expect(screen.getByText("Not saved: In-app button label has problems")).toBeTruthy();
  expect(calls.find((c) => c.method === "PUT")?.body).toEqual({
    subject: "",
    html: "",
    text: "",
    sms: "",
    push: NO_PUSH,
    in_app: { placement: "", layout: "modal", title: "Spring sale", body: "", button: "{{ unsubscribe_url }}", link: "", image: "" },
    locales: {},
    category: "marketing",
  });

  fireEvent.change(button, { target: { value: "Shop now" } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  expect(await screen.findByText(/^Saved/)).toBeTruthy();
  expect(calls.filter((c) => c.method === "PUT").at(-1)?.body).toMatchObject({ in_app: { layout: "modal", title: "Spring sale", button: "Shop now" } });
  // What the server answered is what the editor holds: nothing left to save.
  expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(true);
});

test("saving another part keeps the template's in-app message as it was", async () => {
  const in_app = { placement: "checkout", layout: "modal", title: "Free shipping, {{ traits.firstName }}", body: "Today only.", button: "", link: "", image: "" } as const;
  const { calls } = mockApi({
    "GET /api/templates/welcome": { ...welcome, in_app },
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: ["traits"] },
    "POST /api/template-preview": preview,
    "PUT /api/templates/welcome": ({ body }: MockRequest) => ({ ...welcome, ...(body as object), updated_at: "2030-01-02T00:00:00Z" }),
  });
  render(<TemplatePage id="welcome" />);
  expect(((await screen.findByLabelText("In-app layout")) as HTMLSelectElement).value).toBe("modal");
  expect((screen.getByLabelText("In-app placement") as HTMLInputElement).value).toBe("checkout");
  fireEvent.change(screen.getByLabelText("Subject"), { target: { value: "Hello" } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  expect(await screen.findByText(/^Saved/)).toBeTruthy();
  expect(calls.find((c) => c.method === "PUT")?.body).toMatchObject({ subject: "Hello", in_app });
});

/** Translations as GET /api/templates/{id} answers them: every part, the empty ones too. */
const translation = (over: Partial<Schemas["Translation"]> = {}): Schemas["Translation"] => ({
  subject: "",
  html: "",
  text: "",
  sms: "",
  push: NO_PUSH,
  in_app: NO_IN_APP as Schemas["InAppContent"],
  ...over,
});

test("translations: a tab per locale, its empty parts showing the default's; the preview renders the locale shown; saving gives every translation back as it came", async () => {
  const locales = {
    fr: translation({ subject: "Bonjour {{ traits.firstName }}", push: { title: "Salut", body: "", link: "", image: "" } }),
    // The in-app placement and layout a translation was given through the API are kept, though the template's are used.
    "pt-br": translation({ sms: "Olá {{ traits.firstName }}", in_app: { placement: "x", layout: "modal", title: "", body: "Promoção", button: "", link: "", image: "" } }),
  };
  const template = { ...welcome, text: "Hello", sms: "Hi {{ traits.firstName }}", push: { title: "Hey", body: "Back in stock" }, in_app: { placement: "home", layout: "banner", title: "Sale", body: "20% off" }, locales } as Schemas["TemplateView"];
  const { calls } = mockApi({
    "GET /api/templates/welcome": template,
    "GET /api/names": { events: [], traits: ["firstName"], properties: {}, template_variables: ["traits"] },
    "POST /api/template-preview": preview,
    "GET /api/profiles": { profiles: [summary(4, "alice", { firstName: "Alice", locale: "fr-CA" })], next_cursor: null },
    "PUT /api/templates/welcome": ({ body }: MockRequest) => ({ ...template, ...(body as object), updated_at: "2030-01-02T00:00:00Z" }),
  });
  render(<TemplatePage id="welcome" />);
  await screen.findByLabelText("Subject");
  const tabs = () => within(screen.getByRole("tablist", { name: "Locales" })).getAllByRole("tab");
  expect(tabs().map((t) => [t.textContent, t.getAttribute("aria-selected")])).toEqual([
    ["Default", "true"],
    ["French (fr)", "false"],
    ["Brazilian Portuguese (pt-br)", "false"],
  ]);
  fireEvent.click(screen.getByRole("button", { name: "Pick a person" }));
  fireEvent.change(screen.getByRole("searchbox"), { target: { value: "al" } });
  fireEvent.click(await screen.findByRole("button", { name: "Alice" }, slow));
  expect((await screen.findByTestId("preview-subject", {}, slow)).textContent).toBe("Hi Alice");
  // On the default parts, Alice (fr-CA) is said to get the French translation.
  await vi.waitFor(() => expect(screen.getByTestId("preview-locale").textContent).toBe("The default parts. alice's locale is fr-CA: sends to them use the French (fr) translation (its tab previews it)."), slow);

  fireEvent.click(screen.getByRole("tab", { name: "French (fr)" }));
  const panel = screen.getByRole("tabpanel", { name: "French (fr)" });
  const subject = within(panel).getByLabelText("Subject") as HTMLInputElement;
  expect(subject.value).toBe("Bonjour {{ traits.firstName }}");
  // An empty part shows the default's, greyed: it falls back to it.
  const text = within(panel).getByLabelText("Text") as HTMLTextAreaElement;
  expect(text.value).toBe("");
  expect(text.placeholder).toBe("Hello");
  expect((within(panel).getByLabelText("HTML") as HTMLTextAreaElement).placeholder).toBe(welcome.html);
  expect((within(panel).getByLabelText("Push title") as HTMLInputElement).value).toBe("Salut");
  expect((within(panel).getByLabelText("Push body") as HTMLTextAreaElement).placeholder).toBe("Back in stock");
  // Where and how an in-app message shows are the template's: not a translation's to change.
  expect(within(panel).queryByLabelText("In-app placement")).toBeNull();
  expect(within(panel).queryByLabelText("In-app layout")).toBeNull();
  expect(within(panel).getByTestId("translation-in-app-where").textContent).toBe("Where and how it shows are the default's: the place home, as a banner.");
  // The preview is the French one: asked for with the translations and the locale.
  await vi.waitFor(() => expect(screen.getByTestId("preview-subject").textContent).toBe("Bonjour Alice"), slow);
  expect(screen.getByTestId("preview-text").textContent).toBe("Hello");
  expect(screen.getByTestId("preview-locale").textContent).toBe("The French (fr) translation, as people whose locale is fr get it; its empty parts are the default's.");
  const asked = calls.filter((c) => c.path === "/api/template-preview").map((c) => c.body as Schemas["PreviewRequest"]);
  expect(asked.at(-1)?.locale).toBe("fr");
  expect(asked.at(-1)?.template.locales).toEqual(locales);
  expect(asked.at(-1)?.template.subject).toBe(welcome.subject);
  await vi.waitFor(() => expect(screen.getByTestId("preview-push-title").textContent).toBe("Salut"), slow);
  expect(screen.getByTestId("preview-push-body").textContent).toBe("Back in stock");

  // Typed in the French text: previewed, then saved, the other translation as it came.
  fireEvent.change(text, { target: { value: "Bonjour !" } });
  await vi.waitFor(() => expect(screen.getByTestId("preview-text").textContent).toBe("Bonjour !"), slow);
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  expect(await screen.findByText(/^Saved/)).toBeTruthy();
  const put = calls.filter((c) => c.method === "PUT").at(-1)?.body as Schemas["TemplateBody"];
  expect(put.locales).toEqual({ ...locales, fr: { ...locales.fr, text: "Bonjour !" } });

  // Saving a default part gives every translation back as it came.
  fireEvent.click(screen.getByRole("tab", { name: "Default" }));
  fireEvent.change(screen.getByLabelText("Subject"), { target: { value: "Hello {{ traits.firstName }}" } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  await vi.waitFor(() => expect(calls.filter((c) => c.method === "PUT")).toHaveLength(2));
  const again = calls.filter((c) => c.method === "PUT").at(-1)?.body as Schemas["TemplateBody"];
  expect(again.subject).toBe("Hello {{ traits.firstName }}");
  expect(again.locales).toEqual({ ...locales, fr: { ...locales.fr, text: "Bonjour !" } });
});

test("a new translation: its locale checked as the server checks it; problems shown in its tab at their field; removing one that says something asks first", async () => {
  let attempt = 0;
  const { calls } = mockApi({
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: ["traits", "unsubscribe_url"] },
    "POST /api/template-preview": preview,
    "PUT /api/templates/welcome": ({ body }: MockRequest) =>
      ++attempt === 1
        ? {
            __status: 422,
            body: {
              code: "template_invalid",
              message: "the template is not valid: locales.pt-br.sms uses unsubscribe_url",
              details: { problems: [{ part: "locales.pt-br.sms", message: "uses unsubscribe_url, which templates do not have (they have traits)" }] },
            },
          }
        : { ...welcome, ...(body as object), updated_at: "2030-01-02T00:00:00Z" },
  });
  const confirm = vi.fn(() => false);
  vi.stubGlobal("confirm", confirm);
  render(<TemplatePage id="welcome" />);
  await screen.findByLabelText("Subject");
  fireEvent.click(screen.getByRole("button", { name: "+ Add a translation" }));
  const code = screen.getByLabelText("Locale of the translation");
  fireEvent.change(code, { target: { value: "xx_y!" } });
  const adding = code.closest(".locale-add") as HTMLElement;
  fireEvent.click(within(adding).getByRole("button", { name: "Add" }));
  expect(within(adding).getByRole("alert").textContent).toBe("“xx_y!” is not a locale: a language (fr) and maybe a region or a script (pt-BR, zh-Hant).");
  expect(code.getAttribute("aria-invalid")).toBe("true");
  // Kept as the server keeps it: lower case, "-".
  fireEvent.change(code, { target: { value: "pt_BR" } });
  fireEvent.keyDown(code, { key: "Enter" });
  const tab = screen.getByRole("tab", { name: "Brazilian Portuguese (pt-br)" });
  expect(tab.getAttribute("aria-selected")).toBe("true");
  expect(screen.getByRole("status").textContent).toBe("Changes not saved");
  fireEvent.click(screen.getByRole("button", { name: "+ Add a translation" }));
  const again = screen.getByLabelText("Locale of the translation");
  fireEvent.change(again, { target: { value: "PT-br" } });
  fireEvent.click(screen.getByRole("button", { name: "Add" }));
  expect(within(again.closest(".locale-add") as HTMLElement).getByRole("alert").textContent).toBe("There is a Brazilian Portuguese (pt-br) translation already.");
  fireEvent.click(screen.getByRole("button", { name: "Cancel" }));

  const sms = within(screen.getByRole("tabpanel", { name: "Brazilian Portuguese (pt-br)" })).getByLabelText("SMS text") as HTMLTextAreaElement;
  expect(sms.placeholder).toBe("(empty in the default too)");
  fireEvent.change(sms, { target: { value: "Olá {{ unsubscribe_url }}" } });
  fireEvent.click(screen.getByRole("tab", { name: "Default" }));
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  // The problem is the translation's: its tab is shown, the problem at its field.
  const problem = await screen.findByText("uses unsubscribe_url, which templates do not have (they have traits)");
  expect(problem.closest(".field")?.querySelector("label")?.textContent).toBe("SMS text");
  expect(screen.getByRole("tab", { name: "Brazilian Portuguese (pt-br) (has problems)" }).getAttribute("aria-selected")).toBe("true");
  expect(screen.getByText("Not saved: SMS text (Brazilian Portuguese (pt-br)) has problems")).toBeTruthy();
  expect((screen.getByLabelText("SMS text") as HTMLTextAreaElement).getAttribute("aria-invalid")).toBe("true");
  expect(calls.find((c) => c.method === "PUT")?.body).toMatchObject({
    subject: welcome.subject,
    locales: { "pt-br": { subject: "", html: "", text: "", sms: "Olá {{ unsubscribe_url }}", push: NO_PUSH, in_app: NO_IN_APP } },
  });
  // The default's problems are none: its fields are not marked.
  fireEvent.click(screen.getByRole("tab", { name: /^Default/ }));
  expect(screen.getByLabelText("SMS text").getAttribute("aria-invalid")).toBeNull();

  // Removing a translation that says something asks first; no keeps it.
  fireEvent.click(screen.getByRole("tab", { name: /^Brazilian Portuguese/ }));
  fireEvent.click(screen.getByRole("button", { name: "Remove this translation" }));
  expect(confirm).toHaveBeenCalledWith("Remove the Brazilian Portuguese (pt-br) translation? What it says is lost once the template is saved.");
  expect(screen.getByRole("tab", { name: /^Brazilian Portuguese/ })).toBeTruthy();
  confirm.mockReturnValue(true);
  fireEvent.click(screen.getByRole("button", { name: "Remove this translation" }));
  expect(screen.queryByRole("tab", { name: /^Brazilian Portuguese/ })).toBeNull();
  expect(screen.getByRole("tab", { name: "Default" }).getAttribute("aria-selected")).toBe("true");
  // As it was saved: nothing to save.
  expect(screen.getByRole("status").textContent).toMatch(/^Saved/);
});

// ---- Images ----

/** An uploaded image, served (as the server with tracking.base_url answers) from another origin than the page's. */
const asset = (n: number, name: string, content_type: string, size: number): Schemas["AssetView"] => {
  const hash = n.toString(16).padStart(64, "0");
  const ext = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp" }[content_type];
  return { hash, name, content_type, size, url: `https://mail.acme.test/a/${hash}.${ext}`, created_at: "2030-01-02T10:00:00Z" };
};
const logo = asset(3, "logo.png", "image/png", 12_800);
const banner = asset(2, "banner.jpg", "image/jpeg", 2_621_440);
const dot = asset(1, "dot.gif", "image/gif", 43);

/** The first bytes of a PNG. */
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const imageRows = (images: HTMLElement) =>
  within(within(images).getByRole("table", { name: "Images" }))
    .getAllByRole("row")
    .slice(1);

test("images: newest first, each with its picture from this server, name, size, type, when and its address to copy; a page at a time", async () => {
  const writeText = vi.fn(async () => undefined);
  vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
  const { calls } = mockApi({
    "GET /api/templates": { templates: [welcome], next_cursor: null },
    "GET /api/assets": ({ query }: MockRequest) => (query.get("cursor") === "7" ? { assets: [dot], next_cursor: null } : { assets: [logo, banner], next_cursor: "7" }),
  });
  render(<ContentPage />);
  const images = screen.getByRole("region", { name: "Images" });
  await within(images).findByRole("table", { name: "Images" });
  const cells = () => imageRows(images).map((r) => [...r.querySelectorAll("td")].slice(1, 4).map((c) => c.textContent));
  expect(cells()).toEqual([
    ["logo.png", "12.5 KB", "PNG"],
    ["banner.jpg", "2.5 MB", "JPEG"],
  ]);
  // The picture is loaded from this server (its path), whatever origin the address names.
  const [first] = imageRows(images);
  expect(first.querySelector("img")?.getAttribute("src")).toBe(`/a/${logo.hash}.png`);
  expect(first.querySelector("img")?.getAttribute("alt")).toBe("");
  expect(within(first).getByText(logo.url).tagName).toBe("CODE");
  expect(within(first).getByRole("time").getAttribute("datetime")).toBe("2030-01-02T10:00:00Z");
  // Its address, copied as emails use it.
  const copy = within(first).getByRole("button", { name: "Copy address of logo.png" });
  expect(copy.textContent).toBe("Copy address");
  fireEvent.click(copy);
  await vi.waitFor(() => expect(copy.textContent).toBe("Copied"));
  expect(writeText).toHaveBeenCalledWith(logo.url);
  // Its name holds what it says for now.
  expect(copy.getAttribute("aria-label")).toBe("Copy address of logo.png: copied");
  // A page at a time.
  expect(within(images).getByText("2 images shown")).toBeTruthy();
  fireEvent.click(within(images).getByRole("button", { name: "Load more" }));
  await within(images).findByText("dot.gif");
  expect(within(images).getByText("3 images shown, that is all")).toBeTruthy();
  expect(cells()[2]).toEqual(["dot.gif", "43 bytes", "GIF"]);
  const asked = calls.filter((c) => c.path === "/api/assets");
  expect(asked.map((c) => [c.query.get("cursor"), c.query.get("limit")])).toEqual([
    [null, "50"],
    ["7", "50"],
  ]);
});

test("images: none yet, the empty state says how to upload one", async () => {
  mockApi({ "GET /api/templates": { templates: [welcome], next_cursor: null }, "GET /api/assets": NO_ASSETS });
  render(<ContentPage />);
  const images = screen.getByRole("region", { name: "Images" });
  expect(await within(images).findByText("No images yet. Upload one above, or with the API:")).toBeTruthy();
  expect(within(images).getByText(/curl -X POST ".*\/api\/assets\?name=logo\.png"/).textContent).toContain("--data-binary @logo.png");
});

test("images: an upload sends the file as it is, with its type, says so while it goes, and puts the new image at the top; the same image again is said to be there", async () => {
  localStorage.setItem("wayfarer.token", "wf_test");
  let answer: (a: unknown) => void = () => undefined;
  const { calls } = mockApi({
    "GET /api/templates": { templates: [welcome], next_cursor: null },
    "GET /api/assets": { assets: [banner], next_cursor: null },
    "POST /api/assets": () => new Promise((resolve) => (answer = resolve)),
  });
  render(<ContentPage />);
  const images = screen.getByRole("region", { name: "Images" });
  await within(images).findByText("banner.jpg");
  const input = within(images).getByLabelText("Upload an image") as HTMLInputElement;
  expect(input.type).toBe("file");
  expect(input.accept).toBe("image/png,image/jpeg,image/gif,image/webp");
  const file = new File([PNG], "logo.png", { type: "image/png" });
  fireEvent.change(input, { target: { files: [file] } });
  const status = () => within(images).getAllByRole("status")[0].textContent?.trim();
  expect(status()).toBe("Uploading logo.png (8 bytes)…");
  expect(input.disabled).toBe(true);
  const upload = calls.find((c) => c.method === "POST");
  expect(upload?.path).toBe("/api/assets");
  expect(upload?.query.get("name")).toBe("logo.png");
  expect(upload?.raw).toBe(file);
  expect(upload?.headers.get("content-type")).toBe("image/png");
  expect(upload?.headers.get("authorization")).toBe("Bearer wf_test");
  answer({ __status: 201, body: logo });
  await vi.waitFor(() => expect(status()).toBe("Uploaded logo.png: it is the one at the top."));
  expect(input.disabled).toBe(false);
  expect(imageRows(images).map((r) => r.querySelectorAll("td")[1].textContent)).toEqual(["logo.png", "banner.jpg"]);
  expect(within(images).getByText("2 images shown, that is all")).toBeTruthy();

  // The banner's bytes under another name: the server answers the banner, which moves to the top, once.
  fireEvent.change(input, { target: { files: [new File([PNG], "copy.jpg", { type: "image/jpeg" })] } });
  answer({ __status: 201, body: banner });
  await vi.waitFor(() => expect(status()).toBe("This image was uploaded before, as banner.jpg: it is the one at the top."));
  expect(imageRows(images).map((r) => r.querySelectorAll("td")[1].textContent)).toEqual(["banner.jpg", "logo.png"]);
});

test("images: what the server refuses is said with its words (a kind it does not take, too large); a file of no known type goes as application/octet-stream; a server unavailable, tried again", async () => {
  let unavailable = true;
  const { calls } = mockApi({
    "GET /api/templates": { templates: [welcome], next_cursor: null },
    "GET /api/assets": { assets: [logo], next_cursor: null },
    "POST /api/assets": ({ headers, query }: MockRequest) =>
      query.get("name") === "later.png"
        ? (unavailable = !unavailable)
          ? { __status: 201, body: banner }
          : { __status: 503, body: { code: "unavailable", message: "the store is unavailable" } }
        : headers.get("content-type") === "image/png"
          ? { __status: 413, body: { code: "payload_too_large", message: "an image is at most 5242880 bytes" } }
          : { __status: 415, body: { code: "unsupported_media_type", message: `"${headers.get("content-type")}" is not an image kind taken: send image/png, image/jpeg, image/gif or image/webp` } },
  });
  render(<ContentPage />);
  const images = screen.getByRole("region", { name: "Images" });
  await within(images).findByText("logo.png");
  const input = within(images).getByLabelText("Upload an image");
  fireEvent.change(input, { target: { files: [new File(["hello"], "notes.txt", { type: "text/plain" })] } });
  const alert = await within(images).findByRole("alert");
  expect(alert.textContent).toContain('notes.txt could not be uploaded: "text/plain" is not an image kind taken: send image/png, image/jpeg, image/gif or image/webp unsupported_media_type');
  // Nothing was added.
  expect(imageRows(images)).toHaveLength(1);
  fireEvent.change(input, { target: { files: [new File(["?"], "README")] } });
  await vi.waitFor(() => expect(within(images).getByRole("alert").textContent).toContain('README could not be uploaded: "application/octet-stream" is not an image kind taken'));
  fireEvent.change(input, { target: { files: [new File([PNG], "huge.png", { type: "image/png" })] } });
  await vi.waitFor(() => expect(within(images).getByRole("alert").textContent).toContain("huge.png could not be uploaded: an image is at most 5242880 bytes payload_too_large"));
  // Sent again, it would be refused again: no Try again.
  expect(within(images).queryByRole("button", { name: "Try again" })).toBeNull();
  // The server unavailable for a moment: Try again sends the same file again.
  fireEvent.change(input, { target: { files: [new File([PNG], "later.png", { type: "image/png" })] } });
  await vi.waitFor(() => expect(within(images).getByRole("alert").textContent).toContain("later.png could not be uploaded: the store is unavailable"));
  fireEvent.click(within(images).getByRole("button", { name: "Try again" }));
  await within(images).findByText("banner.jpg");
  expect(within(images).queryByRole("alert")).toBeNull();
  expect(calls.filter((c) => c.method === "POST").map((c) => c.query.get("name"))).toEqual(["notes.txt", "README", "huge.png", "later.png", "later.png"]);
});

test("images in the template editor: listed once asked for, a click inserts the address where the cursor was", async () => {
  const { calls } = mockApi({
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: ["traits"] },
    "POST /api/template-preview": preview,
    "GET /api/assets": { assets: [logo, banner], next_cursor: null },
  });
  render(<TemplatePage id="welcome" />);
  const html = (await screen.findByLabelText("HTML")) as HTMLTextAreaElement;
  const images = screen.getByRole("region", { name: "Images" });
  // Not asked for until wanted.
  expect(calls.some((c) => c.path === "/api/assets")).toBe(false);
  const open = within(images).getByRole("button", { name: "Insert an image…" });
  expect(open.getAttribute("aria-expanded")).toBe("false");
  fireEvent.click(open);
  expect(open.getAttribute("aria-expanded")).toBe("true");
  const list = await within(images).findByRole("list", { name: "Uploaded images" });
  expect(within(list).getAllByRole("button").map((b) => b.textContent)).toEqual(["logo.png", "banner.jpg"]);
  expect(within(list).getByRole("button", { name: "logo.png" }).querySelector("img")?.getAttribute("src")).toBe(`/a/${logo.hash}.png`);

  // Into the HTML, at the cursor.
  fireEvent.change(html, { target: { value: '<p><img src="" alt="Acme"></p>' } });
  html.setSelectionRange(13, 13);
  fireEvent.focus(html);
  fireEvent.click(within(list).getByRole("button", { name: "logo.png" }));
  expect(html.value).toBe(`<p><img src="${logo.url}" alt="Acme"></p>`);
  // Into a push notification's image.
  const image = within(screen.getByRole("region", { name: "Push notification" })).getByLabelText("Push image") as HTMLInputElement;
  fireEvent.focus(image);
  fireEvent.click(within(list).getByRole("button", { name: "banner.jpg" }));
  expect(image.value).toBe(banner.url);
  expect(screen.getByText("Changes not saved")).toBeTruthy();
  // Closed and opened again: the same list, not asked for again.
  fireEvent.click(within(images).getByRole("button", { name: "Hide the images" }));
  fireEvent.click(within(images).getByRole("button", { name: "Insert an image…" }));
  expect(calls.filter((c) => c.path === "/api/assets")).toHaveLength(1);
});

test("images in the template editor: where to upload them; a failed list says why, and tries again; none uploaded yet", async () => {
  let attempt = 0;
  mockApi({
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: ["traits"] },
    "POST /api/template-preview": preview,
    "GET /api/assets": () => (++attempt === 1 ? { __status: 503, body: { code: "unavailable", message: "the store is unavailable" } } : NO_ASSETS),
  });
  render(<TemplatePage id="welcome" />);
  await screen.findByLabelText("HTML");
  const images = screen.getByRole("region", { name: "Images" });
  fireEvent.click(within(images).getByRole("button", { name: "Insert an image…" }));
  expect((await within(images).findByRole("alert")).textContent).toContain("The images could not be listed: the store is unavailable");
  fireEvent.click(within(images).getByRole("button", { name: "Try again" }));
  expect(await within(images).findByText("No images uploaded yet.")).toBeTruthy();
  expect(within(images).getByRole("link", { name: "the Content page" }).getAttribute("href")).toBe("/content");
});
