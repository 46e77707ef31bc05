/*
 * LZ4 block decoding in C. lz4-napi decodes one block per call and allocates a Buffer for
 * each, which costs more than the decoding for 4 KiB pages; this decoder runs over a
 * whole run of pages in one call, writing into the caller's memory. Every read and write
 * is checked against its buffer's end, since the input is untrusted (a replica's bytes).
 */
#include "lz4-block.h"

#include <string.h>

/* Reads an LZ4 length extension (bytes of 255 continue it); SIZE_MAX when it runs off the input. */
static size_t read_length(const uint8_t **ip, const uint8_t *iend, size_t length) {
  for (;;) {
    if (*ip >= iend) return SIZE_MAX;
    uint8_t b = *(*ip)++;
    length += b;
    if (length > ((size_t)1 << 31)) return SIZE_MAX; /* more than any block we accept */
    if (b != 255) return length;
  }
}

ptrdiff_t lz4_decode_block(const uint8_t *src, size_t srcLen, uint8_t *dst, size_t dstCap, size_t history) {
  const uint8_t *ip = src;
  const uint8_t *const iend = src + srcLen;
  uint8_t *op = dst;
  uint8_t *const oend = dst + dstCap;
  if (srcLen == 0) return -1;
  for (;;) {
    if (ip >= iend) return -1;
    const uint8_t token = *ip++;
    size_t lit = token >> 4;
    if (lit == 15 && (lit = read_length(&ip, iend, lit)) == SIZE_MAX) return -1;
    if ((size_t)(iend - ip) < lit || (size_t)(oend - op) < lit) return -1;
    if ((size_t)(iend - ip) >= lit + 16 && (size_t)(oend - op) >= lit + 16) {
      /* Room past both ends: copy whole 16-byte chunks; the overshoot is overwritten next. */
      for (size_t i = 0; i < lit; i += 16) memcpy(op + i, ip + i, 16);
    } else {
      memcpy(op, ip, lit);
    }
    ip += lit;
    op += lit;
    /* The last sequence is literals only: the block ends exactly here. */
    if (ip == iend) return op - dst;
    if (iend - ip < 2) return -1;
    const size_t offset = (size_t)ip[0] | ((size_t)ip[1] << 8);
    ip += 2;
    if (offset == 0 || offset > (size_t)(op - dst) + history) return -1;
    size_t match = token & 15;
    if (match == 15 && (match = read_length(&ip, iend, match)) == SIZE_MAX) return -1;
    match += 4;
    if ((size_t)(oend - op) < match) return -1;
    const uint8_t *from = op - offset;
    if (offset >= 16 && (size_t)(oend - op) >= match + 16) {
      for (size_t i = 0; i < match; i += 16) memcpy(op + i, from + i, 16);
    } else if (offset >= match) {
      memcpy(op, from, match);
    } else {
      /*
       * The match overlaps its own output: it repeats the last `offset` bytes. Each copy
       * doubles the span holding the pattern, so at most log2(match) copies.
       */
      size_t done = 0;
      size_t span = offset;
      while (done < match) {
        size_t n = match - done < span ? match - done : span;
        memcpy(op + done, from, n);
        done += n;
        span *= 2;
      }
    }
    op += match;
  }
}
