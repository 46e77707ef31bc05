import * as backup from "@sqlrep/backup";
import type { ReplicaClient } from "@sqlrep/replica";
import { CliError } from "./context.js";
import type { DatabaseSettings } from "./config.js";
import type { Logger } from "./logger.js";

/**
 * The backup engine as this CLI uses it (`@sqlrep/backup`'s `BackupEngine`).
 * TEMPORARY: declared here until the package exports it; then this file imports it.
 */
export interface DatabaseOptions extends DatabaseSettings {
  path: string;
  replicas: { name: string; client: ReplicaClient; syncInterval?: number }[];
}

export interface Engine {
  start(options?: { signal?: AbortSignal }): Promise<void>;
  stop(options?: { timeoutMs?: number }): Promise<void>;
  sync(path?: string, options?: { signal?: AbortSignal }): Promise<unknown>;
  status(): unknown[];
  metrics(): string;
  on(event: "synced", listener: (event: Record<string, unknown>) => void): unknown;
}

type EngineConstructor = new (options: { databases: DatabaseOptions[]; logger?: Logger }) => Engine;

/** A backup engine for these databases, or a clear error when this build has none. */
export function createEngine(databases: DatabaseOptions[], logger: Logger): Engine {
  const ctor = (backup as Record<string, unknown>)["BackupEngine"];
  if (typeof ctor !== "function") throw new CliError("this build has no backup engine (@sqlrep/backup exports no BackupEngine yet)");
  return new (ctor as EngineConstructor)({ databases, logger });
}
