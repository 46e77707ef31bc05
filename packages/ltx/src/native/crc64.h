/* CRC-64/GO-ISO register updates for the addon: carry-less multiply folding where the CPU has it, tables elsewhere. */
#ifndef SQLREP_CRC64_H
#define SQLREP_CRC64_H

#include <stddef.h>
#include <stdint.h>

/*
 * Builds the tables and picks the kernel for this CPU. Idempotent; the addon's init calls
 * it (with GCC or Clang it has already run when the library was loaded).
 */
void crc64_init(void);

/*
 * The CRC register after feeding p[0, n) to a register holding `reg`. The register is
 * the inverted state of CRC-64/GO-ISO (reflected polynomial 0xD800000000000000):
 * start from ~0 and invert at the end for the checksum, or start from 0 to get the
 * part of a later register that only depends on the bytes (CRC-64 is linear).
 */
uint64_t crc64_update(uint64_t reg, const uint8_t *p, size_t n);

/* The same through the table kernel only: what runs on CPUs without PCLMULQDQ (for tests). */
uint64_t crc64_update_table(uint64_t reg, const uint8_t *p, size_t n);

/* The kernel crc64_update uses here: "pclmul" or "table". */
const char *crc64_kernel(void);

#endif
