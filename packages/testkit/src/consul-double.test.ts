// The Consul DOUBLE's own tests: the documented session, KV and blocking-query semantics it claims.
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { startConsulDouble, type ConsulDouble } from "./consul-double.js";

let double: ConsulDouble | undefined;
afterEach(() => double?.close());

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${double!.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, index: Number(res.headers.get("x-consul-index")), text, json: json as any };
}

const session = async (ttl = "", extra: Record<string, unknown> = {}) => (await api("PUT", "/v1/session/create", { TTL: ttl, ...extra })).json.ID as string;
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("Consul double (a stand-in for Consul's HTTP API, not Consul)", () => {
  it("creates, renews, reads and destroys sessions; renewing an unknown one is a 404", async () => {
    double = await startConsulDouble();
    const id = await session("15s", { Name: "litefs", Behavior: "delete", LockDelay: "1s", NodeChecks: [] });
    const info = await api("GET", `/v1/session/info/${id}`);
    expect(info.json).toMatchObject([{ ID: id, Name: "litefs", Behavior: "delete", TTL: "15s", LockDelay: 1e9, NodeChecks: [] }]);
    expect((await api("PUT", `/v1/session/renew/${id}`)).json[0].ID).toBe(id);
    expect((await api("PUT", `/v1/session/destroy/${id}`)).json).toBe(true);
    expect((await api("GET", `/v1/session/info/${id}`)).json).toEqual([]);
    const gone = await api("PUT", `/v1/session/renew/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.text).toBe(`Session id '${id}' not found`);
  });

  it("refuses a TTL outside [10s, 24h] and a node that is not registered", async () => {
    double = await startConsulDouble();
    expect((await api("PUT", "/v1/session/create", { TTL: "2s" })).status).toBe(400);
    expect((await api("PUT", "/v1/session/create", { TTL: "15s", Node: "prefix/litefs" })).status).toBe(500);
    expect((await api("PUT", "/v1/catalog/register", { Node: "prefix/litefs", Address: "localhost" })).json).toBe(true);
    expect((await api("PUT", "/v1/session/create", { TTL: "15s", Node: "prefix/litefs" })).status).toBe(200);
  });

  it("acquire and release: one holder, LockIndex counts acquisitions, release replaces the value", async () => {
    double = await startConsulDouble();
    const [s1, s2] = [await session(), await session()];
    expect((await api("PUT", `/v1/kv/k?acquire=${s1}`, "one")).json).toBe(true);
    let e = (await api("GET", "/v1/kv/k")).json[0];
    expect(e).toMatchObject({ Key: "k", Value: b64("one"), Session: s1, LockIndex: 1 });
    expect((await api("PUT", `/v1/kv/k?acquire=${s2}`, "two")).json).toBe(false);
    expect((await api("PUT", `/v1/kv/k?acquire=${s1}`, "uno")).json).toBe(true); // the holder updates
    e = (await api("GET", "/v1/kv/k")).json[0];
    expect(e).toMatchObject({ Value: b64("uno"), LockIndex: 1 });
    expect((await api("PUT", `/v1/kv/k?release=${s2}`)).json).toBe(false);
    expect((await api("PUT", `/v1/kv/k?release=${s1}`)).json).toBe(true);
    const released = (await api("GET", "/v1/kv/k")).json[0];
    expect(released.Session).toBeUndefined();
    expect(released.Value).toBeNull();
    expect(released.ModifyIndex).toBeGreaterThan(e.ModifyIndex);
    expect((await api("PUT", `/v1/kv/k?acquire=${s2}`, "two")).json).toBe(true);
    expect((await api("GET", "/v1/kv/k")).json[0]).toMatchObject({ Session: s2, LockIndex: 2 });
    expect((await api("PUT", "/v1/kv/k?acquire=00000000-0000-0000-0000-000000000000", "x")).status).toBe(500);
  });

  it("an expired session (behavior delete) deletes its keys after TTL × 2, and lock-delay holds the key back", async () => {
    // Every bound is one-sided (a busy machine only delays answers): the key is there
    // in any answer sent back before 2 × TTL, gone at some point, and lock-delay refuses
    // any acquire answered before the last sighting of the key + the delay.
    double = await startConsulDouble({ minSessionTtlMs: 100 });
    const ttl = 300;
    const lockDelay = 1000;
    // A session's TTL runs from its creation, not from the acquire: t0 is taken before it
    // (taken after, a slow answer to the create put t0 late and the expiry "early").
    const t0 = Date.now();
    const s1 = await session(`${ttl}ms`, { Behavior: "delete", LockDelay: `${lockDelay}ms` });
    const s2 = await session();
    // lastSeen: when a request that found the key was sent (the key was deleted after it).
    let lastSeen = Date.now();
    expect((await api("PUT", `/v1/kv/lease?acquire=${s1}`, "x")).json).toBe(true);
    await sleep(ttl);
    const earlySent = Date.now();
    const early = await api("GET", "/v1/kv/lease");
    if (Date.now() < t0 + 2 * ttl) expect(early.status).toBe(200); // not before 2 × TTL
    if (early.status === 200) lastSeen = earlySent;
    for (;;) {
      const sent = Date.now();
      const r = await api("GET", "/v1/kv/lease");
      if (r.status === 404) break;
      expect(r.status).toBe(200);
      lastSeen = sent;
      expect(Date.now() - t0, "the key of an expired session is deleted").toBeLessThan(10_000);
      await sleep(20);
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * ttl);
    const refused = await api("PUT", `/v1/kv/lease?acquire=${s2}`, "y");
    if (Date.now() < lastSeen + lockDelay) expect(refused.json).toBe(false); // lock-delay
    for (;;) {
      if ((await api("PUT", `/v1/kv/lease?acquire=${s2}`, "y")).json === true) break;
      expect(Date.now() - lastSeen, "lock-delay ends").toBeLessThan(10_000);
      await sleep(50);
    }
    expect(Date.now()).toBeGreaterThanOrEqual(lastSeen + lockDelay);
  });

  it("a released key is not held back by lock-delay; destroying with behavior release keeps the key", async () => {
    double = await startConsulDouble();
    const s1 = await session("", { LockDelay: "10s" });
    const s2 = await session();
    await api("PUT", `/v1/kv/a?acquire=${s1}`, "x");
    await api("PUT", `/v1/kv/a?release=${s1}`);
    await api("PUT", `/v1/session/destroy/${s1}`);
    expect((await api("PUT", `/v1/kv/a?acquire=${s2}`, "y")).json).toBe(true);
    await api("PUT", `/v1/session/destroy/${s2}`);
    expect((await api("GET", "/v1/kv/a")).json[0]).toMatchObject({ Value: b64("y"), LockIndex: 2 });
    expect((await api("GET", "/v1/kv/a")).json[0].Session).toBeUndefined();
  });

  it("cas=0 writes only a key that does not exist", async () => {
    double = await startConsulDouble();
    expect((await api("PUT", "/v1/kv/c?cas=0", "first")).json).toBe(true);
    expect((await api("PUT", "/v1/kv/c?cas=0", "second")).json).toBe(false);
    const e = (await api("GET", "/v1/kv/c")).json[0];
    expect((await api("PUT", `/v1/kv/c?cas=${e.ModifyIndex}`, "third")).json).toBe(true);
    expect((await api("GET", "/v1/kv/c?raw")).text).toBe("third");
  });

  it("blocking queries: wait for a change past ?index, or until ?wait", async () => {
    double = await startConsulDouble();
    const first = await api("GET", "/v1/kv/w");
    expect(first.status).toBe(404);
    expect(first.index).toBeGreaterThan(0);
    const started = Date.now();
    const timedOut = await api("GET", `/v1/kv/w?index=${first.index}&wait=200ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(timedOut.index).toBe(first.index);
    const pending = api("GET", `/v1/kv/w?index=${first.index}&wait=30s`);
    await sleep(50);
    await api("PUT", "/v1/kv/w", "v");
    const woke = await pending;
    expect(woke.status).toBe(200);
    expect(woke.index).toBeGreaterThan(first.index);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("with an ACL token, refuses requests without it (403 Permission denied) or with another (403 ACL not found)", async () => {
    double = await startConsulDouble({ aclToken: "secret" });
    expect((await api("GET", "/v1/kv/x")).status).toBe(403);
    expect((await api("GET", "/v1/kv/x", undefined, { "X-Consul-Token": "nope" })).text).toBe("ACL not found");
    expect((await api("GET", "/v1/kv/x", undefined, { "X-Consul-Token": "secret" })).status).toBe(404);
    expect((await api("GET", "/v1/kv/x?token=secret")).status).toBe(404);
  });

  it("stop() and start() keep sessions and keys, and restart the TTL timers", async () => {
    double = await startConsulDouble({ minSessionTtlMs: 100 });
    const s = await session("200ms", { Behavior: "delete" });
    await api("PUT", `/v1/kv/k?acquire=${s}`, "x");
    await double.stop();
    await expect(fetch(`${double.url}/v1/kv/k`)).rejects.toThrow();
    await sleep(600); // longer than 2 × TTL: a stopped server expires nothing
    await double.start();
    expect((await api("GET", "/v1/kv/k")).json[0].Session).toBe(s);
    await sleep(500);
    expect((await api("GET", "/v1/kv/k")).status).toBe(404);
  });
});
