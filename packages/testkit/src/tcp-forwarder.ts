// A TCP forwarder on a fixed 127.0.0.1 port whose target can change or go away: a server
// restarted on new ports (etcd) stays at one address for its clients.
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** A running forwarder. */
export interface TcpForwarder {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /**
   * Points new connections at `target` (`host:port` or a port on 127.0.0.1); `undefined`
   * refuses them (accepted, then closed at once, as a dead server's port would behave
   * for a client). Open connections are cut either way.
   */
  setTarget(target: number | string | undefined): void;
  close(): Promise<void>;
}

/** Starts a forwarder on a port the OS picks (or `port`), forwarding to `target`. */
export async function startTcpForwarder(target: number | string | undefined, port = 0): Promise<TcpForwarder> {
  let current = target;
  const open = new Set<Socket>();
  // No Nagle on either leg: a forwarder must not hold small writes back (a stream's
  // frames, gRPC's) until the peer's delayed ACK, tens of ms a time on loopback.
  const server: Server = createServer({ noDelay: true }, (client) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => {});
    if (current === undefined) return void client.destroy();
    const [host, p] = typeof current === "number" ? ["127.0.0.1", current] : splitHostPort(current);
    const upstream = createConnection({ host, port: p, noDelay: true });
    open.add(upstream);
    upstream.on("close", () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    setTarget(next) {
      current = next;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function splitHostPort(hostPort: string): [string, number] {
  const at = hostPort.lastIndexOf(":");
  return [hostPort.slice(0, at), Number(hostPort.slice(at + 1))];
}
