/** `litestream snapshots`: lists the v0.3 snapshots of a database's replicas, as v0.3.13 prints them. */
import { defineCommand } from "../command.js";
import { formatTable, formatTime } from "../format.js";
import { legacyListFlags, listReplicas } from "./generations.js";

/** `litestream snapshots`: the v0.3 snapshots of a database's replicas. */
export const snapshotsCommand = defineCommand({
  name: "snapshots",
  summary: "list available snapshots for a database",
  description: "The snapshots command lists all Litestream v0.3 snapshots available for a database or replica.",
  synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
  flags: legacyListFlags,
  examples: [
    "# List all snapshots for a database.",
    "$ litestream snapshots /path/to/db",
    "",
    "# List all snapshots on S3.",
    "$ litestream snapshots -replica s3 /path/to/db",
    "",
    "# List all snapshots by replica URL.",
    "$ litestream snapshots s3://mybkt/db",
  ],
  async run({ flags, given, positionals }, io) {
    const { listings } = await listReplicas(positionals, { flags, given }, io);
    const rows = listings.flatMap(({ replica, listing }) => listing.generations.flatMap((g) => g.snapshots.map((s) => ({ replica: replica.name, ...s }))));
    if (flags.json) {
      const out = rows.map((r) => ({ replica: r.replica, generation: r.generation, index: r.index, size: r.size, created: r.createdAt.toISOString() }));
      io.stdout.write(JSON.stringify(out, null, 2) + "\n");
      return 0;
    }
    const table = rows.map((r) => [r.replica, r.generation, String(r.index), String(r.size), formatTime(r.createdAt)]);
    io.stdout.write(formatTable([["replica", "generation", "index", "size", "created"], ...table]));
    return 0;
  },
});
