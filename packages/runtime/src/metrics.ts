// The Prometheus registry of an app: prom-client's, one per process (never the global one),
// with the process's CPU, memory, file-descriptor, event-loop and GC metrics when asked for.
import { createRequire } from "node:module";
import type { Registry } from "prom-client";

export type { Registry } from "prom-client";

// prom-client takes ~50 ms to load: loaded when a registry is made, not when the runtime is
// imported, so commands that serve no metrics (every CLI command but the daemons) start fast.
const require = createRequire(import.meta.url);

/** Options of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /**
   * Export the process's own metrics (default true): `process_cpu_seconds_total`,
   * `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds`…
   * (the names the Go tools export too) and Node's `nodejs_eventloop_lag_seconds`, heap
   * and GC metrics. They run an event-loop delay monitor and a GC observer for the rest of
   * the process's life (prom-client cannot stop them), so turn them on only when the
   * registry is served.
   */
  processMetrics?: boolean;
  /** Labels added to every series (e.g. `{ instance: "node1" }`). */
  labels?: Record<string, string>;
}

/** A new registry for an app: engines register their families on it, `/metrics` renders it. */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const { collectDefaultMetrics, Registry } = require("prom-client") as typeof import("prom-client");
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
