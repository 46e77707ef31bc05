// Test helpers for replica-s3: settings and stores pointed at the testkit's S3 server, seeded bytes.
import { expect } from "vitest";
import type { S3Server } from "@sqlrep/testkit";
import { S3ObjectStore, type S3ObjectStoreOptions } from "../s3-store.js";
import { createS3Client, type S3ClientOptions, type S3Settings } from "../settings.js";

/** Settings for the testkit server (or a proxy in front of it, or any endpoint). */
export function testSettings(s3: S3Server, endpoint = s3.endpoint): S3Settings {
  return {
    bucket: s3.bucket,
    prefix: "",
    region: s3.region,
    endpoint,
    forcePathStyle: true,
    skipVerify: false,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    credentialSource: "spec",
    provider: undefined,
    signPayload: true,
    requireContentMd5: true,
    concurrency: undefined,
    objects: {},
    headers: {},
  };
}

/** A store over a client we build (our retry strategy and timeouts), at `endpoint`. */
export function testStore(
  s3: S3Server,
  options: { endpoint?: string; client?: S3ClientOptions } & Omit<S3ObjectStoreOptions, "client" | "bucket"> = {},
): S3ObjectStore & Disposable {
  const { endpoint, client, ...rest } = options;
  return disposable(new S3ObjectStore({ client: createS3Client(testSettings(s3, endpoint), client), bucket: s3.bucket, ownsClient: true, ...rest }));
}

/** A store that `using` destroys (with its client, when it owns it). */
export function disposable(store: S3ObjectStore): S3ObjectStore & Disposable {
  return Object.assign(store, { [Symbol.dispose]: () => store.destroy() });
}

/** `n` bytes from a seeded PRNG (the same seed gives the same bytes). */
export function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/** Copies of `bytes` cut at odd, varying sizes (1 B … ~1 MiB). */
export async function* oddChunks(bytes: Uint8Array, onYield?: (produced: number) => void): AsyncIterable<Uint8Array> {
  const sizes = [65_521, 1, 1_048_573, 7, 333_331, 4_099, 999_983];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const next = Math.min(bytes.length, at + sizes[i % sizes.length]!);
    onYield?.(next);
    yield bytes.slice(at, next);
    at = next;
  }
}

export async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Byte equality without vitest's element-wise diff (very slow on MiB arrays). */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected), "bytes differ").toBe(0);
}

/** The rejection of a promise (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a rejection"),
    (err: unknown) => err,
  );
}
