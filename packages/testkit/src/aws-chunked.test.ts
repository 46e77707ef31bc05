/** Unit tests of the aws-chunked body decoder: trailer and signed framing split at any byte, short bodies, the header checks. */
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { AwsChunkedDecoder, isAwsChunked, withoutAwsChunked } from "./aws-chunked.js";

const decode = async (framed: string | Buffer, pieceSize: number, expected?: number) => {
  const bytes = Buffer.from(framed);
  const pieces = Array.from({ length: Math.ceil(bytes.length / pieceSize) }, (_, i) => bytes.subarray(i * pieceSize, (i + 1) * pieceSize));
  const decoder = new AwsChunkedDecoder(expected);
  const [out] = await Promise.all([buffer(decoder), pipeline(Readable.from(pieces), decoder)]);
  return out.toString();
};

describe("aws-chunked", () => {
  const unsigned = "3\r\nabc\r\n3\r\ndef\r\n0\r\nx-amz-checksum-crc32:S4457w==\r\n\r\n";
  const signed = `5;chunk-signature=${"a".repeat(64)}\r\nhello\r\n0;chunk-signature=${"b".repeat(64)}\r\n\r\n`;

  it("decodes trailer and signed framing, however the bytes are split", async () => {
    for (const size of [1, 2, 3, 7, 1000]) {
      expect(await decode(unsigned, size, 6)).toBe("abcdef");
      expect(await decode(signed, size)).toBe("hello");
    }
  });

  it("fails on a body cut short or of the wrong decoded length", async () => {
    await expect(decode("3\r\nabc\r\n3\r\nde", 4)).rejects.toThrow(/ended early/);
    await expect(decode(unsigned, 5, 7)).rejects.toThrow(/expected 7/);
    await expect(decode("zz\r\n", 5)).rejects.toThrow(/bad chunk header/);
  });

  it("recognises the encoding and strips it from Content-Encoding", () => {
    expect(isAwsChunked({ "content-encoding": "aws-chunked" })).toBe(true);
    expect(isAwsChunked({ "content-encoding": "gzip, aws-chunked" })).toBe(true);
    expect(isAwsChunked({ "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER" })).toBe(true);
    expect(isAwsChunked({ "content-encoding": "gzip" })).toBe(false);
    expect(withoutAwsChunked("aws-chunked")).toBeUndefined();
    expect(withoutAwsChunked("aws-chunked,gzip")).toBe("gzip");
  });
});
