#! /bin/bash
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

# rx-mode-bench.sh: the receive modes' figures, side by side with OVS-DPDK.
#
# A benchmark, not a test.  Two runs of utilities/ovs-bench.sh (which
# installs what is missing, starts every switch in a network namespace of
# its own and stops everything it started):
#
#  1. ovs-bench.sh --rx-modes: for our switch in polling, adaptive and
#     interrupt mode, OVS-DPDK 3.1 busy polling and OVS-DPDK 3.1 with
#     pmd-maxsleep=10000, interleaved per round: the idle cost (8 connected,
#     idle frontends for --idle-seconds; CPU time of ovs-vswitchd from
#     /proc/PID/stat) and the round-trip time of one frame at a time
#     through the switch at 1000 round trips per second (p50, p99).
#  2. ovs-bench.sh --variants=polling,adaptive: the 64 B and 1518 B
#     testpmd loops in both modes, interleaved; the ratio of the packet
#     rates (adaptive / polling).
#
# Options: --rounds=N (default 3), --idle-seconds=S (default 30),
# --no-load (skip step 2), and any other option is passed to both runs.
# Results in rx-mode-bench.json and rx-mode-load.json.  See
# Documentation/rx-modes.rst.

set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
rounds=3
idle_seconds=30
load=true
extra=
for arg; do
    case $arg in
    --rounds=*) rounds=${arg#*=} ;;
    --idle-seconds=*) idle_seconds=${arg#*=} ;;
    --no-load) load=false ;;
    -h|--help) sed -n '/^# rx-mode-bench.sh/,/^$/p' "$0"; exit 0 ;;
    *) extra="$extra $arg" ;;
    esac
done

"$srcdir/utilities/ovs-bench.sh" --rx-modes --rounds="$rounds" \
    --idle-seconds="$idle_seconds" --json=rx-mode-bench.json $extra \
    || exit 1
if $load; then
    "$srcdir/utilities/ovs-bench.sh" --variants=polling,adaptive \
        --no-ovs-dpdk --no-callgrind --rounds="$rounds" \
        --json=rx-mode-load.json $extra || exit 1
    python3 - rx-mode-load.json <<'PYEOF'
import json
import sys

summary = json.load(open(sys.argv[1]))["summary"]
for size in (64, 1518):
    a = summary.get("ours-adaptive/%d" % size, {}).get("mpps")
    p = summary.get("ours-polling/%d" % size, {}).get("mpps")
    if a and p:
        print("under load, %d B: adaptive %.3f Mpps, polling %.3f Mpps: "
              "x%.3f (target >= 0.95)%s"
              % (size, a, p, a / p, "" if a / p >= 0.95 else "  MISSED"))
PYEOF
fi
