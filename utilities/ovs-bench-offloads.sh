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

# ovs-bench-offloads.sh: the checksum and TSO figures of "ovs-bench.sh
# --offloads", sourced by ovs-bench.sh (it uses its start_switch, add_port,
# add_flows, stop_switch, stop_pid, wait_for, link_up, log and $pids).
#
# Four switch configurations, interleaved per round:
#
#   ours-tso      our switch, other_config:userspace-tso-enable=true;
#   ours-tso-interrupt  the same, its PMD thread sleeping whenever its
#                 rxqs are empty (vhost-user-rx-mode=interrupt), which
#                 leaves the CPU to the guests;
#   ours          our switch without it (no offload offered);
#   ovs-dpdk-tso  OVS-DPDK 3.1 with userspace-tso-enable=true;
#   ovs-dpdk      OVS-DPDK 3.1 without it.
#
# For each, two Linux guests under QEMU (tests/guest-image; TCG, or KVM
# with --guest-accel) on two ports with flows between them, for each of
# --tcp-ports: client ports
# (vhostuserclient, dpdkvhostuserclient: QEMU listens, as os-vif plugs
# them) and server ports (vhostuser, dpdkvhostuser: QEMU connects, as a
# libvirt <interface type='vhostuser'> in mode 'client' does), and
# --tcp-transfers bulk TCP transfers of a --tcp-mb MiB file from guest 1
# to guest 2 over HTTP (busybox httpd and wget), each timed inside guest 2
# from /proc/uptime, complete if wget succeeded and guest 2's eth0
# received at least the file's bytes; a transfer not done after
# --tcp-timeout seconds is stopped and counted incomplete.
#
# Then, for ours-tso and ovs-dpdk-tso, the peer-level figure: one
# vhost-user-peer sends 64 KB TSO frames (--tso=on) on p1 for
# --tso-seconds, another that negotiated GUEST_TSO4 receives them on p2;
# the receiver's payload bytes give the Gbit/s.
#
# Every PMD thread may sleep (pmd-maxsleep=1000): the guests' vCPUs need
# the CPUs, on both switches alike.

qemu_guest=$srcdir/tests/guest-image/qemu-guest.sh
offload_runs_file=$workdir/offload-runs.jsonl

# gb_run NAME SECONDS COMMAND: runs COMMAND (one line) in guest NAME of the
# current switch's directory and prints its output; fails if the guest
# did not finish it within SECONDS.  The command numbers are kept in a
# file: callers run it in subshells.
gb_run () {
    local name=$1 limit=$2 seq
    seq=$(( $(cat "$dir/$name.seq" 2> /dev/null || echo 0) + 1 ))
    echo "$seq" > "$dir/$name.seq"
    # QEMU holds the FIFO open; without QEMU the write would block.
    timeout 10 sh -c 'printf "%s\n" "$1" > "$2"' sh "$seq $3" \
        "$dir/$name.cmd.in" || return 1
    wait_for "$limit" grep -q "^vhu-end $seq rc=" "$dir/$name.log" \
        || return 1
    tr -d '\r' < "$dir/$name.log" \
        | sed -n "/^vhu-begin $seq\$/,/^vhu-end $seq rc=/p" | sed '1d;$d'
}

# gb_start NAME SOCKET MAC ADDRESS PEER-ADDRESS PEER-MAC: boots guest NAME
# in the background on the vhost-user socket SOCKET, where QEMU listens if
# $qemu_opt is --server.
gb_start () {
    (cd "$dir" && exec "$qemu_guest" $qemu_opt --accel="$guest_accel" \
         --mem="$guest_mem" "$1" "$2" "$3" \
         "vhu.ip=$4/24" "vhu.arp=$5@$6") > /dev/null 2>&1 &
    echo $! > "$dir/$1.pid"
    pids="$pids $!"
}

gb_ready () {
    grep -q '^vhu-ready' "$dir/$1.log" 2> /dev/null
}

gb_link_up () {
    test "$(gb_run "$1" 20 'cat /sys/class/net/eth0/operstate')" = up
}

# gb_transfer: one timed transfer of /www/data from g1's web server to
# g2 (busybox httpd, which sends the file with sendfile(); busybox wget,
# which reads 64 KB at a time: nc's 1 KB reads and writes would cost the
# TCG guests more than the network); prints "BYTES SECONDS": the file's
# size if the transfer was complete (wget succeeded, and g2's eth0
# received at least that many bytes), else 0.
gb_transfer () {
    local out
    out=$(gb_run g2 $((tcp_timeout + 30)) "b0=\$(cat /sys/class/net/eth0/statistics/rx_bytes); t0=\$(cut -d' ' -f1 /proc/uptime); timeout $tcp_timeout wget -q -O /dev/null http://10.0.0.1/data; rc=\$?; t1=\$(cut -d' ' -f1 /proc/uptime); b1=\$(cat /sys/class/net/eth0/statistics/rx_bytes); echo \$rc \$((b1 - b0)) \$t0 \$t1") \
        || return 1
    # (A stopped wget's shell says "Terminated" first.)
    set -- $(echo "$out" | tail -1)
    test $# = 4 || return 1
    # wget fails on a connection that ends early; the frames' bytes
    # include the headers.
    if test "$1" != 0 || test "$2" -lt $((tcp_mb * 1048576)); then
        echo "0 $(awk -v a="$3" -v b="$4" 'BEGIN { print b - a }')"
    else
        echo "$((tcp_mb * 1048576)) $(awk -v a="$3" -v b="$4" \
                                        'BEGIN { print b - a }')"
    fi
}

# run_tcp_guests ROUND CONFIG PORTS: the guest-to-guest figures of one
# switch configuration with client or server PORTS; appends a JSON line to
# $offload_runs_file.
run_tcp_guests () {
    local round=$1 config=$2 ports=$3 binary type tso=false i res
    local transfers= feats= qemu_opt= mode=
    case $config in
    ours-tso) binary=$OURS type=vhostuser tso=true ;;
    ours-tso-interrupt) binary=$OURS type=vhostuser tso=true mode=interrupt ;;
    ours) binary=$OURS type=vhostuser ;;
    ovs-dpdk-tso) binary=$OVS_DPDK type=dpdkvhostuser tso=true ;;
    ovs-dpdk) binary=$OVS_DPDK type=dpdkvhostuser ;;
    esac
    if test "$ports" = client; then
        type=${type}client qemu_opt=--server
    fi
    start_switch "tcp-$config-$ports-r$round" "$binary" "$type" \
        pmd-maxsleep=1000 userspace-tso-enable=$tso \
        ${mode:+vhost-user-rx-mode=$mode} || return 1
    if test "$ports" = client; then
        # QEMU listens first: OVS-DPDK retries a failed connection only
        # every 10 s.
        gb_start g1 "$dir/g1.sock" 52:54:00:00:00:01 10.0.0.1 10.0.0.2 \
            52:54:00:00:00:02
        gb_start g2 "$dir/g2.sock" 52:54:00:00:00:02 10.0.0.2 10.0.0.1 \
            52:54:00:00:00:01
        wait_for 60 test -S "$dir/g1.sock" -a -S "$dir/g2.sock" \
            || { log "$config: QEMU did not listen"; return 1; }
        add_port p1 1 "$type" g1.sock && add_port p2 2 "$type" g2.sock \
            && add_flows || return 1
    else
        add_port p1 1 "$type" && add_port p2 2 "$type" && add_flows \
            || return 1
        wait_for 30 test -S "$dir/p1" -a -S "$dir/p2" || return 1
        gb_start g1 "$dir/p1" 52:54:00:00:00:01 10.0.0.1 10.0.0.2 \
            52:54:00:00:00:02
        gb_start g2 "$dir/p2" 52:54:00:00:00:02 10.0.0.2 10.0.0.1 \
            52:54:00:00:00:01
    fi
    for i in g1 g2; do
        wait_for 300 gb_ready $i \
            || { log "$config: guest $i did not boot"; return 1; }
    done
    wait_for 60 link_up p1 && wait_for 60 link_up p2 \
        && wait_for 60 gb_link_up g1 && wait_for 60 gb_link_up g2 \
        || { log "$config: links did not come up"; return 1; }
    # The guests' view of the offered offloads (the bit string of the
    # device's features, bit 0 first): CSUM, GUEST_CSUM, GUEST_TSO4,
    # HOST_TSO4.
    feats=$(tr -d '\r' < "$dir/g1.log" \
                | sed -n 's/.*features=\([01]*\).*/\1/p' | cut -c1,2,8,12)
    gb_run g1 120 'ping -c 3 -W 20 10.0.0.2' > /dev/null
    gb_run g1 120 "mkdir -p /www && dd if=/dev/zero of=/www/data bs=1048576 count=$tcp_mb 2>/dev/null && httpd -p 80 -h /www" \
        || return 1
    for i in $(seq "$tcp_transfers"); do
        res=$(gb_transfer) || { log "$config: transfer $i failed"; return 1; }
        log "round $round, $config, $ports ports: transfer $i:" \
            "${res% *} bytes in" \
            "${res#* } s"
        transfers="$transfers${transfers:+, }[${res% *}, ${res#* }]"
    done
    printf '{"kind": "tcp", "round": %d, "config": "%s/%s", "bytes": %d, ' \
        "$round" "$config" "$ports" $((tcp_mb * 1048576)) \
        >> "$offload_runs_file"
    printf '"guest_features": "%s", "transfers": [%s]}\n' "$feats" \
        "$transfers" >> "$offload_runs_file"
    for i in g1 g2; do
        stop_pid "$(cat "$dir/$i.pid")"
    done
    stop_switch
}

# run_tso_peers ROUND CONFIG: the peers' 64 KB TSO frames through one
# switch configuration (ours-tso or ovs-dpdk-tso); appends a JSON line to
# $offload_runs_file.
run_tso_peers () {
    local round=$1 config=$2 binary type rx_pid tx_pid out bytes bad
    case $config in
    ours-tso) binary=$OURS type=vhostuserclient ;;
    ovs-dpdk-tso) binary=$OVS_DPDK type=dpdkvhostuserclient ;;
    esac
    start_switch "tso-$config-r$round" "$binary" "$type" pmd-maxsleep=1000 \
        userspace-tso-enable=true || return 1
    # The peers listen, as QEMU does for client ports; the receiver stops
    # once nothing came for 5 s, the sender sends for --tso-seconds once
    # the switch has connected.
    "$PEER" --server --socket="$dir/s2.sock" --tso=on --ring-size=1024 \
        --quiet recv --duration=$((tso_seconds + 90)) --idle=5 \
        > "$dir/rx.out" 2> "$dir/rx.err" &
    rx_pid=$!
    pids="$pids $rx_pid"
    wait_for 30 test -S "$dir/s2.sock" || return 1
    add_port p2 2 "$type" s2.sock && add_flows || return 1
    wait_for 30 link_up p2 || { log "$config: p2 did not come up"; return 1; }
    "$PEER" --server --socket="$dir/s1.sock" --tso=on --ring-size=1024 \
        --frame-size=65535 --quiet send --duration="$tso_seconds" \
        > "$dir/tx.out" 2> "$dir/tx.err" &
    tx_pid=$!
    pids="$pids $tx_pid"
    wait_for 30 test -S "$dir/s1.sock" || return 1
    add_port p1 1 "$type" s1.sock || return 1
    wait "$tx_pid" || log "$config: sender: $(cat "$dir/tx.err")"
    wait "$rx_pid"
    pids=$(echo $pids | tr ' ' '\n' | grep -vx "$rx_pid\|$tx_pid" \
               | tr '\n' ' ')
    out=$(cat "$dir/rx.out")
    bytes=$(echo "$out" | sed -n 's/.*rx_payload_bytes=\([0-9]*\).*/\1/p')
    bad=$(echo "$out" | sed -n 's/.* bad=\([0-9]*\).*/\1/p')
    log "round $round, $config: sender: $(cat "$dir/tx.out"); receiver: $out"
    printf '{"kind": "tso", "round": %d, "config": "%s", "seconds": %s, ' \
        "$round" "$config" "$tso_seconds" >> "$offload_runs_file"
    printf '"payload_bytes": %d, "bad": %d, "gbps": %s, "sender": "%s", ' \
        "${bytes:-0}" "${bad:-0}" \
        "$(awk -v b="${bytes:-0}" -v s="$tso_seconds" \
               'BEGIN { printf "%.3f", b * 8 / s / 1e9 }')" \
        "$(cat "$dir/tx.out")" >> "$offload_runs_file"
    printf '"receiver": "%s"}\n' "$out" >> "$offload_runs_file"
    stop_switch
}

# kvm_usable: whether QEMU can start a machine under KVM here (/dev/kvm
# may exist without the CPU's virtualization reaching this machine).
kvm_usable () {
    test -w /dev/kvm || return 1
    printf 'quit\n' | timeout 30 qemu-system-x86_64 -accel kvm -M none \
        -display none -nodefaults -monitor stdio > /dev/null 2>&1
}

# run_offloads: every round of every configuration, then the report.
run_offloads () {
    local round config ports peer_configs=ours-tso
    local configs="ours-tso ours-tso-interrupt ours"
    if $compare; then
        configs="$configs ovs-dpdk-tso ovs-dpdk"
        peer_configs="$peer_configs ovs-dpdk-tso"
    fi
    GUEST_IMAGE_DIR=$build_dir/tests/guest
    export GUEST_IMAGE_DIR
    if test "$guest_accel" = auto; then
        guest_accel=tcg
        kvm_usable && guest_accel=kvm
    fi
    log "guests run under $guest_accel"
    # Room for the served file in the guest's tmpfs, besides the system.
    guest_mem=$((tcp_mb + 448))
    test "$guest_mem" -lt 512 && guest_mem=512
    "$srcdir/tests/guest-image/build.sh" "$GUEST_IMAGE_DIR" > /dev/null \
        || die "cannot build the guest image"
    : > "$offload_runs_file"
    for round in $(seq "$rounds"); do
        for ports in ${tcp_ports//,/ }; do
            for config in $configs; do
                if ! run_tcp_guests "$round" "$config" "$ports"; then
                    log "round $round, $config, $ports ports: guest TCP" \
                        "run failed"
                    offload_failed
                fi
            done
        done
        for config in $peer_configs; do
            if ! run_tso_peers "$round" "$config"; then
                log "round $round, $config: peer TSO run failed"
                offload_failed
            fi
        done
    done
    python3 "$srcdir/utilities/offload-bench-report.py" \
        "$offload_runs_file" --json "$json" \
        --meta "nproc=$(nproc)" "pmd_cpu=$pmd_cpu" "rounds=$rounds" \
        "tcp_mb=$tcp_mb" "tcp_transfers=$tcp_transfers" \
        "tcp_timeout=$tcp_timeout" "tso_seconds=$tso_seconds" \
        "guest_accel=$guest_accel" \
        "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        "ours_commit=$(git -C "$srcdir" rev-parse --short HEAD 2> /dev/null)"
}

# offload_failed: keeps the failed run's directory and stops what it ran.
offload_failed () {
    local pid
    mkdir -p "$workdir/failed"
    test -n "$dir" && cp -r "$dir" "$workdir/failed/"
    remove_workdir=false
    for pid in $(cat "$dir"/*.pid 2> /dev/null); do
        case " $pids " in
        *" $pid "*) stop_pid "$pid" ;;
        esac
    done
    stop_switch
}
