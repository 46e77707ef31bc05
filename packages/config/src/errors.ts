/** Every way a config file can be wrong; callers branch on `code`. */
export type ConfigErrorCode =
  | "not-found" // the file does not exist
  | "parse" // not valid YAML (or not readable)
  | "unknown-key" // a key the schema does not know
  | "unsupported" // a key the schema knows but this program does not implement
  | "invalid-value" // a value of the wrong type or out of range
  | "missing-key" // a required key is absent
  | "conflict"; // keys that cannot be combined, or the same key twice

/** Where in a config file an error is. */
export interface ConfigLocation {
  /** The file (or a label such as `<stdin>`); absent when parsing a bare string. */
  file?: string | undefined;
  /** The key path, e.g. `dbs[0].replicas[1].sync-interval`; empty for the whole file. */
  keyPath?: string | undefined;
  /** 1-based line and column, when known. */
  line?: number | undefined;
  column?: number | undefined;
}

export interface ConfigErrorOptions extends ConfigLocation {
  cause?: unknown;
}

/**
 * The single error type of `@sqlrep/config`. Its message reads like a compiler's:
 * `/etc/litestream.yml:12:7: dbs[0].replicas[0].retension: unknown key (did you mean "retention"?)`;
 * `reason` is the part after the location.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code: ConfigErrorCode;
  readonly reason: string;
  readonly file: string | undefined;
  readonly keyPath: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: ConfigErrorCode, reason: string, options: ConfigErrorOptions = {}) {
    super(formatMessage(reason, options), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = reason;
    this.file = options.file;
    this.keyPath = options.keyPath || undefined;
    this.line = options.line;
    this.column = options.column;
  }
}

/** True for a `ConfigError`, including one from another copy of this package. */
export function isConfigError(err: unknown, code?: ConfigErrorCode): err is ConfigError {
  return err instanceof Error && err.name === "ConfigError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as ConfigError).code === code);
}

function formatMessage(reason: string, at: ConfigLocation): string {
  let where = at.file ?? "";
  if (at.line !== undefined) {
    where += `${where ? ":" : "line "}${at.line}`;
    if (at.column !== undefined) where += `:${at.column}`;
  }
  const parts = [where, at.keyPath].filter((p): p is string => Boolean(p));
  return [...parts, reason].join(": ");
}
