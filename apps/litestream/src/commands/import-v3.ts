import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { formatChecksum } from "@sqlrep/ltx";
import { importLegacy } from "@sqlrep/replica";
import { defineCommand } from "../command.js";
import { CliError, CONFIG_FLAGS, createRegistry, describeReplica, resolveTarget, urlReplica, urlType } from "../context.js";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { formatBytes, formatTime, formatTxid, parseTimestampFlag } from "../format.js";
import { restoreRequest } from "../restore-flags.js";
import { integrityCheck } from "../restore-run.js";

const flags = defineFlags({
  ...CONFIG_FLAGS,
  replica: { type: "string", placeholder: "NAME", usage: "The v0.3 replica of DB_PATH to import.\nDefaults to the database's first replica." },
  to: { type: "string", placeholder: "REPLICA_URL", usage: "Writes the snapshot to this replica.\nDefaults to the v0.3 replica itself (beside its generations/)." },
  generation: { type: "string", placeholder: "NAME", usage: "Imports from this generation.\nDefaults to the generation with the newest data." },
  index: { type: "string", placeholder: "NUM", usage: "Imports the state at the end of this hex-encoded WAL index; needs -generation." },
  timestamp: { type: "string", placeholder: "TIMESTAMP", usage: "Imports the newest state uploaded at or before this time (RFC 3339)." },
  force: { type: "boolean", usage: "Imports into a replica that already holds LTX files, as the TXID after its highest." },
  o: { type: "string", placeholder: "PATH", usage: "Also keeps the restored database at PATH (to replicate it from there)." },
  parallelism: { type: "integer", default: 8, min: 1, placeholder: "NUM", usage: "Number of downloads in flight.\nDefaults to 8." },
  "integrity-check": { type: "boolean", usage: "Runs PRAGMA integrity_check on the restored database before it is written." },
  json: { type: "boolean", usage: "Prints the result as JSON." },
});

/**
 * `litestream import-v3`: turns a Litestream v0.3 replica's state into a v0.5 snapshot
 * (`ltx/9/0000000000000001-<txid>.ltx`) so that `replicate` continues from it.
 */
export const importV3Command = defineCommand({
  name: "import-v3",
  summary: "convert a Litestream v0.3 replica into a v0.5 snapshot",
  description:
    "The import-v3 command restores a Litestream v0.3 replica's latest state (or a chosen point) and\nwrites it as a Litestream v0.5 snapshot (level 9, TXID 1, with database checksums) into the same\nreplica or another one, so that replicate continues the TXID chain from it. The v0.3 generations\nare left as they are.",
  synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
  flags,
  examples: [
    "# Import the latest state beside the v0.3 generations, keeping the database for replicate.",
    "$ litestream import-v3 -o /var/lib/app.db s3://mybkt/db",
    "",
    "# Import a point in time into another bucket.",
    "$ litestream import-v3 -timestamp 2024-05-01T10:00:00Z -to s3://newbkt/db s3://mybkt/db",
  ],
  async run({ flags, given, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("database path or replica URL required");
    if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
    const request = restoreRequest(flags.timestamp === undefined ? {} : { timestamp: parseTimestampFlag(flags.timestamp) }, { generation: flags.generation, index: flags.index });
    const point = { generation: request.generation, index: request.index, timestamp: request.target.timestamp };
    const { replicas } = await resolveTarget(positionals[0]!, flags, given, io);
    const source = replicas[0]!;
    const target = flags.to === undefined ? source : urlReplica(flags.to, await createRegistry([urlType(flags.to)]));
    const database = flags.o === undefined ? undefined : resolve(io.cwd, flags.o);
    if (database !== undefined) {
      if (existsSync(database)) throw new CliError(`output file already exists: ${database}`);
      await mkdir(dirname(database), { recursive: true });
    }
    const result = await importLegacy(source.client, {
      target: target.client,
      point,
      force: flags.force,
      database,
      parallelism: flags.parallelism,
      verify: flags["integrity-check"] ? (path) => integrityCheck(path, "full") : undefined,
      signal: io.signal,
    });
    const r = result.restore;
    if (flags.json) {
      const out = {
        source: source.client.location,
        target: target.client.location,
        key: result.key,
        txid: formatTxid(result.txid),
        generation: r.generation,
        snapshot_index: r.snapshotIndex,
        index: r.index,
        offset: r.offset,
        timestamp: r.timestamp.toISOString(),
        page_size: r.pageSize,
        pages: r.pageCount,
        size: result.file.size,
        post_apply_checksum: formatChecksum(result.postApplyChecksum),
        database: database ?? null,
      };
      io.stdout.write(JSON.stringify(out, null, 2) + "\n");
      return 0;
    }
    io.stdout.write(
      `imported generation ${r.generation} up to WAL index ${r.index.toString(16).padStart(8, "0")} offset ${r.offset} (uploaded ${formatTime(r.timestamp)}) ` +
        `from ${describeReplica(source)} into ${describeReplica(target)} as ${result.key}: TXID ${formatTxid(result.txid)}, ${r.pageCount} pages, ` +
        `${formatBytes(result.file.size)}, checksum ${formatChecksum(result.postApplyChecksum)}${database ? `; database kept at ${database}` : ""}\n`,
    );
    return 0;
  },
});
