/** Where the demo finds the built CLIs it runs (resolved through the workspace packages, so it runs what was just built). */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** The built `ltx` bin of @sqlrep/ltx. */
export const ltxBin = join(dirname(require.resolve("@sqlrep/ltx/package.json")), "dist", "bin", "ltx.js");

/** The built `litestream` bin of @sqlrep/litestream. */
export const litestreamBin = join(dirname(require.resolve("@sqlrep/litestream/package.json")), "dist", "cli.js");

/** The built `litefs` bin of @sqlrep/litefs. */
export const litefsBin = join(dirname(require.resolve("@sqlrep/litefs/package.json")), "dist", "cli.js");
