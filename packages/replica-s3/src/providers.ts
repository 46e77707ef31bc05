/**
 * S3-compatible providers told apart by their endpoint, and the defaults Litestream v0.5
 * applies to each (a setting the user gives always wins): Tigris wants no Content-MD5
 * and consistent reads; Cloudflare R2 uploads 2 parts at a time; B2, Filebase, MinIO and
 * Supabase need path-style addressing; all of these, and Hetzner, DigitalOcean and
 * Scaleway, need signed payloads (our default anyway).
 */

/** A provider recognized by its endpoint's host. */
export type S3Provider = "tigris" | "r2" | "backblaze" | "filebase" | "minio" | "supabase" | "hetzner" | "digitalocean" | "scaleway";

/** What a provider changes unless the user set it. */
export interface ProviderDefaults {
  forcePathStyle?: true;
  requireContentMd5?: false;
  signPayload?: true;
  concurrency?: number;
  /** Extra request headers (Tigris: `X-Tigris-Consistent: true`). */
  headers?: Readonly<Record<string, string>>;
}

/** Cloudflare R2's multipart concurrency in Litestream (R2 throttles parallel parts of one upload). */
export const R2_CONCURRENCY = 2;

const DEFAULTS: Record<S3Provider, ProviderDefaults> = {
  tigris: { signPayload: true, requireContentMd5: false, headers: { "x-tigris-consistent": "true" } },
  r2: { signPayload: true, concurrency: R2_CONCURRENCY },
  backblaze: { signPayload: true, forcePathStyle: true },
  filebase: { signPayload: true, forcePathStyle: true },
  minio: { signPayload: true, forcePathStyle: true },
  supabase: { signPayload: true, forcePathStyle: true },
  hetzner: { signPayload: true },
  digitalocean: { signPayload: true },
  scaleway: { signPayload: true },
};

/** The defaults of a provider (none for AWS and unknown endpoints). */
export function providerDefaults(provider: S3Provider | undefined): ProviderDefaults {
  return provider === undefined ? {} : DEFAULTS[provider];
}

/** Known cloud hosts: a `host:port` endpoint that is none of these counts as MinIO-like. */
const CLOUD_HOSTS = [
  ".amazonaws.com",
  ".digitaloceanspaces.com",
  ".backblazeb2.com",
  ".filebase.com",
  ".scw.cloud",
  ".r2.cloudflarestorage.com",
  "tigris.dev",
  "t3.storage.dev",
  ".supabase.co",
];

/** The provider of an endpoint URL (or bare `host[:port]`), as Litestream v0.5 recognizes it. */
export function providerOf(endpoint: string | undefined): S3Provider | undefined {
  const host = hostOf(endpoint);
  if (host === undefined) return undefined;
  const name = host.replace(/:\d+$/, "");
  if (name === "fly.storage.tigris.dev" || name === "t3.storage.dev") return "tigris";
  if (name.endsWith(".r2.cloudflarestorage.com")) return "r2";
  if (name.endsWith(".backblazeb2.com")) return "backblaze";
  if (name === "s3.filebase.com") return "filebase";
  if (name.endsWith(".supabase.co")) return "supabase";
  if (name.endsWith(".your-objectstorage.com")) return "hetzner";
  if (name.endsWith(".digitaloceanspaces.com")) return "digitalocean";
  if (name.endsWith(".scw.cloud")) return "scaleway";
  if (host.includes(":") && !CLOUD_HOSTS.some((cloud) => host.includes(cloud))) return "minio";
  return undefined;
}

/** The lower-cased `host[:port]` of an endpoint, or undefined. */
function hostOf(endpoint: string | undefined): string | undefined {
  const text = endpoint?.trim().toLowerCase();
  if (!text) return undefined;
  if (!/^https?:\/\//.test(text)) return text.split("/")[0];
  try {
    const url = new URL(text);
    return url.username !== "" ? undefined : url.host;
  } catch {
    return undefined;
  }
}
