/** A ReplicaClient wrapper counting every request and byte under Litestream's metric names, so the engine's metrics cover all replica traffic. */
import type { LtxFileInfo, LtxFileRef, LtxFilesOptions, ReplicaClient, WriteLtxOptions } from "@sqlrep/replica";
import type { ObjectStore, ReplicaLayout, SignalOption } from "@sqlrep/replica";
import type { BackupMetrics } from "./metrics.js";

type Operation = "GET" | "PUT" | "DELETE" | "LIST" | "HEAD";

/**
 * A `ReplicaClient` that counts what it is asked to do, under Litestream's metric names
 * (`litestream_replica_operation_total/bytes{replica_type,operation}`). The engine hands
 * this wrapper to compaction and retention too, so their requests are counted as well.
 */
export class MeteredReplicaClient implements ReplicaClient {
  readonly type: string;
  readonly location: string;
  readonly store: ObjectStore;
  readonly layout: ReplicaLayout;

  constructor(
    private readonly inner: ReplicaClient,
    private readonly metrics: BackupMetrics,
  ) {
    this.type = inner.type;
    this.location = inner.location;
    this.store = inner.store;
    this.layout = inner.layout;
  }

  async *ltxFiles(level: number, options?: LtxFilesOptions): AsyncIterable<LtxFileInfo> {
    this.count("LIST");
    if (options?.useMetadata === true) {
      for await (const file of this.inner.ltxFiles(level, options)) {
        this.count("HEAD");
        yield file;
      }
      return;
    }
    yield* this.inner.ltxFiles(level, options);
  }

  async openLtxFile(file: LtxFileRef, options?: { offset?: number; length?: number; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>> {
    this.count("GET");
    const body = await this.inner.openLtxFile(file, options);
    const count = (bytes: number) => this.count("GET", bytes, 0);
    return (async function* () {
      for await (const chunk of body) {
        count(chunk.length);
        yield chunk;
      }
    })();
  }

  async readLtxRange(file: LtxFileRef, offset: number, length: number, options?: SignalOption): Promise<Uint8Array> {
    const bytes = await this.inner.readLtxRange(file, offset, length, options);
    this.count("GET", bytes.length);
    return bytes;
  }

  async statLtxFile(file: LtxFileRef, options?: SignalOption): Promise<LtxFileInfo> {
    this.count("HEAD");
    return this.inner.statLtxFile(file, options);
  }

  async writeLtxFile(file: LtxFileRef, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteLtxOptions): Promise<LtxFileInfo> {
    const info = await this.inner.writeLtxFile(file, body, options);
    this.count("PUT", info.size);
    return info;
  }

  async deleteLtxFiles(files: readonly LtxFileRef[], options?: SignalOption): Promise<void> {
    if (files.length > 0) this.count("DELETE", 0, files.length);
    await this.inner.deleteLtxFiles(files, options);
  }

  async deleteAll(options?: SignalOption): Promise<void> {
    this.count("DELETE");
    await this.inner.deleteAll(options);
  }

  private count(operation: Operation, bytes = 0, calls = 1): void {
    const labels = { replica_type: this.type, operation };
    if (calls > 0) this.metrics.operationTotal.inc(labels, calls);
    if (bytes > 0) this.metrics.operationBytes.inc(labels, bytes);
  }
}
