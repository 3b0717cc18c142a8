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

# Builds a tiny Linux guest for the QEMU tests, from Debian's packages,
# without installing anything on the host:
#
#   OUTDIR/vmlinuz        Debian's kernel (linux-image-amd64's dependency)
#   OUTDIR/initramfs.gz   busybox-static, our init, the virtio-net modules
#   OUTDIR/version        the kernel package and version
#
# Usage: build.sh OUTDIR
#
# The kernel package is fetched with "apt-get download" once per version
# and kept in $GUEST_CACHE_DIR (default /var/cache/ovs-vhostuser/guest);
# only the kernel image and the few modules the guest loads are unpacked
# from it.  A second run with the same inputs does nothing.  Concurrent
# runs (parallel tests) wait for each other.
#
# Environment: GUEST_KERNEL_PKG overrides the kernel package
# (e.g. linux-image-6.1.0-56-amd64), GUEST_KERNEL_DEB uses a .deb file
# instead of the cache and apt.
#
# Exits with 77 (autotest's "skip") when a tool it needs is missing or no
# kernel package can be had (99, a failure, with CI=true), 1 on any other
# failure.

set -e

srcdir=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
cache=${GUEST_CACHE_DIR:-${OVS_CACHE_DIR:-/var/cache/ovs-vhostuser}/guest}

# The modules the guest loads, in an order that satisfies their
# dependencies (the order of /work/shared/recipes/qemu-guests.md), then
# 802.1Q for the optional VLAN.  The dependencies of each are added ahead
# of it below, from the modules' own "depends=" records, so this list only
# needs the modules we want.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
virtio_pci failover net_failover virtio_net 8021q"

skip() {
    if [ "${CI:-}" = true ]; then
        # CI installs every dependency: a skip there would hide lost
        # coverage.
        echo "build.sh: $* (CI=true: failing, not skipping)" >&2
        exit 99
    fi
    echo "build.sh: $*" >&2
    exit 77
}

for tool in busybox cpio gzip dpkg-deb tar flock; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
busybox=$(command -v busybox)
# The guest has no shared libraries: only busybox-static's binary does.
if ldd "$busybox" >/dev/null 2>&1; then
    skip "$busybox is dynamically linked (install busybox-static)"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)

# One build at a time per OUTDIR; the others wait, then find it done.
exec 9>"$out/.lock"
flock 9

# Which kernel: the package linux-image-amd64 depends on, at the version
# apt would install.
if [ -n "$GUEST_KERNEL_DEB" ]; then
    deb=$GUEST_KERNEL_DEB
    [ -f "$deb" ] || skip "$deb not found"
    pkg=$(dpkg-deb -f "$deb" Package)
    version=$(dpkg-deb -f "$deb" Version)
else
    pkg=${GUEST_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)}
    [ -n "$pkg" ] || skip "apt knows no linux-image-amd64 (apt-get update?)"
    version=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null \
        | sed -n 's/^Version: //p' | head -1)
    [ -n "$version" ] || skip "apt knows no version of $pkg"
    deb=$cache/${pkg}_$(echo "$version" | sed 's/:/%3a/')_amd64.deb
fi

# The inputs of the image: the kernel, busybox and this directory's files.
# When they match the last build's, the image is up to date.
inputs="$pkg $version $(cat "$busybox" "$srcdir/build.sh" "$srcdir/init" \
    | md5sum | cut -d' ' -f1)"
if [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.gz" ] \
        && [ "$(cat "$out/inputs" 2>/dev/null)" = "$inputs" ]; then
    exit 0
fi

if [ ! -f "$deb" ]; then
    echo "build.sh: downloading $pkg $version into $cache" >&2
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/download.XXXXXX")
    # apt-get downloads as user _apt when it can write the directory.
    chmod 755 "$tmp"
    chown _apt "$tmp" 2>/dev/null || true
    if ! (cd "$tmp" && apt-get download -q "$pkg=$version" >download.log 2>&1)
    then
        cat "$tmp/download.log" >&2
        rm -rf "$tmp"
        skip "could not download $pkg $version"
    fi
    mv "$tmp"/*.deb "$deb"
    rm -rf "$tmp"
fi

# Unpack only what the guest needs from the package's data: the kernel
# image and the modules named above with their dependencies.  "tar
# --wildcards" selects members by name, so each pass reads the package
# once; a second pass fetches dependencies the first one revealed.
echo "build.sh: building the guest image from $pkg $version" >&2
rm -rf "$out/root" "$out/kernel"
mkdir -p "$out/kernel"

extract() {
    dpkg-deb --fsys-tarfile "$deb" \
        | tar -x -C "$out/kernel" --wildcards --no-wildcards-match-slash "$@"
}

# module_file NAME: prints the path of module NAME's file once unpacked
# ("-" and "_" are the same in module names).
module_file() {
    find "$out/kernel/lib/modules" -name '*.ko' 2>/dev/null \
        | awk -v m="$1" '{ f = $0; sub(".*/", "", f); sub("\\.ko$", "", f);
                           gsub("-", "_", f); if (f == m) { print; exit } }'
}

# module_deps NAME: prints the modules NAME depends on, from the
# "depends=" record of its .modinfo section.
module_deps() {
    tr '\0' '\n' < "$(module_file "$1")" \
        | sed -n 's/^depends=//p' | head -1 | tr ',' ' '
}

wanted=$modules
patterns="./boot/vmlinuz-*"
pass=0
while :; do
    for m in $wanted; do
        patterns="$patterns ./lib/modules/*/kernel/*/$m.ko \
./lib/modules/*/kernel/*/*/$m.ko ./lib/modules/*/kernel/*/*/*/$m.ko"
    done
    # shellcheck disable=SC2086
    extract $patterns 2>/dev/null || true
    missing=
    for m in $wanted; do
        [ -n "$(module_file "$m")" ] || { echo "build.sh: no module $m" >&2;
                                          exit 1; }
        for d in $(module_deps "$m"); do
            [ -n "$(module_file "$d")" ] || missing="$missing $d"
        done
    done
    [ -n "$missing" ] || break
    pass=$((pass + 1))
    [ $pass -lt 4 ] || { echo "build.sh: unresolved:$missing" >&2; exit 1; }
    wanted=$missing
done
kernel=$(ls "$out"/kernel/boot/vmlinuz-* | head -1)
[ -f "$kernel" ] || { echo "build.sh: no kernel in $deb" >&2; exit 1; }
kver=${kernel##*/vmlinuz-}

# The load order: each module after its dependencies (depth first).
order=
add_module() {
    case " $order " in *" $1 "*) return ;; esac
    for d in $(module_deps "$1"); do
        add_module "$d"
    done
    order="$order $1"
}
for m in $modules; do
    add_module "$m"
done

# The initramfs tree: busybox (its applets are linked at boot by init),
# init, the modules in load order.
root=$out/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" \
    "$root/lib/modules"
cp "$busybox" "$root/bin/busybox"
cp "$srcdir/init" "$root/init"
chmod 755 "$root/init"
for m in $order; do
    cp "$(module_file "$m")" "$root/lib/modules/$m.ko"
    echo "$m" >> "$root/lib/modules/load-order"
done
echo "$kver" > "$root/lib/modules/kernel-version"

(cd "$root" && find . | LC_ALL=C sort \
     | cpio -o -H newc --quiet -R 0:0) | gzip -6 > "$out/initramfs.gz.tmp"
cp "$kernel" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initramfs.gz.tmp" "$out/initramfs.gz"
echo "$pkg $version" > "$out/version"
echo "$inputs" > "$out/inputs"
rm -rf "$root" "$out/kernel"
echo "build.sh: $out/vmlinuz ($kver) and $out/initramfs.gz ready" >&2
