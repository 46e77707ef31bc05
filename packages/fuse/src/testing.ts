// The `@sqlrep/fuse/testing` entry: helpers for the tests of packages that mount it. The
// lock helper is C (Node has no fcntl), compiled once per content with the system cc.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FuseError } from "./errors.js";

/** src/testing/lockctl.c, from src/ and dist/ alike (both sit one level under the package). */
const LOCKCTL_SOURCE = fileURLToPath(new URL("../src/testing/lockctl.c", import.meta.url));

/**
 * Path of `lockctl`, a process that drives fcntl locks (POSIX and OFD) on one file from
 * stdin commands: `open rw|ro|append`, `F_SETLK|F_SETLKW|F_OFD_SETLK|F_OFD_SETLKW r|w|u
 * <start> <len>`, `getlk|ofd-getlk r|w <start> <len>`, `close`, `exit`; each answered on a
 * line ("ok", "err <errno>", "getlk <u|r|w> <start> <len> <pid>"). Built with `cc` into the
 * temp directory on first use and reused while its source is unchanged; throws
 * `FuseError("native-unavailable")` when it cannot be built.
 */
export function lockctlBinary(): string {
  let source: Buffer;
  try {
    source = readFileSync(LOCKCTL_SOURCE);
  } catch (err) {
    throw new FuseError("native-unavailable", `the lock helper's source ${LOCKCTL_SOURCE} cannot be read`, { cause: err, file: LOCKCTL_SOURCE });
  }
  const digest = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `sqlrep-lockctl-${process.getuid?.() ?? "user"}`);
  const binary = join(dir, `lockctl-${digest}`);
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  // test files run in parallel: compile apart, then rename into place at once
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync("cc", ["-O1", "-o", partial, LOCKCTL_SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(partial, binary);
  } catch (err) {
    rmSync(partial, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new FuseError("native-unavailable", `cannot compile the lock helper ${LOCKCTL_SOURCE} with cc: ${stderr || (err as Error).message}`, {
      cause: err,
      file: LOCKCTL_SOURCE,
    });
  }
  return binary;
}
