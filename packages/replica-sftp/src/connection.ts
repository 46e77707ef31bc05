/**
 * One SSH connection with one SFTP channel, opened on first use and opened again after
 * it broke (Litestream resets its client on a lost connection the same way). The host
 * key is checked against `host-key` before any credential is sent.
 */
import { Client, type ConnectConfig, type SFTPWrapper } from "ssh2";
import { ReplicaError } from "@sqlrep/replica";
import { blobType, fingerprint, type SftpSettings } from "./settings.js";
import { describeError, isConnectionFault } from "./sftp-errors.js";
import { markClosed } from "./sftp-ops.js";

/** Knobs of the connection (Litestream: 30 s to dial, no keep-alive). */
export interface ConnectionOptions {
  /** Time for TCP, handshake and authentication (default 30 s, Litestream's dial timeout). */
  readyTimeoutMs?: number | undefined;
  /** SSH keep-alive interval (default 10 s); 3 unanswered ones drop the connection, failing what is pending. */
  keepaliveIntervalMs?: number | undefined;
}

/** An open SFTP session and the extensions the server offered. */
export interface SftpSession {
  sftp: SFTPWrapper;
  /** OpenSSH extensions: atomic replace, exclusive link, fsync. */
  posixRename: boolean;
  hardlink: boolean;
  fsync: boolean;
}

/** A lazily opened, self-healing SFTP session to one server. */
export class SftpConnection {
  private session: Promise<SftpSession> | undefined;
  private client: Client | undefined;
  private closed = false;

  constructor(
    private readonly settings: SftpSettings,
    private readonly options: ConnectionOptions = {},
  ) {}

  /** The current session, connecting first when there is none (or the last one broke). */
  open(): Promise<SftpSession> {
    if (this.closed) return Promise.reject(new ReplicaError("aborted", `${this.settings.location}: the client was closed`));
    this.session ??= this.connect().catch((err: unknown) => {
      this.session = undefined;
      throw err;
    });
    return this.session;
  }

  /** Drops the session (after a connection fault), so the next `open()` connects again. */
  reset(client?: Client): void {
    if (client !== undefined && client !== this.client) return;
    const old = this.client;
    this.client = undefined;
    this.session = undefined;
    old?.end();
  }

  /** Closes the connection; later calls fail with `aborted`. */
  close(): void {
    this.closed = true;
    this.reset();
  }

  private connect(): Promise<SftpSession> {
    const { settings } = this;
    const client = new Client();
    this.client = client;
    let hostKeyProblem: string | undefined;
    const config: ConnectConfig = {
      host: settings.host,
      port: settings.port,
      username: settings.user,
      readyTimeout: this.options.readyTimeoutMs ?? 30_000,
      keepaliveInterval: this.options.keepaliveIntervalMs ?? 10_000,
      keepaliveCountMax: 3,
      ...(settings.password !== undefined ? { password: settings.password } : {}),
      ...(settings.privateKey !== undefined ? { privateKey: settings.privateKey } : {}),
      hostVerifier: (key: Buffer) => {
        const expected = settings.hostKey;
        if (expected === undefined || expected.blob.equals(key)) return true;
        hostKeyProblem =
          `the host key of ${settings.host}:${settings.port} is ${blobType(key) ?? "unknown type"} ${fingerprint(key)}, ` +
          `but host-key is ${expected.type} ${fingerprint(expected.blob)}: refusing to connect (the server changed its key, or this is not the server you configured)`;
        return false;
      },
    };
    return new Promise<SftpSession>((resolve, reject) => {
      let ready = false;
      client.on("error", (err: Error & { level?: string }) => {
        if (!ready) return reject(this.connectError(err, hostKeyProblem));
        this.reset(client);
      });
      client.on("close", () => {
        this.reset(client);
        if (!ready) reject(this.connectError(Object.assign(new Error("connection closed during the handshake"), { level: "client-socket" }), hostKeyProblem));
      });
      // SSH and SFTP are request/response: without this, Nagle holds small packets for the last ACK (40 ms each).
      client.on("connect", () => client.setNoDelay(true));
      client.on("ready", () => {
        client.sftp((err, sftp) => {
          if (err) {
            reject(new ReplicaError("io", `${settings.location}: cannot start the SFTP subsystem: ${describeError(err)}`, { cause: err, retryable: isConnectionFault(err) }));
            this.reset(client);
            return;
          }
          ready = true;
          const dead = () => {
            markClosed(sftp);
            this.reset(client);
          };
          sftp.on("close", dead);
          client.on("close", dead);
          const extensions = (sftp as unknown as { _extensions?: Record<string, string> })._extensions ?? {};
          resolve({
            sftp,
            posixRename: extensions["posix-rename@openssh.com"] === "1",
            hardlink: extensions["hardlink@openssh.com"] === "1",
            fsync: extensions["fsync@openssh.com"] === "1",
          });
        });
      });
      client.connect(config);
    });
  }

  private connectError(err: Error & { level?: string }, hostKeyProblem: string | undefined): ReplicaError {
    const { settings } = this;
    if (hostKeyProblem !== undefined) return new ReplicaError("io", `${settings.location}: ${hostKeyProblem}`, { key: "host-key", cause: err });
    if (err.level === "client-authentication") {
      const methods = [settings.password !== undefined ? "password" : undefined, settings.privateKey !== undefined ? `key ${settings.keyPath}` : undefined].filter(Boolean);
      return new ReplicaError(
        "io",
        `${settings.location}: authentication of user ${settings.user} failed (${methods.length > 0 ? `tried ${methods.join(" and ")}` : "no password and no key-path given"})`,
        { key: methods.length > 0 ? "user" : "password", cause: err },
      );
    }
    return new ReplicaError("io", `${settings.location}: cannot connect: ${describeError(err)}`, { cause: err, retryable: isConnectionFault(err) || err.level === undefined });
  }
}
