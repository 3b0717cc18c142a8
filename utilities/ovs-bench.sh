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

# ovs-bench.sh: our ovs-vswitchd next to Debian's OVS-DPDK, same scenario.
#
# A benchmark, not a test ("make check" does not run it).  In one
# invocation, for each round and each frame size, it runs one after the
# other (interleaved, so that a change in the machine's load hits all):
#
#   ovs-dpdk  Debian's /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
#             (OVS 3.1 + DPDK 22.11), two dpdkvhostuserclient ports;
#   ours      our ovs-vswitchd, two vhostuserclient ports;
#   ours-server (with --variants) our ovs-vswitchd, two vhostuser ports;
#   ours-locked (with --variants) ours with every transmit lock taken
#             (other_config:vhost-user-tx-lock=always), to measure what
#             skipping the lock of a pair one txq owns brings (--queues=2);
#   ours-park (with --variants) ours in the polling receive mode with
#             idle rings parked after 100 ms
#             (other_config:vhost-user-rxq-park-ms=100), for --idle-vifs;
#   ours-packed, ovs-dpdk-packed (with --variants=...,packed) both switches
#             with testpmd's virtio-user on packed rings (packed_vq=1).
#
# With --ring-sizes and --idle-vifs the same loop runs for each ring size
# (testpmd's queue_size, --rxd and --txd) and each number of extra idle
# ports: that many dpdkvhostuser ports on the same bridge and PMD thread,
# added one ovs-vsctl call at a time (timed), each with a connected
# vhost-user-peer that sleeps on its kick eventfd (as a guest that sends
# nothing), before the loop's two ports.
#
# Each switch gets a fresh private directory (database, ovsdb-server,
# pidfile, control socket, logs) and runs in a network namespace of its own
# (unshare -n), with bridge br0 (datapath_type=netdev), flows
# in_port=1,actions=output:2 and back, and one PMD thread on --pmd-cpu.
#
# The traffic comes from one dpdk-testpmd with two net_virtio_user ports
# (servers for the *client ports, clients for the vhostuser variant), "io"
# forwarding on --gen-cpu (its main lcore, which only reads commands, on
# the PMD's CPU).  "start tx_first 32" seeds 32 bursts per port; they then
# loop testpmd -> switch -> testpmd as fast as both go.  After --warmup
# seconds the PMD statistics are cleared and testpmd's port counters are
# read every --interval seconds, --intervals times: the frames each testpmd
# port received give each direction's rate.  Then the PMD's statistics
# (avg processing cycles per packet, idle share) and the switch's own
# memory (/proc/PID/smaps_rollup) are read.
#
# OVS-DPDK needs hugepages: the script raises vm.nr_hugepages by what is
# missing and mounts hugetlbfs on /dev/hugepages if none is mounted, and
# gives both back at the end.  Everything it starts is stopped by pid on
# exit, failure or interrupt (trap).
#
# Then, unless --no-callgrind, it runs our switch under callgrind while
# vhost-user-peer sends a fixed number of 64-byte frames through it, and
# reports the instructions per packet of netdev_vhost_user_rxq_recv() +
# netdev_vhost_user_send() (inclusive) and where they go.
#
# With --offloads it measures checksum and TSO offloads instead: guests
# over HTTP and peers' 64 KB TSO frames (utilities/ovs-bench-offloads.sh).
#
# Needs root (namespaces, hugepages).  See Documentation/benchmark.rst.

set -u

rounds=3
warmup=3
interval=2
intervals=3
sizes="64 1518"
ring_sizes=1024
idle_vifs=0
variants=client
queues=1
pmd_cpu=1
gen_cpu=0
socket_mem=256
gen_mem=256
gen_huge=true
json=ovs-bench.json
callgrind=true
compare=true
cg_packets=200000
workdir=
keep_runs=false
install=true
build=auto
rx_modes=false
idle_seconds=30
idle_ports=8
ping_count=5000
ping_rate=1000
offloads=false
tcp_mb=64
tcp_transfers=3
tcp_timeout=60
tso_seconds=10
tcp_ports=client,server
guest_accel=tcg

usage () {
    cat <<EOF
usage: $0 [OPTIONS]
  --rounds=N          interleaved rounds per switch and size (default $rounds)
  --warmup=S          seconds of traffic before measuring (default $warmup)
  --interval=S        seconds per measurement interval (default $interval)
  --intervals=N       measurement intervals per run (default $intervals)
  --sizes="B ..."     frame sizes in bytes (default "$sizes")
  --ring-sizes="N ..."  testpmd's ring sizes (default "$ring_sizes")
  --idle-vifs="N ..."   extra idle, connected ports on the bridge and PMD
                      thread, one configuration per count (default
                      "$idle_vifs")
  --variants=LIST     our switches, comma-separated: client (vhostuserclient
                      ports), server (vhostuser ports), polling, adaptive,
                      interrupt (vhostuserclient ports in that receive mode),
                      locked (every transmit lock taken), park (polling,
                      idle rings parked), packed (packed rings, ours and
                      OVS-DPDK's) (default $variants)
  --queues=N          queue pairs per testpmd port (default $queues)
  --rx-modes          instead of the testpmd loops, the receive-mode figures:
                      idle cost and round-trip latency (see below)
  --idle-seconds=S    --rx-modes: idle measurement (default $idle_seconds)
  --ping-count=N      --rx-modes: round trips per switch (default $ping_count)
  --offloads          instead of the testpmd loops, the checksum and TSO
                      figures: guest-to-guest TCP and 64 KB TSO frames
                      between two peers (see ovs-bench-offloads.sh)
  --tcp-mb=N          --offloads: MiB per TCP transfer (default $tcp_mb)
  --tcp-transfers=N   --offloads: transfers per configuration and round
                      (default $tcp_transfers)
  --tcp-timeout=S     --offloads: a transfer's time limit (default
                      $tcp_timeout)
  --tso-seconds=S     --offloads: the peers' TSO run (default $tso_seconds)
  --tcp-ports=LIST    --offloads: the guests' port modes, client and/or
                      server (default $tcp_ports)
  --guest-accel=A     --offloads: tcg, kvm, or auto (KVM where QEMU can
                      start a machine with it, else TCG) (default
                      $guest_accel: on the project's machine /dev/kvm
                      starts QEMU but its guests never boot)
  --pmd-cpu=N         CPU of each switch's PMD thread (default $pmd_cpu)
  --gen-cpu=N         CPU of testpmd's forwarding lcore (default $gen_cpu)
  --socket-mem=MB     OVS-DPDK's dpdk-socket-mem (default $socket_mem)
  --gen-no-huge       testpmd's memory from memfd (4 KiB pages) instead of
                      hugepages
  --json=FILE         where to write the results (default $json)
  --callgrind-packets=N  frames for the callgrind run (default $cg_packets)
  --no-callgrind      skip the callgrind run
  --no-ovs-dpdk       run only our switch (quick checks while optimizing;
                      no ratios)
  --no-install        do not install missing Debian packages
  --build             run "make" in BUILD_DIR even if the switch is built
  --workdir=DIR       keep every run's directory and logs in DIR (default: a
                      temporary directory, removed unless a run failed)
Environment: BUILD_DIR (default: the source tree's _build), OVS_DPDK
(default /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk), TESTPMD.
EOF
}

for arg; do
    case $arg in
    --rounds=*) rounds=${arg#*=} ;;
    --warmup=*) warmup=${arg#*=} ;;
    --interval=*) interval=${arg#*=} ;;
    --intervals=*) intervals=${arg#*=} ;;
    --sizes=*) sizes=${arg#*=} ;;
    --ring-sizes=*) ring_sizes=${arg#*=} ;;
    --idle-vifs=*) idle_vifs=${arg#*=} ;;
    --variants=*) variants=${arg#*=} ;;
    --queues=*) queues=${arg#*=} ;;
    --pmd-cpu=*) pmd_cpu=${arg#*=} ;;
    --gen-cpu=*) gen_cpu=${arg#*=} ;;
    --socket-mem=*) socket_mem=${arg#*=} ;;
    --gen-no-huge) gen_huge=false ;;
    --json=*) json=${arg#*=} ;;
    --callgrind-packets=*) cg_packets=${arg#*=} ;;
    --no-callgrind) callgrind=false ;;
    --rx-modes) rx_modes=true callgrind=false ;;
    --idle-seconds=*) idle_seconds=${arg#*=} ;;
    --ping-count=*) ping_count=${arg#*=} ;;
    --offloads) offloads=true callgrind=false ;;
    --tcp-mb=*) tcp_mb=${arg#*=} ;;
    --tcp-transfers=*) tcp_transfers=${arg#*=} ;;
    --tcp-timeout=*) tcp_timeout=${arg#*=} ;;
    --tso-seconds=*) tso_seconds=${arg#*=} ;;
    --tcp-ports=*) tcp_ports=${arg#*=} ;;
    --guest-accel=kvm|--guest-accel=tcg|--guest-accel=auto)
        guest_accel=${arg#*=} ;;
    --no-ovs-dpdk) compare=false ;;
    --no-install) install=false ;;
    --build) build=always ;;
    --workdir=*) workdir=${arg#*=} keep_runs=true ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$0: unknown option $arg (--help for help)" >&2; exit 2 ;;
    esac
done

log () {
    echo "ovs-bench: $*" >&2
}
die () {
    log "$*"
    exit 1
}

if test "$(id -u)" != 0; then
    die "must run as root (network namespaces, hugepages)"
fi
if test "$pmd_cpu" = "$gen_cpu"; then
    die "--pmd-cpu and --gen-cpu must differ"
fi
json=$(realpath -m "$json")

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$(realpath -m "${BUILD_DIR:-$srcdir/_build}")
OVS_DPDK=${OVS_DPDK:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}

# Step 1: the Debian packages.  install-deps.sh installs what building our
# switch needs; the comparison switch, testpmd and valgrind come on top.
if $install; then
    "$srcdir/utilities/install-deps.sh" build || die "install-deps.sh failed"
    missing=
    guest_pkgs=
    $offloads && guest_pkgs="qemu-system-x86 busybox-static cpio"
    for pkg in openvswitch-switch-dpdk dpdk-dev valgrind python3 \
               util-linux procps $guest_pkgs; do
        if ! dpkg-query -W -f='${Status}\n' "$pkg" 2> /dev/null \
                | grep -q '^install ok installed$'; then
            missing="$missing $pkg"
        fi
    done
    if test -n "$missing"; then
        log "installing$missing"
        # Note: on a machine running systemd, installing openvswitch-switch
        # (a dependency) starts Debian's own, idle, Open vSwitch service.
        DEBIAN_FRONTEND=noninteractive apt-get update -q \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                   --no-install-recommends $missing \
            || die "apt-get install$missing failed"
    fi
fi

# Step 2: our switch, built as utilities/run-tests.sh builds it.
if test "$build" = always || ! test -x "$build_dir/ofproto-ext/ovs-vswitchd"
then
    log "building in $build_dir"
    (cd "$srcdir" \
     && { test -x configure && ! test configure.ac -nt configure \
          || ./boot.sh; } \
     && mkdir -p "$build_dir" && cd "$build_dir" \
     && { test -f Makefile || "$srcdir/configure"; } \
     && make -j"$(nproc)") > /dev/null || die "build failed"
fi
OURS=$build_dir/ofproto-ext/ovs-vswitchd
PEER=$build_dir/utilities/vhost-user-peer
ovs_build=$(sed -n 's/^OVS_BUILDDIR = //p' "$build_dir/Makefile")
ovs_src=$(sed -n 's/^OVS_SRCDIR = //p' "$build_dir/Makefile")
test -n "$ovs_build" || die "$build_dir is not a configured build"
# ovsdb-server and the tools from the Open vSwitch 3.1 tree we built
# against; both switches are 3.1 and share the schema.
PATH=$ovs_build/utilities:$ovs_build/ovsdb:$PATH
SCHEMA=$ovs_src/vswitchd/vswitch.ovsschema
TESTPMD=${TESTPMD:-$(command -v dpdk-testpmd)}
# OVS-DPDK only if it is compared (not with --no-ovs-dpdk).
ovs_dpdk_needed=
$compare && ovs_dpdk_needed=$OVS_DPDK
for prog in "$OURS" "$PEER" $ovs_dpdk_needed "$TESTPMD" \
            "$ovs_build/ovsdb/ovsdb-server" "$ovs_build/utilities/ovs-vsctl"
do
    test -n "$prog" && test -x "$prog" || die "cannot find ${prog:-testpmd}"
done
if $callgrind && ! command -v valgrind > /dev/null; then
    log "valgrind not found; running without callgrind"
    callgrind=false
fi

if test -z "$workdir"; then
    workdir=$(mktemp -d /tmp/ovs-bench.XXXXXX)
    remove_workdir=true
else
    mkdir -p "$workdir"
    workdir=$(cd "$workdir" && pwd)
    remove_workdir=false
fi
runs_file=$workdir/runs.jsonl
: > "$runs_file"

# Cleanup.  Every process we start is listed in $pids and killed on exit;
# hugepages we added are given back and a hugetlbfs we mounted unmounted.
# The switches' network namespaces go with their processes.
pids=
huge_added=0
huge_mounted=
dpdk_prefixes=
cleanup () {
    stop_pids $pids
    wait 2> /dev/null
    remove_dpdk_files
    if test "$huge_added" -gt 0; then
        local now
        now=$(cat /proc/sys/vm/nr_hugepages)
        echo $((now > huge_added ? now - huge_added : 0)) \
            > /proc/sys/vm/nr_hugepages
        log "gave back $huge_added hugepages" \
            "(nr_hugepages now $(cat /proc/sys/vm/nr_hugepages))"
    fi
    if test -n "$huge_mounted"; then
        umount "$huge_mounted" && log "unmounted $huge_mounted"
    fi
    if $remove_workdir; then
        rm -rf "$workdir"
    else
        log "run directories and logs kept in $workdir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
# A generator that died (testpmd_cmd then writes to a FIFO nobody reads)
# fails its run, not the whole script.
trap '' PIPE

# remove_dpdk_files: removes the runtime and hugepage files of every DPDK
# file prefix we used (a killed DPDK process leaves them, and its hugepage
# files keep hugepages).
remove_dpdk_files () {
    local prefix mnt
    for prefix in $dpdk_prefixes; do
        rm -rf "/var/run/dpdk/$prefix"
        for mnt in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do
            rm -f "$mnt/$prefix"map_* "$mnt/$prefix"seg* 2> /dev/null
        done
    done
}

# stop_pid PID: stops one of our processes (SIGTERM, then SIGKILL after 5
# s) and forgets it.  Processes that are not our children (daemons) are
# waited for by polling.
stop_pid () {
    local pid=$1
    kill "$pid" 2> /dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
    pids=$(echo $pids | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ')
}

# stop_pids PID...: stop_pid for each, all signalled first.
stop_pids () {
    local pid
    for pid; do
        kill "$pid" 2> /dev/null
    done
    for pid; do
        stop_pid "$pid"
    done
}

# meminfo KEY: prints KEY's value from /proc/meminfo.
meminfo () {
    awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# Hugepages: OVS-DPDK's socket memory, testpmd's (unless --gen-no-huge),
# and a little slack, in 2 MB pages.
setup_hugepages () {
    local need free
    if test "$(meminfo Hugepagesize)" != 2048; then
        die "default hugepage size is not 2048 kB"
    fi
    need=$((socket_mem / 2 + 16))
    if $gen_huge; then
        need=$((need + gen_mem / 2 + 16))
    fi
    free=$(meminfo HugePages_Free)
    if test "$free" -lt "$need"; then
        local want=$(( $(cat /proc/sys/vm/nr_hugepages) + need - free ))
        echo "$want" > /proc/sys/vm/nr_hugepages
        huge_added=$(( $(cat /proc/sys/vm/nr_hugepages) - want + need - free ))
        log "raised nr_hugepages by $huge_added" \
            "to $(cat /proc/sys/vm/nr_hugepages)"
        if test "$(meminfo HugePages_Free)" -lt "$need"; then
            die "could not reserve $need free hugepages"
        fi
    fi
    if ! awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' \
            /proc/mounts; then
        mkdir -p /dev/hugepages
        mount -t hugetlbfs nodev /dev/hugepages || die "cannot mount hugetlbfs"
        huge_mounted=/dev/hugepages
        log "mounted hugetlbfs on /dev/hugepages"
    fi
}

# The current switch's directory, pids and tool wrappers.
dir=
sw_pid=
db_pid=
vsctl () {
    ovs-vsctl --db="unix:$dir/db.sock" --timeout=30 "$@"
}
ofctl () {
    OVS_RUNDIR=$dir ovs-ofctl "$@"
}
appctl () {
    ovs-appctl --target="$dir/ovs-vswitchd.ctl" --timeout=30 "$@"
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds
# or SECONDS pass.
wait_for () {
    local limit=$(( $1 * 10 )) i
    shift
    for i in $(seq "$limit"); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

link_up () {
    test "$(vsctl get interface "$1" link_state 2> /dev/null)" = up
}
link_down () {
    test "$(vsctl get interface "$1" link_state 2> /dev/null)" = down
}

# start_ovsdb DIR: makes DIR the current switch's directory (emptied), with
# a new database and its ovsdb-server.
start_ovsdb () {
    dir=$1
    rm -rf "$dir"
    mkdir -p "$dir"
    ovsdb-tool create "$dir/conf.db" "$SCHEMA" || return 1
    ovsdb-server "$dir/conf.db" --detach --no-chdir \
        --pidfile="$dir/ovsdb-server.pid" \
        --unixctl="$dir/ovsdb-server.ctl" \
        --log-file="$dir/ovsdb-server.log" \
        --remote="punix:$dir/db.sock" || return 1
    db_pid=$(cat "$dir/ovsdb-server.pid")
    pids="$pids $db_pid"
    vsctl --no-wait init || return 1
}

# start_switch NAME BINARY PORT-TYPE [OTHER-CONFIG...]: starts ovsdb-server
# and switch BINARY in a new directory $workdir/NAME (also its run
# directory, where vhostuser ports put their sockets), in a new network
# namespace, with bridge br0 and the Open_vSwitch table's OTHER-CONFIG
# settings (KEY=VALUE).
start_switch () {
    local name=$1 binary=$2 type=$3 other setting
    shift 3
    start_ovsdb "$workdir/$name" || return 1
    # One PMD thread on $pmd_cpu, busy polling (no pmd-maxsleep).
    other="other_config:pmd-cpu-mask=$(printf '0x%x' $((1 << pmd_cpu)))"
    for setting; do
        other="$other other_config:$setting"
    done
    case $type in
    dpdk*)
        local prefix=ovsbench-ovs-$$
        dpdk_prefixes="$dpdk_prefixes $prefix"
        other="$other other_config:dpdk-init=true"
        other="$other other_config:dpdk-socket-mem=$socket_mem"
        other="$other other_config:dpdk-lcore-mask=$(printf '0x%x' \
                                                     $((1 << gen_cpu)))"
        other="$other other_config:dpdk-extra=--no-pci\\ --file-prefix=$prefix"
        ;;
    esac
    eval vsctl --no-wait set Open_vSwitch . "$other" || return 1
    # Explicit pidfile and control socket: OVS-DPDK's default names derive
    # from its argv[0] (ovs-vswitchd-dpdk).
    OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir OVS_SYSCONFDIR=$dir \
        unshare -n "$binary" "unix:$dir/db.sock" --detach --no-chdir \
        --pidfile="$dir/ovs-vswitchd.pid" \
        --unixctl="$dir/ovs-vswitchd.ctl" \
        --log-file="$dir/ovs-vswitchd.log" \
        > "$dir/ovs-vswitchd.out" 2>&1 || return 1
    sw_pid=$(cat "$dir/ovs-vswitchd.pid")
    pids="$pids $sw_pid"
    vsctl add-br br0 -- set bridge br0 datapath_type=netdev \
        fail-mode=secure || return 1
}

# add_port NAME OFPORT TYPE [SOCKET]: adds port NAME of TYPE as OpenFlow
# port OFPORT to the current switch; a client port connects to SOCKET in
# the switch's directory.
add_port () {
    local opt=
    if test -n "${4-}"; then
        opt="options:vhost-server-path=$dir/$4"
    fi
    vsctl add-port br0 "$1" -- set interface "$1" type="$3" \
        ofport_request="$2" $opt
}

# add_flows: flows from OpenFlow port 1 to 2 and back.
add_flows () {
    ofctl add-flow br0 in_port=1,actions=output:2 \
        && ofctl add-flow br0 in_port=2,actions=output:1
}

# stop_switch: stops the current switch and its ovsdb-server.
stop_switch () {
    test -n "$sw_pid" && stop_pid "$sw_pid"
    test -n "$db_pid" && stop_pid "$db_pid"
    sw_pid= db_pid=
    remove_dpdk_files
}

# testpmd, fed commands through a FIFO held open on descriptor 3.
gen_pid=
start_testpmd () {
    local size=$1 server=$2 ring=$3 s0 s1 prefix=ovsbench-gen-$$ mem
    dpdk_prefixes="$dpdk_prefixes $prefix"
    if $server; then
        s0="path=$dir/s0.sock,server=1"
        s1="path=$dir/s1.sock,server=1"
    else
        s0="path=$dir/p1"
        s1="path=$dir/p2"
        wait_for 20 test -S "$dir/p1" -a -S "$dir/p2" || return 1
    fi
    if $gen_huge; then
        mem="--in-memory --single-file-segments -m $gen_mem"
    else
        mem="--no-huge -m $gen_mem"
    fi
    rm -f "$dir/testpmd.in"
    mkfifo "$dir/testpmd.in"
    # The forwarding lcore on $gen_cpu; the main lcore, which only reads
    # commands, on the PMD's CPU.  Line-buffered output, so that the
    # echoed commands do not cut the statistics' lines.
    stdbuf -oL "$TESTPMD" -l "$gen_cpu,$pmd_cpu" --main-lcore "$pmd_cpu" --no-pci \
        $mem --file-prefix="$prefix" \
        --vdev "net_virtio_user0,$s0,queues=$queues,queue_size=$ring$gen_vdev" \
        --vdev "net_virtio_user1,$s1,queues=$queues,queue_size=$ring$gen_vdev" -- \
        -i --forward-mode=io --nb-cores=1 --rxd="$ring" --txd="$ring" \
        --rxq="$queues" --txq="$queues" \
        --total-num-mbufs=32768 --txpkts="$size" \
        < "$dir/testpmd.in" > "$dir/testpmd.log" 2>&1 &
    gen_pid=$!
    pids="$pids $gen_pid"
    exec 3> "$dir/testpmd.in"
    # Its first prompt or socket, or its death (not enough hugepages, say).
    for i in $(seq 100); do
        if ! kill -0 "$gen_pid" 2> /dev/null; then
            log "testpmd exited: $(tail -1 "$dir/testpmd.log")"
            return 1
        fi
        grep -q 'testpmd>' "$dir/testpmd.log" && break
        $server && test -S "$dir/s0.sock" && break
        sleep 0.1
    done
}

# testpmd_cmd COMMAND: sends COMMAND to testpmd.
testpmd_cmd () {
    echo "$*" >&3
}

stop_testpmd () {
    if test -n "$gen_pid"; then
        testpmd_cmd stop
        testpmd_cmd quit
        exec 3>&-
        for i in $(seq 50); do
            kill -0 "$gen_pid" 2> /dev/null || break
            sleep 0.1
        done
        stop_pid "$gen_pid"
    fi
    gen_pid=
}

# pmd_stat KEY: prints the first number after "KEY:" in the saved
# pmd-stats-show output.
pmd_stat () {
    sed -n "s/^ *$1: \([0-9.]*\).*/\1/p" "$dir/pmd-stats.txt" | head -1
}

# smaps KEY: the switch's KEY from /proc/PID/smaps_rollup, in kB.
smaps () {
    awk -v k="$1:" '$1 == k { print $2 }' "/proc/$sw_pid/smaps_rollup"
}

# start_idle_peer PORT: connects a vhost-user-peer to dpdkvhostuser port
# PORT of the current switch, on the generator's CPU; it sleeps on its kick
# eventfd, as the driver of a guest that sends nothing (its pid in
# $peer_pid, and in $pids).
peer_pid=
start_idle_peer () {
    wait_for 20 test -S "$dir/$1" || return 1
    taskset -c "$gen_cpu" "$PEER" --socket="$dir/$1" --notify=on -q echo \
        > "$dir/$1.peer.out" 2>&1 &
    peer_pid=$!
    pids="$pids $peer_pid"
}

# add_idle_vifs N: adds N dpdkvhostuser ports (OpenFlow ports 3 and up)
# to the current switch, one ovs-vsctl call each (it waits until the
# switch has applied it), and sets add_seconds to the time they took; then
# connects an idle vhost-user-peer to each, listed in $idle_pids, and waits
# until every one is up (up_seconds: from the first connection).
idle_pids=
add_seconds=null
up_seconds=null
add_idle_vifs () {
    local n=$1 i t0 t1 t2
    t0=$(date +%s.%N)
    for i in $(seq 3 $((n + 2))); do
        add_port "vm$i" "$i" dpdkvhostuser || return 1
    done
    t1=$(date +%s.%N)
    for i in $(seq 3 $((n + 2))); do
        start_idle_peer "vm$i" || return 1
        idle_pids="$idle_pids $peer_pid"
    done
    for i in $(seq 3 $((n + 2))); do
        wait_for 60 link_up "vm$i" || { log "vm$i did not come up"; return 1; }
    done
    t2=$(date +%s.%N)
    add_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    up_seconds=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
    log "$n idle ports added in $add_seconds s, all up $up_seconds s later"
}

# stop_idle_vifs: stops the idle ports' peers.
stop_idle_vifs () {
    stop_pids $idle_pids
    idle_pids=
}

# run_one ROUND SWITCH SIZE RING IDLE: one measurement (testpmd's rings of
# RING descriptors, IDLE extra idle ports); appends a JSON line to
# $runs_file.
run_one () {
    local round=$1 sw=$2 size=$3 ring=$4 idle=$5
    local binary type server=true mode= setting=
    # start_testpmd's extra virtio-user options (packed rings).
    local gen_vdev=
    case $sw in
    ovs-dpdk) binary=$OVS_DPDK type=dpdkvhostuserclient ;;
    ovs-dpdk-packed) binary=$OVS_DPDK type=dpdkvhostuserclient
        gen_vdev=,packed_vq=1 ;;
    ours) binary=$OURS type=vhostuserclient ;;
    ours-packed) binary=$OURS type=vhostuserclient gen_vdev=,packed_vq=1 ;;
    ours-server) binary=$OURS type=vhostuser server=false ;;
    ours-locked) binary=$OURS type=vhostuserclient
        setting=vhost-user-tx-lock=always ;;
    ours-park) binary=$OURS type=vhostuserclient mode=polling
        setting=vhost-user-rxq-park-ms=100 ;;
    ours-polling|ours-adaptive|ours-interrupt)
        binary=$OURS type=vhostuserclient mode=${sw#ours-} ;;
    esac
    local huge_before huge_after
    huge_before=$(( $(meminfo HugePages_Total) - $(meminfo HugePages_Free) ))
    if ! start_switch "$sw-$size-q$ring-i$idle-r$round" "$binary" "$type" \
            ${mode:+vhost-user-rx-mode=$mode} $setting; then
        log "round $round, $sw, $size B: the switch did not start"
        return 1
    fi
    # Let OVS-DPDK finish its memory set-up before counting hugepages.
    sleep 1
    huge_after=$(( $(meminfo HugePages_Total) - $(meminfo HugePages_Free) ))
    add_seconds=null up_seconds=null
    if test "$idle" -gt 0; then
        add_idle_vifs "$idle" || return 1
    fi
    # Client ports connect to testpmd's sockets: start it first (OVS-DPDK
    # retries a failed connection only every 10 s).  testpmd connects to
    # server ports: add them first.
    # testpmd creates its second socket only once a client has connected
    # to the first.
    if $server; then
        start_testpmd "$size" "$server" "$ring" || return 1
        wait_for 20 test -S "$dir/s0.sock" || return 1
        add_port p1 1 "$type" s0.sock || return 1
        wait_for 20 test -S "$dir/s1.sock" || return 1
        add_port p2 2 "$type" s1.sock || return 1
        add_flows || return 1
    else
        add_port p1 1 "$type" && add_port p2 2 "$type" && add_flows \
            || return 1
        start_testpmd "$size" "$server" "$ring" || return 1
    fi
    if ! wait_for 30 link_up p1 || ! wait_for 30 link_up p2; then
        log "round $round, $sw, $size B: ports did not come up"
        return 1
    fi
    testpmd_cmd "start tx_first 32"
    sleep "$warmup"

    # Measurement: clear the PMD's statistics, then read testpmd's port
    # counters at the start and after each interval.
    appctl dpif-netdev/pmd-stats-clear > /dev/null || return 1
    local times= t
    for i in $(seq 0 "$intervals"); do
        test "$i" -gt 0 && sleep "$interval"
        times="$times $(date +%s.%N)"
        testpmd_cmd "show port stats all"
    done
    appctl dpif-netdev/pmd-stats-show > "$dir/pmd-stats.txt"
    appctl dpif-netdev/pmd-perf-show > "$dir/pmd-perf.txt"
    # Transmit retries and drops (ring full), which both switches count.
    local retries=0 drops=0 v
    for p in p1 p2; do
        v=$(vsctl get interface $p statistics:ovs_tx_retries 2>/dev/null)
        retries=$((retries + ${v:-0}))
        v=$(vsctl get interface $p statistics:ovs_tx_failure_drops \
            2>/dev/null)
        drops=$((drops + ${v:-0}))
    done
    local pcl pdi phu
    pcl=$(smaps Private_Clean) pdi=$(smaps Private_Dirty)
    phu=$(smaps Private_Hugetlb) shu=$(smaps Shared_Hugetlb)
    sleep 0.5
    stop_testpmd
    stop_idle_vifs
    stop_switch

    # Each "show port stats all" printed both ports' RX-packets and
    # RX-bytes; port 1 received direction p1->p2, port 0 p2->p1.
    local line
    line=$(awk -v times="$times" -v size="$size" '
        /NIC statistics for port/ { port = $6 }
        /RX-packets:/ {
            # Index from 0: an unset n[port] is "" as a subscript.
            i = n[port] + 0
            pk[port, i] = $2; by[port, i] = $6; n[port] = i + 1
        }
        END {
            k = split(times, t, " ")
            if (n[0] < k || n[1] < k) { print "null"; exit }
            out = ""
            for (i = 1; i < k; i++) {
                dt = t[i + 1] - t[i]
                # Direction 1->2 is port 1 RX, 2->1 is port 0 RX.
                p12 = (pk[1, i] - pk[1, i - 1]) / dt / 1e6
                p21 = (pk[0, i] - pk[0, i - 1]) / dt / 1e6
                b12 = (by[1, i] - by[1, i - 1]) * 8 / dt / 1e9
                b21 = (by[0, i] - by[0, i - 1]) * 8 / dt / 1e9
                out = out sprintf("%s[%.4f,%.4f,%.4f,%.4f]",
                                  i > 1 ? "," : "", p12, p21, b12, b21)
            }
            print "[" out "]"
        }' "$dir/testpmd.log")
    printf '{"round": %d, "switch": "%s", "port_type": "%s", "size": %d, ' \
        "$round" "$sw" "$type" "$size" >> "$runs_file"
    printf '"ring": %d, "idle_vifs": %d, "add_seconds": %s, ' \
        "$ring" "$idle" "$add_seconds" >> "$runs_file"
    printf '"up_seconds": %s, ' "$up_seconds" >> "$runs_file"
    printf '"intervals": %s, "seconds": %s, ' "$line" "$interval" \
        >> "$runs_file"
    printf '"pmd_packets": %s, "avg_processing_cycles": %s, ' \
        "$(pmd_stat 'packets received')" \
        "$(pmd_stat 'avg processing cycles per packet' || true)" \
        >> "$runs_file"
    printf '"idle_pct": %s, "output_batch": %s, ' \
        "$(sed -n 's/^ *idle cycles: [0-9]* (\([0-9.]*\)%).*/\1/p' \
           "$dir/pmd-stats.txt")" \
        "$(pmd_stat 'avg. packets per output batch')" >> "$runs_file"
    printf '"tx_retries": %d, "tx_failure_drops": %d, ' "$retries" \
        "$drops" >> "$runs_file"
    printf '"private_kb": %d, "private_hugetlb_kb": %d, ' \
        "$((pcl + pdi + phu))" "$phu" >> "$runs_file"
    printf '"shared_hugetlb_kb": %d, "hugepages_used": %d}\n' \
        "$shu" "$((huge_after - huge_before))" >> "$runs_file"
    sed -i 's/: ,/: null,/g; s/: }/: null}/' "$runs_file"
    tail -1 "$runs_file" | python3 "$srcdir/utilities/ovs-bench-report.py" \
        --one-line >&2
    if test "$line" = null; then
        mkdir -p "$workdir/failed"
        cp -r "$dir" "$workdir/failed/"
        remove_workdir=false
    fi
    if ! $keep_runs; then
        rm -rf "$dir"
    fi
}

# The callgrind run: our switch (vhostuser ports) under callgrind, a
# vhost-user-peer sender on p1 and receiver on p2.  Instrumentation is on
# only while the measured frames flow (after a warm-up that installs the
# datapath flows).
run_callgrind () {
    local n=$cg_packets
    start_ovsdb "$workdir/callgrind" || return 1
    # Valgrind runs one thread at a time: a PMD thread that may sleep (up
    # to 1 ms) when it finds nothing, and fair scheduling, leave the control
    # thread time to answer the peers.
    vsctl --no-wait set Open_vSwitch . \
        other_config:pmd-cpu-mask="$(printf '0x%x' $((1 << pmd_cpu)))" \
        other_config:pmd-maxsleep=1000 || return 1
    OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir OVS_SYSCONFDIR=$dir \
        unshare -n valgrind --tool=callgrind --instr-atstart=no \
        --fair-sched=yes \
        --callgrind-out-file="$dir/callgrind.out" \
        "$OURS" "unix:$dir/db.sock" --no-chdir \
        --pidfile="$dir/ovs-vswitchd.pid" \
        --unixctl="$dir/ovs-vswitchd.ctl" \
        --log-file="$dir/ovs-vswitchd.log" \
        > "$dir/valgrind.out" 2>&1 &
    sw_pid=$!
    pids="$pids $sw_pid"
    wait_for 120 test -S "$dir/ovs-vswitchd.ctl" || return 1
    vsctl add-br br0 -- set bridge br0 datapath_type=netdev \
        fail-mode=secure || return 1
    add_port p1 1 vhostuser && add_port p2 2 vhostuser && add_flows \
        || return 1
    wait_for 60 test -S "$dir/p1" -a -S "$dir/p2" || return 1

    # peer_pass COUNT: sends COUNT frames p1 -> p2; prints what the
    # receiver received.
    peer_pass () {
        "$PEER" --socket="$dir/p2" --ring-size=1024 --connect-timeout=60 \
            --quiet recv --count="$1" --idle=60 > "$dir/recv.out" 2>&1 &
        local rpid=$!
        pids="$pids $rpid"
        wait_for 60 link_up p2
        "$PEER" --socket="$dir/p1" --ring-size=1024 --connect-timeout=60 \
            --quiet send --count="$1" > "$dir/send.out" 2>&1
        wait "$rpid"
        pids=$(echo $pids | tr ' ' '\n' | grep -vx "$rpid" | tr '\n' ' ')
        sed -n 's/^received=\([0-9]*\).*/\1/p' "$dir/recv.out"
    }
    log "callgrind: warm-up, then $n frames of 64 B through our switch"
    peer_pass 1000 > /dev/null
    callgrind_control -i on "$sw_pid" > /dev/null || return 1
    received=$(peer_pass "$n")
    callgrind_control -i off "$sw_pid" > /dev/null
    callgrind_control -d "$sw_pid" > /dev/null
    stop_switch
    # The explicit dump is callgrind.out.1 (the file written at exit holds
    # nothing: instrumentation was off by then).
    local out=$dir/callgrind.out.1
    callgrind_annotate --threshold=100 --auto=no --inclusive=yes "$out" \
        > "$dir/inclusive.txt" 2> /dev/null
    callgrind_annotate --threshold=100 --auto=no "$out" \
        > "$dir/self.txt" 2> /dev/null
    python3 "$srcdir/utilities/ovs-bench-report.py" --callgrind \
        "$dir/inclusive.txt" "$dir/self.txt" "${received:-0}" \
        > "$workdir/callgrind.json"
}

# run_rx_mode ROUND CONFIG: the receive-mode figures of one switch
# configuration: $idle_ports dpdkvhostuser ports with a connected, idle
# vhost-user-peer each (kick and call eventfds, as a guest's driver uses);
# the switch's CPU time over $idle_seconds s from /proc/PID/stat; then
# $ping_count round trips (one frame at a time, $ping_rate per second) from
# a ping peer on p1 through the switch to the echo peer on p2 and back.
# Appends a JSON line to $rx_runs_file.
run_rx_mode () {
    local round=$1 config=$2 binary settings i peer_pids= t0 t1 c0 c1 line
    case $config in
    ours-polling|ours-adaptive|ours-interrupt)
        binary=$OURS settings="vhost-user-rx-mode=${config#ours-}" ;;
    ovs-dpdk) binary=$OVS_DPDK settings= ;;
    ovs-dpdk-maxsleep)
        binary=$OVS_DPDK settings="pmd-maxsleep=10000" ;;
    esac
    start_switch "$config-r$round" "$binary" dpdkvhostuser $settings \
        || return 1
    for i in $(seq "$idle_ports"); do
        add_port "p$i" "$i" dpdkvhostuser || return 1
    done
    add_flows || return 1
    for i in $(seq "$idle_ports"); do
        start_idle_peer "p$i" || return 1
        peer_pids="$peer_pids $peer_pid"
    done
    for i in $(seq "$idle_ports"); do
        wait_for 30 link_up "p$i" || { log "$config: p$i not up"; return 1; }
    done
    # Settled (OVS-DPDK finishes its set-up), then idle.
    sleep 2
    c0=$(awk '{ print $14 + $15 }' "/proc/$sw_pid/stat")
    t0=$(date +%s.%N)
    sleep "$idle_seconds"
    c1=$(awk '{ print $14 + $15 }' "/proc/$sw_pid/stat")
    t1=$(date +%s.%N)

    # The echo peer on p1 makes way for the pinging one.
    peer_pids=${peer_pids# }
    stop_pid "${peer_pids%% *}"
    peer_pids=${peer_pids#* }
    wait_for 20 link_down p1 || { log "$config: p1 stays up"; return 1; }
    line=$(taskset -c "$gen_cpu" "$PEER" --socket="$dir/p1" --notify=on -q \
               --rate="$ping_rate" --count="$ping_count" ping 2> "$dir/ping.err")
    log "round $round, $config: idle $((c1 - c0)) ticks in" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s; $line"
    for i in $peer_pids; do
        stop_pid "$i"
    done
    printf '{"round": %d, "config": "%s", "idle_ticks": %d, "idle_seconds": %s, "clk_tck": %d, "ping": "%s"}\n' \
        "$round" "$config" "$((c1 - c0))" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$(getconf CLK_TCK)" "$line" >> "$rx_runs_file"
    stop_switch
}

log "$(nproc) CPUs; PMD threads on CPU $pmd_cpu, testpmd forwarding on" \
    "CPU $gen_cpu; load average $(cut -d' ' -f1-3 /proc/loadavg)"
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
setup_hugepages

if $rx_modes; then
    rx_runs_file=$workdir/rx-runs.jsonl
    : > "$rx_runs_file"
    configs="ours-polling ours-adaptive ours-interrupt"
    if $compare; then
        configs="$configs ovs-dpdk ovs-dpdk-maxsleep"
    fi
    for round in $(seq "$rounds"); do
        for config in $configs; do
            if ! run_rx_mode "$round" "$config"; then
                log "round $round, $config failed"
                mkdir -p "$workdir/failed"
                test -n "$dir" && cp -r "$dir" "$workdir/failed/"
                remove_workdir=false
                stop_switch
            fi
        done
    done
    python3 "$srcdir/utilities/rx-mode-bench-report.py" "$rx_runs_file" \
        --json "$json" \
        --meta "nproc=$(nproc)" "pmd_cpu=$pmd_cpu" "gen_cpu=$gen_cpu" \
        "idle_ports=$idle_ports" "idle_seconds=$idle_seconds" \
        "ping_count=$ping_count" "ping_rate=$ping_rate" "rounds=$rounds" \
        "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        "ours_commit=$(git -C "$srcdir" rev-parse --short HEAD 2> /dev/null)"
    exit $?
fi

if $offloads; then
    . "$srcdir/utilities/ovs-bench-offloads.sh"
    run_offloads
    exit $?
fi

switches=
if $compare; then
    switches=ovs-dpdk
fi
for v in ${variants//,/ }; do
    case $v in
    client) switches="$switches ours" ;;
    server) switches="$switches ours-server" ;;
    locked) switches="$switches ours-locked" ;;
    park) switches="$switches ours-park" ;;
    packed) switches="$switches ours-packed"
        if $compare; then
            switches="$switches ovs-dpdk-packed"
        fi ;;
    polling|adaptive|interrupt) switches="$switches ours-$v" ;;
    *) die "unknown variant $v" ;;
    esac
done

for round in $(seq "$rounds"); do
  for size in $sizes; do
    for ring in $ring_sizes; do
      for idle in $idle_vifs; do
        for sw in $switches; do
            if ! run_one "$round" "$sw" "$size" "$ring" "$idle"; then
                mkdir -p "$workdir/failed"
                test -n "$dir" && cp -r "$dir" "$workdir/failed/"
                remove_workdir=false
                stop_testpmd
                stop_idle_vifs
                stop_switch
                printf '{"round": %d, "switch": "%s", "size": %d, ' \
                    "$round" "$sw" "$size" >> "$runs_file"
                printf '"ring": %d, "idle_vifs": %d, "intervals": null}\n' \
                    "$ring" "$idle" >> "$runs_file"
            fi
        done
      done
    done
  done
done
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)

echo '{}' > "$workdir/callgrind.json"
if $callgrind; then
    run_callgrind || { log "callgrind run failed"; remove_workdir=false; }
fi

python3 "$srcdir/utilities/ovs-bench-report.py" --runs "$runs_file" \
    --callgrind-json "$workdir/callgrind.json" --json "$json" \
    --meta "nproc=$(nproc)" "pmd_cpu=$pmd_cpu" "gen_cpu=$gen_cpu" \
    "loadavg_start=$loadavg_start" "loadavg_end=$loadavg_end" \
    "warmup=$warmup" "interval=$interval" "intervals=$intervals" \
    "rounds=$rounds" "gen_hugepages=$gen_huge" "socket_mem=$socket_mem" \
    "queues=$queues" \
    "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "ours_commit=$(git -C "$srcdir" rev-parse --short HEAD 2> /dev/null)"
