// The litefs program's surface: the usage lists every command, version prints the package's.
import { describe, expect, it } from "vitest";
import { main, usage, VERSION } from "./index.js";

function io() {
  let out = "";
  let err = "";
  return {
    io: {
      stdout: { write: (s: string) => ((out += s), true) },
      stderr: { write: (s: string) => ((err += s), true) },
      env: {},
      cwd: process.cwd(),
      signal: new AbortController().signal,
    } as never,
    out: () => out,
    err: () => err,
  };
}

describe("litefs", () => {
  it("prints its version", async () => {
    const t = io();
    expect(await main(["version"], t.io)).toBe(0);
    expect(t.out()).toBe(`v${VERSION}\n`);
  });

  it("refuses an unknown command with the usage", async () => {
    const t = io();
    expect(await main(["mont"], t.io)).toBe(1);
    expect(t.err()).toContain('unknown command "mont"');
    expect(usage()).toContain("version");
    expect(usage()).toContain("mount");
  });
});
