// The litefs suite's daemons: `litefs mount` (the built apps/litefs/dist/cli.js) as child
// processes, each with its own litefs.yml, mount and data directory.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, spawnProcess, unmountFuse } from "@sqlrep/testkit";

/**
 * Starts `litefs mount` for `name` under `root`; `lease(self)` gives the lease YAML.
 * `nodeArgs` go to node before the CLI (e.g. `--cpu-prof`). Resolves once ready.
 */
export async function startNode(repo, root, name, lease, { nodeArgs = [], port } = {}) {
  const cli = join(repo, "apps", "litefs", "dist", "cli.js");
  port ??= await freePort();
  const dir = join(root, name);
  const mnt = join(dir, "mnt");
  const data = join(dir, "data");
  mkdirSync(dir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, "litefs.yml");
  writeFileSync(config, `fuse: {dir: ${mnt}}\ndata: {dir: ${data}}\nhttp: {addr: "127.0.0.1:${port}"}\n${lease({ port, url })}\n`);
  const spawn = () => spawnProcess(process.execPath, [...nodeArgs, cli, "mount", "-config", config], { name, ready: /node is ready/, readyTimeoutMs: 30_000, cwd: dir });
  const node = {
    name,
    dir,
    mnt,
    data,
    url,
    process: await spawn(),
    async restart() {
      unmountFuse(mnt);
      node.process = await spawn();
    },
    async stop() {
      if (node.process.exitStatus === undefined) await node.process.stop(10_000);
      unmountFuse(mnt);
    },
  };
  return node;
}

/** The TXID in a mount's `<db>-pos`, or 0. */
export function posTxid(mnt, db) {
  try {
    return Number.parseInt(readFileSync(join(mnt, `${db}-pos`), "utf8").split("/")[0], 16);
  } catch {
    return 0;
  }
}

/** Whether the node's `/info` says it is primary. */
export async function isPrimary(node) {
  try {
    const res = await fetch(`${node.url}/info`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()).isPrimary === true;
  } catch {
    return false;
  }
}
