#!/bin/sh
# Sets up a Debian 12 machine, builds ovs-vhostuser and runs the switch in
# a sandbox with a bridge and vhost-user ports.  README.rst's first command.
# Run as root.
#
# Environment: BUILD_DIR (default _build in the source tree), DEMO_DIR
# (default /tmp/ovs-vhostuser-demo), KEEP=1 leaves the switch running.

set -e

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$srcdir/_build}
demo=${DEMO_DIR:-/tmp/ovs-vhostuser-demo}
sandbox=$srcdir/utilities/ovs-vhostuser-sandbox.sh

BUILD_DIR=$build "$srcdir/utilities/setup-build.sh"
build=$(cd "$build" && pwd)
export BUILD_DIR=$build

"$sandbox" stop "$demo" >/dev/null 2>&1 || true
rm -rf "$demo"
"$sandbox" start "$demo" >/dev/null
eval "$("$sandbox" env "$demo")"
cleanup() {
    if [ -z "$KEEP" ]; then
        "$sandbox" stop "$demo"
    else
        echo "The switch keeps running; stop it with: $sandbox stop $demo"
    fi
}
trap cleanup EXIT

peer=$build/utilities/vhost-user-peer

set -x
ovs-vsctl add-br br0 -- set bridge br0 datapath_type=netdev
# vm1: the switch is the socket server.  vm2: the switch connects to a
# frontend that listens.
ovs-vsctl add-port br0 vm1 -- set interface vm1 type=vhostuser ofport_request=1
ovs-vsctl add-port br0 vm2 -- set interface vm2 type=vhostuserclient \
    ofport_request=2 options:vhost-server-path="$demo/vm2.sock"
ovs-vsctl get Open_vSwitch . iface_types
ovs-ofctl add-flow br0 in_port=1,actions=output:2
ovs-ofctl add-flow br0 in_port=2,actions=output:1

# Two userspace virtio-net frontends (utilities/vhost-user-peer), one per
# port: vm2's receives what vm1's sends, through the flows above.
"$peer" --socket="$demo/vm2.sock" --server -q recv --count=20000 --idle=5 \
    > "$demo/recv.out" &
recv_pid=$!
set +x
echo "run-demo.sh: waiting for vm2's frontend to be up"
for i in $(seq 100); do
    [ "$(ovs-vsctl get interface vm2 link_state)" = up ] && break
    sleep 0.1
done
set -x
"$peer" --socket="$demo/vm1" -q send --count=20000 --rate=50000
wait $recv_pid
cat "$demo/recv.out"
ovs-ofctl dump-flows br0
ovs-ofctl dump-ports br0
ovs-vsctl --columns=name,type,ofport,error,status list interface vm1 vm2
ovs-appctl dpif-netdev/pmd-rxq-show
set +x
# The switch drops (and counts in tx_dropped) what vm2's ring cannot take:
# on a busy machine a few may go; the test suite checks exact counts.
received=$(sed -n 's/^received=\([0-9]*\) bad=0 .*/\1/p' "$demo/recv.out")
if [ -z "$received" ] || [ "$received" -lt 19000 ]; then
    echo "run-demo.sh: vm2 received ${received:-no} frames of 20000" >&2
    exit 1
fi
echo "run-demo.sh: $received of 20000 frames went from vm1 to vm2 through" \
     "the switch."
