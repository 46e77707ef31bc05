/** Tests of loadConfigFile/parseConfig on real files: env expansion (and -no-expand-env), unset-variable warnings, errors naming the file. */
import { writeFileSync } from "node:fs";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { isConfigError } from "./errors.js";
import { loadConfigFile, parseConfig, type ConfigWarning } from "./load.js";
import { list, object, string } from "./schema.js";

const tmp = tempDir("sqlrep-config-");
afterAll(() => tmp.remove());

const schema = object({ bucket: string(), path: string().optional() });

describe("loadConfigFile", () => {
  it("reads, expands and validates a file", async () => {
    const file = tmp.join("a.yml");
    writeFileSync(file, "bucket: ${BUCKET}\npath: $PREFIX/db\n");
    expect(await loadConfigFile(file, schema, { env: { BUCKET: "b1", PREFIX: "p" } })).toEqual({ bucket: "b1", path: "p/db" });
  });

  it("can leave $ alone (-no-expand-env)", async () => {
    const file = tmp.join("b.yml");
    writeFileSync(file, "bucket: pa$$word\npath: ${X}\n");
    expect(await loadConfigFile(file, schema, { expandEnv: false, env: { X: "y" } })).toEqual({ bucket: "pa$$word", path: "${X}" });
    expect(await loadConfigFile(file, schema, { env: { X: "y" } })).toEqual({ bucket: "paword", path: "y" });
  });

  it("expands process.env by default", () => {
    process.env["SQLREP_CONFIG_TEST_VAR"] = "from-env";
    try {
      expect(parseConfig("bucket: $SQLREP_CONFIG_TEST_VAR\n", schema)).toEqual({ bucket: "from-env" });
    } finally {
      delete process.env["SQLREP_CONFIG_TEST_VAR"];
    }
  });

  it("warns of each unset variable, naming it, its line and column as written, and the key", () => {
    const nested = object({ dbs: list(object({ path: string(), replicas: list(object({ url: string() })) })) });
    const text = "dbs:\n  - path: $DBDIR/db.sqlite\n    replicas:\n      - url: s3://${BUCKET}/x\n      - url: file://$HOME/y\n";
    const warnings: ConfigWarning[] = [];
    const value = parseConfig(text, nested, { env: { HOME: "/root" }, file: "w.yml", warn: (w) => warnings.push(w) });
    expect(value.dbs[0]!.path).toBe("/db.sqlite");
    expect(warnings.map((w) => w.message)).toEqual([
      "w.yml:2:11: dbs[0].path: $DBDIR is not set, so it expands to nothing",
      "w.yml:4:19: dbs[0].replicas[0].url: $BUCKET is not set, so it expands to nothing",
    ]);
    expect(warnings[0]).toMatchObject({ code: "unset-variable", variable: "DBDIR", location: { keyPath: "dbs[0].path", line: 2, column: 11 } });
  });

  it("an unset variable becomes empty, which a schema can then reject", () => {
    expect(() => parseConfig("bucket: $NOPE\n", object({ bucket: string({ nonEmpty: true }) }), { env: {}, file: "c.yml" })).toThrow("c.yml:1:9: bucket: has no value");
  });

  it("a missing file is not-found and names it", async () => {
    const file = tmp.join("missing.yml");
    const err = await loadConfigFile(file, schema).catch((e: unknown) => e);
    expect(isConfigError(err, "not-found")).toBe(true);
    expect((err as Error).message).toBe(`${file}: config file not found`);
  });

  it("a directory is a parse error that names it", async () => {
    const err = await loadConfigFile(tmp.path, schema).catch((e: unknown) => e);
    expect(isConfigError(err, "parse")).toBe(true);
    expect((err as Error).message).toContain(`${tmp.path}: cannot read config file`);
  });

  it("errors name the file it was loaded from", async () => {
    const file = tmp.join("d.yml");
    writeFileSync(file, "bucket: b\nbukcet: c\n");
    await expect(loadConfigFile(file, schema)).rejects.toThrow(`${file}:2:1: bukcet: unknown key (did you mean "bucket"?)`);
  });
});
