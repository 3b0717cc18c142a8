#!/bin/sh
# Prepares an Open vSwitch source+build tree for ovs-vhostuser to build
# against: Debian's openvswitch-source tarball, configured without DPDK and
# AF_XDP, with only the pieces we link or run built.
#
# The tree is cached under $OVS_CACHE_DIR (default /var/cache/ovs-vhostuser),
# keyed by the tarball's hash and this script's flags, so later builds on the
# same machine reuse it.  Prints the tree's path on its last line.
#
# Usage: ovs-prepare.sh [TARBALL]

set -e

tarball=${1:-/usr/src/openvswitch/openvswitch.tar.gz}
cache=${OVS_CACHE_DIR:-/var/cache/ovs-vhostuser}
jobs=${OVS_BUILD_JOBS:-$(($(nproc) + 1))}

# Bump when the configure flags or the target list change.
recipe=1
configure_flags="--prefix=/usr --localstatedir=/var --sysconfdir=/etc \
--disable-afxdp --without-dpdk --enable-silent-rules"
targets="lib/libopenvswitch.la lib/libsflow.la ofproto/libofproto.la \
vswitchd/bridge.o vswitchd/ovs-vswitchd.o vswitchd/system-stats.o \
vswitchd/ovs-vswitchd ovsdb/ovsdb-server ovsdb/ovsdb-tool ovsdb/ovsdb-client \
utilities/ovs-vsctl utilities/ovs-ofctl utilities/ovs-appctl \
utilities/ovs-dpctl tests/atlocal"

if [ ! -r "$tarball" ]; then
    echo "$0: $tarball not found (apt-get install openvswitch-source)" >&2
    exit 1
fi

key=$(sha256sum "$tarball" | cut -c1-16)-r$recipe
tree=$cache/ovs-$key
if [ -f "$tree/.ovs-vhostuser-ready" ]; then
    echo "$0: reusing prepared Open vSwitch tree" >&2
    echo "$tree"
    exit 0
fi

echo "$0: preparing Open vSwitch in $tree (about 10 minutes)" >&2
start=$(date +%s)
mkdir -p "$cache"
# Build in place (configure records absolute paths); the marker file says
# the tree is complete, so an interrupted preparation starts over.
rm -rf "$tree"
mkdir "$tree"
tar xzf "$tarball" -C "$tree" --strip-components=1
(
    cd "$tree"
    # shellcheck disable=SC2086
    ./configure $configure_flags >configure.log 2>&1 \
        || { tail -30 configure.log >&2; exit 1; }
    # Generated headers (odp-netlink.h, vswitch-idl.h, ...) are only made
    # by "make all" on its own; make them first, then just our targets.
    built=$(printf 'show:\n\t@echo $(BUILT_SOURCES)\n' \
            | make -s -f Makefile -f - show)
    # shellcheck disable=SC2086
    make -j"$jobs" $built >/dev/null
    # shellcheck disable=SC2086
    make -j"$jobs" $targets
)
touch "$tree/.ovs-vhostuser-ready"
echo "$0: prepared in $(($(date +%s) - start)) s" >&2
echo "$tree"
