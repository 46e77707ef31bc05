/** `litestream restore`: its flags and their checks, then a restore (or its plan, with -dry-run) from the chosen replica (LTX or v0.3 layout) to a TXID, a time or the latest state. */
import { lstatSync, type Stats } from "node:fs";
import { resolve } from "node:path";
import { defineCommand } from "../command.js";
import { CliError, CONFIG_FLAGS, describeReplica, resolveTarget } from "../context.js";
import { defineFlags, UsageError, type FlagValues } from "@sqlrep/runtime";
import { formatTime, formatTxid, parseTimestampFlag, parseTxidFlag } from "../format.js";
import { progressBar } from "../progress.js";
import { integrityCheck, restoreFromReplicas, summaryLine, type IntegrityCheck } from "../restore-run.js";
import { restoreRequest } from "../restore-flags.js";
import { dryRunPlan, formatDryRunPlan } from "../restore-dry-run.js";
import { forcedOutput, sideFiles } from "../restore-force.js";
import type { RestoreRequest } from "@sqlrep/replica";
import { parseDuration } from "@sqlrep/config";
import { follow, followVerify, readFollowState, removeFollowState, type FollowOptions } from "@sqlrep/follow";

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
    usage:
      'Checks the restored file with SQLite before it is put in place: quick_check ("quick",\nthe default), integrity_check ("full", also when the flag is given alone) or nothing\n("none"); the restore fails unless the check says "ok".',
  },
  generation: {
    type: "string",
    placeholder: "NAME",
    usage: "Restore from this Litestream v0.3 generation.\nDefaults to the layout (v0.3 or LTX) and generation with the newest data.",
  },
  index: { type: "string", placeholder: "NUM", usage: "Restore up to and including this hex-encoded v0.3 WAL index;\nneeds -generation." },
  "dry-run": { type: "boolean", usage: "Prints the restore plan (the replica, the files, the TXID and time\nit would restore to) and exits without writing anything." },
  force: { type: "boolean", usage: "Replaces an existing output database (and removes its -wal, -shm\nand -journal) once the restored copy is complete and checked." },
  json: { type: "boolean", usage: "Prints the result (or, with -dry-run, the plan) as JSON on stdout;\nmessages go to stderr." },
  f: {
    type: "boolean",
    usage:
      "Follow: after the restore, keep the output up to date with the replica, applying\neach batch of new LTX files as one SQLite transaction, until interrupted. Progress\nis kept in OUTPUT-txid: run again on the same output to resume.",
  },
  "follow-interval": { type: "string", placeholder: "DURATION", usage: "How often -f polls the replica.\nDefaults to 1s." },
});

type RestoreFlags = FlagValues<typeof flags>;

/** `litestream restore`: a database from a replica, at the latest state, a TXID or a point in time. */
export const restoreCommand = defineCommand({
  name: "restore",
  summary: "recovers database backup from a replica",
  description:
    "The restore command recovers a database from a replica's snapshot and LTX files, or from a\nLitestream v0.3 replica's snapshot and WAL segments (generations/): whichever holds the newest\ndata when a replica has both, unless -generation names a v0.3 generation.",
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
    "",
    "# Show what a restore would read, without writing anything.",
    "$ litestream restore -dry-run -o /tmp/db s3://mybkt/db",
    "",
    "# Keep a read-only copy up to date, polling every 5 seconds.",
    "$ litestream restore -f -follow-interval 5s -o /tmp/db s3://mybkt/db",
  ],
  async run({ flags, given, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("database path or replica URL required");
    if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
    const request = parseRequest(flags, given);
    const followInterval = parseFollow(flags, given);
    const arg = positionals[0]!;
    const { db, replicas } = await resolveTarget(arg, flags, given, io);
    if (!db && flags.o === undefined) throw new UsageError("output path required: -o PATH (a REPLICA_URL has no database path to restore to)");
    const output = resolve(io.cwd, flags.o ?? db!.path);
    // With -json, stdout carries the JSON document only.
    const say = (line: string) => (flags.json ? io.stderr : io.stdout).write(`${line}\n`);
    const existing = statOutput(output);
    const check = integrityMode(flags["integrity-check"]);
    const checkFile = check ? (path: string) => integrityCheck(path, check) : undefined;
    const following = (interval: number): FollowOptions => ({
      output,
      replicas,
      interval,
      parallelism: flags.parallelism,
      check: checkFile,
      logger: { info: say, warn: (message) => say(`warning: ${message}`) },
      signal: io.signal,
    });
    const followed = followInterval !== undefined && existing && !flags.force ? await readFollowState(output) : undefined;
    if (followed) {
      // A copy followed before: go on from its TXID (checked against the replica) rather than restoring again.
      await follow({ replica: replicas[0]!.name, txid: followed.txid, header: followed.header, resumed: true }, following(followInterval!));
      return 0;
    }
    if (existing && flags["if-db-not-exists"]) {
      say(`database already exists, skipping: ${output}`);
      return 0;
    }
    if (existing?.isDirectory()) throw new CliError(`cannot restore to ${output}: it is a directory`);
    if (flags["dry-run"]) {
      const planned = await dryRunPlan(replicas, request, { source: arg, output, outputExists: existing !== undefined }, io.signal);
      if (!planned) {
        if (flags["if-replica-exists"]) {
          say("no matching backups found");
          return 0;
        }
        throw new CliError(`no matching backups found in ${replicas.map(describeReplica).join(", ")}`);
      }
      for (const message of planned.skipped) io.stderr.write(`warning: ${message}\n`);
      io.stdout.write(flags.json ? `${JSON.stringify(planned.plan, null, 2)}\n` : formatDryRunPlan(planned.plan));
      return 0;
    }
    const sides = sideFiles(output);
    if (!flags.force && (existing || sides.length > 0)) {
      throw new CliError(`output file already exists: ${existing ? output : sides[0]!} (use -force to replace it)`);
    }
    const bar = io.stderr.isTTY && !flags.json ? progressBar(io.stderr) : undefined;
    // -force restores beside the output and replaces it only once the copy is complete and checked.
    const target = existing || sides.length > 0 ? forcedOutput(output) : undefined;
    const started = performance.now();
    const capture: { page1?: Uint8Array } = {};
    let restored: Awaited<ReturnType<typeof restoreFromReplicas>>;
    try {
      restored = await restoreFromReplicas(replicas, request, {
        output: target?.path ?? output,
        parallelism: flags.parallelism,
        integrityCheck: check,
        verify: followInterval !== undefined ? followVerify(capture, checkFile) : undefined,
        signal: io.signal,
        onProgress: bar ? (p) => bar.update(p) : undefined,
        warn: (message) => io.stderr.write(`warning: ${message}\n`),
      });
      if (restored) await target?.install();
      if (restored && followInterval === undefined) await removeFollowState(output);
    } finally {
      bar?.done();
      await target?.discard();
    }
    if (!restored) {
      if (flags["if-replica-exists"]) {
        say("no matching backups found");
        return 0;
      }
      throw new CliError(`no matching backups found in ${replicas.map(describeReplica).join(", ")}`);
    }
    const { source, summary } = restored;
    if (flags.json) {
      const result = {
        db_path: output,
        replica: replicas.find((r) => r.name === source.name)?.client.type ?? "",
        replica_name: source.name,
        txid: summary.legacy ? "" : formatTxid(summary.txid),
        timestamp: formatTime(summary.timestamp),
        bytes: summary.bytes,
        files: summary.files,
        checksum_verified: summary.checksumVerified,
        duration_ms: Math.round(performance.now() - started),
        integrity_check: check ?? "none",
        replaced: target !== undefined,
      };
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      io.stdout.write(summaryLine(output, source, summary, check) + "\n");
    }
    if (followInterval === undefined) return 0;
    if (summary.legacy) throw new CliError(`cannot follow ${describeReplica(replicas.find((r) => r.name === source.name)!)}: its newest backup is a Litestream v0.3 generation`);
    await follow({ replica: source.name, txid: summary.txid, header: capture.page1!.subarray(0, 100), resumed: false }, following(followInterval));
    return 0;
  },
});

/** The output's stat, undefined when it does not exist (a path through a file is reported by the restore itself). */
function statOutput(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw err;
  }
}

/** `-integrity-check`: quick unless told otherwise; `none` skips SQLite's check. */
function integrityMode(flag: string | undefined): IntegrityCheck | undefined {
  if (flag === "none") return undefined;
  return flag === "full" ? "full" : "quick";
}

/** `-f` and `-follow-interval`: the poll interval in ms when following, checked against the flags -f cannot take (as v0.5). */
function parseFollow(flags: RestoreFlags, given: ReadonlySet<string>): number | undefined {
  if (!flags.f) {
    if (given.has("follow-interval")) throw new UsageError("-follow-interval requires -f");
    return undefined;
  }
  for (const other of ["txid", "timestamp", "dry-run", "generation", "index"]) {
    if (given.has(other)) throw new UsageError(`cannot specify -${other} with -f: follow mode keeps the copy at the latest state`);
  }
  const text = flags["follow-interval"] ?? "1s";
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new UsageError(`invalid -follow-interval: ${(err as Error).message}`);
  }
  if (!(ms > 0)) throw new UsageError(`invalid -follow-interval ${JSON.stringify(text)}: must be positive`);
  return ms;
}

function parseRequest(flags: RestoreFlags, given: ReadonlySet<string>): RestoreRequest {
  if (given.has("txid") && given.has("timestamp")) throw new UsageError("cannot specify both -txid and -timestamp");
  const target: RestoreRequest["target"] = {};
  if (flags.txid !== undefined) target.txid = parseTxidFlag(flags.txid);
  if (flags.timestamp !== undefined) target.timestamp = parseTimestampFlag(flags.timestamp);
  return restoreRequest(target, { generation: flags.generation, index: flags.index });
}
