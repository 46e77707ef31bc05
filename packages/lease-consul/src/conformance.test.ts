// The lease conformance suite on Consul: a real Consul when CONSUL_HTTP_ADDR is set, else the
// testkit's Consul DOUBLE (a local stand-in for Consul's session and KV API, not Consul).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe } from "vitest";
import { describeLeaser } from "@sqlrep/lease/conformance";
import { deadPort, startConsulDouble } from "@sqlrep/testkit";

const module = fileURLToPath(new URL("./testing/leaser-module.mjs", import.meta.url));
const built = existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)));
const realAddr = process.env["CONSUL_HTTP_ADDR"];
const dead = `http://127.0.0.1:${await deadPort()}`;

describe.skipIf(!built)(`Consul lease${built ? "" : " (skipped: needs a build (pnpm build): child processes load dist/)"}`, async () => {
  if (realAddr) {
    // A real Consul: its 10 s minimum TTL makes this run take minutes; no outage tests (we do not own the server).
    const base = new URL(realAddr.includes("://") ? realAddr : `http://${realAddr}`);
    const token = process.env["CONSUL_HTTP_TOKEN"];
    if (token) base.password = encodeURIComponent(token);
    base.pathname = "/sqlrep-test";
    describeLeaser(`Consul at ${base.host} (real Consul, CONSUL_HTTP_ADDR)`, {
      module,
      ttlMs: 10_000,
      options: ({ key, ttlMs }) => ({ url: base.href, key, ttl: ttlMs, lockDelay: 1_000 }),
      takeoverBoundMs: (ttlMs) => 2 * ttlMs + 1_000,
      clusterIdKey: (key) => `sqlrep-test/${key}/clusterid`,
      unreachable: { options: { url: dead, key: "unreachable", ttl: 10_000 }, endpoints: [dead] },
    });
    return;
  }
  // The double keeps Consul's rules (sessions expire up to 2 × TTL after the last renew,
  // lock-delay, behaviour delete) but accepts a 2 s TTL, so the suite runs in seconds.
  const token = "sqlrep-test-token";
  const double = await startConsulDouble({ aclToken: token, minSessionTtlMs: 1_000 });
  afterAll(() => double.close());
  const url = `http://:${token}@127.0.0.1:${double.port}/sqlrep-test`;
  describeLeaser("Consul DOUBLE from the testkit (not a real Consul; set CONSUL_HTTP_ADDR for one)", {
    module,
    ttlMs: 2_000,
    options: ({ key, ttlMs }) => ({ url, key, ttl: ttlMs, lockDelay: 1_000 }),
    takeoverBoundMs: (ttlMs) => 2 * ttlMs + 1_000,
    clusterIdKey: (key) => `sqlrep-test/${key}/clusterid`,
    unreachable: { options: { url: dead, key: "unreachable", ttl: 2_000 }, endpoints: [dead] },
    store: { stop: () => double.stop(), start: () => double.start(), ttlMs: 5_000 },
  });
});
