/**
 * Loads the package's C addon (src/native, built by scripts/build-native.mjs), once per
 * thread and only when asked, for the modules that use it: LZ4 block decoding
 * (lz4/addon.ts) and CRC-64 (crc64-addon.ts). Each decides on its own whether to use it
 * (`SQLREP_LZ4`, `SQLREP_CRC64`), so this module knows nothing of either.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The addon's functions (src/native/addon.c says what each does). The CRC-64 ones are
 * optional: an addon built by an earlier version of the package lacks them.
 */
export interface LtxAddon {
  decodeBlocks(src: Uint8Array, blocks: Int32Array, dst: Uint8Array, pageSize: number): number;
  decodeInto(src: Uint8Array, sp: number, send: number, dst: Uint8Array, dp: number, dend: number, history: number): number;
  crc64?(l: number, h: number, data: Uint8Array, out: Int32Array): void;
  crc64Pages?(data: Uint8Array, count: number, pageSize: number, out: Int32Array): void;
  crc64Table?(l: number, h: number, data: Uint8Array, out: Int32Array): void;
  crc64Kernel?(): string;
}

/** Where the build puts the addon (the same path from src/ and from dist/). */
export const addonPath: string = fileURLToPath(new URL("../dist/native/sqlrep_ltx.node", import.meta.url));

let loaded: { addon: LtxAddon | undefined; reason: string | undefined } | undefined;

/** The addon, or why it is not there (no C compiler at build time, a load error). */
export function nativeAddon(): { addon: LtxAddon | undefined; reason: string | undefined } {
  loaded ??= load();
  return loaded;
}

/**
 * The addon's path: beside this module's package, or, when this module was bundled into
 * an app (`apps/litestream` is one file plus chunks, so `import.meta.url` is the app's),
 * in the `@sqlrep/ltx` the app depends on. Undefined when neither has it.
 */
function findAddon(): string | undefined {
  if (existsSync(addonPath)) return addonPath;
  try {
    const pkg = createRequire(import.meta.url).resolve("@sqlrep/ltx/package.json");
    const path = join(dirname(pkg), "dist", "native", "sqlrep_ltx.node");
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function load(): { addon: LtxAddon | undefined; reason: string | undefined } {
  const path = findAddon();
  if (path === undefined) return { addon: undefined, reason: `the addon was not built (${addonPath} is missing: no C compiler at build time?)` };
  try {
    return { addon: createRequire(import.meta.url)(path) as LtxAddon, reason: undefined };
  } catch (err) {
    return { addon: undefined, reason: `the addon did not load: ${(err as Error).message.split("\n")[0]}` };
  }
}
