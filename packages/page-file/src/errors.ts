/** The error family of `@sqlrep/page-file`: every I/O fault names the file and, where it has one, the offset. */

/** Every way a page file operation can fail. */
export type PageFileErrorCode =
  | "io" // the file system refused (open, write, read, fsync, rename)
  | "invalid-argument" // a page of the wrong size, a page number below 1, a call after close
  | "short-file"; // a read back met the end of the file before the pages asked for

export interface PageFileErrorOptions {
  cause?: unknown;
  path?: string | undefined;
  offset?: number | undefined;
}

/** The single error type of `@sqlrep/page-file`. */
export class PageFileError extends Error {
  override readonly name = "PageFileError";
  readonly code: PageFileErrorCode;
  readonly path: string | undefined;
  readonly offset: number | undefined;

  constructor(code: PageFileErrorCode, message: string, options: PageFileErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
    this.offset = options.offset;
  }
}

/** True for a `PageFileError` (also from another copy of this package), optionally of one code. */
export function isPageFileError(err: unknown, code?: PageFileErrorCode): err is PageFileError {
  return (
    err instanceof Error && err.name === "PageFileError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as PageFileError).code === code)
  );
}

/** An fs failure as a PageFileError naming what was being done. */
export function ioFault(err: unknown, what: string, path: string, offset?: number): PageFileError {
  if (isPageFileError(err)) return err;
  return new PageFileError("io", `${what}: ${(err as Error).message}`, { cause: err, path, offset });
}
