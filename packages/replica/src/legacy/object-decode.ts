/** Decompressing one Litestream v0.3 object (an LZ4 frame) as the prefetcher hands it over: in one call when it fits, else streamed. */
import { isLtxError, lz4DecodeFrame, Lz4FrameDecoder } from "@sqlrep/ltx";
import { isReplicaError, ReplicaError } from "../errors.js";
import type { ObjectPrefetcher } from "./prefetch.js";

/**
 * Decompresses the next object into `onBlock`; the LZ4 frame must end exactly where the
 * object ends. An object read whole is decoded in one call (into the decoder's reused
 * buffer, up to a third of the memory); a streamed one, or one that would decode to
 * more, block by block.
 */
export async function decodeObject(prefetch: ObjectPrefetcher, location: string, key: string, limit: number, onBlock: (block: Uint8Array) => Promise<void>): Promise<void> {
  let rest: number;
  try {
    const next = await prefetch.next();
    if ("whole" in next) {
      const one = oneShot(next.whole, key, limit);
      if (one !== undefined) {
        await onBlock(one.data);
        rest = next.whole.length - one.end;
      } else {
        rest = await decodeStream(key, [next.whole], onBlock);
      }
    } else {
      rest = await decodeStream(key, next.stream, onBlock);
    }
  } catch (err) {
    throw objectFault(location, key, err);
  }
  if (rest > 0) throw new ReplicaError("corrupt", `${key} in ${location}: ${rest} bytes follow the end of its LZ4 frame`, { key });
}

/** Streams chunks through an LZ4 frame decoder; returns how many bytes followed the frame. */
async function decodeStream(key: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, onBlock: (block: Uint8Array) => Promise<void>): Promise<number> {
  const decoder = new Lz4FrameDecoder({ file: key });
  for await (const chunk of chunks) {
    for (const block of decoder.push(chunk)) await onBlock(block);
  }
  decoder.finish();
  return decoder.takeRemainder().length;
}

/** A failed read or decode of `key`, as the ReplicaError a restore reports (a vanished object says restore again). */
function objectFault(location: string, key: string, err: unknown): unknown {
  if (isReplicaError(err)) {
    if (err.code === "not-found") {
      return new ReplicaError("not-found", `${key} vanished from ${location} during the restore (retention?): restore again`, { cause: err, key });
    }
    return err;
  }
  if (isLtxError(err)) {
    const code = err.code === "aborted" ? "aborted" : "corrupt";
    return new ReplicaError(code, `${key} in ${location}: ${err.message}`, { cause: err, key, offset: err.offset });
  }
  return err;
}

/**
 * One frame decoded in one call, or undefined when it does not decode within `limit`
 * bytes (or fails: the streaming decoder then says where, exactly).
 */
function oneShot(bytes: Uint8Array, key: string, limit: number): { data: Uint8Array; end: number } | undefined {
  try {
    return lz4DecodeFrame(bytes, 0, { file: key, maxContentSize: limit });
  } catch {
    return undefined;
  }
}
