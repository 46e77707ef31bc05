// A daemon killed with SIGKILL leaves a dead mount ("Transport endpoint is not
// connected"): clearStaleMount clears it and a new daemon mounts on the same directory;
// a live mount is refused and left alone, and a plain directory is no mount at all.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fuseUnavailableReason, tempDir, tempMountDir } from "@sqlrep/testkit";
import { isFuseError } from "./errors.js";
import { clearStaleMount, isMountPoint } from "./stale-mount.js";
import { sqliteChild, startTestDaemon, type TestDaemon } from "./testing/harness.js";

const skip = fuseUnavailableReason();

describe("clearStaleMount on a directory nothing is mounted on", () => {
  it("does nothing and says so", () => {
    using dir = tempDir();
    expect(isMountPoint(dir.path)).toBe(false);
    expect(clearStaleMount(dir.path)).toBe(false);
  });
});

describe.skipIf(skip)(`a stale mount${skip ? ` (skipped: ${skip})` : ""}`, () => {
  // a space in the path: /proc/self/mountinfo escapes it as \040
  const dir = tempMountDir("sqlrep stale-");
  const daemons: TestDaemon[] = [];
  afterAll(async () => {
    for (const daemon of daemons.reverse()) await daemon.stop(); // the second runs on the first one's data
    dir.remove();
  }, 30_000);

  it("is cleared, and the directory mounts again with the databases still there; a live one is refused", async () => {
    const first = await startTestDaemon({ role: "primary", mountpoint: dir.path });
    daemons.push(first);
    await sqliteChild(["write", join(dir.path, "kept.db"), "wal", "normal", "2"]);
    expect(isMountPoint(dir.path)).toBe(true);
    let refused: unknown;
    try {
      clearStaleMount(dir.path);
    } catch (err) {
      refused = err;
    }
    expect(isFuseError(refused, "mount-in-use") && refused.file === dir.path && refused.message.includes("already mounted")).toBe(true);
    // still served (a stat here would leave kept.db in the kernel's attribute cache)
    expect(readdirSync(dir.path)).toContain("kept.db");

    first.process.kill();
    await first.process.exited;
    expect(isMountPoint(dir.path)).toBe(true);
    expect(() => statSync(join(dir.path, "kept.db"))).toThrow(/ENOTCONN/);
    const logged: string[] = [];
    expect(clearStaleMount(dir.path, { logger: { info: (m) => logged.push(m) } })).toBe(true);
    expect(isMountPoint(dir.path)).toBe(false);
    expect(logged).toEqual([`clearing the stale mount at ${dir.path} of a daemon that did not stop cleanly`]);
    const second = await startTestDaemon({ role: "primary", mountpoint: dir.path, dataDir: first.dataDir, ltxDir: first.ltxDir });
    daemons.push(second);
    const [result] = await sqliteChild(["write", join(dir.path, "kept.db"), "wal", "normal", "1"]);
    expect(result).toMatchObject({ count: 3 });
  });
});
