import { ReplicaError } from "./errors.js";
import { cleanPrefix } from "./layout.js";

/**
 * A replica described by its settings: what a `url:` or the `type`/`bucket`/`path`/…
 * keys of a Litestream config resolve to. Backends read the fields they know.
 */
export interface ReplicaSpec {
  /** Backend: "file", "s3", … */
  type: string;
  /** Directory (file) or key prefix (object stores). */
  path?: string | undefined;
  bucket?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  forcePathStyle?: boolean | undefined;
  skipVerify?: boolean | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** The URL this spec was parsed from, if any (for messages). */
  url?: string | undefined;
}

/** Schemes Litestream knows that sqlrep does not serve yet: a clear error, not a guess. */
const KNOWN_UNSUPPORTED = ["gs", "gcs", "abs", "sftp", "nats", "webdav", "webdavs", "oss"];

/** S3 URL query parameters, in Litestream's kebab-case and camelCase spellings. */
const S3_QUERY: Record<string, keyof ReplicaSpec> = {
  endpoint: "endpoint",
  region: "region",
  "force-path-style": "forcePathStyle",
  forcePathStyle: "forcePathStyle",
  "skip-verify": "skipVerify",
  skipVerify: "skipVerify",
};

/**
 * Parses a replica URL (`file:///dir`, `s3://bucket/prefix?endpoint=…&region=…&force-path-style=true`)
 * or a plain directory path. Unknown schemes and query parameters are errors that name them.
 */
export function parseReplicaUrl(text: string): ReplicaSpec {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (text.trim() === "") throw new ReplicaError("invalid-url", "empty replica URL");
    return { type: "file", path: text, url: text };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new ReplicaError("invalid-url", `invalid replica URL ${JSON.stringify(text)}`, { key: text, cause: err });
  }
  switch (scheme) {
    case "file":
      if (url.host !== "" && url.host !== "localhost") {
        throw new ReplicaError("invalid-url", `file URL ${text} must not name a host (use file:///absolute/path)`, { key: text });
      }
      rejectQuery(url, {}, text);
      return { type: "file", path: decodeURIComponent(url.pathname), url: text };
    case "s3":
      return parseS3Url(url, text);
    default:
      if (KNOWN_UNSUPPORTED.includes(scheme)) {
        throw new ReplicaError("unsupported-scheme", `replica scheme ${scheme}:// is not supported by sqlrep yet (supported: file, s3)`, { key: text });
      }
      throw new ReplicaError("unsupported-scheme", `unknown replica scheme ${scheme}:// in ${text} (supported: file, s3)`, { key: text });
  }
}

function parseS3Url(url: URL, text: string): ReplicaSpec {
  if (url.hostname === "") throw new ReplicaError("invalid-url", `S3 URL ${text} has no bucket`, { key: text });
  const spec: ReplicaSpec = { type: "s3", url: text, path: cleanPrefix(decodeURIComponent(url.pathname)) };
  Object.assign(spec, parseS3Host(url));
  rejectQuery(url, S3_QUERY, text);
  for (const [name, value] of url.searchParams) {
    const field = S3_QUERY[name]!;
    if (field === "forcePathStyle" || field === "skipVerify") spec[field] = parseBool(value, name, text);
    else (spec as unknown as Record<string, string>)[field] = value;
  }
  return spec;
}

/**
 * The bucket, and what the host says about region and endpoint: `bucket`,
 * `bucket.s3.REGION.amazonaws.com`, `bucket.s3.amazonaws.com`, `bucket.localhost:PORT`
 * (a local S3-compatible server: http, path style), other `bucket.host:PORT` forms.
 */
function parseS3Host(url: URL): Partial<ReplicaSpec> {
  const host = url.hostname;
  const aws = /^(.+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/.exec(host);
  if (aws) return { bucket: aws[1], ...(aws[2] ? { region: aws[2] } : {}) };
  const dot = host.indexOf(".");
  if (dot < 0) return { bucket: host };
  const rest = host.slice(dot + 1) + (url.port ? `:${url.port}` : "");
  const local = rest.startsWith("localhost") || /^\d+\.\d+\.\d+\.\d+(:\d+)?$/.test(rest);
  return { bucket: host.slice(0, dot), endpoint: `${local ? "http" : "https"}://${rest}`, forcePathStyle: true };
}

function rejectQuery(url: URL, allowed: Record<string, unknown>, text: string): void {
  for (const name of url.searchParams.keys()) {
    if (!(name in allowed)) {
      const known = Object.keys(allowed);
      throw new ReplicaError(
        "invalid-url",
        `unknown query parameter ${JSON.stringify(name)} in replica URL ${text}` + (known.length ? ` (known: ${known.join(", ")})` : ""),
        { key: text },
      );
    }
  }
}

function parseBool(value: string, name: string, text: string): boolean {
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new ReplicaError("invalid-url", `query parameter ${name}=${value} in ${text} is not a boolean`, { key: text });
}
