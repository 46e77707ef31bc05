/** The SFTP requests the store makes, as promises (ssh2 answers with callbacks). */
import type { Attributes, FileEntry, OpenMode, SFTPWrapper } from "ssh2";

/** A remote file's size and modification time (whole seconds: SFTP v3 keeps no more). */
export interface RemoteStat {
  size: number;
  mtimeSeconds: number;
  isDirectory: boolean;
  isFile: boolean;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** The stat of ssh2's attributes. */
export function statOf(attrs: Attributes): RemoteStat {
  const type = (attrs.mode ?? 0) & S_IFMT;
  return { size: attrs.size ?? 0, mtimeSeconds: attrs.mtime ?? 0, isDirectory: type === S_IFDIR, isFile: type === S_IFREG };
}

/** Channels that closed (their connection broke or was ended). */
const closed = new WeakSet<SFTPWrapper>();

/** Marks a channel closed: requests on it fail at once from now on. */
export function markClosed(s: SFTPWrapper): void {
  closed.add(s);
}

/**
 * One request. ssh2 drops a request sent on a channel that has closed without ever
 * answering it (requests pending when it closed do fail): refuse it here instead.
 */
function call<T>(s: SFTPWrapper, run: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  if (closed.has(s)) return Promise.reject(Object.assign(new Error("Not connected: the SFTP channel is closed"), { code: 7 }));
  return new Promise<T>((resolve, reject) => {
    try {
      run((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      // ssh2 throws synchronously on a channel that is already closed.
      reject(err);
    }
  });
}

export const sftpOps = {
  open: (s: SFTPWrapper, path: string, flags: OpenMode, mode?: number) => call<Buffer>(s, (cb) => s.open(path, flags, mode === undefined ? {} : { mode }, cb)),
  close: (s: SFTPWrapper, handle: Buffer) => call<void>(s, (cb) => s.close(handle, cb)),
  read: (s: SFTPWrapper, handle: Buffer, length: number, position: number) =>
    call<Uint8Array>(s, (cb) => {
      const buffer = Buffer.allocUnsafe(length);
      s.read(handle, buffer, 0, length, position, (err, bytes) => cb(err, err ? undefined : new Uint8Array(buffer.buffer, buffer.byteOffset, bytes)));
    }),
  write: (s: SFTPWrapper, handle: Buffer, data: Uint8Array, position: number) =>
    call<void>(s, (cb) => {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      s.write(handle, buffer, 0, buffer.length, position, (err) => cb(err));
    }),
  fstat: (s: SFTPWrapper, handle: Buffer) => call<Attributes>(s, (cb) => s.fstat(handle, cb)).then(statOf),
  stat: (s: SFTPWrapper, path: string) => call<Attributes>(s, (cb) => s.stat(path, cb)).then(statOf),
  readdir: (s: SFTPWrapper, path: string) => call<FileEntry[]>(s, (cb) => s.readdir(path, cb)),
  unlink: (s: SFTPWrapper, path: string) => call<void>(s, (cb) => s.unlink(path, cb)),
  mkdir: (s: SFTPWrapper, path: string) => call<void>(s, (cb) => s.mkdir(path, { mode: 0o755 }, cb)),
  /** Plain SSH_FXP_RENAME: fails when `to` exists (SFTP v3; OpenSSH links then unlinks). */
  rename: (s: SFTPWrapper, from: string, to: string) => call<void>(s, (cb) => s.rename(from, to, cb)),
  /** `posix-rename@openssh.com`: rename(2), replacing `to` atomically. */
  posixRename: (s: SFTPWrapper, from: string, to: string) => call<void>(s, (cb) => s.ext_openssh_rename(from, to, cb)),
  /** `hardlink@openssh.com`: link(2), failing when `to` exists. */
  hardlink: (s: SFTPWrapper, from: string, to: string) => call<void>(s, (cb) => s.ext_openssh_hardlink(from, to, cb)),
  /** `fsync@openssh.com` on an open handle. */
  fsync: (s: SFTPWrapper, handle: Buffer) => call<void>(s, (cb) => s.ext_openssh_fsync(handle, cb)),
  /** Sets access and modification times (whole seconds). */
  setTimes: (s: SFTPWrapper, path: string, seconds: number) => call<void>(s, (cb) => s.setstat(path, { atime: seconds, mtime: seconds }, cb)),
};
