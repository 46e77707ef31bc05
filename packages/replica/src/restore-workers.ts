/**
 * The worker threads of parallel restores: started on first use and kept for the next
 * restore (a thread costs ~30 ms to start), never keeping the process alive while idle.
 * Each worker runs restore-worker.ts; a run goes to the worker with the fewest runs
 * queued, its bytes transferred (not copied).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { LtxError, type LtxErrorCode } from "@sqlrep/ltx";
import { ReplicaError } from "./errors.js";
import type { RunJob, RunOutcome } from "./restore-run-job.js";
import type { WorkerReply, WorkerRequest } from "./restore-worker.js";

/** A run's outcome, and its bytes' buffer, sent back to be reused. */
export interface WorkerOutcome {
  outcome: RunOutcome;
  bytes: Uint8Array;
}

interface Pending {
  resolve: (outcome: WorkerOutcome) => void;
  reject: (err: unknown) => void;
}

class RunWorker {
  readonly thread: Worker;
  readonly pending = new Map<number, Pending>();
  /** Restores using this worker now (it keeps the process alive only while they do). */
  users = 0;
  dead = false;

  constructor() {
    this.thread = new Worker(workerUrl());
    this.thread.unref();
    this.thread.on("message", (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if ("outcome" in reply) p.resolve({ outcome: reply.outcome, bytes: reply.bytes });
      else p.reject(rebuild(reply.fault));
    });
    const fail = (err: unknown) => {
      this.dead = true;
      pool.delete(this);
      for (const p of this.pending.values()) p.reject(new ReplicaError("io", `a restore worker thread failed: ${(err as Error).message ?? String(err)}`, { cause: err }));
      this.pending.clear();
    };
    this.thread.on("error", fail);
    this.thread.on("exit", (code) => fail(new Error(`exited with code ${code}`)));
  }
}

const pool = new Set<RunWorker>();
let nextId = 1;

/** `n` workers for one restore; `release()` when done (after every run has settled). */
export class RunWorkers {
  private readonly workers: RunWorker[];
  private released = false;

  constructor(n: number) {
    const idle = [...pool].sort((a, b) => a.users - b.users);
    while (idle.length < n) {
      const w = new RunWorker();
      pool.add(w);
      idle.push(w);
    }
    this.workers = idle.slice(0, n);
    for (const w of this.workers) if (w.users++ === 0) w.thread.ref();
  }

  get size(): number {
    return this.workers.length;
  }

  /** Decodes and writes a run on the least busy worker; its bytes are transferred to it, and back. */
  run(job: RunJob, fd: number): Promise<WorkerOutcome> {
    const alive = this.workers.filter((w) => !w.dead);
    if (alive.length === 0) return Promise.reject(new ReplicaError("io", "every restore worker thread has failed"));
    const worker = alive.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = nextId++;
    return new Promise<WorkerOutcome>((resolve, reject) => {
      worker.pending.set(id, { resolve, reject });
      const request: WorkerRequest = { id, job, fd };
      worker.thread.postMessage(request, [job.run.bytes.buffer as ArrayBuffer]);
    });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const w of this.workers) if (--w.users === 0) w.thread.unref();
  }
}

/** A worker's fault as the error it was: an `LtxError` stays one (placed in its file), anything else is an I/O failure. */
function rebuild(fault: Extract<WorkerReply, { fault: unknown }>["fault"]): Error {
  if (fault.ltx) return new LtxError(fault.code as LtxErrorCode, fault.message, { file: fault.file, offset: fault.offset });
  return new ReplicaError("io", fault.message, { retryable: false, cause: fault.code ? { code: fault.code } : undefined });
}

/**
 * The worker's script. From dist/ it sits beside this module; from src/ (the tests run
 * TypeScript sources, which a worker cannot load) the build's copy, which imports the
 * built `@sqlrep/ltx` exactly as the tests do.
 */
function workerUrl(): URL {
  const here = new URL("./restore-worker.js", import.meta.url);
  return existsSync(fileURLToPath(here)) ? here : new URL("../dist/restore-worker.js", import.meta.url);
}
