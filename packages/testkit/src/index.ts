export * from "./paths.js";
export * from "./temp.js";
export { TestkitError, type TestkitErrorCode } from "./errors.js";
export { waitFor, type WaitForOptions } from "./wait.js";
export { freePort, httpStatus, isPortOpen } from "./ports.js";
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
export { clearStaleMount, fuseAvailable, fuseUnavailableReason, isMounted, tempMountDir, unmountFuse, waitForMount } from "./fuse.js";
export { readmeExample, runReadmeExample, type ReadmeExample } from "./readme.js";
