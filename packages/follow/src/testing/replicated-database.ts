/**
 * Test helper: a real SQLite database (rollback journal) and the LTX files a backup engine
 * would upload for it — a level-9 snapshot, then a level-0 file per upload with the pages changed.
 */
import { readFileSync } from "node:fs";
import { databaseChecksum, encodeLtx, type LtxHeaderInit } from "@sqlrep/ltx";
import type { ReplicaClient } from "@sqlrep/replica";
import Database from "better-sqlite3";

/** The source database `t(id, v)` and its replica. */
export class ReplicatedDatabase {
  readonly db: Database.Database;
  /** The TXID of the last file written. */
  txid = 0;
  private before: Uint8Array = new Uint8Array(0);

  constructor(
    readonly path: string,
    readonly client: ReplicaClient,
    readonly pageSize = 4096,
  ) {
    this.db = new Database(path);
    this.db.pragma(`page_size = ${pageSize}`);
    this.db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  }

  /** One transaction inserting `values`. */
  insert(...values: string[]): void {
    const insert = this.db.prepare("INSERT INTO t (v) VALUES (?)");
    this.db.transaction(() => values.forEach((v) => insert.run(v)))();
  }

  /** The next TXID as a file of the pages changed since the last one (the first is a level-9 snapshot). */
  async upload(): Promise<number> {
    const image = readFileSync(this.path);
    const pages: { pgno: number; data: Uint8Array }[] = [];
    for (let pgno = 1; pgno <= image.length / this.pageSize; pgno++) {
      const data = this.page(image, pgno);
      if (!Buffer.from(data).equals(this.page(this.before, pgno))) pages.push({ pgno, data });
    }
    const txid = this.txid + 1;
    const header: LtxHeaderInit = { pageSize: this.pageSize, commit: image.length / this.pageSize, minTXID: txid, maxTXID: txid, timestamp: Date.now() };
    if (txid > 1) header.preApplyChecksum = databaseChecksum(this.before, this.pageSize);
    await this.write(txid === 1 ? 9 : 0, header, pages, image);
    return txid;
  }

  /** A level-9 snapshot 1…`txid` of the database now (what an engine writes after losing track of the WAL). */
  async snapshot(txid: number): Promise<void> {
    const image = readFileSync(this.path);
    const pages = Array.from({ length: image.length / this.pageSize }, (_, i) => ({ pgno: i + 1, data: this.page(image, i + 1) }));
    await this.write(9, { pageSize: this.pageSize, commit: pages.length, minTXID: 1, maxTXID: txid, timestamp: Date.now() }, pages, image);
  }

  /** The values of `t` in order. */
  values(): string[] {
    return this.db.prepare("SELECT v FROM t ORDER BY id").pluck().all() as string[];
  }

  close(): void {
    this.db.close();
  }

  private async write(level: number, header: LtxHeaderInit, pages: { pgno: number; data: Uint8Array }[], image: Uint8Array): Promise<void> {
    const bytes = encodeLtx(header, pages, { postApplyChecksum: databaseChecksum(image, this.pageSize) });
    await this.client.writeLtxFile({ level, minTXID: header.minTXID, maxTXID: header.maxTXID }, bytes);
    this.txid = header.maxTXID;
    this.before = image;
  }

  private page(bytes: Uint8Array, pgno: number): Uint8Array {
    return bytes.subarray((pgno - 1) * this.pageSize, pgno * this.pageSize);
  }
}
