// The primary watch across a disconnect from etcd: when the client resumes it, etcd replays
// what changed meanwhile, and only the present may reach the watcher (a replica told
// "nobody" after it already follows the new primary drops its stream).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Leaser, PrimaryInfo } from "@sqlrep/lease";
import { etcdAvailable, etcdUnavailableReason, startEtcd, startTcpForwarder, waitFor, type EtcdServer, type TcpForwarder } from "@sqlrep/testkit";
import { openEtcdLeaser } from "./etcd-leaser.js";

const skip = etcdAvailable() ? undefined : etcdUnavailableReason();

describe.skipIf(skip !== undefined)(`the etcd primary watch across a disconnect${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let etcd: EtcdServer;
  let link: TcpForwarder;
  const open: Leaser[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
    link = await startTcpForwarder(Number(new URL(etcd.clientUrl).port));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((l) => l.close()));
    await link?.close();
    await etcd?.stop();
  });

  const leaser = async (name: string, url: string, candidate = true) => {
    const l = await openEtcdLeaser({ endpoints: [url], key: "/sqlrep-test/watch-resume", ttl: 2_000 }, { hostname: name, advertiseURL: `http://${name}:20202`, candidate });
    open.push(l);
    return l;
  };

  it("passes on only the new primary elected while it was cut off, not the old one's delete before it", async () => {
    const a = await leaser("a", etcd.clientUrl);
    const b = await leaser("b", etcd.clientUrl);
    const watcher = await leaser("w", link.url, false);
    const lease = await a.acquire();
    const seen: (PrimaryInfo | undefined)[] = [];
    const stop = new AbortController();
    const feed = (async () => {
      for await (const p of watcher.watchPrimary({ signal: stop.signal })) seen.push(p);
    })().catch(() => {});
    await waitFor(() => seen.at(-1)?.hostname === "a", { timeoutMs: 10_000 });
    link.setTarget(undefined); // the watcher is cut off from etcd
    const before = seen.length;
    await lease.release(); // a's key is deleted…
    await b.acquire(); // …and b elected, both while the watcher hears nothing
    link.setTarget(Number(new URL(etcd.clientUrl).port));
    await waitFor(() => seen.at(-1)?.hostname === "b", { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 500)); // anything replayed late would show now
    expect(seen.slice(before).map((p) => p?.hostname ?? "nobody")).toEqual(["b"]);
    stop.abort();
    await feed;
  }, 40_000);
});
