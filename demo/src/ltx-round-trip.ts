/** Demo part 1: a real SQLite database encoded as LTX with the `ltx` CLI, inspected, and applied back byte for byte. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { ltxBin } from "./paths.js";
import { check, heading, note, run, step } from "./show.js";

const sha256 = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Part 1: a real SQLite database through the LTX codec and back, byte for byte. */
export async function ltxRoundTrip(dir: string): Promise<void> {
  heading("1. LTX: encode a SQLite database, inspect it, apply it back");
  const source = `${dir}/shop.db`;
  const db = new Database(source);
  db.exec(`
    CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL, notes BLOB);
    CREATE INDEX products_by_name ON products(name);
  `);
  const insert = db.prepare("INSERT INTO products (name, price_cents, notes) VALUES (?, ?, ?)");
  db.transaction(() => {
    for (let i = 1; i <= 2000; i++) insert.run(`product ${i}`, 100 + ((i * 7919) % 9000), Buffer.alloc(64, i % 251));
  })();
  db.close();
  step(`Created ${source}: 2,000 rows, an index (sha256 ${sha256(source).slice(0, 16)}…)`);

  step("Encode it as an LTX snapshot (v3 layout, LZ4 pages, database checksums)");
  await run("ltx", ltxBin, ["encode-db", source, "-o", `${dir}/shop.ltx`]);

  step("Dump the header and trailer");
  const dump = JSON.parse(await run("ltx", ltxBin, ["dump", "--json", `${dir}/shop.ltx`], { quiet: true })) as Record<string, unknown>;
  const header = dump.header as Record<string, unknown>;
  const trailer = dump.trailer as Record<string, unknown>;
  note(`page size ${String(header.pageSize)}, commit ${String(header.commit)} pages, TXID ${String(header.minTXID)}-${String(header.maxTXID)}`);
  note(`post-apply checksum ${String(trailer.postApplyChecksum)}, file checksum ${String(trailer.fileChecksum)}`);

  step("Verify every checksum the file carries");
  await run("ltx", ltxBin, ["verify", `${dir}/shop.ltx`]);

  step("Apply it to an empty file and compare");
  const restored = `${dir}/shop-restored.db`;
  await run("ltx", ltxBin, ["apply", restored, `${dir}/shop.ltx`]);
  check(sha256(restored) === sha256(source), "the applied database is byte-for-byte the original");
  const copy = new Database(restored, { readonly: true });
  const integrity = copy.pragma("integrity_check", { simple: true });
  const rows = copy.prepare("SELECT count(*) AS n FROM products").get() as { n: number };
  copy.close();
  check(integrity === "ok" && rows.n === 2000, `PRAGMA integrity_check = ${String(integrity)}, ${rows.n} rows`);
}
