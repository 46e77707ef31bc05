// A daemon killed with SIGKILL leaves a dead mount ("Transport endpoint is not
// connected"); the testkit clears it and a new daemon mounts on the same directory.
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clearStaleMount, fuseUnavailableReason, isMounted, tempMountDir } from "@sqlrep/testkit";
import { sqliteChild, startTestDaemon, type TestDaemon } from "./testing/harness.js";

const skip = fuseUnavailableReason();

describe.skipIf(skip)(`a stale mount${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const dir = tempMountDir();
  const daemons: TestDaemon[] = [];
  afterAll(async () => {
    for (const daemon of daemons.reverse()) await daemon.stop(); // the second runs on the first one's data
    dir.remove();
  }, 30_000);

  it("is cleared, and the directory mounts again with the databases still there", async () => {
    const first = await startTestDaemon({ role: "primary", mountpoint: dir.path });
    daemons.push(first);
    await sqliteChild(["write", join(dir.path, "kept.db"), "wal", "normal", "2"]);
    first.process.kill();
    await first.process.exited;
    expect(isMounted(dir.path)).toBe(true);
    expect(() => statSync(join(dir.path, "kept.db"))).toThrow(/ENOTCONN/);
    clearStaleMount(dir.path);
    expect(isMounted(dir.path)).toBe(false);
    const second = await startTestDaemon({ role: "primary", mountpoint: dir.path, dataDir: first.dataDir, ltxDir: first.ltxDir });
    daemons.push(second);
    const [result] = await sqliteChild(["write", join(dir.path, "kept.db"), "wal", "normal", "1"]);
    expect(result).toMatchObject({ count: 3 });
  });
});
