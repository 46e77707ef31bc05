/**
 * A real NATS server with JetStream for object-store tests: Debian's `nats-server` on a
 * free 127.0.0.1 port with a temp store directory and a generated config (auth and TLS
 * blocks are the caller's).
 */
import { accessSync, constants, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { TestkitError } from "./errors.js";
import { freePort } from "./ports.js";
import { spawnProcess, type ProcessHandle } from "./process.js";
import { tempDir } from "./temp.js";

/** A running nats-server with JetStream. */
export interface NatsServer {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (temp). */
  readonly storeDir: string;
  /** The temp dir holding config and store; put certificates and creds here. */
  readonly dir: string;
  readonly process: ProcessHandle;
  /** SIGKILL (clients see their connection drop). */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same store (after `kill()`). */
  restart(): Promise<void>;
  /** Stops the server and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /**
   * More configuration, in nats-server's config syntax (an `authorization { … }` or
   * `tls { … }` block, an operator setup). A function receives the server's temp dir
   * first, for files it writes there (certificates, JWTs).
   */
  config?: string | ((dir: string) => string);
  readyTimeoutMs?: number;
}

/** The nats-server binary: `$SQLREP_NATS_SERVER_BIN`, Debian's `/usr/sbin/nats-server`, else on the PATH. */
export function natsServerBinary(): string | undefined {
  const fromEnv = process.env["SQLREP_NATS_SERVER_BIN"];
  const candidates = fromEnv
    ? [fromEnv]
    : [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        ...(process.env["PATH"] ?? "")
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, "nats-server")),
      ];
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why {@link startNatsServer} cannot run here, or undefined when it can. */
export function natsUnavailableReason(): string | undefined {
  return natsServerBinary() === undefined
    ? "nats-server not found (/usr/sbin/nats-server or on the PATH): install Debian's nats-server (scripts/dev.sh setup does), or set SQLREP_NATS_SERVER_BIN"
    : undefined;
}

/** Whether {@link startNatsServer} can run here. */
export function natsAvailable(): boolean {
  return natsUnavailableReason() === undefined;
}

/** Starts `nats-server -c <temp config>` with JetStream on 127.0.0.1; resolves once it is ready for clients. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = natsServerBinary();
  if (binary === undefined) throw new TestkitError("SPAWN_FAILED", `cannot start nats-server: ${natsUnavailableReason()}`);
  const dir = tempDir("sqlrep-nats-");
  const storeDir = dir.join("store");
  const extra = typeof options.config === "function" ? options.config(dir.path) : (options.config ?? "");
  const configFile = dir.join("nats.conf");
  let port = 0;
  let child: ProcessHandle | undefined;
  const launch = () => {
    writeFileSync(
      configFile,
      [`listen: "127.0.0.1:${port}"`, `server_name: "sqlrep-test-${port}"`, "jetstream {", `  store_dir: ${JSON.stringify(storeDir)}`, "}", extra, ""].join("\n"),
    );
    return spawnProcess(binary, ["-c", configFile], {
      name: `nats-server:${port}`,
      ready: /Server is ready/,
      readyTimeoutMs: options.readyTimeoutMs ?? 15_000,
    });
  };
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch();
      break;
    } catch (error) {
      const portTaken = error instanceof TestkitError && error.output.some((line) => /address already in use/i.test(line));
      if (!portTaken || attempt >= 3) {
        dir.remove();
        throw error;
      }
    }
  }
  let stopping: Promise<void> | undefined;
  const kill = async () => {
    child!.kill();
    await child!.exited;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    dir: dir.path,
    get process() {
      return child!;
    },
    kill,
    async restart() {
      await kill();
      child = await launch();
    },
    stop() {
      stopping ??= child!.stop().then(() => dir.remove());
      return stopping;
    },
  };
}
