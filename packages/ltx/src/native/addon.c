/*
 * The @sqlrep/ltx addon: LZ4 blocks decoded into the caller's buffer, a run of pages in
 * one call or one block at a time (lz4-napi takes one call and one new Buffer per block).
 */
#include <node_api.h>
#include <stdint.h>

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

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  CHECK(napi_create_function(env, "decodeBlocks", NAPI_AUTO_LENGTH, decode_blocks, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "decodeBlocks", fn));
  CHECK(napi_create_function(env, "decodeInto", NAPI_AUTO_LENGTH, decode_into, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "decodeInto", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
