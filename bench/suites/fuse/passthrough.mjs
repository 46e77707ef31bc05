// The baseline of the fuse suite: a bare passthrough filesystem on fuse-native 2.2.6
// (libfuse 2, every operation handed to JavaScript), with synchronous handlers and no
// per-operation timer, as issue 13 measured it. Locks stay in the kernel (fuse-native
// has no lock operation). Usage: node passthrough.mjs <source dir> <mountpoint>
import fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import Fuse from "fuse-native";

const [source, mountpoint] = process.argv.slice(2);
const real = (path) => join(source, path);
const errno = (err) => -(os.constants.errno[err.code] ?? 5);

// Each handler runs the call synchronously and answers at once: no promise, no timer.
const sync =
  (fn) =>
  (...args) => {
    const cb = args.pop();
    try {
      const out = fn(...args);
      if (Array.isArray(out)) cb(...out);
      else cb(0, out);
    } catch (err) {
      cb(errno(err));
    }
  };
const stat = (s) => ({
  mtime: s.mtime,
  atime: s.atime,
  ctime: s.ctime,
  size: s.size,
  mode: s.mode,
  uid: s.uid,
  gid: s.gid,
  nlink: s.nlink,
  dev: s.dev,
  ino: s.ino,
  blocks: s.blocks,
  blksize: s.blksize,
});

const ops = {
  getattr: sync((path) => stat(fs.lstatSync(real(path)))),
  fgetattr: sync((path, fd) => stat(fs.fstatSync(fd))),
  access: sync((path, mode) => fs.accessSync(real(path), mode)),
  readdir: sync((path) => fs.readdirSync(real(path))),
  open: sync((path, flags) => fs.openSync(real(path), flags & ~fs.constants.O_APPEND)),
  create: sync((path, mode) => fs.openSync(real(path), fs.constants.O_CREAT | fs.constants.O_RDWR, mode)),
  read: (path, fd, buf, len, pos, cb) => {
    try {
      cb(fs.readSync(fd, buf, 0, len, pos));
    } catch (err) {
      cb(errno(err));
    }
  },
  write: (path, fd, buf, len, pos, cb) => {
    try {
      cb(fs.writeSync(fd, buf, 0, len, pos));
    } catch (err) {
      cb(errno(err));
    }
  },
  release: sync((path, fd) => fs.closeSync(fd)),
  flush: sync(() => undefined),
  // fuse-native calls fsync as (path, datasync, fd), unlike its README
  fsync: sync((path, datasync, fd) => (datasync ? fs.fdatasyncSync(fd) : fs.fsyncSync(fd))),
  fsyncdir: sync(() => undefined),
  truncate: sync((path, size) => fs.truncateSync(real(path), size)),
  ftruncate: sync((path, fd, size) => fs.ftruncateSync(fd, size)),
  unlink: sync((path) => fs.unlinkSync(real(path))),
  chown: sync(() => undefined),
  chmod: sync((path, mode) => fs.chmodSync(real(path), mode)),
  utimens: sync(() => undefined),
  mkdir: sync((path, mode) => fs.mkdirSync(real(path), mode)),
  rmdir: sync((path) => fs.rmdirSync(real(path))),
  rename: sync((from, to) => fs.renameSync(real(from), real(to))),
  statfs: sync(() => ({ bsize: 4096, frsize: 4096, blocks: 1e7, bfree: 1e7, bavail: 1e7, files: 1e6, ffree: 1e6, favail: 1e6, fsid: 1, flag: 0, namemax: 255 })),
};

const fuse = new Fuse(mountpoint, ops, { force: true, mkdir: true, timeout: false, kernelCache: true, maxRead: 131072, entryTimeout: 1, attrTimeout: 1, allowOther: true });
fuse.mount((err) => {
  if (err) {
    console.error(`passthrough: mount failed: ${err.message}`);
    process.exit(1);
  }
  console.log(`ready ${mountpoint}`);
});
const stop = () => fuse.unmount(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
