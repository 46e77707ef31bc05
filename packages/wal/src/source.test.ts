/** Tests of caller-supplied byte sources under the WAL and journal readers: I/O errors, bad sizes, abort, short and long reads. */
import { describe, expect, it } from "vitest";
import { readJournalSync } from "./journal.js";
import type { ByteSource } from "./source.js";
import { encodeWal } from "./wal-format.js";
import { readWalHeader, readWalPageSync, scanWal, scanWalSync } from "./wal-reader.js";

const wal = encodeWal({ pageSize: 512, salt1: 1, salt2: 2 }, [{ pages: [{ pgno: 1, data: new Uint8Array(512).fill(1) }], commit: 1 }]);

describe("caller-supplied sources", () => {
  it("a failing readAt becomes a WalError `io` with the cause, the file and the offset", async () => {
    const cause = new Error("EIO");
    const source: ByteSource = {
      size: wal.length,
      readAt: async () => {
        throw cause;
      },
    };
    await expect(scanWal(source, { file: "db-wal" })).rejects.toMatchObject({ name: "WalError", code: "io", cause, file: "db-wal", offset: 0 });
    expect(() => scanWalSync({ size: wal.length, readAt: () => "nope" as unknown as Uint8Array })).toThrow(expect.objectContaining({ code: "io" }));
  });

  it("an impossible size is an `invalid-argument`", () => {
    for (const size of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2, Number.NaN]) {
      expect(() => scanWalSync({ size, readAt: (o, l) => wal.subarray(o, o + l) })).toThrow(expect.objectContaining({ code: "invalid-argument" }));
    }
  });

  it("an aborted signal stops the operation with `aborted` and the reason as cause", async () => {
    const controller = new AbortController();
    controller.abort(new Error("shutdown"));
    await expect(readWalHeader(wal, { signal: controller.signal })).rejects.toMatchObject({ code: "aborted", cause: controller.signal.reason });
    expect(() => [...readJournalSync(wal, { signal: controller.signal })]).toThrow(expect.objectContaining({ code: "aborted" }));
  });

  it("short reads are the end of the file, longer ones are cut to what was asked", () => {
    const generous = { size: wal.length, readAt: (o: number) => wal.subarray(o) };
    expect(scanWalSync(generous).transactions.length).toBe(1);
    // The file shrank after its size was taken: the scan ends where the bytes end.
    const shrunk = { size: wal.length, readAt: (o: number, l: number) => wal.subarray(o, Math.min(o + l, wal.length - 100)) };
    expect(scanWalSync(shrunk)).toMatchObject({ transactions: [], stop: { offset: 32, reason: "partial-frame" } });
    expect(() => readWalPageSync(shrunk, 32, 512)).toThrow(expect.objectContaining({ code: "truncated" }));
    expect(() => readWalPageSync(wal, 10, 512)).toThrow(expect.objectContaining({ code: "invalid-argument" }));
    expect(() => readWalPageSync(wal, 32, 500)).toThrow(expect.objectContaining({ code: "invalid-page-size" }));
  });

  it("validates scan options", () => {
    expect(() => scanWalSync(wal, { readSize: 0 })).toThrow(expect.objectContaining({ code: "invalid-argument" }));
    expect(() => scanWalSync(wal, { maxBytes: 0 })).toThrow(expect.objectContaining({ code: "invalid-argument" }));
    const bad = { offset: 32, salt1: -1, salt2: 2, checksum1: 0, checksum2: 0 };
    expect(() => scanWalSync(wal, { from: bad })).toThrow(expect.objectContaining({ code: "invalid-argument" }));
  });
});
