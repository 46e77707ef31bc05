#!/bin/sh
# Builds lib/litestream-vfs.so with the system C compiler against SQLite's headers
# (Debian: libsqlite3-dev). The node binary found now is the default the shim starts
# the page server with (SQLREP_VFS_NODE overrides it at run time).
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-cc}
NODE=$(node -p process.execPath)
if [ ! -f /usr/include/sqlite3ext.h ] && [ -z "${SQLITE_INCLUDE:-}" ]; then
  echo "build.sh: sqlite3ext.h not found: install libsqlite3-dev (bash scripts/dev.sh setup does)" >&2
  exit 1
fi
mkdir -p lib
$CC -O2 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror -std=c11 \
  ${SQLITE_INCLUDE:+-I"$SQLITE_INCLUDE"} \
  -DSQLREP_NODE_PATH="\"$NODE\"" \
  -o lib/litestream-vfs.so.tmp native/litestream-vfs.c native/wire.c native/file.c -lpthread
mv lib/litestream-vfs.so.tmp lib/litestream-vfs.so
