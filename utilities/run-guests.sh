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

# Boots two Linux guests under QEMU on vhostuser ports of a sandbox switch
# and shows them pinging each other through it, with the ports' status and
# statistics.  Run as root on Debian 12; installs what it needs and builds
# ovs-vhostuser first, as run-demo.sh does.
#
# Environment: BUILD_DIR (default _build in the source tree), GUESTS_DIR
# (default /tmp/ovs-vhostuser-guests), COUNT (pings each way, default 5),
# KEEP=1 leaves the switch and the guests running.

set -e

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$srcdir/_build}
dir=${GUESTS_DIR:-/tmp/ovs-vhostuser-guests}
count=${COUNT:-5}
sandbox=$srcdir/utilities/ovs-vhostuser-sandbox.sh
qemu_guest=$srcdir/tests/guest-image/qemu-guest.sh

# Build ovs-vhostuser unless it is built already.
BUILD_DIR=$build "$srcdir/utilities/setup-build.sh"
build=$(cd "$build" && pwd)
cd "$build"
export BUILD_DIR=$build

# The guest: Debian's kernel and a busybox initramfs, built once.
GUEST_IMAGE_DIR=$build/tests/guest
export GUEST_IMAGE_DIR
"$srcdir/tests/guest-image/build.sh" "$GUEST_IMAGE_DIR"

# A fresh sandbox switch with bridge br0 and ports vm1 and vm2, whose
# sockets are $dir/vm1 and $dir/vm2.
"$sandbox" stop "$dir" >/dev/null 2>&1 || true
for pidfile in "$dir"/vm1.pid "$dir"/vm2.pid; do
    if [ -f "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
done
rm -rf "$dir"
mkdir -p "$dir"
"$sandbox" start "$dir" >/dev/null
eval "$("$sandbox" env "$dir")"
cd "$dir"

cleanup() {
    if [ -n "$KEEP" ]; then
        cat <<EOF

The switch and the guests keep running.  In $dir: vm1.log and vm2.log
are the consoles; a command line written to vm1.cmd.in runs in guest 1
(as "ID COMMAND", output on its console), e.g.
    echo "1 ping -c 3 10.0.0.2" > $dir/vm1.cmd.in; cat $dir/vm1.log
Stop everything with:
    kill \$(cat $dir/vm1.pid) \$(cat $dir/vm2.pid); $sandbox stop $dir
EOF
        return
    fi
    for pidfile in vm1.pid vm2.pid; do
        if [ -f "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
    "$sandbox" stop "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ovs-vsctl add-br br0 -- set bridge br0 datapath_type=netdev \
    -- add-port br0 vm1 -- set interface vm1 type=vhostuser ofport_request=1 \
    -- add-port br0 vm2 -- set interface vm2 type=vhostuser ofport_request=2
ovs-ofctl add-flow br0 actions=NORMAL

# Both guests, in the background; each one's pid in vmN.pid.
echo "Booting two guests under QEMU (TCG; 10 to 60 s)..."
"$qemu_guest" vm1 "$dir/vm1" 52:54:00:00:00:01 vhu.ip=10.0.0.1/24 &
echo $! > vm1.pid
"$qemu_guest" vm2 "$dir/vm2" 52:54:00:00:00:02 vhu.ip=10.0.0.2/24 &
echo $! > vm2.pid

# wait_for SECONDS FILE PATTERN: waits until FILE has a line matching
# PATTERN; fails after SECONDS or if a guest stopped.
wait_for() {
    i=0
    while ! grep -q "$3" "$2" 2>/dev/null; do
        for vm in vm1 vm2; do
            if ! kill -0 "$(cat $vm.pid)" 2>/dev/null; then
                echo "$0: guest $vm stopped:" >&2
                cat $vm.log $vm.qemu.log >&2
                exit 1
            fi
        done
        i=$((i + 1))
        if [ $i -gt "$1" ]; then
            echo "$0: no '$3' in $2 after $1 s" >&2
            exit 1
        fi
        sleep 1
    done
}

# guest_run VM COMMAND: runs COMMAND in guest VM and prints its output.
seq=0
guest_run() {
    seq=$((seq + 1))
    # QEMU keeps the FIFO open; without QEMU the write would block.
    timeout 10 sh -c 'printf "%s\n" "$1" > "$2"' sh "$seq $2" "$1.cmd.in"
    wait_for 120 "$1.log" "^vhu-end $seq "
    tr -d '\r' < "$1.log" \
        | sed -n "/^vhu-begin $seq\$/,/^vhu-end $seq /p" | sed '1d;$d'
}

wait_for 240 vm1.log '^vhu-ready'
wait_for 240 vm2.log '^vhu-ready'
echo
tr -d '\r' < vm1.log | grep '^vhu-ready'
tr -d '\r' < vm2.log | grep '^vhu-ready'

# The switch's PMD thread looks again at which queues a port has enabled
# only every 1025 of its loop iterations, which an idle PMD thread that
# sleeps (pmd-maxsleep) takes seconds to go through: the first frames of
# new guests wait that long.  (See Documentation/guests.rst.)
echo
start=$(date +%s)
guest_run vm1 "ping -c 1 -W 30 10.0.0.2" > /dev/null
echo "The first frame got through after $(($(date +%s) - start)) s."

echo
echo "== vm1 (10.0.0.1) pings vm2 (10.0.0.2) through br0"
guest_run vm1 "ping -c $count -i 0.2 10.0.0.2"
echo
echo "== vm2 pings vm1"
guest_run vm2 "ping -c $count -i 0.2 10.0.0.1"

echo
echo "== ovs-ofctl dump-ports br0"
ovs-ofctl dump-ports br0
echo
echo "== ovs-appctl fdb/show br0"
ovs-appctl fdb/show br0
for vm in vm1 vm2; do
    echo
    echo "== ovs-vsctl get interface $vm status"
    ovs-vsctl get interface $vm status
done
# The database gets the statistics every 5 s.
sleep 5
for vm in vm1 vm2; do
    echo
    echo "== ovs-vsctl get interface $vm statistics"
    ovs-vsctl get interface $vm statistics
done
