/**
 * Object names of a Litestream v0.3 replica (v0.3.5 … v0.3.14, every backend):
 *
 *   ROOT/generations/<generation>/snapshots/<index>.snapshot.lz4
 *   ROOT/generations/<generation>/wal/<index>_<offset>.wal.lz4
 *
 * `<generation>` is 16 lowercase hex digits; `<index>` is `%08x`; `<offset>` is `%08x`
 * too, a minimum width: offsets from 4 GiB up have 9 or more digits, which v0.3.13's
 * own reader skipped (its restores of such replicas were silently short). We accept
 * 8–16 digits and compare numerically.
 */

const GENERATION = /^[0-9a-f]{16}$/;
const SNAPSHOT = /^([0-9a-f]{8})\.snapshot\.lz4$/;
const SEGMENT = /^([0-9a-f]{8})_([0-9a-f]{8,16})\.wal\.lz4$/;

/** What a key under `ROOT/generations/` names. */
export type LegacyName =
  | { kind: "snapshot"; generation: string; index: number }
  | { kind: "segment"; generation: string; index: number; offset: number }
  /** A well-formed segment name whose offset is above 2^53 (not representable exactly). */
  | { kind: "unusable"; generation: string; index: number; reason: string }
  | { kind: "other"; reason: string };

/** The key prefix of all generations under a v0.3 root (`""` or `prefix/`). */
export function generationsPrefix(root: string): string {
  return `${root}generations/`;
}

/** The key prefix of one generation. */
export function generationPrefix(root: string, generation: string): string {
  return `${generationsPrefix(root)}${generation}/`;
}

/** True for a v0.3 generation id: 16 lowercase hex digits. */
export function isLegacyGeneration(text: string): boolean {
  return GENERATION.test(text);
}

/** The key of a snapshot. */
export function snapshotKey(root: string, generation: string, index: number): string {
  return `${generationPrefix(root, generation)}snapshots/${hex8(index)}.snapshot.lz4`;
}

/** The key of a WAL segment, as v0.3 writes it (`%08x_%08x`). */
export function segmentKey(root: string, generation: string, index: number, offset: number): string {
  return `${generationPrefix(root, generation)}wal/${hex8(index)}_${hex8(offset)}.wal.lz4`;
}

/** `%08x`. */
export function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/**
 * Parses a key relative to `ROOT/generations/` (`<gen>/snapshots/<name>` or
 * `<gen>/wal/<name>`). Anything else is `other`, with the reason.
 */
export function parseLegacyName(relative: string): LegacyName {
  const parts = relative.split("/");
  if (parts.length !== 3) return { kind: "other", reason: "not <generation>/<snapshots|wal>/<name>" };
  const [generation, folder, name] = parts as [string, string, string];
  if (!GENERATION.test(generation)) return { kind: "other", reason: "the generation is not 16 lowercase hex digits" };
  if (folder === "snapshots") {
    const m = SNAPSHOT.exec(name);
    if (m === null) return { kind: "other", reason: "not <index %08x>.snapshot.lz4" };
    return { kind: "snapshot", generation, index: parseInt(m[1]!, 16) };
  }
  if (folder === "wal") {
    const m = SEGMENT.exec(name);
    if (m === null) return { kind: "other", reason: "not <index %08x>_<offset, 8 to 16 hex digits>.wal.lz4" };
    const index = parseInt(m[1]!, 16);
    const offset = BigInt(`0x${m[2]!}`);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
      return { kind: "unusable", generation, index, reason: `offset 0x${m[2]!} is above 2^53 bytes` };
    }
    return { kind: "segment", generation, index, offset: Number(offset) };
  }
  return { kind: "other", reason: `unknown folder ${JSON.stringify(folder)}` };
}
