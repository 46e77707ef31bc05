/** Starts an in-process S3 server (s3rver, with this package's fixes) on 127.0.0.1 with one bucket, and an SDK client configured for it. */
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { TestkitError } from "./errors.js";
import { installS3rverPatches } from "./s3rver-patches.js";
import { tempDir, type TempDir } from "./temp.js";

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  /** The bucket created at start (default `sqlrep-test`); S3 rules: 3–63 of `a-z 0-9 . -`. */
  bucket?: string;
  /** Where objects are stored; a temp dir (removed by `stop()`) when omitted. Kept when given. */
  directory?: string;
  /** Log every request to stdout (default true: quiet). */
  silent?: boolean;
}

/** A running S3 server on 127.0.0.1 with one bucket. */
export interface S3Server {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  readonly region: "us-east-1";
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The folder holding the objects. */
  readonly directory: string;
  /** A replica URL for `prefix`: `s3://BUCKET/PREFIX?endpoint=…&region=us-east-1&force-path-style=true`. */
  url(prefix: string): string;
  /**
   * A new SDK client for this server (path-style, the server's credentials and region);
   * `overrides` change any of it, e.g. `{ endpoint: proxy.url, maxAttempts: 1 }`.
   */
  client(overrides?: S3ClientConfig): S3Client;
  /** Closes the server, drops open connections and removes the temp dir it created. Idempotent. */
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}

const require = createRequire(import.meta.url);

/** The only credentials s3rver accepts (it checks signatures against them). */
const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/**
 * Starts an in-process s3rver on 127.0.0.1 and a free port, with `bucket` created and
 * listing fixed to behave like S3 (see `s3rver-patches.ts`). One per suite is the usual
 * pattern: start it in `beforeAll`, `stop()` it in `afterAll`.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const bucket = options.bucket ?? "sqlrep-test";
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new TestkitError("INVALID_ARGUMENT", `bucket name ${JSON.stringify(bucket)} is not a valid S3 bucket name (3-63 of a-z 0-9 . -)`);
  }
  // Loaded here, not at import: most users of the testkit never start an S3 server.
  // s3rver ships no types; it is a Koa app with this constructor.
  const S3rver = require("s3rver") as new (options: Record<string, unknown>) => S3rverInstance;
  const { S3Client } = await import("@aws-sdk/client-s3");
  installS3rverPatches();
  const temp: TempDir | undefined = options.directory === undefined ? tempDir("sqlrep-s3-") : undefined;
  const directory = options.directory ?? temp!.path;
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: options.silent ?? true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
    // Only path-style: never treat a Host header as a bucket name.
    vhostBuckets: false,
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    temp?.remove();
    throw error;
  }
  const { port } = address;
  const endpoint = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;

  return {
    endpoint,
    port,
    bucket,
    region: "us-east-1",
    ...CREDENTIALS,
    directory,
    url(prefix) {
      const path = prefix.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");
      return `s3://${bucket}/${path}?endpoint=${endpoint}&region=us-east-1&force-path-style=true`;
    },
    client(overrides = {}) {
      return new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...CREDENTIALS }, ...overrides });
    },
    stop() {
      stopping ??= (async () => {
        const closed = server.close();
        // close() waits for keep-alive connections (SDK clients hold some); cut them.
        server.httpServer?.closeAllConnections();
        await closed;
        temp?.remove();
      })();
      return stopping;
    },
  };
}
