/** A positioned-read function over an open file, for the bin's ranged reads (page index, single frames). */
import type { FileHandle } from "node:fs/promises";
import type { ReadAt } from "../page-index.js";

/** A `ReadAt` over an open file (positioned reads; a short file gives a short result). */
export function fileReadAt(handle: FileHandle): ReadAt {
  return async (offset, length) => {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return out.subarray(0, done);
  };
}
