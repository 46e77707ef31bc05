/**
 * Azurite's blob service (npm `azurite`, Microsoft's Azure Storage emulator) as a child
 * process on 127.0.0.1, with its well-known development account and a temp workspace.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { TestkitError } from "./errors.js";
import { freePort } from "./ports.js";
import { spawnProcess, type ProcessHandle } from "./process.js";
import { tempDir } from "./temp.js";

/** Options of {@link startAzurite}. */
export interface AzuriteOptions {
  /** Give up when the blob service does not listen in time (default 30 000 ms). */
  readyTimeoutMs?: number;
}

/** A running Azurite blob service. */
export interface AzuriteServer {
  /** The dev account's name: `devstoreaccount1`. */
  readonly accountName: string;
  /** The dev account's shared key (public, documented by Microsoft). */
  readonly accountKey: string;
  /** The blob service URL with the account as first path segment: `http://127.0.0.1:PORT/devstoreaccount1`. */
  readonly endpoint: string;
  readonly port: number;
  /** The Azurite child process (kill it to simulate a dead endpoint). */
  readonly process: ProcessHandle;
  /** An `abs://` replica URL for a container and prefix on this server (`?endpoint=` carries the local endpoint). */
  url(container: string, prefix: string): string;
  /** Stops Azurite and removes its workspace. Idempotent. */
  stop(): Promise<void>;
}

/** Azurite's fixed development account (https://learn.microsoft.com/azure/storage/common/storage-use-azurite). */
export const AZURITE_ACCOUNT = {
  name: "devstoreaccount1",
  key: "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
} as const;

const require = createRequire(import.meta.url);

/**
 * Starts `azurite-blob` on a free 127.0.0.1 port with a temp workspace, without
 * telemetry, accepting any API version (the SDK may be newer than the emulator), and
 * resolves once it listens. Containers are created by the caller (the SDK's
 * `createIfNotExists`).
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteServer> {
  const bin = join(dirname(require.resolve("azurite/package.json")), "dist", "src", "blob", "main.js");
  const workspace = tempDir("sqlrep-azurite-");
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnProcess(
        process.execPath,
        [bin, "--blobHost", "127.0.0.1", "--blobPort", String(port), "--location", workspace.path, "--silent", "--skipApiVersionCheck", "--disableTelemetry"],
        { name: `azurite:${port}`, ready: { port }, readyTimeoutMs: options.readyTimeoutMs ?? 30_000 },
      );
      const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT.name}`;
      let stopping: Promise<void> | undefined;
      return {
        accountName: AZURITE_ACCOUNT.name,
        accountKey: AZURITE_ACCOUNT.key,
        endpoint,
        port,
        process: child,
        url: (container, prefix) => `abs://${AZURITE_ACCOUNT.name}@${container}/${prefix}?endpoint=${encodeURIComponent(endpoint)}`,
        stop() {
          stopping ??= child.stop().then(() => workspace.remove());
          return stopping;
        },
      };
    } catch (error) {
      const portTaken = error instanceof TestkitError && error.output.some((line) => line.includes("EADDRINUSE"));
      if (portTaken && attempt < 3) continue;
      workspace.remove();
      throw error;
    }
  }
}
