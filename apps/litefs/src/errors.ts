// LitefsError: the one error family of the litefs program — its daemon and its client commands (the engine's, the mount's and the config's errors keep their own classes).

/** Every way the litefs program itself can fail. */
export type LitefsErrorCode =
  | "mount-in-use" // fuse.dir is served by another daemon
  | "invalid-argument" // a command's input is wrong
  | "unavailable" // the node did not answer (not running, wrong -url)
  | "http" // the node answered with an error status
  | "not-found" // no such database (on the node, or in diverged/)
  | "not-primary" // the command needs the primary and this node is a replica
  | "integrity" // a SQLite file failed `PRAGMA integrity_check`, or is not SQLite at all
  | "io" // a local file could not be read or written
  | "halt" // the halt lock could not be taken or released
  | "diverged"; // a diverged set cannot be extracted as asked

/** Options of {@link LitefsError}. */
export interface LitefsErrorOptions {
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

/** The error litefs throws; the message names the URL or the file. */
export class LitefsError extends Error {
  override readonly name = "LitefsError";
  readonly code: LitefsErrorCode;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly file: string | undefined;
  readonly retryable: boolean;

  constructor(code: LitefsErrorCode, message: string, options: LitefsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.url = options.url;
    this.status = options.status;
    this.file = options.file;
    this.retryable = options.retryable ?? (code === "unavailable" || code === "not-primary");
  }
}

/** True for a {@link LitefsError} (with this `code`, when given), also from another copy of this package. */
export function isLitefsError(err: unknown, code?: LitefsErrorCode): err is LitefsError {
  return err instanceof Error && err.name === "LitefsError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as LitefsError).code === code);
}
