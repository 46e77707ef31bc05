/**
 * `<output>-txid`, the followed copy's progress (as v0.5's follow keeps one): the last applied
 * TXID and the replica's own 100-byte database header, so that a later follow resumes.
 */
import { open, rm } from "node:fs/promises";
import { formatTxid, parseTxid } from "@sqlrep/ltx";
import { replaceFile } from "@sqlrep/page-file";
import { FollowError } from "./errors.js";

/** SQLite's database header: the part of page 1 the followed copy changes. */
export const HEADER_BYTES = 100;

/** Where a followed copy stands. */
export interface FollowState {
  txid: number;
  /** The first 100 bytes of page 1 as the replica has them. */
  header: Uint8Array;
}

/** The sidecar's path. */
export const statePath = (output: string) => `${output}-txid`;

/** Reads the sidecar; undefined when there is none. Throws FollowError("bad-file") naming it when it cannot be parsed. */
export async function readFollowState(output: string): Promise<FollowState | undefined> {
  const path = statePath(output);
  let text: string;
  try {
    const fd = await open(path, "r");
    try {
      text = await fd.readFile("utf8");
    } finally {
      await fd.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const [txid, header] = text.trim().split("\n");
  if (txid === undefined || header === undefined || !/^[0-9a-f]{16}$/.test(txid) || !/^[0-9a-f]{200}$/.test(header)) {
    throw new FollowError("bad-file", `${path} is not a follow state (a 16-digit TXID line and a 200-digit header line); remove it and the database to restore afresh`, {
      file: path,
    });
  }
  return { txid: parseTxid(txid), header: Uint8Array.from(Buffer.from(header, "hex")) };
}

/** Writes the sidecar atomically: a temp file, fsync, rename, fsync of the directory. */
export async function writeFollowState(output: string, state: FollowState): Promise<void> {
  const path = statePath(output);
  const temp = `${path}.tmp`;
  const fd = await open(temp, "w");
  try {
    await fd.writeFile(`${formatTxid(state.txid)}\n${Buffer.from(state.header.subarray(0, HEADER_BYTES)).toString("hex")}\n`);
    await fd.sync();
  } finally {
    await fd.close();
  }
  await replaceFile(temp, path);
}

/** Removes the sidecar (a copy replaced by a plain restore is no longer followed). */
export async function removeFollowState(output: string): Promise<void> {
  await rm(statePath(output), { force: true });
}
