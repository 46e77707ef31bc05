// Loads the FUSE addon (dist/native/sqlrep_fuse.node, built by scripts/build-native.mjs)
// and types what it exports.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { FuseError } from "./errors.js";

/** An opaque handle to one mount in the addon. */
export type NativeHandle = { readonly __brand: "sqlrep-fuse-mount" };

/** A captured transaction as the addon delivers it. */
export interface NativeTransaction {
  pageSize: number;
  commit: number;
  pgnos: Uint32Array;
  data: Uint8Array;
  mode: "wal" | "rollback" | "raw";
  walOffset: number;
  walSize: number;
  walSalt1: number;
  walSalt2: number;
  durable: boolean;
  pid: number;
}

/** What the FUSE threads tell JavaScript. */
export type NativeEvent =
  | { type: "commit"; token: number; db: number; pid: number; transactions: NativeTransaction[] }
  | { type: "create"; token: number; name: string; pid: number }
  | { type: "drop"; token: number; db: number; name: string; pid: number }
  | { type: "halt"; token: number; db: number; pid: number }
  | { type: "unhalt"; db: number }
  | { type: "interrupt"; token: number }
  | { type: "log"; level: 0 | 1 | 2 | 3; message: string }
  | { type: "sync"; token: number; db: number };

/** The addon's exports. */
export interface NativeBinding {
  mount(
    mountpoint: string,
    options: { statfsPath: string; entryTimeout: number; attrTimeout: number; debug: number; options: string },
    onEvent: (event: NativeEvent) => void,
  ): NativeHandle;
  unmount(handle: NativeHandle): Promise<void>;
  addDatabase(handle: NativeHandle, name: string, paths: readonly string[], writable: boolean, pos: string, posMtime: number): number;
  removeDatabase(handle: NativeHandle, name: string): void;
  updateDatabase(handle: NativeHandle, name: string, writable: boolean, pos: string, posMtime: number): void;
  setPrimary(handle: NativeHandle, hostname: string | null): void;
  setLag(handle: NativeHandle, mode: 0 | 1, value: number): void;
  complete(handle: NativeHandle, token: number, errno: number): boolean;
  interrupt(handle: NativeHandle, token: number): void;
  stats(handle: NativeHandle): Record<string, number>;
  apply(handle: NativeHandle, name: string, pageSize: number, commit: number, pgnos: Uint32Array, data: Uint8Array, timeoutMs: number, sync: boolean): Promise<void>;
  lockDatabase(handle: NativeHandle, name: string, timeoutMs: number): Promise<number>;
  unlockDatabase(handle: NativeHandle, name: string, lockId: number): Promise<void>;
}

/** Path of the built addon. */
export const nativeAddonPath: string = fileURLToPath(new URL("../dist/native/sqlrep_fuse.node", import.meta.url));

let cached: NativeBinding | undefined;

/** The addon, loaded once; a FuseError("native-unavailable") when it is not built. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  if (!existsSync(nativeAddonPath)) {
    throw new FuseError("native-unavailable", `the FUSE addon is not built (${nativeAddonPath}): run pnpm build in packages/fuse`, {
      file: nativeAddonPath,
    });
  }
  try {
    cached = createRequire(import.meta.url)(nativeAddonPath) as NativeBinding;
  } catch (error) {
    throw new FuseError("native-unavailable", `cannot load the FUSE addon ${nativeAddonPath}: ${(error as Error).message}`, {
      cause: error,
      file: nativeAddonPath,
    });
  }
  return cached;
}
