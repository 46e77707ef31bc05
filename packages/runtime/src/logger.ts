// A structured logger writing Go slog's line formats: Litestream's (`time=… level=INFO msg=…`)
// and LiteFS's (the same without the time unless `log.timestamp`), as text or one JSON object a line.

/** Log levels, least to most severe (Litestream's `logging.level`; LiteFS has `log.debug`). */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fields attached to a record. */
export type LogFields = Record<string, unknown>;

/**
 * What the engines and the commands log through: the same shape as the `Logger` of
 * `@sqlrep/backup` and `@sqlrep/shipper`, so a logger made here is passed to them as is.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** How {@link createLogger} writes. */
export interface LoggerOptions {
  /** Records below this level are dropped (default info). */
  level?: LogLevel;
  /** `text` (slog's key=value lines, the default) or `json` (one object a line). */
  format?: "text" | "json";
  /** Where lines go: stdout unless `logging.stderr` (as Litestream). */
  stream: { write(text: string): unknown };
  /** The clock (tests). */
  now?: () => Date;
  /**
   * Whether each record starts with its `time` (default true, as Litestream). LiteFS
   * leaves it out unless its config says `log.timestamp: true`.
   */
  timestamp?: boolean;
}

/**
 * A logger that writes one line per record in the layout of Go's slog handlers, which
 * Litestream and LiteFS use: `time=… level=INFO msg="…" key=value …`, or the same as
 * JSON. Times are UTC RFC 3339 with milliseconds.
 */
export function createLogger(options: LoggerOptions): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? "text";
  const now = options.now ?? (() => new Date());
  const timestamp = options.timestamp ?? true;
  const write = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const time = timestamp ? now().toISOString() : undefined;
    const upper = level.toUpperCase();
    if (format === "json") {
      const record: Record<string, unknown> = time === undefined ? { level: upper, msg } : { time, level: upper, msg };
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) record[key] = jsonValue(value);
      options.stream.write(JSON.stringify(record) + "\n");
      return;
    }
    let line = `${time === undefined ? "" : `time=${time} `}level=${upper} msg=${quote(msg)}`;
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) line += ` ${key}=${quote(textValue(value))}`;
    options.stream.write(line + "\n");
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/** Whether `text` names a level of {@link LOG_LEVELS}. */
export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

function jsonValue(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === "bigint") return value.toString();
  return value;
}

function textValue(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") return String(value);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** slog's rule: quote a value that is empty or holds blanks, quotes, `=` or control characters. */
function quote(text: string): string {
  return text === "" || /[\s"=\\\p{Cc}]/u.test(text) ? JSON.stringify(text) : text;
}
