// The state file the shim maps read-only: the current version (what a new read
// transaction sees) behind a sequence lock, and a heartbeat. Written with pwrite, which
// Linux makes visible through every MAP_SHARED mapping of the same file at once, so a
// read transaction starts without a round trip to this process.
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { encodeState, STATE_SIZE, type WireState } from "./protocol.js";

/** Bytes of the file (one page). */
export const STATE_FILE_SIZE = 4096;
const STATE_AT = 8;
const ALIVE_AT = 136;
const PID_AT = 144;

/** Publishes states into the file at `path` (created or reused in place: mappings stay valid). */
export class StateFile {
  private readonly fd: number;
  private seq = 0n;
  private readonly seqBuf = Buffer.alloc(8);
  private readonly body = Buffer.alloc(STATE_SIZE);
  private readonly alive = Buffer.alloc(8);

  constructor(readonly path: string) {
    this.fd = openSync(path, "a+");
    closeSync(this.fd);
    // Reopened read-write without truncating: a shim may have the inode mapped already.
    this.fd = openSync(path, "r+");
    ftruncateSync(this.fd, STATE_FILE_SIZE);
    const pid = Buffer.alloc(4);
    pid.writeUInt32BE(process.pid);
    writeSync(this.fd, pid, 0, 4, PID_AT);
    this.heartbeat();
  }

  /** Makes `state` what new read transactions see. */
  publish(state: WireState): void {
    encodeState(state, this.body);
    this.writeSeq(++this.seq * 2n - 1n); // odd: being written
    writeSync(this.fd, this.body, 0, STATE_SIZE, STATE_AT);
    this.writeSeq(this.seq * 2n); // even: stable
  }

  /** Tells shims the server is alive (they ping it when this goes stale). */
  heartbeat(): void {
    this.alive.writeBigUInt64BE(BigInt(Date.now()));
    writeSync(this.fd, this.alive, 0, 8, ALIVE_AT);
  }

  close(): void {
    this.alive.writeBigUInt64BE(0n);
    writeSync(this.fd, this.alive, 0, 8, ALIVE_AT);
    closeSync(this.fd);
  }

  private writeSeq(value: bigint): void {
    this.seqBuf.writeBigUInt64BE(value);
    writeSync(this.fd, this.seqBuf, 0, 8, 0);
  }
}
