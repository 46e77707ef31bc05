/**
 * `litefs diverged`: lists the transactions split brain set aside on this node
 * (`<data>/diverged/<db>/<time>/`, kept by `@sqlrep/cluster` where LiteFS discards them)
 * and extracts one set as a SQLite file. LiteFS has no such command.
 */
import { resolve } from "node:path";
import { formatChecksum, formatTxid } from "@sqlrep/ltx";
import { defineFlags, parseFlags, UsageError } from "@sqlrep/runtime";
import { extractDiverged } from "../client/diverged-extract.js";
import { findDiverged, listDiverged, type DivergedSet } from "../client/diverged-sets.js";
import { table } from "../client/format.js";
import { clientFor } from "../client/node-client.js";
import { defineCommand, type Command } from "../command.js";
import type { Io } from "../io.js";

const EXTRACT_FLAGS = defineFlags({
  base: { type: "string", usage: "the database at the set's last common position (needed unless the set starts at TXID 1)", placeholder: "PATH" },
  o: { type: "string", usage: "output path (default ./<db>.diverged-<set>.db); never overwritten", placeholder: "PATH" },
});

const DESCRIPTION = `The diverged command shows the transactions this node committed that the primary
never received (a primary cut off, then replaced). LiteFS discards them; this node
keeps their LTX files under <data-dir>/diverged/<db>/<time>/ before it takes the
primary's snapshot.

"list" (the default) prints each set: its database, TXIDs, the last position shared
with the primary, and whether any TXID was lost to retention.

"extract DB [SET]" rebuilds the database as this node had it at the split, as a new
SQLite file: the set's LTX files applied in order onto the database at the last common
position, every checksum checked. A set holds the changed pages only, so that state
comes from -base (a copy of the database at that TXID: a restore of the cluster's
backup, an export) unless the set starts at TXID 1. The transactions are not merged
back into the cluster: compare the file with the live database and re-apply what
matters by hand.

extract's own flags: -base PATH (the database at the set's last common TXID) and
-o PATH (default ./<db>.diverged-<set>.db; an existing file is never overwritten).

The data directory is -data-dir, or the one the node at -url reports (same machine).`;

const TOP_FLAGS = defineFlags({
  "data-dir": { type: "string", usage: "the node's data directory (data.dir)", placeholder: "DIR" },
  url: { type: "string", usage: "LiteFS API URL to ask for its data directory (default http://localhost:20202 without -data-dir)", placeholder: "URL" },
  json: { type: "boolean", usage: "list as JSON" },
});

// For the usage text; the command's run (below) parses the top-level flags and the action's separately.
const described = defineCommand({
  name: "diverged",
  summary: "lists and extracts transactions set aside by a split brain",
  description: DESCRIPTION,
  synopsis: ["[arguments] [list]", "[arguments] extract [-base PATH] [-o PATH] DB [SET]"],
  flags: TOP_FLAGS,
  run: async () => 0,
});

/** `litefs diverged [-data-dir DIR | -url URL] [-json] [list | extract [-base PATH] [-o PATH] DB [SET]]`. */
export const divergedCommand: Command = {
  ...described,
  async run(args, io) {
    // Go-style flags stop at the first word: the action and its own flags follow the top-level ones.
    let i = 0;
    while (i < args.length && args[i]!.startsWith("-") && args[i] !== "--") i += /^--?(data-dir|url)$/.test(args[i]!) ? 2 : 1;
    const { flags } = parseFlags(args.slice(0, i), TOP_FLAGS);
    if (args[i] === "--") i++;
    const [action = "list", ...rest] = args.slice(i);
    if (flags["data-dir"] !== undefined && flags.url !== undefined) throw new UsageError("give -data-dir or -url, not both");
    const dataDir = flags["data-dir"] !== undefined ? resolve(io.cwd, flags["data-dir"]) : (await clientFor(flags.url, io.env, io.signal).info()).path;
    if (action === "list") {
      if (rest.length > 0) throw new UsageError(`too many arguments: ${rest.join(" ")}`);
      const sets = listDiverged(dataDir);
      io.stdout.write(flags.json ? `${JSON.stringify(sets.map(setJson), null, 2)}\n` : listText(dataDir, sets));
      return 0;
    }
    if (action === "extract") return extract(dataDir, rest, io);
    throw new UsageError(`unknown action ${JSON.stringify(action)}: list or extract`);
  },
};

async function extract(dataDir: string, args: readonly string[], io: Io): Promise<number> {
  const { flags, positionals } = parseFlags(args, EXTRACT_FLAGS);
  if (positionals.length === 0) throw new UsageError("extract needs the database's name");
  if (positionals.length > 2) throw new UsageError(`too many arguments: ${positionals.slice(2).join(" ")}`);
  const set = findDiverged(dataDir, positionals[0]!, positionals[1]);
  const out = resolve(io.cwd, flags.o ?? `${set.db.split("/").pop()}.diverged-${set.set}.db`);
  const done = await extractDiverged(set, out, flags.base === undefined ? undefined : resolve(io.cwd, flags.base));
  io.stdout.write(
    `Extracted ${set.db} as this node had it at TXID ${formatTxid(done.position.txid)} (checksum ${formatChecksum(done.position.postApplyChecksum)}) to ${done.path}\n` +
      (done.complete ? "" : `note: the node was at TXID ${set.info.node.txid} (checksum ${set.info.node.checksum}); the set did not reach it\n`),
  );
  return 0;
}

function setJson(s: DivergedSet) {
  return {
    db: s.db,
    set: s.set,
    dir: s.dir,
    from: formatTxid(s.from),
    to: formatTxid(s.to),
    files: s.files.map((f) => f.name),
    lastCommon: s.info.lastCommon,
    node: s.info.node,
    primarySnapshot: s.info.primarySnapshot,
    compared: s.info.compared,
    missing: s.info.missing,
    keptAt: s.info.keptAt,
    extractable: s.files.length > 0 && s.info.missing.length === 0 ? (s.from === 1 ? "alone" : "with -base") : "no",
  };
}

function listText(dataDir: string, sets: readonly DivergedSet[]): string {
  if (sets.length === 0) return `no diverged transactions under ${dataDir}\n`;
  const rows = [["DATABASE", "SET", "TXIDS", "FILES", "LAST COMMON", "PRIMARY WAS AT", "EXTRACT"]];
  for (const s of sets) {
    const j = setJson(s);
    rows.push([
      s.db,
      s.set,
      s.files.length === 0 ? "-" : `${j.from}-${j.to}`,
      String(s.files.length),
      s.info.lastCommon === null ? (s.info.compared ? "none" : "unknown") : s.info.lastCommon.txid,
      s.info.primarySnapshot.txid,
      j.extractable + (s.info.missing.length > 0 ? ` (${s.info.missing.length} TXIDs lost to retention)` : ""),
    ]);
  }
  return table(rows);
}
