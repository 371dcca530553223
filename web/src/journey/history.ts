// Undo and redo: a stack of whole documents. Each edit pushes the document it replaced; typing
// in one field pushes once (edits with the same `merge` key in a row replace each other).

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  /** The merge key of the edit that made `present`, if typing may continue it. */
  merge?: string;
}

/** How many documents undo keeps. */
export const UNDO_LIMIT = 200;

export function start<T>(present: T): History<T> {
  return { past: [], present, future: [] };
}

/** Records an edit. Same `merge` key as the previous edit: the two become one undo step. */
export function commit<T>(h: History<T>, next: T, merge?: string): History<T> {
  if (next === h.present) return h;
  if (merge !== undefined && merge === h.merge) return { ...h, present: next, future: [] };
  const past = [...h.past, h.present];
  if (past.length > UNDO_LIMIT) past.shift();
  return { past, present: next, future: [], merge };
}

export function undo<T>(h: History<T>): History<T> {
  if (h.past.length === 0) return h;
  return { past: h.past.slice(0, -1), present: h.past[h.past.length - 1], future: [h.present, ...h.future] };
}

export function redo<T>(h: History<T>): History<T> {
  if (h.future.length === 0) return h;
  return { past: [...h.past, h.present], present: h.future[0], future: h.future.slice(1) };
}

/** Ends a run of merged edits: the next edit is an undo step of its own. */
export function seal<T>(h: History<T>): History<T> {
  return h.merge === undefined ? h : { ...h, merge: undefined };
}
