# The @sqlrep/ltx addon (LZ4 block decoding in batches, CRC-64), built with node-gyp against the
# running Node's own headers (scripts/build-native.mjs passes --nodedir).
{
  "targets": [
    {
      "target_name": "sqlrep_ltx",
      "sources": ["addon.c", "crc64.c", "lz4-block.c"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
