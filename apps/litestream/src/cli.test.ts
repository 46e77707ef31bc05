/** Tests of the built `litestream` CLI run as a child process: usage and help, flag errors, and the argument checks of restore and replicate. */
import { existsSync, writeFileSync } from "node:fs";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "./testing/seed.js";

const built = existsSync(CLI);
const tmp = tempDir("sqlrep-litestream-cli-");
afterAll(() => tmp.remove());

/** Writes a config file and returns its path. */
function config(name: string, text: string): string {
  const path = tmp.join(name);
  writeFileSync(path, text);
  return path;
}

describe.skipIf(!built)(`litestream CLI as a child process${built ? "" : " — needs a build (pnpm turbo run build --filter @sqlrep/litestream...)"}`, () => {
  describe("usage", () => {
    it("no command prints the usage on stderr and exits 1", async () => {
      const r = await runCli([]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("litestream is a tool for replicating SQLite databases.");
      expect(r.stderr).toContain("\tlitestream <command> [arguments]");
      for (const name of ["databases", "generations", "import-v3", "ltx", "replicate", "restore", "snapshots", "status", "version", "wal"])
        expect(r.stderr).toMatch(new RegExp(`\\t${name} +\\S`));
    });

    it("-h, help and `<command> -h` print usage on stdout and exit 0", async () => {
      for (const args of [["-h"], ["--help"], ["help"]]) {
        const r = await runCli(args);
        expect(r).toMatchObject({ code: 0, stderr: "" });
        expect(r.stdout).toContain("The commands are:");
      }
      const restore = await runCli(["restore", "-h"]);
      expect(restore.code).toBe(0);
      expect(restore.stdout).toMatch(/^The restore command recovers a database/);
      expect(restore.stdout).toContain("\tlitestream restore [arguments] DB_PATH\n");
      expect(restore.stdout).toContain("\tlitestream restore [arguments] REPLICA_URL\n");
      expect(restore.stdout).toContain("\t-o PATH\n\t    Output path of the restored database.");
      expect(restore.stdout).toContain("\t-parallelism NUM\n");
      expect(restore.stdout).toContain("Examples:");
      expect((await runCli(["help", "replicate"])).stdout).toContain("\tlitestream replicate [arguments] DB_PATH REPLICA_URL [REPLICA_URL...]\n");
    });

    it("an unknown command is an error", async () => {
      const r = await runCli(["replicat"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: unknown command "replicat"\n/);
    });

    it("an unknown flag is an error followed by the command's usage", async () => {
      const r = await runCli(["restore", "-bogus", "s3://b/db"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^error: flag provided but not defined: -bogus\n\nThe restore command/);
    });

    it("a flag after the arguments is refused with a hint", async () => {
      const r = await runCli(["restore", "s3://b/db", "-o", "/tmp/x"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: flag -o must come before the arguments/);
    });
  });

  describe("restore flags", () => {
    it("a REPLICA_URL needs -o", async () => {
      const r = await runCli(["restore", "s3://bucket/db"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: output path required: -o PATH/);
    });

    it("-txid and -timestamp cannot be combined", async () => {
      const r = await runCli(["restore", "-txid", "2a", "-timestamp", "2024-01-01T00:00:00Z", "-o", tmp.join("x.db"), "s3://bucket/db"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: cannot specify both -txid and -timestamp\n/);
    });

    it.each([
      ["zz", 'invalid -txid "zz": expected a transaction ID in hex, up to 16 digits'],
      ["00000000000000001", 'invalid -txid "00000000000000001": expected a transaction ID in hex, up to 16 digits'],
      ["0", "invalid -txid 0: transaction IDs start at 1"],
    ])("a wrong -txid %s is an error", async (txid, message) => {
      const r = await runCli(["restore", "-txid", txid, "-o", tmp.join("x.db"), "s3://bucket/db"]);
      expect(r.code).toBe(1);
      // One line and a pointer to the usage, not the usage itself.
      expect(r.stderr).toMatch(new RegExp(`^error: ${message.replace(/[()]/g, "\\$&")}.*\n\\(run "litestream restore -h" for its flags\\)\n$`));
    });

    it("a wrong -timestamp is an error", async () => {
      const r = await runCli(["restore", "-timestamp", "yesterday", "-o", tmp.join("x.db"), "s3://bucket/db"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('error: invalid -timestamp "yesterday": expected RFC 3339, e.g. 2024-05-01T10:00:00Z\n(run "litestream restore -h" for its flags)\n');
    });

    it("a wrong -parallelism is an error", async () => {
      const r = await runCli(["restore", "-parallelism", "0", "-o", tmp.join("x.db"), "s3://bucket/db"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: invalid value "0" for flag -parallelism: must be at least 1');
    });

    it("-generation and -index (v0.3) are checked as v0.3.13 checks them", async () => {
      const url = `file://${tmp.join("none")}`;
      const r = await runCli(["restore", "-generation", "0123456789abcdef", "-index", "2", "-o", tmp.join("x.db"), url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: generation 0123456789abcdef not found in ${tmp.join("none")}\n`);
      expect((await runCli(["restore", "-index", "2", "-o", tmp.join("x.db"), url])).stderr).toMatch(/^error: must specify -generation when restoring to -index\n/);
      expect((await runCli(["restore", "-generation", "0123456789abcdef", "-index", "2", "-timestamp", "2024-01-01T00:00:00Z", "-o", tmp.join("x.db"), url])).stderr).toMatch(
        /^error: cannot specify -index and -timestamp\n/,
      );
      expect((await runCli(["restore", "-generation", "0123456789abcdef", "-txid", "2", "-o", tmp.join("x.db"), url])).stderr).toMatch(
        /^error: cannot specify -txid \(v0.5\) with -generation or -index \(v0.3\)\n/,
      );
      expect((await runCli(["restore", "-generation", "XYZ", "-o", tmp.join("x.db"), url])).stderr).toMatch(/^error: invalid -generation "XYZ"/);
      expect((await runCli(["restore", "-generation", "0123456789abcdef", "-index", "80000000", "-o", tmp.join("x.db"), url])).stderr).toMatch(/^error: invalid -index 80000000/);
    });

    it("a REPLICA_URL cannot be combined with -config or -replica", async () => {
      expect((await runCli(["restore", "-config", "x.yml", "-o", "x", "s3://b/db"])).stderr).toMatch(/^error: cannot specify a replica URL and the -config flag/);
      expect((await runCli(["restore", "-replica", "s3", "-o", "x", "s3://b/db"])).stderr).toMatch(/^error: cannot specify a replica URL and the -replica flag/);
    });

    it("a scheme sqlrep does not serve is the replica package's error", async () => {
      const r = await runCli(["restore", "-o", tmp.join("x.db"), "gcs://bucket/db"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: replica scheme gcs:\/\/ is not supported by sqlrep yet \(supported: file, s3, [a-z, ]+\)\n$/);
    });
  });

  describe("replicate arguments", () => {
    it("a database without a replica URL", async () => {
      const r = await runCli(["replicate", tmp.join("a.db")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: must specify at least one replica URL for /);
    });

    it("positional mode and -config", async () => {
      const r = await runCli(["replicate", "-config", "x.yml", tmp.join("a.db"), "file:///tmp/r"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: cannot specify a replica URL and the -config flag/);
    });

    it("a missing default config names the path", async () => {
      const r = await runCli(["replicate"], { env: { LITESTREAM_CONFIG: tmp.join("absent.yml") } });
      expect(r).toMatchObject({ code: 1, stderr: `error: ${tmp.join("absent.yml")}: config file not found\n` });
    });

    it("a config without databases", async () => {
      const file = config("empty.yml", "# nothing\n");
      const r = await runCli(["replicate", "-config", file]);
      expect(r).toMatchObject({ code: 1, stderr: `error: no databases specified in configuration (${file})\n` });
    });

    it("a bad -log-level or LOG_LEVEL", async () => {
      const flag = await runCli(["replicate", "-log-level", "loud", tmp.join("a.db"), `file://${tmp.join("r")}`]);
      expect(flag.code).toBe(1);
      expect(flag.stderr).toMatch(/^error: -log-level "loud": expected trace, debug, info, warn or error\n\nThe replicate command/);
      const env = await runCli(["replicate", tmp.join("a.db"), `file://${tmp.join("r")}`], { env: { LOG_LEVEL: "loud" } });
      expect(env).toMatchObject({ code: 1, stderr: 'error: LOG_LEVEL "loud": expected trace, debug, info, warn or error\n' });
    });

    it("a bad -exec command line", async () => {
      const file = config("exec.yml", `dbs:\n  - path: ${tmp.join("a.db")}\n    replica: { path: ${tmp.join("r")} }\n`);
      const r = await runCli(["replicate", "-config", file, "-exec", "echo 'unterminated"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: unterminated single quote in exec command/);
    });
  });

  describe("config errors exit 1 naming the file, the line and the key", () => {
    it.each([
      [
        "unknown key",
        "dbs:\n  - path: /a.db\n    replicas:\n      - url: s3://b/a\n        retension: 24h\n",
        ':5:9: dbs[0].replicas[0].retension: unknown key (did you mean "retention"?)',
      ],
      [
        "wrong type",
        "dbs:\n  - path: /a.db\n    monitor-interval: [1s]\n    replica: { path: /r }\n",
        ":3:23: dbs[0].monitor-interval: expected a duration such as 1s, 500ms or 1h30m, got a list",
      ],
      [
        "bad duration",
        "dbs:\n  - path: /a.db\n    replica:\n      path: /r\n      sync-interval: 1d\n",
        ':5:22: dbs[0].replica.sync-interval: invalid duration "1d": Go durations have no day unit: write 24h for a day',
      ],
      [
        "url and bucket",
        "dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/a\n      bucket: b\n",
        ":5:7: dbs[0].replica.bucket: cannot specify url & bucket for a replica: the URL already sets it",
      ],
      [
        "unsupported key",
        "dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/a\n      auto-recover: true\n",
        ":5:7: dbs[0].replica.auto-recover: not supported by sqlrep: sqlrep keeps no local LTX state to reset",
      ],
      [
        "unsupported type",
        "dbs:\n  - path: /a.db\n    replica:\n      type: oss\n",
        ":4:7: dbs[0].replica.type: replica scheme oss:// is not supported by sqlrep yet (supported: file, s3, ",
      ],
      ["YAML syntax", "dbs:\n  - path: /a.db\n   replica: [\n", ":3:"],
    ])("%s", async (_what, text, tail) => {
      const file = config("bad.yml", text);
      for (const command of [["databases"], ["replicate"], ["status"], ["restore", "/a.db"]]) {
        const [name, ...rest] = command as [string, ...string[]];
        const r = await runCli([name, "-config", file, ...rest]);
        expect(r.code, `${name}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toContain(`error: ${file}${tail}`);
      }
    });
  });

  describe("databases and the config file", () => {
    const text = "dbs:\n  - path: /data/${NAME}.db\n    replicas:\n      - url: s3://bucket/$NAME\n      - path: /backups/${NAME}\n        name: local\n";

    it("lists databases and replicas as a table", async () => {
      const file = config("db.yml", text);
      const r = await runCli(["databases", "-config", file], { env: { NAME: "app" } });
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toBe("path          replicas\n/data/app.db  s3,local\n");
    });

    it("expands $VAR and ${VAR}, and -no-expand-env turns it off", async () => {
      const file = config("db.yml", text);
      const expanded = JSON.parse((await runCli(["databases", "-json", "-config", file], { env: { NAME: "app" } })).stdout) as unknown;
      expect(expanded).toEqual([
        {
          path: "/data/app.db",
          replicas: [
            { name: "s3", type: "s3", url: "s3://bucket/app", bucket: "bucket", path: "app" },
            { name: "local", type: "file", path: "/backups/app" },
          ],
        },
      ]);
      const raw = JSON.parse((await runCli(["databases", "-json", "-no-expand-env", "-config", file], { env: { NAME: "app" } })).stdout) as {
        path: string;
        replicas: { path: string }[];
      }[];
      expect(raw[0]!.path).toBe("/data/${NAME}.db");
      expect(raw[0]!.replicas.map((r) => r.path)).toEqual(["$NAME", "/backups/${NAME}"]);
    });

    it("reads $LITESTREAM_CONFIG when -config is absent", async () => {
      const file = config("env.yml", text);
      const r = await runCli(["databases"], { env: { LITESTREAM_CONFIG: file, NAME: "x" } });
      expect(r.stdout).toContain("/data/x.db  s3,local");
    });

    it("a DB_PATH not in the config is an error", async () => {
      const file = config("db.yml", text);
      const r = await runCli(["ltx", "-config", file, "/data/other.db"], { env: { NAME: "app" } });
      expect(r).toMatchObject({ code: 1, stderr: `error: database not found in config: /data/other.db (config: ${file})\n` });
    });

    it("-replica must name a replica of the database", async () => {
      const file = config("db.yml", text);
      const r = await runCli(["ltx", "-config", file, "-replica", "nope", "/data/app.db"], { env: { NAME: "app" } });
      expect(r).toMatchObject({ code: 1, stderr: 'error: replica "nope" not found for database /data/app.db (replicas: s3, local)\n' });
    });
  });

  describe("other commands", () => {
    it("version", async () => {
      expect(await runCli(["version"])).toMatchObject({ code: 0, stdout: "v0.1.0\n" });
      const verbose = await runCli(["version", "-verbose"]);
      expect(verbose.stdout).toMatch(/^v0\.1\.0\nimplementation: sqlrep/);
      expect(verbose.stdout).toMatch(/\nsqlite: 3\.\d+\.\d+\n/);
    });

    it("generations and snapshots of a replica without v0.3 generations print only their headers", async () => {
      const url = `file://${tmp.join("none")}`;
      expect(await runCli(["generations", url])).toMatchObject({ code: 0, stdout: "name  generation  lag  start  end\n" });
      expect(await runCli(["snapshots", url])).toMatchObject({ code: 0, stdout: "replica  generation  index  size  created\n" });
      expect(await runCli(["snapshots", "-json", url])).toMatchObject({ code: 0, stdout: "[]\n" });
    });

    it("ltx -level must be 0-9 or all", async () => {
      const r = await runCli(["ltx", "-level", "10", "s3://b/db"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: invalid -level "10": expected 0-9 or all/);
    });
  });
});
