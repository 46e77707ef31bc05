// Test helpers for the lease failover files (etcd, Consul): which node says it is primary,
// the first write a new primary accepts, `.primary` as a replica shows it, /metrics samples.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "@sqlrep/testkit";
import { sqlite3, type TestNode } from "./nodes.js";

/** Whether the node's `/info` says it is primary (false when it does not answer). */
export async function isPrimary(node: TestNode): Promise<boolean> {
  try {
    const info = (await (await fetch(`${node.url}/info`, { signal: AbortSignal.timeout(1000) })).json()) as { isPrimary: boolean };
    return info.isPrimary;
  } catch {
    return false;
  }
}

/** The node whose /info says it is primary (waiting for one). */
export function currentPrimary(nodes: readonly TestNode[], timeoutMs?: number): Promise<TestNode> {
  return waitFor(
    async () => {
      for (const node of nodes) if (await isPrimary(node)) return node;
      return undefined;
    },
    { ...(timeoutMs !== undefined ? { timeoutMs } : {}), message: `a primary among ${nodes.map((n) => n.name).join(", ")}` },
  );
}

/** Tries one write on each node until one takes it; resolves with that node and the ms it took. */
export async function firstWrite(nodes: readonly TestNode[], db: string, value: string, timeoutMs: number): Promise<{ node: TestNode; ms: number }> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    for (const node of nodes) {
      if (!(await isPrimary(node))) continue;
      try {
        await sqlite3(join(node.mnt, db), `PRAGMA busy_timeout=200; INSERT INTO t (v) VALUES ('${value}');`);
        return { node, ms: performance.now() - started };
      } catch {
        // not primary any more, or the lease is not ours yet
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no node took a write within ${timeoutMs} ms`);
}

/** `.primary` of a mount as read by a client (undefined when absent: a primary, or not connected). */
export function primaryFile(node: TestNode): string | undefined {
  try {
    return readFileSync(join(node.mnt, ".primary"), "utf8");
  } catch {
    return undefined;
  }
}

/** The value of one sample of a node's `/metrics` (`name{labels}`), or undefined when absent. */
export async function metric(node: TestNode, sample: string): Promise<number | undefined> {
  const text = await (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
  for (const line of text.split("\n")) if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  return undefined;
}
