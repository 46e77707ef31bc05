// The schema of litefs.yml: every key of LiteFS v0.5.14 (reference §1) with its default,
// the etcd lease and sqlrep's backup and auth-token keys, and the historical keys refused
// with the name of their successor.
import { boolean, byShape, duration, integer, list, object, oneOf, string, unsupported, type Infer } from "@sqlrep/config";

const renamed = (successor: string) => unsupported(`this key no longer exists: use ${successor}`);

const execEntry = object({
  cmd: string({ nonEmpty: true }),
  "if-candidate": boolean().default(false),
});

const etcd = object({
  endpoints: list(string({ nonEmpty: true }), { minItems: 1 }),
  key: string({ nonEmpty: true }),
  ttl: duration().optional(),
  username: string().optional(),
  password: string().optional(),
  tls: object({ ca: string().optional(), cert: string().optional(), key: string().optional() }).optional(),
});

const consul = object({
  url: string({ nonEmpty: true }),
  key: string({ nonEmpty: true }),
  ttl: duration().default(10_000),
  "lock-delay": duration().default(1_000),
});

/** litefs.yml. */
export const litefsConfigSchema = object({
  "exit-on-error": boolean().default(true),
  "skip-sync": boolean().default(false),
  "strict-verify": boolean().default(false),
  exec: byShape({ scalar: string(), list: list(byShape({ scalar: string(), map: execEntry })) }).optional(),
  fuse: object({
    dir: string({ nonEmpty: true }).default("/litefs"),
    "allow-other": boolean().default(false),
    debug: boolean().default(false),
  }).default({ dir: "/litefs", allowOther: false, debug: false }),
  data: object({
    dir: string({ nonEmpty: true }).default("/var/lib/litefs"),
    compress: boolean().default(true),
    retention: duration().default(600_000),
    "retention-monitor-interval": duration().default(60_000),
  }).default({ dir: "/var/lib/litefs", compress: true, retention: 600_000, retentionMonitorInterval: 60_000 }),
  http: object({
    addr: string({ nonEmpty: true }).default(":20202"),
    "snapshot-timeout": duration().default(0),
    "auth-token": string().optional(),
  }).default({ addr: ":20202", snapshotTimeout: 0, authToken: undefined }),
  proxy: object({
    addr: string().optional(),
    target: string().optional(),
    db: string().optional(),
    "max-lag": duration().default(10_000),
    debug: boolean().default(false),
    passthrough: list(string()).default([]),
    "always-forward": list(string()).default([]),
    "primary-redirect-timeout": duration().default(5_000),
    "read-timeout": duration().default(0),
    "read-header-timeout": duration().default(10_000),
    "write-timeout": duration().default(0),
    "idle-timeout": duration().default(30_000),
  }).optional(),
  lease: object({
    type: oneOf(["static", "consul", "etcd"]),
    hostname: string().optional(),
    "advertise-url": string().optional(),
    candidate: boolean().default(true),
    promote: boolean().default(false),
    "reconnect-delay": duration().default(1_000),
    "demote-delay": duration().default(10_000),
    databases: list(string({ nonEmpty: true })).optional(),
    consul: consul.optional(),
    etcd: etcd.optional(),
    static: renamed("lease.candidate (true on the primary), lease.hostname and lease.advertise-url (the primary's, on replicas)"),
  }),
  backup: object({
    type: oneOf(["file", "s3", "litefs-cloud"]).optional(),
    url: string().optional(),
    path: string().optional(),
    cluster: string().optional(),
    "auth-token": string().optional(),
  }).optional(),
  log: object({
    format: oneOf(["text", "json"]).default("text"),
    timestamp: boolean().default(false),
    debug: boolean().default(false),
  }).default({ format: "text", timestamp: false, debug: false }),
  tracing: object({
    enabled: boolean().default(true),
    path: string().optional(),
    "max-size": integer({ min: 1 }).default(64),
    "max-count": integer({ min: 0 }).default(8),
    compress: boolean().default(true),
  }).optional(),
  // Keys of older LiteFS versions: refused, naming what replaced them.
  "mount-dir": renamed("fuse.dir"),
  "data-dir": renamed("data.dir"),
  consul: renamed("lease.consul (with lease.type: consul)"),
  static: renamed("lease.type: static with lease.candidate"),
  retention: renamed("data.retention and data.retention-monitor-interval"),
});

/** litefs.yml as parsed (camelCase keys, durations in ms). */
export type LitefsConfig = Infer<typeof litefsConfigSchema>;
