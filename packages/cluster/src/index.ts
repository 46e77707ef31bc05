/**
 * @sqlrep/cluster — the engine behind `litefs mount`, without FUSE: a store of SQLite
 * databases with an LTX log and incremental checksums, a primary and live replicas over
 * a lease, the node-to-node stream, snapshots, failover and handoff, split brain kept in
 * `diverged/`, and the cluster's backup to object storage.
 */
export { ClusterError, isClusterError, describeError, type ClusterErrorCode, type ClusterErrorOptions } from "./errors.js";
export { Store, type StoreEvent, type StoreOptions } from "./store/store.js";
export { Database, type CommitOptions, type DatabaseChange, type DatabaseOptions, type DatabasePosition } from "./store/database.js";
export type { CommitPage, CommitPages, PageBuffer } from "./store/commit-pages.js";
export type { ApplyTransaction, DatabaseIo } from "./store/io.js";
export type { PageView, ViewState } from "./store/page-view.js";
export { checkDatabaseName, databaseFiles, type DatabaseFiles } from "./store/names.js";
export { encodeSnapshot, restoreSnapshot, type RestoreOptions } from "./store/snapshot.js";
export { newClusterId } from "./store/data-dir.js";
export { exportDatabaseBytes, sqliteImage } from "./store/import-export.js";
export { ClusterNode, type NodeInfo, type NodeLag, type NodeOptions } from "./roles/node.js";
export type { HaltGrant, PrimaryRole } from "./roles/primary.js";
export { startHttpServer, parseAddr, type HttpServer, type HttpServerOptions } from "./http/server.js";
export { resolveAuthToken } from "./http/auth.js";
export { litefsEventJSON, type NodeEvent } from "./events.js";
export { metricsText, NodeCounters } from "./metrics.js";
export { backupFromSpec, ClusterBackup, type BackupOptions } from "./backup.js";
export type { Divergence } from "./divergence.js";
export { decodePositionMap, encodePositionMap, FrameReader, FrameType, type Frame, type MapPosition } from "./stream/codec.js";
export { startProxyServer, FORWARDED_BY_HEADER, type ProxyServer } from "./proxy/server.js";
export { compilePathPattern, type ProxyOptions, type ProxyPathPattern } from "./proxy/options.js";
export { parseTxidCookie, txidCookie, TXID_COOKIE } from "./proxy/consistency.js";
