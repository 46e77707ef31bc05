// The control socket's clients (Litestream v0.5): `start`, `stop`, `sync`, `register`,
// `unregister`, `list`, `info` ask the running `replicate` through its Unix socket.
import { resolve } from "node:path";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { defineCommand, type Command } from "../command.js";
import { DEFAULT_SOCKET_PATH } from "../config-schema.js";
import { resolveDatabasePath } from "../config.js";
import { isReplicaUrl, type Io } from "../context.js";
import { controlRequest } from "../control-client.js";

const socketFlags = (timeout: number) =>
  defineFlags({
    socket: { type: "string", placeholder: "PATH", default: DEFAULT_SOCKET_PATH, usage: `Path to the control socket (default: ${DEFAULT_SOCKET_PATH}).` },
    timeout: { type: "integer", placeholder: "SECONDS", default: timeout, usage: `Maximum time to wait in seconds (default: ${timeout}).` },
    json: { type: "boolean", usage: "Output raw JSON instead of human-readable text." },
  });

const SOCKET_NOTE = "It talks to a running `litestream replicate` whose config sets socket.enabled: true.";

/** The one DB_PATH argument, made absolute (the daemon's working directory is not ours). */
function dbArgument(positionals: readonly string[], io: Io, hint: string): string {
  if (positionals.length === 0) throw new UsageError(`database path required (e.g. ${hint})`);
  if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
  return resolveDatabasePath(positionals[0]!, io.cwd);
}

function checkTimeout(timeout: number): void {
  if (timeout <= 0) throw new UsageError("timeout must be greater than 0");
}

/** `key: value` lines, or indented JSON with `-json`. */
function print(io: Io, json: boolean, result: Record<string, unknown>, text = result): void {
  if (json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else for (const [k, v] of Object.entries(text)) if (v !== undefined) io.stdout.write(`${k}: ${String(v)}\n`);
}

function startStop(name: "start" | "stop", state: "running" | "stopped", description: string): Command {
  const flags = socketFlags(30);
  return defineCommand({
    name,
    summary: `${name}s replication of a database in the running daemon`,
    description: `${description}\n${SOCKET_NOTE}`,
    synopsis: ["[arguments] DB_PATH"],
    flags,
    examples: [
      `# ${name === "start" ? "Start" : "Stop"} replication of a database.`,
      `$ litestream ${name} /path/to/db`,
      "",
      "# The same through another socket, as JSON.",
      `$ litestream ${name} -socket /tmp/litestream.sock -json /path/to/db`,
    ],
    async run({ flags, positionals }, io) {
      const path = dbArgument(positionals, io, `litestream ${name} /path/to/db`);
      checkTimeout(flags.timeout);
      const r = await controlRequest(name, flags.socket, `/${name}`, { path, timeout: flags.timeout }, flags.timeout);
      print(io, flags.json, { status: r["status"], db_path: r["path"], state, txid: r["txid"], socket: flags.socket });
      return 0;
    },
  });
}

/** `litestream start DB_PATH`: replication of a stopped database resumes. */
export const startCommand = startStop("start", "running", "Starts replication of a database the running daemon knows (one stopped with `litestream stop`).");

/** `litestream stop DB_PATH`: final sync, then replication of the database stops (the daemon keeps it for `start`). */
export const stopCommand = startStop(
  "stop",
  "stopped",
  "Stops replication of a database: everything committed is uploaded first (a final sync),\nthen the database is released; `litestream start` resumes it.",
);

const syncFlags = defineFlags({
  wait: { type: "boolean", usage: "Block until the sync completes, including the upload to the replica." },
  ...socketFlags(30),
});

/** `litestream sync [-wait] DB_PATH`: an immediate sync; with -wait, until the replica has it. */
export const syncCommand = defineCommand({
  name: "sync",
  summary: "forces an immediate sync of a database in the running daemon",
  description: `Forces an immediate sync of a database. Without -wait it returns at once;\nwith -wait it returns once the replica has everything committed before the call.\n${SOCKET_NOTE}`,
  synopsis: ["[arguments] DB_PATH"],
  flags: syncFlags,
  examples: ["$ litestream sync /path/to/db", "$ litestream sync -wait -timeout 120 /path/to/db"],
  async run({ flags, positionals }, io) {
    const path = dbArgument(positionals, io, "litestream sync /path/to/db");
    checkTimeout(flags.timeout);
    const started = Date.now();
    const r = await controlRequest("sync", flags.socket, "/sync", { path, wait: flags.wait, timeout: flags.timeout }, flags.timeout);
    print(io, flags.json, { db_path: r["path"], txid: r["txid"], ...(flags.wait ? { replica_txid: r["replicated_txid"] } : {}), duration_ms: Date.now() - started });
    return 0;
  },
});

const registerFlags = defineFlags({
  replica: { type: "string", placeholder: "URL", usage: "Replica destination URL (e.g. s3://bucket/prefix, file:///backup/path). Required." },
  ...socketFlags(30),
});

/** `litestream register -replica URL DB_PATH`: the daemon starts replicating another database. */
export const registerCommand = defineCommand({
  name: "register",
  summary: "adds a database to the running daemon",
  description: `Registers a database for replication to one replica URL in the running daemon.\n${SOCKET_NOTE}`,
  synopsis: ["[arguments] DB_PATH"],
  flags: registerFlags,
  examples: ["$ litestream register -replica s3://mybucket/db /path/to/db", "$ litestream register -replica file:///backup/path /path/to/db"],
  async run({ flags, positionals }, io) {
    const path = dbArgument(positionals, io, "litestream register -replica s3://bucket/prefix /path/to/db");
    if (!flags.replica) throw new UsageError("-replica is required (e.g. litestream register -replica s3://bucket/prefix /path/to/db)");
    checkTimeout(flags.timeout);
    const replica = isReplicaUrl(flags.replica) ? flags.replica : resolve(io.cwd, flags.replica);
    const r = await controlRequest("register", flags.socket, "/register", { path, replica_url: replica }, flags.timeout);
    const result = { status: r["status"], db_path: r["path"], replica, socket: flags.socket };
    print(io, flags.json, result, { ...result, status: r["status"] === "already_registered" ? "already registered" : r["status"] });
    return 0;
  },
});

const unregisterFlags = defineFlags({
  "dry-run": { type: "boolean", usage: "Print what would be unregistered without changing the daemon." },
  ...socketFlags(30),
});

/** `litestream unregister DB_PATH`: final sync, then the daemon forgets the database. */
export const unregisterCommand = defineCommand({
  name: "unregister",
  summary: "removes a database from the running daemon",
  description: `Unregisters a database: a final sync, then the daemon stops replicating it and forgets it.\n${SOCKET_NOTE}`,
  synopsis: ["[arguments] DB_PATH"],
  flags: unregisterFlags,
  examples: ["$ litestream unregister /path/to/db", "$ litestream unregister -dry-run /path/to/db"],
  async run({ flags, positionals }, io) {
    const path = dbArgument(positionals, io, "litestream unregister /path/to/db");
    checkTimeout(flags.timeout);
    if (flags["dry-run"]) {
      io.stdout.write(
        `Dry run: unregister request preview\n  database: ${path}\n  socket: ${flags.socket}\n  replicas: daemon-managed replicas of this database\n  final sync: the daemon uploads what is committed before it lets go\n  timeout: ${flags.timeout}s\nNo unregister request was sent.\n`,
      );
      return 0;
    }
    const r = await controlRequest("unregister", flags.socket, "/unregister", { path, timeout: flags.timeout }, flags.timeout);
    print(io, flags.json, { status: r["status"], db_path: r["path"], final_txid: r["txid"], socket: flags.socket });
    return 0;
  },
});

function noArguments(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`too many arguments: ${positionals.join(" ")}`);
}

const listFlags = socketFlags(10);

/** `litestream list`: the databases of the running daemon and their state. */
export const listCommand = defineCommand({
  name: "list",
  summary: "lists the databases of the running daemon",
  description: `Lists every database the running daemon manages, its state and last sync.\n${SOCKET_NOTE}`,
  synopsis: ["[arguments]"],
  flags: listFlags,
  examples: ["$ litestream list", "$ litestream list -json"],
  async run({ flags, positionals }, io) {
    noArguments(positionals);
    checkTimeout(flags.timeout);
    const r = await controlRequest("list", flags.socket, "/list", undefined, flags.timeout);
    const dbs = Array.isArray(r["databases"]) ? (r["databases"] as { path: string; status: string; last_sync_at?: string }[]) : [];
    if (flags.json) io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else if (dbs.length === 0) io.stdout.write("No databases configured\n");
    else for (const db of dbs) io.stdout.write(`${db.path} [${db.status}] (last sync: ${db.last_sync_at ?? "never"})\n`);
    return 0;
  },
});

/** `litestream info`: version, pid, uptime and database count of the running daemon. */
export const infoCommand = defineCommand({
  name: "info",
  summary: "shows information about the running daemon",
  description: `Shows the running daemon's version, process id, uptime and number of databases.\n${SOCKET_NOTE}`,
  synopsis: ["[arguments]"],
  flags: listFlags,
  examples: ["$ litestream info", "$ litestream info -json"],
  async run({ flags, positionals }, io) {
    noArguments(positionals);
    checkTimeout(flags.timeout);
    const r = await controlRequest("info", flags.socket, "/info", undefined, flags.timeout);
    if (flags.json) {
      io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return 0;
    }
    const uptime = Number(r["uptime_seconds"] ?? 0);
    io.stdout.write(
      `Litestream ${String(r["version"])}\n  PID:        ${String(r["pid"])}\n  Uptime:     ${formatUptime(uptime)}\n  Started at: ${String(r["started_at"])}\n  Databases:  ${String(r["database_count"])}\n`,
    );
    return 0;
  },
});

/** Seconds as Go prints a Duration: `1h2m3s`, `45s`. */
function formatUptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}
