/*
 * CRC-64/GO-ISO register updates (see crc64.h): the checksum of every LTX page. On x86-64
 * CPUs with PCLMULQDQ the input is folded 64 bytes at a time with carry-less multiplies;
 * elsewhere (other CPUs, compilers without per-function targets) a slicing-by-8 table
 * loop runs, the same algorithm as the package's JavaScript fallback.
 *
 * Bit order. The CRC is reflected: a 64-bit register value v stands for the polynomial
 * whose x^(63-b) coefficient is bit b of v (bit 63 is x^0), and the first bit of the
 * input is the lowest bit of its first byte. Feeding bytes D (a polynomial, first bit
 * highest) to a register R gives (R·x^|D| + D·x^64) mod P, P = x^64 + x^4 + x^3 + x + 1.
 * Every constant below is derived here from P at load time.
 */
#include "crc64.h"

#if !defined(CRC64_PORTABLE_ONLY) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__has_attribute)
#if __has_attribute(target)
#define CRC64_CLMUL 1
#endif
#endif

#ifdef CRC64_CLMUL
#include <cpuid.h>
#include <immintrin.h>
#define CLMUL_TARGET __attribute__((target("pclmul,sse4.1")))
#endif

/* P's terms below x^64 (x^4 + x^3 + x + 1), reflected: x^0 at bit 63. */
#define POLY UINT64_C(0xD800000000000000)

/* table[t][i]: the register left by byte i from a zero register, then t zero bytes. */
static uint64_t table[8][256];
static int ready;
static uint64_t (*kernel)(uint64_t, const uint8_t *, size_t);
static const char *kernel_name = "table";

/* Eight bytes, little-endian whatever the host (compilers turn this into one load where they can). */
static uint64_t load_le64(const uint8_t *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
         (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* The register after eight bytes whose XOR with the register is x: byte k of x still has 7 - k bytes to go. */
static uint64_t slice8(uint64_t x) {
  return table[7][x & 0xff] ^ table[6][(x >> 8) & 0xff] ^ table[5][(x >> 16) & 0xff] ^ table[4][(x >> 24) & 0xff] ^ table[3][(x >> 32) & 0xff] ^
         table[2][(x >> 40) & 0xff] ^ table[1][(x >> 48) & 0xff] ^ table[0][x >> 56];
}

uint64_t crc64_update_table(uint64_t reg, const uint8_t *p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) reg = slice8(reg ^ load_le64(p));
  for (; n > 0; p++, n--) reg = table[0][(reg ^ *p) & 0xff] ^ (reg >> 8);
  return reg;
}

#ifdef CRC64_CLMUL
/* x^n mod P, reflected: x^0 is bit 63, and multiplying by x is a right shift (x^64 → POLY). */
static uint64_t x_pow(unsigned n) {
  uint64_t v = UINT64_C(1) << 63;
  while (n-- > 0) v = (v & 1) ? (v >> 1) ^ POLY : v >> 1;
  return v;
}

/*
 * Folding constants: fold[j] moves a 16-byte accumulator forward by D = 128·(j + 1) bits.
 * The accumulator A (128 bits, reflected, its low qword the earlier 8 bytes) is
 * lo·x^64 + hi, so A·x^D = lo·x^(D+64) + hi·x^D. A carry-less multiply of two reflected
 * 64-bit values yields their reflected product times x (the 127-bit product sits one
 * place low in 128 bits), hence the constants x^(D+63) for lo and x^(D-1) for hi, both
 * reduced mod P: the sum stays congruent, which is all the final reduction needs.
 */
static uint64_t fold_lo[4], fold_hi[4];

CLMUL_TARGET static inline __m128i fold(__m128i a, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00), _mm_clmulepi64_si128(a, k, 0x11));
}

CLMUL_TARGET static inline __m128i constant(int j) {
  return _mm_set_epi64x((long long)fold_hi[j], (long long)fold_lo[j]);
}

CLMUL_TARGET static inline __m128i load128(const uint8_t *p) {
  return _mm_loadu_si128((const __m128i *)(const void *)p);
}

CLMUL_TARGET static uint64_t update_clmul(uint64_t reg, const uint8_t *p, size_t n) {
  if (n < 64) return crc64_update_table(reg, p, n);
  /* Four accumulators over 64-byte strides; the register joins the first 8 bytes (R·x^64 + D). */
  __m128i a0 = _mm_xor_si128(load128(p), _mm_cvtsi64_si128((long long)reg));
  __m128i a1 = load128(p + 16);
  __m128i a2 = load128(p + 32);
  __m128i a3 = load128(p + 48);
  p += 64;
  n -= 64;
  const __m128i k512 = constant(3);
  for (; n >= 64; p += 64, n -= 64) {
    a0 = _mm_xor_si128(fold(a0, k512), load128(p));
    a1 = _mm_xor_si128(fold(a1, k512), load128(p + 16));
    a2 = _mm_xor_si128(fold(a2, k512), load128(p + 32));
    a3 = _mm_xor_si128(fold(a3, k512), load128(p + 48));
  }
  /* Into one accumulator: a0 is 48 bytes before a3's place, a1 32, a2 16. */
  const __m128i k128 = constant(0);
  __m128i a = _mm_xor_si128(_mm_xor_si128(fold(a0, constant(2)), fold(a1, constant(1))), _mm_xor_si128(fold(a2, k128), a3));
  for (; n >= 16; p += 16, n -= 16) a = _mm_xor_si128(fold(a, k128), load128(p));
  /* The register is A·x^64 mod P: A's 16 bytes fed to a zero register. Then the tail. */
  reg = slice8((uint64_t)_mm_cvtsi128_si64(a));
  reg = slice8(reg ^ (uint64_t)_mm_extract_epi64(a, 1));
  return crc64_update_table(reg, p, n);
}
#endif

#if defined(__GNUC__) || defined(__clang__)
/* At load time, before any thread can call in; the addon's init calls it again (a no-op) for other compilers. */
__attribute__((constructor))
#endif
void crc64_init(void) {
  if (ready) return;
  for (unsigned i = 0; i < 256; i++) {
    uint64_t v = i;
    for (int bit = 0; bit < 8; bit++) v = (v & 1) ? (v >> 1) ^ POLY : v >> 1;
    table[0][i] = v;
  }
  for (int t = 1; t < 8; t++) {
    for (unsigned i = 0; i < 256; i++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
  }
  kernel = crc64_update_table;
#ifdef CRC64_CLMUL
  for (int j = 0; j < 4; j++) {
    const unsigned d = 128 * (unsigned)(j + 1);
    fold_lo[j] = x_pow(d + 63);
    fold_hi[j] = x_pow(d - 1);
  }
  /* CPUID leaf 1 directly (older GCCs' __builtin_cpu_supports does not know "pclmul"). */
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_PCLMUL) && (ecx & bit_SSE4_1)) {
    kernel = update_clmul;
    kernel_name = "pclmul";
  }
#endif
  ready = 1;
}

uint64_t crc64_update(uint64_t reg, const uint8_t *p, size_t n) {
  return kernel(reg, p, n);
}

const char *crc64_kernel(void) {
  return kernel_name;
}
