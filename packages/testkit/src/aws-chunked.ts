/** Decodes the SDK's `aws-chunked` request bodies for the test S3 server, which would otherwise store the chunk framing as object bytes. */
import { Transform, type TransformCallback } from "node:stream";

/**
 * Whether a request body uses the `aws-chunked` content encoding: the SDK sends streamed
 * bodies that way (with a trailing checksum or chunk signatures), and s3rver 3.7.1 would
 * store the framing bytes as if they were the object.
 */
export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const encoding = headers["content-encoding"];
  const sha = headers["x-amz-content-sha256"];
  return (typeof encoding === "string" && encoding.split(",").some((part) => part.trim() === "aws-chunked")) || (typeof sha === "string" && sha.startsWith("STREAMING-"));
}

/** `Content-Encoding` without `aws-chunked`, or undefined when nothing else is left. */
export function withoutAwsChunked(encoding: string | undefined): string | undefined {
  const rest = (encoding ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "" && part !== "aws-chunked");
  return rest.length ? rest.join(",") : undefined;
}

const CRLF = Buffer.from("\r\n");
const MAX_LINE = 4096;

type State = "size" | "data" | "data-end" | "trailer" | "done";

/**
 * Strips `aws-chunked` framing: `hex-size[;ext]\r\n data \r\n … 0[;ext]\r\n trailers \r\n`.
 * Signatures and trailing checksums are not verified. Fails when the body ends early or
 * its decoded length differs from `expectedLength` (`x-amz-decoded-content-length`).
 */
export class AwsChunkedDecoder extends Transform {
  private state: State = "size";
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private decoded = 0;

  constructor(private readonly expectedLength?: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    const ended = this.state === "done" || (this.state === "trailer" && this.pending.length === 0);
    if (!ended) return callback(new Error(`aws-chunked body ended early (in ${this.state})`));
    if (this.expectedLength !== undefined && this.decoded !== this.expectedLength) {
      return callback(new Error(`aws-chunked body decoded to ${this.decoded} bytes, expected ${this.expectedLength}`));
    }
    callback();
  }

  private consume(input: Buffer): void {
    let offset = 0;
    while (offset < input.length && this.state !== "done") {
      if (this.state === "data") {
        const take = Math.min(this.remaining, input.length - offset);
        this.push(input.subarray(offset, offset + take));
        this.decoded += take;
        this.remaining -= take;
        offset += take;
        if (this.remaining === 0) this.state = "data-end";
        continue;
      }
      if (this.state === "data-end") {
        if (input.length - offset < 2) break;
        if (!input.subarray(offset, offset + 2).equals(CRLF)) throw new Error("aws-chunked: missing CRLF after chunk data");
        offset += 2;
        this.state = "size";
        continue;
      }
      const end = input.indexOf(CRLF, offset);
      if (end === -1) {
        if (input.length - offset > MAX_LINE) throw new Error("aws-chunked: line too long");
        break;
      }
      this.line(input.toString("latin1", offset, end));
      offset = end + 2;
    }
    this.pending = this.state === "done" ? Buffer.alloc(0) : Buffer.from(input.subarray(offset));
  }

  private line(text: string): void {
    if (this.state === "trailer") {
      if (text === "") this.state = "done";
      return;
    }
    const size = Number.parseInt(text.split(";", 1)[0] ?? "", 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`aws-chunked: bad chunk header ${JSON.stringify(text)}`);
    this.remaining = size;
    this.state = size === 0 ? "trailer" : "data";
  }
}
