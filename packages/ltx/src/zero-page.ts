/** Page checksums of all-zero pages without hashing the zeros, so growing a database across a gap costs a few CRCs, not one per page. */
import { CHECKSUM_FLAG } from "./checksum.js";
import { crc64 } from "./crc64.js";

/**
 * Page checksums of all-zero pages without hashing the zeros. The CRC is affine
 * over GF(2): for messages of one length, crc(a ⊕ b) = crc(a) ⊕ crc(b) ⊕ crc(0…0).
 * A zero page's message is `u32be(pgno) ‖ 0^pageSize`, so its CRC is crc(0…0)
 * XOR the contributions of the set bits of pgno, each computed once. Growing a
 * database across a gap (or past the lock page) then costs 33 page-sized CRCs in
 * total instead of one per zero page.
 */
export class ZeroPageChecksums {
  private readonly zero: bigint;
  private readonly bits: bigint[] = [];

  constructor(pageSize: number) {
    const message = new Uint8Array(4 + pageSize);
    this.zero = crc64(message);
    for (let bit = 0; bit < 32; bit++) {
      message.fill(0, 0, 4);
      message[3 - (bit >> 3)] = 1 << (bit & 7);
      this.bits.push(crc64(message) ^ this.zero);
    }
  }

  /** `pageChecksum(pgno, new Uint8Array(pageSize))`. */
  checksum(pgno: number): bigint {
    let crc = this.zero;
    for (let bit = 0; bit < 32; bit++) if ((pgno >>> bit) & 1) crc ^= this.bits[bit]!;
    return CHECKSUM_FLAG | crc;
  }
}
