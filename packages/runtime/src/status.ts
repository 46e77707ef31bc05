// The status model on the wire: an engine's own status type, as JSON (dates as RFC 3339,
// errors as their message, bigints as decimal strings), typed without re-declaring it.

/** `T` as it reads back after {@link stringifyJson}: every Date, Error and bigint becomes a string. */
export type Json<T> = T extends Date | Error | bigint
  ? string
  : T extends (...args: never[]) => unknown
    ? never
    : T extends readonly (infer U)[]
      ? Json<U>[]
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

/** What a long-running process serves as its status: its version, pid and the status of each database it runs. */
export interface StatusReport<S> {
  version: string;
  pid: number;
  databases: S[];
}

/** A status report of `S` as a client reads it from the wire (`GET /status`, `status -json`). */
export type StatusReportJson<S> = Json<StatusReport<S>>;

/** The report of this process for `databases`. */
export function statusReport<S>(version: string, databases: readonly S[]): StatusReport<S> {
  return { version, pid: process.pid, databases: [...databases] };
}

/** JSON text of `value`: dates as RFC 3339, errors as their message, bigints as decimal strings. */
export function stringifyJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, jsonReplacer, indent);
}

function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  // `value` has been through toJSON already (a Date is a string by now): look at the raw one.
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) return raw.toISOString();
  if (raw instanceof Error) return raw.message;
  if (typeof value === "bigint") return value.toString();
  return value;
}
