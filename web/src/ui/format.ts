// How times and numbers read across the pages.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const numbers = new Intl.NumberFormat("en");

/** "Jan 1, 2030, 12:00 AM"; the text itself when it is not a time. */
export function formatTime(iso: string, seconds = false): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return (seconds ? dateTimeSeconds : dateTime).format(d);
}

/** ["Jan 1, 2030", "12:00:00 AM"], for narrow columns; the text itself twice when it is not a time. */
export function formatDateAndTime(iso: string): [string, string] {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return [iso, ""];
  return [dateOnly.format(d), timeOnly.format(d)];
}

/** "1,234" */
export function formatNumber(n: number): string {
  return numbers.format(n);
}

/** A file's size: "812 bytes", "12.4 KB", "1.5 MB" (of 1,024 bytes, as the server's "5 MiB" limit counts). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${numbers.format(n)} byte${n === 1 ? "" : "s"}`;
  const [value, unit] = n < 1024 * 1024 ? [n / 1024, "KB"] : [n / (1024 * 1024), "MB"];
  return `${value.toLocaleString("en", { maximumFractionDigits: value < 100 ? 1 : 0 })} ${unit}`;
}

/** A JSON value as one short line: strings quoted, absent as "(absent)". */
export function formatValue(value: unknown): string {
  if (value === undefined) return "(absent)";
  return JSON.stringify(value) ?? String(value);
}
