/** Tests of reading Litestream v0.3 and v0.5 configs into engine settings and replica specs, and of config errors naming file, line and key path. */
import { homedir } from "node:os";
import { isConfigError, type ConfigErrorCode } from "@sqlrep/config";
import { describe, expect, it } from "vitest";
import { createFileReplicaClient, fileBackend, ReplicaError, type ReplicaBackend } from "@sqlrep/replica";
import { checkAddr, connectAddress, listenAddress, parseLitestreamConfig, resolveDatabasePath, type LitestreamConfig } from "./config.js";

const V03 = `
# A Litestream v0.3.13 config with every key it documents that sqlrep accepts.
access-key-id: AKIAGLOBAL
secret-access-key: global-secret
addr: ":9090"
exec: node server.js --port 8080
logging:
  level: debug
  type: json
  stderr: true
dbs:
  - path: /var/lib/app/db.sqlite
    monitor-interval: 2s
    checkpoint-interval: 5m
    min-checkpoint-page-count: 2000
    max-checkpoint-page-count: 20000
    replicas:
      - name: primary
        type: s3
        bucket: my-bucket
        path: /app/db/
        region: eu-west-1
        endpoint: https://s3.example.com
        force-path-style: false
        skip-verify: true
        sync-interval: 10s
        retention: 72h
        snapshot-interval: 6h
        validation-interval: 12h
      - url: file:///backups/app
        retention: 24h
        snapshot-interval: 1h
      - url: s3://other-bucket/app
        name: dr
        region: us-west-2
        access-key-id: K2
        secret-access-key: S2
  - path: relative/other.db
    replicas:
      - path: ./backups/other
`;

const V05 = `
# A Litestream v0.5 config: global levels, snapshots, retention, replica defaults.
addr: 127.0.0.1:9091
levels:
  - interval: 10s
  - interval: 1m
  - interval: 1h
snapshot:
  interval: 12h
  retention: 48h
l0-retention: 10m
retention:
  enabled: false
validation:
  interval: 1h
shutdown-sync-timeout: 10s
region: us-east-2
endpoint: http://minio.local:9000
sync-interval: 2s
part-size: 16MiB
access-key-id: \${KEY}
secret-access-key: $SECRET
dbs:
  - path: sqlite:///data/a.db
    busy-timeout: 5s
    truncate-page-n: 50000
    snapshot:
      interval: 1h
      retention: 6h
    replica:
      type: s3
      bucket: b
      path: a
  - path: ~/b.db
    restore-if-db-not-exists: true
    replica:
      url: s3://b/b
      sync-interval: 0
      skip-verify: yes
      concurrency: 2
`;

function parse(text: string, env: Record<string, string> = {}, expandEnv = true): LitestreamConfig {
  return parseLitestreamConfig(text, "/etc/litestream.yml", { env, cwd: "/work", expandEnv });
}

function failure(text: string): { code: ConfigErrorCode; message: string; line?: number | undefined } {
  try {
    parse(text);
  } catch (err) {
    if (isConfigError(err)) return { code: err.code, message: err.message, line: err.line };
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("a Litestream v0.3 config", () => {
  const config = parse(V03);

  it("reads the top level", () => {
    expect(config.file).toBe("/etc/litestream.yml");
    expect(config.addr).toBe(":9090");
    expect(config.mcpAddr).toBeUndefined();
    expect(parse('mcp-addr: "127.0.0.1:3001"\n').mcpAddr).toBe("127.0.0.1:3001");
    expect(config.exec).toBe("node server.js --port 8080");
    expect(config.logging).toEqual({ level: "debug", type: "json", stderr: true });
    expect(config.dbs).toHaveLength(2);
  });

  it("maps the database keys onto the engine settings; max-checkpoint-page-count is the TRUNCATE threshold", () => {
    expect(config.dbs[0]!.path).toBe("/var/lib/app/db.sqlite");
    expect(config.dbs[0]!.settings).toEqual({
      monitorInterval: 2000,
      checkpointInterval: 300_000,
      minCheckpointPageCount: 2000,
      truncatePageCount: 20_000,
      // v0.3 per-replica keys, per database: the longest retention, the shortest intervals.
      snapshotRetention: 72 * 3_600_000,
      snapshotInterval: 3_600_000,
      validationInterval: 12 * 3_600_000,
    });
  });

  it("builds replica specs: keys, URLs, global credentials, names", () => {
    const [primary, file, dr] = config.dbs[0]!.replicas;
    expect(primary).toEqual({
      name: "primary",
      syncInterval: 10_000,
      spec: {
        type: "s3",
        bucket: "my-bucket",
        path: "app/db",
        region: "eu-west-1",
        endpoint: "https://s3.example.com",
        forcePathStyle: false,
        skipVerify: true,
        accessKeyId: "AKIAGLOBAL",
        secretAccessKey: "global-secret",
      },
    });
    expect(file).toEqual({ name: "file", spec: { type: "file", path: "/backups/app", url: "file:///backups/app" } });
    expect(dr).toEqual({
      name: "dr",
      spec: { type: "s3", bucket: "other-bucket", path: "app", url: "s3://other-bucket/app", region: "us-west-2", accessKeyId: "K2", secretAccessKey: "S2" },
    });
  });

  it("resolves relative database and replica paths against the working directory", () => {
    expect(config.dbs[1]!.path).toBe("/work/relative/other.db");
    expect(config.dbs[1]!.replicas).toEqual([{ name: "file", spec: { type: "file", path: "/work/backups/other" } }]);
    expect(config.dbs[1]!.settings).toEqual({});
  });
});

describe("a Litestream v0.5 config", () => {
  const config = parse(V05, { KEY: "AKIA5", SECRET: "s5" });

  it("applies the global levels, snapshot, retention and validation to every database", () => {
    expect(config.addr).toBe("127.0.0.1:9091");
    expect(config.shutdownSyncTimeout).toBe(10_000);
    expect(config.logging).toEqual({ level: "info", type: "text", stderr: false });
    const global = {
      levels: [
        { level: 1, interval: 10_000 },
        { level: 2, interval: 60_000 },
        { level: 3, interval: 3_600_000 },
      ],
      snapshotInterval: 12 * 3_600_000,
      snapshotRetention: 48 * 3_600_000,
      l0Retention: 600_000,
      retentionEnabled: false,
      validationInterval: 3_600_000,
    };
    expect(config.dbs[1]!.settings).toEqual(global);
    // A database's own snapshot block wins over the global one.
    expect(config.dbs[0]!.settings).toEqual({ ...global, busyTimeout: 5000, truncatePageCount: 50_000, snapshotInterval: 3_600_000, snapshotRetention: 6 * 3_600_000 });
  });

  it("strips sqlite://, expands ~ and reads the single replica key", () => {
    expect(config.dbs[0]!.path).toBe("/data/a.db");
    expect(config.dbs[1]!.path).toBe(`${homedir()}/b.db`);
    expect(config.dbs[1]!.restoreIfNotExists).toBe(true);
    expect(config.dbs[0]!.restoreIfNotExists).toBeUndefined();
  });

  it("fills replicas from the global replica defaults (credentials from ${VAR} and $VAR)", () => {
    const shared = { region: "us-east-2", endpoint: "http://minio.local:9000", forcePathStyle: true, accessKeyId: "AKIA5", secretAccessKey: "s5" };
    const partSize = 16 * 1024 * 1024;
    expect(config.dbs[0]!.replicas).toEqual([{ name: "s3", syncInterval: 2000, spec: { type: "s3", bucket: "b", path: "a", partSize, ...shared } }]);
    expect(config.dbs[1]!.replicas).toEqual([
      { name: "s3", syncInterval: 0, spec: { type: "s3", bucket: "b", path: "b", url: "s3://b/b", skipVerify: true, partSize, concurrency: 2, ...shared } },
    ]);
  });

  it("leaves $VAR alone with expansion off", () => {
    const raw = parse("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/$NAME\n", { NAME: "x" }, false);
    expect(raw.dbs[0]!.replicas[0]!.spec.path).toBe("$NAME");
    expect(parse("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/${NAME}\n", { NAME: "x" }).dbs[0]!.replicas[0]!.spec.path).toBe("x");
  });

  it("warns of an unset $VAR, naming the variable, the key and where it is (it still expands to nothing)", () => {
    const config = parse("dbs:\n  - path: $DBDIR/db.sqlite\n    replica: { path: /r }\n");
    expect(config.dbs[0]!.path).toBe("/db.sqlite");
    expect(config.warnings).toEqual(["/etc/litestream.yml:2:11: dbs[0].path: $DBDIR is not set, so it expands to nothing"]);
    expect(parse("dbs:\n  - path: $DBDIR/db.sqlite\n    replica: { path: /r }\n", { DBDIR: "/d" }).warnings).toEqual([]);
  });

  it("meta-path places the local log and lock (relative to the working directory)", () => {
    const config = parse("dbs:\n  - path: /a.db\n    meta-path: state/a\n    replica: { path: /r }\n");
    expect(config.dbs[0]!.settings.metaDir).toBe("/work/state/a");
  });

  it("defines $PID, as Litestream v0.5 does", () => {
    expect(parse("dbs:\n  - path: /a-$PID.db\n    replica: { path: /r }\n").dbs[0]!.path).toBe(`/a-${process.pid}.db`);
  });
});

describe("v0.3 retention and per-replica settings", () => {
  const db = (replicas: string, extra = "") => parse(`dbs:\n  - path: /a.db\n${extra}    replicas:\n${replicas}`).dbs[0]!.settings;

  it("retention: 0 on any replica keeps everything", () => {
    expect(db("      - path: /r1\n        retention: 24h\n      - path: /r2\n        retention: 0\n        name: two\n")).toEqual({ retentionEnabled: false });
  });

  it("snapshot-interval: 0 means off and does not win", () => {
    expect(db("      - path: /r1\n        snapshot-interval: 0\n")).toEqual({});
  });

  it("a database snapshot block and a replica's v0.3 key for the same setting conflict", () => {
    const f = failure("dbs:\n  - path: /a.db\n    snapshot:\n      retention: 1h\n    replicas:\n      - path: /r\n        retention: 2h\n");
    expect(f).toMatchObject({ code: "conflict", line: 3 });
    expect(f.message).toContain("dbs[0].snapshot: snapshot.retention and a replica's retention (v0.3) set the same thing");
  });
});

describe("config errors name the file, the line and the key path", () => {
  it.each([
    ["an unknown top-level key", "bogus: 1\n", "unknown-key", "/etc/litestream.yml:1:1: bogus: unknown key"],
    [
      "an unknown database key",
      "dbs:\n  - path: /a\n    monitor-intervl: 1s\n",
      "unknown-key",
      '/etc/litestream.yml:3:5: dbs[0].monitor-intervl: unknown key (did you mean "monitor-interval"?)',
    ],
    [
      "an unknown replica key",
      "dbs:\n  - path: /a\n    replicas:\n      - url: s3://b/a\n        retension: 24h\n",
      "unknown-key",
      '/etc/litestream.yml:5:9: dbs[0].replicas[0].retension: unknown key (did you mean "retention"?)',
    ],
    ["an unknown logging key", "logging:\n  lvl: debug\n", "unknown-key", "/etc/litestream.yml:2:3: logging.lvl: unknown key"],
    ["an unknown levels key", "levels:\n  - every: 1m\n", "unknown-key", "/etc/litestream.yml:2:5: levels[0].every: unknown key"],
    [
      "a wrong type",
      "dbs:\n  - path: /a\n    min-checkpoint-page-count: many\n",
      "invalid-value",
      '/etc/litestream.yml:3:32: dbs[0].min-checkpoint-page-count: expected an integer, got "many"',
    ],
    ["dbs not a list", "dbs:\n  path: /a\n", "invalid-value", "/etc/litestream.yml:2:3: dbs: expected a list, got a map"],
    [
      "a bad duration",
      "dbs:\n  - path: /a\n    checkpoint-interval: 1d\n",
      "invalid-value",
      '/etc/litestream.yml:3:26: dbs[0].checkpoint-interval: invalid duration "1d": Go durations have no day unit: write 24h for a day',
    ],
    [
      "a duration without unit",
      "l0-retention: 300\n",
      "invalid-value",
      "/etc/litestream.yml:1:15: l0-retention: invalid duration 300: missing unit (write 300s for seconds, 300ms for milliseconds)",
    ],
    [
      "a bad log level",
      "logging:\n  level: loud\n",
      "invalid-value",
      '/etc/litestream.yml:2:10: logging.level: expected one of "trace", "debug", "info", "warn", "error", got "loud"',
    ],
    [
      "url with bucket",
      "dbs:\n  - path: /a\n    replicas:\n      - url: s3://b/a\n        bucket: b\n",
      "conflict",
      "/etc/litestream.yml:5:9: dbs[0].replicas[0].bucket: cannot specify url & bucket for a replica: the URL already sets it",
    ],
    [
      "url with path",
      "dbs:\n  - path: /a\n    replicas:\n      - url: s3://b/a\n        path: a\n",
      "conflict",
      "/etc/litestream.yml:5:9: dbs[0].replicas[0].path: cannot specify url & path for a replica: the URL already sets it",
    ],
    [
      "replica and replicas",
      "dbs:\n  - path: /a\n    replica: { path: /r }\n    replicas: [{ path: /s }]\n",
      "conflict",
      "/etc/litestream.yml:3:5: dbs[0].replica: give either replica (one) or replicas (a list), not both",
    ],
    ["no replica", "dbs:\n  - path: /a\n", "missing-key", "/etc/litestream.yml:2:5: dbs[0].replicas: the database has no replica: add replica: or replicas:"],
    [
      "no path",
      "dbs:\n  - replica: { path: /r }\n",
      "missing-key",
      "/etc/litestream.yml:2:5: dbs[0].path: required key is missing: give path (one database) or dir and pattern (a directory of them)",
    ],
    [
      "an s3 replica without bucket",
      "dbs:\n  - path: /a\n    replica:\n      type: s3\n",
      "missing-key",
      "/etc/litestream.yml:4:7: dbs[0].replica.bucket: an s3 replica needs a bucket (or a url)",
    ],
    [
      "a URL as a path",
      "dbs:\n  - path: /a\n    replica:\n      path: s3://b/x\n",
      "invalid-value",
      "/etc/litestream.yml:4:7: dbs[0].replica.path: path must not be a URL (s3://b/x): use url: instead",
    ],
    [
      "s3 keys on a file replica",
      "dbs:\n  - path: /a\n    replica:\n      path: /r\n      region: us-east-1\n",
      "conflict",
      "/etc/litestream.yml:5:7: dbs[0].replica.region: region only applies to s3 replicas, and this one is a file replica",
    ],
    [
      "duplicate replica names",
      "dbs:\n  - path: /a\n    replicas:\n      - path: /r\n      - path: /s\n",
      "conflict",
      '/etc/litestream.yml:5:9: dbs[0].replicas[1]: replica name "file" is used twice for /a: give each replica a distinct name:',
    ],
    [
      "a database listed twice",
      "dbs:\n  - path: /a\n    replica: { path: /r }\n  - path: /b/../a\n    replica: { path: /s }\n",
      "conflict",
      "/etc/litestream.yml:4:5: dbs[1].path: database /a is already listed as dbs[0]",
    ],
    [
      "two databases on one replica path",
      "dbs:\n  - path: /a\n    replica: { path: /r }\n  - path: /b\n    replicas:\n      - url: file:///x\n      - path: /r/./\n        name: other\n",
      "conflict",
      '/etc/litestream.yml:7:9: dbs[1].replicas[1].path: dbs[1].replicas[1] ("other" of /b) is the same replica location as dbs[0].replica (replica "file" of /a): two writers on one replica overwrite each other\'s files; give each its own path',
    ],
    [
      "one database with one S3 location under two names",
      "dbs:\n  - path: /a\n    replicas:\n      - url: s3://bkt/db?endpoint=http://h:9000\n        name: one\n      - url: s3://bkt/db/?endpoint=http://h:9000\n        name: two\n",
      "conflict",
      '/etc/litestream.yml:6:9: dbs[0].replicas[1].url: dbs[0].replicas[1] ("two" of /a) is the same replica location as dbs[0].replicas[0] (replica "one" of the same database): two writers on one replica overwrite each other\'s files; give each its own path',
    ],
    ["an addr without port", 'addr: "localhost"\n', "invalid-value", '/etc/litestream.yml:1:1: addr: "localhost" needs a port, e.g. ":9090" or "127.0.0.1:9090"'],
    ["an mcp-addr without port", 'mcp-addr: "localhost"\n', "invalid-value", '/etc/litestream.yml:1:1: mcp-addr: "localhost" needs a port, e.g. "127.0.0.1:3001"'],
    [
      "both TRUNCATE thresholds",
      "dbs:\n  - path: /a\n    max-checkpoint-page-count: 10\n    truncate-page-n: 10\n    replica: { path: /r }\n",
      "conflict",
      "/etc/litestream.yml:3:5: dbs[0].max-checkpoint-page-count: give either max-checkpoint-page-count (v0.3) or truncate-page-n (v0.5): both set the TRUNCATE checkpoint threshold",
    ],
    [
      "TRUNCATE below PASSIVE",
      "dbs:\n  - path: /a\n    min-checkpoint-page-count: 1000\n    truncate-page-n: 10\n    replica: { path: /r }\n",
      "invalid-value",
      "/etc/litestream.yml:4:5: dbs[0].truncate-page-n: 10 is below min-checkpoint-page-count (1000)",
    ],
    ["a duplicate key", "dbs:\n  - path: /a\n    path: /b\n", "conflict", "/etc/litestream.yml:3:5: dbs[0].path: duplicate key (first given on line 2)"],
    ["a part size below S3's minimum", "part-size: 1MB\n", "invalid-value", "/etc/litestream.yml:1:12: part-size: must be at least 5242880, got 1000000"],
    ["too many levels", `levels:\n${"  - interval: 1m\n".repeat(9)}`, "invalid-value", "/etc/litestream.yml:2:3: levels: allows at most 8 items, got 9"],
  ] as const)("%s", (_what, text, code, message) => {
    expect(failure(text)).toMatchObject({ code, message });
  });

  it.each([
    ["age", "dbs:\n  - path: /a\n    replica:\n      path: /r\n      age:\n        identities: [AGE-SECRET-KEY-1]\n", "dbs[0].replica.age", "client-side (age) encryption"],
    ["auto-recover", "dbs:\n  - path: /a\n    replica:\n      url: s3://b/a\n      auto-recover: true\n", "dbs[0].replica.auto-recover", "no local LTX state"],
    ["max-sync-ltx-files", "max-sync-ltx-files: 10\n", "max-sync-ltx-files", "without this cap"],
    ["an age block", "dbs:\n  - path: /a\n    replica:\n      age: x\n", "dbs[0].replica.age", "client-side (age) encryption"],
    [
      "retention-check-interval",
      "dbs:\n  - path: /a\n    replica:\n      path: /r\n      retention-check-interval: 1h\n",
      "dbs[0].replica.retention-check-interval",
      "retention runs when a snapshot is taken",
    ],
    ["logging.source", "logging:\n  source: true\n", "logging.source", "source locations"],
  ])("an unsupported key (%s) says so and where", (_key, text, keyPath, reason) => {
    const f = failure(text);
    expect(f.code).toBe("unsupported");
    expect(f.message).toMatch(new RegExp(`^/etc/litestream\\.yml:\\d+:\\d+: ${keyPath.replace(/[.[\]]/g, "\\$&")}: not supported by sqlrep`));
    expect(f.message).toContain(reason);
  });

  it.each([
    ["gcs", "type: gcs\n      bucket: b", /dbs\[0\]\.replica\.type: replica scheme gcs:\/\/ is not supported by sqlrep yet \(supported: file, s3, [a-z, ]+\)/],
    ["oss", "url: oss://bucket.oss-cn-hangzhou.aliyuncs.com/db", /dbs\[0\]\.replica\.url: replica scheme oss:\/\/ is not supported by sqlrep yet/],
  ])("a replica type sqlrep does not serve (%s) is the replica package's error", (_type, lines, message) => {
    const f = failure(`dbs:\n  - path: /a\n    replica:\n      ${lines}\n`);
    expect(f.message).toMatch(message);
  });

  it("a key of another backend names the backend it belongs to", () => {
    expect(failure("dbs:\n  - path: /a\n    replica:\n      host: example.com\n")).toMatchObject({
      code: "conflict",
      message: "/etc/litestream.yml:4:7: dbs[0].replica.host: host only applies to sftp replicas, and this one is a file replica",
    });
  });

  it("a type that contradicts the URL", () => {
    expect(failure("dbs:\n  - path: /a\n    replica:\n      url: s3://b/a\n      type: file\n").message).toContain(
      "dbs[0].replica.type: type file does not match the URL's scheme (s3)",
    );
  });

  it("an unknown scheme", () => {
    expect(failure("dbs:\n  - path: /a\n    replica:\n      url: ftp://host/x\n").message).toContain("dbs[0].replica.url: unknown replica scheme ftp://");
  });

  it("heartbeat-url/-interval and shutdown-sync-timeout/-interval (v0.5)", () => {
    const c = parse("heartbeat-url: https://hc-ping.com/abc\nheartbeat-interval: 2m\nshutdown-sync-timeout: 10s\nshutdown-sync-interval: 250ms\n");
    expect(c).toMatchObject({ heartbeat: { url: "https://hc-ping.com/abc", interval: 120_000 }, shutdownSyncTimeout: 10_000, shutdownSyncInterval: 250 });
    expect(parse("heartbeat-url: http://127.0.0.1:8080/ping\n").heartbeat).toEqual({ url: "http://127.0.0.1:8080/ping" });
    expect(failure("heartbeat-url: ftp://x/y\n").message).toBe('/etc/litestream.yml:1:1: heartbeat-url: "ftp://x/y" must be an http:// or https:// URL');
    expect(failure("heartbeat-url: https://x\nheartbeat-interval: 30s\n").message).toMatch(/heartbeat-interval: must be at least 60000/);
    expect(failure("heartbeat-interval: 5m\n").message).toContain("heartbeat-interval: has no effect without heartbeat-url");
  });

  it("an empty file has no databases", () => {
    expect(parse("").dbs).toEqual([]);
  });
});

describe("backends bring their own config keys", () => {
  const memBackend: ReplicaBackend = {
    type: "mem",
    schemes: ["mem"],
    keys: {
      shard: { kind: "integer", doc: "Which shard.", min: 1, max: 8, global: true },
      "inner-name": { kind: "string", doc: "A name the URL carries.", inUrl: true },
    },
    parseUrl: (url, text) => ({ type: "mem", path: url.pathname, innerName: url.hostname, url: text }),
    finish(spec) {
      if (spec.innerName === undefined) throw new ReplicaError("invalid-config", "a mem replica needs an inner-name", { key: "inner-name" });
      return spec;
    },
    location: (spec) => `mem:${String(spec.innerName)}/${String(spec.path)}`,
    load: async () => () => createFileReplicaClient("/unused"),
  };
  const backends = [fileBackend, memBackend];
  const withMem = (text: string) => parseLitestreamConfig(text, "/etc/litestream.yml", { env: {}, cwd: "/work", backends });
  const errorOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (isConfigError(err)) return { code: err.code, message: err.message };
      throw err;
    }
    throw new Error("expected a ConfigError");
  };

  it("a listed backend's keys are accepted on its replicas, filled from the top level, and typed by the schema", () => {
    const config = withMem("shard: 3\ndbs:\n  - path: /a\n    replicas:\n      - type: mem\n        inner-name: x\n      - url: mem://y/p\n        name: two\n        shard: 5\n");
    expect(config.dbs[0]!.replicas.map((r) => r.spec)).toEqual([
      { type: "mem", innerName: "x", shard: 3 },
      { type: "mem", path: "/p", innerName: "y", url: "mem://y/p", shard: 5 },
    ]);
    expect(errorOf(() => withMem("dbs:\n  - path: /a\n    replica:\n      type: mem\n      inner-name: x\n      shard: 9\n"))).toMatchObject({
      code: "invalid-value",
      message: expect.stringContaining("dbs[0].replica.shard: must be at most 8"),
    });
    expect(errorOf(() => withMem("dbs:\n  - path: /a\n    replica:\n      type: mem\n"))).toMatchObject({
      code: "missing-key",
      message: "/etc/litestream.yml:4:7: dbs[0].replica.inner-name: a mem replica needs an inner-name",
    });
    expect(errorOf(() => withMem("dbs:\n  - path: /a\n    replica:\n      url: mem://y/p\n      inner-name: z\n"))).toMatchObject({
      code: "conflict",
      message: expect.stringContaining("cannot specify url & inner-name"),
    });
    expect(errorOf(() => withMem("dbs:\n  - path: /a\n    replica:\n      path: /r\n      shard: 1\n"))).toMatchObject({
      code: "conflict",
      message: expect.stringContaining("shard only applies to mem replicas, and this one is a file replica"),
    });
  });

  it("an unlisted backend's keys and schemes are refused; S3's keys are unknown without S3", () => {
    expect(errorOf(() => parse("dbs:\n  - path: /a\n    replica:\n      path: /r\n      shard: 1\n"))).toMatchObject({ code: "unknown-key" });
    expect(errorOf(() => withMem("dbs:\n  - path: /a\n    replica:\n      url: s3://b/x\n"))).toMatchObject({
      message: expect.stringContaining("unknown replica scheme s3:// in s3://b/x (supported: file, mem)"),
    });
    expect(errorOf(() => withMem("region: us-east-1\n"))).toMatchObject({ code: "unknown-key" });
  });
});

describe("paths and addresses", () => {
  it("resolves database paths like Litestream", () => {
    expect(resolveDatabasePath("~/x.db", "/cwd")).toBe(`${homedir()}/x.db`);
    expect(resolveDatabasePath("~", "/cwd")).toBe(homedir());
    expect(resolveDatabasePath("sqlite3:///abs/x.db", "/cwd")).toBe("/abs/x.db");
    expect(resolveDatabasePath("sqlite://rel/x.db", "/cwd")).toBe("/cwd/rel/x.db");
    expect(resolveDatabasePath("./a/../b.db", "/cwd")).toBe("/cwd/b.db");
  });

  it("listens on 127.0.0.1 for a bare :port and connects to loopback for wildcards", () => {
    expect(listenAddress(":9090")).toEqual({ host: "127.0.0.1", port: 9090 });
    expect(listenAddress("0.0.0.0:80")).toEqual({ host: "0.0.0.0", port: 80 });
    expect(listenAddress("[::1]:9090")).toEqual({ host: "::1", port: 9090 });
    expect(connectAddress(":9090")).toBe("127.0.0.1:9090");
    expect(connectAddress("0.0.0.0:9090")).toBe("127.0.0.1:9090");
    expect(connectAddress("[::]:9090")).toBe("[::1]:9090");
    for (const bad of ["localhost", "9090", ":port", "[::1]"]) expect(() => checkAddr(bad, () => new Error("bad"))).toThrow("bad");
    for (const good of [":9090", "localhost:1", "[::1]:9090", "0.0.0.0:65535"]) expect(() => checkAddr(good, () => new Error("bad"))).not.toThrow();
  });
});
