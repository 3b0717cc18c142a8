#!/bin/sh
# Copyright (c) 2026 The ovs-vhostuser authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at:
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# Runs a long fuzzing campaign on one libFuzzer target of the engine, with a
# corpus saved between campaigns (Documentation/fuzzing.rst).
#
#     utilities/fuzz-campaign.sh TARGET [SECONDS]
#
# TARGET is fuzz-messages or fuzz-rings; SECONDS defaults to 3600.  The
# target is taken from $FUZZ_BUILDDIR (default: _build next to this
# script's directory).  The working corpus and crash inputs live under
# $FUZZ_WORKDIR/TARGET (default /var/tmp/ovs-vhostuser-fuzz): the corpus
# grows from one campaign to the next and starts from the seeds committed
# in tests/fuzz/corpus/TARGET.  One fuzzing process, at the lowest CPU
# priority.  Exits 1 if the target crashed (the input is in artifacts/).

set -e

usage () {
    echo "usage: $0 fuzz-messages|fuzz-rings [SECONDS]" >&2
    exit 2
}

test $# -ge 1 && test $# -le 2 || usage
target=$1
seconds=${2:-3600}
case $target in
    fuzz-messages|fuzz-rings) ;;
    *) usage ;;
esac
case $seconds in
    ''|*[!0-9]*) usage ;;
esac

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${FUZZ_BUILDDIR:-$srcdir/_build}
workdir=${FUZZ_WORKDIR:-/var/tmp/ovs-vhostuser-fuzz}/$target
binary=$builddir/tests/fuzz/$target
seeds=$srcdir/tests/fuzz/corpus/$target

if test ! -x "$binary"; then
    echo "$0: $binary not found: build with 'make' in $builddir" \
         "(configure must report libFuzzer support)" >&2
    exit 1
fi

mkdir -p "$workdir/corpus" "$workdir/artifacts"
log=$workdir/campaign-$(date +%Y%m%d-%H%M%S).log
echo "$target: $seconds s, corpus $workdir/corpus, log $log"

# The first directory receives new inputs; the seeds are read only.  The
# leak detector stays on: the engine must free everything per input.
# Undefined behaviour is fatal except for the known findings listed in
# tests/fuzz/ubsan.supp.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$srcdir/tests/fuzz/ubsan.supp
export ASAN_OPTIONS UBSAN_OPTIONS
status=0
nice -n 19 "$binary" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$workdir/artifacts/" \
    "$workdir/corpus" "$seeds" > "$log" 2>&1 || status=$?

# Summary: executions, corpus, coverage, crashes.
sed -n 's/^stat::number_of_executed_units: */executions: /p;
        s/^stat::average_exec_per_sec: */executions per second: /p;
        s/^stat::peak_rss_mb: */peak RSS (MB): /p' "$log"
grep '^#[0-9]' "$log" | tail -n 1 \
    | grep -o 'cov: [0-9]* ft: [0-9]* corp: [^ ]*' || true
echo "corpus: $(ls "$workdir/corpus" | wc -l) inputs"
if test $status != 0; then
    echo "$target: CRASH (exit $status); inputs:" >&2
    ls -l "$workdir/artifacts" >&2
    grep -m 5 -e 'ERROR:' -e 'runtime error' -e '^fuzz:' "$log" >&2 || true
    exit 1
fi
echo "$target: no crash"
