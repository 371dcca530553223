// The messages between the page and api/fetch.worker.ts.

export type WorkerRequest = { kind: "fetch"; id: number; method: string; path: string; headers: Record<string, string>; body?: string } | { kind: "abort"; id: number };

export type WorkerAnswer = { kind: "answer"; id: number; status: number; statusText: string; text: string; /** ms from the fetch to its text read, in the worker */ took: number } | { kind: "failed"; id: number; message: string };
