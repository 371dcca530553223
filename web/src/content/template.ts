// A template's parts, and what the server says is wrong with them.
import type { ApiError, Schemas } from "../api/client";

export const PARTS = [
  "subject",
  "html",
  "text",
  "sms",
  "push.title",
  "push.body",
  "push.link",
  "push.image",
  "in_app.placement",
  "in_app.layout",
  "in_app.title",
  "in_app.body",
  "in_app.button",
  "in_app.link",
  "in_app.image",
] as const;
export type Part = (typeof PARTS)[number];
export type Draft = Record<Part, string>;

/** The parts an email is made of; `sms`, the push and the in-app parts are the other channels', each sent on its own. */
export const EMAIL_PARTS = ["subject", "html", "text"] as const satisfies readonly Part[];

/** A push notification's parts, named as the server's problems name them ("push.title"). */
export const PUSH_PARTS = ["push.title", "push.body", "push.link", "push.image"] as const satisfies readonly Part[];
type PushPart = (typeof PUSH_PARTS)[number];

/**
 * An in-app message's parts ("in_app.title", as the server's problems name them): where it shows
 * and how (`placement` and `layout`, plain words), then its text, each Liquid.
 */
export const IN_APP_PARTS = ["in_app.placement", "in_app.layout", "in_app.title", "in_app.body", "in_app.button", "in_app.link", "in_app.image"] as const satisfies readonly Part[];
type InAppPart = (typeof IN_APP_PARTS)[number];

/** Parts that are not Liquid: not rendered in a preview, and no variable is inserted in them. */
export const PLAIN_PARTS: readonly Part[] = ["in_app.placement", "in_app.layout"];

export const PART_LABEL: Record<Part, string> = {
  subject: "Subject",
  html: "HTML",
  text: "Text",
  sms: "SMS text",
  "push.title": "Push title",
  "push.body": "Push body",
  "push.link": "Push link",
  "push.image": "Push image",
  "in_app.placement": "In-app placement",
  "in_app.layout": "In-app layout",
  "in_app.title": "In-app title",
  "in_app.body": "In-app body",
  "in_app.button": "In-app button label",
  "in_app.link": "In-app link",
  "in_app.image": "In-app image",
};

/** Variables only emails have: an SMS, a push notification or an in-app message cannot carry the unsubscribe link. */
export const EMAIL_ONLY_VARIABLES: readonly string[] = ["unsubscribe_url"];

export const TEMPLATE_ID = /^[a-z0-9_-]{1,100}$/;

const pushKey = (part: PushPart) => part.slice("push.".length) as keyof Schemas["PushContent"];
const isPush = (part: Part): part is PushPart => (PUSH_PARTS as readonly Part[]).includes(part);
const inAppKey = (part: InAppPart) => part.slice("in_app.".length) as keyof Schemas["InAppContent"];
const isInApp = (part: Part): part is InAppPart => (IN_APP_PARTS as readonly Part[]).includes(part);

/** How an in-app message shows when the template does not say: as a banner (the server's default). */
export const DEFAULT_LAYOUT: Schemas["InAppLayout"] = "banner";

type Content = Pick<Schemas["TemplateView"], "subject" | "html" | "text" | "sms" | "push" | "in_app">;

/** A template's translation in one locale: its parts, each optional; an empty one is the template's own. */
export type Translation = Schemas["Translation"];

/** A template's parts as the editor holds them, the push notification's and the in-app message's flattened ("push.title", "in_app.title"). */
export function draftOf(t: Content): Draft {
  const push = Object.fromEntries(PUSH_PARTS.map((p) => [p, t.push[pushKey(p)] ?? ""])) as Record<PushPart, string>;
  const inApp = Object.fromEntries(IN_APP_PARTS.map((p) => [p, t.in_app[inAppKey(p)] ?? (p === "in_app.layout" ? DEFAULT_LAYOUT : "")])) as Record<InAppPart, string>;
  return { subject: t.subject, html: t.html, text: t.text, sms: t.sms, ...push, ...inApp };
}

export const EMPTY_DRAFT: Draft = draftOf({ subject: "", html: "", text: "", sms: "", push: {}, in_app: {} });

/**
 * A draft as the API takes it (PUT /api/templates/{id}, POST /api/template-preview): the push
 * notification's parts in `push`, the in-app message's in `in_app`.
 */
export function bodyOf(d: Draft): Required<Omit<Schemas["TemplateBody"], "category" | "locales">> {
  const push = Object.fromEntries(PUSH_PARTS.map((p) => [pushKey(p), d[p]]));
  const in_app = Object.fromEntries(IN_APP_PARTS.map((p) => [inAppKey(p), d[p]])) as Record<keyof Schemas["InAppContent"], string>;
  return { subject: d.subject, html: d.html, text: d.text, sms: d.sms, push, in_app: { ...in_app, layout: in_app.layout === "modal" ? "modal" : "banner" } };
}

/**
 * A translation as the editor holds it: a draft like the template's. Its in-app placement and
 * layout are kept as they came (a translation always has the template's: they are not edited),
 * so that saving gives back what was loaded.
 */
export function translationDraftOf(t: Translation): Draft {
  return draftOf({ subject: t.subject ?? "", html: t.html ?? "", text: t.text ?? "", sms: t.sms ?? "", push: t.push ?? {}, in_app: t.in_app ?? {} });
}

/** Translations as the API takes them (`locales` of PUT /api/templates/{id} and of a preview): each draft's parts, as `bodyOf`. */
export function localesBody(translations: Record<string, Draft>): Record<string, Translation> {
  return Object.fromEntries(Object.entries(translations).map(([locale, d]) => [locale, bodyOf(d)]));
}

/** Whether two sets of translations say the same: the same locales, each with the same parts. */
export function sameTranslations(a: Record<string, Draft>, b: Record<string, Draft>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((l) => l in b && PARTS.every((p) => a[l][p] === b[l][p]));
}

/** What a translation's part is when sent: its own, else (empty, spaces alone) the template's. */
export function effectivePart(own: Draft, translation: Draft | undefined, part: Part): string {
  return translation && translation[part].trim() !== "" ? translation[part] : own[part];
}

/** A locale as the server keeps it: trimmed, in lower case, "_" as "-" ("pt_BR" → "pt-br"). */
export const normalizeLocale = (locale: string) => locale.trim().replace(/_/g, "-").toLowerCase();

/**
 * Whether the server takes a (normalized) locale: a language of 2-3 letters, then subtags of 2-8
 * letters or digits ("fr", "pt-br", "zh-hant-tw").
 */
export const isLocale = (locale: string) => /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/.test(locale);

const languageNames = (() => {
  try {
    return new Intl.DisplayNames(["en"], { type: "language" });
  } catch {
    return undefined;
  }
})();

/** "French (fr)", "Brazilian Portuguese (pt-br)"; the code alone when it has no name. */
export function localeLabel(locale: string): string {
  let name: string | undefined;
  try {
    name = languageNames?.of(locale);
  } catch {
    name = undefined;
  }
  return name && name.toLowerCase() !== locale ? `${name} (${locale})` : locale;
}

/**
 * The translation a person whose `locale` trait is `wanted` gets, among `locales`: that locale's,
 * else its language's ("fr" for "fr-CA"), else none (the template as it is).
 */
export function localeFor(locales: readonly string[], wanted: unknown): string | undefined {
  if (typeof wanted !== "string") return undefined;
  const exact = normalizeLocale(wanted);
  if (exact === "") return undefined;
  const language = exact.split("-")[0];
  return [exact, language].find((l) => locales.includes(l));
}

/**
 * A part of a preview, the push notification's from `push`, the in-app message's from `in_app`;
 * none for the plain parts (an in-app message's placement and layout), which are not rendered.
 */
export function previewPart(preview: Schemas["Preview"], part: Part): Schemas["PreviewPart"] | undefined {
  if (isPush(part)) return preview.push[pushKey(part)];
  if (isInApp(part)) {
    const key = inAppKey(part);
    return key === "placement" || key === "layout" ? undefined : preview.in_app[key];
  }
  return preview[part];
}

/**
 * The channels a template can be sent on: email with an HTML or text part, SMS with SMS text,
 * push with a title or body, in-app with a title or body.
 */
export function channelsOf(t: Pick<Schemas["TemplateView"], "html" | "text" | "sms" | "push" | "in_app">): Schemas["Channel"][] {
  const has: Record<Schemas["Channel"], boolean> = {
    email: t.html.trim() !== "" || t.text.trim() !== "",
    sms: t.sms.trim() !== "",
    push: (t.push.title ?? "").trim() !== "" || (t.push.body ?? "").trim() !== "",
    in_app: (t.in_app.title ?? "").trim() !== "" || (t.in_app.body ?? "").trim() !== "",
  };
  return (["email", "sms", "push", "in_app"] as const).filter((c) => has[c]);
}

/** An in-app message's button as it shows: its label, else "Open"; none without a link. */
export const buttonLabel = (button: string, link: string) => (link ? button || "Open" : "");

/**
 * Whether web pages (the served script) follow a link: an http(s) one, or one relative to the
 * page; for another (an app's "myapp://…") they show no button.
 */
export const webLink = (link: string) => /^https?:/i.test(link) || !/^[a-z][a-z0-9+.-]*:/i.test(link);

/** Problems by part, as the editor shows them next to each. */
export type PartProblems = Partial<Record<Part, string[]>>;

/**
 * Each part's problems from a 422 `template_invalid` (`details.problems: [{part, message}]`), by
 * locale: the template's own parts under "" (`subject`, `push.title`), a translation's under its
 * locale (`locales.fr.subject` → "fr", `subject`). The schema does not describe `details`
 * (ErrorBody.details is any JSON), hence the checks.
 */
export function problemsByLocale(error: ApiError): Record<string, PartProblems> | undefined {
  if (error.code !== "template_invalid") return undefined;
  const problems: unknown = (error.details as { problems?: unknown } | null | undefined)?.problems;
  if (!Array.isArray(problems)) return undefined;
  const out: Record<string, PartProblems> = {};
  for (const p of problems) {
    if (typeof p !== "object" || p === null) continue;
    const { part: named, message } = p as Record<string, unknown>;
    if (typeof message !== "string" || typeof named !== "string") continue;
    const translated = /^locales\.([^.]+)\.(.+)$/.exec(named);
    const [locale, part] = translated ? [translated[1], translated[2]] : ["", named];
    if (!(PARTS as readonly string[]).includes(part)) continue;
    ((out[locale] ??= {})[part as Part] ??= []).push(message);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The template's own parts' problems (see problemsByLocale). */
export function problemsByPart(error: ApiError): PartProblems | undefined {
  return problemsByLocale(error)?.[""];
}

/** The Liquid that outputs `path` (["traits", "firstName"] → "{{ traits.firstName }}"). */
export function liquidOutput(path: (string | number)[]): string {
  const expr = path
    .map((key, i) => {
      if (typeof key === "number") return `[${key}]`;
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return i === 0 ? key : `.${key}`;
      return `[${JSON.stringify(key)}]`;
    })
    .join("");
  return `{{ ${expr} }}`;
}

/** The rendered HTML in a frame that runs nothing and loads nothing from elsewhere (images from data: URLs excepted). */
export function previewDocument(html: string): string {
  const csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}">${html}`;
}

/** Where a Liquid error points ("liquid:  --> 2:37"): line and column, from 1. */
export function errorPosition(message: string): { line: number; column: number } | undefined {
  const m = /--> (\d+):(\d+)/.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
}

/** The offset in `text` of a line and column (from 1), kept inside the text. */
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split("\n");
  const before = lines.slice(0, Math.max(0, line - 1)).reduce((n, l) => n + l.length + 1, 0);
  const here = lines[Math.min(lines.length, line) - 1] ?? "";
  return Math.min(text.length, before + Math.min(here.length, Math.max(0, column - 1)));
}
