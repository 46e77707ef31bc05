/** What every command shares: its streams and signal (Io), reading the config, and finding databases and replicas by path, name or URL. */
import { isConfigError } from "@sqlrep/config";
import { isReplicaError, ReplicaRegistry, type ReplicaClient } from "@sqlrep/replica";
import { BACKENDS } from "./backends.js";
import { configPath, loadLitestreamConfig, resolveDatabasePath, type DatabaseConfig, type LitestreamConfig, type ReplicaConfig } from "./config.js";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { directoryDatabaseOf } from "./directory-scan.js";

/** What a command runs with: its streams, environment and working directory. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Fires on SIGINT/SIGTERM (commands other than replicate stop what they are doing). */
  signal: AbortSignal;
}

/** A failure the CLI reports as `error: <message>` with exit code 1 (no usage). */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** The flags of every command that reads the config file. */
export const CONFIG_FLAGS = defineFlags({
  config: { type: "string", placeholder: "PATH", usage: "Specifies the configuration file.\nDefaults to $LITESTREAM_CONFIG, else /etc/litestream.yml" },
  "no-expand-env": { type: "boolean", usage: "Disables environment variable expansion in the configuration file." },
});

/** Reads the config named by `-config` (or the default), honouring `-no-expand-env`. */
export async function readConfig(flags: { config?: string | undefined; "no-expand-env": boolean }, io: Io, options: { quiet?: boolean } = {}): Promise<LitestreamConfig> {
  const config = await loadLitestreamConfig(configPath(flags.config, io.env), { expandEnv: !flags["no-expand-env"], env: io.env, cwd: io.cwd });
  if (!options.quiet) for (const warning of config.warnings) io.stderr.write(`warning: ${warning}\n`);
  return config;
}

/**
 * The registry of this CLI's backends ({@link BACKENDS}) with the client factories of the
 * given `types` loaded: a directory restore, or a command without replicas, never loads the
 * S3 package (and the AWS SDK under it, ~110 ms). Unknown schemes are refused by the URL
 * parser, which lists every supported one.
 */
export async function createRegistry(types: Iterable<string>, env: NodeJS.ProcessEnv = process.env): Promise<ReplicaRegistry> {
  return new ReplicaRegistry(BACKENDS, { env }).load(types);
}

/** The replica type a URL names (its scheme, lower case; `file` for a plain path). */
export function urlType(url: string): string {
  return /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase() ?? "file";
}

/** The replica types of some databases' replicas. */
export function replicaTypes(dbs: readonly DatabaseConfig[]): string[] {
  return dbs.flatMap((db) => db.replicas.map((r) => r.spec.type));
}

/** Whether a positional argument is a replica URL rather than a database path. */
export function isReplicaUrl(arg: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(arg) && !/^sqlite3?:\/\//.test(arg);
}

/** A replica, named, with its client. */
export interface NamedReplica {
  name: string;
  config: ReplicaConfig;
  client: ReplicaClient;
}

/** The database of the config whose path is `arg` (after `~`, `sqlite://` and cwd resolution). */
export function findDatabase(config: LitestreamConfig, arg: string, io: Io): DatabaseConfig {
  const path = resolveDatabasePath(arg, io.cwd);
  const db = config.dbs.find((d) => d.path === path) ?? directoryDatabaseOf(config, path);
  if (!db) throw new CliError(`database not found in config: ${path} (config: ${config.file})`);
  return db;
}

/** The replicas of a database, or only the one named by `-replica`. */
export function databaseReplicas(db: DatabaseConfig, registry: ReplicaRegistry, only?: string): NamedReplica[] {
  const chosen = only === undefined ? db.replicas : db.replicas.filter((r) => r.name === only);
  if (chosen.length === 0) {
    throw new CliError(`replica ${JSON.stringify(only)} not found for database ${db.path} (replicas: ${db.replicas.map((r) => r.name).join(", ")})`);
  }
  return chosen.map((r) => ({ name: r.name, config: r, client: createClient(registry, r) }));
}

/** A client for a replica config; a backend failure to build one names the replica. */
export function createClient(registry: ReplicaRegistry, replica: ReplicaConfig): ReplicaClient {
  try {
    return registry.create(replica.spec);
  } catch (err) {
    if (isReplicaError(err)) throw new CliError(`replica ${JSON.stringify(replica.name)}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** `s3 replica "backup" (s3://bucket/db)`, for messages. */
export function describeReplica(r: NamedReplica): string {
  return `${r.client.type} replica ${JSON.stringify(r.name)} (${r.client.location})`;
}

/** The replica named by a URL argument, as a one-replica list. */
export function urlReplica(url: string, registry: ReplicaRegistry): NamedReplica {
  const client = registry.create(url);
  const spec = { type: client.type, url };
  return { name: client.type, config: { name: client.type, spec }, client };
}

/**
 * Resolves the `DB_PATH | REPLICA_URL` argument of `restore`, `ltx`, `status`…: a URL is
 * one replica (`-config` and `-replica` do not apply); a path is looked up in the config.
 */
export async function resolveTarget(
  arg: string,
  flags: { config?: string | undefined; "no-expand-env": boolean; replica?: string | undefined },
  given: ReadonlySet<string>,
  io: Io,
): Promise<{ db?: DatabaseConfig; config?: LitestreamConfig; replicas: NamedReplica[] }> {
  if (isReplicaUrl(arg)) {
    if (given.has("config")) throw new UsageError("cannot specify a replica URL and the -config flag");
    if (given.has("replica")) throw new UsageError("cannot specify a replica URL and the -replica flag");
    return { replicas: [urlReplica(arg, await createRegistry([urlType(arg)]))] };
  }
  const config = await readConfig(flags, io);
  const db = findDatabase(config, arg, io);
  return { db, config, replicas: databaseReplicas(db, await createRegistry(replicaTypes([db])), flags.replica) };
}

/** Whether an error is one the CLI reports as a plain message (no stack). */
export function isReportable(err: unknown): err is Error {
  return err instanceof CliError || isConfigError(err) || isReplicaError(err) || (err instanceof Error && /Error$/.test(err.name) && "code" in err);
}
