/**
 * `restore -f`: after the restore, polls the replica and applies each batch of new LTX files
 * to the copy in place, restoring afresh (in place, too) when the replica's chain breaks.
 */
import { open, rm } from "node:fs/promises";
import { applyLtx, DatabaseChecksum, decodeTrailer, formatChecksum, formatTxid, isLtxError, lockPgno, pageChecksum, TRAILER_SIZE, type LtxSource } from "@sqlrep/ltx";
import { isReplicaError, SNAPSHOT_LEVEL, type ReplicaClient } from "@sqlrep/replica";
import { describeReplica, type NamedReplica } from "./context.js";
import { FollowedFile, FollowError, isFollowError, physicalPage1, type StagedPages } from "./follow-file.js";
import { listSnapshots, planFollow, snapshotKey, type SeenSnapshots } from "./follow-plan.js";
import { writeFollowState } from "./follow-state.js";
import { forcedOutput } from "./restore-force.js";
import { integrityCheck, restoreFromReplicas, type IntegrityCheck } from "./restore-run.js";

/** What a follow needs: where, from which replicas, how often, and where to say what it did. */
export interface FollowOptions {
  output: string;
  replicas: readonly NamedReplica[];
  /** Poll interval in ms (`-follow-interval`, default 1 s). */
  interval: number;
  parallelism: number;
  integrityCheck: IntegrityCheck | undefined;
  /** One line per applied batch, restart and stop. */
  log(line: string): void;
  signal: AbortSignal;
}

/** Where a follow starts: the replica to follow, the copy's TXID and the replica's database header for it. */
export interface FollowStart {
  replica: string;
  txid: number;
  header: Uint8Array;
  /** Resuming a copy followed before (`<output>-txid`): checked against the replica before going on. */
  resumed: boolean;
}

/**
 * The restore's `verify` hook for a followed copy: keeps the replica's page 1 (in
 * `capture`), switches the file to the rollback-journal format before anyone can open
 * it, then runs SQLite's check.
 */
export function followVerify(capture: { page1?: Uint8Array }, check: IntegrityCheck | undefined): (temp: string) => Promise<void> {
  return async (temp) => {
    const fd = await open(temp, "r+");
    try {
      const head = new Uint8Array(100);
      await fd.read(head, 0, 100, 0);
      const pageSize = head[16]! * 256 + head[17]! || 65536;
      const page1 = new Uint8Array(pageSize);
      await fd.read(page1, 0, pageSize, 0);
      capture.page1 = page1;
      const pages = (await fd.stat()).size / pageSize;
      await fd.write(physicalPage1(page1, (Math.random() * 0xffffffff) >>> 0, pages), 0, pageSize, 0);
      await fd.sync();
    } finally {
      await fd.close();
    }
    if (check) await integrityCheck(temp, check);
  };
}

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

/** Follows until the signal fires; resolves with the last applied TXID. */
export async function follow(start: FollowStart, options: FollowOptions): Promise<number> {
  const { signal, log } = options;
  let replica = pick(options.replicas, start.replica);
  const file = await FollowedFile.open(options.output, start.header);
  try {
    let txid = start.txid;
    let checksum = await file.checksum();
    const seen: SeenSnapshots = new Set((await listSnapshots(replica.client, signal)).map(snapshotKey));
    log(`${start.resumed ? "resuming" : "following"} ${describeReplica(replica)} into ${options.output} from TXID ${formatTxid(txid)}, every ${options.interval} ms`);
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
          log(`restored afresh from ${describeReplica(replica)}: TXID ${formatTxid(txid)}`);
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
          const done = await file.commit(staged, signal, () => log(`waiting for readers of ${options.output} to end their transactions (new readers wait too)`));
          const first = batch[0]!;
          const levels = [...new Set(batch.map((f) => f.level))].join(",");
          log(
            `applied TXID ${formatTxid(first.minTXID)}-${formatTxid(pos.txid)}: ${batch.length} LTX files (level ${levels}), ${done.pages} pages, ` +
              `${Math.round(performance.now() - started)} ms (${Math.round(done.lockHeldMs)} ms holding the write lock, ${Math.round(done.lockWaitMs)} ms waiting for readers)`,
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
          log(`restarting from a fresh restore: ${err.message}`);
          restart = true;
          more = true; // no interval's wait before it
        } else if (isReplicaError(err) && err.code !== "aborted") {
          // A replica that cannot be read (network, a file deleted under a restore) is retried, the fresh restore too.
          log(`warning: ${restart ? "restoring afresh from" : "polling"} ${describeReplica(replica)} failed, retrying: ${err.message}`);
        } else {
          throw err;
        }
      }
      // A backlog is worked off batch after batch; caught up, the next poll waits an interval.
      if (!more) await sleep(options.interval, signal);
      more = false;
    }
    log(`follow stopped at TXID ${formatTxid(txid)}`);
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

function pick(replicas: readonly NamedReplica[], name: string): NamedReplica {
  const found = replicas.find((r) => r.name === name);
  if (!found) throw new FollowError("bad-file", `replica ${JSON.stringify(name)} is not configured`);
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
      throw new FollowError("lineage", `the replica's next files do not continue this copy: ${err.message}`, { cause: err });
    }
    if (isLtxError(err)) throw new FollowError("bad-file", `an LTX file failed its checks: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * A fresh restore beside the copy, then written into it as one batch (only the pages
 * that differ), so readers keep their open file and see the new state atomically.
 */
async function restoreInPlace(file: FollowedFile, options: FollowOptions): Promise<{ replica: string; txid: number; checksum: bigint }> {
  const temp = forcedOutput(options.output);
  const capture: { page1?: Uint8Array } = {};
  try {
    const restored = await restoreFromReplicas(
      options.replicas,
      { target: {} },
      {
        output: temp.path,
        parallelism: options.parallelism,
        integrityCheck: undefined,
        signal: options.signal,
        verify: followVerify(capture, options.integrityCheck),
        warn: (message) => options.log(`warning: ${message}`),
      },
    );
    if (!restored) throw new FollowError("gap", `no backups left in ${options.replicas.map(describeReplica).join(", ")}`);
    if (restored.summary.legacy) throw new FollowError("bad-file", "the newest backup is a Litestream v0.3 generation, which cannot be followed");
    const page1 = capture.page1!;
    const pageSize = page1.length;
    if (pageSize !== file.pageSize) throw new FollowError("bad-file", `the fresh restore's page size ${pageSize} differs from the copy's ${file.pageSize}`);
    const staged = await file.stage();
    const sum = new DatabaseChecksum();
    const lock = lockPgno(pageSize);
    const source = await open(temp.path, "r");
    try {
      const pages = (await source.stat()).size / pageSize;
      const current = (await file.size()) / pageSize;
      for (let pgno = 1; pgno <= pages; pgno++) {
        const data = pgno === 1 ? page1 : new Uint8Array(pageSize);
        if (pgno !== 1) await source.read(data, 0, pageSize, (pgno - 1) * pageSize);
        if (pgno !== lock) sum.add(pageChecksum(pgno, data));
        if (pgno > current || !sameBytes(data, await file.readLogicalPage(pgno, pageSize))) await staged.writePage(pgno, data);
      }
      await staged.truncate(pages * pageSize);
    } finally {
      await source.close();
    }
    await file.commit(staged, options.signal);
    return { replica: restored.source.name, txid: restored.summary.txid, checksum: sum.value };
  } finally {
    await temp.discard();
    await rm(`${temp.path}-journal`, { force: true });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}
