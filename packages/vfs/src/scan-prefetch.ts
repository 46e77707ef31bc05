// Read-ahead for B-tree scans. A table scan reads a leaf, then its next sibling, … in the
// order the interior page above them lists them — and those leaves can be anywhere in the
// file. Once a connection has read two siblings in a row, this asks for the rest of them
// (grouped into a few ranged reads by the fetcher), and, half-way through, for the next
// interior page and its first children, so a scan keeps several requests in flight
// instead of paying one round trip per page. A point lookup never reads two siblings, so
// it never triggers any of this.

/** Where a child sits in the interior page that lists it. */
interface ChildOf {
  parent: number;
  index: number;
}

/** The child page numbers of a B-tree interior page, in key order; undefined for any other page. */
export function interiorChildren(page: Uint8Array, pgno: number): number[] | undefined {
  const at = pgno === 1 ? 100 : 0;
  const type = page[at];
  if (type !== 0x05 && type !== 0x02) return undefined; // table interior, index interior
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const cells = view.getUint16(at + 3);
  const children: number[] = [];
  for (let i = 0; i < cells; i++) {
    const cell = view.getUint16(at + 12 + 2 * i);
    if (cell + 4 > page.length) return undefined;
    children.push(view.getUint32(cell));
  }
  children.push(view.getUint32(at + 8)); // the right-most child
  return children.every((c) => c > 0) ? children : undefined;
}

/** What the prefetcher asks of the engine. */
export interface ScanReader {
  /** Starts fetching these pages of the current version (no-op for pages at hand). */
  prefetch(pgnos: readonly number[]): void;
  /** Reads one page of the current version (for the next interior page of a scan). */
  page(pgno: number): Promise<Uint8Array>;
}

/** Pages per prefetch: from a first window up to every remaining sibling. */
const FIRST_WINDOW = 16;
/** Interior pages a scan reads ahead of the one it is in. */
const LOOKAHEAD = 2;

/** Watches one connection's reads of one version. */
export class ScanPrefetcher {
  private readonly childOf = new Map<number, ChildOf>();
  private readonly children = new Map<number, number[]>();
  /** Per interior page: how far its children were asked for already. */
  private readonly asked = new Map<number, number>();
  private readonly uncles = new Set<number>();
  private last: ChildOf | undefined;

  /** Whether `pgno` is a child of an interior page this connection read (its read-ahead is ours). */
  knows(pgno: number): boolean {
    return this.childOf.has(pgno);
  }

  /** Notes a page read; starts read-ahead when it continues a scan. */
  observe(pgno: number, page: Uint8Array, reader: ScanReader): void {
    const kids = interiorChildren(page, pgno);
    if (kids !== undefined) this.learn(pgno, kids);
    const here = this.childOf.get(pgno);
    const prev = this.last;
    this.last = here;
    if (here === undefined || prev === undefined || prev.parent !== here.parent || here.index !== prev.index + 1) return;
    const siblings = this.children.get(here.parent)!;
    const from = Math.max(this.asked.get(here.parent) ?? 0, here.index + 1);
    if (from < siblings.length) {
      const upTo = here.index <= 2 ? Math.min(siblings.length, here.index + 1 + FIRST_WINDOW) : siblings.length;
      if (upTo > from) {
        reader.prefetch(siblings.slice(from, upTo));
        this.asked.set(here.parent, upTo);
      }
    }
    // A quarter of the way through: the next interior pages at the parent's level, and all
    // their children, so the scan never waits at the boundary between two of them.
    if (here.index >= siblings.length / 4) this.aheadOf(here.parent, reader);
  }

  private aheadOf(interior: number, reader: ScanReader): void {
    const up = this.childOf.get(interior);
    if (up === undefined) return;
    for (let step = 1; step <= LOOKAHEAD; step++) {
      const next = this.children.get(up.parent)?.[up.index + step];
      if (next === undefined || this.uncles.has(next)) continue;
      this.uncles.add(next);
      reader
        .page(next)
        .then((page) => {
          const kids = interiorChildren(page, next);
          if (kids === undefined) return;
          this.learn(next, kids);
          reader.prefetch(kids);
          this.asked.set(next, kids.length);
        })
        .catch(() => undefined); // the scan's own read will fail with the error if it matters
    }
  }

  private learn(pgno: number, kids: number[]): void {
    if (this.children.has(pgno)) return;
    this.children.set(pgno, kids);
    kids.forEach((child, index) => this.childOf.set(child, { parent: pgno, index }));
  }
}
