// The LTX files the page index points into: each file's header and page index, fetched
// once (files are immutable) with ranged reads of its head and tail, or whole and
// verified when it is small.
import { decodeHeader, decodeLtx, HEADER_SIZE, isLtxError, readPageIndex, type LtxHeader, type LtxPage } from "@sqlrep/ltx";
import { isReplicaError, ltxKey, type LtxFileInfo, type LtxFileRef, type ReplicaClient } from "@sqlrep/replica";
import { VfsError } from "./errors.js";

/** One LTX file of a replica, ready for random access. */
export interface LtxFile {
  /** Small integer naming the file in the page index. */
  readonly id: number;
  readonly ref: LtxFileRef;
  readonly size: number;
  /** The file's timestamp from the listing (the LTX header time where the backend keeps it). */
  readonly createdAt: Date;
  /** Where the file is, for messages: `s3://bucket/prefix/0000/…ltx` or a path. */
  readonly label: string;
  readonly header: LtxHeader;
  /** The trailer's post-apply checksum (0n when the file carries none). */
  readonly postApplyChecksum: bigint;
  /** Page numbers in ascending order, and where each page frame is. */
  readonly pgnos: Uint32Array;
  readonly offsets: Float64Array;
  readonly sizes: Uint32Array;
  /** Whether the whole file was read and its file checksum verified. */
  readonly verified: boolean;
}

/** Files at most this large are read whole (one GET) and verified end to end. */
export const WHOLE_FILE_MAX = 256 * 1024;

/** Where a file is, for messages. */
export function fileLabel(client: ReplicaClient, ref: LtxFileRef): string {
  const key = ltxKey(client.layout, ref);
  const location = client.location;
  const scheme = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)/i.exec(location);
  if (scheme) return `${scheme[1]}/${key.replace(/^\/+/, "")}`;
  return `${location.replace(/\/+$/, "")}/${key}`;
}

/** Options of {@link LtxFileTable}. */
export interface LtxFileTableOptions {
  /** Called with the decoded pages of a file that was read whole (to warm a cache). */
  onPages?: ((file: LtxFile, pages: readonly LtxPage[]) => void) | undefined;
}

/**
 * Registers LTX files under small ids and loads their headers and page indexes. Loading
 * the same file twice returns the same entry; concurrent loads share one fetch.
 */
export class LtxFileTable {
  private readonly byId: LtxFile[] = [];
  private readonly byKey = new Map<string, Promise<LtxFile>>();

  constructor(
    readonly client: ReplicaClient,
    private readonly options: LtxFileTableOptions = {},
  ) {}

  /** The file with this id. */
  get(id: number): LtxFile {
    const file = this.byId[id];
    if (file === undefined) throw new VfsError("corrupt", `no LTX file has id ${id}`);
    return file;
  }

  /** Loads (once) the header and page index of a listed file. */
  load(info: LtxFileInfo, signal?: AbortSignal): Promise<LtxFile> {
    const key = ltxKey(this.client.layout, info);
    let pending = this.byKey.get(key);
    if (pending === undefined) {
      pending = this.fetch(info, signal);
      this.byKey.set(key, pending);
      // A failed load is not remembered: the next attempt fetches again.
      pending.catch(() => this.byKey.delete(key));
    }
    return pending;
  }

  /** Loads many files, `parallel` at a time; the result keeps the order of `infos`. */
  async loadAll(infos: readonly LtxFileInfo[], parallel: number, signal?: AbortSignal): Promise<LtxFile[]> {
    const out: LtxFile[] = new Array(infos.length);
    let next = 0;
    const worker = async () => {
      while (next < infos.length) {
        const i = next++;
        out[i] = await this.load(infos[i]!, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, infos.length) }, worker));
    return out;
  }

  /** Registers a file whose bytes are at hand (one this process just uploaded). */
  add(info: LtxFileInfo, bytes: Uint8Array): LtxFile {
    const label = fileLabel(this.client, info);
    const file = this.fromWhole(info, label, bytes).file;
    this.byKey.set(ltxKey(this.client.layout, info), Promise.resolve(file));
    return file;
  }

  /** Files registered so far. */
  get count(): number {
    return this.byId.length;
  }

  private async fetch(info: LtxFileInfo, signal: AbortSignal | undefined): Promise<LtxFile> {
    const label = fileLabel(this.client, info);
    try {
      if (info.size <= WHOLE_FILE_MAX) {
        const bytes = await this.client.readLtxRange(info, 0, info.size, { signal });
        const { file, pages } = this.fromWhole(info, label, bytes);
        this.options.onPages?.(file, pages);
        return file;
      }
      const readAt = (offset: number, length: number) => this.client.readLtxRange(info, offset, length, { signal });
      const [head, index] = await Promise.all([readAt(0, HEADER_SIZE), readPageIndex(readAt, info.size, { file: label, signal })]);
      const header = decodeHeader(head, { file: label });
      checkHeader(header, info, label);
      const n = index.entries.length;
      const pgnos = new Uint32Array(n);
      const offsets = new Float64Array(n);
      const sizes = new Uint32Array(n);
      index.entries.forEach((e, i) => {
        pgnos[i] = e.pgno;
        offsets[i] = e.offset;
        sizes[i] = e.size;
      });
      return this.register({
        ref: refOf(info),
        size: info.size,
        createdAt: info.createdAt,
        label,
        header,
        postApplyChecksum: index.trailer.postApplyChecksum,
        pgnos,
        offsets,
        sizes,
        verified: false,
      });
    } catch (err) {
      throw describeFault(err, label);
    }
  }

  private fromWhole(info: LtxFileInfo, label: string, bytes: Uint8Array): { file: LtxFile; pages: LtxPage[] } {
    try {
      if (bytes.length !== info.size) {
        throw new VfsError("corrupt", `${label}: read ${bytes.length} bytes of a ${info.size}-byte file`, { file: label });
      }
      const decoded = decodeLtx(bytes, { file: label });
      checkHeader(decoded.header, info, label);
      const entries = decoded.pageIndex;
      if (entries === undefined) {
        throw new VfsError("corrupt", `${label} is a v1 LTX file (LiteFS's layout): it has no page index, so its pages cannot be read at random`, { file: label });
      }
      const n = entries.length;
      const pgnos = new Uint32Array(n);
      const offsets = new Float64Array(n);
      const sizes = new Uint32Array(n);
      entries.forEach((e, i) => {
        pgnos[i] = e.pgno;
        offsets[i] = e.offset;
        sizes[i] = e.size;
      });
      const file = this.register({
        ref: refOf(info),
        size: info.size,
        createdAt: info.createdAt,
        label,
        header: decoded.header,
        postApplyChecksum: decoded.trailer.postApplyChecksum,
        pgnos,
        offsets,
        sizes,
        verified: true,
      });
      return { file, pages: decoded.pages };
    } catch (err) {
      throw describeFault(err, label);
    }
  }

  private register(fields: Omit<LtxFile, "id">): LtxFile {
    const file: LtxFile = { id: this.byId.length, ...fields };
    this.byId.push(file);
    return file;
  }
}

function refOf(info: LtxFileRef): LtxFileRef {
  return { level: info.level, minTXID: info.minTXID, maxTXID: info.maxTXID };
}

function checkHeader(header: LtxHeader, info: LtxFileRef, label: string): void {
  if (header.minTXID !== info.minTXID || header.maxTXID !== info.maxTXID) {
    throw new VfsError("corrupt", `${label}: its header covers TXIDs ${header.minTXID}…${header.maxTXID}, its name ${info.minTXID}…${info.maxTXID}`, { file: label });
  }
}

/** Turns a replica or LTX fault into a VfsError that names the file. */
export function describeFault(err: unknown, label: string): VfsError {
  if (err instanceof VfsError) return err;
  if (isReplicaError(err, "not-found")) {
    return new VfsError("missing-file", `${label} is missing from the replica`, { file: label, cause: err });
  }
  if (isReplicaError(err, "aborted")) return new VfsError("aborted", `reading ${label} was aborted`, { file: label, cause: err });
  if (isReplicaError(err)) {
    return new VfsError("replica", `cannot read ${label}: ${err.message}`, { file: label, cause: err, retryable: err.retryable });
  }
  if (isLtxError(err)) {
    const message = err.message.includes(label) ? err.message : `${label}: ${err.message}`;
    return new VfsError("corrupt", message, { file: label, cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new VfsError("replica", `cannot read ${label}: ${reason}`, { file: label, cause: err });
}
