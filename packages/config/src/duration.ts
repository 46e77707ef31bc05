/** Go duration strings (`1h30m`, `500ms`) to milliseconds and back, since Litestream and LiteFS configs are written in Go's syntax. */
import { ConfigError } from "./errors.js";

/** Milliseconds per unit of a Go duration. */
const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3, // micro sign
  "\u03bcs": 1e-3, // Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Units people write that Go does not know, with what to write instead. */
const HINTS: Record<string, string> = {
  d: "Go durations have no day unit: write 24h for a day",
  day: "Go durations have no day unit: write 24h for a day",
  days: "Go durations have no day unit: write 24h for a day",
  w: "Go durations have no week unit: write 168h for a week",
  sec: "write s for seconds",
  secs: "write s for seconds",
  min: "write m for minutes",
  mins: "write m for minutes",
  hr: "write h for hours",
  hrs: "write h for hours",
};

const COMPONENT = /^(\d+\.?\d*|\.\d+)([^\d.]*)/;

/**
 * Parses a Go duration (`time.ParseDuration`: `500ms`, `1s`, `1h30m`, `1.5h`, `-2m`, `0`)
 * into milliseconds (fractions kept for sub-millisecond units). Throws a
 * `ConfigError("invalid-value")` that explains what is wrong, e.g. for `1d`.
 */
export function parseDuration(text: string): number {
  const fail = (why: string): never => {
    throw new ConfigError("invalid-value", `invalid duration ${JSON.stringify(text)}: ${why}`);
  };
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") fail("expected a number and a unit, e.g. 1s, 500ms, 1h30m");
  let total = 0;
  while (rest !== "") {
    const match = COMPONENT.exec(rest);
    if (!match) fail("expected a number and a unit, e.g. 1s, 500ms, 1h30m");
    const [whole, number, unit] = match as unknown as [string, string, string];
    if (unit === "") fail(`missing unit after ${number} (ns, us, ms, s, m or h)`);
    const scale = UNITS[unit];
    if (scale === undefined) fail(HINTS[unit.toLowerCase()] ?? `unknown unit ${JSON.stringify(unit)} (ns, us, ms, s, m or h)`);
    total += Number(number) * scale!;
    rest = rest.slice(whole.length);
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) fail("too large");
  return sign * total;
}

/** Formats milliseconds the way Go prints a duration (`1h30m0s`, `500ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1) return `${sign}${trim(rest * 1000)}µs`;
  if (rest < 1000) return `${sign}${trim(rest)}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = trim(rest / 1000);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function trim(value: number): string {
  return String(Number(value.toFixed(9)));
}
