/** The settings of an SFTP replica, as a spec carries them, and how its host and path read. */
import { ReplicaError, type ReplicaSpec } from "@sqlrep/replica";

/** The fields an SFTP replica spec may carry. */
export interface SftpSpec extends ReplicaSpec {
  /** `host` or `host:port` (port 22 when absent), as Litestream takes it. */
  host?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  /** A private key file (OpenSSH or PEM, no passphrase) for public key authentication. */
  keyPath?: string | undefined;
  /** The server's public key as an authorized_keys line (`ssh-ed25519 AAAA…`); any key is accepted without it. */
  hostKey?: string | undefined;
  /** Several writes of one file in flight (default true). */
  concurrentWrites?: boolean | undefined;
}

/** The SSH port when `host` names none. */
export const DEFAULT_SSH_PORT = 22;

/** `host`, `host:port`, `[v6]:port` → host and port (22 by default); a bad port is a ReplicaError naming `key`. */
export function splitHostPort(value: string, key: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d*))?$/.exec(value);
  const port = m?.[2] === undefined ? DEFAULT_SSH_PORT : Number(m[2]);
  if (!m || m[1] === "" || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ReplicaError("invalid-config", `${key} ${JSON.stringify(value)} is not host or host:port`, { key });
  }
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * Cleans a remote path like Go's path.Clean, keeping what makes it absolute or relative:
 * `/a//b/` → `/a/b`, `a/./b` → `a/b`, `/` stays `/`, empty stays empty (the login directory).
 */
export function cleanSftpPath(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(part);
  }
  const joined = out.join("/");
  return absolute ? `/${joined}` : joined;
}
