// @sqlrep/litestream-vfs: the loadable extension (lib/litestream-vfs.so) and the page
// server it starts. Like npm `litestream-vfs`, the JS API is where the extension is.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The extension's path, for `db.loadExtension()`, `.load` or Python's `load_extension`. */
export function getLoadablePath(): string {
  const path = join(dirname(fileURLToPath(import.meta.url)), "..", "lib", "litestream-vfs.so");
  if (!existsSync(path)) throw new Error(`${path} is missing: build it with \`pnpm turbo run build --filter @sqlrep/litestream-vfs\` (needs a C compiler and libsqlite3-dev)`);
  return path;
}

/** The page server's entry point (the extension starts it with node). */
export function getServerPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "server.js");
}
