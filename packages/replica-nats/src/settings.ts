/** A NATS replica spec resolved into connection options: server, authentication as Litestream picks it, TLS, reconnects. */
import { readFileSync } from "node:fs";
import { credsAuthenticator, jwtAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions } from "@nats-io/transport-node";
import { cleanPrefix, ReplicaError } from "@sqlrep/replica";
import { NATS_DEFAULTS, type NatsSpec } from "./spec.js";

/** Everything needed to reach one bucket. */
export interface NatsSettings {
  /** `host:port` */
  server: string;
  bucket: string;
  /** Object names start with `<prefix>/` (empty: the bucket's root, Litestream's layout). */
  prefix: string;
  /** Which credentials are used, for messages: "jwt", "creds", "nkey", "username", "token" or "none". */
  auth: "jwt" | "creds" | "nkey" | "username" | "token" | "none";
  /** Milliseconds to connect and to wait for a JetStream answer. */
  timeoutMs: number;
  connection: ConnectionOptions;
  /** `nats://host:port/bucket/prefix`, for messages (no credentials). */
  location: string;
}

/**
 * Resolves a spec. Credentials are taken in Litestream's order — jwt with seed, else
 * creds, else nkey, else username with password, else token — and files (creds, CA
 * certificates, client certificate and key) are read here, so a missing one fails at
 * once naming its key. Litestream reads no environment variable for NATS.
 */
export function resolveNatsSettings(spec: NatsSpec): NatsSettings {
  if (spec.type !== "nats") throw new ReplicaError("invalid-config", `not a NATS replica spec: type ${JSON.stringify(spec.type)}`, { key: "type" });
  if (!spec.bucket)
    throw new ReplicaError("invalid-config", `NATS replica has no bucket${spec.url ? ` (${spec.url})` : ""}: set "bucket" or use a URL nats://HOST/BUCKET`, { key: "bucket" });
  const server = spec.server || NATS_DEFAULTS.server;
  const timeoutMs = spec.timeout ?? NATS_DEFAULTS.timeout;
  const prefix = cleanPrefix(spec.path ?? "");
  const connection: ConnectionOptions = {
    servers: server,
    name: "sqlrep",
    timeout: timeoutMs,
    maxReconnectAttempts: spec.maxReconnects ?? NATS_DEFAULTS.maxReconnects,
    reconnectTimeWait: spec.reconnectWait ?? NATS_DEFAULTS.reconnectWait,
  };
  const { auth, authenticator } = authenticate(spec);
  if (authenticator !== undefined) connection.authenticator = authenticator;
  else if (auth === "username") Object.assign(connection, { user: spec.username, pass: spec.password });
  else if (auth === "token") connection.token = spec.token!;
  if (spec.tls || spec.rootCas?.length || spec.clientCert !== undefined) {
    connection.tls = {
      ...(spec.rootCas?.length ? { ca: spec.rootCas.map((path) => readText(path, "root-cas")).join("\n") } : {}),
      ...(spec.clientCert !== undefined ? { cert: readText(spec.clientCert, "client-cert") } : {}),
      ...(spec.clientKey !== undefined ? { key: readText(spec.clientKey, "client-key") } : {}),
    };
  }
  return { server, bucket: spec.bucket, prefix, auth, timeoutMs, connection, location: `nats://${server}/${spec.bucket}${prefix === "" ? "" : `/${prefix}`}` };
}

function authenticate(spec: NatsSpec): { auth: NatsSettings["auth"]; authenticator?: Authenticator } {
  const bytes = (text: string) => new TextEncoder().encode(text.trim());
  if (spec.jwt && spec.seed) return { auth: "jwt", authenticator: jwtAuthenticator(spec.jwt.trim(), bytes(spec.seed)) };
  if (spec.creds) return { auth: "creds", authenticator: credsAuthenticator(new TextEncoder().encode(readText(spec.creds, "creds"))) };
  if (spec.nkey) {
    const seed = spec.nkey.trim().startsWith("S") ? spec.nkey : spec.seed;
    if (!seed) throw new ReplicaError("invalid-config", "nkey is a public key: give its seed (SU…) in seed, or the seed itself as nkey", { key: "seed" });
    return { auth: "nkey", authenticator: nkeyAuthenticator(bytes(seed)) };
  }
  if (spec.username && spec.password) return { auth: "username" };
  if (spec.token) return { auth: "token" };
  return { auth: "none" };
}

function readText(path: string, key: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ReplicaError("invalid-config", `cannot read ${key} ${path}: ${(err as Error).message}`, { key, cause: err });
  }
}
