#!/bin/sh
# Installs the Debian packages ovs-vhostuser needs (install-deps.sh test)
# and builds it in BUILD_DIR (default: _build in the source tree), running
# boot.sh and configure only when they are missing or out of date.  Extra
# arguments go to configure.  Shared by run-demo.sh, run-guests.sh and
# run-tests.sh.

set -e

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$srcdir/_build}

"$srcdir/utilities/install-deps.sh" test

cd "$srcdir"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    ./boot.sh >/dev/null 2>&1 || ./boot.sh
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$srcdir/configure" -nt config.status ]; then
    "$srcdir/configure" "$@"
fi
make -j"$(nproc)"
