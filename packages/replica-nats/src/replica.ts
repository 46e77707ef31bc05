/** A `ReplicaClient` over a JetStream object store: Litestream's `ltx/<level>/` layout in the bucket. */
import { directoryLayout, ObjectReplicaClient, type ReplicaClient, type ReplicaSpec } from "@sqlrep/replica";
import type { NatsSpec } from "./spec.js";
import { NatsLink } from "./connection.js";
import { NatsObjectStore } from "./nats-store.js";
import { resolveNatsSettings } from "./settings.js";

/** Options of {@link createNatsReplicaClient}. */
export interface NatsReplicaClientOptions {
  /** Unused (Litestream reads no environment variable for NATS); accepted for the registry's factory shape. */
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * A `ReplicaClient` for a `nats` spec (from a `nats://` URL or a config's `type: nats`
 * keys). The connection opens on the first call; its `store` is a {@link NatsObjectStore}
 * (`destroy()` closes the connection).
 */
export function createNatsReplicaClient(spec: ReplicaSpec, _options: NatsReplicaClientOptions = {}): ReplicaClient {
  const link = new NatsLink(resolveNatsSettings(spec as NatsSpec));
  return new ObjectReplicaClient(new NatsObjectStore({ link }), directoryLayout());
}
