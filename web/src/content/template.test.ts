import { expect, test } from "vitest";
import { ApiError } from "../api/client";
import {
  bodyOf,
  buttonLabel,
  channelsOf,
  draftOf,
  effectivePart,
  EMPTY_DRAFT,
  errorPosition,
  isLocale,
  liquidOutput,
  localeFor,
  localeLabel,
  localesBody,
  normalizeLocale,
  offsetOf,
  previewDocument,
  previewPart,
  problemsByLocale,
  problemsByPart,
  sameTranslations,
  translationDraftOf,
  webLink,
} from "./template";

test("the Liquid that outputs a path of the context", () => {
  expect(liquidOutput(["traits", "firstName"])).toBe("{{ traits.firstName }}");
  expect(liquidOutput(["event", "items", 0, "sku"])).toBe("{{ event.items[0].sku }}");
  expect(liquidOutput(["traits", "first name"])).toBe('{{ traits["first name"] }}');
});

test("a 422 template_invalid's problems by part; anything else is not one", () => {
  const details = { problems: [{ part: "html", message: "a" }, { part: "html", message: "b" }, { part: "subject", message: "c" }, { part: "body", message: "?" }, "junk"] };
  expect(problemsByPart(new ApiError("template_invalid", "x", details))).toEqual({ html: ["a", "b"], subject: ["c"] });
  expect(problemsByPart(new ApiError("template_invalid", "x"))).toBeUndefined();
  expect(problemsByPart(new ApiError("conflict", "x", details))).toBeUndefined();
});

test("an SMS text's problems are the sms part's", () => {
  const details = { problems: [{ part: "sms", message: "uses unsubscribe_url, which SMS text does not have" }] };
  expect(problemsByPart(new ApiError("template_invalid", "x", details))).toEqual({ sms: ["uses unsubscribe_url, which SMS text does not have"] });
});

test("a push notification's problems are its parts' (push.title, push.link…)", () => {
  const details = { problems: [{ part: "push.link", message: "uses unsubscribe_url, which push notifications do not have" }, { part: "push.title", message: "does not parse as Liquid" }] };
  expect(problemsByPart(new ApiError("template_invalid", "x", details))).toEqual({
    "push.link": ["uses unsubscribe_url, which push notifications do not have"],
    "push.title": ["does not parse as Liquid"],
  });
});

test("an in-app message's problems are its parts' (in_app.title, in_app.button…)", () => {
  const details = { problems: [{ part: "in_app.button", message: "uses unsubscribe_url, which in-app messages do not have" }, { part: "in_app.title", message: "does not parse as Liquid" }] };
  expect(problemsByPart(new ApiError("template_invalid", "x", details))).toEqual({
    "in_app.button": ["uses unsubscribe_url, which in-app messages do not have"],
    "in_app.title": ["does not parse as Liquid"],
  });
});

test("the channels a template can be sent on: email with HTML or text, SMS with SMS text, push and in-app with a title or body", () => {
  expect(channelsOf({ html: "<p>Hi</p>", text: "", sms: "", push: {}, in_app: {} })).toEqual(["email"]);
  expect(channelsOf({ html: "", text: "Hi", sms: "Hi", push: { body: "Hi" }, in_app: { body: "Hi" } })).toEqual(["email", "sms", "push", "in_app"]);
  expect(channelsOf({ html: " ", text: "\n", sms: "Hi", push: { title: " " }, in_app: { title: " ", body: "\n" } })).toEqual(["sms"]);
  expect(channelsOf({ html: "", text: "", sms: "", push: { title: "Back in stock" }, in_app: {} })).toEqual(["push"]);
  expect(channelsOf({ html: "", text: "", sms: "", push: {}, in_app: { title: "Spring sale" } })).toEqual(["in_app"]);
  // A link or an image is not a notification; a place, a layout, a button or a link is not an in-app message.
  expect(channelsOf({ html: "", text: "", sms: "", push: { link: "https://x.test", image: "https://x.test/a.png" }, in_app: {} })).toEqual([]);
  expect(channelsOf({ html: "", text: "", sms: "", push: {}, in_app: { placement: "home", layout: "modal", button: "Go", link: "https://x.test" } })).toEqual([]);
});

const NO_IN_APP = { placement: "", layout: "banner", title: "", body: "", button: "", link: "", image: "" };

test("the push notification's parts: flat in the editor, in `push` for the API and in the preview", () => {
  const draft = draftOf({ subject: "S", html: "", text: "T", sms: "", push: { title: "Hi", link: "myapp://home" }, in_app: {} });
  expect(draft).toMatchObject({ subject: "S", html: "", text: "T", sms: "", "push.title": "Hi", "push.body": "", "push.link": "myapp://home", "push.image": "" });
  expect(bodyOf(draft)).toEqual({ subject: "S", html: "", text: "T", sms: "", push: { title: "Hi", body: "", link: "myapp://home", image: "" }, in_app: NO_IN_APP });
  const part = (rendered: string) => ({ rendered });
  const preview = {
    subject: part("S"),
    html: part(""),
    text: part("T"),
    sms: part(""),
    sms_segments: 0,
    push: { title: part("Hi"), body: part(""), link: { error: "bad" }, image: part("") },
    in_app: { title: part(""), body: part(""), button: part(""), link: part(""), image: part("") },
    context: {},
  };
  expect(previewPart(preview, "text")).toEqual(part("T"));
  expect(previewPart(preview, "push.title")).toEqual(part("Hi"));
  expect(previewPart(preview, "push.link")).toEqual({ error: "bad" });
});

test("the in-app message's parts: flat in the editor, in `in_app` for the API and in the preview; placement and layout are not rendered", () => {
  const in_app = { placement: "home", layout: "modal", title: "Hi {{ traits.firstName }}", body: "20% off", button: "Shop", link: "https://shop.test/sale", image: "https://cdn.test/a.png" } as const;
  const draft = draftOf({ subject: "", html: "", text: "", sms: "", push: {}, in_app });
  expect(draft).toMatchObject({
    "in_app.placement": "home",
    "in_app.layout": "modal",
    "in_app.title": "Hi {{ traits.firstName }}",
    "in_app.body": "20% off",
    "in_app.button": "Shop",
    "in_app.link": "https://shop.test/sale",
    "in_app.image": "https://cdn.test/a.png",
  });
  // Saved back as it came: nothing lost on the way through the editor.
  expect(bodyOf(draft)).toEqual({ subject: "", html: "", text: "", sms: "", push: { title: "", body: "", link: "", image: "" }, in_app });
  expect(draftOf({ ...bodyOf(draft) })).toEqual(draft);
  // A template that does not say how shows as a banner, as the server does it.
  expect(draftOf({ subject: "", html: "", text: "", sms: "", push: {}, in_app: { title: "Hi" } })["in_app.layout"]).toBe("banner");
  expect(EMPTY_DRAFT["in_app.layout"]).toBe("banner");
  expect(bodyOf(EMPTY_DRAFT).in_app).toEqual(NO_IN_APP);
  const part = (rendered: string) => ({ rendered });
  const preview = {
    subject: part(""),
    html: part(""),
    text: part(""),
    sms: part(""),
    sms_segments: 0,
    push: { title: part(""), body: part(""), link: part(""), image: part("") },
    in_app: { title: part("Hi Ada"), body: part("20% off"), button: { error: "bad" }, link: part("https://shop.test/sale"), image: part("") },
    context: {},
  };
  expect(previewPart(preview, "in_app.title")).toEqual(part("Hi Ada"));
  expect(previewPart(preview, "in_app.button")).toEqual({ error: "bad" });
  expect(previewPart(preview, "in_app.link")).toEqual(part("https://shop.test/sale"));
  expect(previewPart(preview, "in_app.placement")).toBeUndefined();
  expect(previewPart(preview, "in_app.layout")).toBeUndefined();
});

test("an in-app message's button: its label, else Open; none without a link; web pages follow web links only", () => {
  expect(buttonLabel("Shop", "https://shop.test")).toBe("Shop");
  expect(buttonLabel("", "https://shop.test")).toBe("Open");
  expect(buttonLabel("Shop", "")).toBe("");
  expect(["https://shop.test/a", "HTTP://shop.test", "/sale", "sale?x=1"].map(webLink)).toEqual([true, true, true, true]);
  expect(["myapp://sale", "javascript:alert(1)", "mailto:a@b.test"].map(webLink)).toEqual([false, false, false]);
});

test("where a Liquid error points, and the offset of a line and column", () => {
  expect(errorPosition("template does not parse: liquid:  --> 2:37\n  |\n2 | ...")).toEqual({ line: 2, column: 37 });
  expect(errorPosition("uses foo, which templates do not have")).toBeUndefined();
  expect(offsetOf("ab\ncdef\ng", 2, 3)).toBe(5);
  expect(offsetOf("ab\ncdef", 1, 99)).toBe(2);
  expect(offsetOf("ab\ncdef", 9, 1)).toBe(7);
});

test("the preview document loads nothing from elsewhere", () => {
  const doc = previewDocument('<img src="https://tracker.example/x.gif">');
  expect(doc).toMatch(/^<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; [^"]*img-src data:/);
  expect(doc.endsWith('<img src="https://tracker.example/x.gif">')).toBe(true);
});

test("locales as the server keeps them: trimmed, lower case, _ as -; a language, then subtags", () => {
  expect(["fr", " pt_BR ", "zh-Hant", "ZH_hant_TW"].map(normalizeLocale)).toEqual(["fr", "pt-br", "zh-hant", "zh-hant-tw"]);
  expect(["fr", "pt-br", "zh-hant", "zh-hant-tw", "es-419", "fil"].map(isLocale)).toEqual([true, true, true, true, true, true]);
  // A letter alone, a word, something not a tag: refused, as the server refuses them.
  expect(["f", "french", "fr-", "fr-x", "xx_y!", "", "fr--ca", "FR"].map(isLocale)).toEqual([false, false, false, false, false, false, false, false]);
  expect(localeLabel("fr")).toBe("French (fr)");
  expect(localeLabel("pt-br")).toBe("Brazilian Portuguese (pt-br)");
});

test("the translation a person gets: their locale's, else its language's, else none", () => {
  const locales = ["fr", "pt-br"];
  expect(localeFor(locales, "fr")).toBe("fr");
  expect(localeFor(locales, "fr-CA")).toBe("fr");
  expect(localeFor(locales, "pt_BR")).toBe("pt-br");
  expect(localeFor(locales, "pt")).toBeUndefined();
  expect(localeFor(locales, "de")).toBeUndefined();
  expect(localeFor(locales, "")).toBeUndefined();
  expect(localeFor(locales, 7)).toBeUndefined();
});

test("a translation goes through the editor and back as it came; its empty parts are the template's own", () => {
  // As GET /api/templates/{id} answers: every part, the empty ones too; an in-app placement and layout kept although the template's are used.
  const fr = {
    subject: "Bonjour {{ traits.firstName }}",
    html: "",
    text: "Bonjour",
    sms: "",
    push: { title: "Salut", body: "", link: "", image: "" },
    in_app: { placement: "checkout", layout: "modal", title: "", body: "Soldes", button: "", link: "", image: "" },
  } as const;
  const es = { subject: "", html: "", text: "", sms: "Hola", push: { title: "", body: "", link: "", image: "" }, in_app: { ...NO_IN_APP, layout: "banner" } } as const;
  const drafts = { fr: translationDraftOf(fr), es: translationDraftOf(es) };
  expect(localesBody(drafts)).toEqual({ fr, es });
  expect(sameTranslations(drafts, { fr: translationDraftOf(fr), es: translationDraftOf(es) })).toBe(true);
  expect(sameTranslations(drafts, { fr: translationDraftOf(fr) })).toBe(false);
  expect(sameTranslations(drafts, { fr: translationDraftOf(fr), es: { ...translationDraftOf(es), sms: "Hola!" } })).toBe(false);
  // A translation with parts left out (made through the API by hand) reads as empty parts.
  expect(translationDraftOf({ subject: "Hallo" })).toEqual({ ...EMPTY_DRAFT, subject: "Hallo" });
  const own = draftOf({ subject: "Hello", html: "<p>Hi</p>", text: "Hi", sms: "Hi", push: { title: "Hey" }, in_app: {} });
  expect(effectivePart(own, drafts.fr, "subject")).toBe("Bonjour {{ traits.firstName }}");
  expect(effectivePart(own, drafts.fr, "html")).toBe("<p>Hi</p>");
  expect(effectivePart(own, { ...drafts.fr, sms: "  \n" }, "sms")).toBe("Hi");
  expect(effectivePart(own, undefined, "push.title")).toBe("Hey");
});

test("a 422's problems by locale: the template's own parts under \"\", a translation's under its locale", () => {
  const details = {
    problems: [
      { part: "subject", message: "a" },
      { part: "locales.fr.subject", message: "b" },
      { part: "locales.fr.push.title", message: "c" },
      { part: "locales.pt-br.in_app.body", message: "d" },
      { part: "locales.fr.nothing", message: "?" },
    ],
  };
  expect(problemsByLocale(new ApiError("template_invalid", "x", details))).toEqual({
    "": { subject: ["a"] },
    fr: { subject: ["b"], "push.title": ["c"] },
    "pt-br": { "in_app.body": ["d"] },
  });
  expect(problemsByPart(new ApiError("template_invalid", "x", details))).toEqual({ subject: ["a"] });
  // Not a locale: said in the message alone, with no problems by part.
  expect(problemsByLocale(new ApiError("template_invalid", '"xx_y!" is not a locale: a language ("fr") and maybe a region or script ("pt-BR", "zh-Hant")'))).toBeUndefined();
});
