// A template's parts, and what the server says is wrong with them.
import type { ApiError, Schemas } from "../api/client";

export const PARTS = ["subject", "html", "text", "sms"] as const;
export type Part = (typeof PARTS)[number];
export type Draft = Record<Part, string>;

/** The parts an email is made of; `sms` is the other channel's, texted on its own. */
export const EMAIL_PARTS = ["subject", "html", "text"] as const satisfies readonly Part[];

export const PART_LABEL: Record<Part, string> = { subject: "Subject", html: "HTML", text: "Text", sms: "SMS text" };

/** Variables only emails have: an SMS cannot carry the unsubscribe link (people text STOP instead). */
export const EMAIL_ONLY_VARIABLES: readonly string[] = ["unsubscribe_url"];

export const TEMPLATE_ID = /^[a-z0-9_-]{1,100}$/;

export const draftOf = (t: Pick<Schemas["TemplateView"], Part>): Draft => ({ subject: t.subject, html: t.html, text: t.text, sms: t.sms });

/** The channels a template can be sent on: email with an HTML or text part, SMS with SMS text. */
export function channelsOf(t: Pick<Schemas["TemplateView"], "html" | "text" | "sms">): ("email" | "sms")[] {
  return [...(t.html.trim() || t.text.trim() ? (["email"] as const) : []), ...(t.sms.trim() ? (["sms"] as const) : [])];
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
