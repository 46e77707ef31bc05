// CliError: the one error family of litefs's client commands (import, export, status, run, diverged).

/** Every way a client command can fail. */
export type CliErrorCode =
  | "unavailable" // the node did not answer (not running, wrong -url)
  | "http" // the node answered with an error status
  | "not-found" // no such database (on the node, or in diverged/)
  | "not-primary" // the command needs the primary and this node is a replica
  | "integrity" // a SQLite file failed `PRAGMA integrity_check`, or is not SQLite at all
  | "io" // a local file could not be read or written
  | "halt" // the halt lock could not be taken or released
  | "diverged"; // a diverged set cannot be extracted as asked

/** Options of {@link CliError}. */
export interface CliErrorOptions {
  cause?: unknown;
  /** The node URL the error is about. */
  url?: string | undefined;
  /** The HTTP status the node answered with. */
  status?: number | undefined;
  /** The local file the error is about. */
  file?: string | undefined;
  /** Whether trying again later may succeed. */
  retryable?: boolean | undefined;
}

/** The error every client command throws; the message names the URL or the file. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: CliErrorCode;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly file: string | undefined;
  readonly retryable: boolean;

  constructor(code: CliErrorCode, message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.url = options.url;
    this.status = options.status;
    this.file = options.file;
    this.retryable = options.retryable ?? (code === "unavailable" || code === "not-primary");
  }
}

/** True for a {@link CliError} (with this `code`, when given), also from another copy of this package. */
export function isCliError(err: unknown, code?: CliErrorCode): err is CliError {
  return err instanceof Error && err.name === "CliError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as CliError).code === code);
}
