/**
 * @sqlrep/runtime — what the sqlrep apps (litestream, litefs, the VFS page server) run on:
 * a slog-style logger, a prom-client registry, the status model on the wire, HTTP routes
 * (`/metrics`, status JSON, NDJSON event streams), Go-style flags and commands, and the
 * `exec` child runner. No replication logic lives here.
 */

/** Logging in Litestream's and LiteFS's formats. */
export { createLogger, isLogLevel, LOG_LEVELS, silentLogger, type LogFields, type Logger, type LoggerOptions, type LogLevel } from "./logger.js";

/** Prometheus: one prom-client registry per app, with the process's own metrics. */
export { createMetricsRegistry, type MetricsRegistryOptions, type Registry } from "./metrics.js";

/** The status model on the wire. */
export { statusReport, stringifyJson, type Json, type StatusReport, type StatusReportJson } from "./status.js";

/** HTTP: a server, its common routes, and NDJSON event streams. */
export { serveHttp, type HttpServerOptions, type HttpService, type Route, type RouteHandler } from "./http-server.js";
export { jsonRoute, metricsRoute, sendJson, statusRoute } from "./http-routes.js";
export { DEFAULT_MAX_BUFFERED_EVENTS, EventStream, type EventStreamOptions } from "./event-stream.js";

/** Command lines: Go-style flags, commands, the program runner. */
export { defineFlags, describeFlags, parseFlags, type FlagSpec, type FlagSpecs, type FlagValues, type ParsedArgs } from "./flags.js";
export { defineCommand, lazyCommand, loadCommand, type Command, type CommandIo, type CommandSpec, type LazyCommand } from "./command.js";
export { programUsage, runProgram, type ProgramSpec } from "./program.js";
export { runProcessMain, type ProcessIo } from "./process-main.js";

/** Running a child: shell-word splitting, signal forwarding, exit codes. */
export { splitShellWords } from "./shell-words.js";
export { exitCodeOf, runChild, type ChildExit, type RunChildOptions } from "./exec.js";
export { Shutdown, type ShutdownOptions, type SignalSource, type SignalTarget } from "./shutdown.js";

/** Errors: one class, branch on `code`. */
export { FlagValueError, HelpRequested, isRuntimeError, RuntimeError, UsageError, type RuntimeErrorCode, type RuntimeErrorOptions } from "./errors.js";
