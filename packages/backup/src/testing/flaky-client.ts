/** Test double around a real replica client: writes fail on demand before or after storing (a lost response), and every request is counted. */
import { ReplicaError, type LtxFileInfo, type LtxFileRef, type LtxFilesOptions, type ReplicaClient, type WriteLtxOptions } from "@sqlrep/replica";
import type { ObjectStore, ReplicaLayout, SignalOption } from "@sqlrep/replica";

/**
 * A real replica client (the directory client, or S3) with writes that fail on demand:
 * `before` fails without writing, `after` writes the file and then reports a failure
 * (the response that got lost), as flaky networks do. `requests` counts every request
 * made through it, by kind.
 */
export class FlakyClient implements ReplicaClient {
  mode: "ok" | "before" | "after" = "ok";
  failures = 0;
  writes = 0;
  readonly requests = { list: 0, get: 0, stat: 0, put: 0, delete: 0 };

  constructor(private readonly inner: ReplicaClient) {}

  get type(): string {
    return this.inner.type;
  }
  get location(): string {
    return this.inner.location;
  }
  get store(): ObjectStore {
    return this.inner.store;
  }
  get layout(): ReplicaLayout {
    return this.inner.layout;
  }

  ltxFiles(level: number, options?: LtxFilesOptions): AsyncIterable<LtxFileInfo> {
    this.requests.list++;
    return this.inner.ltxFiles(level, options);
  }
  openLtxFile(file: LtxFileRef, options?: { offset?: number; length?: number; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>> {
    this.requests.get++;
    return this.inner.openLtxFile(file, options);
  }
  readLtxRange(file: LtxFileRef, offset: number, length: number, options?: SignalOption): Promise<Uint8Array> {
    this.requests.get++;
    return this.inner.readLtxRange(file, offset, length, options);
  }
  statLtxFile(file: LtxFileRef, options?: SignalOption): Promise<LtxFileInfo> {
    this.requests.stat++;
    return this.inner.statLtxFile(file, options);
  }
  async writeLtxFile(file: LtxFileRef, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteLtxOptions): Promise<LtxFileInfo> {
    this.writes++;
    this.requests.put++;
    if (this.mode === "before") {
      this.failures++;
      if (!(body instanceof Uint8Array)) for await (const _ of body) break; // read a little, as a failing upload does
      throw new ReplicaError("io", `injected failure writing level ${file.level} ${file.minTXID}`, { retryable: true });
    }
    const info = await this.inner.writeLtxFile(file, body, options);
    if (this.mode === "after") {
      this.failures++;
      throw new ReplicaError("io", `injected failure after writing level ${file.level} ${file.minTXID}`, { retryable: true });
    }
    return info;
  }
  deleteLtxFiles(files: readonly LtxFileRef[], options?: SignalOption): Promise<void> {
    if (files.length > 0) this.requests.delete++;
    return this.inner.deleteLtxFiles(files, options);
  }
  deleteAll(options?: SignalOption): Promise<void> {
    this.requests.delete++;
    return this.inner.deleteAll(options);
  }
}
