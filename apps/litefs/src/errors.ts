// litefs's own errors (the engine's, the mount's and the config's keep their classes).

/** What can go wrong in the litefs program itself. */
export type LitefsErrorCode = "mount-in-use" | "invalid-argument";

/** Options of {@link LitefsError}. */
export interface LitefsErrorOptions {
  cause?: unknown;
}

/** An error of the litefs program, with a `code` to branch on. */
export class LitefsError extends Error {
  override readonly name = "LitefsError";
  readonly code: LitefsErrorCode;

  constructor(code: LitefsErrorCode, message: string, options: LitefsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Whether `err` is a LitefsError (of `code`, when given). */
export function isLitefsError(err: unknown, code?: LitefsErrorCode): err is LitefsError {
  return err instanceof Error && err.name === "LitefsError" && (code === undefined || (err as LitefsError).code === code);
}
