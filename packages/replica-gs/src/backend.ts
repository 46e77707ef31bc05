/**
 * The Google Cloud Storage replica backend for an application's registry: `gs://` URLs,
 * the `bucket` key and, loaded only on first use, the client over `@google-cloud/storage`.
 * Import it from `@sqlrep/replica-gs/backend`: that entry does not load the SDK.
 */
import { cleanPrefix, rejectQuery, ReplicaError, type ReplicaBackend } from "@sqlrep/replica";
import type { GsSpec } from "./spec.js";

export type { GsSpec } from "./spec.js";

const KEYS = {
  bucket: {
    kind: "string",
    doc: "The bucket (credentials: $GOOGLE_APPLICATION_CREDENTIALS or Application Default Credentials; $STORAGE_EMULATOR_HOST for an emulator).",
    inUrl: true,
    global: true,
  },
} as const satisfies ReplicaBackend["keys"];

/** `gs://BUCKET/PATH` (Litestream v0.5; its v0.3 name `gcs://` is refused by v0.5 and here), or `type: gs` with `bucket:`. */
export const gsBackend: ReplicaBackend = {
  type: "gs",
  schemes: ["gs"],
  keys: KEYS,
  parseUrl(url, text) {
    if (url.hostname === "") throw new ReplicaError("invalid-url", `GCS URL ${text} has no bucket (gs://BUCKET/PATH)`, { key: text });
    if (url.username !== "" || url.port !== "") throw new ReplicaError("invalid-url", `GCS URL ${text} must name only a bucket and a path (gs://BUCKET/PATH)`, { key: text });
    rejectQuery(url, [], text);
    return { type: "gs", url: text, bucket: url.hostname, path: cleanPrefix(decodeURIComponent(url.pathname)) } satisfies GsSpec;
  },
  finish(spec) {
    const gs: GsSpec = { ...spec, path: cleanPrefix(typeof spec.path === "string" ? spec.path : "") };
    if (typeof gs.bucket !== "string" || gs.bucket === "") throw new ReplicaError("invalid-config", "a gs replica needs a bucket (or a url gs://BUCKET/PATH)", { key: "bucket" });
    return gs;
  },
  location(spec) {
    const gs = spec as GsSpec;
    return `gs:${gs.bucket ?? ""}|${cleanPrefix(gs.path ?? "")}`;
  },
  async load() {
    const { createGsReplicaClient } = await import("./replica.js");
    return (spec, context) => createGsReplicaClient(spec, { env: context.env });
  },
};

/** A `gs://` URL as a GCS spec (what a registry with {@link gsBackend} parses it to). */
export function parseGsUrl(text: string): GsSpec {
  const url = new URL(text);
  if (url.protocol !== "gs:") throw new ReplicaError("invalid-url", `not a GCS URL: ${text}`, { key: text });
  return gsBackend.parseUrl(url, text);
}
