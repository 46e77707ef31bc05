// A real etcd for the tests that can be killed and restarted with its data, at one address
// (a TCP forwarder in front, since each start picks new ports).
import { deadPort, startEtcd, startTcpForwarder, tempDir, type EtcdServer, type TcpForwarder } from "@sqlrep/testkit";

/** etcd behind a stable address. */
export interface RestartableEtcd {
  readonly url: string;
  /** A URL where nothing listens. */
  readonly deadUrl: string;
  /** SIGKILL, data kept. */
  kill(): Promise<void>;
  /** Starts again on the same data. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts etcd with a kept data dir and a forwarder in front. */
export async function startRestartableEtcd(): Promise<RestartableEtcd> {
  const data = tempDir("sqlrep-lease-etcd-");
  let etcd: EtcdServer | undefined = await startEtcd({ dataDir: data.path });
  const forwarder: TcpForwarder = await startTcpForwarder(new URL(etcd.clientUrl).port ? Number(new URL(etcd.clientUrl).port) : undefined);
  const deadUrl = `http://127.0.0.1:${await deadPort()}`;
  return {
    url: forwarder.url,
    deadUrl,
    async kill() {
      forwarder.setTarget(undefined);
      etcd?.process.kill();
      await etcd?.process.exited;
      etcd = undefined;
    },
    async start() {
      etcd = await startEtcd({ dataDir: data.path });
      forwarder.setTarget(Number(new URL(etcd.clientUrl).port));
    },
    async stop() {
      await forwarder.close();
      await etcd?.stop();
      data.remove();
    },
  };
}
