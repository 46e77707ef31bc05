// What every litefs command runs with: its streams, environment, directory and a stop signal.
import type { CommandIo } from "@sqlrep/runtime";

/** The process's streams and surroundings, passed in so tests run commands in-process. */
export interface Io extends CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Fires on SIGINT/SIGTERM: `mount` unmounts and hands the lease off, other commands stop. */
  signal: AbortSignal;
}
