/**
 * Read-only access to the golden files in `../shared/testdata/ltx` (never copied
 * into the repository) and their manifests.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { hasSharedTestdata, sharedTestdata } from "@sqlrep/testkit";
import { hasPageIndex, type LtxFormat } from "../format.js";

export interface ManifestHeader {
  commit: number;
  flags: number;
  magic: string;
  max_txid: number;
  min_txid: number;
  node_id: string;
  page_size: number;
  pre_apply_checksum: string;
  timestamp_ms: number;
  wal_offset: number;
  wal_salt1: number;
  wal_salt2: number;
  wal_size: number;
}

export interface ManifestEntry {
  file: string;
  description: string;
  format: string;
  producer: string;
  size: number;
  sha256: string;
  header: ManifestHeader;
  pages: { pgno: number; flags: number; page_checksum: string; data_sha256: string }[];
  /** v2/v3 only. */
  page_index?: { pgno: number; offset: number; size: number }[] | undefined;
  post_apply_checksum: string;
  file_checksum: string;
  result_db?: { checksum: string; sha256: string; size: number };
}

/** One `generated/<version>/` folder. */
export interface FixtureFolder {
  version: string;
  entries: ManifestEntry[];
}

/** Every generated folder with its manifest (empty when the golden files are absent). */
export function fixtureFolders(): FixtureFolder[] {
  if (!hasSharedTestdata) return [];
  const root = sharedTestdata("ltx", "generated");
  return readdirSync(root)
    .sort()
    .map((version) => ({
      version,
      entries: (JSON.parse(readFileSync(`${root}/${version}/manifest.json`, "utf8")) as ManifestEntry[]).map(normalize),
    }));
}

/** Empty files list their pages (and v2/v3 their index entries) as null: make them empty lists. */
function normalize(entry: ManifestEntry): ManifestEntry {
  const indexed = hasPageIndex(formatOf(entry));
  return { ...entry, pages: entry.pages ?? [], page_index: indexed ? (entry.page_index ?? []) : undefined };
}

/** Every generated fixture with its folder. */
export function allFixtures(): { version: string; entry: ManifestEntry }[] {
  return fixtureFolders().flatMap((f) => f.entries.map((entry) => ({ version: f.version, entry })));
}

/** The bytes of a generated fixture. */
export function fixtureBytes(version: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(sharedTestdata("ltx", "generated", version, file)));
}

/** The bytes of a file at the top of `testdata/ltx`. */
export function topFixtureBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(sharedTestdata("ltx", file)));
}

/** The layout a manifest entry describes. */
export function formatOf(entry: ManifestEntry): LtxFormat {
  if (entry.format.startsWith("v1 (LZ4")) return "v1-lz4";
  if (entry.format.startsWith("v1")) return "v1";
  if (entry.format.startsWith("v2")) return "v2";
  if (entry.format.startsWith("v3-frame")) return "v3-frame";
  if (entry.format.startsWith("v3-block")) return "v3-block";
  throw new Error(`unknown manifest format ${entry.format}`);
}

/** A manifest checksum (`0x…`) as a bigint. */
export function hex64(text: string): bigint {
  return BigInt(text);
}

/** Lowercase hex SHA-256 of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The chains of a folder: files named `*-chain-NN-*` in order, plus the Litestream-style
 * pair `nochecksum-snapshot` → `nochecksum-incremental` where present.
 */
export function chainsOf(folder: FixtureFolder): ManifestEntry[][] {
  const byPrefix = new Map<string, ManifestEntry[]>();
  for (const e of folder.entries) {
    const m = /^(v\w+)-chain-\d\d-/.exec(e.file);
    if (m) byPrefix.set(m[1]!, [...(byPrefix.get(m[1]!) ?? []), e]);
  }
  const chains = [...byPrefix.values()].map((c) => c.sort((a, b) => a.file.localeCompare(b.file)));
  const snap = folder.entries.find((e) => e.file.includes("nochecksum-snapshot"));
  const incr = folder.entries.find((e) => e.file.includes("nochecksum-incremental"));
  if (snap && incr) chains.push([snap, incr]);
  return chains;
}
