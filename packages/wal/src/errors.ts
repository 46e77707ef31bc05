/** Every way a `@sqlrep/wal` operation can fail; callers branch on `code`, never on the message. */
export type WalErrorCode =
  | "invalid-magic" // not a SQLite database / WAL / rollback journal
  | "invalid-header" // a header field SQLite would reject (version, payload fractions, …)
  | "invalid-page-size" // not a power of two in 512…65536
  | "header-checksum-mismatch" // WAL header checksum does not match its first 24 bytes
  | "truncated" // input too short for the structure asked for
  | "stale-position" // a saved WAL position no longer matches the file
  | "incomplete" // a WAL replay that must cover its whole input stopped early
  | "invalid-argument" // a caller passed something impossible
  | "io" // the caller's readAt failed or returned something that is not bytes
  | "aborted"; // the AbortSignal fired

export interface WalErrorOptions {
  /** The file (name or path) being read or written, when known. */
  file?: string | undefined;
  /** Byte offset in that file where the fault was found, when known. */
  offset?: number | undefined;
  cause?: unknown;
}

/** The single error type of `@sqlrep/wal`. */
export class WalError extends Error {
  override readonly name = "WalError";
  readonly code: WalErrorCode;
  readonly file: string | undefined;
  readonly offset: number | undefined;

  constructor(code: WalErrorCode, message: string, options: WalErrorOptions = {}) {
    super(describe(message, options), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.offset = options.offset;
  }
}

/** True for a `WalError`, including one from another copy of this package. */
export function isWalError(err: unknown): err is WalError {
  return err instanceof Error && err.name === "WalError" && typeof (err as { code?: unknown }).code === "string";
}

function describe(message: string, { file, offset }: WalErrorOptions): string {
  if (file !== undefined && offset !== undefined) return `${message} (in ${file} at offset ${offset})`;
  if (file !== undefined) return `${message} (in ${file})`;
  if (offset !== undefined) return `${message} (at offset ${offset})`;
  return message;
}
