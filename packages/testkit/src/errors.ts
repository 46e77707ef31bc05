/** What went wrong in a testkit helper; tests can branch on it. */
export type TestkitErrorCode = "TIMEOUT" | "SPAWN_FAILED" | "PROCESS_EXITED" | "NOT_READY" | "ETCD_UNAVAILABLE" | "INVALID_ARGUMENT";

/**
 * The one error family of the testkit. Process errors carry the last lines the child
 * printed, because that is nearly always where the reason is.
 */
export class TestkitError extends Error {
  override readonly name = "TestkitError";
  readonly code: TestkitErrorCode;
  /** The last lines of a child's stdout and stderr, oldest first, when a child is involved. */
  readonly output: readonly string[];

  constructor(code: TestkitErrorCode, message: string, options: { cause?: unknown; output?: readonly string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.output = options.output ?? [];
  }
}
