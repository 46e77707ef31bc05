#!/usr/bin/env bash
# The one entry point of the quick start. Idempotent: installs only what is missing.
#   bash scripts/dev.sh demo    set everything up, then run the local demo
#   bash scripts/dev.sh test    set everything up, typecheck, check the layers, run the whole test suite
#   bash scripts/dev.sh check   set everything up, typecheck and check the layers only
#   bash scripts/dev.sh bench   set everything up, then run the benchmarks
#   bash scripts/dev.sh setup   only set up (apt packages, pnpm, dependencies, build)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[sqlrep]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local missing=()
  command -v fusermount >/dev/null 2>&1 || missing+=(fuse)
  ldconfig -p 2>/dev/null | grep -q 'libfuse.so.2 ' || missing+=(libfuse2)
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
  # The VFS extension (apps/vfs) is compiled here against SQLite's headers; its tests
  # load it into Debian's python3 too (a pyenv python usually cannot load extensions).
  # @sqlrep/fuse's addon: libfuse 2's headers, built by node-gyp (python3, make, cc).
  command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  command -v make >/dev/null 2>&1 || missing+=(make)
  [ -f /usr/include/sqlite3ext.h ] || missing+=(libsqlite3-dev)
  [ -f /usr/include/fuse/fuse_lowlevel.h ] || missing+=(libfuse-dev)
  [ -x /usr/bin/python3 ] || missing+=(python3)
  # @sqlrep/replica-sftp's tests run Debian's sshd (keys by ssh-keygen, the test user's
  # password hashed by openssl); @sqlrep/replica-nats's run nats-server with JetStream.
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  [ -x /usr/bin/ssh-keygen ] || missing+=(openssh-client)
  [ -x /usr/bin/openssl ] || missing+=(openssl)
  command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing apt packages: ${missing[*]}"
    as_root apt-get update -qq
    # etcd-server's postinst tries to start a service; there is no init system here.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_pnpm() {
  # corepack fails on this kind of machine; npm's global install works.
  if ! command -v pnpm >/dev/null 2>&1; then
    log "installing pnpm"
    npm i -g pnpm@10 >/dev/null 2>&1
  fi
}

setup() {
  install_apt_packages
  install_pnpm
  log "installing dependencies"
  CI=true pnpm install --frozen-lockfile --reporter=silent
  log "building"
  pnpm -s turbo run build --output-logs=errors-only
  build_vfs_extension
}

build_vfs_extension() {
  # turbo builds it with apps/vfs (and restores it from its cache); make sure it is there.
  if [ ! -f apps/vfs/lib/litestream-vfs.so ]; then
    log "building apps/vfs/lib/litestream-vfs.so"
    sh apps/vfs/native/build.sh
  fi
}

# What CI checks besides the tests: the types of every package (tests included) and the
# layering (DESIGN.md's layers, no import cycles).
checks() {
  log "typechecking every package (tests included)"
  pnpm -s turbo run typecheck --output-logs=errors-only
  log "checking the layers"
  node scripts/check-layers.mjs
  node scripts/check-headers.mjs
  log "format and lint (biome ci: unformatted files and lint errors fail)"
  pnpm -s biome ci --diagnostic-level=error .
  log "changesets (every pending one parses and names only published packages)"
  pnpm -s changeset status >/dev/null
}

cmd=${1:-}
case "$cmd" in
  setup) setup ;;
  demo) setup; log "running the demo"; pnpm -s demo ;;
  test) setup; checks; log "running the test suite"; pnpm -s vitest run ;;
  check) setup; checks ;;
  bench) setup; log "running the benchmarks"; pnpm -s bench ;;
  *) echo "usage: bash scripts/dev.sh demo|test|check|bench|setup" >&2; exit 2 ;;
esac
