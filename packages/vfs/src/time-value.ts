// The values `PRAGMA litestream_time` accepts (RFC 3339 with or without fractions,
// `latest`, and relative times such as `5 minutes ago` or `yesterday`) and the RFC 3339
// text it answers with.
import { VfsError } from "./errors.js";

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const RELATIVE =
  /^(an?|\d+(?:\.\d+)?)\s*(nanoseconds?|ns|microseconds?|us|milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|months?|years?|y)\s+ago$/i;

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

function unitOf(word: string): string {
  const w = word.toLowerCase();
  if (w.startsWith("nano") || w === "ns") return "ns";
  if (w.startsWith("micro") || w === "us") return "us";
  if (w.startsWith("milli") || w === "ms") return "ms";
  if (w.startsWith("sec") || w === "s") return "s";
  if (w.startsWith("min") || w === "m") return "m";
  if (w.startsWith("h")) return "h";
  if (w.startsWith("d")) return "d";
  if (w.startsWith("w")) return "w";
  if (w.startsWith("mo")) return "mo";
  return "y";
}

/**
 * Parses a `litestream_time` value: `undefined` for `latest` (follow the replica), else
 * the time. Fractions beyond milliseconds are cut, as `litestream restore -timestamp`
 * does, so both land on the same restore point. Throws VfsError("time") naming the value.
 */
export function parseTimeValue(text: string, now: Date = new Date()): Date | undefined {
  const value = text.trim();
  const lower = value.toLowerCase();
  if (lower === "latest" || lower === "") return undefined;
  if (lower === "now") return new Date(now.getTime());
  if (lower === "yesterday") return new Date(now.getTime() - UNIT_MS.d!);
  if (lower === "today") {
    const d = new Date(now.getTime());
    d.setUTCHours(0, 0, 0, 0);
    return d;
  }
  if (RFC3339.test(value)) {
    const date = new Date(value.replace(" ", "T").replace(/(\.\d{3})\d+/, "$1"));
    if (!Number.isNaN(date.getTime())) return date;
  }
  const rel = RELATIVE.exec(value);
  if (rel) {
    const amount = /^an?$/i.test(rel[1]!) ? 1 : Number(rel[1]);
    const unit = unitOf(rel[2]!);
    const d = new Date(now.getTime());
    if (unit === "mo") d.setUTCMonth(d.getUTCMonth() - amount);
    else if (unit === "y") d.setUTCFullYear(d.getUTCFullYear() - amount);
    else return new Date(now.getTime() - amount * UNIT_MS[unit]!);
    return d;
  }
  throw new VfsError(
    "time",
    `invalid litestream_time value ${JSON.stringify(text)}: expected an RFC 3339 time (2024-05-01T10:00:00Z), 'latest', or a relative time such as '5 minutes ago', '2 hours ago', 'yesterday'`,
  );
}

/** RFC 3339 in UTC with the fraction's trailing zeros dropped (Go's RFC3339Nano). */
export function formatTime(date: Date): string {
  return date
    .toISOString()
    .replace(/\.?0+Z$/, "Z")
    .replace(/\.Z$/, "Z");
}
