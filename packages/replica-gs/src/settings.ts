/** A GCS replica spec plus the environment → what the SDK client needs, read the way Litestream's Go client reads it. */
import { cleanPrefix, ReplicaError } from "@sqlrep/replica";
import type { GsSpec } from "./spec.js";

/** Where requests go and how they are authorised. */
export type GsCredentialSource = "GOOGLE_APPLICATION_CREDENTIALS" | "application-default" | "none (emulator)";

/** Everything needed to build a client for a GCS replica. */
export interface GsSettings {
  bucket: string;
  /** The replica's path in the bucket, cleaned (no leading or trailing `/`; may be empty). */
  prefix: string;
  /** `$STORAGE_EMULATOR_HOST` as a URL (`http://` added to a bare host:port); undefined for Google. */
  emulatorHost: string | undefined;
  /** A service-account key file (`$GOOGLE_APPLICATION_CREDENTIALS`). */
  keyFilename: string | undefined;
  credentialSource: GsCredentialSource;
}

/**
 * Resolves a spec: with `STORAGE_EMULATOR_HOST` requests go there unauthenticated (as
 * Google's SDKs do); else `GOOGLE_APPLICATION_CREDENTIALS` names a key file, else the
 * Application Default Credentials chain (gcloud, metadata server) decides.
 */
export function resolveGsSettings(spec: GsSpec, env: NodeJS.ProcessEnv = process.env): GsSettings {
  const where = spec.url ? ` (${spec.url})` : "";
  if (spec.type !== "gs") throw new ReplicaError("invalid-config", `not a GCS replica spec: type ${JSON.stringify(spec.type)}${where}`, { key: spec.url });
  if (!spec.bucket) throw new ReplicaError("invalid-config", `GCS replica has no bucket${where}: set "bucket" or use a URL gs://BUCKET/PATH`, { key: "bucket" });
  const emulator = nonEmpty(env.STORAGE_EMULATOR_HOST);
  const keyFilename = nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS);
  return {
    bucket: spec.bucket,
    prefix: cleanPrefix(spec.path ?? ""),
    emulatorHost: emulator === undefined ? undefined : /^https?:\/\//.test(emulator) ? emulator.replace(/\/+$/, "") : `http://${emulator}`,
    keyFilename: emulator === undefined ? keyFilename : undefined,
    credentialSource: emulator !== undefined ? "none (emulator)" : keyFilename !== undefined ? "GOOGLE_APPLICATION_CREDENTIALS" : "application-default",
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
