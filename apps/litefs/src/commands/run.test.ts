/**
 * `litefs run` against real nodes: -promote makes a replica the primary (etcd lease)
 * before the command runs, -if-candidate skips a non-candidate, the child's exit code is
 * ours, -with-halt-lock-on holds a real OFD write lock on byte 72 of `<db>-lock` while the
 * command runs (seen from another process with fcntl), and the built CLI forwards SIGTERM.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockctlBinary } from "@sqlrep/fuse/testing";
import { createStaticLeaser } from "@sqlrep/lease";
import { openEtcdLeaser } from "@sqlrep/lease-etcd";
import { etcdAvailable, etcdUnavailableReason, spawnProcess, startEtcd, tempDir, waitFor, type EtcdServer } from "@sqlrep/testkit";
import { litefs, startNode, type TestNode } from "../testing/in-process-nodes.js";

const tmp = tempDir("sqlrep-litefs-cli-run-");
const node = process.execPath;
const open: TestNode[] = [];
afterAll(async () => {
  for (const n of open.reverse()) await n.close();
  tmp.remove();
});

/** A child that exits 7 if the node at `url` is the primary when it runs, 3 if not. */
const exitsByRole = (url: string) => [node, "-e", `fetch(${JSON.stringify(`${url}/info`)}).then(r => r.json()).then(j => process.exit(j.isPrimary ? 7 : 3))`];

describe.skipIf(!etcdAvailable())(`litefs run -promote on etcd${etcdAvailable() ? "" : ` (skipped: ${etcdUnavailableReason()})`}`, () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    for (const n of open.splice(0)) await n.close();
    await etcd?.stop();
  });

  it("promotes a replica before the command runs; the command's exit code is ours", async () => {
    const lease = { endpoints: etcd.endpoints, key: "/litefs/run-test", ttl: 5000 };
    for (const name of ["p0", "p1"]) open.push(await startNode({ dataDir: tmp.join(name), hostname: name, leaser: (id) => openEtcdLeaser(lease, id) }));
    await waitFor(() => open.filter((t) => t.node.isPrimary).length === 1, { timeoutMs: 15_000 });
    await Promise.all(open.map((t) => t.node.whenReady));
    const replica = open.find((t) => !t.node.isPrimary)!;
    const res = await litefs(["run", "-url", replica.url, "-promote", "-v", "--", ...exitsByRole(replica.url)]);
    expect(res.stderr).toContain("promoting node to primary");
    expect(res.code).toBe(7);
    expect(replica.node.isPrimary).toBe(true);
    expect(open.filter((t) => t.node.isPrimary)).toHaveLength(1);

    // Already primary: nothing to promote, the command still runs.
    const again = await litefs(["run", "-url", replica.url, "-promote", "-v", "--", ...exitsByRole(replica.url)]);
    expect(again.code).toBe(7);
    expect(again.stderr).toContain("node is already primary, skipping promotion");
  }, 60_000);
});

describe("litefs run on a static pair", () => {
  let primary: TestNode;
  let replica: TestNode;
  beforeAll(async () => {
    primary = await startNode({ dataDir: tmp.join("a"), hostname: "a", leaser: (id) => createStaticLeaser({ ...id, candidate: true }) });
    open.push(primary);
    await primary.node.whenReady;
    replica = await startNode({
      dataDir: tmp.join("b"),
      hostname: "b",
      candidate: false,
      leaser: () => createStaticLeaser({ hostname: "a", advertiseURL: primary.url, candidate: false }),
    });
    open.push(replica);
    await replica.node.whenReady;
  }, 30_000);

  it("-if-candidate skips the command on a non-candidate and runs it on a candidate", async () => {
    const marker = tmp.join("ran");
    const touch = [node, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x"); process.exit(4)`];
    const skipped = await litefs(["run", "-url", replica.url, "-if-candidate", "--", ...touch]);
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toBe("node is not a candidate, skipping execution\n");
    expect(existsSync(marker)).toBe(false);
    const ran = await litefs(["run", "-url", primary.url, "-if-candidate", "--", ...touch]);
    expect(ran.code).toBe(4);
    expect(existsSync(marker)).toBe(true);
  });

  it("-promote on a node that is not a candidate fails naming the node's answer", async () => {
    const res = await litefs(["run", "-url", replica.url, "-promote", "--", node, "-e", "process.exit(0)"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`POST ${replica.url}/promote: `);
    expect(res.stderr).toContain("not a candidate");
  });

  it("refuses bad input: no command, no '--', -promote with -with-halt-lock-on, node down", async () => {
    expect((await litefs(["run"])).stderr).toContain("error: no subcommand specified");
    expect((await litefs(["run", "-promote", "echo", "hi"])).stderr).toContain("too many arguments, specify a '--' to specify an exec command");
    expect((await litefs(["run", "-promote", "-with-halt-lock-on", "/litefs/db", "--", "true"])).stderr).toContain("cannot specify both -promote and -with-halt-lock-on");
    const down = await litefs(["run", "-url", "http://127.0.0.1:9", "-if-candidate", "--", "true"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach the litefs node at http://127.0.0.1:9 (GET /info)");
    const missing = await litefs(["run", "-with-halt-lock-on", tmp.join("nope.db"), "--", "true"]);
    expect(missing.stderr).toContain(`database does not exist: ${tmp.join("nope.db")}`);
    writeFileSync(tmp.join("plain.db"), "");
    const plain = await litefs(["run", "-with-halt-lock-on", tmp.join("plain.db"), "--", "true"]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`lock file ${tmp.join("plain.db")}-lock not available: is its directory a LiteFS mount?`);
  });
});

describe("litefs run -with-halt-lock-on (the lock itself, on a plain file)", () => {
  let lockctl: string;
  beforeAll(() => {
    // @sqlrep/fuse's own fcntl driver: another process looking at the lock.
    lockctl = lockctlBinary();
  });

  const probe = (file: string) => `printf 'open rw\\nofd-getlk w 0 0\\nexit\\n' | ${lockctl} ${file}`;

  it("holds an OFD write lock on byte 72 exactly while the command runs, then releases it", async () => {
    const db = tmp.join("app.db");
    writeFileSync(db, "");
    writeFileSync(`${db}-lock`, "");
    const seen = tmp.join("seen");
    const res = await litefs(["run", "-v", "-with-halt-lock-on", db, "--", "sh", "-c", `${probe(`${db}-lock`)} > ${seen}; exit 9`]);
    expect(res.code).toBe(9);
    expect(res.stderr).toMatch(/halt lock acquired in [\d.]+ms/);
    expect(res.stderr).toMatch(/halt lock released in [\d.]+ms/);
    // OFD locks report pid -1; the range is byte 72 alone.
    expect(readFileSync(seen, "utf8")).toContain("getlk w 72 1 -1");
    expect(execFileSync("sh", ["-c", probe(`${db}-lock`)], { encoding: "utf8" })).toContain("getlk u 0 0");
  });

  it("waits while another process holds the lock; a stop signal ends the wait and the command never runs", async () => {
    const db = tmp.join("busy.db");
    writeFileSync(db, "");
    writeFileSync(`${db}-lock`, "");
    const holder = await spawnProcess(lockctl, [`${db}-lock`], { name: "lockctl", stdin: "pipe" });
    try {
      holder.stdin!.write("open rw\nF_OFD_SETLKW w 72 1\n");
      await holder.waitForLine(/^ok$/, 5_000, 1);
      const marker = tmp.join("busy-ran");
      const stop = new AbortController();
      const started = performance.now();
      setTimeout(() => stop.abort("SIGTERM"), 400);
      const res = await litefs(["run", "-with-halt-lock-on", db, "--", "touch", marker], { signal: stop.signal });
      expect(performance.now() - started).toBeGreaterThanOrEqual(390);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`waiting for the halt lock on ${db}-lock: aborted`);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await holder.stop();
    }
  });
});

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
describe.skipIf(!existsSync(CLI))(`the built litefs run and signals${existsSync(CLI) ? "" : " (skipped: dist/cli.js is not built; pnpm build first)"}`, () => {
  it("forwards SIGTERM to the command and exits with its exit code", async () => {
    const child = [node, "-e", "process.on('SIGTERM', () => process.exit(7)); console.log('child ready'); setInterval(() => {}, 1000)"];
    const proc = await spawnProcess(node, [CLI, "run", "--", ...child], { name: "litefs run", ready: /child ready/ });
    proc.signal("SIGTERM");
    const status = await proc.exited;
    expect(status).toEqual({ code: 7, signal: null });
  });
});
