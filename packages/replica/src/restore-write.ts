/** What the merge and the run paths of a restore share besides the page writer (`@sqlrep/page-file`): page order, the missing-pages fault, I/O faults as ReplicaErrors. */
import { isPageFileError } from "@sqlrep/page-file";
import { ReplicaError, isReplicaError } from "./errors.js";
import { fileLabel } from "./listing.js";
import type { RestorePlan } from "./restore-plan.js";

/** The page after `pgno` in a database, the lock page skipped. */
export function nextPgno(pgno: number, lock: number): number {
  return pgno + 1 === lock ? pgno + 2 : pgno + 1;
}

/** Pages `from…to` of the restored database are in no file of the plan. */
export function missingPages(plan: RestorePlan, from: number, to: number): ReplicaError {
  const files = plan.files.map(fileLabel).join(", ");
  return new ReplicaError("corrupt", `the files of the restore plan hold no page ${from}${to > from ? `…${to}` : ""} of the database at TXID ${plan.txid} (files: ${files})`);
}

/** A file-system fault as ReplicaError "io": a page writer's names its file and offset already, anything else gets `what`. */
export function ioError(err: unknown, what: string): ReplicaError {
  if (isReplicaError(err)) return err;
  if (isPageFileError(err)) return new ReplicaError("io", err.message, { cause: err, key: err.path, offset: err.offset });
  return new ReplicaError("io", `${what}: ${(err as Error).message}`, { cause: err });
}
