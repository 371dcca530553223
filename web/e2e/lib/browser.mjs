// What the browser tests share: Debian's Chromium launched the same way, the checks every test
// file ends with (no request left the server's origin, no error was thrown in the page), an
// accessibility check (axe-core, WCAG 2.1 A and AA) and the API as a client.
//
//   SCREENSHOTS   where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM      the browser (default /usr/bin/chromium)
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const shots = process.env.SCREENSHOTS ?? fileURLToPath(new URL("../screenshots/", import.meta.url));

/** A screenshot of the page under `name`.png in $SCREENSHOTS. */
export const screenshot = (page, name, options = {}) => page.screenshot({ path: join(shots, `${name}.png`), ...options });

/** The example journey `id` (examples/<id>.json). */
export const example = (id) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../../examples/${id}.json`, import.meta.url)), "utf8"));

/**
 * Chromium at 1280×800 on a fresh profile. `origin` is where the pages come from (and `also`,
 * other origins they may ask): a request anywhere else is recorded, as is every error thrown in
 * a page; `clean()` asserts there was none. With `token`, the page finds it where the UI keeps it
 * (no sign-in needed).
 */
export async function openBrowser({ origin, token, also = [] }) {
  mkdirSync(shots, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "wayfarer-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 800 },
  });
  if (token) {
    await context.addInitScript((t) => {
      // Not in sandboxed frames (the template preview), which have no storage.
      if (window === window.top) localStorage.setItem("wayfarer.token", t);
    }, token);
  }
  const outside = [];
  const pageErrors = [];
  const home = new Set([origin, ...also].map((o) => new URL(o).origin));
  context.on("request", (r) => {
    const url = new URL(r.url());
    if (!["data:", "blob:", "about:"].includes(url.protocol) && !home.has(url.origin)) outside.push(r.url());
  });
  context.on("weberror", (e) => pageErrors.push(String(e.error())));
  // Leaving a page with unsaved changes asks (beforeunload): the tests leave, and can check it asked.
  const dialogs = [];
  const answers = { confirm: false };
  const onDialog = (d) => {
    dialogs.push({ type: d.type(), message: d.message() });
    if (d.type() === "beforeunload" || (d.type() === "confirm" && answers.confirm)) void d.accept();
    else void d.dismiss();
  };
  context.on("page", (p) => p.on("dialog", onDialog));
  context.pages().forEach((p) => p.on("dialog", onDialog));
  if (process.env.E2E_DEBUG) context.on("response", (r) => console.log("#", r.status(), r.url()));
  return {
    context,
    /** The dialogs the pages opened, in order: `{type, message}`. Answered yes to beforeunload, and to confirm as `answers.confirm` says (no by default). */
    dialogs,
    answers,
    /** The page all the tests drive. */
    page: async () => context.pages()[0] ?? (await context.newPage()),
    clean() {
      assert.deepEqual(outside, [], "requests left the server's origin");
      assert.deepEqual(pageErrors, [], "the page threw");
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Checks the page as it is now with axe-core against WCAG 2.1 A and AA: no violation, whatever
 * its impact. Fails with each rule, its help and the elements that break it. (Evaluated through
 * the DevTools protocol, so the page's CSP, which allows no inline script, does not stop it.)
 */
export async function checkAccessible(page, what) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"] });
    return result.violations.map((v) => ({ rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")} ${n.html.slice(0, 160)}: ${n.failureSummary?.split("\n").slice(1).join(" ").trim()}`) }));
  });
  assert.deepEqual(violations, [], `${what}: accessibility violations`);
}

/** The admin API as the tests call it: `api` answers `{status, json}`; `ok` fails unless 2xx and answers the JSON. */
export function apiClient(server, token) {
  const api = async (method, path, body, headers = { authorization: `Bearer ${token}` }) => {
    const response = await fetch(`${server}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
  const ok = async (method, path, body, headers) => {
    const { status, json } = await api(method, path, body, headers);
    assert.ok(status >= 200 && status < 300, `${method} ${path}: ${status} ${JSON.stringify(json)}`);
    return json;
  };
  /** A Segment call (`track`, `identify`, `page`...) with a source's write key: HTTP Basic, empty password. */
  const segment = (writeKey, kind, body) => ok("POST", `/v1/${kind}`, body, { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}` });
  /**
   * Waits (`seconds`, 20 by default) until `check` answers something truthy, and answers it,
   * moving a manual clock a second at a time meanwhile (the engine wakes runs, sends, segments'
   * fills and stages as it moves; a server without a manual clock refuses the move, and just
   * takes its time). Fails naming `what` when it does not come.
   */
  const until = async (what, check, seconds = 20) => {
    for (let i = 0; i < seconds * 5; i++) {
      const got = await check();
      if (got) return got;
      await api("POST", "/api/clock", { advance: "1s" });
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`${what}: not after ${seconds} s`);
  };
  return { api, ok, segment, until };
}

/**
 * Where the pages are opened: the server's own pages (`{base: server}`), or, when it serves none
 * (at `path`, a page of the UI) or WAYFARER_PREVIEW=1 says so (the server embeds a UI built before
 * this one), web/dist through `vite preview` on `port`, proxying the API to it. Answers the pages'
 * address and the preview to close (undefined for the server's own).
 */
export async function servePages(server, path, port) {
  const answer = await fetch(`${server}${path}`);
  const own = answer.ok && (answer.headers.get("content-type") ?? "").startsWith("text/html");
  if (own && process.env.WAYFARER_PREVIEW !== "1") return { base: server, preview: undefined };
  return previewDist(server, port);
}

/** A `vite preview` of web/dist on `port`, proxying /api, /v1 and uploaded images (/a/) to `server`; answers it and its address. */
export async function previewDist(server, port) {
  const vite = await import("vite");
  const preview = await vite.preview({
    root: fileURLToPath(new URL("../..", import.meta.url)),
    logLevel: "warn",
    preview: { host: "127.0.0.1", port, proxy: { "/api": server, "/v1": server, "/a/": server } },
  });
  return { preview, base: preview.resolvedUrls.local[0].replace(/\/$/, "") };
}
