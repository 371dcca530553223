// @vitest-environment happy-dom
// The editor against a fake server: saving an example unchanged gives the same document, a form
// edit changes exactly its field, the condition builder writes the documentation's JSON, undo,
// redo, copy and paste by keyboard, publish, stop, counts and backtests on the cards.
import { act, cleanup, configure, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { Schemas } from "../../api/client";
import { EXAMPLES } from "../../examples";
import { diff, changeLines } from "../../journey/diff";
import type { JourneyDocument } from "../../journey/doc";
import { ENTRY_ID } from "../../journey/graph";
import { JourneyEditor } from "./JourneyEditor";
import { localInput } from "./panels";

vi.setConfig({ testTimeout: 30000 });
// The canvas takes a while to draw in happy-dom on a busy machine.
configure({ asyncUtilTimeout: 5000 });

const example = (file: string) => EXAMPLES.find((e) => e.file === file)?.doc as JourneyDocument;

/** What the fake server says the data has shown: "Sales Contacted" never had a property. */
const NAMES: Schemas["Names"] = {
  events: ["Consultation Booked", "Order Completed", "Page Viewed", "Product Added", "Sales Contacted"],
  traits: ["plan", "email"],
  properties: {
    "Consultation Booked": ["slot", "slot.day"],
    "Order Completed": ["cart_id", "total"],
    "Page Viewed": ["path", "referrer", "url"],
    "Product Added": ["cart_id", "price", "sku"],
  },
  template_variables: [],
};

interface Call {
  method: string;
  path: string;
  body: unknown;
}

/** A fake admin API: answers by method and path, records every call. */
function fakeServer(doc: JourneyDocument, extra: Record<string, (body: unknown) => [number, unknown]> = {}) {
  const calls: Call[] = [];
  const view: Schemas["JourneyView"] = {
    id: doc.id,
    status: "published",
    state: "active",
    published_version: 1,
    draft: doc as unknown as Schemas["JourneyDocument"],
    published: { version: 1, document: doc as unknown as Schemas["JourneyDocument"], published_at: "2030-01-01T00:00:00Z" },
    updated_at: "2030-01-01T00:00:00Z",
  };
  const routes: Record<string, (body: unknown) => [number, unknown]> = {
    "POST /api/journeys/validate": () => [200, { valid: true, diagnostics: [] }],
    [`GET /api/journeys/${doc.id}`]: () => [200, view],
    [`PUT /api/journeys/${doc.id}`]: () => [200, { status: "draft", valid: true, diagnostics: [] }],
    [`GET /api/journeys/${doc.id}/versions`]: () => [200, { versions: [view.published] }],
    [`GET /api/journeys/${doc.id}/counts`]: () => [200, { journey: doc.id, from: "", to: "", nodes: {} }],
    "GET /api/names": () => [200, NAMES],
    "GET /api/templates": () => [
      200,
      {
        templates: [
          { id: "consultation-invite", subject: "Talk to us", html: "<p>Hi</p>", text: "Hi", sms: "", push: {}, in_app: {}, category: "marketing", updated_at: "" },
          {
            id: "consultation-reminder",
            subject: "Still there?",
            html: "<p>Hi</p>",
            text: "Hi",
            sms: "Still there, {{ traits.firstName }}?",
            push: { title: "Still there?", body: "{{ traits.firstName }}, the offer stands.", link: "myapp://offer" },
            in_app: { placement: "home", layout: "modal", title: "Your consultation is waiting", body: "{{ traits.firstName }}, book a free call.", button: "Book", link: "https://acme.test/book" },
            category: "marketing",
            updated_at: "",
          },
        ],
        next_cursor: null,
      },
    ],
    "GET /api/clock": () => [200, { now: "2030-01-08T00:00:00Z", manual: true }],
    "POST /api/template-preview": () => [200, { subject: { rendered: "Talk to us" }, html: { rendered: "<p>Hi</p>" }, text: { rendered: "Hi" }, context: {} }],
    ...extra,
  };
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    const path = url.split("?")[0];
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    calls.push({ method, path: url, body });
    const route = routes[`${method} ${path}`];
    if (!route) return new Response(JSON.stringify({ code: "not_found", message: `${method} ${path}` }), { status: 404 });
    const [status, answer] = route(body);
    return new Response(JSON.stringify(answer), { status });
  });
  vi.stubGlobal("fetch", fetch);
  return { calls, view };
}

function renderEditor(doc: JourneyDocument, opts: { isNew?: boolean; extra?: Record<string, (body: unknown) => [number, unknown]> } = {}) {
  const server = fakeServer(doc, opts.extra);
  const utils = render(
    <div style={{ width: 1280, height: 800 }}>
      <JourneyEditor journey={opts.isNew ? undefined : server.view} initial={doc} />
    </div>,
  );
  return { ...server, ...utils };
}

const card = (container: HTMLElement, id: string) => {
  const node = container.querySelector(`.react-flow__node[data-id="${id}"]`);
  if (!(node instanceof HTMLElement)) throw new Error(`no card ${id}`);
  return node;
};

/** Clicks a card, as a person selects a node. */
async function selectNode(container: HTMLElement, id: string) {
  await waitFor(() => card(container, id));
  fireEvent.click(card(container, id));
}

/** Saves the draft and answers the document the server received. */
async function saved(calls: Call[], id: string): Promise<unknown> {
  const before = calls.length;
  fireEvent.click(screen.getByRole("button", { name: "Save draft" }));
  await waitFor(() => expect(calls.slice(before).some((c) => c.method === "PUT")).toBe(true));
  return calls.slice(before).find((c) => c.method === "PUT" && c.path === `/api/journeys/${id}`)?.body;
}

beforeEach(() => {
  localStorage.setItem("wayfarer.token", "wf_test");
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("journeys as code and the canvas edit the same document", () => {
  for (const { file, doc } of EXAMPLES) {
    test(`${file}: opened, every form looked at, saved unchanged: the same document, key for key`, async () => {
      const original = JSON.parse(JSON.stringify(doc)) as JourneyDocument;
      const { container, calls } = renderEditor(structuredClone(doc));
      await selectNode(container, ENTRY_ID);
      for (const s of doc.steps) await selectNode(container, s.id);
      fireEvent.keyDown(window, { key: "Escape" });
      const body = await saved(calls, doc.id);
      expect(body).toEqual(original);
      expect(JSON.stringify(body)).toBe(JSON.stringify(original));
    });
  }
});

/** The changes from `before` to what was saved, as the CLI's diff prints them. */
const changes = (before: unknown, after: unknown) => diff(before, after).flatMap(changeLines);

describe("a form edit changes exactly its field", () => {
  test("wait_for: the timeout", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, "booked");
    const form = screen.getByRole("tabpanel");
    fireEvent.change(within(form).getByLabelText("Timeout: number"), { target: { value: "5" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ step booked /timeout: "3d" -> "5d"']);
  });

  test("wait: the duration's unit", async () => {
    const doc = example("abandoned-cart.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, "a-day");
    fireEvent.change(within(screen.getByRole("tabpanel")).getByLabelText("For: unit"), { target: { value: "d" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ step a-day /duration: "24h" -> "24d"']);
  });

  test("send: the template, picked from the server's list", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, "remind");
    const select = await within(screen.getByRole("tabpanel")).findByLabelText("Template");
    await waitFor(() => expect(within(select).getAllByRole("option").length).toBeGreaterThan(2));
    fireEvent.change(select, { target: { value: "consultation-invite" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ step remind /template: "consultation-reminder" -> "consultation-invite"']);
  });

  test("send: the picker offers the templates of every page of the list", async () => {
    const doc = example("consultation.json");
    const page = (id: string, next: string | null) => [200, { templates: [{ id, subject: `Subject of ${id}`, html: "", text: "Hi", sms: "", push: {}, in_app: {}, category: "marketing", updated_at: "" }], next_cursor: next }] as [number, unknown];
    let asked = 0;
    const { container, calls } = renderEditor(doc, {
      extra: { "GET /api/templates": () => [page("consultation-invite", "consultation-invite"), page("later-one", "later-one"), page("zz-last", null)][asked++] ?? [500, {}] },
    });
    await selectNode(container, "remind");
    const select = await within(screen.getByRole("tabpanel")).findByLabelText("Template");
    await waitFor(() => expect(within(select).getAllByRole("option").map((o) => o.textContent)).toContain("zz-last — Subject of zz-last"));
    expect(within(select).getAllByRole("option").map((o) => o.getAttribute("value"))).toEqual(["", "?consultation-reminder", "consultation-invite", "later-one", "zz-last"]);
    expect(calls.filter((c) => c.path.startsWith("/api/templates")).map((c) => c.path)).toEqual([
      "/api/templates?limit=1000",
      "/api/templates?limit=1000&cursor=consultation-invite",
      "/api/templates?limit=1000&cursor=later-one",
    ]);
  });

  test("send: the template's preview, rendered by the server for a person found by identity", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc, {
      extra: {
        "GET /api/profiles": () => [200, { profiles: [{ id: 7, identities: [{ kind: "user_id", value: "ada" }], traits: {} }] }],
        "POST /api/template-preview": (body) => [
          200,
          { subject: { rendered: (body as { profile_id?: number }).profile_id === 7 ? "Hi Ada" : "Hi there" }, html: { rendered: "<p>Hi</p>" }, text: { rendered: "Hi" }, context: {} },
        ],
      },
    });
    await selectNode(container, "invite");
    const preview = await within(screen.getByRole("tabpanel")).findByRole("region", { name: "Preview" });
    await within(preview).findByText("Hi there");
    fireEvent.change(within(preview).getByLabelText("Preview for"), { target: { value: "ada" } });
    await within(preview).findByText("Hi Ada");
    expect(within(preview).getByText("person 7 (ada)")).toBeTruthy();
    expect(calls.some((c) => c.path === "/api/profiles?q=ada&limit=1")).toBe(true);
    // Nothing in the document changed.
    expect(changes(doc, await saved(calls, doc.id))).toEqual([]);
  });

  test("send: the channel SMS, with the template's SMS text previewed; templates without any are said so", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc, {
      extra: {
        "POST /api/template-preview": (body) => {
          const { template } = body as Schemas["PreviewRequest"];
          return [200, { subject: { rendered: template.subject }, html: { rendered: "" }, text: { rendered: "" }, sms: { rendered: `${template.sms?.replace("{{ traits.firstName }}", "Ada")}\n` }, sms_segments: 1, context: {} }];
        },
      },
    });
    await selectNode(container, "remind");
    const form = screen.getByRole("tabpanel");
    const channel = within(form).getByLabelText("Channel") as HTMLSelectElement;
    expect([...channel.options].map((o) => o.textContent)).toEqual(["Email", "SMS", "Push", "In-app"]);
    fireEvent.change(channel, { target: { value: "sms" } });
    expect(within(form).getByText(/to the person's phone trait/)).toBeTruthy();
    expect(within(form).getByText("If they cannot be reached (no phone number)")).toBeTruthy();
    // The list says which templates have SMS text; the preview is the SMS, trimmed as it is sent.
    const select = within(form).getByLabelText("Template");
    await waitFor(() => expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["Choose a template…", "consultation-invite (no SMS text)", "consultation-reminder — Still there, {{ traits.firstName }}?"]));
    const preview = within(form).getByRole("region", { name: "Preview" });
    expect((await within(preview).findByText("Still there, Ada?")).tagName).toBe("PRE");
    expect(within(preview).getByText("1 part")).toBeTruthy();
    expect(calls.find((c) => c.path === "/api/template-preview")?.body).toMatchObject({ template: { sms: "Still there, {{ traits.firstName }}?" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ step remind /channel: "email" -> "sms"']);
  });

  test("send: the channel push, with the template's notification previewed; templates without one are said so", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc, {
      extra: {
        "POST /api/template-preview": (body) => {
          const { template } = body as Schemas["PreviewRequest"];
          const part = (src = "") => ({ rendered: `${src.replace("{{ traits.firstName }}", "Ada")}\n` });
          const push = { title: part(template.push?.title), body: part(template.push?.body), link: part(template.push?.link), image: part(template.push?.image) };
          return [200, { subject: part(template.subject), html: part(""), text: part(""), sms: part(""), sms_segments: 0, push, context: {} }];
        },
      },
    });
    await selectNode(container, "remind");
    const form = screen.getByRole("tabpanel");
    fireEvent.change(within(form).getByLabelText("Channel"), { target: { value: "push" } });
    expect(within(form).getByText(/to the person's devices: the push_tokens trait, kept from their events' context\.device\.token/)).toBeTruthy();
    expect(within(form).getByText("If they cannot be reached (no push device)")).toBeTruthy();
    // The list says which templates have a push notification, by its title; the preview is the notification, trimmed as it is sent.
    const select = within(form).getByLabelText("Template");
    await waitFor(() => expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["Choose a template…", "consultation-invite (no push notification)", "consultation-reminder — Still there?"]));
    const preview = within(form).getByRole("region", { name: "Preview" });
    expect((await within(preview).findByText("Still there?")).tagName).toBe("STRONG");
    expect(within(preview).getByText("Ada, the offer stands.")).toBeTruthy();
    expect(within(preview).getByText("Opens: myapp://offer")).toBeTruthy();
    expect(calls.find((c) => c.path === "/api/template-preview")?.body).toMatchObject({ template: { push: { title: "Still there?", link: "myapp://offer" } } });
    // A template without one says so in the preview too.
    fireEvent.change(select, { target: { value: "consultation-invite" } });
    expect(await within(preview).findByText("No push notification: the template has no push title or body.")).toBeTruthy();
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ step remind /channel: "email" -> "push"', '~ step remind /template: "consultation-reminder" -> "consultation-invite"']);
  });

  test("send: the channel in-app, which needs no address, with the template's message previewed; templates without one are said so", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc, {
      extra: {
        "POST /api/template-preview": (body) => {
          const { template } = body as Schemas["PreviewRequest"];
          const part = (src = "") => ({ rendered: `${src.replace("{{ traits.firstName }}", "Ada")}\n` });
          const push = { title: part(), body: part(), link: part(), image: part() };
          const a = template.in_app ?? {};
          const in_app = { title: part(a.title), body: part(a.body), button: part(a.button), link: part(a.link), image: part(a.image) };
          return [200, { subject: part(template.subject), html: part(""), text: part(""), sms: part(""), sms_segments: 0, push, in_app, context: {} }];
        },
      },
    });
    await selectNode(container, "remind");
    const form = screen.getByRole("tabpanel");
    fireEvent.change(within(form).getByLabelText("Channel"), { target: { value: "in_app" } });
    expect(within(form).getByText(/for the person's next visit to the website or app, until they click or dismiss it: no address needed/)).toBeTruthy();
    expect(within(form).getByText("If they cannot be reached (never for in-app messages)")).toBeTruthy();
    // The list says which templates have an in-app message, by its title; the preview is the message, trimmed as it is kept.
    const select = within(form).getByLabelText("Template");
    await waitFor(() =>
      expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["Choose a template…", "consultation-invite (no in-app message)", "consultation-reminder — Your consultation is waiting"]),
    );
    const preview = within(form).getByRole("region", { name: "Preview" });
    expect((await within(preview).findByText("Your consultation is waiting")).tagName).toBe("STRONG");
    expect(within(preview).getByText("Modal, in the place “home”")).toBeTruthy();
    expect(within(preview).getByText("Ada, book a free call.")).toBeTruthy();
    expect(within(preview).getByText("Book opens: https://acme.test/book")).toBeTruthy();
    expect(calls.find((c) => c.path === "/api/template-preview")?.body).toMatchObject({ template: { in_app: { title: "Your consultation is waiting", layout: "modal" } } });
    // A template without one says so in the preview too.
    fireEvent.change(select, { target: { value: "consultation-invite" } });
    expect(await within(preview).findByText("No in-app message: the template has no in-app title or body.")).toBeTruthy();
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ step remind /channel: "email" -> "in_app"', '~ step remind /template: "consultation-reminder" -> "consultation-invite"']);
  });

  test("send: A/B variants, each with its name, weight and template; the weights must add up to 100; the validator's problems at their variant; back to one template", async () => {
    const doc = example("consultation.json");
    const message = 'template "consultation-invite" has no SMS text';
    const { container, calls } = renderEditor(doc, {
      extra: {
        "POST /api/journeys/validate": (body) => {
          const remind = (body as JourneyDocument).steps[2] as { variants?: { template: string }[] };
          const i = remind.variants?.findIndex((v) => v.template === "consultation-invite") ?? -1;
          const diagnostics = i >= 0 ? [{ node: "remind", path: `/steps/2/variants/${i}/template`, code: "template_missing_channel", severity: "error", message }] : [];
          return [200, { valid: diagnostics.length === 0, diagnostics }];
        },
      },
    });
    await selectNode(container, "remind");
    const form = screen.getByRole("tabpanel");
    const content = within(form).getByLabelText("Content") as HTMLSelectElement;
    expect([...content.options].map((o) => o.textContent)).toEqual(["One template", "A/B variants: each person gets one"]);
    fireEvent.change(content, { target: { value: "variants" } });
    // The template chosen so far is the first variant's.
    const variants = () => within(within(form).getByRole("list", { name: "Variants" })).getAllByRole("listitem");
    expect(variants()).toHaveLength(2);
    const [a, b] = variants();
    await waitFor(() => expect((within(a).getByLabelText("Template") as HTMLSelectElement).value).toBe("consultation-reminder"));
    expect((within(b).getByLabelText("Template") as HTMLSelectElement).value).toBe("");
    expect(within(b).getByRole("button", { name: "Remove variant 2" }).hasAttribute("disabled")).toBe(true);
    fireEvent.change(within(a).getByLabelText("Name"), { target: { value: "short" } });
    fireEvent.change(within(b).getByLabelText("Name"), { target: { value: "long" } });
    fireEvent.change(within(b).getByLabelText("Template"), { target: { value: "consultation-invite" } });
    fireEvent.change(within(a).getByLabelText("Weight (%)"), { target: { value: "70" } });
    expect(within(form).getByText("The weights add up to 120%: they must add up to 100.").className).toBe("ed-error");
    fireEvent.change(within(b).getByLabelText("Weight (%)"), { target: { value: "30" } });
    expect(within(form).getByText("The weights add up to 100%.").className).toBe("ed-hint");
    // The validator's problem with a variant's template shows under its picker.
    const picker = within(b).getByLabelText("Template");
    await waitFor(() => expect(within(b).getByText(message)).toBeTruthy());
    expect(picker.getAttribute("aria-invalid")).toBe("true");
    expect(within(a).queryByText(message)).toBeNull();
    // A third variant, then gone again.
    fireEvent.click(within(form).getByRole("button", { name: "+ Another variant" }));
    expect(variants()).toHaveLength(3);
    expect((within(variants()[2]).getByLabelText("Name") as HTMLInputElement).value).toBe("c");
    fireEvent.click(within(variants()[2]).getByRole("button", { name: "Remove variant 3" }));
    await waitFor(() => expect(card(container, "remind").querySelector(".card-text")?.textContent).toBe("Email: A/B short 70% · long 30%"));
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    const remind = body.steps[2];
    expect(remind).toEqual({
      id: "remind",
      type: "send",
      channel: "email",
      variants: [
        { name: "short", weight: 70, template: "consultation-reminder" },
        { name: "long", weight: 30, template: "consultation-invite" },
      ],
    });
    // In the template's place.
    expect(Object.keys(remind)).toEqual(["id", "type", "channel", "variants"]);
    // Back to one template: the first variant's, and the document is the file again.
    fireEvent.change(content, { target: { value: "template" } });
    expect(within(form).queryByRole("list", { name: "Variants" })).toBeNull();
    expect(changes(doc, await saved(calls, doc.id))).toEqual([]);
  });

  test("split: a weight", async () => {
    const doc = example("win-back.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, "subject");
    const weights = within(screen.getByRole("tabpanel")).getAllByLabelText("Weight (%)");
    fireEvent.change(weights[0], { target: { value: "70" } });
    expect(screen.getByText("The weights add up to 120%: they must add up to 100.")).toBeTruthy();
    fireEvent.change(weights[1], { target: { value: "30" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(["~ step subject /paths/0/weight: 50 -> 70", "~ step subject /paths/1/weight: 50 -> 30"]);
  });

  test("branch: a case's comparison value", async () => {
    const doc = example("trial-onboarding.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, "pro-yet");
    fireEvent.change(within(screen.getByRole("tabpanel")).getByLabelText("Trait: value"), { target: { value: "enterprise" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ step pro-yet /cases/0/when/value: "pro" -> "enterprise"']);
  });

  test("the entry: its event, with the names the data has as suggestions", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, ENTRY_ID);
    const input = within(screen.getByRole("tabpanel")).getByLabelText("Event");
    expect(input.getAttribute("list")).toBeTruthy();
    fireEvent.change(input, { target: { value: "Screen Viewed" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ /entry/event: "Page Viewed" -> "Screen Viewed"']);
  });

  test("the journey: its name, when nothing is selected", async () => {
    const doc = example("consultation.json");
    const { calls } = renderEditor(doc);
    fireEvent.change(within(screen.getByRole("tabpanel")).getByLabelText("Name"), { target: { value: "Consultations" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['~ /name: "Invite engaged visitors to a free consultation" -> "Consultations"']);
  });

  test("the journey: quiet hours, off by default; on, their times and what a send in them does; off, gone", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    const form = screen.getByRole("tabpanel");
    const quiet = within(form).getByLabelText("Quiet hours") as HTMLInputElement;
    expect(quiet.checked).toBe(false);
    expect(within(form).queryByLabelText("From")).toBeNull();
    expect(within(form).getByText(/On each person's wall clock .*; applies to every send step\./)).toBeTruthy();
    fireEvent.click(quiet);
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['+ /quiet_hours: {"from":"21:00","then":"hold","to":"08:00"}']);
    expect((within(form).getByLabelText("A send in quiet hours") as HTMLSelectElement).selectedOptions[0].textContent).toBe("Hold sends until they end");
    fireEvent.change(within(form).getByLabelText("From"), { target: { value: "22:30" } });
    fireEvent.change(within(form).getByLabelText("To"), { target: { value: "07:00" } });
    fireEvent.change(within(form).getByLabelText("A send in quiet hours"), { target: { value: "skip" } });
    expect(((await saved(calls, doc.id)) as JourneyDocument).quiet_hours).toEqual({ from: "22:30", to: "07:00", then: "skip" });
    // The canvas says so beside the graph, and on the sends' cards.
    expect(within(screen.getByRole("region", { name: "Journey-wide settings" })).getByText("22:30–07:00, skipped")).toBeTruthy();
    await waitFor(() => expect(container.querySelectorAll(".card-quiet")).toHaveLength(2));
    fireEvent.click(quiet);
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    expect("quiet_hours" in body).toBe(false);
    expect(changes(doc, body)).toEqual([]);
    expect(within(form).queryByLabelText("From")).toBeNull();
    expect(container.querySelectorAll(".card-quiet")).toHaveLength(0);
  });

  test("the journey: the validator's diagnostic about quiet hours shows at its field, and goes when fixed", async () => {
    const doc: JourneyDocument = { ...example("consultation.json"), quiet_hours: { from: "21:00", to: "21:00" } };
    const message = 'quiet hours end when they start: "to" must differ from "from"';
    renderEditor(doc, {
      extra: {
        "POST /api/journeys/validate": (body) => {
          const q = (body as JourneyDocument).quiet_hours;
          const diagnostics = q && q.from === q.to ? [{ path: "/quiet_hours/to", code: "invalid_field", severity: "error", message }] : [];
          return [200, { valid: diagnostics.length === 0, diagnostics }];
        },
      },
    });
    const form = screen.getByRole("tabpanel");
    const to = within(form).getByLabelText("To");
    const field = to.closest(".ed-field") as HTMLElement;
    await waitFor(() => expect(within(field).getByText(message).className).toBe("ed-error"));
    expect(to.getAttribute("aria-invalid")).toBe("true");
    expect(within(form).getByLabelText("From").getAttribute("aria-invalid")).toBeNull();
    expect(within(form).getAllByText(message)).toHaveLength(1);
    fireEvent.change(to, { target: { value: "08:00" } });
    await waitFor(() => expect(within(field).queryByText(message)).toBeNull());
    expect(to.getAttribute("aria-invalid")).toBeNull();
    expect(within(field).getByText("Earlier than From: over midnight.")).toBeTruthy();
  });

  test("the journey: a frequency cap, off by default; on, how many messages in how long; off, gone", async () => {
    const doc = example("consultation.json");
    const { calls } = renderEditor(doc);
    const form = screen.getByRole("tabpanel");
    const cap = within(form).getByLabelText("Frequency cap") as HTMLInputElement;
    expect(cap.checked).toBe(false);
    expect(within(form).queryByLabelText("At most")).toBeNull();
    expect(within(form).getByText("Marketing messages from this journey to one person, on any channel; transactional ones are never stopped.")).toBeTruthy();
    fireEvent.click(cap);
    expect(changes(doc, await saved(calls, doc.id))).toEqual(['+ /cap: {"max":3,"within":"7d"}']);
    expect((within(form).getByLabelText("At most") as HTMLInputElement).value).toBe("3");
    expect((within(form).getByLabelText("Within: number") as HTMLInputElement).value).toBe("7");
    expect((within(form).getByLabelText("Within: unit") as HTMLSelectElement).value).toBe("d");
    fireEvent.change(within(form).getByLabelText("At most"), { target: { value: "2" } });
    fireEvent.change(within(form).getByLabelText("Within: number"), { target: { value: "12" } });
    fireEvent.change(within(form).getByLabelText("Within: unit"), { target: { value: "h" } });
    expect(((await saved(calls, doc.id)) as JourneyDocument).cap).toEqual({ max: 2, within: "12h" });
    // The canvas says so beside the graph.
    expect(within(screen.getByRole("region", { name: "Journey-wide settings" })).getByText("at most 2 messages in 12h")).toBeTruthy();
    fireEvent.click(cap);
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    expect("cap" in body).toBe(false);
    expect(changes(doc, body)).toEqual([]);
    expect(within(form).queryByLabelText("At most")).toBeNull();
    expect(within(screen.getByRole("region", { name: "Journey-wide settings" })).queryByText("Frequency cap")).toBeNull();
  });

  test("the journey: the validator's diagnostics about the frequency cap show at their fields, and go when fixed", async () => {
    const doc: JourneyDocument = { ...example("consultation.json"), cap: { max: 0, within: "7d" } };
    const maxMessage = '"max" is how many messages at most: a whole number from 1';
    const withinMessage = '"within" must be a positive duration such as "3d"';
    renderEditor(doc, {
      extra: {
        // As the server's parser: max a whole number from 1, within a positive duration.
        "POST /api/journeys/validate": (body) => {
          const c = (body as JourneyDocument).cap;
          const diagnostics = [];
          if (c && !(Number.isInteger(c.max) && c.max >= 1)) diagnostics.push({ path: "/cap/max", code: "invalid_field", severity: "error", message: maxMessage });
          if (c && !/^[1-9]\d*[smhdw]$/.test(c.within)) diagnostics.push({ path: "/cap/within", code: "invalid_duration", severity: "error", message: withinMessage });
          return [200, { valid: diagnostics.length === 0, diagnostics }];
        },
      },
    });
    const form = screen.getByRole("tabpanel");
    const max = within(form).getByLabelText("At most");
    const maxField = max.closest(".ed-field") as HTMLElement;
    await waitFor(() => expect(within(maxField).getByText(maxMessage).className).toBe("ed-error"));
    expect(max.getAttribute("aria-invalid")).toBe("true");
    expect(within(form).getByLabelText("Within: number").getAttribute("aria-invalid")).toBeNull();
    expect(within(form).getAllByText(maxMessage)).toHaveLength(1);
    fireEvent.change(max, { target: { value: "4" } });
    await waitFor(() => expect(within(maxField).queryByText(maxMessage)).toBeNull());
    expect(max.getAttribute("aria-invalid")).toBeNull();
    expect(within(maxField).getByText("messages")).toBeTruthy();
    // An empty duration: the server's problem shows at the duration, not at the count.
    const number = within(form).getByLabelText("Within: number");
    fireEvent.change(number, { target: { value: "" } });
    const withinField = number.closest(".ed-field") as HTMLElement;
    await waitFor(() => expect(within(withinField).getByText(withinMessage).className).toBe("ed-error"));
    expect(number.getAttribute("aria-invalid")).toBe("true");
    expect(max.getAttribute("aria-invalid")).toBeNull();
    fireEvent.change(number, { target: { value: "3" } });
    await waitFor(() => expect(within(withinField).queryByText(withinMessage)).toBeNull());
    expect(number.getAttribute("aria-invalid")).toBeNull();
  });

  test("the journey: a priority, 0 by default; a number typed is in the document, 0 or empty leaves it out; said on the canvas", async () => {
    const doc = example("consultation.json");
    const { calls } = renderEditor(doc);
    const form = screen.getByRole("tabpanel");
    const priority = within(form).getByLabelText("Priority") as HTMLInputElement;
    expect(priority.value).toBe("");
    expect(priority.placeholder).toBe("0");
    expect([priority.type, priority.min, priority.max, priority.step]).toEqual(["number", "-1000", "1000", "1"]);
    const field = priority.closest(".ed-field") as HTMLElement;
    expect(within(field).getByText(/^When journeys message a person on one channel at once \(answering the same event\), only the marketing messages of the highest priority go/)).toBeTruthy();
    fireEvent.change(priority, { target: { value: "10" } });
    expect(changes(doc, await saved(calls, doc.id))).toEqual(["+ /priority: 10"]);
    expect(within(screen.getByRole("region", { name: "Journey-wide settings" })).getByText("10, above the default 0")).toBeTruthy();
    fireEvent.change(priority, { target: { value: "-5" } });
    expect(((await saved(calls, doc.id)) as JourneyDocument).priority).toBe(-5);
    expect(within(screen.getByRole("region", { name: "Journey-wide settings" })).getByText("-5, below the default 0")).toBeTruthy();
    // 0 is the default: no key, and what was typed stays in the field.
    fireEvent.change(priority, { target: { value: "0" } });
    expect(priority.value).toBe("0");
    let body = (await saved(calls, doc.id)) as JourneyDocument;
    expect("priority" in body).toBe(false);
    expect(changes(doc, body)).toEqual([]);
    expect(screen.queryByRole("region", { name: "Journey-wide settings" })?.textContent ?? "").not.toContain("Priority");
    fireEvent.change(priority, { target: { value: "7" } });
    expect(((await saved(calls, doc.id)) as JourneyDocument).priority).toBe(7);
    fireEvent.change(priority, { target: { value: "" } });
    body = (await saved(calls, doc.id)) as JourneyDocument;
    expect("priority" in body).toBe(false);
    expect(priority.value).toBe("");
  });

  test("the journey: a priority written in the document is shown, kept as it is when saved unchanged, and follows undo", async () => {
    const doc: JourneyDocument = { ...example("consultation.json"), priority: 0 };
    const { calls } = renderEditor(doc);
    const priority = within(screen.getByRole("tabpanel")).getByLabelText("Priority") as HTMLInputElement;
    // A 0 written in a file: shown, and saved as it came.
    expect(priority.value).toBe("0");
    expect(((await saved(calls, doc.id)) as JourneyDocument).priority).toBe(0);
    fireEvent.change(priority, { target: { value: "3" } });
    expect(((await saved(calls, doc.id)) as JourneyDocument).priority).toBe(3);
    // Undone (outside the field): the document's value again, in the field too.
    fireEvent.keyDown(window, { key: "z", ctrlKey: true });
    await waitFor(() => expect(priority.value).toBe("0"));
    expect(((await saved(calls, doc.id)) as JourneyDocument).priority).toBe(0);
  });

  test("the journey: the validator's diagnostic about the priority shows at its field, and goes when fixed", async () => {
    const doc: JourneyDocument = { ...example("consultation.json"), priority: 5000 };
    const message = '"priority" is a whole number from -1000 to 1000 (higher wins; default 0)';
    renderEditor(doc, {
      extra: {
        // As the server's parser: a whole number from -1000 to 1000.
        "POST /api/journeys/validate": (body) => {
          const p = (body as JourneyDocument).priority;
          const diagnostics = p !== undefined && !(Number.isInteger(p) && p >= -1000 && p <= 1000) ? [{ path: "/priority", code: "invalid_field", severity: "error", message }] : [];
          return [200, { valid: diagnostics.length === 0, diagnostics }];
        },
      },
    });
    const form = screen.getByRole("tabpanel");
    const priority = within(form).getByLabelText("Priority") as HTMLInputElement;
    expect(priority.value).toBe("5000");
    const field = priority.closest(".ed-field") as HTMLElement;
    await waitFor(() => expect(within(field).getByText(message).className).toBe("ed-error"));
    expect(priority.getAttribute("aria-invalid")).toBe("true");
    expect(within(form).getAllByText(message)).toHaveLength(1);
    fireEvent.change(priority, { target: { value: "2.5" } });
    await waitFor(() => expect(priority.getAttribute("aria-invalid")).toBe("true"));
    fireEvent.change(priority, { target: { value: "1000" } });
    await waitFor(() => expect(within(field).queryByText(message)).toBeNull());
    expect(priority.getAttribute("aria-invalid")).toBeNull();
    expect(within(field).getByText(/only the marketing messages of the highest priority go/)).toBeTruthy();
  });

  test("renaming a step renames every reference to it", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, "invite");
    const input = within(screen.getByRole("tabpanel")).getByLabelText("Step id");
    fireEvent.change(input, { target: { value: "offer" } });
    fireEvent.keyDown(input, { key: "Enter" });
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    expect(body.goal?.from).toBe("offer");
    expect(body.steps.map((s) => s.id)).toEqual(["offer", "booked", "remind"]);
  });
});

/** Picks `item` from the menu `button` opens. */
function pickFrom(scope: HTMLElement, button: string, item: string, index = -1) {
  const buttons = within(scope).getAllByRole("button", { name: button });
  fireEvent.click(buttons.at(index) as HTMLElement);
  fireEvent.click(within(scope).getByRole("menuitem", { name: item }));
}

test("the condition builder writes the documentation's JSON: the consultation entry filter, built by clicking", async () => {
  const target = example("consultation.json");
  const doc = { ...target, entry: { event: "Page Viewed", reentry: { after: "30d" } } } as JourneyDocument;
  const { container, calls } = renderEditor(doc);
  await selectNode(container, ENTRY_ID);
  const panel = screen.getByRole("tabpanel");
  const filter = () => within(panel).getByRole("region", { name: "Only if (filter)" });

  // path starts with /products/
  pickFrom(filter(), "+ Add a condition", "Event property");
  fireEvent.change(within(filter()).getByLabelText("Event property name"), { target: { value: "path" } });
  fireEvent.change(within(filter()).getByLabelText("Event property: operator"), { target: { value: "starts_with" } });
  fireEvent.change(within(filter()).getByLabelText("Event property: value"), { target: { value: "/products/" } });

  // and at least 3 Page Viewed in 7 days where path starts with /products/
  pickFrom(filter(), "+ And", "Event history (count…)");
  let history = within(filter()).getAllByRole("group", { name: "All of these" })[0];
  fireEvent.change(within(history).getAllByLabelText("History: event name")[0], { target: { value: "Page Viewed" } });
  pickFrom(history, "+ Where…", "Event property");
  fireEvent.change(within(history).getAllByLabelText("Event property name").at(-1) as HTMLElement, { target: { value: "path" } });
  fireEvent.change(within(history).getAllByLabelText("Event property: operator").at(-1) as HTMLElement, { target: { value: "starts_with" } });
  fireEvent.change(within(history).getAllByLabelText("Event property: value").at(-1) as HTMLElement, { target: { value: "/products/" } });
  fireEvent.change(within(history).getByLabelText("History: count"), { target: { value: "3" } });

  // and no Sales Contacted in 7 days
  pickFrom(filter(), "+ Add condition", "Event history (count…)");
  history = within(filter()).getAllByRole("group", { name: "All of these" })[0];
  const events = within(history).getAllByLabelText("History: event name");
  fireEvent.change(events.at(-1) as HTMLElement, { target: { value: "Sales Contacted" } });
  fireEvent.change(within(history).getAllByLabelText("History: operator").at(-1) as HTMLElement, { target: { value: "eq" } });
  fireEvent.change(within(history).getAllByLabelText("History: count").at(-1) as HTMLElement, { target: { value: "0" } });

  // and reachable by email
  pickFrom(filter(), "+ Add condition", "Reachable (email, SMS, push or in-app)");
  const reachable = within(filter()).getByLabelText("Reachable by: channel") as HTMLSelectElement;
  expect([...reachable.options].map((o) => o.textContent)).toEqual(["email", "SMS", "push", "in-app"]);
  expect(reachable.value).toBe("email");

  const body = (await saved(calls, doc.id)) as JourneyDocument;
  const want = (target.entry as { filter: unknown }).filter;
  expect((body.entry as { filter: unknown }).filter).toEqual(want);
  expect(JSON.stringify((body.entry as { filter: unknown }).filter)).toBe(JSON.stringify(want));
});

test("a reachable condition names its channel: email, SMS, push or in-app (always true)", async () => {
  const doc = { ...example("consultation.json"), entry: { event: "Page Viewed", reentry: { after: "30d" } } } as JourneyDocument;
  const { container, calls } = renderEditor(doc);
  await selectNode(container, ENTRY_ID);
  const filter = () => within(screen.getByRole("tabpanel")).getByRole("region", { name: "Only if (filter)" });
  pickFrom(filter(), "+ Add a condition", "Reachable (email, SMS, push or in-app)");
  fireEvent.change(within(filter()).getByLabelText("Reachable by: channel"), { target: { value: "sms" } });
  let body = (await saved(calls, doc.id)) as JourneyDocument;
  expect((body.entry as { filter: unknown }).filter).toEqual({ reachable: "sms" });
  fireEvent.change(within(filter()).getByLabelText("Reachable by: channel"), { target: { value: "push" } });
  body = (await saved(calls, doc.id)) as JourneyDocument;
  expect((body.entry as { filter: unknown }).filter).toEqual({ reachable: "push" });
  expect(within(filter()).queryByText(/always true/)).toBeNull();
  fireEvent.change(within(filter()).getByLabelText("Reachable by: channel"), { target: { value: "in_app" } });
  expect(within(filter()).getByText("always true: an in-app message waits for the person's next visit, no address needed")).toBeTruthy();
  body = (await saved(calls, doc.id)) as JourneyDocument;
  expect((body.entry as { filter: unknown }).filter).toEqual({ reachable: "in_app" });
});

describe("unsaved changes", () => {
  test("leaving asks only once the document differs from what was saved", async () => {
    const doc = example("consultation.json");
    const confirm = vi.fn(() => false);
    vi.stubGlobal("confirm", confirm);
    window.history.replaceState(null, "", "/journeys/consultation");
    const { container } = renderEditor(doc);
    const journeys = () => screen.getAllByRole("link", { name: "Journeys" })[0];
    fireEvent.click(journeys());
    expect(confirm).not.toHaveBeenCalled();
    window.history.replaceState(null, "", "/journeys/consultation");
    await selectNode(container, "remind");
    fireEvent.keyDown(window, { key: "Delete" });
    await waitFor(() => expect(container.querySelector('.react-flow__node[data-id="remind"]')).toBeNull());
    fireEvent.click(journeys());
    expect(confirm).toHaveBeenCalledWith("This journey has changes that are not saved. Leave without saving them?");
    expect(window.location.pathname).toBe("/journeys/consultation");
  });

  test("the Results tab beside the canvas leads to the journey's results; a new journey, never saved, has none", async () => {
    const doc = example("consultation.json");
    window.history.replaceState(null, "", "/journeys/consultation");
    renderEditor(doc);
    const tabs = screen.getByRole("navigation", { name: "Journey views" });
    expect(within(tabs).getByRole("link", { name: "Canvas" }).getAttribute("aria-current")).toBe("page");
    const results = within(tabs).getByRole("link", { name: "Results" });
    expect(results.getAttribute("href")).toBe("/journeys/consultation/results");
    fireEvent.click(results);
    expect(window.location.pathname).toBe("/journeys/consultation/results");
    cleanup();
    renderEditor({ ...doc, id: "new-journey" }, { isNew: true });
    expect(screen.queryByRole("navigation", { name: "Journey views" })).toBeNull();
  });
});

/** What an input suggests: the options of its datalist. */
function suggestions(input: HTMLElement): string[] {
  const id = input.getAttribute("list");
  const list = id ? document.getElementById(id) : null;
  return list ? [...list.querySelectorAll("option")].map((o) => o.value) : [];
}

describe("property fields suggest the property paths of the event they read", () => {
  test("an entry filter: the entry event's; a history's where and property: the history event's; an unknown event: every event's", async () => {
    const doc = example("consultation.json");
    const { container } = renderEditor(doc);
    await selectNode(container, ENTRY_ID);
    const panel = screen.getByRole("tabpanel");
    const filter = () => within(panel).getByRole("region", { name: "Only if (filter)" });
    const properties = () => within(filter()).getAllByLabelText("Event property name");
    // The entry's own `path`, then the Page Viewed history's `where` on `path`.
    await waitFor(() => expect(suggestions(properties()[0])).toEqual(["path", "referrer", "url"]));
    expect(suggestions(properties()[1])).toEqual(["path", "referrer", "url"]);

    // A where on the Sales Contacted history: seen, never with a property.
    const history = within(filter()).getAllByRole("group", { name: "All of these" })[0];
    pickFrom(history, "+ Where…", "Event property");
    expect(properties()).toHaveLength(3);
    expect(properties()[2].getAttribute("list")).toBeNull();
    expect(suggestions(properties()[2])).toEqual([]);

    // The sum of a history's property: that history's event.
    fireEvent.change(within(filter()).getAllByLabelText("History: event name")[1], { target: { value: "Order Completed" } });
    fireEvent.change(within(filter()).getAllByLabelText("History: aggregate")[1], { target: { value: "sum" } });
    expect(suggestions(within(filter()).getByLabelText("History: property"))).toEqual(["cart_id", "total"]);
    expect(suggestions(properties()[2]), "its where too").toEqual(["cart_id", "total"]);

    // An entry event the data has not shown: every event's paths, once each, sorted.
    fireEvent.change(within(panel).getByLabelText("Event"), { target: { value: "Signed Up" } });
    expect(suggestions(properties()[0])).toEqual(["cart_id", "path", "price", "referrer", "sku", "slot", "slot.day", "total", "url"]);
    expect(suggestions(properties()[1]), "the history's event is still Page Viewed").toEqual(["path", "referrer", "url"]);
  });

  test("a wait_for path's filter, an exit's and the goal's read their event; references to the run's event and the entry key, the entry event's", async () => {
    const doc = example("abandoned-cart.json");
    const { container } = renderEditor(doc);
    await selectNode(container, ENTRY_ID);
    const key = within(screen.getByRole("tabpanel")).getByLabelText("One run per (key, optional)");
    await waitFor(() => expect(suggestions(key)).toEqual(["cart_id", "price", "sku"]));

    await selectNode(container, "idle");
    let panel = screen.getByRole("tabpanel");
    expect(suggestions(within(panel).getByLabelText("Event property name"))).toEqual(["cart_id", "price", "sku"]);
    expect(suggestions(within(panel).getByLabelText("Event property: reference name"))).toEqual(["cart_id", "price", "sku"]);

    fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "Settings" })).toBeTruthy());
    panel = screen.getByRole("tabpanel");
    const [goal, exit] = within(panel).getAllByRole("region", { name: "Only if" });
    expect(suggestions(within(goal).getByLabelText("Event property name"))).toEqual(["cart_id", "total"]);
    expect(suggestions(within(exit).getByLabelText("Event property name"))).toEqual(["cart_id", "total"]);
    expect(suggestions(within(exit).getByLabelText("Event property: reference name")), "event. is the entry event").toEqual(["cart_id", "price", "sku"]);
  });

  test("a branch reads the event that started the run", async () => {
    const base = example("trial-onboarding.json");
    const doc = {
      ...base,
      entry: { event: "Product Added" },
      steps: base.steps.map((s) => (s.id === "pro-yet" ? { ...s, cases: [{ when: { property: "price", op: "gte", value: 10 }, next: "upgraded" }] } : s)),
    } as JourneyDocument;
    const { container } = renderEditor(doc);
    await selectNode(container, "pro-yet");
    const input = within(screen.getByRole("tabpanel")).getByLabelText("Event property name");
    await waitFor(() => expect(suggestions(input)).toEqual(["cart_id", "price", "sku"]));
  });
});

describe("keyboard", () => {
  test("Delete removes the selection; Ctrl+Z brings it back; Shift+Ctrl+Z removes it again", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, "booked");
    fireEvent.keyDown(window, { key: "Delete" });
    await waitFor(() => expect(container.querySelector('.react-flow__node[data-id="booked"]')).toBeNull());
    fireEvent.keyDown(window, { key: "z", ctrlKey: true });
    await waitFor(() => card(container, "booked"));
    fireEvent.keyDown(window, { key: "z", ctrlKey: true, shiftKey: true });
    await waitFor(() => expect(container.querySelector('.react-flow__node[data-id="booked"]')).toBeNull());
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    // invite went on to booked; booked had two ways on (the event ends, the timeout reminds): left for the validator.
    expect(body.steps.map((s) => s.id)).toEqual(["invite", "remind"]);
    expect(body.steps[0]).toMatchObject({ id: "invite", next: "booked" });
  });

  test("arrow keys move the selection between cards; Escape closes the form", async () => {
    const doc = example("consultation.json");
    const { container } = renderEditor(doc);
    await selectNode(container, ENTRY_ID);
    fireEvent.keyDown(window, { key: "ArrowDown" });
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "invite" })).toBeTruthy());
    fireEvent.keyDown(window, { key: "ArrowDown" });
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "booked" })).toBeTruthy());
    fireEvent.keyDown(window, { key: "ArrowUp" });
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "invite" })).toBeTruthy());
    fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "Settings" })).toBeTruthy());
  });

  test("copy and paste steps through the clipboard, as JSON", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    await selectNode(container, "remind");
    let copied = "";
    const copy = new Event("copy", { bubbles: true }) as ClipboardEvent;
    Object.defineProperty(copy, "clipboardData", { value: { setData: (_: string, v: string) => (copied = v), getData: () => "" } });
    act(() => void document.body.dispatchEvent(copy));
    expect(JSON.parse(copied)).toMatchObject({ kind: "wayfarer/steps", steps: [doc.steps[2]] });
    const paste = new Event("paste", { bubbles: true }) as ClipboardEvent;
    Object.defineProperty(paste, "clipboardData", { value: { getData: () => copied } });
    act(() => void document.body.dispatchEvent(paste));
    await waitFor(() => card(container, "remind-2"));
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    expect(body.steps.map((s) => s.id)).toEqual(["invite", "booked", "remind", "remind-2"]);
    expect(body.steps[2]).toMatchObject({ id: "remind", next: "remind-2" });
  });
});

describe("task steps", () => {
  test("added from the palette: its form writes the title (variables inserted at the cursor), body, assignee, team and due; its card says what and for whom", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    const palette = screen.getByRole("navigation", { name: "Palette" });
    await selectNode(container, "invite");
    fireEvent.click(within(palette).getByRole("button", { name: "Add Task" }));
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "task" })).toBeTruthy());
    const form = screen.getByRole("tabpanel");
    const title = within(form).getByLabelText("Title") as HTMLInputElement;
    fireEvent.change(title, { target: { value: "Call  today" } });
    title.setSelectionRange(5, 5);
    fireEvent.focus(title);
    // The traits the data has, and the entry event's properties.
    const chips = within(within(form).getByRole("list", { name: "Variables" }))
      .getAllByRole("button")
      .map((b) => b.textContent);
    expect(chips).toEqual(["traits.plan", "traits.email", "event.path", "event.referrer", "event.url"]);
    fireEvent.click(within(form).getByRole("button", { name: "traits.email" }));
    expect(title.value).toBe("Call {{ traits.email }} today");
    const body = within(form).getByLabelText("Body (optional)") as HTMLTextAreaElement;
    fireEvent.change(body, { target: { value: "They looked at " } });
    fireEvent.focus(body);
    expect(within(form).getByText("Insert a variable (into the body)")).toBeTruthy();
    fireEvent.click(within(form).getByRole("button", { name: "event.path" }));
    expect(body.value).toBe("They looked at {{ event.path }}");
    fireEvent.change(within(form).getByLabelText("Assignee (optional)"), { target: { value: "sam@acme.test" } });
    fireEvent.change(within(form).getByLabelText("Team (optional)"), { target: { value: "sales" } });
    fireEvent.change(within(form).getByLabelText("Due after (optional): number"), { target: { value: "1" } });
    await waitFor(() =>
      expect(card(container, "task").querySelector(".card-text")?.textContent).toBe("Task: Call {{ traits.email }} today — for sam@acme.test (team sales), due in 1 day"),
    );
    let saved_ = (await saved(calls, doc.id)) as JourneyDocument;
    expect(saved_.steps.map((s) => s.id)).toEqual(["invite", "task", "booked", "remind"]);
    expect(saved_.steps[1]).toEqual({
      id: "task",
      type: "task",
      title: "Call {{ traits.email }} today",
      next: "booked",
      body: "They looked at {{ event.path }}",
      assignee: "sam@acme.test",
      team: "sales",
      due: "1d",
    });
    // An optional text emptied is left out (the server refuses an empty one).
    fireEvent.change(within(form).getByLabelText("Team (optional)"), { target: { value: "" } });
    fireEvent.change(body, { target: { value: "" } });
    saved_ = (await saved(calls, doc.id)) as JourneyDocument;
    expect(saved_.steps[1]).toEqual({ id: "task", type: "task", title: "Call {{ traits.email }} today", next: "booked", assignee: "sam@acme.test", due: "1d" });
  });

  test("the validator's problems show at their fields; + Wait for its outcome adds a wait for its Task Completed or Task Declined", async () => {
    const task = { id: "call", type: "task", title: "Call {{ trait.name }}", team: "sales", due: "2d", next: "booked" } as const;
    const base = example("consultation.json");
    const doc = { ...base, steps: [{ ...base.steps[0], next: "call" }, task, ...base.steps.slice(1)] } as JourneyDocument;
    const message = "the task title uses trait, which templates do not have (they have traits, event, event_name, journey, profile_id, run)";
    const { container, calls } = renderEditor(doc, {
      extra: {
        "POST /api/journeys/validate": (body) => {
          const steps = (body as JourneyDocument).steps;
          const i = steps.findIndex((s) => s.id === "call");
          const bad = i >= 0 && (steps[i] as { title: string }).title.includes("trait.");
          const diagnostics = bad ? [{ node: "call", path: `/steps/${i}/title`, code: "unknown_template_variable", severity: "error", message }] : [];
          return [200, { valid: !bad, diagnostics }];
        },
      },
    });
    await selectNode(container, "call");
    const form = screen.getByRole("tabpanel");
    const title = within(form).getByLabelText("Title");
    const field = title.closest(".ed-field") as HTMLElement;
    await waitFor(() => expect(within(field).getByText(message).className).toBe("ed-error"));
    expect(title.getAttribute("aria-invalid")).toBe("true");
    expect(within(form).getByLabelText("Team (optional)").getAttribute("aria-invalid")).toBeNull();
    fireEvent.change(title, { target: { value: "Call {{ traits.name }}" } });
    await waitFor(() => expect(within(field).queryByText(message)).toBeNull());
    expect(title.getAttribute("aria-invalid")).toBeNull();

    fireEvent.click(within(form).getByRole("button", { name: "+ Wait for its outcome" }));
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "call-done" })).toBeTruthy());
    await waitFor(() => expect(card(container, "call-done").querySelector(".card-text")?.textContent).toBe("Wait up to 2 days for Task Completed or Task Declined"));
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    expect(body.steps.map((s) => s.id)).toEqual(["invite", "call", "call-done", "booked", "remind"]);
    expect(body.steps[1]).toMatchObject({ next: "call-done" });
    const on = (event: string) => ({ event, filter: { property: "node", op: "eq", value: "call" } });
    // Up to the task's due; then on where the task went.
    expect(body.steps[2]).toEqual({ id: "call-done", type: "wait_for", events: [on("Task Completed"), on("Task Declined")], timeout: "2d", timeout_next: "booked" });
  });
});

describe("the palette and the canvas", () => {
  test("every entry and step type is in the palette; a click adds after the selected step and opens its form", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    const palette = screen.getByRole("navigation", { name: "Palette" });
    for (const label of ["Event", "Trait change", "API", "Schedule", "Date", "Segment"]) expect(within(palette).getByRole("button", { name: label })).toBeTruthy();
    for (const label of ["Wait", "Wait for", "Branch", "Split", "Send", "Update", "Webhook", "Task", "Exit"]) expect(within(palette).getByRole("button", { name: `Add ${label}` })).toBeTruthy();
    await selectNode(container, "invite");
    fireEvent.click(within(palette).getByRole("button", { name: "Add Wait" }));
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "wait" })).toBeTruthy());
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    expect(body.steps.map((s) => s.id)).toEqual(["invite", "wait", "booked", "remind"]);
  });

  test("the + on an edge inserts a step there", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc);
    await waitFor(() => expect(container.querySelector('.edge-plus[data-source="booked"][data-output="timeout"]')).toBeTruthy());
    const plus = container.querySelector('.edge-plus[data-source="booked"][data-output="timeout"]') as HTMLElement;
    fireEvent.click(within(plus).getByRole("button"));
    fireEvent.click(within(plus).getByRole("menuitem", { name: /^Update/ }));
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    expect(body.steps.find((s) => s.id === "booked")).toMatchObject({ timeout_next: "update" });
    expect(body.steps.find((s) => s.id === "update")).toMatchObject({ next: "remind" });
  });

  test("diagnostics are drawn on the nodes and listed; clicking one selects its node", async () => {
    const doc = example("consultation.json");
    const { container } = renderEditor(doc, {
      extra: {
        "POST /api/journeys/validate": () => [200, { valid: false, diagnostics: [{ node: "booked", path: "/steps/1/timeout", code: "invalid_field", severity: "error", message: "bad timeout" }] }],
      },
    });
    await waitFor(() => expect(screen.getByRole("img", { name: "1 error: error: bad timeout" })).toBeTruthy());
    fireEvent.click(screen.getByRole("tab", { name: "Problems (1)" }));
    fireEvent.click(screen.getByRole("button", { name: /bad timeout/ }));
    await waitFor(() => expect(within(screen.getByRole("tabpanel")).getByRole("heading", { name: "booked" })).toBeTruthy());
    expect(card(container, "booked").classList.contains("selected")).toBe(true);
  });
});

describe("live state", () => {
  test("counts are polled and drawn on the cards, the control group in the journey panel", async () => {
    const doc = example("win-back.json");
    let entered = 10;
    const { container } = renderEditor(doc, {
      extra: {
        [`GET /api/journeys/${doc.id}/counts`]: () => [
          200,
          {
            journey: doc.id,
            from: "",
            to: "",
            nodes: {
              $entry: { entered: entered++, passed: 10, exited: 0, converted: 0, waiting: 0 },
              quiet: { entered: 10, passed: 2, exited: 0, converted: 1, waiting: 8 },
              $control: { entered: 1, passed: 0, exited: 0, converted: 0, waiting: 1 },
            },
          },
        ],
      },
    });
    await waitFor(() => expect(within(card(container, "quiet")).getByLabelText("8 waiting now, 80% of the journey's entries")).toBeTruthy());
    expect(screen.getByText(/1 entered, 0 converted, 0 exited, 1 waiting/)).toBeTruthy();
    // Polled again within 2 s.
    await waitFor(() => expect(within(card(container, ENTRY_ID)).getByLabelText("11 entered, 100% of the journey's entries")).toBeTruthy(), { timeout: 4000 });
  });

  test("stop asks once, naming how many people will leave", async () => {
    const doc = example("consultation.json");
    const { calls } = renderEditor(doc, {
      extra: {
        [`GET /api/journeys/${doc.id}/counts`]: () => [200, { journey: doc.id, from: "", to: "", nodes: { booked: { entered: 5, passed: 0, exited: 0, converted: 0, waiting: 4 } } }],
        [`POST /api/journeys/${doc.id}/stop`]: () => [200, { state: "stopped", stopped_runs: 4 }],
      },
    });
    await waitFor(() => expect(calls.some((c) => c.path.startsWith(`/api/journeys/${doc.id}/counts`))).toBe(true));
    await new Promise((r) => setTimeout(r, 50));
    fireEvent.click(screen.getByRole("button", { name: "Stop…" }));
    expect(screen.getByText("4 people waiting in this journey will leave it.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Stop the journey" }));
    await waitFor(() => expect(screen.getByText("Stopped: 4 waiting run(s) ended")).toBeTruthy());
    expect(calls.find((c) => c.path === `/api/journeys/${doc.id}/stop`)?.method).toBe("POST");
  });

  test("publish: the in-flight choice is sent; a refusal shows the diagnostics", async () => {
    const doc = example("consultation.json");
    let refuse = true;
    const { calls } = renderEditor(doc, {
      extra: {
        [`POST /api/journeys/${doc.id}/publish`]: () =>
          refuse
            ? [422, { code: "journey_invalid", message: "the journey has errors", details: { diagnostics: [{ node: "booked", path: "/steps/1", code: "step_missing_for_runs", severity: "error", message: "2 runs wait at booked" }] } }]
            : [200, { status: "published", version: 2, moved_runs: 3, diagnostics: [] }],
      },
    });
    fireEvent.click(screen.getByRole("button", { name: "Publish…" }));
    fireEvent.click(screen.getByRole("radio", { name: /Move to the new version/ }));
    fireEvent.click(screen.getByRole("button", { name: "Publish" }));
    await waitFor(() => expect(screen.getByText(/2 runs wait at booked/)).toBeTruthy());
    expect(calls.find((c) => c.path.endsWith("/publish"))?.body).toEqual({ in_flight: "move" });
    refuse = false;
    fireEvent.click(screen.getByRole("button", { name: "Publish" }));
    await waitFor(() => expect(screen.getByText("Published version 2; 3 waiting run(s) moved to it")).toBeTruthy());
  });

  test("a backtest of the document being edited draws simulated counts, marked as such", async () => {
    const doc = example("consultation.json");
    const report: Schemas["BacktestResponse"] = {
      from: "2030-01-01T00:00:00Z",
      to: "2030-01-08T00:00:00Z",
      events: 40,
      warmup_events: 5,
      runs: 6,
      control_group: 0,
      conversions: 2,
      visits: { invite: 6, booked: 6, remind: 3 },
      waiting: { booked: 1 },
      sends: { "consultation-invite": 6, "consultation-reminder": 3 },
      failed: {},
      exits: { completed: 5 },
      samples: [],
      entries: { events: 30, entered: 6, filtered: 24, filter_reasons: [], waiting: 0, reentry: 0, limit: 0, unexplained: 0 },
    };
    const { container, calls } = renderEditor(doc, { extra: { "POST /api/journeys/backtest": () => [200, report] } });
    fireEvent.click(screen.getByRole("tab", { name: "Backtest" }));
    // The period is ready once the server's clock has answered: the last 7 days up to its now.
    await waitFor(() => expect((screen.getByLabelText("To") as HTMLInputElement).value).toBe(localInput(new Date("2030-01-08T00:00:00Z"))));
    fireEvent.click(screen.getByRole("button", { name: "Run the backtest" }));
    await waitFor(() => expect(screen.getByText(/The counts on the cards are what this version would have done/)).toBeTruthy());
    const body = calls.find((c) => c.path === "/api/journeys/backtest")?.body as { document: unknown; from: string; to: string };
    expect(body.document).toEqual(doc);
    expect(new Date(body.to).getTime() - new Date(body.from).getTime()).toBe(7 * 24 * 3600_000);
    expect(within(card(container, "booked")).getByLabelText("Simulated counts (backtest)")).toBeTruthy();
    expect(within(card(container, "booked")).getByLabelText("6 visits, 100% of the journey's entries (simulated)")).toBeTruthy();
    expect(screen.getByText("6 consultation-invite, 3 consultation-reminder")).toBeTruthy();
  });

  test("versions: a diff of the draft against the live version, marked on the canvas", async () => {
    const doc = example("consultation.json");
    const { container } = renderEditor(doc);
    await selectNode(container, "remind");
    fireEvent.keyDown(window, { key: "Delete" });
    fireEvent.click(screen.getByRole("tab", { name: "Versions" }));
    await waitFor(() => screen.getByRole("button", { name: "Show the differences" }));
    fireEvent.click(screen.getByRole("button", { name: "Show the differences" }));
    await waitFor(() => expect(card(container, "remind").querySelector('.card[data-diff="removed"]')).toBeTruthy());
    expect(card(container, "booked").querySelector('.card[data-diff="changed"]')).toBeTruthy();
    expect(screen.getByText(/^- step remind: /)).toBeTruthy();
    expect(screen.getByText('- step booked /timeout_next: "remind"')).toBeTruthy();
  });
});

test("a new journey: created with POST /api/journeys", async () => {
  const doc: JourneyDocument = { id: "new-journey", name: "New journey", entry: { event: "" }, steps: [] };
  const { calls } = renderEditor(doc, { isNew: true, extra: { "POST /api/journeys": () => [201, { status: "draft", valid: false, diagnostics: [] }] } });
  const panel = screen.getByRole("tabpanel");
  fireEvent.change(within(panel).getByLabelText("Event"), { target: { value: "Signed Up" } });
  fireEvent.click(screen.getByRole("button", { name: "Save draft" }));
  await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/journeys")).toBe(true));
  expect(calls.find((c) => c.method === "POST" && c.path === "/api/journeys")?.body).toEqual({ ...doc, entry: { event: "Signed Up" } });
});

describe("segments", () => {
  const segment = (id: string, name: string): Schemas["SegmentView"] => ({
    id,
    name,
    condition: {} as Schemas["SegmentView"]["condition"],
    size: 3,
    created_at: "2030-01-01T00:00:00Z",
    updated_at: "2030-01-01T00:00:00Z",
    fill: null,
  });
  const SEGMENTS = { segments: [segment("lapsed", "No order in 30 days"), segment("vip", "VIP")] };
  const withSegments = { "GET /api/segments": (): [number, unknown] => [200, SEGMENTS] };

  test("the entry: Segment in the palette; its form picks one of the server's segments, entering or leaving; the card names it", async () => {
    const doc = example("consultation.json");
    const { container, calls } = renderEditor(doc, { extra: withSegments });
    fireEvent.click(within(screen.getByRole("navigation", { name: "Palette" })).getByRole("button", { name: "Segment" }));
    const panel = screen.getByRole("tabpanel");
    await waitFor(() => expect((within(panel).getByLabelText("Runs start when") as HTMLSelectElement).value).toBe("segment"));
    const picker = within(panel).getByLabelText("Segment") as HTMLSelectElement;
    await waitFor(() => expect([...picker.options].map((o) => o.textContent)).toEqual(["Choose a segment…", "No order in 30 days", "VIP"]));
    await waitFor(() => expect(card(container, ENTRY_ID).textContent).toContain("Enters segment ?"));
    fireEvent.change(picker, { target: { value: "lapsed" } });
    await waitFor(() => expect(card(container, ENTRY_ID).textContent).toContain("Enters segment No order in 30 days"));
    fireEvent.change(within(panel).getByLabelText("A run starts when a person"), { target: { value: "leave" } });
    await waitFor(() => expect(card(container, ENTRY_ID).textContent).toContain("Leaves segment No order in 30 days"));
    const body = (await saved(calls, doc.id)) as JourneyDocument;
    // The entry's rules are kept; its event, filter and their keys are gone.
    expect(body.entry).toEqual({ segment: "lapsed", on: "leave", reentry: { after: "30d" } });
  });

  test("the entry: the validator's unknown_segment at its field; a segment no longer there is kept and said so", async () => {
    const doc = { ...example("consultation.json"), entry: { segment: "gone", on: "enter" } } as JourneyDocument;
    const { container } = renderEditor(doc, {
      extra: {
        ...withSegments,
        "POST /api/journeys/validate": () => [
          200,
          { valid: false, diagnostics: [{ path: "/entry/segment", code: "unknown_segment", severity: "error", message: 'segment "gone" does not exist; create it with PUT /api/segments/gone' }] },
        ],
      },
    });
    await selectNode(container, ENTRY_ID);
    const panel = screen.getByRole("tabpanel");
    const picker = within(panel).getByLabelText("Segment") as HTMLSelectElement;
    await waitFor(() => expect(picker.getAttribute("aria-invalid")).toBe("true"));
    expect(within(panel).getByText('segment "gone" does not exist; create it with PUT /api/segments/gone')).toBeTruthy();
    await waitFor(() => expect(picker.options[picker.selectedIndex].textContent).toBe("gone (no such segment)"));
    expect(card(container, ENTRY_ID).textContent).toContain("Enters segment gone");
  });

  test("a branch: membership of a segment, picked by name; Not makes it “is not in segment”; the card says it", async () => {
    const doc = example("trial-onboarding.json");
    const { container, calls } = renderEditor(doc, { extra: withSegments });
    await selectNode(container, "pro-yet");
    const when = () => within(screen.getByRole("tabpanel")).getByRole("region", { name: "If (case 1)" });
    pickFrom(when(), "+ Or", "Segment membership");
    const picker = within(when()).getByLabelText("Segment") as HTMLSelectElement;
    await waitFor(() => expect(picker.options.length).toBe(3));
    fireEvent.change(picker, { target: { value: "vip" } });
    expect(within(when()).getByText("Is in segment")).toBeTruthy();
    let body = (await saved(calls, doc.id)) as JourneyDocument;
    const casesOf = (d: JourneyDocument) => (d.steps.find((s) => s.id === "pro-yet") as { cases: { when: unknown }[] }).cases;
    expect(casesOf(body)[0].when).toEqual({ any: [{ trait: "plan", op: "eq", value: "pro" }, { segment: "vip" }] });
    // Not: one line, "is not in segment".
    const node = within(when()).getByLabelText("Segment").closest(".cond") as HTMLElement;
    fireEvent.click(within(node).getByRole("button", { name: "Not" }));
    expect(within(when()).getByText("Is not in segment")).toBeTruthy();
    expect((within(when()).getByLabelText("Segment") as HTMLSelectElement).value).toBe("vip");
    body = (await saved(calls, doc.id)) as JourneyDocument;
    expect(casesOf(body)[0].when).toEqual({ any: [{ trait: "plan", op: "eq", value: "pro" }, { not: { segment: "vip" } }] });
    await waitFor(() => expect(card(container, "pro-yet").textContent).toContain("If plan is pro or not in segment VIP"));
  });

  test("a branch's condition shows the validator's problems at the condition they are about", async () => {
    const doc = example("trial-onboarding.json");
    const i = doc.steps.findIndex((s) => s.id === "pro-yet");
    const { container } = renderEditor(doc, {
      extra: {
        "POST /api/journeys/validate": () => [
          200,
          { valid: true, diagnostics: [{ node: "pro-yet", path: `/steps/${i}/cases/0/when/trait`, code: "unseen_trait", severity: "warning", message: 'no profile has had a trait "plan" yet' }] },
        ],
      },
    });
    await selectNode(container, "pro-yet");
    const when = within(screen.getByRole("tabpanel")).getByRole("region", { name: "If (case 1)" });
    await waitFor(() => expect(within(when).getByText('no profile has had a trait "plan" yet')).toBeTruthy());
  });
});
