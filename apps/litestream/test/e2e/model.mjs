// The deterministic history the e2e writer commits, and the database state after any
// prefix of it. Transaction i (1, 2, …) inserts row i; every 7th also rewrites row i-5
// (new size, new content), every 13th deletes row i-20. Row sizes vary from ~80 bytes to
// ~12 KiB (one row in 25 spills into overflow pages) and `h` is indexed in random order,
// so table and index pages split all over the file. After transaction k the table holds
// exactly `modelRow(id, k)` for every id ≤ k that is not undefined: the largest id present
// is k, so a restored database names its own k.

/** A 32-bit mix (splitmix-style) of two integers. */
function mix(a, b) {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

/** The text of row `id` as written by transaction `version` (0: its insert). */
export function payload(id, version) {
  const seed = mix(id, version);
  const size = seed % 25 === 0 ? 3000 + (seed % 9000) : 80 + (seed % 1400);
  let x = seed | 1;
  const chars = new Array(size);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    chars[i] = ALPHABET[x & 63];
  }
  return `${id}:${version}:${chars.join("")}`;
}

/** The indexed column: a hash of the row's version, so index inserts land anywhere. */
export function rowHash(id, version) {
  return mix(version, id) % 1_000_000_007;
}

/** The transaction that rewrites row `id` (it runs only if it is ≤ k). */
function updatedBy(id) {
  return (id + 5) % 7 === 0 ? id + 5 : undefined;
}

/** The transaction that deletes row `id`. */
function deletedBy(id) {
  return (id + 20) % 13 === 0 ? id + 20 : undefined;
}

/** Row `id` after transactions 1..k: `{ id, v, h }`, or undefined when absent. */
export function modelRow(id, k) {
  if (id < 1 || id > k) return undefined;
  const del = deletedBy(id);
  if (del !== undefined && del <= k) return undefined;
  const upd = updatedBy(id);
  const version = upd !== undefined && upd <= k ? upd : 0;
  return { id, v: payload(id, version), h: rowHash(id, version) };
}

/** Every row after transactions 1..k, by id. */
export function modelRows(k) {
  const rows = [];
  for (let id = 1; id <= k; id++) {
    const row = modelRow(id, k);
    if (row !== undefined) rows.push(row);
  }
  return rows;
}

/** The schema the writer creates (in WAL mode). */
export const SCHEMA = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, h INTEGER NOT NULL); CREATE INDEX IF NOT EXISTS t_h ON t(h);";

/** The statements of transaction i, for a better-sqlite3 connection. */
export function prepareTransactions(db) {
  const insert = db.prepare("INSERT INTO t (id, v, h) VALUES (?, ?, ?)");
  const update = db.prepare("UPDATE t SET v = ?, h = ? WHERE id = ?");
  const remove = db.prepare("DELETE FROM t WHERE id = ?");
  return db.transaction((i) => {
    insert.run(i, payload(i, 0), rowHash(i, 0));
    if (i % 7 === 0 && i > 5) {
      const changed = update.run(payload(i - 5, i), rowHash(i - 5, i), i - 5).changes;
      if (changed !== 1) throw new Error(`transaction ${i}: row ${i - 5} to update is missing`);
    }
    if (i % 13 === 0 && i > 20) {
      const changed = remove.run(i - 20).changes;
      if (changed !== 1) throw new Error(`transaction ${i}: row ${i - 20} to delete is missing`);
    }
  });
}
