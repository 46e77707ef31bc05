/**
 * @sqlrep/replica-nats: the NATS replica client of sqlrep, on a JetStream object store
 * (`@nats-io/obj`), in Litestream v0.5's NATS layout (`ltx/<level>/<min>-<max>.ltx`
 * objects, the LTX timestamp in a `Litestream-Timestamp` header).
 */

/** The backend an application lists in its registry (also at `@sqlrep/replica-nats/backend`, without the NATS client). */
export { NATS_DEFAULTS, natsBackend, parseNatsUrl, type NatsSpec } from "./backend.js";
/** A `ReplicaClient` for a `nats` spec (what `natsBackend` loads). */
export { createNatsReplicaClient, type NatsReplicaClientOptions } from "./replica.js";
/** The `ObjectStore` of a bucket, the connection under it, and ranged reads over chunks. */
export { NatsObjectStore, TIMESTAMP_HEADER, type NatsObjectStoreOptions } from "./nats-store.js";
export { NatsLink, type NatsBucket } from "./connection.js";
export { ChunkReader } from "./chunks.js";
/** Spec → connection settings. */
export { resolveNatsSettings, type NatsSettings } from "./settings.js";
/** NATS error → ReplicaError. */
export { isTransient, toReplicaError } from "./nats-errors.js";
