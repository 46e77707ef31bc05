/**
 * The node-wide files of a data directory: the cluster ID (LiteFS's `clusterid`, kept
 * once known), the highest lease epoch this node has seen (a primary with a lower one
 * is refused, across restarts too), and the node ID of the running process.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, existsSync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { ClusterError } from "../errors.js";
import { syncDirectory, writeFileDurably } from "./position-file.js";

/** `LFSC` + 16 uppercase hex digits, as LiteFS writes them. */
const CLUSTER_ID = /^LFSC[0-9A-F]{16}$/;

/** A new random cluster ID. */
export function newClusterId(): string {
  return `LFSC${randomBytes(8).toString("hex").toUpperCase()}`;
}

/** A new random node ID: 16 uppercase hex digits. */
export function newNodeId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

/** Checks a cluster ID's form; throws `ClusterError("invalid-argument")`. */
export function checkClusterId(id: string, where: string): string {
  if (!CLUSTER_ID.test(id)) throw new ClusterError("invalid-argument", `${where}: ${JSON.stringify(id)} is not a cluster ID (LFSC followed by 16 uppercase hex digits)`);
  return id;
}

/**
 * The data directory's node-wide state. The node ID is new for every process and
 * written to `node-id` only for tools to read: LiteFS kept it on disk once, and nodes on
 * cloned volumes then refused each other as "themselves" (LiteFS #361, #398).
 */
export class DataDir {
  readonly dir: string;
  readonly nodeId: string;
  private clusterIdValue: string | undefined;
  private epochValue: number;

  constructor(dir: string, nodeId = newNodeId()) {
    this.dir = dir;
    this.nodeId = nodeId;
    mkdirSync(join(dir, "dbs"), { recursive: true });
    const text = readText(join(dir, "clusterid"));
    this.clusterIdValue = text === undefined ? undefined : checkClusterId(text, join(dir, "clusterid"));
    this.epochValue = readEpoch(join(dir, "epoch"));
    writeFileDurably(join(dir, "node-id"), `${nodeId}\n`);
  }

  /** The cluster this node belongs to, once known. */
  get clusterId(): string | undefined {
    return this.clusterIdValue;
  }

  /** Records the cluster ID (first time only); another one is `ClusterError("cluster-id-mismatch")` naming both. */
  setClusterId(id: string): void {
    checkClusterId(id, "cluster ID");
    if (this.clusterIdValue === id) return;
    if (this.clusterIdValue !== undefined) {
      throw new ClusterError(
        "cluster-id-mismatch",
        `this node belongs to cluster ${this.clusterIdValue} (${join(this.dir, "clusterid")}), not to cluster ${id}; to move it, clear its data directory`,
      );
    }
    writeFileDurably(join(this.dir, "clusterid"), `${id}\n`);
    this.clusterIdValue = id;
  }

  /** The highest lease epoch seen. */
  get maxEpoch(): number {
    return this.epochValue;
  }

  /**
   * Accepts data from a primary of lease epoch `epoch`: a lower epoch than one seen is
   * `ClusterError("epoch-stale")`; a higher one is recorded durably.
   */
  noteEpoch(epoch: number, from: string): void {
    if (epoch < this.epochValue) {
      throw new ClusterError("epoch-stale", `${from} streams under lease epoch ${epoch}, but this node has seen epoch ${this.epochValue}: it is no longer the primary`);
    }
    if (epoch > this.epochValue) {
      writeEpoch(join(this.dir, "epoch"), epoch);
      this.epochValue = epoch;
    }
  }
}

/**
 * Overwrites the epoch file in place with one fdatasync: it is in a handoff's write gap,
 * where a temp file, rename and directory fsync cost two fsyncs (~12 ms against ~4 ms
 * at load ~9). The text has a fixed width (20 digits), so the file never shrinks and
 * the 21 bytes sit in one sector, written whole or not at all (SQLite's "powersafe
 * overwrite" assumption); the directory is fsynced only when the file is new.
 */
function writeEpoch(path: string, epoch: number): void {
  const created = !existsSync(path);
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
    try {
      const bytes = Buffer.from(`${String(epoch).padStart(20, "0")}\n`);
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, done);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) syncDirectory(dirname(path));
  } catch (err) {
    throw new ClusterError("io", `cannot write ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
}

/**
 * The highest epoch seen, from its file: 0 when there is none, or when it is empty (a
 * crash between its creation and its first write, so no epoch was ever recorded). Anything
 * else that is not a number is damage: reading it as 0 would let a deposed primary's
 * stream back in, so the node refuses to start, naming the file.
 */
function readEpoch(path: string): number {
  const text = readText(path);
  if (text === undefined || text === "") return 0;
  if (!/^\d{1,20}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new ClusterError("corrupt", `${path} does not hold a lease epoch (${JSON.stringify(text.slice(0, 40))}): fencing needs it; restore it or clear the data directory`, {
      file: path,
    });
  }
  return Number(text);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ClusterError("io", `cannot read ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
}
