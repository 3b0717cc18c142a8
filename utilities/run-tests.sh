#!/bin/sh
# Sets up a Debian 12 machine, builds ovs-vhostuser and runs every test.
# Ends with a line "N passed, N failed, N skipped".  Run as root (the tests
# create network namespaces).  This is README.rst's test command.
#
# Environment: BUILD_DIR (default _build in the source tree),
# TESTSUITEFLAGS (default -j2), OVS_CACHE_DIR (see ovs-prepare.sh).

set -e

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$srcdir/_build}
jobs=$(nproc)

BUILD_DIR=$build "$srcdir/utilities/setup-build.sh" --enable-Werror
cd "$build"

log=$build/tests/run-tests.out
set +e
make check TESTSUITEFLAGS="${TESTSUITEFLAGS:--j$jobs}" 2>&1 | tee "$log"
set -e

# Autotest prints one line per test: "NNN: title  ok", "... FAILED (...)",
# "... skipped (...)", "... expected failure".
passed=$(grep -cE '^ *[0-9]+: .* ok$' "$log" || true)
failed=$(grep -cE '^ *[0-9]+: .* (FAILED \(|UNEXPECTED PASS)' "$log" || true)
skipped=$(grep -cE '^ *[0-9]+: .* skipped \(' "$log" || true)
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    # The suite did not run (a build error above): count that as a failure.
    failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
