/** Peeks at the head of a chunked stream and hands back the whole stream, so a file's header can decide how to read it without reading twice. */
import { concatBytes } from "@sqlrep/ltx";

/**
 * The first `n` bytes of a chunked stream (fewer if it is shorter), and the whole stream
 * again from its start: for deciding something from a file's head (its LTX header, its
 * layout) without reading anything twice. The replayed stream releases the source
 * (`return()`) when it ends or is abandoned.
 */
export async function peekStream(stream: AsyncIterator<Uint8Array>, n: number): Promise<{ head: Uint8Array; source: AsyncIterable<Uint8Array> }> {
  const chunks: Uint8Array[] = [];
  let have = 0;
  while (have < n) {
    const next = await stream.next();
    if (next.done) break;
    chunks.push(next.value);
    have += next.value.length;
  }
  const head = chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
  async function* replay(): AsyncGenerator<Uint8Array> {
    try {
      yield* chunks;
      for (let next = await stream.next(); !next.done; next = await stream.next()) yield next.value;
    } finally {
      await stream.return?.();
    }
  }
  return { head: head.subarray(0, Math.min(head.length, n)), source: replay() };
}
