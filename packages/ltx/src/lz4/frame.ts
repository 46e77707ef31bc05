/**
 * LZ4 frames (the lz4 project's frame format). The encoder writes exactly what
 * pierrec/lz4 v4's Writer writes at the fast level (or, with `codec: "native"`, the same
 * frame layout with lz4-napi's blocks); the decoders read any valid frame and check
 * every checksum it carries.
 */
// The format's shared parts are in frame-format.ts, the encoder in frame-encoder.ts, the
// decoders in frame-decoder.ts; this module is what the rest of the package imports.
export type { Lz4BlockSize } from "./frame-format.js";
export { lz4EncodeFrame, Lz4FrameEncoder, type Lz4FrameOptions } from "./frame-encoder.js";
export { lz4DecodeFrame, Lz4FrameDecoder, type Lz4DecodeFrameOptions, type Lz4FrameDecoderOptions } from "./frame-decoder.js";
