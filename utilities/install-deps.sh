#!/bin/sh
# Installs the Debian 12 packages that building and testing ovs-vhostuser
# need.  Run as root.  Skips apt-get altogether when everything is there.
#
# Usage: install-deps.sh [build|test]   (default: test, a superset)

set -e

build_pkgs="gcc make autoconf automake libtool pkg-config \
openvswitch-source libssl-dev libcap-ng-dev libunwind-dev \
python3 iproute2 util-linux procps"
# Independent peers and tools the tests use: DPDK's testpmd (virtio-user
# and vhost backends), clang's libFuzzer and sanitizers, QEMU and busybox
# for Linux guests (their kernel is unpacked from linux-image-amd64 without
# installing it).
# OVN (ovn-central, ovn-host) for the SDN tests; the daemons its
# installation may start are not used (the tests start their own).
test_pkgs="dpdk-dev clang libclang-rt-14-dev valgrind qemu-system-x86 \
busybox-static cpio ovn-central ovn-host"

case ${1:-test} in
build) pkgs=$build_pkgs ;;
test)  pkgs="$build_pkgs $test_pkgs" ;;
*)     echo "usage: $0 [build|test]" >&2; exit 1 ;;
esac

missing=
for pkg in $pkgs; do
    if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null \
            | grep -q '^install ok installed$'; then
        missing="$missing $pkg"
    fi
done
if [ -z "$missing" ]; then
    echo "$0: all packages present" >&2
    exit 0
fi

echo "$0: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
