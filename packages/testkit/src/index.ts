/** @sqlrep/testkit — the real parts tests run against (S3 server, etcd, child processes, FUSE, fault proxy) and their helpers (private: tests only). */
export * from "./paths.js";
export * from "./temp.js";
export { TestkitError, type TestkitErrorCode } from "./errors.js";
export { waitFor, type WaitForOptions } from "./wait.js";
export { deadPort, freePort, httpStatus, isPortOpen } from "./ports.js";
export { startS3Server, type S3Server, type S3ServerOptions } from "./s3.js";
export { compareS3Keys, sortS3Keys } from "./s3-listing.js";
export { etcdAvailable, etcdBinary, etcdUnavailableReason, startEtcd, type EtcdOptions, type EtcdServer } from "./etcd.js";
export {
  spawnProcess,
  stopAllProcesses,
  type ExitStatus,
  type ProcessHandle,
  type ReadyCheck,
  type SpawnOptions,
} from "./process.js";
export {
  startFaultProxy,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  type Faults,
} from "./fault-proxy.js";
export { startTcpForwarder, type TcpForwarder } from "./tcp-forwarder.js";
export { startConsulDouble, type ConsulDouble, type ConsulDoubleOptions, type ConsulDoubleSession } from "./consul-double.js";
export type { LinkShape } from "./link.js";
export { fuseAvailable, fuseUnavailableReason, isMounted, tempMountDir, unmountFuse, waitForMount } from "./fuse.js";
export { sftpAvailable, sftpUnavailableReason, startSftpServer, type SftpServer, type SftpServerOptions } from "./sftp.js";
export { natsAvailable, natsServerBinary, natsUnavailableReason, startNatsServer, type NatsServer, type NatsServerOptions } from "./nats.js";
export { readmeExample, runReadmeExample, type ReadmeExample } from "./readme.js";
export { addRows, createDatabase, readDatabase } from "./sqlite-rows.js";
export { AZURITE_ACCOUNT, startAzurite, type AzuriteOptions, type AzuriteServer } from "./azurite.js";
export { startWebdavServer, type WebdavServer, type WebdavServerOptions } from "./webdav.js";
