// `litefs mount` as a user runs it: bad configs refused with the file, line and key, a
// mount dir in use refused, a stale mount cleared, `exec` (list, if-candidate, `--`
// override, exit code, signal forwarding) — each a real daemon process.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deadPort, fuseUnavailableReason, isMounted, spawnProcess, tempMountDir, waitFor } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, sqlite3, startNode, type TestNode } from "./testing/nodes.js";

const skip = fuseUnavailableReason();

/** Every file under `dir`, recursively ([] when it does not exist). */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Runs `litefs mount -config <file>` to its exit; resolves with the code and output. */
async function runMount(config: string, args: string[] = []): Promise<{ code: number | null; out: string }> {
  const proc = await spawnProcess(process.execPath, [CLI, "mount", "-config", config, ...args], { name: "litefs" });
  const status = await proc.exited;
  return { code: status.code, out: proc.output().join("\n") };
}

describe.skipIf(skip)(`litefs mount${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const root = tempMountDir("litefs-cli-");
  const nodes: TestNode[] = [];
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    root.remove();
  });
  const file = (name: string, text: string) => {
    const path = join(root.path, name);
    writeFileSync(path, text);
    return path;
  };

  it("refuses an unknown key, a wrong lease type and fuse.dir = data.dir, naming file, line and key", async () => {
    const unknown = await runMount(file("unknown.yml", "fuse: {dir: /tmp/x-mnt}\nlease:\n  type: static\n  canidate: true\n"));
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain(`${join(root.path, "unknown.yml")}:4:3: lease.canidate: unknown key (did you mean "candidate"?)`);
    const type = await runMount(file("type.yml", "lease: {type: kubernetes}\n"));
    expect(type.code).toBe(1);
    expect(type.out).toMatch(/type\.yml:1:15: lease\.type: expected one of "static", "consul", "etcd", got "kubernetes"/);
    const same = await runMount(file("same.yml", "fuse: {dir: /tmp/same}\ndata: {dir: /tmp/same}\nlease: {type: static}\n"));
    expect(same.code).toBe(1);
    expect(same.out).toMatch(/same\.yml:2:\d+: data\.dir: data\.dir must differ from fuse\.dir/);
    const historical = await runMount(file("old.yml", "mount-dir: /litefs\nlease: {type: static}\n"));
    expect(historical.code).toBe(1);
    expect(historical.out).toMatch(/old\.yml:1:1: mount-dir: .*use fuse\.dir/);
  });

  it("exits 1 on a startup error, or with exit-on-error: false stays up until a signal", async () => {
    const port = await deadPort(); // etcd is unreachable
    const yml = (extra: string) =>
      `fuse: {dir: ${join(root.path, "eoe", "mnt")}}\ndata: {dir: ${join(root.path, "eoe", "data")}}\nhttp: {addr: "127.0.0.1:0"}\n${extra}lease:\n  type: etcd\n  advertise-url: http://127.0.0.1:1\n  etcd: {endpoints: ["http://127.0.0.1:${port}"], key: /litefs/eoe}\n`;
    const fatal = await runMount(file("eoe-true.yml", yml("")));
    expect(fatal.code).toBe(1);
    expect(fatal.out).toMatch(/startup failed.*127\.0\.0\.1:\d+/);
    const proc = await spawnProcess(process.execPath, [CLI, "mount", "-config", file("eoe-false.yml", yml("exit-on-error: false\n"))], {
      name: "litefs",
      ready: /exit-on-error is false: waiting for a signal/,
      readyTimeoutMs: 20_000,
    });
    expect(proc.exitStatus).toBeUndefined();
    proc.signal("SIGINT");
    expect(await proc.exited).toEqual({ code: 1, signal: null });
  });

  it("refuses a mount dir another daemon is serving, which keeps serving", async () => {
    const first = await startNode(root.path, "busy", ({ url }) => `lease: {type: static, hostname: busy, advertise-url: "${url}", candidate: true}`);
    nodes.push(first);
    await sqlite3(join(first.mnt, "a.db"), "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    const second = await runMount(
      file("second.yml", `fuse: {dir: ${first.mnt}}\ndata: {dir: ${join(root.path, "second-data")}}\nhttp: {addr: "127.0.0.1:0"}\nlease: {type: static}\n`),
    );
    expect(second.code).toBe(1);
    expect(second.out).toContain(`fuse.dir ${first.mnt} is already mounted`);
    expect(await sqlite3(join(first.mnt, "a.db"), "SELECT count(*) FROM t;")).toBe("1");
  });

  it("clears the stale mount of a daemon killed with SIGKILL and serves the same databases again", async () => {
    const node = nodes[0]!;
    node.process.kill();
    await node.process.exited;
    expect(isMounted(node.mnt)).toBe(true);
    await node.restart();
    expect(node.process.output().join("\n")).toMatch(/clearing the stale mount/);
    expect(await sqlite3(join(node.mnt, "a.db"), "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe("1\nok");
  });

  it("runs exec once ready: all but the last to completion, if-candidate honoured, the last one's exit code is the daemon's", async () => {
    const mnt = join(root.path, "exec", "mnt");
    const marks = join(root.path, "exec-marks");
    const config = file(
      "exec.yml",
      `fuse: {dir: ${mnt}}\ndata: {dir: ${join(root.path, "exec", "data")}}\nhttp: {addr: "127.0.0.1:0"}\nlease: {type: static, hostname: e, advertise-url: "http://127.0.0.1:1", candidate: true}\nexec:\n  - cmd: sh -c "echo migrate >> ${marks}"\n    if-candidate: true\n  - sh -c "test -f ${mnt}/.lag && echo app >> ${marks} && exit 7"\n`,
    );
    const run = await runMount(config);
    expect(run.code).toBe(7);
    expect(readFileSync(marks, "utf8")).toBe("migrate\napp\n");
    expect(isMounted(mnt)).toBe(false);
    const override = await runMount(config, ["--", "sh", "-c", "exit 3"]);
    expect(override.code).toBe(3);
    expect(readFileSync(marks, "utf8")).toBe("migrate\napp\n");
  });

  it("forwards SIGTERM to the exec child, exits with its code and unmounts", async () => {
    const mnt = join(root.path, "sig", "mnt");
    const config = file(
      "sig.yml",
      `fuse: {dir: ${mnt}}\ndata: {dir: ${join(root.path, "sig", "data")}}\nhttp: {addr: "127.0.0.1:0"}\nlease: {type: static, hostname: s, advertise-url: "http://127.0.0.1:1", candidate: true}\n`,
    );
    const proc = await spawnProcess(process.execPath, [CLI, "mount", "-config", config, "--", "sleep", "30"], { name: "litefs", ready: /starting subprocess/ });
    proc.signal("SIGTERM");
    expect(await proc.exited).toEqual({ code: 143, signal: null });
    expect(isMounted(mnt)).toBe(false);
    expect(existsSync(mnt)).toBe(true);
  });

  it("ships the backup: section to a file:// replica while primary", async () => {
    const backup = join(root.path, "backup");
    const node = await startNode(
      root.path,
      "backed",
      ({ url }) => `lease: {type: static, hostname: b, advertise-url: "${url}", candidate: true}\nbackup: {url: "file://${backup}"}`,
    );
    nodes.push(node);
    await sqlite3(join(node.mnt, "b.db"), "PRAGMA journal_mode=wal; CREATE TABLE t (x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);");
    const shipped = await waitFor(
      () => {
        const files = listFiles(join(backup, "b.db")).filter((f) => f.endsWith(".ltx"));
        return files.length > 0 ? files : undefined;
      },
      { timeoutMs: 15_000, message: "LTX files under the backup path" },
    );
    expect(shipped.some((f) => f.includes("/ltx/"))).toBe(true);
  });

  it("stops cleanly on SIGINT without exec: exit 0, unmounted", async () => {
    const mnt = join(root.path, "int", "mnt");
    const config = file(
      "int.yml",
      `fuse: {dir: ${mnt}}\ndata: {dir: ${join(root.path, "int", "data")}}\nhttp: {addr: "127.0.0.1:0"}\nlease: {type: static, hostname: i, advertise-url: "http://127.0.0.1:1", candidate: true}\n`,
    );
    const proc = await spawnProcess(process.execPath, [CLI, "mount", "-config", config], { name: "litefs", ready: /node is ready/ });
    await waitFor(() => isMounted(mnt));
    proc.signal("SIGINT");
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(isMounted(mnt)).toBe(false);
  });
});
