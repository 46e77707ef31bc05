/** Log levels, least to most severe (Litestream's `logging.level`). */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fields attached to a record. */
export type LogFields = Record<string, unknown>;

/** What the engine and the commands log through (the shape `@sqlrep/backup` expects). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  /** Records below this level are dropped (default info). */
  level?: LogLevel;
  /** `text` (slog's key=value lines, the default) or `json` (one object a line). */
  format?: "text" | "json";
  /** Where lines go: stdout unless `logging.stderr` (as Litestream). */
  stream: { write(text: string): unknown };
  /** The clock (tests). */
  now?: () => Date;
}

/**
 * A logger that writes one line per record in the layout of Go's slog handlers, which
 * Litestream uses: `time=… level=INFO msg="…" key=value …`, or the same as JSON.
 */
export function createLogger(options: LoggerOptions): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? "text";
  const now = options.now ?? (() => new Date());
  const write = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const time = now().toISOString();
    const upper = level.toUpperCase();
    if (format === "json") {
      const record: Record<string, unknown> = { time, level: upper, msg };
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) record[key] = jsonValue(value);
      options.stream.write(JSON.stringify(record) + "\n");
      return;
    }
    let line = `time=${time} level=${upper} msg=${quote(msg)}`;
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
