/** Unit tests of LTX file names and positions on the upstream vectors: format, strict parsing, TXIDs beyond the safe range. */
import { describe, expect, it } from "vitest";
import { formatChecksum } from "./checksum.js";
import { isLtxError } from "./errors.js";
import { formatFilename, formatTxid, isLtxFilename, parseFilename, parseTxid } from "./filename.js";
import { formatPos, parsePos, postApplyPos, preApplyPos } from "./pos.js";

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (isLtxError(err)) return err.code;
    throw err;
  }
  return undefined;
};

describe("file names (spec §9.1)", () => {
  it("match the upstream vectors", () => {
    expect(parseFilename("0000000000000001-00000000000003e8.ltx")).toEqual({ minTXID: 1, maxTXID: 1000 });
    expect(formatFilename(1, 1000)).toBe("0000000000000001-00000000000003e8.ltx");
    expect(formatFilename(1, 5)).toBe("0000000000000001-0000000000000005.ltx");
    expect(formatTxid(Number.MAX_SAFE_INTEGER)).toBe("001fffffffffffff");
  });

  it("reject anything but %016x-%016x.ltx", () => {
    for (const name of [
      "0000000000000001-00000000000003E8.ltx",
      "000000000000001-00000000000003e8.ltx",
      "00000000000000001-00000000000003e8.ltx",
      "0000000000000001-00000000000003e8.LTX",
      "0000000000000001-00000000000003e8.ltx.tmp",
      "0000000000000001_00000000000003e8.ltx",
      "dir/0000000000000001-00000000000003e8.ltx",
      " 0000000000000001-00000000000003e8.ltx",
      "",
    ]) {
      expect(
        code(() => parseFilename(name)),
        name,
      ).toBe("invalid-filename");
      expect(isLtxFilename(name)).toBe(false);
    }
  });

  it("reject TXIDs beyond Number.MAX_SAFE_INTEGER with a typed error", () => {
    expect(code(() => parseFilename("0000000000000001-0020000000000000.ltx"))).toBe("unsupported");
    expect(code(() => parseTxid("ffffffffffffffff"))).toBe("unsupported");
    expect(code(() => formatTxid(-1))).toBe("invalid-argument");
    expect(code(() => formatTxid(1.5))).toBe("invalid-argument");
  });
});

describe("Pos", () => {
  it("has the text form txid/checksum (upstream vector)", () => {
    const pos = { txid: 1000, postApplyChecksum: 2000n };
    expect(formatPos(pos)).toBe("00000000000003e8/00000000000007d0");
    expect(parsePos("00000000000003e8/00000000000007d0")).toEqual(pos);
    expect(formatChecksum(1000n)).toBe("00000000000003e8");
    expect(code(() => parsePos("3e8/7d0"))).toBe("invalid-argument");
    expect(code(() => parsePos("00000000000003E8/00000000000007d0"))).toBe("invalid-argument");
  });

  it("is (MinTXID−1, pre-apply) before a file and (MaxTXID, post-apply) after it", () => {
    const header = { minTXID: 5, maxTXID: 9, preApplyChecksum: 7n };
    expect(preApplyPos(header as Parameters<typeof preApplyPos>[0])).toEqual({ txid: 4, postApplyChecksum: 7n });
    expect(postApplyPos(header as Parameters<typeof postApplyPos>[0], { postApplyChecksum: 8n })).toEqual({ txid: 9, postApplyChecksum: 8n });
  });
});
