/** Tests of startEtcd with the real etcd binary (through its JSON gateway), and the skip reason where no binary is installed. */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdAvailable, etcdUnavailableReason, startEtcd, type EtcdServer } from "./etcd.js";
import { isPortOpen } from "./ports.js";

const TIMEOUT = 30_000;
const b64 = (text: string) => Buffer.from(text).toString("base64");
const unb64 = (text: string) => Buffer.from(text, "base64").toString();

/** One call of etcd's JSON gRPC gateway. */
async function gateway(etcd: EtcdServer, path: string, body: object): Promise<Record<string, unknown>> {
  const response = await fetch(`${etcd.clientUrl}/v3/${path}`, { method: "POST", body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function range(etcd: EtcdServer, key: string, rangeEnd?: string) {
  const out = await gateway(etcd, "kv/range", { key: b64(key), ...(rangeEnd ? { range_end: b64(rangeEnd) } : {}) });
  return ((out["kvs"] ?? []) as { key: string; value: string }[]).map((kv) => [unb64(kv.key), unb64(kv.value)]);
}

const skipReason = etcdAvailable() ? "" : ` (skipped: ${etcdUnavailableReason()})`;

describe.skipIf(!etcdAvailable())(`startEtcd${skipReason}`, () => {
  let etcd: EtcdServer;

  beforeAll(async () => {
    etcd = await startEtcd();
  }, TIMEOUT);

  afterAll(() => etcd?.stop(), TIMEOUT);

  it("serves on 127.0.0.1 with a data dir of its own", async () => {
    expect(etcd.endpoints).toEqual([etcd.clientUrl]);
    expect(etcd.clientUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(etcd.peerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(`${etcd.dataDir}/member`)).toBe(true);
    const health = await (await fetch(`${etcd.clientUrl}/health`)).json();
    expect(health).toMatchObject({ health: "true" });
  });

  it(
    "puts, reads, lists by prefix and deletes through the JSON gateway",
    async () => {
      await gateway(etcd, "kv/put", { key: b64("/sqlrep/a"), value: b64("one") });
      await gateway(etcd, "kv/put", { key: b64("/sqlrep/b"), value: b64("two") });
      await gateway(etcd, "kv/put", { key: b64("/other"), value: b64("x") });
      expect(await range(etcd, "/sqlrep/a")).toEqual([["/sqlrep/a", "one"]]);
      expect(await range(etcd, "/sqlrep/", "/sqlrep0")).toEqual([
        ["/sqlrep/a", "one"],
        ["/sqlrep/b", "two"],
      ]);
      const deleted = await gateway(etcd, "kv/deleterange", { key: b64("/sqlrep/a") });
      expect(deleted["deleted"]).toBe("1");
      expect(await range(etcd, "/sqlrep/a")).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    "grants leases that keys can be attached to",
    async () => {
      const lease = await gateway(etcd, "lease/grant", { TTL: 30 });
      expect(Number(lease["TTL"])).toBe(30);
      await gateway(etcd, "kv/put", { key: b64("/lease/held"), value: b64("me"), lease: lease["ID"] });
      await gateway(etcd, "lease/revoke", { ID: lease["ID"] });
      expect(await range(etcd, "/lease/held")).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    "runs beside a second etcd and cleans up after stop()",
    async () => {
      const second = await startEtcd({ name: "second" });
      const port = Number(new URL(second.clientUrl).port);
      try {
        expect(second.clientUrl).not.toBe(etcd.clientUrl);
        await gateway(second, "kv/put", { key: b64("/only-here"), value: b64("2") });
        expect(await range(second, "/only-here")).toEqual([["/only-here", "2"]]);
        expect(await range(etcd, "/only-here")).toEqual([]);
      } finally {
        await second.stop();
      }
      await second.stop();
      expect(second.process.exitStatus).toBeDefined();
      expect(existsSync(second.dataDir)).toBe(false);
      expect(await isPortOpen(port)).toBe(false);
    },
    TIMEOUT,
  );
});

describe("without an etcd binary", () => {
  it("says so, and startEtcd() refuses with the reason", async () => {
    const saved = process.env["SQLREP_ETCD_BIN"];
    process.env["SQLREP_ETCD_BIN"] = "/nonexistent/etcd";
    try {
      expect(etcdAvailable()).toBe(false);
      expect(etcdUnavailableReason()).toContain("/nonexistent/etcd");
      await expect(startEtcd()).rejects.toMatchObject({ code: "ETCD_UNAVAILABLE" });
    } finally {
      if (saved === undefined) delete process.env["SQLREP_ETCD_BIN"];
      else process.env["SQLREP_ETCD_BIN"] = saved;
    }
  });
});
