// The `@sqlrep/fuse/testing` entry: lockctlBinary builds the lock helper once and the
// binary really drives fcntl locks (on a plain file here; the FUSE suites use it on mounts).
import { execFileSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { spawnProcess, tempDir } from "@sqlrep/testkit";
import { lockctlBinary } from "./testing.js";

describe("lockctlBinary", () => {
  it("builds the helper once, and another process sees the lock it holds", async () => {
    const binary = lockctlBinary();
    const built = statSync(binary).mtimeMs;
    expect(lockctlBinary()).toBe(binary);
    expect(statSync(binary).mtimeMs).toBe(built);
    using dir = tempDir();
    const file = dir.join("f");
    writeFileSync(file, "");
    const probe = () => execFileSync(binary, [file], { input: "open rw\nofd-getlk w 0 0\nexit\n", encoding: "utf8" });
    expect(probe()).toBe("ok\ngetlk u 0 0 0\n");
    const holder = await spawnProcess(binary, [file], { name: "lockctl", stdin: "pipe" });
    try {
      holder.stdin!.write("open rw\nF_OFD_SETLK w 72 1\n");
      await holder.waitForLine(/^ok$/, 5_000, 1);
      // OFD locks report pid -1
      expect(probe()).toBe("ok\ngetlk w 72 1 -1\n");
    } finally {
      holder.stdin!.end();
      await holder.stop(2_000);
    }
  });
});
