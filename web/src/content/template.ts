// A template's parts, and what the server says is wrong with them.
import type { ApiError, Schemas } from "../api/client";

export const PARTS = ["subject", "html", "text", "sms", "push.title", "push.body", "push.link", "push.image"] as const;
export type Part = (typeof PARTS)[number];
export type Draft = Record<Part, string>;

/** The parts an email is made of; `sms` and the push parts are the other channels', each sent on its own. */
export const EMAIL_PARTS = ["subject", "html", "text"] as const satisfies readonly Part[];

/** A push notification's parts, named as the server's problems name them ("push.title"). */
export const PUSH_PARTS = ["push.title", "push.body", "push.link", "push.image"] as const satisfies readonly Part[];
type PushPart = (typeof PUSH_PARTS)[number];

export const PART_LABEL: Record<Part, string> = {
  subject: "Subject",
  html: "HTML",
  text: "Text",
  sms: "SMS text",
  "push.title": "Push title",
  "push.body": "Push body",
  "push.link": "Push link",
  "push.image": "Push image",
};

/** Variables only emails have: an SMS or a push notification cannot carry the unsubscribe link. */
export const EMAIL_ONLY_VARIABLES: readonly string[] = ["unsubscribe_url"];

export const TEMPLATE_ID = /^[a-z0-9_-]{1,100}$/;

const pushKey = (part: PushPart) => part.slice("push.".length) as keyof Schemas["PushContent"];
const isPush = (part: Part): part is PushPart => (PUSH_PARTS as readonly Part[]).includes(part);

/** A template's parts as the editor holds them, the push notification's flattened ("push.title"). */
export function draftOf(t: Pick<Schemas["TemplateView"], "subject" | "html" | "text" | "sms" | "push">): Draft {
  const push = Object.fromEntries(PUSH_PARTS.map((p) => [p, t.push[pushKey(p)] ?? ""])) as Record<PushPart, string>;
  return { subject: t.subject, html: t.html, text: t.text, sms: t.sms, ...push };
}

export const EMPTY_DRAFT: Draft = draftOf({ subject: "", html: "", text: "", sms: "", push: {} });

/** A draft as the API takes it (PUT /api/templates/{id}, POST /api/template-preview): the push notification's parts in `push`. */
export function bodyOf(d: Draft): Required<Omit<Schemas["TemplateBody"], "category">> {
  const push = Object.fromEntries(PUSH_PARTS.map((p) => [pushKey(p), d[p]]));
  return { subject: d.subject, html: d.html, text: d.text, sms: d.sms, push };
}

/** A part of a preview, the push notification's from `push`. */
export function previewPart(preview: Schemas["Preview"], part: Part): Schemas["PreviewPart"] {
  return isPush(part) ? preview.push[pushKey(part)] : preview[part];
}

/** The channels a template can be sent on: email with an HTML or text part, SMS with SMS text, push with a title or body. */
export function channelsOf(t: Pick<Schemas["TemplateView"], "html" | "text" | "sms" | "push">): Schemas["Channel"][] {
  const has: Record<Schemas["Channel"], boolean> = {
    email: t.html.trim() !== "" || t.text.trim() !== "",
    sms: t.sms.trim() !== "",
    push: (t.push.title ?? "").trim() !== "" || (t.push.body ?? "").trim() !== "",
  };
  return (["email", "sms", "push"] as const).filter((c) => has[c]);
}

/**
 * Each part's problems from a 422 `template_invalid` (`details.problems: [{part, message}]`).
 * The schema does not describe `details` (ErrorBody.details is any JSON), hence the check.
 */
export function problemsByPart(error: ApiError): Partial<Record<Part, string[]>> | undefined {
  if (error.code !== "template_invalid") return undefined;
  const problems: unknown = (error.details as { problems?: unknown } | null | undefined)?.problems;
  if (!Array.isArray(problems)) return undefined;
  const out: Partial<Record<Part, string[]>> = {};
  for (const p of problems) {
    if (typeof p !== "object" || p === null) continue;
    const { part, message } = p as Record<string, unknown>;
    if (typeof message !== "string" || !(PARTS as readonly unknown[]).includes(part)) continue;
    (out[part as Part] ??= []).push(message);
  }
  return Object.keys(out).length > 0 ? out : undefined;
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
