/**
 * @sqlrep/replica-sftp: the SFTP replica client of sqlrep, over `ssh2`, in Litestream
 * v0.5's SFTP layout (`<path>/ltx/<level>/<min>-<max>.ltx`, timestamps as file times).
 */

/** The backend an application lists in its registry (also at `@sqlrep/replica-sftp/backend`, without ssh2). */
export { cleanSftpPath, DEFAULT_SSH_PORT, parseSftpUrl, sftpBackend, splitHostPort, type SftpSpec } from "./backend.js";
/** A `ReplicaClient` for an `sftp` spec (what `sftpBackend` loads). */
export { createSftpReplicaClient, type SftpReplicaClientOptions } from "./replica.js";
/** The `ObjectStore` of a directory on an SFTP server, and the connection under it. */
export { SftpObjectStore, type SftpObjectStoreOptions } from "./sftp-store.js";
export { SftpConnection, type ConnectionOptions, type SftpSession } from "./connection.js";
/** Spec → connection settings; host keys and their fingerprints. */
export { fingerprint, parseHostKey, resolveSftpSettings, type HostKey, type SftpSettings } from "./settings.js";
/** SSH/SFTP error → ReplicaError. */
export { isConnectionFault, toReplicaError, SFTP_STATUS } from "./sftp-errors.js";
