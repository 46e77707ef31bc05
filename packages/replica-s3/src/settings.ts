// S3 settings resolved from a replica spec and the environment (Litestream's variables first,
// then AWS's), and the SDK client built from them.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { S3Client } from "@aws-sdk/client-s3";
import { ReplicaError, cleanPrefix } from "@sqlrep/replica";
import { checkCustomerKey, ensureEndpointScheme, isLocalHost } from "./spec-rules.js";
import type { S3ObjectParams } from "./object-params.js";
import { providerDefaults, providerOf, type S3Provider } from "./providers.js";
import { addRequestMiddleware } from "./request-middleware.js";
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
  /** The S3-compatible provider the endpoint names (its defaults are applied here); undefined for AWS and unknown hosts. */
  provider: S3Provider | undefined;
  /** SHA-256 payload signing; false: `UNSIGNED-PAYLOAD`. */
  signPayload: boolean;
  /** `Content-MD5` on DeleteObjects. */
  requireContentMd5: boolean;
  /** Parts of one upload in flight, when the spec or the provider says (else the store's default). */
  concurrency: number | undefined;
  /** Storage class and server-side encryption of the objects. */
  objects: S3ObjectParams;
  /** Headers sent with every request (a provider's). */
  headers: Readonly<Record<string, string>>;
}

/**
 * Resolves a replica spec the way Litestream does:
 * - endpoint: the spec's (`https://` assumed when it names no scheme), else
 *   `LITESTREAM_S3_ENDPOINT` (`http://` for a local or private host, else `https://`).
 *   A custom endpoint defaults to path-style addressing and region `us-east-1`; AWS uses
 *   the spec's region, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1` (the
 *   client then follows region redirects). An access point ARN's region is its own.
 * - provider defaults by endpoint (see `providers.ts`): Tigris (no Content-MD5,
 *   consistent reads), R2 (2 parts at a time), path style for B2, Filebase, MinIO,
 *   Supabase; whatever the spec sets wins.
 * - objects: storage class, SSE-KMS key, SSE-C key (given, or read from
 *   `sse-customer-key-path`; refused over http to a public host).
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
  const fromEnv = nonEmpty(env.LITESTREAM_S3_ENDPOINT);
  const specEndpoint = nonEmpty(spec.endpoint);
  const endpoint = specEndpoint !== undefined ? withScheme(specEndpoint) : fromEnv !== undefined ? ensureEndpointScheme(fromEnv) : undefined;
  const region = nonEmpty(spec.region) ?? (endpoint ? undefined : (nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION))) ?? "us-east-1";
  const provider = providerOf(endpoint);
  const defaults = providerDefaults(provider);
  const objects: S3ObjectParams = {
    ...(nonEmpty(spec.storageClass) ? { storageClass: spec.storageClass!.trim() } : {}),
    ...(spec.sseKmsKeyId ? { kmsKeyId: spec.sseKmsKeyId } : {}),
    ...customerKey(spec, endpoint, where),
  };
  return {
    bucket: spec.bucket,
    prefix: cleanPrefix(spec.path ?? ""),
    region,
    endpoint,
    forcePathStyle: spec.forcePathStyle ?? (defaults.forcePathStyle || endpoint !== undefined),
    skipVerify: spec.skipVerify ?? false,
    ...resolveCredentials(spec, env, where),
    provider,
    signPayload: spec.signPayload ?? defaults.signPayload ?? true,
    requireContentMd5: spec.requireContentMd5 ?? defaults.requireContentMd5 ?? true,
    concurrency: spec.concurrency ?? defaults.concurrency,
    objects,
    headers: defaults.headers ?? {},
  };
}

/**
 * The SSE-C key: the spec's, or the trimmed content of `sse-customer-key-path` (`~/`
 * is the home directory), checked to be 32 bytes in base64. As in Litestream, a key is
 * refused over plain http unless the endpoint is local or private.
 */
function customerKey(spec: S3Spec, endpoint: string | undefined, where: string): Pick<S3ObjectParams, "customerKey"> {
  let key = spec.sseCustomerKey;
  if (spec.sseCustomerKeyPath) {
    const path = spec.sseCustomerKeyPath.startsWith("~/") ? homedir() + spec.sseCustomerKeyPath.slice(1) : spec.sseCustomerKeyPath;
    try {
      key = readFileSync(path, "utf8").trim();
    } catch (err) {
      throw new ReplicaError("invalid-config", `cannot read sse-customer-key-path ${path}${where}: ${(err as Error).message}`, { key: "sse-customer-key-path", cause: err });
    }
    checkCustomerKey(key, `the key in sse-customer-key-path ${path}`);
  }
  if (key === undefined) return {};
  checkCustomerKey(key, "sse-customer-key");
  if (endpoint !== undefined && endpoint.startsWith("http://") && !isLocalHost(endpoint)) {
    throw new ReplicaError(
      "invalid-config",
      `sse-customer-key needs an https endpoint${where}: ${endpoint} would send the key in the clear (http is allowed for local and private hosts only)`,
      {
        key: "sse-customer-key",
      },
    );
  }
  return { customerKey: key };
}

/** The base64 MD5 of an SSE-C key (what S3 checks the key against). */
export function customerKeyMd5(key: string): string {
  return createHash("md5").update(Buffer.from(key, "base64")).digest("base64");
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
 * default CRC32 headers and trailers). Unsigned payloads, Content-MD5 on DeleteObjects
 * and a provider's headers are added by middleware (see `request-middleware.ts`).
 */
export function createS3Client(settings: S3Settings, options: S3ClientOptions = {}): S3Client {
  const retry = resolveRetry(options.retry);
  const agent = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: options.maxSockets ?? 64 };
  const client = new S3Client({
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
    // An access point ARN names its own region (Litestream sets UseARNRegion too).
    useArnRegion: true,
  });
  addRequestMiddleware(client, settings);
  return client;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function withScheme(endpoint: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
}
