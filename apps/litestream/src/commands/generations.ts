/** `litestream generations`, and the v0.3 replica listing it shares with `snapshots` and `wal -generation` (Litestream v0.3.13's output). */
import { stat } from "node:fs/promises";
import { listLegacyReplica, type LegacyListing } from "@sqlrep/replica";
import { defineCommand } from "../command.js";
import { CONFIG_FLAGS, resolveTarget, type Io, type NamedReplica } from "../context.js";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { formatTable, formatTime } from "../format.js";

/** The flags of `generations` and `snapshots` (v0.3.13's, plus `-json`). */
export const legacyListFlags = defineFlags({
  ...CONFIG_FLAGS,
  replica: { type: "string", placeholder: "NAME", usage: "Optional, filters by replica." },
  json: { type: "boolean", usage: "Prints JSON instead of a table." },
});

/**
 * Lists the v0.3 layout of each replica the argument names (all of a database's, or the
 * one `-replica` or a URL names). A replica that cannot be listed is reported on stderr
 * and skipped, as v0.3.13 does.
 */
export async function listReplicas(
  positionals: readonly string[],
  parsed: { flags: { config?: string | undefined; "no-expand-env": boolean; replica?: string | undefined }; given: ReadonlySet<string> },
  io: Io,
  generation?: string,
): Promise<{ listings: { replica: NamedReplica; listing: LegacyListing }[]; dbPath: string | undefined }> {
  if (positionals.length === 0) throw new UsageError("database path or replica URL required");
  if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
  const { db, replicas } = await resolveTarget(positionals[0]!, parsed.flags, parsed.given, io);
  const listings: { replica: NamedReplica; listing: LegacyListing }[] = [];
  for (const replica of replicas) {
    try {
      listings.push({ replica, listing: await listLegacyReplica(replica.client, { generation, signal: io.signal }) });
    } catch (err) {
      io.stderr.write(`error: cannot list generations of replica ${JSON.stringify(replica.name)}: ${(err as Error).message}\n`);
    }
  }
  return { listings, dbPath: db?.path };
}

/** `litestream generations`: the v0.3 generations of a database's replicas, with their time ranges and lag. */
export const generationsCommand = defineCommand({
  name: "generations",
  summary: "list available generations for a database",
  description:
    "The generations command lists all Litestream v0.3 generations for a database or replica. It also\nlists stats about their lag behind the primary database and the time range they cover.",
  synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
  flags: legacyListFlags,
  examples: [
    "# The generations of every replica of a database.",
    "$ litestream generations /path/to/db",
    "",
    "# Of a replica URL, as JSON.",
    "$ litestream generations -json s3://mybkt/db",
  ],
  async run({ flags, given, positionals }, io) {
    const { listings, dbPath } = await listReplicas(positionals, { flags, given }, io);
    const updatedAt = dbPath === undefined ? new Date() : await databaseUpdatedAt(dbPath);
    const rows = listings.flatMap(({ replica, listing }) =>
      listing.generations.map((g) => ({
        name: replica.name,
        generation: g.generation,
        lagMs: updatedAt.getTime() - g.updatedAt.getTime(),
        start: g.createdAt,
        end: g.updatedAt,
        snapshots: g.snapshots.length,
        segments: g.segments.length,
        size: g.size,
      })),
    );
    if (flags.json) {
      const out = rows.map((r) => ({
        name: r.name,
        generation: r.generation,
        lag: formatLag(r.lagMs),
        lag_ms: r.lagMs,
        start: r.start.toISOString(),
        end: r.end.toISOString(),
        snapshots: r.snapshots,
        wal_segments: r.segments,
        size: r.size,
      }));
      io.stdout.write(JSON.stringify(out, null, 2) + "\n");
      return 0;
    }
    const table = rows.map((r) => [r.name, r.generation, formatLag(r.lagMs), formatTime(r.start), formatTime(r.end)]);
    io.stdout.write(formatTable([["name", "generation", "lag", "start", "end"], ...table]));
    return 0;
  },
});

/** `litestream wal -generation NAME`: v0.3.13's table of one generation's WAL segments (`replica generation index offset size created`). */
export async function listLegacySegments(
  generation: string,
  parsed: {
    flags: { config?: string | undefined; "no-expand-env": boolean; replica?: string | undefined; json: boolean };
    given: ReadonlySet<string>;
    positionals: readonly string[];
  },
  io: Io,
): Promise<number> {
  const { listings } = await listReplicas(parsed.positionals, parsed, io, generation);
  const rows = listings.flatMap(({ replica, listing }) => listing.generations.flatMap((g) => g.segments.map((s) => ({ replica: replica.name, ...s }))));
  if (parsed.flags.json) {
    const out = rows.map((r) => ({ replica: r.replica, generation: r.generation, index: r.index, offset: r.offset, size: r.size, created: r.createdAt.toISOString() }));
    io.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
  }
  const table = rows.map((r) => [r.replica, r.generation, String(r.index), String(r.offset), String(r.size), formatTime(r.createdAt)]);
  io.stdout.write(formatTable([["replica", "generation", "index", "offset", "size", "created"], ...table]));
  return 0;
}

/** When the database or its WAL last changed (v0.3.13's lag reference); now when neither exists. */
async function databaseUpdatedAt(path: string): Promise<Date> {
  const times = await Promise.all(
    [path, `${path}-wal`].map((p) =>
      stat(p).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  const latest = Math.max(...times);
  return latest === 0 ? new Date() : new Date(latest);
}

/**
 * A lag as Go prints v0.3.13's truncated duration: whole seconds above 10 s, tenths
 * above 1 s, else milliseconds (`1h2m3s`, `4.5s`, `350ms`, `-2s`, `0s`).
 */
export function formatLag(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  let a = Math.abs(ms);
  a = a > 10_000 ? Math.floor(a / 1000) * 1000 : a > 1000 ? Math.floor(a / 100) * 100 : Math.floor(a);
  if (a === 0) return "0s";
  if (a < 1000) return `${sign}${a}ms`;
  const h = Math.floor(a / 3_600_000);
  const m = Math.floor((a % 3_600_000) / 60_000);
  const s = (a % 60_000) / 1000;
  return `${sign}${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${s}s`;
}
