/**
 * `litefs run -with-halt-lock-on` on a real FUSE mount: @sqlrep/fuse's own test daemons
 * (a primary double writing an LTX log, a replica double applying it — not yet the
 * cluster-backed mount `litefs mount` will be). The lock our helper takes must reach the
 * replica's backend as a halt of the database while the command runs, and an unhalt after.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockctlBinary } from "@sqlrep/fuse/testing";
import { fuseUnavailableReason, tempDir } from "@sqlrep/testkit";
import { litefs } from "../testing/in-process-nodes.js";

/** The part of @sqlrep/fuse's test harness used here (src/testing/harness.ts, not part of its published build). */
interface FuseHarness {
  startTestDaemon(options: { role: "primary" | "replica"; name?: string; ltxDir?: string; primaryHostname?: string }): Promise<Daemon>;
  sqliteChild(args: readonly string[]): Promise<Record<string, unknown>[]>;
}
interface Daemon {
  readonly mountpoint: string;
  readonly ltxDir: string;
  send<T>(cmd: string): Promise<T>;
  stop(): Promise<void>;
}

const FUSE_SRC = fileURLToPath(new URL("../../../../packages/fuse/src/", import.meta.url));
const skip = fuseUnavailableReason();
const tmp = tempDir("sqlrep-litefs-cli-fuse-");

describe.skipIf(skip)(`litefs run -with-halt-lock-on on a FUSE replica mount${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let primary: Daemon;
  let replica: Daemon;
  let lockctl: string;

  beforeAll(async () => {
    const harness = (await import(pathToFileURL(join(FUSE_SRC, "testing", "harness.ts")).href)) as FuseHarness;
    primary = await harness.startTestDaemon({ role: "primary", name: "primary" });
    replica = await harness.startTestDaemon({ role: "replica", name: "replica", ltxDir: primary.ltxDir, primaryHostname: "primary-host" });
    await harness.sqliteChild(["write", join(primary.mountpoint, "app.db"), "wal", "normal", "3"]);
    await replica.send("sync");
    lockctl = lockctlBinary();
  }, 60_000);

  afterAll(async () => {
    await replica?.stop();
    await primary?.stop();
    tmp.remove();
  }, 30_000);

  it("halts the database for the command's run and unhalts it after; the command's exit code is ours", async () => {
    const db = join(replica.mountpoint, "app.db");
    const seen = tmp.join("seen");
    const probe = `printf 'open rw\\nofd-getlk w 72 1\\nexit\\n' | ${lockctl} ${db}-lock > ${seen}`;
    const res = await litefs(["run", "-v", "-with-halt-lock-on", db, "--", "sh", "-c", `${probe}; exit 5`]);
    expect(res.stderr).toContain("halt lock acquired");
    expect(res.code).toBe(5);
    expect(readFileSync(seen, "utf8")).toMatch(/^ok\ngetlk w 72 1 /);
    const state = await replica.send<{ halts: { name: string; kind: string; pid: number }[] }>("state");
    const halts = state.halts.filter((h) => h.name === "app.db");
    expect(halts.map((h) => h.kind)).toEqual(["halt", "unhalt"]);
    expect(halts[0]!.pid).toBeGreaterThan(0);
  });
});
