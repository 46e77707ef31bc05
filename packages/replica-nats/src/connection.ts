/**
 * One NATS connection and the bucket's object store, opened on first use. The client
 * reconnects by itself after a broken connection (`max-reconnects`, `reconnect-wait`);
 * a connection that closed for good is opened again on the next call.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { ReplicaError } from "@sqlrep/replica";
import { describeError, isTransient } from "./nats-errors.js";
import type { NatsSettings } from "./settings.js";

/** An open connection to the bucket. */
export interface NatsBucket {
  nc: NatsConnection;
  js: JetStreamClient;
  os: ObjectStore;
  /** The JetStream stream behind the bucket (`OBJ_<bucket>`). */
  stream: string;
}

/** A lazily opened connection to one bucket. */
export class NatsLink {
  private bucket: Promise<NatsBucket> | undefined;
  private closed = false;

  constructor(readonly settings: NatsSettings) {}

  /** The bucket, connecting first when there is no connection. */
  open(): Promise<NatsBucket> {
    if (this.closed) return Promise.reject(new ReplicaError("aborted", `${this.settings.location}: the client was closed`));
    this.bucket ??= this.connect().catch((err: unknown) => {
      this.bucket = undefined;
      throw err;
    });
    return this.bucket;
  }

  /** Closes the connection; later calls fail with `aborted`. */
  async close(): Promise<void> {
    this.closed = true;
    const bucket = this.bucket;
    this.bucket = undefined;
    await bucket?.then(
      (b) => b.nc.close(),
      () => undefined,
    );
  }

  private async connect(): Promise<NatsBucket> {
    const { settings } = this;
    let nc: NatsConnection;
    try {
      nc = await connect(settings.connection);
    } catch (err) {
      const auth = /authoriz|authenticat|permission/i.test(describeError(err));
      throw new ReplicaError(
        "io",
        `${settings.location}: cannot connect to ${settings.server}: ${describeError(err)}${auth ? ` (authentication: ${settings.auth === "none" ? "no credentials given" : settings.auth})` : ""}`,
        { cause: err, retryable: !auth && isTransient(err), key: auth ? (settings.auth === "none" ? "username" : settings.auth) : undefined },
      );
    }
    // A connection that closes for good (reconnects exhausted) is replaced on the next call.
    void nc.closed().then(() => {
      if (this.bucket !== undefined)
        void this.bucket.then(
          (b) => b.nc === nc && (this.bucket = undefined),
          () => undefined,
        );
    });
    try {
      const js = jetstream(nc, { timeout: settings.timeoutMs });
      const os = await new Objm(js).open(settings.bucket);
      return { nc, js, os, stream: `OBJ_${settings.bucket}` };
    } catch (err) {
      await nc.close().catch(() => undefined);
      const missing = /not found/i.test(describeError(err));
      throw new ReplicaError(
        "io",
        missing
          ? `${settings.location}: object store bucket ${JSON.stringify(settings.bucket)} does not exist on ${settings.server}: create it first (nats object add ${settings.bucket}), as Litestream requires`
          : `${settings.location}: cannot open object store bucket ${JSON.stringify(settings.bucket)}: ${describeError(err)}`,
        { cause: err, retryable: !missing && isTransient(err), key: missing ? "bucket" : undefined },
      );
    }
  }
}
