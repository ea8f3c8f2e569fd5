#!/usr/bin/env bash
# build-freethreaded.sh CACHE_DIR [SOURCE_DIR]
#
# Builds a free-threaded CPython (./configure --disable-gil) into CACHE_DIR/cpython-3.14t and
# prints its interpreter's path. No package registry carries a free-threaded build, so it is
# made from a CPython source tree: SOURCE_DIR, else CACHE_DIR/src-3.14 (where a developer
# unpacks a release's sources once). Idempotent: an installed interpreter that starts and
# reports Py_GIL_DISABLED is left alone. About 8 minutes on 2 cores. Exit 3: no sources.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CACHE_DIR [SOURCE_DIR]" >&2; exit 2; }
mkdir -p "$1"
cache=$(cd "$1" && pwd -P)
src=${2:-$cache/src-3.14}
prefix=$cache/cpython-3.14t
py=$prefix/bin/python3.14t

check() {
    [ -x "$py" ] && "$py" -c "
import sys, sysconfig, ssl, venv, ensurepip, zlib, ctypes
assert sysconfig.get_config_var('Py_GIL_DISABLED') == 1 and not sys._is_gil_enabled()
" 2>/dev/null
}

exec 9>"$cache/.lock-3.14t"
flock 9
if check; then echo "$py"; exit 0; fi
if [ ! -x "$src/configure" ]; then
    echo "build-freethreaded: no CPython sources in $src" >&2; exit 3
fi
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
t0=$SECONDS
(cd "$build" && "$src/configure" --disable-gil --prefix="$prefix" --with-ensurepip=no \
    >"$build/configure.log" 2>&1) || { tail -30 "$build/configure.log" >&2; exit 1; }
(cd "$build" && make -j"$(nproc)" >"$build/make.log" 2>&1 && make install >"$build/install.log" 2>&1) \
    || { tail -40 "$build/make.log" "$build/install.log" >&2 2>/dev/null; exit 1; }
check || { echo "build-freethreaded: $py does not run free-threaded" >&2; exit 1; }
echo "build-freethreaded: built in $((SECONDS - t0)) s" >&2
echo "$py"
