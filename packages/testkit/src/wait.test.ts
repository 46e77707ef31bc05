/** Unit tests of waitFor (first truthy value, timeout naming the condition and the last error, abort) and of the port helpers. */
import { describe, expect, it } from "vitest";
import { TestkitError } from "./errors.js";
import { deadPort, freePort, httpStatus, isPortOpen } from "./ports.js";
import { waitFor } from "./wait.js";

describe("waitFor", () => {
  it("resolves with the first truthy value", async () => {
    let calls = 0;
    expect(await waitFor(() => (++calls === 3 ? "done" : undefined), { intervalMs: 1 })).toBe("done");
    expect(calls).toBe(3);
  });

  it("times out naming the condition, with the last error as cause", async () => {
    const error = (await waitFor(
      () => {
        throw new Error("not yet: replica at txid 3");
      },
      { timeoutMs: 50, intervalMs: 5, message: "the replica to catch up" },
    ).catch((e: unknown) => e)) as TestkitError;
    expect(error).toBeInstanceOf(TestkitError);
    expect(error.code).toBe("TIMEOUT");
    expect(error.message).toContain("the replica to catch up");
    expect((error.cause as Error).message).toBe("not yet: replica at txid 3");
  });

  it("stops when aborted", async () => {
    await expect(waitFor(() => false, { signal: AbortSignal.timeout(20) })).rejects.toMatchObject({ name: "TimeoutError" });
  });
});

describe("ports", () => {
  it("finds a free port, which nothing answers on", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await isPortOpen(port)).toBe(false);
    expect(await httpStatus(`http://127.0.0.1:${port}/`)).toBeUndefined();
  });

  it("finds a dead port below 1024, where connections are refused", async () => {
    const port = await deadPort();
    expect(port).toBeLessThan(1024);
    expect(await isPortOpen(port)).toBe(false);
  });
});
