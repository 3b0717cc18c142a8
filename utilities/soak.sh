#!/bin/sh
# The long soak: the restart tests of tests/soak.at (frontends restarting
# in server and client mode, the switch restarting under a running
# frontend, our code under AddressSanitizer) with ROUNDS rounds each
# (default 50; make check runs 10), plus the hostile frontend's connect
# loop.  Run as root after a build (BUILD_DIR, default _build).

set -e

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$srcdir/_build}

SOAK_ROUNDS=${1:-50}
export SOAK_ROUNDS
make -C "$build" check TESTSUITEFLAGS="-k soak -k connections"
