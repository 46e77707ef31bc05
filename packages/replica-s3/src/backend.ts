/**
 * The S3 replica backend for an application's registry: `s3://` URLs, the S3 config keys
 * (validated by the app's strict config) and, loaded only on first use, the client over
 * the AWS SDK. Import it from `@sqlrep/replica-s3/backend`: that entry does not load the SDK.
 */
import { cleanPrefix, keyField, parseBoolParam, rejectQuery, ReplicaError, type BackendKey, type ReplicaBackend } from "@sqlrep/replica";
import type { S3Spec } from "./spec.js";
import { checkCustomerKey, ensureEndpointScheme } from "./spec-rules.js";
import { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, MAX_CONCURRENCY, MAX_PART_SIZE, MIN_PART_SIZE } from "./limits.js";

const KEYS = {
  bucket: { kind: "string", doc: "The bucket, or an S3 access point ARN.", inUrl: true, global: true },
  endpoint: { kind: "string", doc: "An S3-compatible endpoint URL (MinIO, R2, …); else $LITESTREAM_S3_ENDPOINT, else AWS.", global: true },
  region: { kind: "string", doc: "The bucket's region; else $AWS_REGION, else us-east-1.", global: true },
  "force-path-style": { kind: "boolean", doc: "Path-style addressing (the default with a custom endpoint).", global: true },
  "skip-verify": { kind: "boolean", doc: "Do not verify the endpoint's TLS certificate.", default: false, global: true },
  "access-key-id": { kind: "string", doc: "Access key ID; else $AWS_ACCESS_KEY_ID / $LITESTREAM_ACCESS_KEY_ID, else the SDK's chain.", global: true, group: "credentials" },
  "secret-access-key": { kind: "string", doc: "Secret access key (with access-key-id).", global: true, group: "credentials" },
  "part-size": { kind: "byte-size", doc: "Multipart part size.", default: DEFAULT_PART_SIZE, min: MIN_PART_SIZE, max: MAX_PART_SIZE, global: true },
  concurrency: { kind: "integer", doc: "Parts of one upload in flight (Cloudflare R2: 2 unless set).", default: DEFAULT_CONCURRENCY, min: 1, max: MAX_CONCURRENCY, global: true },
  "storage-class": { kind: "string", doc: "The storage class of every object written (STANDARD_IA, INTELLIGENT_TIERING, …).", global: true },
  "sign-payload": { kind: "boolean", doc: "Sign request payloads (SHA-256); false sends UNSIGNED-PAYLOAD.", default: true, global: true },
  "require-content-md5": { kind: "boolean", doc: "Send Content-MD5 with DeleteObjects (false on Tigris unless set).", default: true, global: true },
  "sse-customer-algorithm": { kind: "string", doc: "SSE-C algorithm: AES256 (with a key).", default: "AES256", global: true },
  "sse-customer-key": { kind: "string", doc: "SSE-C key: 32 bytes, base64.", global: true },
  "sse-customer-key-path": { kind: "string", doc: "A file holding the SSE-C key (base64).", global: true },
  "sse-kms-key-id": { kind: "string", doc: "SSE-KMS key ID, ARN or alias for every object written.", global: true },
} as const satisfies ReplicaBackend["keys"];

type QueryField =
  | "endpoint"
  | "region"
  | "forcePathStyle"
  | "skipVerify"
  | "signPayload"
  | "requireContentMd5"
  | "storageClass"
  | "partSize"
  | "concurrency"
  | "sseCustomerAlgorithm"
  | "sseCustomerKey"
  | "sseKmsKeyId";

/** URL query parameters, in Litestream's kebab-case and camelCase spellings, by spec field. */
const QUERY: Record<string, QueryField> = {
  endpoint: "endpoint",
  region: "region",
  "force-path-style": "forcePathStyle",
  forcePathStyle: "forcePathStyle",
  "skip-verify": "skipVerify",
  skipVerify: "skipVerify",
  "sign-payload": "signPayload",
  signPayload: "signPayload",
  "require-content-md5": "requireContentMd5",
  requireContentMD5: "requireContentMd5",
  "storage-class": "storageClass",
  storageClass: "storageClass",
  "part-size": "partSize",
  partSize: "partSize",
  concurrency: "concurrency",
  "sse-customer-algorithm": "sseCustomerAlgorithm",
  sseCustomerAlgorithm: "sseCustomerAlgorithm",
  "sse-customer-key": "sseCustomerKey",
  sseCustomerKey: "sseCustomerKey",
  "sse-kms-key-id": "sseKmsKeyId",
  sseKmsKeyId: "sseKmsKeyId",
};
const BOOLEAN_FIELDS = new Set<QueryField>(["forcePathStyle", "skipVerify", "signPayload", "requireContentMd5"]);
const INTEGER_FIELDS = new Set<QueryField>(["partSize", "concurrency"]);

export type { S3Spec } from "./spec.js";

/**
 * `s3://bucket/prefix?endpoint=…&region=…&force-path-style=true&…` (the query parameters
 * above), `s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/prefix`, or `type: s3` with
 * `bucket:` and the keys above.
 */
export const s3Backend: ReplicaBackend = {
  type: "s3",
  schemes: ["s3"],
  keys: KEYS,
  parseText(text) {
    return /^s3:\/\/arn:/i.test(text) ? parseAccessPointUrl(text) : undefined;
  },
  parseUrl(url, text) {
    if (url.hostname === "") throw new ReplicaError("invalid-url", `S3 URL ${text} has no bucket`, { key: text });
    const spec: S3Spec = { type: "s3", url: text, path: cleanPrefix(decodeURIComponent(url.pathname)), ...parseS3Host(url) };
    applyQuery(spec, url.searchParams, text);
    return spec;
  },
  finish(spec) {
    const s3: S3Spec = { ...spec, path: cleanPrefix(typeof spec.path === "string" ? spec.path : "") };
    if (typeof s3.bucket !== "string" || s3.bucket === "") throw new ReplicaError("invalid-config", "an s3 replica needs a bucket (or a url)", { key: "bucket" });
    // A custom endpoint is S3-compatible storage: path-style unless told otherwise.
    if (s3.forcePathStyle === undefined && s3.endpoint !== undefined) s3.forcePathStyle = true;
    for (const [key, def] of Object.entries(KEYS) as [string, BackendKey][]) {
      const value = s3[keyField(key, def)];
      if (typeof value === "number" && def.min !== undefined && def.max !== undefined && (value < def.min || value > def.max)) {
        throw new ReplicaError("invalid-config", `${key} ${value} is out of range (${def.min}..${def.max})`, { key });
      }
    }
    checkEncryption(s3);
    return s3;
  },
  location(spec) {
    const s3 = spec as S3Spec;
    return `s3:${s3.endpoint ?? ""}|${s3.bucket ?? ""}|${cleanPrefix(s3.path ?? "")}`;
  },
  async load() {
    const { createS3ReplicaClient } = await import("./replica.js");
    return (spec, context) => createS3ReplicaClient(spec, { env: context.env });
  },
};

/** Sets the spec fields of a URL's query parameters (both spellings), checking their values. */
function applyQuery(spec: S3Spec, query: URLSearchParams, text: string): void {
  rejectQuery({ searchParams: query } as URL, Object.keys(QUERY), text);
  for (const [name, value] of query) {
    const field = QUERY[name]!;
    if (BOOLEAN_FIELDS.has(field)) spec[field as "signPayload"] = parseBoolParam(value, name, text);
    else if (INTEGER_FIELDS.has(field)) {
      if (!/^[1-9][0-9]*$/.test(value)) throw new ReplicaError("invalid-url", `query parameter ${name}=${value} in ${text} must be a positive integer`, { key: text });
      spec[field as "partSize"] = Number(value);
    } else if (field === "endpoint") {
      spec.endpoint = ensureEndpointScheme(value);
      // An endpoint in the URL means path style, unless the URL says otherwise.
      if (query.get("force-path-style") === null && query.get("forcePathStyle") === null) spec.forcePathStyle = true;
    } else spec[field as "region"] = value;
  }
}

/**
 * SSE-C and SSE-KMS as Litestream checks them: not both, AES256 only, a key of 32 bytes
 * in base64, and (stricter than Litestream, which ignores the rest) one source of key
 * and no algorithm without a key.
 */
function checkEncryption(s3: S3Spec): void {
  const customer = s3.sseCustomerKey !== undefined || s3.sseCustomerKeyPath !== undefined;
  if (customer && s3.sseKmsKeyId !== undefined) {
    throw new ReplicaError("invalid-config", "sse-customer-key and sse-kms-key-id cannot both be set: an object is encrypted one way", { key: "sse-kms-key-id" });
  }
  if (s3.sseCustomerKey !== undefined && s3.sseCustomerKeyPath !== undefined) {
    throw new ReplicaError("invalid-config", "give the SSE-C key once: sse-customer-key or sse-customer-key-path", { key: "sse-customer-key-path" });
  }
  if (s3.sseCustomerAlgorithm !== undefined && !customer) {
    throw new ReplicaError("invalid-config", "sse-customer-algorithm needs sse-customer-key or sse-customer-key-path", { key: "sse-customer-key" });
  }
  if (s3.sseCustomerAlgorithm !== undefined && s3.sseCustomerAlgorithm !== "AES256") {
    throw new ReplicaError("invalid-config", `sse-customer-algorithm must be AES256, not ${JSON.stringify(s3.sseCustomerAlgorithm)}`, { key: "sse-customer-algorithm" });
  }
  if (s3.sseCustomerKey !== undefined) checkCustomerKey(s3.sseCustomerKey, "sse-customer-key");
}

/** `s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME[/prefix][?query]`: the ARN is the bucket, its region the region. */
function parseAccessPointUrl(text: string): S3Spec {
  const rest = text.slice("s3://".length);
  const [arnAndPath = "", queryText] = rest.split("?", 2) as [string, string | undefined];
  const m = /^(arn:[^:/]+:s3:([^:/]*):([^:/]*):accesspoint\/([^/]+))(?:\/(.*))?$/i.exec(arnAndPath);
  if (!m || m[4] === "")
    throw new ReplicaError("invalid-url", `invalid S3 access point URL ${text}: expected s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/PREFIX`, { key: text });
  const spec: S3Spec = { type: "s3", url: text, bucket: m[1], path: cleanPrefix(decodeURIComponent(m[5] ?? "")) };
  if (m[2]) spec.region = m[2];
  applyQuery(spec, new URLSearchParams(queryText ?? ""), text);
  return spec;
}

/**
 * The bucket, and what the host says about region and endpoint, as Litestream v0.5's
 * `ParseHost`: `bucket.host:PORT` without `.com` (a local S3-compatible server: http,
 * path style); `bucket.s3[.REGION].amazonaws.com`; `bucket.REGION.digitaloceanspaces.com`;
 * `bucket.s3.REGION.backblazeb2.com` (path style); `bucket.s3.filebase.com`;
 * `bucket.s3.REGION.scw.cloud`; anything else is the bucket name itself (AWS).
 */
function parseS3Host(url: URL): Partial<S3Spec> {
  const host = url.hostname;
  if (url.port !== "" && !host.includes(".com")) {
    const dot = host.indexOf(".");
    if (dot < 0) return { endpoint: `http://${url.host}`, forcePathStyle: true };
    return { bucket: host.slice(0, dot), endpoint: `http://${host.slice(dot + 1)}:${url.port}`, forcePathStyle: true };
  }
  let m = /^(.+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/.exec(host);
  if (m) return { bucket: m[1], ...(m[2] ? { region: m[2] } : {}) };
  if ((m = /^(.+)\.([^.]+)\.digitaloceanspaces\.com$/.exec(host))) return { bucket: m[1], region: m[2], endpoint: `https://${m[2]}.digitaloceanspaces.com`, forcePathStyle: false };
  if ((m = /^(.+)\.s3\.([^.]+)\.backblazeb2\.com$/.exec(host))) return { bucket: m[1], region: m[2], endpoint: `https://s3.${m[2]}.backblazeb2.com`, forcePathStyle: true };
  if ((m = /^(.+)\.s3\.filebase\.com$/.exec(host))) return { bucket: m[1], endpoint: "https://s3.filebase.com" };
  if ((m = /^(.+)\.s3\.([^.]+)\.scw\.cloud$/.exec(host))) return { bucket: m[1], region: m[2], endpoint: `https://s3.${m[2]}.scw.cloud`, forcePathStyle: false };
  return { bucket: host };
}

/** An `s3://` URL as an S3 spec (what a registry with {@link s3Backend} parses it to). */
export function parseS3Url(text: string): S3Spec {
  const url = new URL(text);
  if (url.protocol !== "s3:") throw new ReplicaError("invalid-url", `not an S3 URL: ${text}`, { key: text });
  return s3Backend.parseUrl(url, text);
}
