// Replicas as the suite sees them, the same way for both tools: when each object
// appeared, what it is (snapshot, incremental, compacted), which WAL range an
// incremental object covers, and from that the commit-to-restorable lag.
import { watch } from "node:fs";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { decodeHeader, HEADER_SIZE, lz4DecodeFrame } from "@sqlrep/ltx";
import { FileObjectStore, isObjectInfo, readObject } from "@sqlrep/replica";
import { createS3Client, resolveS3Settings, S3ObjectStore } from "@sqlrep/replica-s3";
import { nowMs } from "./clock.mjs";

/**
 * Watches a directory replica with inotify (`fs.watch` on every directory, new ones
 * added as they appear) and keeps, per relative path, the time its name first showed
 * up. Both tools write a temp file and rename it into place, so the event of the final
 * name is the moment the object became whole and readable.
 */
export class DirectoryWatch {
  constructor(root) {
    this.root = root;
    this.firstSeen = new Map();
    this.watchers = new Map();
  }

  start() {
    this.add(this.root);
    return this;
  }

  add(dir) {
    if (this.watchers.has(dir)) return;
    let w;
    try {
      w = watch(dir, (_event, name) => {
        if (name) this.seen(join(dir, name.toString()), nowMs());
      });
    } catch {
      return; // gone already
    }
    w.on("error", () => {});
    this.watchers.set(dir, w);
    // What was created before the watch began is dated now (late by at most this delay).
    const t = nowMs();
    for (const name of readdirSync(dir)) this.seen(join(dir, name), t);
  }

  seen(path, t) {
    let st;
    try {
      st = statSync(path);
    } catch {
      return; // deleted, or a temp name renamed away already
    }
    if (st.isDirectory()) this.add(path);
    else {
      const rel = relative(this.root, path);
      if (!this.firstSeen.has(rel)) this.firstSeen.set(rel, t);
    }
  }

  /** Relative path → first-seen time, for files that appeared in [from, to]. */
  appearedBetween(from, to) {
    return [...this.firstSeen].filter(([, t]) => t >= from && t <= to);
  }

  stop() {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

/** The requests of the S3 server's log that created an object: a PUT without a part number, or a completed multipart upload. */
export function s3ObjectWrites(requests, bucket) {
  const prefix = `/${bucket}/`;
  return requests
    .filter(
      (r) => r.status < 300 && r.path.startsWith(prefix) && ((r.method === "PUT" && !/[?&]partNumber=/.test(r.query)) || (r.method === "POST" && /[?&]uploadId=/.test(r.query))),
    )
    .map((r) => ({ key: r.path.slice(prefix.length), t: r.t }));
}

/** Requests that write (PUT, POST) and all requests, per kind, in a log. */
export function s3RequestCounts(requests) {
  const counts = { write: 0, read: 0, list: 0, other: 0, total: requests.length };
  for (const r of requests) {
    if (r.method === "PUT" || r.method === "POST") counts.write++;
    else if (r.method === "GET" && /[?&](prefix|list-type|delimiter)=/.test(r.query)) counts.list++;
    else if (r.method === "GET" || r.method === "HEAD") counts.read++;
    else counts.other++;
  }
  return counts;
}

/** An ObjectStore over a replica: the directory, or the S3 bucket (keys under `prefix/`). */
export function openStore(replica) {
  if (replica.kind === "dir") return { store: new FileObjectStore(replica.path), prefix: "", close() {} };
  const s3 = replica.s3;
  const settings = resolveS3Settings({
    type: "s3",
    bucket: s3.bucket,
    path: replica.prefix,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  const store = new S3ObjectStore({ client: createS3Client(settings), bucket: s3.bucket, ownsClient: true });
  return { store, prefix: `${replica.prefix}/`, close: () => store.destroy() };
}

const LITESTREAM_SNAPSHOT = /(?:^|\/)generations\/([0-9a-f]{16})\/snapshots\/([0-9a-f]{8})\.snapshot\.lz4$/;
const LITESTREAM_SEGMENT = /(?:^|\/)generations\/([0-9a-f]{16})\/wal\/([0-9a-f]{8})_([0-9a-f]{8,16})\.wal\.lz4$/;
const LTX_FILE = /(?:^|\/)(?:ltx\/(\d)|([0-9a-f]{4}))\/([0-9a-f]{16})-([0-9a-f]{16})\.ltx$/;

/**
 * What a replica key is: { kind: "snapshot" | "incremental" | "compacted" | "other" },
 * with the WAL index and offset of a Litestream segment, the level of an LTX file.
 */
export function classify(key) {
  let m;
  if ((m = LITESTREAM_SNAPSHOT.exec(key))) return { kind: "snapshot" };
  if ((m = LITESTREAM_SEGMENT.exec(key))) return { kind: "incremental", index: `${m[1]}/${m[2]}`, offset: parseInt(m[3], 16) };
  if ((m = LTX_FILE.exec(key))) {
    const level = m[1] !== undefined ? Number(m[1]) : parseInt(m[2], 16);
    return { kind: level === 9 ? "snapshot" : level === 0 ? "incremental" : "compacted", level };
  }
  return { kind: "other" };
}

/**
 * Every object of a replica with its size and kind: "snapshot" (a whole database),
 * "incremental" (a Litestream WAL segment, one of our level-0 LTX files) or "compacted"
 * (our levels 1–8). `withRanges` also reads the incremental objects to learn which WAL
 * range each covers, as { salt1, salt2, end }: our LTX header carries the salts, offset
 * and size; a Litestream segment covers [offset, offset + decompressed length) of its
 * WAL index, whose salts are in the WAL header that begins the index's offset-0 segment.
 */
export async function listReplica(replica, { withRanges = false } = {}) {
  const { store, prefix, close } = openStore(replica);
  try {
    const objects = [];
    for await (const e of store.list(prefix)) {
      if (!isObjectInfo(e)) continue;
      const key = e.key.slice(prefix.length);
      objects.push({ key, size: e.size, ...classify(key) });
    }
    if (withRanges) await addRanges(store, prefix, objects);
    return objects;
  } finally {
    close();
  }
}

async function addRanges(store, prefix, objects) {
  const incremental = objects.filter((o) => o.kind === "incremental");
  const salts = new Map();
  await pool(incremental, 8, async (o) => {
    if (o.level === 0) {
      const h = decodeHeader(await readObject(store, prefix + o.key, { length: HEADER_SIZE }));
      Object.assign(o, { salt1: h.walSalt1, salt2: h.walSalt2, start: h.walOffset, end: h.walOffset + h.walSize });
    } else {
      const wal = lz4DecodeFrame(await readObject(store, prefix + o.key)).data;
      Object.assign(o, { start: o.offset, end: o.offset + wal.length });
      if (o.offset === 0) {
        const view = new DataView(wal.buffer, wal.byteOffset, wal.byteLength);
        salts.set(o.index, { salt1: view.getUint32(16), salt2: view.getUint32(20) });
      }
    }
  });
  for (const o of incremental) if (o.index !== undefined) Object.assign(o, salts.get(o.index) ?? { salt1: -1, salt2: -1 });
}

async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/**
 * lag(commit) = the time the first incremental object whose WAL range (same salts)
 * ends at or after the commit's end appeared − the time COMMIT returned. Commits no
 * object covers are counted, not guessed.
 */
export function commitLags(commits, objects, appearedAt) {
  const bySalts = new Map();
  for (const o of objects) {
    if (o.kind !== "incremental" || o.end === undefined) continue;
    const t = appearedAt.get(o.key);
    if (t === undefined) continue;
    const k = `${o.salt1}:${o.salt2}`;
    if (!bySalts.has(k)) bySalts.set(k, []);
    bySalts.get(k).push({ end: o.end, t });
  }
  const lags = [];
  let uncovered = 0;
  for (const c of commits) {
    let best = Infinity;
    for (const o of bySalts.get(`${c.salt1}:${c.salt2}`) ?? []) if (o.end >= c.end && o.t < best) best = o.t;
    if (best === Infinity) uncovered++;
    else lags.push(best - c.t);
  }
  return { lags, uncovered };
}

/**
 * The WALs the incremental objects that appeared in (from, to] came from (one per salt
 * pair: a checkpoint that restarted the WAL starts a new one), and how many frames each
 * of those that ended meanwhile had reached: what the checkpoint threshold did.
 */
export function walGenerations(objects, appearedAt, from, to, pageSize) {
  const ends = new Map();
  for (const o of objects) {
    const t = appearedAt.get(o.key);
    if (o.kind !== "incremental" || o.end === undefined || t === undefined || t <= from || t > to) continue;
    const k = `${o.salt1}:${o.salt2}`;
    ends.set(k, Math.max(ends.get(k) ?? 0, o.end));
  }
  const closed = [...ends.values()].slice(0, -1);
  return { wals: ends.size, framesAtRestart: closed.map((end) => (end - 32) / (pageSize + 24)) };
}

/** The replica of a run: a directory under `dir`, or the prefix `name` on the suite's S3 server. */
export function replicaFor(kind, dir, name, s3) {
  return kind === "dir" ? { kind, path: join(dir, "replica") } : { kind, s3, prefix: name };
}

/** Bytes of replica objects, in total and by kind (snapshot, incremental, compacted). */
export function sumBy(objects) {
  const sums = { total: 0, snapshot: 0, incremental: 0, compacted: 0 };
  for (const o of objects) {
    sums.total += o.size;
    if (o.kind in sums) sums[o.kind] += o.size;
  }
  return sums;
}
