/** Unit test of RwLock: shared readers, an exclusive writer, and waiting writers holding new readers back. */
import { describe, expect, it } from "vitest";
import { RwLock } from "./rw-lock.js";

describe("RwLock", () => {
  it("lets readers share, gives a writer exclusive use, and holds new readers back once a writer waits", async () => {
    const lock = new RwLock();
    const log: string[] = [];
    let release1!: () => void;
    const r1 = lock.withShared(() => new Promise<void>((r) => ((release1 = r), log.push("r1"))));
    const r2 = lock.withShared(async () => void log.push("r2"));
    await r2;
    const w = lock.withExclusive(async () => void log.push("w"));
    const r3 = lock.withShared(async () => void log.push("r3"));
    await new Promise((r) => setTimeout(r, 5));
    expect(log).toEqual(["r1", "r2"]); // the writer waits for r1, r3 waits for the writer
    release1();
    await Promise.all([r1, w, r3]);
    expect(log).toEqual(["r1", "r2", "w", "r3"]);
    expect(lock.busy).toBe(false);
  });
});
