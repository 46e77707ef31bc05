/**
 * The strict schema of a Litestream config (v0.3 and v0.5 keys), with the replica keys of
 * the backends served, and a reason for every Litestream key sqlrep does not implement.
 */
import { boolean, byteSize, duration, fileMode, integer, list, object, oneOf, string, unsupported, type Infer } from "@sqlrep/config";
import type { ReplicaBackend } from "@sqlrep/replica";
import { backendKeyShape, declaredKeys } from "./replica-config.js";

const NOT_SUPPORTED = "not supported by sqlrep";

/** Where the control socket listens, and where its clients look, by default (Litestream v0.5's). */
export const DEFAULT_SOCKET_PATH = "/var/run/litestream.sock";

/** Keys of Litestream's S3, ABS, SFTP, WebDAV, NATS and OSS replicas that we do not implement. */
const UNSUPPORTED_REPLICA_KEYS = {
  age: unsupported(`${NOT_SUPPORTED}: client-side (age) encryption; remove the age block (Litestream v0.5 refuses it too)`),
  "sign-payload": unsupported(`${NOT_SUPPORTED}: payloads are always signed`),
  "require-content-md5": unsupported(`${NOT_SUPPORTED}: Content-MD5 is not configurable`),
  "storage-class": unsupported(`${NOT_SUPPORTED}: S3 storage classes (use a bucket lifecycle rule)`),
  "sse-customer-algorithm": unsupported(`${NOT_SUPPORTED}: S3 server-side encryption with customer keys`),
  "sse-customer-key": unsupported(`${NOT_SUPPORTED}: S3 server-side encryption with customer keys`),
  "sse-customer-key-path": unsupported(`${NOT_SUPPORTED}: S3 server-side encryption with customer keys`),
  "sse-kms-key-id": unsupported(`${NOT_SUPPORTED}: S3 server-side encryption with KMS keys (use the bucket's default encryption)`),
  "max-sync-ltx-files": unsupported(`${NOT_SUPPORTED}: the engine uploads what is pending without this cap`),
  "auto-recover": unsupported(`${NOT_SUPPORTED}: sqlrep keeps no local LTX state to reset`),
  "account-name": unsupported(`${NOT_SUPPORTED}: Azure Blob Storage replicas`),
  "account-key": unsupported(`${NOT_SUPPORTED}: Azure Blob Storage replicas`),
  "sas-token": unsupported(`${NOT_SUPPORTED}: Azure Blob Storage replicas`),
  host: unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  user: unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  password: unsupported(`${NOT_SUPPORTED}: SFTP or NATS replicas`),
  "key-path": unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  "host-key": unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  "concurrent-writes": unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  "webdav-url": unsupported(`${NOT_SUPPORTED}: WebDAV replicas`),
  "webdav-username": unsupported(`${NOT_SUPPORTED}: WebDAV replicas`),
  "webdav-password": unsupported(`${NOT_SUPPORTED}: WebDAV replicas`),
  jwt: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  seed: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  creds: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  nkey: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  username: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  token: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  tls: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "root-cas": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "client-cert": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "client-key": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "max-reconnects": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "reconnect-wait": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  timeout: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
};

/**
 * The schemas of a config, for the backends an app serves: their keys join the replica
 * keys (and the global ones the top level); keys Litestream has and no backend declares
 * are refused with a reason.
 */
export function configSchema(backends: readonly ReplicaBackend[]) {
  const declared = declaredKeys(backends);
  const unsupportedReplicaKeys = Object.fromEntries(Object.entries(UNSUPPORTED_REPLICA_KEYS).filter(([key]) => !declared.has(key)));
  const replicaSchema = object({
    url: string({ nonEmpty: true }).optional(),
    type: string({ nonEmpty: true }).optional(),
    name: string({ nonEmpty: true }).optional(),
    path: string({ nonEmpty: true }).optional(),
    ...backendKeyShape(backends, "replica"),
    "sync-interval": duration().optional(),
    // v0.3 per-replica settings: the engine holds them per database (see resolveSettings).
    retention: duration().optional(),
    "retention-check-interval": unsupported(
      `${NOT_SUPPORTED}: retention runs when a snapshot is taken (every snapshot-interval / snapshot.interval), not on its own timer; remove the key`,
    ),
    "snapshot-interval": duration().optional(),
    "validation-interval": duration().optional(),
    ...unsupportedReplicaKeys,
  });

  const snapshotSchema = object({
    interval: duration({ min: 1 }).optional(),
    retention: duration({ min: 1 }).optional(),
  });

  const dbSchema = object({
    path: string({ nonEmpty: true }).optional(),
    "meta-path": string({ nonEmpty: true }).optional(),
    "meta-dir": unsupported(`${NOT_SUPPORTED}: each database of a dir keeps its local state beside it (.<name>-sqlrep)`),
    dir: string({ nonEmpty: true }).optional(),
    pattern: string({ nonEmpty: true }).optional(),
    recursive: boolean().optional(),
    watch: boolean().optional(),
    "max-sync-wal-bytes": byteSize({ min: 1 }).optional(),
    "restore-if-db-not-exists": boolean().optional(),
    "monitor-interval": duration({ min: 1 }).optional(),
    "checkpoint-interval": duration({ min: 1 }).optional(),
    "busy-timeout": duration().optional(),
    "min-checkpoint-page-count": integer({ min: 1 }).optional(),
    "max-checkpoint-page-count": integer({ min: 1 }).optional(),
    "truncate-page-n": integer({ min: 0 }).optional(),
    snapshot: snapshotSchema.optional(),
    replicas: list(replicaSchema).optional(),
    replica: replicaSchema.optional(),
  });

  const rootSchema = object({
    dbs: list(dbSchema).default([]),
    addr: string({ nonEmpty: true }).optional(),
    logging: object({
      level: oneOf(["trace", "debug", "info", "warn", "error"], { ignoreCase: true }).default("info"),
      type: oneOf(["text", "json"], { ignoreCase: true }).default("text"),
      stderr: boolean().default(false),
      source: unsupported(`${NOT_SUPPORTED}: source locations in log records`),
    }).optional(),
    exec: string({ nonEmpty: true }).optional(),
    levels: list(object({ interval: duration({ min: 1 }) }), { maxItems: 8 }).optional(),
    snapshot: snapshotSchema.optional(),
    "l0-retention": duration().optional(),
    retention: object({ enabled: boolean().default(true) }).optional(),
    validation: object({ interval: duration().optional() }).optional(),
    "shutdown-sync-timeout": duration({ min: 1 }).optional(),
    ...backendKeyShape(backends, "top-level"),
    "sync-interval": duration().optional(),
    "mcp-addr": string({ nonEmpty: true }).optional(),
    "heartbeat-url": string({ nonEmpty: true }).optional(),
    "heartbeat-interval": duration({ min: 60_000 }).optional(),
    "shutdown-sync-interval": duration({ min: 1 }).optional(),
    socket: object({ enabled: boolean().default(false), path: string({ nonEmpty: true }).default(DEFAULT_SOCKET_PATH), permissions: fileMode().default(0o600) }).optional(),
    "verify-compaction": unsupported(`${NOT_SUPPORTED}: every LTX file we write carries checksums that restore verifies`),
    "l0-retention-check-interval": unsupported(`${NOT_SUPPORTED}: L0 retention runs on the engine's own schedule`),
    ...unsupportedReplicaKeys,
  });
  return { rootSchema, dbSchema, replicaSchema };
}

type Schemas = ReturnType<typeof configSchema>;
export type RootYaml = Infer<Schemas["rootSchema"]>;
export type DbYaml = Infer<Schemas["dbSchema"]>;

const cache = new WeakMap<readonly ReplicaBackend[], Schemas>();

/** {@link configSchema}, built once per backend list. */
export function schemaFor(backends: readonly ReplicaBackend[]): Schemas {
  let schemas = cache.get(backends);
  if (schemas === undefined) cache.set(backends, (schemas = configSchema(backends)));
  return schemas;
}
