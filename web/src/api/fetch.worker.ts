// Requests made off the page's main thread: while the page draws, the answer is received and
// read here, and reaches the page in one message instead of the several tasks a fetch there
// takes (the editor's validation, sent as an edit is drawn). The page passes the headers
// (credentials included); this only fetches.
/// <reference lib="webworker" />
import type { WorkerAnswer, WorkerRequest } from "./worker-protocol";

const controllers = new Map<number, AbortController>();

self.onmessage = (e: MessageEvent<WorkerRequest>) => {
  const m = e.data;
  if (m.kind === "abort") {
    controllers.get(m.id)?.abort();
    controllers.delete(m.id);
    return;
  }
  const controller = new AbortController();
  controllers.set(m.id, controller);
  const reply = (a: WorkerAnswer) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(a);
  const start = performance.now();
  fetch(m.path, { method: m.method, headers: m.headers, body: m.body, signal: controller.signal })
    .then(async (r) => reply({ id: m.id, kind: "answer", status: r.status, statusText: r.statusText, text: await r.text(), took: performance.now() - start }))
    .catch((err: unknown) => {
      if (!controller.signal.aborted) reply({ id: m.id, kind: "failed", message: err instanceof Error ? err.message : String(err) });
    })
    .finally(() => controllers.delete(m.id));
};
