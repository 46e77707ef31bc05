import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { defineCommand } from "../command.js";
import { sqlite } from "../sqlite.js";
import { CliError, CONFIG_FLAGS, resolveTarget } from "../context.js";
import { defineFlags, UsageError, type FlagValues } from "../flags.js";
import { formatBytes, formatTime, formatTxid, parseTimestampFlag, parseTxidFlag } from "../format.js";
import { progressBar } from "../progress.js";
import { chooseRestoreSource, resolveRestoreSources, type RestoreRequest } from "../restore-source.js";

const flags = defineFlags({
  ...CONFIG_FLAGS,
  o: { type: "string", placeholder: "PATH", usage: "Output path of the restored database.\nDefaults to the original DB path; required with a REPLICA_URL." },
  replica: { type: "string", placeholder: "NAME", usage: "Restore from this replica only.\nDefaults to the replica holding the newest backup." },
  txid: { type: "string", placeholder: "TXID", usage: "Restore up to and including this transaction ID\n(hex, up to 16 digits, e.g. 000000000000002a)." },
  timestamp: { type: "string", placeholder: "TIMESTAMP", usage: "Restore the newest state committed at or before this time (RFC 3339).\nDefaults to the latest available backup." },
  parallelism: { type: "integer", default: 8, min: 1, placeholder: "NUM", usage: "Number of ranged downloads in flight.\nDefaults to 8." },
  "if-db-not-exists": { type: "boolean", usage: "Returns exit code of 0 if the database already exists." },
  "if-replica-exists": { type: "boolean", usage: "Returns exit code of 0 if no backups are found." },
  "integrity-check": {
    type: "choice",
    values: ["none", "quick", "full"],
    bare: "full",
    usage: 'Runs PRAGMA integrity_check ("full", the default when given alone) or quick_check\non the restored file before it is put in place; fails unless it says "ok".',
  },
  generation: { type: "string", placeholder: "NAME", usage: "Litestream v0.3 generation to restore from (not supported yet)." },
  index: { type: "string", placeholder: "NUM", usage: "Litestream v0.3 WAL index to restore up to, with -generation (not supported yet)." },
});

type RestoreFlags = FlagValues<typeof flags>;

/** `litestream restore`: a database from a replica, at the latest state, a TXID or a point in time. */
export const restoreCommand = defineCommand({
  name: "restore",
  summary: "recovers database backup from a replica",
  description: "The restore command recovers a database from a replica's snapshot and LTX files.",
  synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
  flags,
  examples: [
    "# Restore latest replica for database to original location.",
    "$ litestream restore /path/to/db",
    "",
    "# Restore replica for database to a given point in time.",
    "$ litestream restore -timestamp 2020-01-01T00:00:00Z /path/to/db",
    "",
    "# Restore latest replica for database to new /tmp directory",
    "$ litestream restore -o /tmp/db /path/to/db",
    "",
    "# Restore database from latest generation on S3.",
    "$ litestream restore -o /tmp/db s3://mybkt/db",
    "",
    "# Restore database up to a transaction and check it.",
    "$ litestream restore -txid 00000000000003e8 -integrity-check -o /tmp/db /path/to/db",
  ],
  async run({ flags, given, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("database path or replica URL required");
    if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
    const request = parseRequest(flags, given);
    const arg = positionals[0]!;
    const { db, replicas } = await resolveTarget(arg, flags, given, io);
    if (!db && flags.o === undefined) throw new UsageError("output path required: -o PATH (a REPLICA_URL has no database path to restore to)");
    const output = resolve(io.cwd, flags.o ?? db!.path);
    if (existsSync(output)) {
      if (flags["if-db-not-exists"]) {
        io.stdout.write(`database already exists, skipping: ${output}\n`);
        return 0;
      }
      throw new CliError(`output file already exists: ${output}`);
    }
    const sources = resolveRestoreSources(request, replicas);
    const choice = await chooseRestoreSource(sources, request, io.signal);
    for (const { source, error } of choice.failures) {
      if (choice.best) io.stderr.write(`warning: skipping ${source.description}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    if (!choice.best) {
      if (choice.failures.length > 0) throw choice.failures[0]!.error;
      if (flags["if-replica-exists"]) {
        io.stdout.write("no matching backups found\n");
        return 0;
      }
      throw new CliError(`no matching backups found in ${sources.map((s) => s.description).join(", ")}`);
    }
    const { source } = choice.best;
    await mkdir(dirname(output), { recursive: true });
    const bar = io.stderr.isTTY ? progressBar(io.stderr) : undefined;
    const check = flags["integrity-check"];
    let summary;
    try {
      summary = await source.restore(request, {
        output,
        parallelism: flags.parallelism,
        signal: io.signal,
        ...(bar ? { onProgress: (p) => bar.update(p) } : {}),
        ...(check && check !== "none" ? { verify: (temp) => integrityCheck(temp, check) } : {}),
      });
    } finally {
      bar?.done();
    }
    const checksum = summary.checksumVerified ? "database checksum verified" : "database checksum not verified (the replica's files carry none)";
    const integrity = check && check !== "none" ? `, ${check === "quick" ? "quick_check" : "integrity_check"} ok` : "";
    io.stdout.write(
      `restored ${output} from ${source.description}: TXID ${formatTxid(summary.txid)} (${formatTime(summary.timestamp)}), ${formatBytes(summary.bytes)}, ${summary.files} LTX files, ${checksum}${integrity}\n`,
    );
    return 0;
  },
});

function parseRequest(flags: RestoreFlags, given: ReadonlySet<string>): RestoreRequest {
  if (given.has("txid") && given.has("timestamp")) throw new UsageError("cannot specify both -txid and -timestamp");
  const request: RestoreRequest = { target: {} };
  if (flags.txid !== undefined) request.target.txid = parseTxidFlag(flags.txid);
  if (flags.timestamp !== undefined) request.target.timestamp = parseTimestampFlag(flags.timestamp);
  if (flags.generation !== undefined || flags.index !== undefined) request.legacy = { generation: flags.generation, index: flags.index };
  return request;
}

/** The restore's `verify` hook: SQLite's own check of the temp file, before it is put in place. */
async function integrityCheck(path: string, mode: string): Promise<void> {
  const Database = sqlite();
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const pragma = mode === "quick" ? "quick_check" : "integrity_check";
    const rows = db.pragma(pragma, { simple: false }) as Record<string, string>[];
    const lines = rows.map((r) => Object.values(r)[0]);
    if (lines.length !== 1 || lines[0] !== "ok") {
      throw new CliError(`PRAGMA ${pragma} did not return ok: ${lines.slice(0, 5).join("; ")}${lines.length > 5 ? ` (and ${lines.length - 5} more)` : ""}`);
    }
  } finally {
    db.close();
  }
}

