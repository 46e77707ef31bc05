/**
 * The S3 replica backend for an application's registry: `s3://` URLs, the S3 config keys
 * (validated by the app's strict config) and, loaded only on first use, the client over
 * the AWS SDK. Import it from `@sqlrep/replica-s3/backend`: that entry does not load the SDK.
 */
import { cleanPrefix, keyField, parseBoolParam, rejectQuery, ReplicaError, type BackendKey, type ReplicaBackend } from "@sqlrep/replica";
import type { S3Spec } from "./spec.js";
import { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, MAX_CONCURRENCY, MAX_PART_SIZE, MIN_PART_SIZE } from "./limits.js";

const KEYS = {
  bucket: { kind: "string", doc: "The bucket.", inUrl: true, global: true },
  endpoint: { kind: "string", doc: "An S3-compatible endpoint URL (MinIO, R2, …); else $LITESTREAM_S3_ENDPOINT, else AWS.", global: true },
  region: { kind: "string", doc: "The bucket's region; else $AWS_REGION, else us-east-1.", global: true },
  "force-path-style": { kind: "boolean", doc: "Path-style addressing (the default with a custom endpoint).", global: true },
  "skip-verify": { kind: "boolean", doc: "Do not verify the endpoint's TLS certificate.", default: false, global: true },
  "access-key-id": { kind: "string", doc: "Access key ID; else $AWS_ACCESS_KEY_ID / $LITESTREAM_ACCESS_KEY_ID, else the SDK's chain.", global: true, group: "credentials" },
  "secret-access-key": { kind: "string", doc: "Secret access key (with access-key-id).", global: true, group: "credentials" },
  "part-size": { kind: "byte-size", doc: "Multipart part size.", default: DEFAULT_PART_SIZE, min: MIN_PART_SIZE, max: MAX_PART_SIZE, global: true },
  concurrency: { kind: "integer", doc: "Parts of one upload in flight.", default: DEFAULT_CONCURRENCY, min: 1, max: MAX_CONCURRENCY, global: true },
} as const satisfies ReplicaBackend["keys"];

/** URL query parameters, in Litestream's kebab-case and camelCase spellings, by spec field. */
const QUERY: Record<string, "endpoint" | "region" | "forcePathStyle" | "skipVerify"> = {
  endpoint: "endpoint",
  region: "region",
  "force-path-style": "forcePathStyle",
  forcePathStyle: "forcePathStyle",
  "skip-verify": "skipVerify",
  skipVerify: "skipVerify",
};

export type { S3Spec } from "./spec.js";

/** `s3://bucket/prefix?endpoint=…&region=…&force-path-style=true`, or `type: s3` with `bucket:` and the keys above. */
export const s3Backend: ReplicaBackend = {
  type: "s3",
  schemes: ["s3"],
  keys: KEYS,
  parseUrl(url, text) {
    if (url.hostname === "") throw new ReplicaError("invalid-url", `S3 URL ${text} has no bucket`, { key: text });
    rejectQuery(url, Object.keys(QUERY), text);
    const spec: S3Spec = { type: "s3", url: text, path: cleanPrefix(decodeURIComponent(url.pathname)), ...parseS3Host(url) };
    for (const [name, value] of url.searchParams) {
      const field = QUERY[name]!;
      if (field === "forcePathStyle" || field === "skipVerify") spec[field] = parseBoolParam(value, name, text);
      else spec[field] = value;
    }
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

/**
 * The bucket, and what the host says about region and endpoint: `bucket`,
 * `bucket.s3.REGION.amazonaws.com`, `bucket.s3.amazonaws.com`, `bucket.localhost:PORT`
 * (a local S3-compatible server: http, path style), other `bucket.host:PORT` forms.
 */
function parseS3Host(url: URL): Partial<S3Spec> {
  const host = url.hostname;
  const aws = /^(.+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/.exec(host);
  if (aws) return { bucket: aws[1], ...(aws[2] ? { region: aws[2] } : {}) };
  const dot = host.indexOf(".");
  if (dot < 0) return { bucket: host };
  const rest = host.slice(dot + 1) + (url.port ? `:${url.port}` : "");
  const local = rest.startsWith("localhost") || /^\d+\.\d+\.\d+\.\d+(:\d+)?$/.test(rest);
  return { bucket: host.slice(0, dot), endpoint: `${local ? "http" : "https"}://${rest}`, forcePathStyle: true };
}

/** An `s3://` URL as an S3 spec (what a registry with {@link s3Backend} parses it to). */
export function parseS3Url(text: string): S3Spec {
  const url = new URL(text);
  if (url.protocol !== "s3:") throw new ReplicaError("invalid-url", `not an S3 URL: ${text}`, { key: text });
  return s3Backend.parseUrl(url, text);
}
