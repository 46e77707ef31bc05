// Test helpers: deterministic pages, whole database images and their checksums.
import { readFileSync } from "node:fs";
import { databaseChecksum } from "@sqlrep/ltx";

/** A page whose bytes depend on its number and a version (different versions, different checksums). */
export function page(pgno: number, version: number, pageSize = 4096): Uint8Array {
  const data = new Uint8Array(pageSize);
  let x = (pgno * 2654435761) ^ (version * 40503) ^ 0x9e3779b9;
  for (let i = 0; i < pageSize; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
    data[i + 1] = (x >>> 8) & 0xff;
    data[i + 2] = (x >>> 16) & 0xff;
    data[i + 3] = (x >>> 24) & 0xff;
  }
  return data;
}

/** Pages `pgnos` at `version`. */
export function pages(pgnos: readonly number[], version: number, pageSize = 4096): { pgno: number; data: Uint8Array }[] {
  return pgnos.map((pgno) => ({ pgno, data: page(pgno, version, pageSize) }));
}

/** Pages 1…n at `version`. */
export function allPages(n: number, version: number, pageSize = 4096): { pgno: number; data: Uint8Array }[] {
  return pages(
    Array.from({ length: n }, (_, i) => i + 1),
    version,
    pageSize,
  );
}

/** The database checksum of a file on disk (its first `commit` pages). */
export function fileChecksum(path: string, pageSize = 4096, commit?: number): bigint {
  const bytes = new Uint8Array(readFileSync(path));
  return databaseChecksum(bytes, pageSize, commit ?? Math.floor(bytes.length / pageSize));
}

/** A model of a database: the newest bytes of each page, to compare a store's file against. */
export class PageModel {
  readonly pages = new Map<number, Uint8Array>();
  commit = 0;

  constructor(readonly pageSize = 4096) {}

  /** Applies a transaction to the model. */
  apply(list: readonly { pgno: number; data: Uint8Array }[], commit: number): void {
    for (const p of list) this.pages.set(p.pgno, p.data);
    for (const pgno of [...this.pages.keys()]) if (pgno > commit) this.pages.delete(pgno);
    this.commit = commit;
  }

  /** The database image. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.commit * this.pageSize);
    for (const [pgno, data] of this.pages) out.set(data, (pgno - 1) * this.pageSize);
    return out;
  }

  /** Its checksum. */
  checksum(): bigint {
    return databaseChecksum(this.bytes(), this.pageSize, this.commit);
  }
}
