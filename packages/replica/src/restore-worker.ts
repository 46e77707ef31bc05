/**
 * The worker thread of a parallel restore (started by restore-workers.ts): decodes the
 * runs it is sent and writes their pages into the restored file with positional writes
 * on the descriptor the restoring thread opened (descriptors are per process). Replies
 * with each run's outcome and its buffer (for the next run), or with what went wrong.
 */
import { writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { isLtxError } from "@sqlrep/ltx";
import { decodeRunJob, runPagesFor, type RunJob, type RunOutcome } from "./restore-run-job.js";

/** A run sent to a worker. */
export interface WorkerRequest {
  id: number;
  job: RunJob;
  /** The restored file's descriptor. */
  fd: number;
}

/** What a worker says about a run. */
export type WorkerReply =
  | { id: number; outcome: RunOutcome; bytes: Uint8Array }
  | { id: number; fault: { ltx: boolean; code: string; message: string; file: string | undefined; offset: number | undefined } };

if (parentPort !== null) {
  const port = parentPort;
  let out = new Uint8Array(0);
  port.on("message", ({ id, job, fd }: WorkerRequest) => {
    try {
      const need = runPagesFor(job.pageSize) * job.pageSize;
      if (out.length < need) out = new Uint8Array(need);
      const { outcome, writes } = decodeRunJob(job, out);
      for (const w of writes) {
        for (let at = w.start; at < w.end; ) at += writeSync(fd, out, at, w.end - at, w.position + (at - w.start));
      }
      // The run's buffer goes back (transferred) to be cut into again.
      const bytes = job.run.bytes;
      port.postMessage({ id, outcome, bytes } satisfies WorkerReply, [bytes.buffer as ArrayBuffer]);
    } catch (err) {
      const e = err as Error & { code?: unknown; file?: string; offset?: number };
      const ltx = isLtxError(err);
      // An LtxError's message ends with its location, which the restoring thread adds back.
      const message = ltx ? e.message.replace(/ \((?:in [^)]*|at offset \d+)\)$/, "") : e.message;
      const fault = { ltx, code: String(e.code ?? ""), message, file: ltx ? e.file : undefined, offset: ltx ? e.offset : undefined };
      port.postMessage({ id, fault } satisfies WorkerReply);
    }
  });
}
