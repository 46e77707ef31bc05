/*
 * The @sqlrep/ltx addon: LZ4 blocks decoded into the caller's buffer, a run of pages in
 * one call or one block at a time (lz4-napi takes one call and one new Buffer per block),
 * and CRC-64 register updates (carry-less multiplies where the CPU has them), a run's
 * pages in one call.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>

#include "crc64.h"
#include "lz4-block.h"

#define CHECK(call)                                     \
  do {                                                  \
    if ((call) != napi_ok) return throw_error(env, #call); \
  } while (0)

static napi_value throw_error(napi_env env, const char *what) {
  napi_throw_error(env, "ERR_SQLREP_LTX_NATIVE", what);
  return NULL;
}

/* A Uint8Array's or Int32Array's bytes; false (with an exception pending) when `value` is not one. */
static int typed_bytes(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  if (napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok) return 0;
  return type == want;
}

/*
 * decodeBlocks(src: Uint8Array, blocks: Int32Array, dst: Uint8Array, pageSize: number): number
 * `blocks` holds [start, end) pairs of LZ4 blocks in `src`; block i decodes to
 * dst[i × pageSize, (i + 1) × pageSize) and must fill it exactly. Returns how many blocks
 * decoded (all of them, or the index of the first that failed: the caller decodes that
 * one again with the JavaScript decoder to say exactly what is wrong and where).
 */
static napi_value decode_blocks(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_error(env, "decodeBlocks(src, blocks, dst, pageSize): 4 arguments expected");
  void *src;
  void *blocks;
  void *dst;
  size_t src_len, block_count, dst_len;
  if (!typed_bytes(env, argv[0], napi_uint8_array, &src, &src_len)) return throw_error(env, "decodeBlocks: src must be a Uint8Array");
  if (!typed_bytes(env, argv[1], napi_int32_array, &blocks, &block_count)) return throw_error(env, "decodeBlocks: blocks must be an Int32Array");
  if (!typed_bytes(env, argv[2], napi_uint8_array, &dst, &dst_len)) return throw_error(env, "decodeBlocks: dst must be a Uint8Array");
  int64_t page_size;
  CHECK(napi_get_value_int64(env, argv[3], &page_size));
  if (page_size <= 0 || block_count % 2 != 0) return throw_error(env, "decodeBlocks: pageSize must be positive and blocks hold pairs");
  const size_t n = block_count / 2;
  const int32_t *pairs = blocks;
  size_t done = 0;
  for (; done < n; done++) {
    const int32_t start = pairs[2 * done];
    const int32_t end = pairs[2 * done + 1];
    const size_t out = done * (size_t)page_size;
    if (start < 0 || end < start || (size_t)end > src_len || out + (size_t)page_size > dst_len) break;
    const ptrdiff_t got = lz4_decode_block((const uint8_t *)src + start, (size_t)(end - start), (uint8_t *)dst + out, (size_t)page_size, 0);
    if (got != page_size) break;
  }
  napi_value result;
  CHECK(napi_create_uint32(env, (uint32_t)done, &result));
  return result;
}

/* An integer argument as a size_t; -1 when it is not a non-negative integer. */
static int64_t index_arg(napi_env env, napi_value value) {
  int64_t v;
  if (napi_get_value_int64(env, value, &v) != napi_ok || v < 0) return -1;
  return v;
}

/*
 * decodeInto(src, sp, send, dst, dp, dend, history): number
 * Decodes the block src[sp, send) into dst[dp, dend); matches may reach back to
 * dst[history]. Returns the end of the output in dst, or -1 when the block is malformed
 * (the caller's JavaScript decoder then says what is wrong and where).
 */
static napi_value decode_into(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return throw_error(env, "decodeInto(src, sp, send, dst, dp, dend, history): 7 arguments expected");
  void *src;
  void *dst;
  size_t src_len, dst_len;
  if (!typed_bytes(env, argv[0], napi_uint8_array, &src, &src_len)) return throw_error(env, "decodeInto: src must be a Uint8Array");
  if (!typed_bytes(env, argv[3], napi_uint8_array, &dst, &dst_len)) return throw_error(env, "decodeInto: dst must be a Uint8Array");
  const int64_t sp = index_arg(env, argv[1]), send = index_arg(env, argv[2]);
  const int64_t dp = index_arg(env, argv[4]), dend = index_arg(env, argv[5]), history = index_arg(env, argv[6]);
  if (sp < 0 || send < sp || (uint64_t)send > src_len || history < 0 || dp < history || dend < dp || (uint64_t)dend > dst_len) {
    return throw_error(env, "decodeInto: ranges outside their buffers");
  }
  const ptrdiff_t got = lz4_decode_block((const uint8_t *)src + sp, (size_t)(send - sp), (uint8_t *)dst + dp, (size_t)(dend - dp), (size_t)(dp - history));
  napi_value result;
  CHECK(napi_create_int64(env, got < 0 ? -1 : dp + got, &result));
  return result;
}

/* A count or size argument: an integer in [0, 2^53); -1 when it is anything else. */
static int64_t count_arg(napi_env env, napi_value value) {
  double v;
  if (napi_get_value_double(env, value, &v) != napi_ok || !(v >= 0 && v < 9007199254740992.0) || (double)(int64_t)v != v) return -1;
  return (int64_t)v;
}

/* A 64-bit register from its signed 32-bit halves, as the JavaScript side holds it. */
static int register_arg(napi_env env, napi_value low, napi_value high, uint64_t *reg) {
  int32_t l, h;
  if (napi_get_value_int32(env, low, &l) != napi_ok || napi_get_value_int32(env, high, &h) != napi_ok) return 0;
  *reg = (uint64_t)(uint32_t)h << 32 | (uint32_t)l;
  return 1;
}

static void store_register(int32_t *out, uint64_t reg) {
  out[0] = (int32_t)(uint32_t)reg;
  out[1] = (int32_t)(uint32_t)(reg >> 32);
}

/* A register update of `name`(l, h, data, out) through `update`: the arguments checked, the result into out[0], out[1]. */
static napi_value register_update(napi_env env, napi_callback_info info, const char *name, uint64_t (*update)(uint64_t, const uint8_t *, size_t)) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char message[96];
  uint64_t reg;
  void *data;
  void *out;
  size_t data_len, out_len;
  if (argc < 4) {
    snprintf(message, sizeof message, "%s(l, h, data, out): 4 arguments expected", name);
    return throw_error(env, message);
  }
  if (!register_arg(env, argv[0], argv[1], &reg)) {
    snprintf(message, sizeof message, "%s: l and h must be numbers", name);
    return throw_error(env, message);
  }
  if (!typed_bytes(env, argv[2], napi_uint8_array, &data, &data_len)) {
    snprintf(message, sizeof message, "%s: data must be a Uint8Array", name);
    return throw_error(env, message);
  }
  if (!typed_bytes(env, argv[3], napi_int32_array, &out, &out_len) || out_len < 2) {
    snprintf(message, sizeof message, "%s: out must be an Int32Array of 2 or more", name);
    return throw_error(env, message);
  }
  store_register(out, update(reg, data, data_len));
  return NULL;
}

/*
 * crc64(l: number, h: number, data: Uint8Array, out: Int32Array): void
 * The CRC-64 register (l, h: its low and high halves) after feeding `data`, into out[0]
 * (low) and out[1] (high): the package's crcRegister.
 */
static napi_value crc64_register(napi_env env, napi_callback_info info) {
  return register_update(env, info, "crc64", crc64_update);
}

/*
 * crc64Table(l, h, data, out): crc64 through the table kernel whatever the CPU (what runs
 * without PCLMULQDQ), so that tests check it on every machine.
 */
static napi_value crc64_table(napi_env env, napi_callback_info info) {
  return register_update(env, info, "crc64Table", crc64_update_table);
}

/*
 * crc64Pages(data: Uint8Array, count: number, pageSize: number, out: Int32Array): void
 * For i < count, the register of page i (data[i × pageSize, (i + 1) × pageSize)) fed
 * to a zero register, into out[2i] (low) and out[2i + 1] (high).
 */
static napi_value crc64_pages(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_error(env, "crc64Pages(data, count, pageSize, out): 4 arguments expected");
  void *data;
  void *out;
  size_t data_len, out_len;
  if (!typed_bytes(env, argv[0], napi_uint8_array, &data, &data_len)) return throw_error(env, "crc64Pages: data must be a Uint8Array");
  if (!typed_bytes(env, argv[3], napi_int32_array, &out, &out_len)) return throw_error(env, "crc64Pages: out must be an Int32Array");
  const int64_t count = count_arg(env, argv[1]);
  const int64_t page_size = count_arg(env, argv[2]);
  if (count < 0 || page_size <= 0) return throw_error(env, "crc64Pages: count must be an integer >= 0 and pageSize one > 0");
  /* Divisions, not products: nothing here can overflow. */
  if ((uint64_t)count > data_len / (uint64_t)page_size || (uint64_t)count > out_len / 2) {
    return throw_error(env, "crc64Pages: count pages do not fit in data, or their registers in out");
  }
  const uint8_t *p = data;
  int32_t *regs = out;
  for (size_t i = 0; i < (size_t)count; i++, p += page_size) store_register(regs + 2 * i, crc64_update(0, p, (size_t)page_size));
  return NULL;
}

/* crc64Kernel(): "pclmul" or "table", the kernel crc64 and crc64Pages use here. */
static napi_value crc64_kernel_name(napi_env env, napi_callback_info info) {
  napi_value result;
  CHECK(napi_create_string_utf8(env, crc64_kernel(), NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  crc64_init();
  static const struct {
    const char *name;
    napi_callback fn;
  } functions[] = {
      {"decodeBlocks", decode_blocks}, {"decodeInto", decode_into}, {"crc64", crc64_register},
      {"crc64Pages", crc64_pages},     {"crc64Table", crc64_table}, {"crc64Kernel", crc64_kernel_name},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    CHECK(napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn));
    CHECK(napi_set_named_property(env, exports, functions[i].name, fn));
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
