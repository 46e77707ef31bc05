// Checks on an LTX log the test doubles wrote: replaying it from scratch must give
// the database byte for byte, every file verified (TXIDs contiguous, checksums).
import { readFileSync } from "node:fs";
import { applyLtx, MemoryPageStore, type Pos } from "@sqlrep/ltx";
import { listLtxFiles } from "./ltx-log-backend.js";

/** The database the log of `name` describes, and its final position. */
export async function replayLog(ltxDir: string, name: string): Promise<{ bytes: Uint8Array; pos: Pos; files: number }> {
  const files = listLtxFiles(ltxDir, name);
  const store = new MemoryPageStore();
  const pos = await applyLtx(
    store,
    files.map((file) => new Uint8Array(readFileSync(file))),
    { names: files },
  );
  return { bytes: store.bytes(), pos, files: files.length };
}
