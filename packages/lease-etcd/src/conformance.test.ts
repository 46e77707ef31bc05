// The lease conformance suite against a real etcd (Debian's etcd-server, started by the testkit).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe } from "vitest";
import { describeLeaser } from "@sqlrep/lease/conformance";
import { etcdAvailable, etcdUnavailableReason } from "@sqlrep/testkit";
import { startRestartableEtcd } from "./testing/etcd-store.js";

const module = fileURLToPath(new URL("./testing/leaser-module.mjs", import.meta.url));
const built = existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)));
const skip = !etcdAvailable() ? etcdUnavailableReason() : !built ? "needs a build (pnpm build): child processes load dist/" : undefined;

describe.skipIf(skip !== undefined)(`etcd lease${skip ? ` (skipped: ${skip})` : ""}`, async () => {
  const etcd = await startRestartableEtcd();
  afterAll(() => etcd.stop(), 30_000);
  describeLeaser("etcd (real etcd-server)", {
    module,
    ttlMs: 2_000,
    options: ({ key, ttlMs }) => ({ endpoints: [etcd.url], key: `/sqlrep-test/${key}`, ttl: ttlMs }),
    // A lease expires TTL after its last keepalive; etcd's lessor looks for expired leases every 500 ms.
    takeoverBoundMs: (ttlMs) => ttlMs + 500,
    clusterIdKey: (key) => `/sqlrep-test/${key}/clusterid`,
    unreachable: {
      options: { endpoints: [etcd.deadUrl, "http://127.0.0.1:9"], key: "/sqlrep-test/unreachable", ttl: 2_000 },
      endpoints: [etcd.deadUrl, "http://127.0.0.1:9"],
    },
    store: { stop: () => etcd.kill(), start: () => etcd.start(), ttlMs: 5_000 },
  });
});
