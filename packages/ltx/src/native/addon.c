/*
 * The @sqlrep/ltx addon: LZ4 blocks of a run of pages decoded in one call into the
 * caller's buffer (lz4-napi takes one call and one new Buffer per block).
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
    const ptrdiff_t got = lz4_decode_block((const uint8_t *)src + start, (size_t)(end - start), (uint8_t *)dst + out, (size_t)page_size);
    if (got != page_size) break;
  }
  napi_value result;
  CHECK(napi_create_uint32(env, (uint32_t)done, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  CHECK(napi_create_function(env, "decodeBlocks", NAPI_AUTO_LENGTH, decode_blocks, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "decodeBlocks", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
