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

"$srcdir/utilities/install-deps.sh" test

cd "$srcdir"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    ./boot.sh >/dev/null 2>&1 || ./boot.sh
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$srcdir/configure" -nt config.status ]; then
    "$srcdir/configure"
fi
make -j"$(nproc)"
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

set -x
ovs-vsctl add-br br0 -- set bridge br0 datapath_type=netdev
ovs-vsctl add-port br0 vm1 -- set interface vm1 type=vhostuser
ovs-vsctl add-port br0 vm2 -- set interface vm2 type=vhostuserclient \
    options:vhost-server-path="$demo/vm2-frontend.sock"
ovs-vsctl get Open_vSwitch . iface_types
ovs-vsctl --columns=name,type,ofport,error,status list interface vm1 vm2
ovs-appctl dpif-netdev/pmd-rxq-show
