/** Unit tests of the schema builders: typed, camel-cased reads with defaults, and errors that name file, line, column and key path. */
import { describe, expect, expectTypeOf, it } from "vitest";
import { type ConfigError, isConfigError, type ConfigErrorCode } from "./errors.js";
import { parseConfig } from "./load.js";
import {
  boolean,
  byShape,
  byteSize,
  camelCase,
  duration,
  errorAt,
  fileMode,
  integer,
  list,
  locate,
  object,
  oneOf,
  string,
  unsupported,
  type Infer,
  type Schema,
} from "./schema.js";

const replica = object({
  url: string().optional(),
  bucket: string().optional(),
  "sync-interval": duration().default(1000),
  "force-path-style": boolean().optional(),
  retention: duration().optional(),
  "storage-class": unsupported("not supported by sqlrep (S3 storage classes)"),
}).check((value, at) => {
  if (value.url !== undefined && at.has("bucket")) at.fail("conflict", "cannot be combined with url", "bucket");
});

const db = object({
  path: string({ nonEmpty: true }),
  "min-checkpoint-page-count": integer({ min: 1 }).optional(),
  replicas: list(replica).default([]),
});

const root = object({
  addr: string().optional(),
  logging: object({ level: oneOf(["debug", "info", "warn", "error"], { ignoreCase: true }).default("info"), stderr: boolean().default(false) }).optional(),
  dbs: list(db).default([]),
  "part-size": byteSize().optional(),
});

/** Parses `text` as file `f.yml` and returns the ConfigError it throws. */
function failure(text: string, schema: Schema<unknown> = root): ConfigError {
  try {
    parseConfig(text, schema, { file: "f.yml", expandEnv: false });
  } catch (err) {
    if (isConfigError(err)) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

function expectFailure(text: string, code: ConfigErrorCode, message: string | RegExp, schema?: Schema<unknown>): ConfigError {
  const err = failure(text, schema);
  expect(err.code).toBe(code);
  if (typeof message === "string") expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
  return err;
}

describe("object, list and scalar schemas", () => {
  it("reads a document into camel-cased typed values with defaults", () => {
    const config = parseConfig(
      `
addr: ":9090"
logging: { level: WARN }
part-size: 64MiB
dbs:
  - path: /data/a.db
    min-checkpoint-page-count: 500
    replicas:
      - url: s3://bucket/a
        sync-interval: 10s
        force-path-style: yes
  - path: /data/b.db
`,
      root,
      { expandEnv: false },
    );
    expect(config).toEqual({
      addr: ":9090",
      logging: { level: "warn", stderr: false },
      partSize: 64 * 1024 * 1024,
      dbs: [
        { path: "/data/a.db", minCheckpointPageCount: 500, replicas: [{ url: "s3://bucket/a", syncInterval: 10_000, forcePathStyle: true }] },
        { path: "/data/b.db", replicas: [] },
      ],
    });
    expectTypeOf(config.dbs[0]!.replicas[0]!.syncInterval).toEqualTypeOf<number>();
    expectTypeOf(config.dbs[0]!.minCheckpointPageCount).toEqualTypeOf<number | undefined>();
    expectTypeOf(config.logging).toEqualTypeOf<{ level: "debug" | "info" | "warn" | "error"; stderr: boolean } | undefined>();
    type Replica = Infer<typeof replica>;
    // Unsupported keys never appear in the result type.
    expectTypeOf<keyof Replica>().toEqualTypeOf<"url" | "bucket" | "syncInterval" | "forcePathStyle" | "retention">();
  });

  it("reads an empty file as an empty map", () => {
    expect(parseConfig("", root)).toEqual({ dbs: [] });
    expect(parseConfig("# only a comment\n", root)).toEqual({ dbs: [] });
  });

  it("treats `key:` and `key: ~` as absent", () => {
    expect(parseConfig("addr:\ndbs: ~\n", root)).toEqual({ dbs: [] });
  });

  it("reads any scalar as a string, as written (Go decoders do the same)", () => {
    const s = object({ a: string(), b: string(), c: string(), d: string() });
    expect(parseConfig("a: 0123\nb: true\nc: 1.50\nd: 'quoted'\n", s)).toEqual({ a: "0123", b: "true", c: "1.50", d: "quoted" });
  });

  it("reads permission bits as Go's YAML does: a leading 0 (or 0o) is octal", () => {
    const s = object({ a: fileMode(), b: fileMode(), c: fileMode(), d: fileMode() });
    expect(parseConfig("a: 0600\nb: 0o660\nc: '0644'\nd: 384\n", s)).toEqual({ a: 0o600, b: 0o660, c: 0o644, d: 384 });
    expect(() => parseConfig("a: 0680\n", object({ a: fileMode() }))).toThrow(/expected permission bits like 0600, got "0680"/);
  });

  it("accepts YAML 1.1 booleans that Go accepts", () => {
    const s = object({ a: boolean(), b: boolean(), c: boolean(), d: boolean() });
    expect(parseConfig("a: on\nb: No\nc: TRUE\nd: false\n", s)).toEqual({ a: true, b: false, c: true, d: false });
  });

  it("follows aliases and merge keys, own keys first", () => {
    const config = parseConfig(
      `
defaults: &defaults
  sync-interval: 5s
  force-path-style: true
dbs:
  - path: /a.db
    replicas:
      - <<: *defaults
        url: s3://b/a
        sync-interval: 1m
      - *defaults
`,
      object({ defaults: replica, dbs: list(db) }),
      { expandEnv: false },
    );
    expect(config.dbs[0]!.replicas).toEqual([
      { url: "s3://b/a", syncInterval: 60_000, forcePathStyle: true },
      { syncInterval: 5000, forcePathStyle: true },
    ]);
  });

  it("reads by shape", () => {
    const exec = object({ exec: byShape({ scalar: string(), list: list(object({ cmd: string() })) }) });
    expect(parseConfig("exec: run.sh\n", exec)).toEqual({ exec: "run.sh" });
    expect(parseConfig("exec:\n  - cmd: a\n", exec)).toEqual({ exec: [{ cmd: "a" }] });
    expectFailure("exec: {cmd: a}\n", "invalid-value", "f.yml:1:7: exec: expected a value or a list, got a map", exec);
  });

  it("converts kebab-case to camelCase", () => {
    expect(camelCase("sync-interval")).toBe("syncInterval");
    expect(camelCase("l0-retention")).toBe("l0Retention");
    expect(camelCase("access-key-id")).toBe("accessKeyId");
    expect(camelCase("truncate-page-n")).toBe("truncatePageN");
  });
});

describe("errors name the file, the line, the column and the key path", () => {
  it("an unknown key, with a suggestion", () => {
    const err = expectFailure(
      "dbs:\n  - path: /a.db\n    replicas:\n      - url: s3://b/a\n        retension: 24h\n",
      "unknown-key",
      'f.yml:5:9: dbs[0].replicas[0].retension: unknown key (did you mean "retention"?)',
    );
    expect(err).toMatchObject({ file: "f.yml", keyPath: "dbs[0].replicas[0].retension", line: 5, column: 9, reason: 'unknown key (did you mean "retention"?)' });
  });

  it("an unknown key at the top level, without a suggestion when nothing is close", () => {
    expectFailure("addr: x\nbananas: 3\n", "unknown-key", "f.yml:2:1: bananas: unknown key");
  });

  it("an unknown key in a nested map", () => {
    expectFailure("logging:\n  levle: debug\n", "unknown-key", 'f.yml:2:3: logging.levle: unknown key (did you mean "level"?)');
  });

  it("an unsupported key says so", () => {
    expectFailure(
      "dbs:\n  - path: /a.db\n    replicas:\n      - storage-class: GLACIER\n",
      "unsupported",
      "f.yml:4:9: dbs[0].replicas[0].storage-class: not supported by sqlrep (S3 storage classes)",
    );
  });

  it("a missing required key points at its map", () => {
    expectFailure("dbs:\n  - replicas: []\n", "missing-key", "f.yml:2:5: dbs[0].path: required key is missing");
  });

  it("wrong types", () => {
    expectFailure("dbs: /a.db\n", "invalid-value", 'f.yml:1:6: dbs: expected a list, got "/a.db"');
    expectFailure("dbs:\n  - /a.db\n", "invalid-value", 'f.yml:2:5: dbs[0]: expected a map of keys, got "/a.db"');
    expectFailure("dbs:\n  - path: [a, b]\n", "invalid-value", "f.yml:2:11: dbs[0].path: expected a string, got a list");
    expectFailure("dbs:\n  - path: /a\n    min-checkpoint-page-count: lots\n", "invalid-value", 'f.yml:3:32: dbs[0].min-checkpoint-page-count: expected an integer, got "lots"');
    expectFailure("dbs:\n  - path: /a\n    min-checkpoint-page-count: 1.5\n", "invalid-value", /expected an integer, got 1\.5$/);
    expectFailure("dbs:\n  - path: /a\n    min-checkpoint-page-count: 0\n", "invalid-value", /min-checkpoint-page-count: must be at least 1, got 0$/);
    expectFailure("logging:\n  stderr: maybe\n", "invalid-value", 'f.yml:2:11: logging.stderr: expected true or false, got "maybe"');
    expectFailure("logging:\n  stderr: 'true'\n", "invalid-value", /expected true or false, got "true"/);
    expectFailure("logging:\n  level: verbose\n", "invalid-value", 'f.yml:2:10: logging.level: expected one of "debug", "info", "warn", "error", got "verbose"');
    expectFailure("dbs:\n  - path: ''\n", "invalid-value", "f.yml:2:11: dbs[0].path: must not be empty");
    expectFailure("part-size: 5 XB\n", "invalid-value", /part-size: invalid size "5 XB"/);
  });

  it("bad durations explain themselves", () => {
    const yaml = (value: string) => `dbs:\n  - path: /a\n    replicas:\n      - sync-interval: ${value}\n`;
    expectFailure(yaml("1d"), "invalid-value", 'f.yml:4:24: dbs[0].replicas[0].sync-interval: invalid duration "1d": Go durations have no day unit: write 24h for a day');
    expectFailure(yaml("10"), "invalid-value", /sync-interval: invalid duration 10: missing unit \(write 10s for seconds/);
    expectFailure(yaml("-1s"), "invalid-value", /sync-interval: must not be negative, got -1s/);
    expectFailure(yaml("true"), "invalid-value", /sync-interval: expected a duration such as 1s/);
    expect(parseConfig(yaml("0"), root).dbs[0]!.replicas[0]!.syncInterval).toBe(0);
  });

  it("duplicate keys are a conflict naming both lines", () => {
    expectFailure("dbs:\n  - path: /a\n    path: /b\n", "conflict", "f.yml:3:5: dbs[0].path: duplicate key (first given on line 2)");
  });

  it("check() errors point at the key they name", () => {
    expectFailure("dbs:\n  - path: /a\n    replicas:\n      - url: s3://b/x\n        bucket: b\n", "conflict", "f.yml:5:9: dbs[0].replicas[0].bucket: cannot be combined with url");
  });

  it("YAML syntax errors carry the position", () => {
    const err = expectFailure("dbs:\n  - path: /a\n   bad: [\n", "parse", /^f\.yml:\d+:\d+: invalid YAML: /);
    expect(err.line).toBeGreaterThanOrEqual(2);
    expectFailure("a: 1\n---\nb: 2\n", "parse", /^f\.yml:2:1: invalid YAML: .*multiple documents/i);
    expectFailure("\tdbs: []\n", "parse", /^f\.yml:1:1: invalid YAML/);
  });

  it("non-string keys are rejected", () => {
    expectFailure("? [a]\n: 1\n", "invalid-value", /map keys must be plain strings, got a list/);
  });

  it("merging a non-map is an error", () => {
    expectFailure("dbs:\n  - <<: 3\n    path: /a\n", "invalid-value", /dbs\[0\]: a merge key \(<<\) needs a map or a list of maps, got the number 3/);
  });

  it("a list can bound its length", () => {
    const s = object({ replica: list(string(), { maxItems: 1 }) });
    expectFailure("replica: [a, b]\n", "invalid-value", "f.yml:1:10: replica: allows at most 1 item, got 2", s);
  });

  it("errors found after reading are located through the value", () => {
    const config = parseConfig("dbs:\n  - path: /a\n  - path: /b\n    replicas:\n      - url: x\n", root, { file: "f.yml" });
    const second = config.dbs[1]!;
    expect(locate(second, "path")).toEqual({ file: "f.yml", keyPath: "dbs[1].path", line: 3, column: 5 });
    expect(locate(config.dbs, 1)).toEqual({ file: "f.yml", keyPath: "dbs[1]", line: 3, column: 5 });
    expect(errorAt(second.replicas[0]!, "url", "invalid-value", "bad URL").message).toBe("f.yml:5:9: dbs[1].replicas[0].url: bad URL");
    expect(errorAt(second, "meta-path", "missing-key", "needed").message).toBe("f.yml:3:5: dbs[1].meta-path: needed");
    expect(locate({})).toEqual({});
  });

  it("messages without a file still carry the position", () => {
    try {
      parseConfig("bananas: 1\n", root);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe("line 1:1: bananas: unknown key");
    }
  });
});
