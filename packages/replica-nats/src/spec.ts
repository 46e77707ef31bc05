/** The settings of a NATS replica, as a spec carries them, and Litestream's defaults for them. */
import type { ReplicaSpec } from "@sqlrep/replica";

/** The fields a NATS replica spec may carry. */
export interface NatsSpec extends ReplicaSpec {
  /** The server, `host:port` (the URL's); `127.0.0.1:4222` when absent, as Litestream. */
  server?: string | undefined;
  /** The object store bucket (it must exist: create it with `nats object add`). */
  bucket?: string | undefined;
  jwt?: string | undefined;
  seed?: string | undefined;
  /** A `.creds` file (user JWT and seed). */
  creds?: string | undefined;
  /** An nkey seed (`SU…`), or the user's public nkey (`U…`) with its seed in `seed`. */
  nkey?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  /** Require TLS. */
  tls?: boolean | undefined;
  /** CA certificate files (PEM) the server's certificate must chain to. */
  rootCas?: string[] | undefined;
  clientCert?: string | undefined;
  clientKey?: string | undefined;
  /** Reconnect attempts after a lost connection; -1: forever (default). */
  maxReconnects?: number | undefined;
  /** Milliseconds between reconnect attempts (default 2 s). */
  reconnectWait?: number | undefined;
  /** Milliseconds to connect, and to wait for any JetStream answer (default 10 s). */
  timeout?: number | undefined;
}

/** Litestream's defaults: unlimited reconnects every 2 s, 10 s timeout. */
export const NATS_DEFAULTS = { maxReconnects: -1, reconnectWait: 2_000, timeout: 10_000, server: "127.0.0.1:4222" } as const;
