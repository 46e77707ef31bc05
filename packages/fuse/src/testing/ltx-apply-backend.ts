// A test double of the cluster engine's replica side that does real work: it reads
// the LTX log a primary double wrote and applies each file, in order and verified,
// into its own mount's database through FuseMount.apply.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { decodeLtx, parseFilename } from "@sqlrep/ltx";
import type { BackendChange, DatabasePaths, DatabasePosition, FuseBackend, LagState, RequestContext } from "../backend.js";
import { FuseError } from "../errors.js";
import type { FuseMount } from "../mount.js";
import { listLtxFiles, listTestDatabases, testDatabasePaths } from "./ltx-log-backend.js";

/** Options of {@link LtxApplyTestBackend}. */
export interface LtxApplyTestBackendOptions {
  /** This replica's own data directory. */
  dataDir: string;
  /** The primary double's LTX directory, read only. */
  sourceLtxDir: string;
  /** What `.primary` shows once the first sync is done. */
  primaryHostname: string;
}

interface ReplicaState {
  txid: number;
  checksum: bigint;
  timestamp: number;
}

/** A halt-lock event the double saw, for tests. */
export interface HaltEvent {
  name: string;
  kind: "halt" | "unhalt";
  pid: number;
}

/**
 * The replica-side test backend: read-only databases kept current by `catchUp()`, which
 * applies new LTX files from the source log. Before its first sync `.lag` shows
 * int32 max and `.primary` is absent (a replica not yet connected).
 */
export class LtxApplyTestBackend implements FuseBackend {
  readonly dataDir: string;
  private readonly source: string;
  private readonly hostname: string;
  private readonly dbs = new Map<string, ReplicaState>();
  private readonly listeners = new Set<(change: BackendChange) => void>();
  private mount: FuseMount | undefined;
  private connected = false;
  private lastContact = 0;
  private syncing: Promise<number> | undefined;
  readonly halts: HaltEvent[] = [];
  /** Transactions applied so far. */
  applied = 0;

  constructor(options: LtxApplyTestBackendOptions) {
    this.dataDir = options.dataDir;
    this.source = options.sourceLtxDir;
    this.hostname = options.primaryHostname;
    mkdirSync(this.dataDir, { recursive: true });
    for (const name of listTestDatabases(this.dataDir)) this.dbs.set(name, { txid: 0, checksum: 0n, timestamp: 0 });
  }

  /** The mount to apply into; set right after mounting. */
  attach(mount: FuseMount): void {
    this.mount = mount;
  }

  databases(): string[] {
    return [...this.dbs.keys()];
  }

  paths(name: string): DatabasePaths {
    return testDatabasePaths(this.dataDir, name);
  }

  writable(): boolean {
    return false;
  }

  position(name: string): DatabasePosition {
    const db = this.dbs.get(name);
    if (!db) throw new FuseError("no-database", `no database ${name}`, { database: name });
    return { txid: db.txid, checksum: db.checksum, timestamp: db.timestamp };
  }

  primaryHostname(): string | null {
    return this.connected ? this.hostname : null;
  }

  lag(): LagState {
    return this.connected ? { kind: "since", timestamp: this.lastContact } : { kind: "syncing" };
  }

  /** Applies every LTX file of the source log past this replica's position; returns how many. */
  catchUp(): Promise<number> {
    // one sync at a time: a second caller waits for the running one, then runs its own
    const run = (this.syncing ?? Promise.resolve(0)).then(() => this.syncOnce());
    this.syncing = run.catch(() => 0);
    return run;
  }

  private async syncOnce(): Promise<number> {
    const mount = this.mount;
    if (!mount) throw new FuseError("not-mounted", "the replica double has no mount to apply into");
    let count = 0;
    for (const name of this.sourceDatabases()) {
      let db = this.dbs.get(name);
      if (!db) {
        const paths = this.paths(name);
        mkdirSync(dirname(paths.database), { recursive: true });
        if (!existsSync(paths.database)) writeFileSync(paths.database, new Uint8Array(0));
        db = { txid: 0, checksum: 0n, timestamp: 0 };
        this.dbs.set(name, db);
        this.emit({ type: "databases" });
      }
      for (const file of listLtxFiles(this.source, name)) {
        const { maxTXID } = parseFilename(file.slice(file.lastIndexOf("/") + 1));
        if (maxTXID <= db.txid) continue;
        const ltx = decodeLtx(new Uint8Array(readFileSync(file)), { file });
        const { header, trailer } = ltx;
        if (header.minTXID !== db.txid + 1 && header.minTXID !== 1) {
          throw new FuseError("apply-failed", `${name}: ${file} starts at TXID ${header.minTXID}, the replica is at ${db.txid}`, { database: name, file });
        }
        if (header.minTXID !== 1 && header.preApplyChecksum !== db.checksum) {
          throw new FuseError("apply-failed", `${name}: ${file} expects checksum ${header.preApplyChecksum.toString(16)}, the replica has ${db.checksum.toString(16)}`, {
            database: name,
            file,
          });
        }
        const pgnos = new Uint32Array(ltx.pages.length);
        const data = new Uint8Array(ltx.pages.length * header.pageSize);
        ltx.pages.forEach((page, i) => {
          pgnos[i] = page.pgno;
          data.set(page.data, i * header.pageSize);
        });
        await mount.apply(name, { pageSize: header.pageSize, commit: header.commit, pgnos, data });
        db.txid = header.maxTXID;
        db.checksum = trailer.postApplyChecksum;
        db.timestamp = header.timestamp;
        this.lastContact = Date.now();
        this.applied++;
        count++;
        this.emit({ type: "database", name });
      }
    }
    if (!this.connected) {
      this.connected = true;
      this.lastContact = Date.now();
      this.emit({ type: "role" });
    } else {
      this.emit({ type: "lag" });
    }
    return count;
  }

  private sourceDatabases(): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
      const dir = rel ? `${this.source}/${rel}` : this.source;
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        if (listLtxFiles(this.source, child).length > 0) out.push(child);
        else walk(child);
      }
    };
    walk("");
    return out.sort();
  }

  async createDatabase(name: string, ctx: RequestContext): Promise<void> {
    throw new FuseError("read-only", `cannot create ${name} on a replica (pid ${ctx.pid})`, { database: name });
  }

  async dropDatabase(name: string, ctx: RequestContext): Promise<void> {
    throw new FuseError("read-only", `cannot drop ${name} on a replica (pid ${ctx.pid})`, { database: name });
  }

  async commit(name: string): Promise<void> {
    throw new FuseError("read-only", `cannot commit to ${name} on a replica`, { database: name });
  }

  /** Nothing to make durable: a replica commits nothing. */
  async sync(): Promise<void> {}

  async halt(name: string, ctx: RequestContext): Promise<void> {
    this.halts.push({ name, kind: "halt", pid: ctx.pid });
  }

  async unhalt(name: string): Promise<void> {
    this.halts.push({ name, kind: "unhalt", pid: 0 });
  }

  watch(listener: (change: BackendChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: BackendChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
