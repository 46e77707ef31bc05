/**
 * The follow loop: after a restore, polls the replica and applies each batch of new LTX
 * files to the copy in place, restoring afresh (in place, too) when the replica's chain breaks.
 */
import { applyLtx, decodeTrailer, formatChecksum, formatTxid, isLtxError, TRAILER_SIZE, type LtxSource } from "@sqlrep/ltx";
import { describeReplicaClient, isReplicaError, SNAPSHOT_LEVEL, type NamedReplicaClient, type ReplicaClient } from "@sqlrep/replica";
import { FollowError, isFollowError } from "./errors.js";
import { FollowedFile, type StagedPages } from "./followed-file.js";
import { restoreInPlace } from "./fresh-restore.js";
import { silentFollowLogger, type FollowOptions, type FollowStart } from "./options.js";
import { listSnapshots, planFollow, snapshotKey, type SeenSnapshots } from "./plan.js";
import { writeFollowState } from "./state.js";

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

/**
 * Follows until the signal fires; resolves with the last applied TXID. `start` is where
 * the copy stands: after a restore prepared by `followVerify` (or `restoreFollowable`), or
 * as read back from `<output>-txid` (`readFollowState`, `resumed: true`).
 */
export async function follow(start: FollowStart, options: FollowOptions): Promise<number> {
  const { signal } = options;
  const logger = options.logger ?? silentFollowLogger;
  let replica = pick(options.replicas, start.replica);
  const file = await FollowedFile.open(options.output, start.header);
  try {
    let txid = start.txid;
    let checksum = await file.checksum();
    const seen: SeenSnapshots = new Set((await listSnapshots(replica.client, signal)).map(snapshotKey));
    logger.info(`${start.resumed ? "resuming" : "following"} ${describeReplicaClient(replica)} into ${options.output} from TXID ${formatTxid(txid)}, every ${options.interval} ms`);
    await writeFollowState(options.output, { txid, header: file.header() });
    let check = start.resumed;
    let more = false;
    let restart = false;
    while (!signal.aborted) {
      try {
        if (restart) {
          const fresh = await restoreInPlace(file, options);
          restart = false;
          replica = pick(options.replicas, fresh.replica);
          txid = fresh.txid;
          checksum = fresh.checksum;
          seen.clear();
          for (const f of await listSnapshots(replica.client, signal)) seen.add(snapshotKey(f));
          await writeFollowState(options.output, { txid, header: file.header() });
          logger.info(`restored afresh from ${describeReplicaClient(replica)}: TXID ${formatTxid(txid)}`);
        }
        if (check) {
          check = false;
          await checkResume(replica.client, txid, checksum, signal);
        }
        const plan = await planFollow(replica.client, txid, seen, signal);
        const batch = firstBatch(plan.files);
        more = batch.length < plan.files.length;
        if (batch.length > 0) {
          const started = performance.now();
          const staged = await file.stage();
          const pos = await applyBatch(replica.client, staged, batch, { txid, postApplyChecksum: checksum }, signal);
          const done = await file.commit(staged, signal, () => logger.info(`waiting for readers of ${options.output} to end their transactions (new readers wait too)`));
          const first = batch[0]!;
          const levels = [...new Set(batch.map((f) => f.level))].join(",");
          logger.info(
            `applied TXID ${formatTxid(first.minTXID)}-${formatTxid(pos.txid)}: ${batch.length} LTX files (level ${levels}), ${done.pages} pages, ` +
              `${Math.round(performance.now() - started)} ms (${Math.round(done.lockHeldMs)} ms holding the write lock, ${Math.round(done.lockWaitMs)} ms waiting for readers)`,
            { txid: pos.txid, files: batch.length, pages: done.pages, lockHeldMs: done.lockHeldMs, lockWaitMs: done.lockWaitMs },
          );
          txid = pos.txid;
          checksum = pos.postApplyChecksum;
          await writeFollowState(options.output, { txid, header: file.header() });
        }
      } catch (err) {
        if (signal.aborted) break;
        if (isFollowError(err) && err.code !== "aborted") {
          // The fresh restore itself cannot be followed (no backup, a v0.3 generation, another page size): stop, saying why.
          if (restart) throw err;
          logger.info(`restarting from a fresh restore: ${err.message}`);
          restart = true;
          more = true; // no interval's wait before it
        } else if (isReplicaError(err) && err.code !== "aborted") {
          // A replica that cannot be read (network, a file deleted under a restore) is retried, the fresh restore too.
          logger.warn(`${restart ? "restoring afresh from" : "polling"} ${describeReplicaClient(replica)} failed, retrying: ${err.message}`);
        } else {
          throw err;
        }
      }
      // A backlog is worked off batch after batch; caught up, the next poll waits an interval.
      if (!more) await sleep(options.interval, signal);
      more = false;
    }
    logger.info(`follow stopped at TXID ${formatTxid(txid)}`);
    return txid;
  } finally {
    await file.close();
  }
}

/**
 * A resumed copy must be the replica's state at its TXID: the post-apply checksum of a
 * file ending there (any level) is compared with the copy's. No such file left: the next
 * file's pre-apply checksum is the check.
 */
async function checkResume(client: ReplicaClient, txid: number, checksum: bigint, signal: AbortSignal): Promise<void> {
  for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
    for await (const f of client.ltxFiles(level, { signal })) {
      if (f.maxTXID !== txid) continue;
      const trailer = decodeTrailer(await client.readLtxRange(f, f.size - TRAILER_SIZE, TRAILER_SIZE, { signal }));
      if (trailer.postApplyChecksum !== 0n && trailer.postApplyChecksum !== checksum) {
        throw new FollowError(
          "lineage",
          `the copy's checksum ${formatChecksum(checksum)} is not the replica's ${formatChecksum(trailer.postApplyChecksum)} at TXID ${formatTxid(txid)} (level ${level})`,
        );
      }
      return;
    }
  }
}

/** LTX bytes one batch holds in memory at most (a backlog after downtime goes in several batches). */
const MAX_BATCH_BYTES = 64 * 1024 * 1024;

/** The leading files of a plan up to {@link MAX_BATCH_BYTES} (always at least one). */
function firstBatch<T extends { size: number }>(files: readonly T[]): T[] {
  let bytes = 0;
  let n = 0;
  while (n < files.length && (n === 0 || bytes + files[n]!.size <= MAX_BATCH_BYTES)) bytes += files[n++]!.size;
  return files.slice(0, n);
}

function pick(replicas: readonly NamedReplicaClient[], name: string): NamedReplicaClient {
  const found = replicas.find((r) => r.name === name);
  if (!found) throw new FollowError("invalid-argument", `replica ${JSON.stringify(name)} is not among the replicas given`);
  return found;
}

/**
 * Downloads the batch's files and applies them to the staged copy (nothing is written
 * to the database yet), checking contiguity and the pre- and post-apply checksums.
 */
async function applyBatch(
  client: ReplicaClient,
  staged: StagedPages,
  files: readonly { level: number; minTXID: number; maxTXID: number }[],
  pos: { txid: number; postApplyChecksum: bigint },
  signal: AbortSignal,
) {
  const inputs: LtxSource[] = [];
  const names: string[] = [];
  for (const f of files) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of await client.openLtxFile(f, { signal })) chunks.push(chunk);
    inputs.push(Buffer.concat(chunks));
    names.push(`level ${f.level} ${formatTxid(f.minTXID)}-${formatTxid(f.maxTXID)}`);
  }
  try {
    return await applyLtx(staged, inputs, { pos, names, signal });
  } catch (err) {
    if (isLtxError(err) && (err.code === "pre-apply-checksum-mismatch" || err.code === "non-contiguous")) {
      throw new FollowError("lineage", `the replica's next files do not continue this copy: ${err.message}`, { cause: err, file: err.file, offset: err.offset });
    }
    if (isLtxError(err)) throw new FollowError("bad-file", `an LTX file failed its checks: ${err.message}`, { cause: err, file: err.file, offset: err.offset });
    throw err;
  }
}
