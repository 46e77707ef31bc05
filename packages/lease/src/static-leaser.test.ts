// The static leaser: a fixed primary, no failover, no handoff.
import { describe, expect, it } from "vitest";
import { isLeaseError } from "./errors.js";
import { createStaticLeaser } from "./static-leaser.js";

const node1 = { hostname: "node1", advertiseURL: "http://node1:20202" };

describe("static leaser", () => {
  it("a candidate is always the primary: acquire succeeds every time, the lease never expires", async () => {
    const leaser = createStaticLeaser({ ...node1, candidate: true });
    const a = await leaser.acquire();
    expect(a).toMatchObject({ id: "static", epoch: 1, ttlMs: Infinity });
    expect(a.expiresAt.getUTCFullYear()).toBe(3000);
    expect(await leaser.primary()).toEqual(node1);
    await a.renew();
    await expect(a.handoff("node2")).rejects.toSatisfy((e: unknown) => isLeaseError(e, "unsupported"));
    await a.release();
    expect((a.signal.reason as { code: string }).code).toBe("released");
    const b = await leaser.acquire();
    await leaser.close();
    expect((b.signal.reason as { code: string }).code).toBe("closed");
    await expect(leaser.acquire()).rejects.toSatisfy((e: unknown) => isLeaseError(e, "closed"));
  });

  it("a replica reports its configured hostname and URL as the primary and cannot acquire", async () => {
    const leaser = createStaticLeaser({ ...node1, candidate: false });
    const err = await leaser.acquire().catch((e: unknown) => e);
    expect(isLeaseError(err, "primary-exists")).toBe(true);
    expect((err as { primary: unknown }).primary).toEqual(node1);
    await expect(leaser.acquireExisting("static")).rejects.toSatisfy((e: unknown) => isLeaseError(e, "unsupported"));
    const stop = new AbortController();
    const seen: unknown[] = [];
    for await (const p of leaser.watchPrimary({ signal: stop.signal })) {
      seen.push(p);
      stop.abort();
    }
    expect(seen).toEqual([node1]);
  });

  it("keeps a cluster ID once, in this process", async () => {
    const leaser = createStaticLeaser(node1);
    expect(await leaser.clusterId()).toBeUndefined();
    await leaser.setClusterId("A");
    await leaser.setClusterId("A");
    const err = await leaser.setClusterId("B").catch((e: unknown) => e);
    expect(isLeaseError(err, "cluster-id-mismatch")).toBe(true);
    expect((err as Error).message).toMatch(/belongs to cluster A, but this node has cluster ID B/);
  });

  it("refuses a node without a hostname or with a bad advertise URL, naming the key", () => {
    expect(() => createStaticLeaser({ hostname: "", advertiseURL: "http://x" })).toThrow(/lease\.hostname: required/);
    expect(() => createStaticLeaser({ hostname: "n", advertiseURL: "node1:20202" })).toThrow(/lease\.advertise-url: must be http or https|lease\.advertise-url: not a URL/);
  });
});
