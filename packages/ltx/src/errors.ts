/** Every way an LTX operation can fail; callers branch on `code`, never on the message. */
export type LtxErrorCode =
  | "invalid-magic" // the first 4 bytes are not `LTX1`
  | "invalid-header" // a header field breaks the spec's validation rules (§2.3)
  | "invalid-flags" // header flags outside the mask of the format
  | "invalid-page-size" // not a power of two in 512…65536
  | "invalid-page" // bad page frame: zero pgno, bad flags, out of order, beyond commit, lock page
  | "invalid-trailer" // trailer values break §3.6
  | "invalid-page-index" // index malformed or inconsistent with the page frames
  | "unknown-format" // the layout cannot be recognised
  | "truncated" // input ended early
  | "trailing-data" // bytes after the trailer / after an LZ4 payload
  | "lz4" // malformed LZ4 block or frame
  | "file-checksum-mismatch"
  | "post-apply-checksum-mismatch"
  | "pre-apply-checksum-mismatch"
  | "incomplete-snapshot" // a snapshot misses pages of 1…commit
  | "non-contiguous" // TXIDs of a chain do not follow each other
  | "page-size-mismatch" // files of one chain or database disagree on page size
  | "invalid-filename" // not `%016x-%016x.ltx`
  | "invalid-argument" // a caller passed something impossible
  | "unsupported" // valid LTX this library cannot represent (a 64-bit value above Number.MAX_SAFE_INTEGER)
  | "aborted";

export interface LtxErrorOptions {
  /** The file (name or path) being read or written, when known. */
  file?: string | undefined;
  /** Byte offset in that file where the fault was found, when known. */
  offset?: number | undefined;
  cause?: unknown;
}

/** The single error type of `@sqlrep/ltx`. */
export class LtxError extends Error {
  override readonly name = "LtxError";
  readonly code: LtxErrorCode;
  readonly file: string | undefined;
  readonly offset: number | undefined;

  constructor(code: LtxErrorCode, message: string, options: LtxErrorOptions = {}) {
    super(describe(message, options), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.offset = options.offset;
  }

  /** The same error placed in a file (keeps the innermost offset). */
  withFile(file: string): LtxError {
    if (this.file !== undefined) return this;
    return new LtxError(this.code, this.rawMessage(), { file, offset: this.offset, cause: this.cause });
  }

  private rawMessage(): string {
    // Strip the location suffix added by describe() so withFile() does not repeat it.
    return this.message.replace(/ \((?:in [^)]*|at offset \d+)\)$/, "");
  }
}

/** True for an `LtxError`, including one from another copy of this package. */
export function isLtxError(err: unknown): err is LtxError {
  return err instanceof Error && err.name === "LtxError" && typeof (err as { code?: unknown }).code === "string";
}

function describe(message: string, { file, offset }: LtxErrorOptions): string {
  if (file !== undefined && offset !== undefined) return `${message} (in ${file} at offset ${offset})`;
  if (file !== undefined) return `${message} (in ${file})`;
  if (offset !== undefined) return `${message} (at offset ${offset})`;
  return message;
}
