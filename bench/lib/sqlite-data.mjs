// Realistic inputs built by real SQLite (better-sqlite3): a database and a WAL holding
// users, orders and events (text, integers, reals, JSON, blobs of every kind, several
// indexes) written in interleaved transactions, so any run of pages mixes table and
// index B-tree pages as a real application's file does. Not random bytes, not zeros.
// Generated once, deterministically, into bench/.cache (gitignored) and reused.
import { copyFileSync, existsSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { MiB, Rng } from "./measure.mjs";

/** Bump when the generator changes, so stale cached files are not reused. */
const VERSION = 1;

const WORDS = (
  "account active address admin after again agent alpha amount apple archive area back balance bank basic batch " +
  "before billing blue board book branch bright build bundle cache call card care carrier cart case cash catalog " +
  "center change channel charge check city claim clean client cloud code color column comment common company " +
  "complete config contact content context copy cost count country coupon course create credit current customer " +
  "daily data date debit default delivery deposit design detail device digital direct discount domain draft " +
  "east edge email empty engine entry error event expired export express failed family fast feature field file " +
  "filter final first flag folder force format forward free front full gift global gold green group guest " +
  "handle header health history home hour image import inbox index info input invoice item journal key label " +
  "large last layer level limit line link list local lock login long mail main manual market member message " +
  "method middle mobile model month name network new next night node north note number offer office online " +
  "open order origin owner package page paid partner party payment pending phone plan platform point policy " +
  "price primary print private product profile public quality queue quick range rate ready receipt record red " +
  "refund region remote report request reserve result retail return review reward river route sale sample " +
  "saved schedule search season second secure select server service session settings share shipped short " +
  "silver simple single size small source south special stable standard status stock store stream street " +
  "summary support system table target task team template test ticket time title token total track trade " +
  "transfer trial type unit update upgrade urgent user valid value vendor version video view visit wallet " +
  "warehouse weekly west white window winter work yellow zone"
).split(" ");
const STATUSES = ["pending", "paid", "shipped", "delivered", "refunded", "cancelled"];
const KINDS = ["login", "logout", "view", "search", "add_to_cart", "checkout", "payment", "error", "export"];
const CURRENCIES = ["EUR", "USD", "GBP", "JPY", "CHF"];

const SCHEMA = `
  CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL, score REAL, bio TEXT, avatar BLOB);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, items TEXT, digest BLOB);
  CREATE INDEX orders_user ON orders (user_id, created_at);
  CREATE INDEX orders_status ON orders (status, created_at);
  CREATE TABLE events (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, user_id INTEGER, data TEXT);
  CREATE INDEX events_ts ON events (ts);
`;

/** Writes rows the way an application does: a few users, their orders, a burst of events. */
class Workload {
  constructor(db, seed) {
    this.rng = new Rng(seed);
    this.users = 0;
    this.clock = 1_700_000_000_000;
    this.insertUser = db.prepare("INSERT INTO users (name, email, created_at, score, bio, avatar) VALUES (?, ?, ?, ?, ?, ?)");
    this.insertOrder = db.prepare(
      "INSERT INTO orders (user_id, amount_cents, currency, status, created_at, items, digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.insertEvent = db.prepare("INSERT INTO events (ts, kind, user_id, data) VALUES (?, ?, ?, ?)");
    this.updateOrder = db.prepare("UPDATE orders SET status = ? WHERE id = ?");
    this.orders = 0;
  }

  word() {
    return WORDS[this.rng.below(WORDS.length)];
  }

  words(n) {
    let s = this.word();
    for (let i = 1; i < n; i++) s += ` ${this.word()}`;
    return s;
  }

  /** One application transaction: ~1 user, ~4 orders, ~8 events, an order status change. */
  step() {
    const r = this.rng;
    this.clock += 1 + r.below(5000);
    if (this.users === 0 || r.below(4) === 0) {
      const first = this.word();
      const last = this.word();
      // Avatars: absent, a small incompressible image, or a larger one.
      const kind = r.below(10);
      const avatar = kind < 5 ? null : r.fill(new Uint8Array(kind < 9 ? 200 + r.below(800) : 2000 + r.below(3000)));
      this.insertUser.run(
        `${first[0].toUpperCase()}${first.slice(1)} ${last[0].toUpperCase()}${last.slice(1)}`,
        `${first}.${last}.${this.users}@${this.word()}.example.com`,
        this.clock,
        r.below(100000) / 100,
        r.below(3) === 0 ? null : this.words(5 + r.below(40)),
        avatar,
      );
      this.users++;
    }
    for (let i = r.below(8); i > 0; i--) {
      const items = [];
      for (let k = 1 + r.below(4); k > 0; k--) items.push({ sku: `${this.word()}-${r.below(10000)}`, qty: 1 + r.below(5), price: r.below(20000) });
      this.insertOrder.run(
        1 + r.below(this.users),
        r.below(500000),
        CURRENCIES[r.below(CURRENCIES.length)],
        STATUSES[r.below(2)],
        this.clock,
        JSON.stringify(items),
        r.fill(new Uint8Array(32)),
      );
      this.orders++;
    }
    for (let i = r.below(16); i > 0; i--) {
      const data = { path: `/${this.word()}/${this.word()}`, ms: r.below(2000), ok: r.below(10) > 0, ref: this.words(1 + r.below(6)) };
      this.insertEvent.run(this.clock + i, KINDS[r.below(KINDS.length)], 1 + r.below(this.users), JSON.stringify(data));
    }
    if (this.orders > 0) this.updateOrder.run(STATUSES[2 + r.below(4)], 1 + r.below(this.orders));
  }
}

function cached(cacheDir, name, build) {
  const path = join(cacheDir, name);
  if (existsSync(path)) return path;
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  build(tmp);
  renameSync(tmp, path);
  return path;
}

/**
 * A SQLite database of at least `bytes` (4096-byte pages), path in the cache. The first
 * call builds it (~10 s for 256 MiB).
 */
export function realisticDatabase(cacheDir, bytes, log = () => {}) {
  return cached(cacheDir, `realistic-v${VERSION}-${bytes / MiB}MiB.db`, (path) => {
    log(`building a ${bytes / MiB} MiB SQLite database with better-sqlite3 (cached in ${cacheDir})`);
    const db = new Database(path);
    try {
      db.pragma("page_size = 4096");
      db.pragma("journal_mode = OFF");
      db.pragma("synchronous = OFF");
      db.exec(SCHEMA);
      const work = new Workload(db, 0x5eed0001);
      const batch = db.transaction(() => {
        for (let i = 0; i < 2000; i++) work.step();
      });
      while (db.pragma("page_count", { simple: true }) * 4096 < bytes) batch();
    } finally {
      db.close();
    }
  });
}

/**
 * A WAL of at least `bytes` written by SQLite itself (4096-byte pages, no checkpoint,
 * one small application transaction per commit), copied out while the writer is open.
 */
export function realisticWal(cacheDir, bytes, log = () => {}) {
  return cached(cacheDir, `realistic-v${VERSION}-${bytes / MiB}MiB.wal`, (path) => {
    log(`building a ${bytes / MiB} MiB WAL with better-sqlite3 (cached in ${cacheDir})`);
    const dbPath = `${path}-source.db`;
    for (const suffix of ["", "-wal", "-shm"]) rmSync(dbPath + suffix, { force: true });
    const db = new Database(dbPath);
    try {
      db.pragma("page_size = 4096");
      db.pragma("journal_mode = WAL");
      db.pragma("wal_autocheckpoint = 0");
      db.pragma("synchronous = OFF");
      db.exec(SCHEMA);
      const work = new Workload(db, 0x5eed0002);
      const tx = db.transaction(() => {
        for (let i = 0; i < 8; i++) work.step();
      });
      for (let n = 0; ; n++) {
        tx();
        if (n % 16 === 0 && statSync(`${dbPath}-wal`).size >= bytes) break;
      }
      copyFileSync(`${dbPath}-wal`, path);
    } finally {
      db.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(dbPath + suffix, { force: true });
    }
  });
}
