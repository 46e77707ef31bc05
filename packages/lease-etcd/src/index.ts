// @sqlrep/lease-etcd: a LiteFS primary lease on etcd.
export { openEtcdLeaser, type EtcdLeaserOptions } from "./etcd-leaser.js";
export { checkEtcdLeaseOptions, DEFAULT_ETCD_TTL_MS, MIN_ETCD_TTL_MS, type CheckedEtcdOptions, type EtcdLeaseOptions } from "./options.js";
