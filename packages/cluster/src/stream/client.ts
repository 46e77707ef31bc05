/**
 * A replica's end of `/stream`: posts its position map to the primary, then applies
 * what comes back — an LTX file only if it continues the position (and leads to the
 * checksum it says), a snapshot after keeping what it would replace that the primary
 * never had, drops, the backup's high-water mark, heartbeats — until the stream ends,
 * fails, or hands the lease over. Any error ends the stream; the node reconnects and
 * the primary decides again (a snapshot when the replica cannot continue).
 */
import { decodeHeader, formatTxid, HEADER_SIZE } from "@sqlrep/ltx";
import type { Logger } from "@sqlrep/shipper";
import { ClusterError, describeError } from "../errors.js";
import { keepDivergent, type Divergence, type PrimaryHistory } from "../divergence.js";
import { HEADER_CLUSTER_ID, HEADER_NODE_ID, openPeerRequest, type PeerIdentity } from "../http/peer.js";
import { restoreSnapshot } from "../store/snapshot.js";
import type { Store } from "../store/store.js";
import { encodePositionMap, FrameReader, type MapPosition } from "./codec.js";
import { WaitClock } from "./silence.js";
import { joinChunks } from "../util/chunks.js";
import { traceHandoff } from "../util/handoff-trace.js";

/** What a replica's stream tells the node about. */
export interface ReplicaEvents {
  /** The primary's cluster ID, checked (adopt it when this node has none; refuse another). */
  clusterId(id: string | undefined, primaryNodeId: string): void;
  /** The first catch-up is done. */
  ready(): void;
  /** A heartbeat or a transaction arrived: the primary's clock then. */
  contact(primaryTimestamp: number): void;
  hwm(name: string, txid: number): void;
  snapshot(name: string, txid: number, bytes: number, ms: number): void;
  diverged(divergence: Divergence): void;
}

/** Options of {@link runReplicaStream}. */
export interface ReplicaStreamOptions {
  readonly store: Store;
  readonly primaryURL: string;
  readonly identity: PeerIdentity;
  readonly logger: Logger;
  readonly events: ReplicaEvents;
  /** `lease.databases`: replicate only these (all when empty). */
  readonly databases?: readonly string[] | undefined;
  /** The primary's history of a database, for divergence. */
  readonly primaryHistory: PrimaryHistory;
  /**
   * Waiting this long for the primary's next bytes ends the stream (default 5000 ms; the
   * primary sends a heartbeat every second between frames).
   */
  readonly silenceMs?: number;
  readonly signal: AbortSignal;
}

/** How a stream ended. */
export type StreamEnd = { kind: "end" } | { kind: "handoff"; leaseId: string };

/** The position map this node posts: every database it has (a refused one at TXID 0, so it gets a snapshot). */
export function localPositions(store: Store, only?: readonly string[]): Map<string, MapPosition> {
  const map = new Map<string, MapPosition>();
  for (const name of store.databases()) {
    if (only !== undefined && only.length > 0 && !only.includes(name)) continue;
    const db = store.get(name)!;
    map.set(name, db.failed !== undefined ? { txid: 0, checksum: 0n } : { txid: db.position.txid, checksum: db.position.checksum });
  }
  return map;
}

/** Streams from the primary until the stream ends (resolves) or fails (rejects). */
export async function runReplicaStream(options: ReplicaStreamOptions): Promise<StreamEnd> {
  const { store, logger, events } = options;
  const local = new AbortController();
  const signal = AbortSignal.any([options.signal, local.signal]);
  const filter = options.databases !== undefined && options.databases.length > 0 ? `?filter=${encodeURIComponent(options.databases.join(","))}` : "";
  const res = await openPeerRequest(options.primaryURL, options.identity, {
    method: "POST",
    path: `/stream${filter}`,
    body: encodePositionMap(localPositions(store, options.databases)),
    signal,
    timeoutMs: 10_000,
  });
  if (res.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8").slice(0, 500);
    throw new ClusterError(
      res.statusCode === 401 ? "unauthorized" : res.statusCode === 409 ? "cluster-id-mismatch" : "unavailable",
      `stream from ${options.primaryURL}: HTTP ${res.statusCode}: ${text}`,
      {
        status: res.statusCode,
        retryable: res.statusCode !== 401 && res.statusCode !== 409,
      },
    );
  }
  const primaryNodeId = header(res.headers[HEADER_NODE_ID]);
  if (primaryNodeId === options.identity.nodeId)
    throw new ClusterError("self-connection", `${options.primaryURL} is this node (node ID ${primaryNodeId}): the lease names this node's own URL`);
  events.clusterId(header(res.headers[HEADER_CLUSTER_ID]), primaryNodeId ?? "?");

  // Silence (a primary frozen or cut off without a reset) ends the stream: this node
  // waiting that long for the next bytes. A frame that takes longer (a snapshot of a
  // large database) while bytes keep coming is not silence, nor this node's own work.
  const silenceMs = options.silenceMs ?? 5000;
  const clock = new WaitClock(res);
  const watchdog = setInterval(
    () => {
      if (clock.waitingMs() > silenceMs) local.abort(new ClusterError("unavailable", `nothing from ${options.primaryURL} for ${silenceMs} ms`, { retryable: true }));
    },
    Math.min(1000, silenceMs / 2),
  );
  const reader = new FrameReader(clock);
  // When the last LTX frame began to arrive and when it was applied (the handoff trace).
  let ltxStarted = 0;
  let ltxDone = 0;
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const frame = await reader.next();
      if (frame === undefined) return { kind: "end" };
      switch (frame.type) {
        case "ltx":
          ltxStarted = performance.now();
          store.dataDir.noteEpoch(frame.epoch, `primary ${options.primaryURL}`);
          await receiveLtx(options, frame.name, frame.epoch, reader, signal);
          ltxDone = performance.now();
          break;
        case "ready":
          events.ready();
          break;
        case "heartbeat":
          events.contact(frame.timestamp);
          break;
        case "hwm":
          events.hwm(frame.name, frame.txid);
          break;
        case "drop":
          if (store.get(frame.name) !== undefined) {
            logger.info("database dropped on the primary", { db: frame.name });
            await store.drop(frame.name);
          }
          break;
        case "handoff":
          traceHandoff(logger, "frame received", { lastLtxAgoMs: round(performance.now() - ltxStarted), lastApplyMs: round(ltxDone - ltxStarted) });
          return { kind: "handoff", leaseId: frame.leaseId };
        case "end":
          return { kind: "end" };
      }
    }
  } catch (err) {
    res.destroy();
    throw signal.aborted && signal.reason instanceof ClusterError ? signal.reason : err;
  } finally {
    clearInterval(watchdog);
    res.destroy();
  }
}

/** One LTX frame: a snapshot (restored) or the next transaction (applied), or one this node already has (skipped). */
async function receiveLtx(options: ReplicaStreamOptions, name: string, epoch: number, reader: FrameReader, signal: AbortSignal): Promise<void> {
  const { store, logger, events } = options;
  const body = reader.ltxBody();
  // The header says what the file is; what was read to see it is given back to the decoder.
  const head: Uint8Array[] = [];
  let size = 0;
  while (size < HEADER_SIZE) {
    const next = await body.next();
    if (next.done) throw new ClusterError("protocol", `${name}: LTX frame of ${size} bytes from ${options.primaryURL}`, { db: name });
    head.push(next.value);
    size += next.value.length;
  }
  const first = joinChunks(head);
  const h = decodeHeader(first.subarray(0, HEADER_SIZE), { file: `LTX of ${name} from the stream` });
  const db = store.get(name) ?? (await store.create(name));
  const all = (async function* () {
    yield first;
    yield* body;
  })();
  if (h.minTXID === 1) {
    const started = performance.now();
    const incoming = { txid: h.maxTXID, checksum: 0n, timestamp: h.timestamp, epoch };
    // Only the primary's transactions stay: ours after the last common position are kept aside first.
    const divergence = await keepDivergent(db, store.dataDir.dir, options.primaryHistory, incoming, logger).catch((err: unknown) => {
      throw new ClusterError("io", `${name}: could not keep the divergent transactions before the snapshot; the snapshot is not applied: ${describeError(err)}`, {
        cause: err,
        db: name,
      });
    });
    if (divergence !== undefined) {
      logger.warn("this node had transactions the primary never received; kept before taking the snapshot", {
        db: name,
        dir: divergence.dir,
        from: formatTxid(divergence.from),
        to: formatTxid(divergence.to),
        files: divergence.files.length,
        missing: divergence.missing.length,
      });
      events.diverged(divergence);
    }
    let bytes = 0;
    const counted = (async function* () {
      for await (const chunk of all) {
        bytes += chunk.length;
        yield chunk;
      }
    })();
    const pos = await restoreSnapshot(db, counted, { epoch, signal });
    logger.info("snapshot applied", { db: name, txid: formatTxid(pos.txid), bytes, ms: Math.round(performance.now() - started) });
    events.snapshot(name, pos.txid, bytes, performance.now() - started);
    events.contact(h.timestamp);
    return;
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of all) chunks.push(chunk);
  const bytes = joinChunks(chunks);
  const pos = db.position;
  if (h.maxTXID <= pos.txid) {
    // A transaction this node already has: its own forwarded write coming back (halt).
    const { decodeLtx } = await import("@sqlrep/ltx");
    const trailer = decodeLtx(bytes, { file: `LTX ${formatTxid(h.maxTXID)} of ${name}` }).trailer;
    if (db.checksumAt(h.maxTXID) === trailer.postApplyChecksum) return;
  }
  await db.applyLtx(bytes, { epoch, file: `LTX ${formatTxid(h.minTXID)} of ${name} from ${options.primaryURL}` });
  events.contact(h.timestamp);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
