/**
 * One shipper under test: a local log in a temp directory, the feeder double, a real
 * directory replica behind a FaultyClient, a ManualClock, and what the shipper said
 * (events and log lines).
 */
import { join } from "node:path";
import { createFileReplicaClient } from "@sqlrep/replica";
import { ManualClock } from "../clock.js";
import type { Logger } from "../logger.js";
import { LtxLog, type LtxLogOptions } from "../ltx-log.js";
import { LtxShipper, type ShipperOptions } from "../shipper.js";
import type { ShipperEvent } from "../status.js";
import { settle, until } from "./drive.js";
import { FaultyClient } from "./faulty-client.js";
import { TestFeeder } from "./memory-db.js";

/** A line the shipper logged. */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields: Record<string, unknown>;
}

/** Everything one test drives. */
export interface Harness {
  readonly dir: string;
  readonly replicaDir: string;
  readonly clock: ManualClock;
  readonly log: LtxLog;
  readonly feeder: TestFeeder;
  readonly client: FaultyClient;
  readonly shipper: LtxShipper;
  readonly events: ShipperEvent[];
  /** The clock's time of each event (same order as `events`). */
  readonly eventTimes: number[];
  readonly lines: LogLine[];
  readonly controller: AbortController;
  /** Starts the shipper and settles until its first pass ran. */
  start(): Promise<void>;
  /** Settles: what is due now runs, requests finish. */
  settle(): Promise<void>;
  /** Events of one type. */
  eventsOf<T extends ShipperEvent["type"]>(type: T): Extract<ShipperEvent, { type: T }>[];
  /** Closes the shipper (and aborts its context). */
  close(): Promise<void>;
}

/** Setup of {@link harness}. */
export interface HarnessOptions {
  /** Directory of the log (default `<root>/meta`). */
  dir?: string;
  /** Directory of the replica (default `<root>/replica`). */
  replicaDir?: string;
  clock?: ManualClock;
  /** A log to use (another shipper's), else one opened in `dir`. */
  log?: LtxLog;
  logOptions?: LtxLogOptions;
  /** A feeder to use, else a new one over the log. */
  feeder?: TestFeeder;
  /** Shipper options (defaults: no compaction levels, no retention, no validation). */
  shipper?: Partial<ShipperOptions>;
  name?: string;
}

/** See {@link Harness}. */
export function harness(root: string, options: HarnessOptions = {}): Harness {
  const dir = options.dir ?? join(root, "meta");
  const replicaDir = options.replicaDir ?? join(root, "replica");
  const clock = options.clock ?? new ManualClock();
  const log = options.log ?? LtxLog.open(dir, options.logOptions);
  const feeder = options.feeder ?? new TestFeeder(log, clock);
  const client = new FaultyClient(createFileReplicaClient(replicaDir), clock);
  const events: ShipperEvent[] = [];
  const eventTimes: number[] = [];
  const lines: LogLine[] = [];
  const line =
    (level: LogLine["level"]) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      lines.push({ level, message, fields });
  const logger: Logger = { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
  const controller = new AbortController();
  const shipper = new LtxShipper(
    { label: "test.db", log, feeder, clock, logger, signal: controller.signal, onEvent: (e) => (events.push(e), eventTimes.push(clock.now())) },
    { levels: [], retentionEnabled: false, ...options.shipper, name: options.name ?? "r1", client },
  );
  return {
    dir,
    replicaDir,
    clock,
    log,
    feeder,
    client,
    shipper,
    events,
    eventTimes,
    lines,
    controller,
    async start() {
      const outcome = await until(clock, shipper.start());
      if (!outcome.ok) throw outcome.error;
      await settle(clock, client);
    },
    settle: () => settle(clock, client),
    eventsOf: <T extends ShipperEvent["type"]>(type: T) => events.filter((e): e is Extract<ShipperEvent, { type: T }> => e.type === type),
    async close() {
      await shipper.close();
      controller.abort();
    },
  };
}
