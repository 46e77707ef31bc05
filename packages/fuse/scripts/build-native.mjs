// Builds the FUSE addon (src/native) with node-gyp against the running Node's own
// headers — nothing is downloaded — and copies it to dist/native/sqlrep_fuse.node.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const native = join(root, "src", "native");
const nodedir = dirname(dirname(process.execPath));

if (!existsSync("/usr/include/fuse/fuse_lowlevel.h")) {
  console.error("@sqlrep/fuse: libfuse 2's headers are missing (/usr/include/fuse/fuse_lowlevel.h): apt-get install libfuse-dev (bash scripts/dev.sh setup does)");
  process.exit(1);
}
if (!existsSync(join(nodedir, "include", "node", "node_api.h"))) {
  console.error(`@sqlrep/fuse: Node's headers are missing under ${nodedir}/include/node`);
  process.exit(1);
}
const gyp = createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
execFileSync(process.execPath, [gyp, "rebuild", `--nodedir=${nodedir}`, `--directory=${native}`, "--loglevel=warn"], {
  stdio: ["ignore", "ignore", "inherit"],
});
mkdirSync(join(root, "dist", "native"), { recursive: true });
copyFileSync(join(native, "build", "Release", "sqlrep_fuse.node"), join(root, "dist", "native", "sqlrep_fuse.node"));
