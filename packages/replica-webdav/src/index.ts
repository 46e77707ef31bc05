/**
 * @sqlrep/replica-webdav: the WebDAV replica client of sqlrep (`webdav://`, `webdavs://`),
 * over Node's fetch, in Litestream v0.5's layout (`<path>/ltx/<level>/…`).
 */

/** The backend an application lists in its registry (also at `@sqlrep/replica-webdav/backend`, without the client). */
export { parseWebdavUrl, webdavBackend, webdavBaseUrl, type WebdavSpec } from "./backend.js";
/** A `ReplicaClient` for a `webdav` spec (what `webdavBackend` loads). */
export { createWebdavReplicaClient, type WebdavReplicaClientOptions } from "./replica.js";
/** The `ObjectStore` of a WebDAV server (keys are paths under its base URL). */
export { WebdavObjectStore, type WebdavObjectStoreOptions } from "./webdav-store.js";
/** The dead property that keeps the LTX timestamp, and the multistatus parser. */
export { parseMultistatus, TIMESTAMP_PROPERTY, type DavResource } from "./multistatus.js";
