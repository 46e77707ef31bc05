// The control socket through the CLI: `replicate` serving it (socket.enabled), and the
// start, stop, sync, register, unregister, list and info commands as child processes.
import { existsSync, statSync, writeFileSync } from "node:fs";
import { spawnProcess, stopAllProcesses, tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, readDatabase, runCli } from "./testing/seed.js";

const tmp = tempDir("sqlrep-litestream-control-");
afterAll(async () => {
  await stopAllProcesses();
  tmp.remove();
});

function walDb(path: string, rows: number): void {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)");
  for (let i = 0; i < rows; i++) db.prepare("INSERT INTO t (v) VALUES (?)").run(`row ${i}`);
  db.close();
}

async function restoredRows(replica: string): Promise<number> {
  const out = tmp.join(`restored-${Math.random().toString(36).slice(2)}.db`);
  const r = await runCli(["restore", "-o", out, `file://${replica}`]);
  expect(r.stderr).toBe("");
  return readDatabase(out).rows.length;
}

describe.skipIf(!existsSync(CLI))(`the control socket${existsSync(CLI) ? "" : " (skipped: needs a build)"}`, () => {
  it("clients without a daemon say what is wrong", async () => {
    const r = await runCli(["list", "-socket", tmp.join("none.sock")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed to connect to control socket .*none\.sock: .*ENOENT.*socket\.enabled: true/);
    expect((await runCli(["sync", "-socket", tmp.join("none.sock")])).stderr).toContain("database path required");
    expect((await runCli(["register", "-socket", tmp.join("none.sock"), tmp.join("x.db")])).stderr).toContain("-replica is required");
  }, 20_000);

  it("replicate serves it; start, stop, sync -wait, register, unregister, list and info drive it", async () => {
    const [a, b] = [tmp.join("a.db"), tmp.join("b.db")];
    const [ra, rb] = [tmp.join("ra"), tmp.join("rb")];
    const socket = tmp.join("ls.sock");
    walDb(a, 2);
    walDb(b, 3);
    const config = tmp.join("ls.yml");
    writeFileSync(config, `socket:\n  enabled: true\n  path: ${socket}\n  permissions: 0660\ndbs:\n  - path: ${a}\n    replica: { path: ${ra} }\n`);
    const proc = await spawnProcess(process.execPath, [CLI, "replicate", "-config", config], {
      name: "litestream-socket",
      env: { LOG_LEVEL: "" },
      ready: /msg="control socket listening"/,
      readyTimeoutMs: 30_000,
    });
    const cli = async (...args: string[]) => {
      const r = await runCli([args[0]!, "-socket", socket, ...args.slice(1)]);
      return { ...r, json: () => JSON.parse(r.stdout) as Record<string, unknown> };
    };
    expect(statSync(socket).mode & 0o777).toBe(0o660);

    const info = await cli("info", "-json");
    expect(info.json()).toMatchObject({ pid: proc.pid, database_count: 1, version: expect.stringMatching(/^v/) });
    expect((await cli("info")).stdout).toMatch(/^Litestream v\S+\n {2}PID: {8}\d+\n {2}Uptime: {5}\d+s\n {2}Started at: \S+\n {2}Databases: {2}1\n$/);

    walDb(a, 1); // 3 rows
    const synced = await cli("sync", "-wait", "-json", a);
    expect(synced.code).toBe(0);
    expect(synced.json()).toMatchObject({ db_path: a, txid: expect.any(Number), replica_txid: expect.any(Number), duration_ms: expect.any(Number) });
    expect(synced.json()["replica_txid"]).toBe(synced.json()["txid"]);

    // register: b joins (and is refused a second time, politely); list shows both.
    const reg = await cli("register", "-replica", `file://${rb}`, b);
    expect(reg.stdout).toBe(`status: registered\ndb_path: ${b}\nreplica: file://${rb}\nsocket: ${socket}\n`);
    expect((await cli("register", "-replica", `file://${rb}`, b)).stdout).toContain("status: already registered\n");
    expect((await cli("register", "-replica", `file://${ra}`, tmp.join("c.db"))).stderr).toMatch(/register failed: .*same replica location/);
    expect((await cli("list")).stdout).toMatch(new RegExp(`^${a} \\[replicating\\] \\(last sync: \\S+\\)\\n${b} \\[replicating\\] \\(last sync: \\S+\\)\\n$`));

    // stop: a final sync, then a is not replicated (sync refused) until start.
    walDb(a, 1); // 4 rows, in the replica by the stop's final sync
    const stopped = await cli("stop", a);
    expect(stopped.stdout).toMatch(new RegExp(`^status: stopped\\ndb_path: ${a}\\nstate: stopped\\ntxid: \\d+\\nsocket: ${socket}\\n$`));
    expect(await restoredRows(ra)).toBe(4);
    expect((await cli("stop", a)).stdout).toContain("status: already_stopped\n");
    expect((await cli("list", "-json")).json()).toMatchObject({
      databases: [
        { path: a, status: "stopped" },
        { path: b, status: "replicating" },
      ],
    });
    walDb(a, 1); // 5 rows, not replicated while stopped
    expect((await cli("sync", a)).stderr).toBe(`error: sync failed: database not open: ${a}\n`);
    expect(await restoredRows(ra)).toBe(4);
    expect((await cli("start", "-json", a)).json()).toMatchObject({ status: "started", db_path: a, state: "running", socket });
    await cli("sync", "-wait", a);
    expect(await restoredRows(ra)).toBe(5);

    // unregister: b leaves after a final sync.
    walDb(b, 1); // 4 rows
    expect((await cli("unregister", b)).stdout).toMatch(new RegExp(`^status: unregistered\\ndb_path: ${b}\\nfinal_txid: \\d+\\n`));
    expect((await cli("unregister", b)).stdout).toContain("status: already_unregistered\n");
    expect((await cli("info", "-json")).json()).toMatchObject({ database_count: 1 });
    expect((await cli("start", b)).stderr).toBe(`error: start failed: database not found: ${b}\n`);
    expect(await restoredRows(rb)).toBe(4);

    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    expect(existsSync(socket)).toBe(false);
  }, 60_000);
});
