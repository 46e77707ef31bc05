/** Unit test that ZeroPageChecksums equals pageChecksum of a real zero page for any page number and size. */
import { describe, expect, it } from "vitest";
import { pageChecksum } from "./checksum.js";
import { Rng } from "./testing/random.js";
import { ZeroPageChecksums } from "./zero-page.js";

describe("ZeroPageChecksums", () => {
  it("equals pageChecksum of a zero page for any pgno and page size", () => {
    const rng = new Rng(7);
    for (const pageSize of [512, 1024, 4096, 65536]) {
      const zeros = new ZeroPageChecksums(pageSize);
      const page = new Uint8Array(pageSize);
      for (const pgno of [1, 2, 3, 255, 256, 65536, 262145, 0xffffffff, rng.next(), rng.next()]) {
        expect(zeros.checksum(pgno)).toBe(pageChecksum(pgno, page));
      }
    }
  });
});
