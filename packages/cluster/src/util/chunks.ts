/** Joining the chunks of one message or file into one array, without a copy when there is only one chunk. */
import { concatBytes } from "@sqlrep/ltx";

/** `chunks` as one array: the chunk itself when there is one, else a new array holding them in order. */
export function joinChunks(chunks: readonly Uint8Array[]): Uint8Array {
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}
