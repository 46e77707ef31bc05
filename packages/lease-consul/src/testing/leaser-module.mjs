// The module the conformance suite (and its child processes) build Consul leasers from: the built package.
import { openConsulLeaser } from "../../dist/index.js";

export function createLeaser(options, node) {
  return openConsulLeaser(options, node);
}
