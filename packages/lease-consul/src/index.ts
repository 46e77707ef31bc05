// @sqlrep/lease-consul: a LiteFS primary lease on Consul, LiteFS's keys and session settings.
export { openConsulLeaser, type ConsulLeaserOptions } from "./consul-leaser.js";
export {
  checkConsulLeaseOptions,
  DEFAULT_CONSUL_LOCK_DELAY_MS,
  DEFAULT_CONSUL_TTL_MS,
  redact,
  type CheckedConsulOptions,
  type ConsulLeaseOptions,
} from "./options.js";
