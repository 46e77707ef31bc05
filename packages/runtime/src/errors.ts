/** The errors of the app runtime: command-line mistakes, help requests, a child that cannot run, a port that cannot be bound. */

/** What went wrong; callers branch on it (the CLI prints a usage for "usage", one line for "flag-value"). */
export type RuntimeErrorCode =
  | "usage" // a command-line mistake: print `error: …` and the command's usage
  | "flag-value" // a flag given a value it cannot take: one line and a pointer to `-h`
  | "help" // `-h`, `-help` or `--help` was given: print the usage and exit 0
  | "exec" // the exec child could not be started
  | "listen"; // the HTTP server could not bind its address

export interface RuntimeErrorOptions {
  cause?: unknown;
}

/** The base class of every error this package throws. */
export class RuntimeError extends Error {
  override readonly name: string = "RuntimeError";
  readonly code: RuntimeErrorCode;

  constructor(code: RuntimeErrorCode, message: string, options: RuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** A usage mistake: the CLI prints `error: …` and the command's usage, and exits 1. */
export class UsageError extends RuntimeError {
  override readonly name: string = "UsageError";
  constructor(message: string, options?: RuntimeErrorOptions, code: "usage" | "flag-value" = "usage") {
    super(code, message, options);
  }
}

/**
 * A flag given a value it cannot take (`-txid zz`): a usage mistake, but the CLI prints
 * the one-line error and where the usage is, not the whole usage over it.
 */
export class FlagValueError extends UsageError {
  override readonly name = "FlagValueError";
  constructor(message: string, options?: RuntimeErrorOptions) {
    super(message, options, "flag-value");
  }
}

/** `-h`, `-help` or `--help` was given: print the usage and exit 0. */
export class HelpRequested extends RuntimeError {
  override readonly name = "HelpRequested";
  constructor() {
    super("help", "help requested");
  }
}

const NAMES = new Set(["RuntimeError", "UsageError", "FlagValueError", "HelpRequested"]);

/** True for an error of this package (also from another copy of it), optionally of one `code`. */
export function isRuntimeError(err: unknown, code?: RuntimeErrorCode): err is RuntimeError {
  return err instanceof Error && NAMES.has(err.name) && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as RuntimeError).code === code);
}
