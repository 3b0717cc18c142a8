#!/bin/sh
# Sets up a Debian 12 machine, builds ovs-vhostuser and runs every test.
# Ends with a line "N passed, N failed, N skipped".  Run as root (the tests
# create network namespaces).  This is README.rst's test command.
#
# Usage: run-tests.sh [--load=N]
#
#   --load=N   keeps N busy processes (one CPU each) running for the
#              duration of the tests, to prove that the suite passes on a
#              loaded machine; they are stopped by pid at the end.
#
# Environment: BUILD_DIR (default _build in the source tree),
# TESTSUITEFLAGS (default -jN, N the number of CPUs), OVS_CACHE_DIR (see
# ovs-prepare.sh), CI (true: a test that would skip for a missing
# dependency fails instead).

set -e

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$srcdir/_build}
jobs=$(nproc)
load=0

for arg; do
    case $arg in
    --load=*)
        load=${arg#--load=}
        case $load in
        ''|*[!0-9]*)
            echo "$0: --load=$load: expected a number of processes" >&2
            exit 2 ;;
        esac ;;
    *)
        echo "usage: $0 [--load=N]" >&2
        exit 2 ;;
    esac
done

BUILD_DIR=$build "$srcdir/utilities/setup-build.sh" --enable-Werror
cd "$build"

log=$build/tests/run-tests.out

load_pids=
stop_load() {
    # shellcheck disable=SC2086
    [ -z "$load_pids" ] || kill $load_pids 2>/dev/null || true
    load_pids=
}
trap stop_load EXIT
trap 'stop_load; exit 130' INT TERM
i=0
while [ "$i" -lt "$load" ]; do
    sh -c 'while :; do :; done' &
    load_pids="$load_pids $!"
    i=$((i + 1))
done
[ "$load" -eq 0 ] || echo "$0: $load busy process(es):$load_pids" >&2

start=$(date +%s)
set +e
make check TESTSUITEFLAGS="${TESTSUITEFLAGS:--j$jobs}" 2>&1 | tee "$log"
set -e
stop_load

# Autotest prints one line per test: "NNN: title  ok", "... FAILED (...)",
# "... skipped (...)", "... expected failure".
passed=$(grep -cE '^ *[0-9]+: .* ok$' "$log" || true)
failed=$(grep -cE '^ *[0-9]+: .* (FAILED \(|UNEXPECTED PASS)' "$log" || true)
skipped=$(grep -cE '^ *[0-9]+: .* skipped \(' "$log" || true)
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    # The suite did not run (a build error above): count that as a failure.
    failed=1
fi

# CI keeps only the end of this output: repeat each failed test's line and
# the end of its log from its last check on (at most three tests, 40 lines
# each), so that the failing check can be read there.
grep -E '^ *[0-9]+: .* FAILED \(' "$log" | head -n 3 | while read -r line; do
    n=${line%%:*}
    n=$(echo "$n" | tr -d ' ')
    tlog=tests/testsuite.dir/$(printf '%03d' "$n")/testsuite.log
    [ -f "$tlog" ] || tlog=tests/testsuite.dir/$n/testsuite.log
    echo "---- $line"
    if [ -f "$tlog" ] && grep -qE '^[^ ]*\.at:[0-9]+: ' "$tlog"; then
        first=$(grep -nE '^[^ ]*\.at:[0-9]+: ' "$tlog" | tail -n 1)
        sed -n "${first%%:*},\$p" "$tlog" | head -n 40
    fi
done
echo "tests took $(( $(date +%s) - start )) s (load: $load busy process(es))"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
