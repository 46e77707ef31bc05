// The page index of every version the engine still serves: page number → where the
// page is, per version. A base layer (typed arrays) holds what every live version
// agrees on; pages changed since then keep a short history keyed by sequence number, so
// a read transaction keeps seeing its snapshot while newer versions are added.

/** The page is in no file of the plan (a hole: reading it is an error). */
export const MISSING = -1;
/** The page was cut off by a shrinking database: it reads as zeros until rewritten. */
export const ZERO = -2;
/** The page's bytes are held in memory (a local commit not yet in an LTX file). */
export const DATA = -3;

/** Where a page is: an entry of an LTX file, bytes in memory, zeros or nowhere. */
export interface Slot {
  /** An LTX file id, or MISSING, ZERO, DATA. */
  readonly file: number;
  /** The page's entry in that file's page index. */
  readonly entry: number;
  readonly data: Uint8Array | undefined;
}

interface Change extends Slot {
  readonly seq: number;
}

const MISSING_SLOT: Slot = Object.freeze({ file: MISSING, entry: 0, data: undefined });
const ZERO_SLOT: Slot = Object.freeze({ file: ZERO, entry: 0, data: undefined });

/** A slot pointing at entry `entry` of LTX file `file`. */
export function fileSlot(file: number, entry: number): Slot {
  return { file, entry, data: undefined };
}

/** A slot holding bytes. */
export function dataSlot(data: Uint8Array): Slot {
  return { file: DATA, entry: 0, data };
}

/** The slot of a page cut off by a shrink. */
export const zeroSlot: Slot = ZERO_SLOT;

/**
 * Page locations of many versions. Versions are sequence numbers: `begin()` opens the
 * next one, `set` records its changes, `lookup(pgno, seq)` answers for any sequence at
 * or above the fold floor. `fold(floor)` merges history no live version needs.
 */
export class VersionIndex {
  private baseFile = new Int32Array(0);
  private baseEntry = new Uint32Array(0);
  /** Base slots that hold bytes (the base arrays cannot). */
  private readonly baseData = new Map<number, Uint8Array>();
  private readonly history = new Map<number, Change[]>();
  private changes = 0;
  private floor = 0;
  /** The newest sequence number handed out. */
  seq = 0;

  /** Opens the next version. */
  begin(): number {
    return ++this.seq;
  }

  /** Sets a page of the base layer (sequence 0: while the index is being built). */
  setBase(pgno: number, slot: Slot): void {
    this.ensure(pgno);
    this.writeBase(pgno, slot);
  }

  /** Records that version `seq` (the newest) has the page at `slot`. */
  set(pgno: number, seq: number, slot: Slot): void {
    if (seq !== this.seq) throw new Error(`version index: set for sequence ${seq} while ${this.seq} is the newest`);
    const list = this.history.get(pgno);
    const change: Change = { seq, file: slot.file, entry: slot.entry, data: slot.data };
    if (list === undefined) this.history.set(pgno, [change]);
    else if (list[list.length - 1]!.seq === seq) list[list.length - 1] = change;
    else list.push(change);
    this.changes++;
  }

  /** Where page `pgno` is in version `seq`. */
  lookup(pgno: number, seq: number): Slot {
    const list = this.history.get(pgno);
    if (list !== undefined) {
      for (let i = list.length - 1; i >= 0; i--) {
        const c = list[i]!;
        if (c.seq <= seq) return c;
      }
    }
    if (pgno >= this.baseFile.length) return MISSING_SLOT;
    const file = this.baseFile[pgno]!;
    if (file === MISSING) return MISSING_SLOT;
    if (file === ZERO) return ZERO_SLOT;
    if (file === DATA) return dataSlot(this.baseData.get(pgno)!);
    return fileSlot(file, this.baseEntry[pgno]!);
  }

  /** Page numbers with a change after sequence `seq` (up to the newest). */
  changedSince(seq: number): number[] {
    const out: number[] = [];
    for (const [pgno, list] of this.history) if (list[list.length - 1]!.seq > seq) out.push(pgno);
    return out;
  }

  /** Changes held in the history (for deciding when to fold). */
  get historySize(): number {
    return this.changes;
  }

  /**
   * Forgets what no version at or above `floor` can see: for each page, every change
   * older than the newest one at or below `floor`, which moves into the base layer.
   */
  fold(floor: number): void {
    if (floor <= this.floor) return;
    this.floor = floor;
    for (const [pgno, list] of this.history) {
      let keep = -1;
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i]!.seq <= floor) {
          keep = i;
          break;
        }
      }
      if (keep < 0) continue;
      const settled = list[keep]!;
      this.ensure(pgno);
      this.writeBase(pgno, settled);
      const rest = list.slice(keep + 1);
      this.changes -= keep + 1;
      if (rest.length === 0) this.history.delete(pgno);
      else this.history.set(pgno, rest);
    }
  }

  private writeBase(pgno: number, slot: Slot): void {
    this.baseFile[pgno] = slot.file;
    this.baseEntry[pgno] = slot.entry;
    if (slot.file === DATA) this.baseData.set(pgno, slot.data!);
    else this.baseData.delete(pgno);
  }

  private ensure(pgno: number): void {
    if (pgno < this.baseFile.length) return;
    const size = Math.max(pgno + 1, Math.ceil(this.baseFile.length * 1.5), 64);
    const file = new Int32Array(size).fill(MISSING);
    file.set(this.baseFile);
    const entry = new Uint32Array(size);
    entry.set(this.baseEntry);
    this.baseFile = file;
    this.baseEntry = entry;
  }
}
