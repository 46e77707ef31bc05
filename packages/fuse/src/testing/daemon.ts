// The test daemon: a child process that mounts one of the test doubles and takes
// commands as JSON lines on stdin. Tests and benchmarks never mount in their own
// process (DESIGN.md: a SQLite connection there would block the commit path).
import { createInterface } from "node:readline";
import { mount, type FuseMount } from "../mount.js";
import { LtxApplyTestBackend } from "./ltx-apply-backend.js";
import { LtxLogTestBackend, type LtxDurability } from "./ltx-log-backend.js";

/** The daemon's configuration, passed as JSON in argv[2]. */
export interface TestDaemonConfig {
  role: "primary" | "replica";
  mountpoint: string;
  dataDir: string;
  /** primary: where LTX files go; replica: where they are read from */
  ltxDir: string;
  /** replica: the `.primary` hostname once synced */
  primaryHostname?: string;
  durability?: LtxDurability;
  /** primary: write no LTX at all (measures the mount without a backend's cost) */
  discard?: boolean;
  /** replica: sync every this many ms (0: only when told) */
  pollMs?: number;
  debug?: boolean;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as TestDaemonConfig;
  const logger = {
    debug: (m: string) => process.stderr.write(`[debug] ${m}\n`),
    info: (m: string) => process.stderr.write(`[info] ${m}\n`),
    warn: (m: string) => process.stderr.write(`[warn] ${m}\n`),
    error: (m: string) => process.stderr.write(`[error] ${m}\n`),
  };
  const primary =
    config.role === "primary" ? new LtxLogTestBackend({ dataDir: config.dataDir, ltxDir: config.ltxDir, durability: config.durability, discard: config.discard }) : undefined;
  const replica =
    config.role === "replica" ? new LtxApplyTestBackend({ dataDir: config.dataDir, sourceLtxDir: config.ltxDir, primaryHostname: config.primaryHostname ?? "primary" }) : undefined;
  const fs: FuseMount = await mount({ mountpoint: config.mountpoint, backend: (primary ?? replica)!, logger, debug: config.debug });
  replica?.attach(fs);

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await fs.unmount();
    process.exit(code);
  };
  process.on("SIGTERM", () => void stop(0));
  process.on("SIGINT", () => void stop(0));

  let timer: NodeJS.Timeout | undefined;
  if (replica && config.pollMs) {
    const tick = () => {
      replica
        .catchUp()
        .catch((error: unknown) => logger.error(`sync failed: ${(error as Error).message}`))
        .finally(() => {
          if (!stopping) timer = setTimeout(tick, config.pollMs);
        });
    };
    timer = setTimeout(tick, config.pollMs);
  }

  const reply = (id: unknown, body: object) => process.stdout.write(`${JSON.stringify({ id, ...body })}\n`);
  createInterface({ input: process.stdin }).on("line", (line) => {
    let request: { id?: unknown; cmd?: string };
    try {
      request = JSON.parse(line) as { id?: unknown; cmd?: string };
    } catch {
      return;
    }
    const { id, cmd } = request;
    void (async () => {
      try {
        if (cmd === "sync") reply(id, { applied: await replica!.catchUp() });
        else if (cmd === "stats") reply(id, { stats: fs.stats() });
        else if (cmd === "state")
          reply(id, {
            counts: primary?.counts,
            applied: replica?.applied,
            halts: replica?.halts,
            databases: (primary ?? replica)!.databases().map((name) => {
              const pos = (primary ?? replica)!.position(name);
              return { name, txid: pos.txid, checksum: pos.checksum.toString(16) };
            }),
          });
        else if (cmd === "unmount") {
          clearTimeout(timer);
          reply(id, { ok: true });
          await stop(0);
        } else reply(id, { error: `unknown command ${String(cmd)}` });
      } catch (error) {
        reply(id, { error: (error as Error).message });
      }
    })();
  });
  process.stdout.write(`ready ${config.mountpoint}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[error] daemon failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
