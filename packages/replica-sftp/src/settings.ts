/** An SFTP replica spec resolved into what a connection needs: address, credentials, the expected host key. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { ReplicaError } from "@sqlrep/replica";
import { cleanSftpPath, splitHostPort, type SftpSpec } from "./spec.js";

/** Everything needed to connect and where the replica lives on the server. */
export interface SftpSettings {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  /** The private key's bytes (read from `key-path`). */
  privateKey: Buffer | undefined;
  keyPath: string | undefined;
  /** The expected host key, if `host-key` is set. */
  hostKey: HostKey | undefined;
  /** The replica's directory on the server (absolute, or relative to the login directory; empty: the login directory). */
  root: string;
  concurrentWrites: boolean;
  /** `sftp://user@host:port/root`, for messages (no password). */
  location: string;
}

/** A public key from an authorized_keys line. */
export interface HostKey {
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, … */
  type: string;
  /** The key blob (what the server sends in its handshake). */
  blob: Buffer;
}

/**
 * Resolves a spec: `host` (`host:port`, port 22 by default) and `user` are required;
 * `key-path` is read here (`~/` is the home directory), so a missing or unreadable key
 * fails at once naming the file; `host-key` is parsed. Litestream reads no environment
 * variable for SFTP, and neither do we.
 */
export function resolveSftpSettings(spec: SftpSpec): SftpSettings {
  const where = spec.url ? ` (${redact(spec.url)})` : "";
  if (spec.type !== "sftp") throw new ReplicaError("invalid-config", `not an SFTP replica spec: type ${JSON.stringify(spec.type)}${where}`, { key: "type" });
  if (!spec.host) throw new ReplicaError("invalid-config", `SFTP replica has no host${where}: set "host" or use a URL sftp://USER@HOST/PATH`, { key: "host" });
  if (!spec.user) throw new ReplicaError("invalid-config", `SFTP replica has no user${where}: set "user" or use a URL sftp://USER@HOST/PATH`, { key: "user" });
  const { host, port } = splitHostPort(spec.host, "host");
  let privateKey: Buffer | undefined;
  const keyPath = spec.keyPath ? expandHome(spec.keyPath) : undefined;
  if (keyPath !== undefined) {
    try {
      privateKey = readFileSync(keyPath);
    } catch (err) {
      throw new ReplicaError("invalid-config", `cannot read key-path ${keyPath}: ${(err as Error).message}`, { key: "key-path", cause: err });
    }
  }
  const root = cleanSftpPath(spec.path ?? "");
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    host,
    port,
    user: spec.user,
    password: spec.password || undefined,
    privateKey,
    keyPath,
    hostKey: spec.hostKey ? parseHostKey(spec.hostKey) : undefined,
    root,
    concurrentWrites: spec.concurrentWrites ?? true,
    location: `sftp://${spec.user}@${hostPart}:${port}${root.startsWith("/") ? root : `/~/${root}`}`.replace(/\/$/, ""),
  };
}

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519|ed448)|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+|[a-z0-9-]+-cert-v01@openssh\.com)$/;

/**
 * Reads the key of an authorized_keys (or known_hosts) line, as Go's
 * `ssh.ParseAuthorizedKey` does for Litestream: optional options or host names, the key
 * type, the base64 blob, an optional comment. The blob must name the same type.
 */
export function parseHostKey(text: string): HostKey {
  const tokens = text.trim().split(/\s+/);
  const at = tokens.findIndex((t) => KEY_TYPE.test(t));
  const type = at >= 0 ? tokens[at]! : undefined;
  const base64 = at >= 0 ? tokens[at + 1] : undefined;
  const blob = base64 !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(base64) ? Buffer.from(base64, "base64") : undefined;
  if (type === undefined || blob === undefined || blobType(blob) !== type) {
    throw new ReplicaError(
      "invalid-config",
      `host-key is not a public key line ("ssh-ed25519 AAAA…", as in authorized_keys): ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}`,
      {
        key: "host-key",
      },
    );
  }
  return { type, blob };
}

/** OpenSSH's fingerprint of a key blob: `SHA256:<unpadded base64>`. */
export function fingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The type name a key blob starts with (an SSH string), or undefined. */
export function blobType(blob: Uint8Array): string | undefined {
  if (blob.length < 4) return undefined;
  const length = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0);
  if (length === 0 || 4 + length > blob.length) return undefined;
  return Buffer.from(blob.subarray(4, 4 + length)).toString("latin1");
}

/** A URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/^(sftp:\/\/[^:@/]*):[^@/]*@/, "$1:***@");
}

function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
}
