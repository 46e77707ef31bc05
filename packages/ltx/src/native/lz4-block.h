/* A bounds-checked decoder of raw LZ4 blocks (no frame, no dictionary), used by the addon. */
#ifndef SQLREP_LZ4_BLOCK_H
#define SQLREP_LZ4_BLOCK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the LZ4 block src[0, srcLen) into dst[0, dstCap); matches may also reach the
 * `history` bytes before dst (earlier output of a dependent frame block, in the same
 * buffer). Returns the number of bytes written, or -1 when the block is malformed: a
 * length or offset reaching outside the input, the output or its history, a zero
 * offset, or input left over after the last sequence.
 */
ptrdiff_t lz4_decode_block(const uint8_t *src, size_t srcLen, uint8_t *dst, size_t dstCap, size_t history);

#endif
