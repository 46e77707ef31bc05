/** Starts a real single-member etcd on 127.0.0.1 for tests (own port and data dir), or says why it cannot on this machine. */
import { accessSync, constants, rmSync } from "node:fs";
import { delimiter, join } from "node:path";
import { TestkitError } from "./errors.js";
import { freePort } from "./ports.js";
import { spawnProcess, type ProcessHandle } from "./process.js";
import { tempDir, type TempDir } from "./temp.js";

/** Options of {@link startEtcd}. */
export interface EtcdOptions {
  /** Member name (default `sqlrep-test`). */
  name?: string;
  /** Where etcd keeps its data; a temp dir (removed by `stop()`) when omitted. Kept when given. */
  dataDir?: string;
  /** Give up when /health does not answer in time (default 20 000 ms). */
  readyTimeoutMs?: number;
  /** More flags for etcd, after ours (a later flag wins). */
  args?: readonly string[];
}

/** A running single-member etcd on 127.0.0.1. */
export interface EtcdServer {
  /** Client URLs, as etcd clients take them: `["http://127.0.0.1:PORT"]`. */
  readonly endpoints: string[];
  /** `http://127.0.0.1:PORT`: the client API, including the JSON gateway (`POST /v3/kv/put` …). */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** The etcd child process (its output, signals). */
  readonly process: ProcessHandle;
  /** Stops etcd (SIGTERM, then SIGKILL) and removes the temp data dir it created. Idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT = "install Debian's etcd-server, or set SQLREP_ETCD_BIN";

/**
 * The etcd binary: `$SQLREP_ETCD_BIN`, else `/usr/bin/etcd`, else `etcd` on the PATH;
 * undefined when none is executable.
 */
export function etcdBinary(): string | undefined {
  const fromEnv = process.env["SQLREP_ETCD_BIN"];
  const candidates = fromEnv
    ? [fromEnv]
    : [
        "/usr/bin/etcd",
        ...(process.env["PATH"] ?? "")
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, "etcd")),
      ];
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether {@link startEtcd} can run here; tests skip with {@link etcdUnavailableReason} when not. */
export function etcdAvailable(): boolean {
  return etcdBinary() !== undefined;
}

/** Why etcd tests are skipped, for the skip message. */
export function etcdUnavailableReason(): string {
  const fromEnv = process.env["SQLREP_ETCD_BIN"];
  return `etcd not found (${fromEnv ? `SQLREP_ETCD_BIN=${fromEnv}` : "/usr/bin/etcd or on the PATH"}): ${INSTALL_HINT}`;
}

/**
 * Starts a fresh single-member etcd on free 127.0.0.1 ports with its own data dir and
 * resolves once `/health` reports healthy (a leader is elected). Short raft timings keep
 * start-up quick; they are no promise about production behaviour.
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const binary = etcdBinary();
  if (!binary) throw new TestkitError("ETCD_UNAVAILABLE", etcdUnavailableReason());
  const name = options.name ?? "sqlrep-test";
  const temp: TempDir | undefined = options.dataDir === undefined ? tempDir("sqlrep-etcd-") : undefined;
  const dataDir = options.dataDir ?? temp!.path;
  // freePort() can lose a race with another process; a bind failure gets new ports.
  for (let attempt = 1; ; attempt++) {
    const [clientPort, peerPort] = await Promise.all([freePort(), freePort()]);
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    try {
      const child = await spawnProcess(
        binary,
        [
          `--name=${name}`,
          `--data-dir=${dataDir}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=${name}=${peerUrl}`,
          "--initial-cluster-state=new",
          `--initial-cluster-token=sqlrep-${clientPort}`,
          "--heartbeat-interval=25",
          "--election-timeout=250",
          "--logger=zap",
          "--log-outputs=stderr",
          "--log-level=warn",
          ...(options.args ?? []),
        ],
        { name: `etcd:${clientPort}`, ready: { url: `${clientUrl}/health` }, readyTimeoutMs: options.readyTimeoutMs ?? 20_000 },
      );
      let stopping: Promise<void> | undefined;
      return {
        endpoints: [clientUrl],
        clientUrl,
        peerUrl,
        dataDir,
        process: child,
        stop() {
          stopping ??= child.stop().then(() => temp?.remove());
          return stopping;
        },
      };
    } catch (error) {
      const portTaken = error instanceof TestkitError && error.output.some((line) => line.includes("address already in use"));
      if (portTaken && temp && attempt < 3) {
        // Start over: what the failed attempt wrote names the old ports.
        rmSync(join(dataDir, "member"), { recursive: true, force: true });
        continue;
      }
      temp?.remove();
      throw error;
    }
  }
}
