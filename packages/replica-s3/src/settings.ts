import { S3Client } from "@aws-sdk/client-s3";
import { ReplicaError, cleanPrefix } from "@sqlrep/replica";
import type { S3Spec } from "./spec.js";
import { BackoffRetryStrategy, resolveRetry, type RetryOptions } from "./retry.js";

/** Where the credentials of a client came from (for logs and `litestream` diagnostics). */
export type CredentialSource = "spec" | "LITESTREAM_*" | "AWS_*" | "sdk-default-chain";

/** Everything needed to build an S3 client for a replica, resolved from a spec and the environment. */
export interface S3Settings {
  bucket: string;
  /** The replica's key prefix, cleaned (no leading or trailing `/`; may be empty). */
  prefix: string;
  region: string;
  /** A custom (S3-compatible) endpoint URL; undefined for AWS. */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  skipVerify: boolean;
  /** Undefined: the SDK's default chain (profiles, SSO, web identity, IMDS…) decides. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  credentialSource: CredentialSource;
}

/**
 * Resolves a replica spec the way Litestream does:
 * - endpoint: the spec's, else `LITESTREAM_S3_ENDPOINT`; `https://` is assumed when it
 *   names no scheme. A custom endpoint defaults to path-style addressing and region
 *   `us-east-1`; AWS uses the spec's region, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else
 *   `us-east-1` (the client then follows region redirects).
 * - credentials: the spec's pair; else, each variable on its own, `AWS_ACCESS_KEY_ID` /
 *   `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`), and `LITESTREAM_ACCESS_KEY_ID` /
 *   `LITESTREAM_SECRET_ACCESS_KEY` where the `AWS_*` one is unset — exactly Litestream's
 *   rule (it copies `LITESTREAM_*` into unset `AWS_*` variables) so an environment that
 *   works with Litestream signs the same way here; else the SDK's default chain.
 *   Half a pair is an error naming the missing half.
 */
export function resolveS3Settings(spec: S3Spec, env: NodeJS.ProcessEnv = process.env): S3Settings {
  const where = spec.url ? ` (${spec.url})` : "";
  if (spec.type !== "s3") throw new ReplicaError("invalid-config", `not an S3 replica spec: type ${JSON.stringify(spec.type)}${where}`, { key: spec.url });
  if (!spec.bucket) {
    throw new ReplicaError("invalid-config", `S3 replica has no bucket${where}: set "bucket" or use a URL s3://BUCKET/PATH`, { key: spec.url });
  }
  const rawEndpoint = nonEmpty(spec.endpoint) ?? nonEmpty(env.LITESTREAM_S3_ENDPOINT);
  const endpoint = rawEndpoint === undefined ? undefined : withScheme(rawEndpoint);
  const region = nonEmpty(spec.region) ?? (endpoint ? undefined : nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION)) ?? "us-east-1";
  return {
    bucket: spec.bucket,
    prefix: cleanPrefix(spec.path ?? ""),
    region,
    endpoint,
    forcePathStyle: spec.forcePathStyle ?? endpoint !== undefined,
    skipVerify: spec.skipVerify ?? false,
    ...resolveCredentials(spec, env, where),
  };
}

function resolveCredentials(spec: S3Spec, env: NodeJS.ProcessEnv, where: string): Pick<S3Settings, "credentials" | "credentialSource"> {
  const specId = nonEmpty(spec.accessKeyId);
  const specSecret = nonEmpty(spec.secretAccessKey);
  if (specId !== undefined || specSecret !== undefined) {
    if (specId === undefined || specSecret === undefined) {
      const missing = specId === undefined ? "access-key-id" : "secret-access-key";
      throw new ReplicaError("invalid-config", `S3 replica${where} sets only half of its credentials: ${missing} is missing`, { key: spec.url });
    }
    return { credentials: { accessKeyId: specId, secretAccessKey: specSecret }, credentialSource: "spec" };
  }
  // Each variable on its own, as Litestream copies LITESTREAM_* into unset AWS_* ones.
  const id = fromEnv(env, "ACCESS_KEY_ID");
  const secret = fromEnv(env, "SECRET_ACCESS_KEY");
  if (id === undefined && secret === undefined) return { credentials: undefined, credentialSource: "sdk-default-chain" };
  if (id === undefined || secret === undefined) {
    const [have, missing] = id === undefined ? [secret!.name, "ACCESS_KEY_ID"] : [id.name, "SECRET_ACCESS_KEY"];
    throw new ReplicaError("invalid-config", `S3 replica${where}: ${have} is set but neither LITESTREAM_${missing} nor AWS_${missing} is`, { key: spec.url });
  }
  const sessionToken = id.name.startsWith("AWS_") && secret.name.startsWith("AWS_") ? nonEmpty(env.AWS_SESSION_TOKEN) : undefined;
  return {
    credentials: { accessKeyId: id.value, secretAccessKey: secret.value, ...(sessionToken ? { sessionToken } : {}) },
    credentialSource: id.name.startsWith("LITESTREAM_") ? "LITESTREAM_*" : "AWS_*",
  };
}

function fromEnv(env: NodeJS.ProcessEnv, suffix: string): { name: string; value: string } | undefined {
  for (const name of [`AWS_${suffix}`, `LITESTREAM_${suffix}`]) {
    const value = nonEmpty(env[name]);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** Knobs of the clients {@link createS3Client} builds. */
export interface S3ClientOptions {
  /** Retries of every request (default 5 attempts, full-jitter backoff from 100 ms, at most 5 s a wait). */
  retry?: RetryOptions | undefined;
  /** Time to establish a TCP/TLS connection before the attempt fails (default 5 s). */
  connectionTimeoutMs?: number | undefined;
  /** A socket silent this long fails the attempt (default 30 s); bounds a stalled body too. */
  socketTimeoutMs?: number | undefined;
  /** Sockets per host in the keep-alive pool (default 64). */
  maxSockets?: number | undefined;
}

/**
 * An S3Client for resolved settings: keep-alive sockets (a pool of `maxSockets`),
 * connection and idle-socket timeouts, our backoff retry strategy. Custom endpoints get
 * checksums only where S3 requires them (many S3-compatible servers reject the SDK's
 * default CRC32 headers and trailers).
 */
export function createS3Client(settings: S3Settings, options: S3ClientOptions = {}): S3Client {
  const retry = resolveRetry(options.retry);
  const agent = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: options.maxSockets ?? 64 };
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : { followRegionRedirects: true }),
    forcePathStyle: settings.forcePathStyle,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    maxAttempts: retry.maxAttempts,
    retryStrategy: new BackoffRetryStrategy(retry),
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      socketTimeout: options.socketTimeoutMs ?? 30_000,
      httpAgent: agent,
      httpsAgent: { ...agent, rejectUnauthorized: !settings.skipVerify },
    },
    ...(settings.endpoint ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" } : {}),
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function withScheme(endpoint: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
}
