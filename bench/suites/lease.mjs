// Leases (@sqlrep/lease-etcd on a real etcd, @sqlrep/lease-consul on the testkit's Consul
// DOUBLE): failover after SIGKILL of the holder at TTL 2/5/10 s, next to the TTL (the
// bound LiteFS's FAQ gives); release → next holder; next holder → a watching replica.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openConsulLeaser } from "@sqlrep/lease-consul";
import { openEtcdLeaser } from "@sqlrep/lease-etcd";
import { startConsulDouble, startEtcd } from "@sqlrep/testkit";

const require = createRequire(import.meta.url);
const CHILD = join(dirname(require.resolve("@sqlrep/lease/package.json")), "dist/conformance/child.js");
const now = () => Number(process.hrtime.bigint()) / 1e6;
const node = (name) => ({ hostname: name, advertiseURL: `http://${name}.test:20202` });
let keyCounter = 0;

export default async function run(bench) {
  const etcd = await startEtcd();
  const consul = await startConsulDouble({ minSessionTtlMs: 1_000 });
  try {
    const backends = [
      {
        name: "etcd (real etcd-server)",
        module: join(bench.repo, "packages/lease-etcd/src/testing/leaser-module.mjs"),
        options: (ttlMs) => ({ endpoints: etcd.endpoints, key: `/bench/lease-${++keyCounter}`, ttl: ttlMs }),
        open: (options, who) => openEtcdLeaser(options, node(who)),
      },
      {
        name: "Consul DOUBLE (testkit; TTL below Consul's 10 s minimum allowed)",
        module: join(bench.repo, "packages/lease-consul/src/testing/leaser-module.mjs"),
        options: (ttlMs) => ({ url: consul.url, key: `bench/lease-${++keyCounter}`, ttl: ttlMs, lockDelay: 1_000 }),
        open: (options, who) => openConsulLeaser(options, node(who)),
      },
    ];
    const plan = bench.quick
      ? [[2_000, 2]]
      : [
          [2_000, 3],
          [5_000, 2],
          [10_000, 1],
        ];
    for (const backend of backends) {
      for (const [ttlMs, runs] of plan) {
        const times = [];
        for (let i = 0; i < runs; i++) times.push(await failover(backend, ttlMs, bench));
        const sorted = [...times].sort((a, b) => a - b);
        bench.row("SIGKILL of the holder → a new holder (lower is better; the TTL is LiteFS's stated bound)", {
          store: backend.name,
          "TTL s": ttlMs / 1000,
          "median ms": sorted[Math.floor(sorted.length / 2)],
          "best ms": sorted[0],
          "worst ms": sorted.at(-1),
          "× TTL": sorted[Math.floor(sorted.length / 2)] / ttlMs,
          runs,
        });
      }
      const handovers = await releases(backend, bench.quick ? 5 : 20);
      for (const [what, values] of Object.entries(handovers)) {
        const sorted = [...values].sort((a, b) => a - b);
        bench.row("release → a new holder → a replica learns of it (ms, lower is better; target: replica within 100 ms)", {
          store: backend.name,
          what,
          "median ms": sorted[Math.floor(sorted.length / 2)],
          "best ms": sorted[0],
          "worst ms": sorted.at(-1),
          runs: values.length,
        });
      }
    }
    bench.note(
      "failover: the holder (a child process) is SIGKILLed at a random point of its renew cycle; a candidate in this process acquires as soon as its watch sees the key go (etcd) or after the session expires and the lock-delay (1 s) passes (Consul).",
    );
    bench.note("the Consul figures come from the testkit's double, which expires sessions at 2 × TTL as Consul documents; a real Consul also refuses TTLs below 10 s.");
  } finally {
    await consul.close();
    await etcd.stop();
  }
}

/** One failover: a child holds the lease, is SIGKILLed, and this process takes over. */
async function failover(backend, ttlMs, bench) {
  const options = backend.options(ttlMs);
  const child = spawn(process.execPath, [CHILD, JSON.stringify({ module: backend.module, options, node: node("holder") })], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = [];
  child.stdout.setEncoding("utf8").on("data", (chunk) =>
    lines.push(
      ...chunk
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ),
  );
  const waitLine = async (ev) => {
    for (let i = 0; i < 400; i++) {
      if (lines.some((l) => l.ev === ev)) return;
      await sleep(25);
    }
    throw new Error(`lease bench: the holder printed no ${ev}`);
  };
  await waitLine("ready");
  child.stdin.write('{"cmd":"acquire"}\n');
  await waitLine("acquired");
  const follower = await backend.open(options, "follower");
  try {
    await sleep(Math.random() * (ttlMs / 2));
    const killedAt = now();
    child.kill("SIGKILL");
    for (;;) {
      try {
        await follower.acquire();
        const ms = now() - killedAt;
        bench.log(`${backend.name} TTL ${ttlMs / 1000} s: new holder after ${ms.toFixed(0)} ms`);
        return ms;
      } catch (error) {
        if (error.code === "lock-delay") await sleep(error.retryAfterMs);
        else if (error.code === "primary-exists") await nextChange(follower);
        else throw error;
      }
    }
  } finally {
    await follower.close();
  }
}

/** Waits until the watch reports no primary. */
async function nextChange(leaser) {
  const stop = new AbortController();
  for await (const primary of leaser.watchPrimary({ signal: stop.signal })) {
    if (primary === undefined) break;
  }
  stop.abort();
}

/** Release → B acquires (watch-driven) → C's watch shows B. */
async function releases(backend, runs) {
  const out = { "release → new holder": [], "new holder's acquire() called → replica's watch shows it": [] };
  for (let i = 0; i < runs; i++) {
    const options = backend.options(2_000);
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((who) => backend.open(options, who)));
    try {
      const lease = await a.acquire();
      const seen = new Map();
      const stop = new AbortController();
      const watching = (async () => {
        for await (const p of c.watchPrimary({ signal: stop.signal })) if (p) seen.set(p.hostname, now());
      })();
      while (!seen.has("a")) await sleep(5);
      const waiting = (async () => {
        for await (const p of b.watchPrimary({ signal: stop.signal })) {
          if (p === undefined) {
            const calledAt = now();
            return { lease: await b.acquire(), calledAt, at: now() };
          }
        }
      })();
      await sleep(20);
      const releasedAt = now();
      await lease.release();
      const taken = await waiting;
      while (!seen.has("b")) await sleep(1);
      out["release → new holder"].push(taken.at - releasedAt);
      // From the call, not its return: the replica often hears before acquire() has returned.
      out["new holder's acquire() called → replica's watch shows it"].push(seen.get("b") - taken.calledAt);
      stop.abort();
      await watching;
    } finally {
      await Promise.all([a, b, c].map((l) => l.close()));
    }
  }
  return out;
}
