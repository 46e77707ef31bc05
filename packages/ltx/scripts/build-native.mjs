// Builds the LZ4 addon (src/native) with node-gyp against the running Node's own headers
// — nothing is downloaded — into dist/native/sqlrep_ltx.node. The addon is optional: without
// a C compiler the package decodes with lz4-napi and says why (`lz4Backend()`), so a
// missing compiler is a warning here, while a compiler that fails is an error.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const native = join(root, "src", "native");
const nodedir = dirname(dirname(process.execPath));

const hasCompiler = (() => {
  try {
    execFileSync("cc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
if (!hasCompiler || !existsSync(join(nodedir, "include", "node", "node_api.h"))) {
  console.warn(
    `@sqlrep/ltx: ${hasCompiler ? `Node's headers are missing under ${nodedir}/include/node` : "no C compiler (cc)"}: the LZ4 addon is not built; runs decode with lz4-napi`,
  );
  process.exit(0);
}
const gyp = createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
execFileSync(process.execPath, [gyp, "rebuild", `--nodedir=${nodedir}`, `--directory=${native}`, "--loglevel=warn"], {
  stdio: ["ignore", "ignore", "inherit"],
});
mkdirSync(join(root, "dist", "native"), { recursive: true });
copyFileSync(join(native, "build", "Release", "sqlrep_ltx.node"), join(root, "dist", "native", "sqlrep_ltx.node"));
