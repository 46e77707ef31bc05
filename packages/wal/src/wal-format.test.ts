/** Unit tests of the WAL format: the checksum, header round trips and what SQLite's recovery rejects, and WalEncoder's frames. */
import { describe, expect, it } from "vitest";
import { isWalError, WalError } from "./errors.js";
import { walChecksum } from "./wal-checksum.js";
import { decodeWalFrameHeader, decodeWalHeader, encodeWal, encodeWalHeader, WAL_FORMAT_VERSION, WAL_MAGIC_BE, WAL_MAGIC_LE, WalEncoder, walFrameSize } from "./wal-format.js";
import { scanWalSync } from "./wal-reader.js";

const page = (byte: number, size = 512): Uint8Array => new Uint8Array(size).fill(byte);
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (isWalError(err)) return err.code;
    throw err;
  }
  return undefined;
};

describe("walChecksum", () => {
  it("adds word pairs Fletcher-style in the byte order the magic selects", () => {
    const data = Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0);
    // Little-endian words 1 and 2: s1 = 0 + 1 + 0, s2 = 0 + 2 + s1.
    expect(walChecksum(data, false)).toEqual([1, 3]);
    // Big-endian words 0x01000000 and 0x02000000.
    expect(walChecksum(data, true)).toEqual([0x01000000, 0x03000000]);
  });

  it("wraps modulo 2^32 like C's u32 and continues from a seed", () => {
    const ones = new Uint8Array(8).fill(0xff);
    expect(walChecksum(ones, true, [0xffffffff, 0xffffffff])).toEqual([0xfffffffd, 0xfffffffb]);
    const two = new Uint8Array(16).map((_, i) => i * 17);
    const whole = walChecksum(two, false);
    expect(walChecksum(two.subarray(8), false, walChecksum(two.subarray(0, 8), false))).toEqual(whole);
  });

  it("refuses input that is not whole 8-byte units", () => {
    expect(code(() => walChecksum(new Uint8Array(12), false))).toBe("invalid-argument");
  });
});

describe("WAL header", () => {
  for (const bigEndian of [false, true]) {
    it(`round-trips with a ${bigEndian ? "big" : "little"}-endian checksum`, () => {
      const bytes = encodeWalHeader({ pageSize: 65536, salt1: 0xdeadbeef, salt2: 7, checkpointSequence: 3, bigEndian });
      const h = decodeWalHeader(bytes);
      expect(h).toMatchObject({
        magic: bigEndian ? WAL_MAGIC_BE : WAL_MAGIC_LE,
        bigEndian,
        version: WAL_FORMAT_VERSION,
        pageSize: 65536,
        checkpointSequence: 3,
        salt1: 0xdeadbeef,
        salt2: 7,
      });
      expect([h.checksum1, h.checksum2]).toEqual(walChecksum(bytes.subarray(0, 24), bigEndian));
    });
  }

  it("rejects what SQLite's recovery rejects", () => {
    const good = encodeWalHeader({ pageSize: 4096, salt1: 1, salt2: 2 });
    const mutate = (at: number, value: number): Uint8Array => {
      const b = good.slice();
      new DataView(b.buffer).setUint32(at, value, false);
      return b;
    };
    expect(code(() => decodeWalHeader(mutate(0, 0x377f0684)))).toBe("invalid-magic");
    expect(code(() => decodeWalHeader(mutate(4, 3007001)))).toBe("invalid-header");
    expect(code(() => decodeWalHeader(mutate(8, 1000)))).toBe("invalid-page-size");
    expect(code(() => decodeWalHeader(mutate(8, 131072)))).toBe("invalid-page-size");
    expect(code(() => decodeWalHeader(mutate(16, 9)))).toBe("header-checksum-mismatch");
    expect(code(() => decodeWalHeader(good.subarray(0, 31)))).toBe("truncated");
    const err = (() => {
      try {
        decodeWalHeader(mutate(16, 9), "x.db-wal");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WalError);
    expect(err).toMatchObject({ file: "x.db-wal", offset: 24 });
  });
});

describe("WalEncoder and encodeWal", () => {
  for (const bigEndian of [false, true]) {
    it(`writes frames the reader verifies (${bigEndian ? "big" : "little"}-endian)`, () => {
      const wal = encodeWal({ pageSize: 512, salt1: 10, salt2: 20, bigEndian }, [
        {
          pages: [
            { pgno: 1, data: page(1) },
            { pgno: 2, data: page(2) },
          ],
          commit: 2,
        },
        {
          pages: [
            { pgno: 2, data: page(3) },
            { pgno: 3, data: page(4) },
            { pgno: 2, data: page(5) },
          ],
          commit: 3,
        },
      ]);
      const scan = scanWalSync(wal);
      expect(scan.stop.reason).toBe("end-of-file");
      expect(scan.transactions.map((t) => [t.start, t.end, t.frameCount, t.commit, [...t.pages]])).toEqual([
        [
          32,
          32 + 2 * 536,
          2,
          2,
          [
            [1, 32],
            [2, 32 + 536],
          ],
        ],
        [
          32 + 2 * 536,
          32 + 5 * 536,
          3,
          3,
          [
            [2, 32 + 4 * 536],
            [3, 32 + 3 * 536],
          ],
        ],
      ]);
      const frame = decodeWalFrameHeader(wal, 32 + 536);
      expect(frame).toMatchObject({ pgno: 2, commit: 2, salt1: 10, salt2: 20 });
    });
  }

  it("carries the running checksum and offset", () => {
    const enc = new WalEncoder({ pageSize: 1024, salt1: 1, salt2: 2 });
    expect(enc.checksum).toEqual([enc.header.checksum1, enc.header.checksum2]);
    const f = enc.frame(7, page(9, 1024), 7);
    expect(f.length).toBe(walFrameSize(1024));
    expect(enc.offset).toBe(32 + 1048);
    const h = decodeWalFrameHeader(f);
    expect(enc.checksum).toEqual([h.checksum1, h.checksum2]);
  });

  it("refuses impossible frames", () => {
    const enc = new WalEncoder({ pageSize: 512, salt1: 1, salt2: 2 });
    expect(code(() => enc.frame(0, page(0)))).toBe("invalid-argument");
    expect(code(() => enc.frame(1, page(0, 1024)))).toBe("invalid-argument");
    expect(code(() => enc.frame(2 ** 32, page(0)))).toBe("invalid-argument");
    expect(code(() => encodeWal({ pageSize: 512, salt1: 1, salt2: 2 }, [{ pages: [], commit: 1 }]))).toBe("invalid-argument");
    expect(code(() => encodeWalHeader({ pageSize: 384, salt1: 1, salt2: 2 }))).toBe("invalid-page-size");
  });
});
