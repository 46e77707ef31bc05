/**
 * The transactions split brain set aside, as `@sqlrep/cluster` keeps them: one directory
 * per occasion, `<data>/diverged/<db>/<time>/`, holding the node's LTX files after the
 * last position it shared with the primary and an `info.json` saying what they are.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { isLtxFilename, parseFilename, parseTxid } from "@sqlrep/ltx";
import { LitefsError } from "../errors.js";

/** `info.json` as `@sqlrep/cluster`'s divergence.ts writes it (hex TXIDs and checksums). */
export interface DivergedInfo {
  db: string;
  node: { txid: string; checksum: string; epoch: number };
  lastCommon: { txid: string; checksum: string } | null;
  compared: boolean;
  primarySnapshot: { txid: string; checksum: string; epoch: number };
  files: string[];
  missing: string[];
  keptAt: string;
}

/** One set-aside tail. */
export interface DivergedSet {
  /** The database's name (may hold `/`). */
  db: string;
  /** The directory's name (the time it was kept, `:` as `-`). */
  set: string;
  dir: string;
  info: DivergedInfo;
  /** Its LTX files, ordered by TXID, with their ranges. */
  files: { name: string; minTXID: number; maxTXID: number }[];
  /** First and last TXID kept (0 when no file was kept). */
  from: number;
  to: number;
}

/** Every set under `<dataDir>/diverged`, oldest first per database. */
export function listDiverged(dataDir: string): DivergedSet[] {
  const root = join(dataDir, "diverged");
  if (!existsSync(root)) return [];
  const sets: DivergedSet[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const sub = join(dir, entry.name);
      if (existsSync(join(sub, "info.json"))) sets.push(readSet(root, sub));
      else walk(sub);
    }
  };
  walk(root);
  return sets.sort((a, b) => (a.db === b.db ? a.set.localeCompare(b.set) : a.db.localeCompare(b.db)));
}

function readSet(root: string, dir: string): DivergedSet {
  const file = join(dir, "info.json");
  let info: DivergedInfo;
  try {
    info = JSON.parse(readFileSync(file, "utf8")) as DivergedInfo;
  } catch (err) {
    throw new LitefsError("diverged", `${file} is not readable JSON: ${(err as Error).message}`, { cause: err, file });
  }
  const rel = relative(root, dir).split(sep);
  const set = rel.pop()!;
  const db = typeof info.db === "string" ? info.db : rel.join("/");
  const files = readdirSync(dir)
    .filter((n) => isLtxFilename(n) && statSync(join(dir, n)).isFile())
    .map((name) => ({ name, ...parseFilename(name) }))
    .sort((a, b) => a.minTXID - b.minTXID);
  return { db, set, dir, info, files, from: files[0]?.minTXID ?? 0, to: files.at(-1)?.maxTXID ?? 0 };
}

/** The set of `db` named `set`, or its only one; errors name what exists. */
export function findDiverged(dataDir: string, db: string, set: string | undefined): DivergedSet {
  const all = listDiverged(dataDir).filter((s) => s.db === db);
  if (all.length === 0) throw new LitefsError("not-found", `no diverged transactions of ${db} under ${join(dataDir, "diverged")}`, { file: join(dataDir, "diverged") });
  if (set === undefined) {
    if (all.length === 1) return all[0]!;
    throw new LitefsError("diverged", `${db} has ${all.length} diverged sets (${all.map((s) => s.set).join(", ")}): name one`);
  }
  const found = all.find((s) => s.set === set);
  if (found === undefined) throw new LitefsError("not-found", `no diverged set ${set} of ${db} (there are: ${all.map((s) => s.set).join(", ")})`);
  return found;
}

/** TXID text (hex) as a number; 0 for null. */
export function txidOf(hex: string | null | undefined): number {
  return hex === null || hex === undefined ? 0 : parseTxid(hex);
}
