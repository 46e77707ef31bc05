// litefs.yml: defaults, the etcd shape, LiteFS's env expressions, the search
// order, and refusals that name the file, line and key.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isConfigError } from "@sqlrep/config";
import { afterAll, describe, expect, it } from "vitest";
import { expandLitefsEnv } from "./env.js";
import { advertiseUrl, loadLitefsConfig, parseLitefsConfig } from "./load.js";

const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseLitefsConfig(text, { file: "litefs.yml", env });
const refusal = (text: string, env: NodeJS.ProcessEnv = {}) => {
  try {
    parse(text, env);
  } catch (err) {
    if (isConfigError(err)) return err;
    throw err;
  }
  throw new Error("accepted");
};

describe("litefs.yml", () => {
  it("reads the issue's three-node etcd shape with LiteFS's defaults elsewhere", () => {
    const c = parse(`fuse:  {dir: /litefs}
data:  {dir: /var/lib/litefs}
http:  {addr: "127.0.0.1:20202"}
lease:
  type: etcd            # or consul, static
  hostname: node1
  advertise-url: http://127.0.0.1:20202
  candidate: true
  etcd: {endpoints: ["http://127.0.0.1:2379"], key: /litefs/demo, ttl: 3s}
`);
    expect(c.lease).toMatchObject({ type: "etcd", hostname: "node1", candidate: true, etcd: { endpoints: ["http://127.0.0.1:2379"], key: "/litefs/demo", ttl: 3000 } });
    expect(c.exitOnError).toBe(true);
    expect(c.skipSync).toBe(false);
    expect(c.data).toMatchObject({ compress: true, retention: 600_000, retentionMonitorInterval: 60_000 });
    expect(c.log).toEqual({ format: "text", timestamp: false, debug: false });
    expect(advertiseUrl(c)).toBe("http://127.0.0.1:20202");
  });

  it("defaults fuse.dir, data.dir and http.addr as LiteFS, and the advertise URL from the hostname", () => {
    const c = parse("lease: {type: consul, hostname: n1, consul: {url: 'http://127.0.0.1:8500', key: k}}\n");
    expect(c.fuse.dir).toBe("/litefs");
    expect(c.data.dir).toBe("/var/lib/litefs");
    expect(c.http.addr).toBe(":20202");
    expect(c.lease.consul).toMatchObject({ ttl: 10_000, lockDelay: 1_000 });
    expect(advertiseUrl(c)).toBe("http://n1:20202");
  });

  it("takes exec as a string or a list of commands with if-candidate", () => {
    expect(parse("exec: node app.js -p 1\nlease: {type: static}\n").exec).toBe("node app.js -p 1");
    const c = parse("exec:\n  - cmd: migrate up\n    if-candidate: true\n  - node app.js\nlease: {type: static}\n");
    expect(c.exec).toEqual([{ cmd: "migrate up", ifCandidate: true }, "node app.js"]);
  });

  it("expands LiteFS's comparisons and variables, unless told not to", () => {
    const env = { FLY_REGION: "ord", PRIMARY_REGION: "ord", OTHER: "x", DIR: "/d" };
    expect(expandLitefsEnv('a: ${FLY_REGION == PRIMARY_REGION} b: ${OTHER != "x"} c: ${OTHER == \'x\'} d: $DIR e: ${UNSET == ""}', env)).toBe(
      "a: true b: false c: true d: /d e: true",
    );
    const c = parse("fuse: {dir: ${DIR}/mnt}\nlease: {type: static, candidate: ${FLY_REGION == PRIMARY_REGION}}\n", env);
    expect(c.fuse.dir).toBe("/d/mnt");
    expect(c.lease.candidate).toBe(true);
    const raw = parseLitefsConfig("fuse: {dir: $DIR}\nlease: {type: static}\n", { file: "f.yml", env, expandEnv: false });
    expect(raw.fuse.dir).toBe("$DIR");
  });

  it("refuses an unknown key naming file, line, column and key", () => {
    const err = refusal("lease:\n  type: static\n  canidate: true\n");
    expect(err.code).toBe("unknown-key");
    expect(err.message).toContain("litefs.yml:3:3");
    expect(err.message).toContain("lease.canidate");
    expect(err.message).toContain('did you mean "candidate"');
  });

  it("refuses a lease type LiteFS does not know", () => {
    const err = refusal("lease: {type: kubernetes}\n");
    expect(err.code).toBe("invalid-value");
    expect(err.message).toMatch(/lease\.type.*kubernetes/);
    expect(refusal("fuse: {dir: /x}\n").message).toMatch(/lease.*missing/);
  });

  it("refuses the same fuse.dir and data.dir", () => {
    const err = refusal("fuse: {dir: /srv/x}\ndata: {dir: /srv/x/}\nlease: {type: static}\n");
    expect(err.code).toBe("conflict");
    expect(err.message).toMatch(/litefs\.yml:2.*data\.dir must differ from fuse\.dir/);
  });

  it("refuses historical keys naming their successor", () => {
    expect(refusal("mount-dir: /litefs\nlease: {type: static}\n").message).toMatch(/mount-dir.*use fuse\.dir/);
    expect(refusal("data-dir: /d\nlease: {type: static}\n").message).toMatch(/use data\.dir/);
    expect(refusal("lease: {type: static, static: {primary: true}}\n").message).toMatch(/lease\.static.*lease\.candidate/);
    expect(refusal("retention: {duration: 1h}\nlease: {type: static}\n").message).toMatch(/data\.retention/);
  });

  it("checks keys that go together", () => {
    expect(refusal("lease: {type: etcd}\n").message).toMatch(/needs a lease\.etcd block/);
    expect(refusal("lease: {type: static, databases: [a.db]}\n").message).toMatch(/only allowed on a replica/);
    expect(refusal("lease: {type: static, candidate: false}\n").message).toMatch(/advertise-url: the primary's/);
    expect(refusal("proxy: {target: 'localhost:8080', db: a.db}\nlease: {type: static}\n").message).toMatch(/proxy\.addr is required/);
    expect(refusal("backup: {type: litefs-cloud}\nlease: {type: static}\n").message).toMatch(/retired/);
    expect(refusal("lease: {type: static}\nhttp: {addr: ':1', snapshot-timeout: 10}\n").message).toMatch(/snapshot-timeout/);
  });
});

describe("the config search", () => {
  const root = mkdtempSync(join(tmpdir(), "litefs-config-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("takes ./litefs.yml, then $HOME/litefs.yml; -config names its own file", () => {
    const cwd = join(root, "cwd");
    const home = join(root, "home");
    mkdirSync(cwd);
    mkdirSync(home);
    writeFileSync(join(home, "litefs.yml"), "fuse: {dir: /from-home}\nlease: {type: static}\n");
    expect(loadLitefsConfig({ cwd, env: { HOME: home } }).config.fuse.dir).toBe("/from-home");
    writeFileSync(join(cwd, "litefs.yml"), "fuse: {dir: /from-cwd}\nlease: {type: static}\n");
    const loaded = loadLitefsConfig({ cwd, env: { HOME: home } });
    expect(loaded.file).toBe(join(cwd, "litefs.yml"));
    expect(loaded.config.fuse.dir).toBe("/from-cwd");
    expect(() => loadLitefsConfig({ cwd, env: {}, path: "missing.yml" })).toThrow(/missing\.yml/);
  });

  it("sets HOSTNAME when unset so ${HOSTNAME} expands", () => {
    const file = join(root, "h.yml");
    writeFileSync(file, "lease: {type: static, hostname: ${HOSTNAME}}\n");
    const env: NodeJS.ProcessEnv = {};
    const { config } = loadLitefsConfig({ cwd: root, env, path: file });
    expect(env["HOSTNAME"]).toBeTruthy();
    expect(config.lease.hostname).toBe(env["HOSTNAME"]);
  });
});
