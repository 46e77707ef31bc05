/**
 * A naive in-memory model of a database under a chain of transactions, and the
 * fast-check arbitraries that generate such chains: the reference the property
 * tests hold the encoder, decoder, compactor and apply against.
 */
import fc from "fast-check";
import { databaseChecksum, EMPTY_DATABASE_CHECKSUM } from "../checksum.js";
import { encodeLtx, type LtxHeaderInit } from "../encoder.js";
import type { LtxFormat } from "../format.js";
import type { LtxPage } from "../parse-context.js";
import { lcg } from "./pages.js";

/** One transaction: the database size after it and the pages it writes. */
export interface Tx {
  commit: number;
  pages: LtxPage[];
}

/** A database as an array of pages (index 0 = page 1). */
export type ModelDb = Uint8Array[];

/** The database after `tx`: pages written, then cut or zero-extended to `commit`. */
export function applyModel(db: ModelDb, tx: Tx, pageSize: number): ModelDb {
  const next = db.slice(0, tx.commit);
  while (next.length < tx.commit) next.push(new Uint8Array(pageSize));
  for (const p of tx.pages) if (p.pgno <= tx.commit) next[p.pgno - 1] = p.data;
  return next;
}

/** The database's bytes. */
export function modelBytes(db: ModelDb): Uint8Array {
  const out = new Uint8Array(db.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of db) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The database checksum of a model state. */
export function modelChecksum(db: ModelDb, pageSize: number): bigint {
  return db.length === 0 ? EMPTY_DATABASE_CHECKSUM : databaseChecksum(modelBytes(db), pageSize);
}

/** A chain: a snapshot (the first tx, TXID 1) then incremental transactions, one TXID each. */
export interface Chain {
  pageSize: number;
  txs: Tx[];
}

/**
 * Chains whose transactions look like SQLite's: a growing transaction writes every
 * new page (so compacted snapshots are complete); any page may be rewritten; the
 * database may shrink; commit 0 (deletion) only as the last transaction.
 */
export function chainArbitrary(maxTxs = 6, maxPages = 9): fc.Arbitrary<Chain> {
  return fc
    .record({
      pageSize: fc.constantFrom(512, 1024),
      seed: fc.integer({ min: 0, max: 0xffffff }),
      commits: fc.array(fc.integer({ min: 1, max: maxPages }), { minLength: 1, maxLength: maxTxs }),
      rewrites: fc.array(fc.array(fc.integer({ min: 1, max: maxPages }), { maxLength: 4 }), { minLength: maxTxs, maxLength: maxTxs }),
      deleteAtEnd: fc.boolean(),
    })
    .map(({ pageSize, seed, commits, rewrites, deleteAtEnd }) => {
      const txs: Tx[] = [];
      let size = 0;
      commits.forEach((commit, i) => {
        const pgnos = new Set<number>();
        const from = i === 0 ? 1 : size + 1; // the snapshot writes everything; growth writes the new pages
        for (let p = from; p <= commit; p++) pgnos.add(p);
        for (const p of rewrites[i]!) if (p <= commit) pgnos.add(p);
        const pages = [...pgnos].sort((a, b) => a - b).map((pgno) => ({ pgno, data: pageContent(pageSize, seed, pgno, i + 1) }));
        txs.push({ commit, pages });
        size = commit;
      });
      if (deleteAtEnd && txs.length > 1) txs[txs.length - 1] = { commit: 0, pages: [] };
      return { pageSize, txs };
    });
}

/** Distinct, incompressible-ish page content (a repeated byte page would make checksums collide, spec §5.4). */
function pageContent(pageSize: number, seed: number, pgno: number, txid: number): Uint8Array {
  const page = new Uint8Array(pageSize).fill(txid);
  page.set(lcg((seed * 31 + pgno * 1000 + txid) >>> 0, 48), 0);
  return page;
}

/** The model states after each transaction of a chain. */
export function modelStates(chain: Chain): ModelDb[] {
  const states: ModelDb[] = [];
  let db: ModelDb = [];
  for (const tx of chain.txs) {
    db = applyModel(db, tx, chain.pageSize);
    states.push(db);
  }
  return states;
}

/** The chain as LTX files (TXID i+1 for tx i), with model checksums, in `format`. */
export function encodeChain(chain: Chain, format: LtxFormat, checksums = true): Uint8Array[] {
  const states = modelStates(chain);
  return chain.txs.map((tx, i) => {
    const header: LtxHeaderInit = {
      pageSize: chain.pageSize,
      commit: tx.commit,
      minTXID: i + 1,
      maxTXID: i + 1,
      timestamp: 1_700_000_000_000 + i,
      preApplyChecksum: i === 0 || !checksums ? 0n : modelChecksum(states[i - 1]!, chain.pageSize),
    };
    const post = checksums ? modelChecksum(states[i]!, chain.pageSize) : undefined;
    return encodeLtx(header, tx.pages, { format, checksums, postApplyChecksum: i === 0 ? undefined : post });
  });
}
