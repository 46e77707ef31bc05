/**
 * Restore selection: of several replicas of one database, the one whose backup reaches
 * furthest toward the target (newest wins, as Litestream picks), restored into a new file.
 * The one function every app calls (litestream restore, replicate's restore-if-missing,
 * the cluster, the VFS); apps parse flags and print.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { ReplicaError } from "./errors.js";
import {
  LayoutAwareSource,
  legacyTargetOf,
  type NamedReplicaClient,
  type RestoreRequest,
  type RestoreSource,
  type RestoreSummary,
  type SourceRestoreOptions,
} from "./restore-source.js";

/** The sources of some replicas: each in whichever layout it holds (v0.3 generations, v0.5 LTX files, or both). Checks the request first. */
export function restoreSources(request: RestoreRequest, replicas: readonly NamedReplicaClient[]): RestoreSource[] {
  legacyTargetOf(request);
  return replicas.map((r) => new LayoutAwareSource(r));
}

/** What {@link chooseRestoreSource} found. */
export interface SourceChoice {
  /** The source reaching furthest, or undefined when none has a backup (or all failed). */
  best?: { source: RestoreSource; txid: number; timestamp: Date };
  /** Sources that could not be planned (unreachable, or the target is out of their reach). */
  failures: { source: RestoreSource; error: unknown }[];
}

/**
 * Plans every source and picks the one that reaches furthest toward the target (the
 * highest TXID, then the newest state; the first listed on a tie).
 */
export async function chooseRestoreSource(sources: readonly RestoreSource[], request: RestoreRequest, signal?: AbortSignal): Promise<SourceChoice> {
  const results = await Promise.allSettled(sources.map((s) => s.plan(request, signal)));
  const choice: SourceChoice = { failures: [] };
  results.forEach((result, i) => {
    const source = sources[i]!;
    if (result.status === "rejected") choice.failures.push({ source, error: result.reason });
    else if (result.value && (!choice.best || result.value.txid > choice.best.txid || (result.value.txid === choice.best.txid && result.value.timestamp > choice.best.timestamp))) {
      choice.best = { source, ...result.value }; // v0.3 sources (TXID 0) compare by time
    }
  });
  return choice;
}

/** Options of {@link restoreNewest}. */
export interface RestoreNewestOptions extends SourceRestoreOptions {
  /** Told of replicas skipped because they could not be planned while another could. */
  onSkip?: ((source: RestoreSource, error: unknown) => void) | undefined;
}

/**
 * Restores `output` from whichever replica reaches furthest toward the request's target
 * (its parent directories are made). Resolves undefined when no replica holds a backup;
 * rejects with the first failure when none that could be planned holds one.
 */
export async function restoreNewest(
  replicas: readonly NamedReplicaClient[],
  request: RestoreRequest,
  options: RestoreNewestOptions,
): Promise<{ source: RestoreSource; summary: RestoreSummary } | undefined> {
  const choice = await chooseRestoreSource(restoreSources(request, replicas), request, options.signal);
  if (!choice.best) {
    if (choice.failures.length > 0) throw choice.failures[0]!.error;
    return undefined;
  }
  for (const { source, error } of choice.failures) options.onSkip?.(source, error);
  const { source } = choice.best;
  await makeParent(options.output);
  const summary = await source.restore(request, options);
  return { source, summary };
}

/** Creates the output's parent directories; a path through a file is named, not a bare EEXIST. */
async function makeParent(output: string): Promise<void> {
  const parent = dirname(output);
  try {
    await mkdir(parent, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTDIR")
      throw new ReplicaError("io", `cannot create ${parent} for the output ${output}: ${(err as Error).message}`, { key: output, cause: err });
    let blocker = parent;
    while (blocker !== dirname(blocker) && !(await isFile(blocker))) blocker = dirname(blocker);
    throw new ReplicaError("invalid-config", `cannot write ${output}: ${blocker} is a file, not a directory`, { key: output, cause: err });
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}
