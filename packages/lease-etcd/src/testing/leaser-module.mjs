// The module the conformance suite (and its child processes) build etcd leasers from: the built package.
import { openEtcdLeaser } from "../../dist/index.js";

export function createLeaser(options, node) {
  return openEtcdLeaser(options, node);
}
