// The application of the litestream suite: a `payments` table with two secondary
// indexes, written one row per transaction. Row k is a pure function of k (a PRNG
// seeded with k), so every run and both tools get byte-identical rows and the restored
// databases can be compared with each other. A row is ~350 bytes of mixed text, JSON,
// integers and a 32-byte random digest (incompressible, as hashes and ids are), and
// each commit dirties ~3–4 pages: the table's last leaf, a random leaf of the user
// index, one of six status leaves.
import { Rng } from "../../lib/measure.mjs";

/** After the last commit of a phase: both tools have uploaded it by then (Litestream: ≤ 1 s monitor + 1 s sync). */
export const SETTLE_MS = 3_000;
/** Quiet after each isolated commit: 2 s plus a seeded random 0–1 s, so commits fall at every phase of Litestream's 1 s tickers. */
export const QUIET_MS = [2_000, 1_000];

export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS payments (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, items TEXT NOT NULL, note TEXT, digest BLOB NOT NULL);
  CREATE INDEX IF NOT EXISTS payments_user ON payments (user_id, created_at);
  CREATE INDEX IF NOT EXISTS payments_status ON payments (status, created_at);
`;

export const INSERT = "INSERT INTO payments (id, user_id, amount_cents, currency, status, created_at, items, note, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

const WORDS = (
  "account active address after agent amount archive balance basic batch billing board branch bundle cache card " +
  "cart catalog channel charge check claim client code color comment company contact coupon credit customer daily " +
  "delivery deposit design device discount draft email engine entry event export express feature field filter " +
  "gift global group guest handle history image import invoice item journal label layer limit local market member " +
  "method mobile model network offer online order owner package partner payment pending phone plan platform policy " +
  "price primary product profile quality queue receipt record refund region report request reserve retail return " +
  "reward route sample schedule search season secure service session share shipped silver single source special " +
  "standard status stock store summary support system target ticket token total track trade transfer trial update " +
  "upgrade urgent vendor version wallet warehouse weekly window"
).split(" ");
const STATUSES = ["pending", "paid", "shipped", "delivered", "refunded", "cancelled"];
const CURRENCIES = ["EUR", "USD", "GBP", "JPY", "CHF"];

/** The bound parameters of row `k` (k ≥ 1), for `INSERT`. */
export function orderRow(k) {
  const r = new Rng(Math.imul(k, 0x9e3779b1) ^ 0x5eed);
  const word = () => WORDS[r.below(WORDS.length)];
  const items = [];
  for (let i = 1 + r.below(4); i > 0; i--) items.push({ sku: `${word()}-${r.below(10000)}`, qty: 1 + r.below(5), price: r.below(20000) });
  let note = null;
  if (r.below(3) > 0) {
    note = word();
    for (let i = 4 + r.below(24); i > 0; i--) note += ` ${word()}`;
  }
  return [
    k,
    1 + r.below(5000),
    r.below(500_000),
    CURRENCIES[r.below(CURRENCIES.length)],
    STATUSES[r.below(STATUSES.length)],
    1_700_000_000_000 + k * 5,
    JSON.stringify(items),
    note,
    r.fill(new Uint8Array(32)),
  ];
}
