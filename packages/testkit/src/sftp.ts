/**
 * A real OpenSSH server for SFTP tests: Debian's `sshd` on a free 127.0.0.1 port, with
 * its own config, host key, user (password and key auth) and home directory, all
 * temporary. The machine's own sshd config and keys are never read or touched.
 */
import { execFileSync } from "node:child_process";
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { TestkitError } from "./errors.js";
import { freePort } from "./ports.js";
import { spawnProcess, type ProcessHandle } from "./process.js";
import { tempDir } from "./temp.js";

const SSHD = "/usr/sbin/sshd";
/** sshd refuses to start without its privilege separation directory (Debian's service unit creates it). */
const PRIVSEP_DIR = "/run/sshd";
const USER_PREFIX = "sqlrep-sftp-";

/** A running sshd serving SFTP to one temporary user. */
export interface SftpServer {
  readonly host: string;
  readonly port: number;
  /** The temporary user (created for this server, removed by `stop()`). */
  readonly user: string;
  readonly password: string;
  /** The user's private key (OpenSSH format, no passphrase), authorized by the server. */
  readonly keyPath: string;
  /** The server's host key as an authorized_keys line (`ssh-ed25519 AAAA…`): the `host-key` value that matches. */
  readonly hostKey: string;
  /** The user's home directory (where relative SFTP paths land), a local path. */
  readonly home: string;
  /** `sftp://user@127.0.0.1:port/<home>/<path>`: an absolute path under the home directory. */
  url(path?: string): string;
  /** The listening sshd. */
  readonly process: ProcessHandle;
  /** SIGKILL to sshd and every session it forked (clients see their connections drop). */
  kill(): Promise<void>;
  /** Starts sshd again on the same port with the same keys and user (after `kill()`). */
  restart(): Promise<void>;
  /** Stops sshd and its sessions, removes the user and the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startSftpServer}. */
export interface SftpServerOptions {
  /** Lines added to the generated sshd_config (after ours). */
  config?: readonly string[];
  readyTimeoutMs?: number;
}

/** Why {@link startSftpServer} cannot run here, or undefined when it can. */
export function sftpUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (it creates a temporary system user for password authentication)";
  for (const [path, pkg] of [
    [SSHD, "openssh-server"],
    ["/usr/bin/ssh-keygen", "openssh-client"],
    ["/usr/sbin/useradd", "passwd"],
    ["/usr/bin/openssl", "openssl"],
  ] as const) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      return `${path} not found: install Debian's ${pkg} (scripts/dev.sh setup does)`;
    }
  }
  return undefined;
}

/** Whether {@link startSftpServer} can run here. */
export function sftpAvailable(): boolean {
  return sftpUnavailableReason() === undefined;
}

let serial = 0;
const liveUsers = new Set<string>();
let exitHook = false;

/**
 * Starts sshd with a temp config (`-D -e -f`): a fresh ed25519 host key, a temporary
 * system user (no shell, home in the temp dir) with a random password and a fresh key
 * in a temp `AuthorizedKeysFile`, `internal-sftp`, no PAM. Resolves once it listens.
 */
export async function startSftpServer(options: SftpServerOptions = {}): Promise<SftpServer> {
  const reason = sftpUnavailableReason();
  if (reason !== undefined) throw new TestkitError("SPAWN_FAILED", `cannot start sshd: ${reason}`);
  removeStaleUsers();
  const dir = tempDir("sqlrep-sftp-");
  // sshd drops to the user before reading the authorized keys and serving files.
  chmodSync(dir.path, 0o755);
  const user = `${USER_PREFIX}${process.pid}-${++serial}`;
  const password = randomBytes(12).toString("base64url");
  const home = dir.join("home");
  const hostKeyFile = dir.join("host_key");
  const keyPath = dir.join("client_key");
  try {
    execFileSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sqlrep-test-host", "-f", hostKeyFile]);
    execFileSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sqlrep-test-client", "-f", keyPath]);
    writeFileSync(dir.join("authorized_keys"), readFileSync(`${keyPath}.pub`), { mode: 0o644 });
    const crypted = execFileSync("/usr/bin/openssl", ["passwd", "-6", "-stdin"], { input: password, encoding: "utf8" }).trim();
    installExitHook();
    execFileSync("/usr/sbin/useradd", ["--system", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", "--password", crypted, user]);
    liveUsers.add(user);
    mkdirSync(home, { mode: 0o755 });
    const { uid, gid } = idsOf(user);
    chownSync(home, uid, gid);
    if (!existsSync(PRIVSEP_DIR)) mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
  } catch (error) {
    removeUser(user);
    dir.remove();
    throw new TestkitError("SPAWN_FAILED", `cannot prepare sshd: ${(error as Error).message}`, { cause: error });
  }
  const hostKey = readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  const configFile = dir.join("sshd_config");
  let port = 0;
  let child: ProcessHandle | undefined;

  const launch = async (): Promise<ProcessHandle> => {
    writeFileSync(
      configFile,
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${hostKeyFile}`,
        "PidFile none",
        `AuthorizedKeysFile ${dir.join("authorized_keys")}`,
        // The temp dir lives under /tmp (world-writable), which strict modes refuse.
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin no",
        `AllowUsers ${user}`,
        "Subsystem sftp internal-sftp",
        "MaxStartups 100:30:200",
        "MaxSessions 100",
        "LogLevel INFO",
        ...(options.config ?? []),
        "",
      ].join("\n"),
    );
    return spawnProcess(SSHD, ["-D", "-e", "-f", configFile], {
      name: `sshd:${port}`,
      // A line, not a TCP probe: a probe connection leaves a session process to reap.
      ready: /Server listening on 127\.0\.0\.1 port/,
      readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
    });
  };

  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch();
      break;
    } catch (error) {
      const portTaken = error instanceof TestkitError && error.output.some((line) => /Address already in use/i.test(line));
      if (!portTaken || attempt >= 3) {
        removeUser(user);
        dir.remove();
        throw error;
      }
    }
  }

  const killAll = async () => {
    const listener = child;
    // Deepest first, each level reaped by its (still living) parent before the next.
    for (const level of sessionsOf(listener?.pid, user).reverse()) {
      for (const pid of level) signalQuietly(pid, "SIGKILL");
      await waitGone(level);
    }
    listener?.kill();
    await listener?.exited;
  };
  let stopping: Promise<void> | undefined;
  return {
    host: "127.0.0.1",
    port,
    user,
    password,
    keyPath,
    hostKey,
    home,
    url: (path = "") => `sftp://${user}@127.0.0.1:${port}${home}${path === "" ? "" : `/${path.replace(/^\/+/, "")}`}`,
    get process() {
      return child!;
    },
    kill: killAll,
    async restart() {
      await killAll();
      child = await launch();
    },
    stop() {
      stopping ??= (async () => {
        await killAll();
        removeUser(user);
        dir.remove();
      })();
      return stopping;
    },
  };
}

function idsOf(user: string): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  const fields = line?.split(":");
  if (fields === undefined || fields.length < 4) throw new Error(`user ${user} is not in /etc/passwd`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/**
 * The processes serving a server's sessions, by depth below the listener: sshd puts each
 * connection in its own session (setsid), so they are not in the listener's process
 * group. Found as the listener's descendants, and by their titles (`sshd: <user> …`,
 * also after reparenting; those come first).
 */
function sessionsOf(listener: number | undefined, user: string): number[][] {
  const parents = new Map<number, number>();
  const titled = new Set<number>();
  for (const name of safeReaddir("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name may contain spaces and parentheses: fields follow the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(pid, ppid);
      const title = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (title.startsWith(`sshd: ${user}`)) titled.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  const levels: number[][] = [];
  let level = listener === undefined ? [] : [listener];
  const seen = new Set(level);
  for (;;) {
    level = [...parents].filter(([pid, ppid]) => level.includes(ppid) && !seen.has(pid)).map(([pid]) => pid);
    if (level.length === 0) break;
    for (const pid of level) seen.add(pid);
    levels.push(level);
  }
  const orphans = [...titled].filter((pid) => !seen.has(pid));
  return orphans.length > 0 ? [orphans, ...levels] : levels;
}

/** Waits (up to a second) until the processes are dead (reaped, or zombies their parent has yet to reap). */
async function waitGone(pids: readonly number[]): Promise<void> {
  const deadline = Date.now() + 1_000;
  while (pids.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function removeUser(user: string): void {
  if (!liveUsers.delete(user) && !userExists(user)) return;
  try {
    // Session processes still running as the user make userdel refuse.
    for (const pid of sessionsOf(undefined, user).flat()) signalQuietly(pid, "SIGKILL");
    execFileSync("/usr/sbin/userdel", [user], { stdio: "ignore" });
  } catch {
    // best effort: a leftover user is removed by the next run (removeStaleUsers)
  }
}

function userExists(user: string): boolean {
  return readFileSync("/etc/passwd", "utf8").includes(`\n${user}:`);
}

/** Users a crashed test run left behind (their process is gone). */
function removeStaleUsers(): void {
  const names = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .map((l) => l.split(":")[0] ?? "")
    .filter((n) => n.startsWith(USER_PREFIX));
  for (const name of names) {
    const pid = Number(/^sqlrep-sftp-(\d+)-\d+$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && !alive(pid)) {
      liveUsers.add(name);
      removeUser(name);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const user of [...liveUsers]) removeUser(user);
  });
}
