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

# engine-bench.sh: the vhost-user engine's throughput next to DPDK's.
#
# A benchmark, not a test ("make check" does not run it).  In one
# invocation, for each round and each frame size, it measures two
# back-ends that loop two vhost-user sockets, one after the other
# (interleaved, so that a change in the machine's load hits both):
#
#   ours     vhost-user-loopback (our engine, one thread);
#   testpmd  dpdk-testpmd with two net_vhost ports, "io" forwarding.
#
# The traffic generator is a second dpdk-testpmd with two virtio-user
# ports on the same sockets, also in "io" mode: "start tx_first 32" seeds
# 32 bursts per port, which then circulate through the back-end as fast
# as it and the generator go.  After a warm-up, the generator's port
# statistics are cleared, and the frames both its ports received during
# --seconds give the rate: the back-end forwarded them, both directions
# together.
#
# The back-end's forwarding thread runs on CPU --backend-cpu, the
# generator's on --gen-cpu (taskset for our loopback, DPDK's -l and
# --main-lcore for testpmd, whose main lcore only waits).
#
# Then, unless --no-callgrind, it runs our loopback under callgrind for a
# fixed number of frames from vhost-user-peer and prints the instructions
# per frame of the engine's vhu_dequeue_burst() + vhu_enqueue_burst()
# (inclusive) and the engine functions that cost the most.
#
# Prints a table of medians and the ratio ours/testpmd and writes JSON.
# Needs root only if the sockets' directory demands it; no hugepages.

set -u

rounds=3
seconds=5
sizes="64 1518"
backend_cpu=1
gen_cpu=0
json=engine-bench.json
callgrind=true
cg_frames=200000
workdir=

usage () {
    cat <<EOF
usage: $0 [OPTIONS]
  --rounds=N          interleaved rounds per frame size (default $rounds)
  --seconds=S         measured interval per run (default $seconds)
  --sizes="B ..."     frame sizes in bytes (default "$sizes")
  --backend-cpu=N     CPU of the back-end's forwarding thread (default $backend_cpu)
  --gen-cpu=N         CPU of the generator's forwarding thread (default $gen_cpu)
  --json=FILE         where to write the results (default $json)
  --callgrind-frames=N  frames for the callgrind run (default $cg_frames)
  --no-callgrind      skip the callgrind run
  --workdir=DIR       keep sockets and logs in DIR (default: a temporary one)
Environment: LOOPBACK, PEER, TESTPMD name the programs.
EOF
}

for arg; do
    case $arg in
    --rounds=*) rounds=${arg#*=} ;;
    --seconds=*) seconds=${arg#*=} ;;
    --sizes=*) sizes=${arg#*=} ;;
    --backend-cpu=*) backend_cpu=${arg#*=} ;;
    --gen-cpu=*) gen_cpu=${arg#*=} ;;
    --json=*) json=${arg#*=} ;;
    --callgrind-frames=*) cg_frames=${arg#*=} ;;
    --no-callgrind) callgrind=false ;;
    --workdir=*) workdir=${arg#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$0: unknown option $arg (--help for help)" >&2; exit 2 ;;
    esac
done

# Finds a program: $ENVVAR if set, then the build tree ($BUILD_DIR, as
# for ovs-bench.sh, by default _build next to this script's directory),
# then $PATH.
here=$(cd "$(dirname "$0")" && pwd)
build_dir=${BUILD_DIR:-$here/../_build}
find_prog () {
    local name=$1 override=$2
    if test -n "$override"; then
        echo "$override"
    elif test -x "$build_dir/utilities/$name"; then
        echo "$build_dir/utilities/$name"
    elif test -x "$here/$name"; then
        echo "$here/$name"
    else
        command -v "$name"
    fi
}
LOOPBACK=$(find_prog vhost-user-loopback "${LOOPBACK-}")
PEER=$(find_prog vhost-user-peer "${PEER-}")
TESTPMD=${TESTPMD-$(command -v dpdk-testpmd)}
for prog in "$LOOPBACK" "$PEER" "$TESTPMD"; do
    if test -z "$prog" || ! test -x "$prog"; then
        echo "$0: cannot find vhost-user-loopback, vhost-user-peer or" \
             "dpdk-testpmd (set LOOPBACK, PEER, TESTPMD)" >&2
        exit 1
    fi
done
if $callgrind && ! command -v valgrind > /dev/null; then
    echo "$0: valgrind not found; running without callgrind" >&2
    callgrind=false
fi

if test -z "$workdir"; then
    workdir=$(mktemp -d /tmp/engine-bench.XXXXXX)
    remove_workdir=true
else
    mkdir -p "$workdir"
    remove_workdir=false
fi

# Every process we start is recorded here and stopped on exit.
pids=
cleanup () {
    for pid in $pids; do
        kill "$pid" 2> /dev/null
    done
    wait 2> /dev/null
    if $remove_workdir; then
        rm -rf "$workdir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_pid PID: stops one of our processes and waits for it.
stop_pid () {
    kill "$1" 2> /dev/null
    wait "$1" 2> /dev/null
    pids=$(echo $pids | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# wait_sockets: waits up to 20 s for both sockets to exist.
wait_sockets () {
    for i in $(seq 200); do
        test -S "$workdir/s0.sock" && test -S "$workdir/s1.sock" && return 0
        sleep 0.1
    done
    echo "$0: the back-end did not create its sockets" >&2
    return 1
}

# start_backend ours|testpmd: starts the back-end, servers on s0 and s1.
start_backend () {
    rm -f "$workdir/s0.sock" "$workdir/s1.sock"
    case $1 in
    ours)
        taskset -c "$backend_cpu" "$LOOPBACK" --quiet \
            --socket0="$workdir/s0.sock" --socket1="$workdir/s1.sock" \
            > "$workdir/backend.log" 2>&1 &
        ;;
    testpmd)
        # Forwarding on lcore $backend_cpu; the main lcore only prints
        # (rarely) and waits for a signal.
        "$TESTPMD" -l "$gen_cpu,$backend_cpu" --main-lcore "$gen_cpu" \
            --no-pci --no-huge -m 256 --file-prefix=ebench-be-$$ \
            --vdev "net_vhost0,iface=$workdir/s0.sock" \
            --vdev "net_vhost1,iface=$workdir/s1.sock" -- \
            --forward-mode=io --auto-start --nb-cores=1 \
            --stats-period=3600 --total-num-mbufs=16384 \
            < /dev/null > "$workdir/backend.log" 2>&1 &
        ;;
    esac
    backend_pid=$!
    pids="$pids $backend_pid"
    wait_sockets
}

# run_generator SIZE: runs the generator against the back-end's sockets and
# prints the rate (frames received by both its ports per second, in Mpps).
run_generator () {
    local size=$1 fifo=$workdir/gen.in rx0 rx1
    rm -f "$fifo"
    mkfifo "$fifo"
    "$TESTPMD" -l "$gen_cpu,$backend_cpu" --main-lcore "$backend_cpu" \
        --no-pci --no-huge -m 256 --file-prefix=ebench-gen-$$ \
        --vdev "net_virtio_user0,path=$workdir/s0.sock" \
        --vdev "net_virtio_user1,path=$workdir/s1.sock" -- \
        -i --forward-mode=io --nb-cores=1 --total-num-mbufs=16384 \
        --txpkts="$size" < "$fifo" > "$workdir/gen.log" 2>&1 &
    local gen_pid=$!
    pids="$pids $gen_pid"
    # Seed, warm up, clear, measure, report.
    (sleep 2
     echo "start tx_first 32"
     sleep 2
     echo "clear port stats all"
     sleep "$seconds"
     echo "show port stats all"
     echo "stop"
     sleep 0.5
     echo "quit") > "$fifo"
    for i in $(seq 100); do
        kill -0 "$gen_pid" 2> /dev/null || break
        sleep 0.1
    done
    stop_pid "$gen_pid"
    # The first "RX-packets:" of each port after "show port stats all".
    awk -v s="$seconds" '
        /NIC statistics for port 0/ { port = 0 }
        /NIC statistics for port 1/ { port = 1 }
        /RX-packets:/ && port != "" && !(port in rx) { rx[port] = $2 }
        END {
            # No statistics, or no traffic at all, is a failed run.
            if (!(0 in rx) || !(1 in rx) || rx[0] + rx[1] == 0) {
                print "nan"; exit
            }
            printf "%.3f\n", (rx[0] + rx[1]) / s / 1e6
        }' "$workdir/gen.log"
}

# median V...: prints the median of its arguments.
median () {
    printf '%s\n' "$@" | grep -v nan | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (!NR) { print "nan"; exit }
            if (NR % 2) print v[(NR + 1) / 2];
            else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

echo "engine-bench: $rounds round(s) of $seconds s per back-end and size;" \
     "back-end forwarding on CPU $backend_cpu, generator on CPU $gen_cpu" \
     "($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2

declare -A results
for round in $(seq "$rounds"); do
    for size in $sizes; do
        for backend in ours testpmd; do
            start_backend "$backend" || exit 1
            mpps=$(run_generator "$size")
            stop_pid "$backend_pid"
            echo "round $round: $backend, $size B: $mpps Mpps" >&2
            if test "$mpps" = nan; then
                # Keep the logs of a failed run; the median ignores it.
                mkdir -p "$workdir/failed"
                cp "$workdir/gen.log" \
                   "$workdir/failed/gen-$round-$backend-$size.log"
                cp "$workdir/backend.log" \
                   "$workdir/failed/backend-$round-$backend-$size.log"
                remove_workdir=false
                echo "  (failed run: logs in $workdir/failed)" >&2
            fi
            results[$backend.$size]="${results[$backend.$size]-} $mpps"
        done
    done
done

# Instructions per frame under callgrind.
cg_ipp=
cg_report=
if $callgrind; then
    echo "callgrind: $cg_frames frames of 64 B through our loopback" >&2
    rm -f "$workdir/s0.sock" "$workdir/s1.sock" "$workdir/cg.out"
    valgrind --tool=callgrind --callgrind-out-file="$workdir/cg.out" \
        "$LOOPBACK" --quiet --socket0="$workdir/s0.sock" \
        --socket1="$workdir/s1.sock" > "$workdir/cg-loopback.log" 2>&1 &
    cg_pid=$!
    pids="$pids $cg_pid"
    wait_sockets || exit 1
    "$PEER" --socket="$workdir/s1.sock" --ring-size=1024 --quiet \
        recv --count="$cg_frames" --idle=60 > "$workdir/cg-recv.out" 2>&1 &
    recv_pid=$!
    pids="$pids $recv_pid"
    "$PEER" --socket="$workdir/s0.sock" --connect-timeout=60 --quiet \
        send --count="$cg_frames" > "$workdir/cg-send.out" 2>&1
    wait "$recv_pid"
    # SIGINT: the loopback exits cleanly and callgrind writes its profile.
    kill -INT "$cg_pid"
    wait "$cg_pid"
    callgrind_annotate --inclusive=yes "$workdir/cg.out" \
        > "$workdir/cg-inclusive.txt" 2> /dev/null
    callgrind_annotate "$workdir/cg.out" > "$workdir/cg-self.txt" \
        2> /dev/null
    # Lines look like "12,345,678 (12.34%)  file.c:function [binary]".
    ir_of () {
        awk -v f="$1" '$0 ~ (":" f " ") || $0 ~ (":" f "$") {
            gsub(",", "", $1); print $1; exit }' "$workdir/cg-inclusive.txt"
    }
    deq=$(ir_of vhu_dequeue_burst)
    enq=$(ir_of vhu_enqueue_burst)
    received=$(sed -n 's/^received=\([0-9]*\).*/\1/p' "$workdir/cg-recv.out")
    if test -n "$deq" && test -n "$enq" && test "${received:-0}" -gt 0; then
        cg_ipp=$(awk -v d="$deq" -v e="$enq" -v n="$received" \
                 'BEGIN { printf "%.0f", (d + e) / n }')
        cg_deq=$(awk -v d="$deq" -v n="$received" \
                 'BEGIN { printf "%.0f", d / n }')
        cg_enq=$(awk -v e="$enq" -v n="$received" \
                 'BEGIN { printf "%.0f", e / n }')
        cg_report="instructions per frame: dequeue $cg_deq + enqueue"
        cg_report="$cg_report $cg_enq = $cg_ipp (over $received frames)"
    else
        cg_report="callgrind: no result (see $workdir)"
        remove_workdir=false
    fi
fi

# Table and JSON.
echo
printf '%-8s %14s %14s %10s\n' "size (B)" "ours (Mpps)" "testpmd (Mpps)" \
    "ours/tpmd"
json_sizes=
for size in $sizes; do
    ours=$(median ${results[ours.$size]})
    tpmd=$(median ${results[testpmd.$size]})
    ratio=$(awk -v a="$ours" -v b="$tpmd" \
            'BEGIN { if (b + 0 > 0 && a != "nan") printf "%.2f", a / b;
                     else print "nan" }')
    printf '%-8s %14s %14s %10s\n' "$size" "$ours" "$tpmd" "$ratio"
    json_sizes="$json_sizes${json_sizes:+,}
    \"$size\": {\"ours_mpps\": [$(echo ${results[ours.$size]} | tr ' ' ',')],
      \"testpmd_mpps\": [$(echo ${results[testpmd.$size]} | tr ' ' ',')],
      \"ours_median\": $ours, \"testpmd_median\": $tpmd,
      \"ratio\": $ratio}"
done
if test -n "$cg_report"; then
    echo
    echo "$cg_report"
    if test -n "$cg_ipp"; then
        echo "engine functions by own instructions (callgrind, whole run):"
        grep -E 'datapath/|vhu_' "$workdir/cg-self.txt" | head -12
    fi
fi

cat > "$json" <<EOF
{
  "rounds": $rounds,
  "seconds": $seconds,
  "backend_cpu": $backend_cpu,
  "generator_cpu": $gen_cpu,
  "loadavg": "$(cut -d' ' -f1-3 /proc/loadavg)",
  "sizes": {$json_sizes
  },
  "callgrind": {"frames": ${received:-0},
    "dequeue_ir_per_frame": ${cg_deq:-null},
    "enqueue_ir_per_frame": ${cg_enq:-null},
    "ir_per_frame": ${cg_ipp:-null}}
}
EOF
echo
sed -i "s/\bnan\b/null/g" "$json"
echo "results written to $json"
