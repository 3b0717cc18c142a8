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

# Runs one test guest under QEMU (TCG unless asked for KVM), with one
# virtio-net-pci device on a vhost-user socket.  The process becomes QEMU
# (exec), so "$!" of a caller that runs this in the background is QEMU's
# pid.
#
# Usage: qemu-guest.sh [OPTION]... NAME SOCKET MAC [vhu.KEY=VALUE]...
#
#   NAME     files NAME.log (the console), NAME.cmd.in (a FIFO to write
#            commands to, see init), NAME.cmd.out, NAME.qemu.log (QEMU's
#            own messages) in the current directory
#   SOCKET   the vhost-user socket
#   MAC      the guest's MAC address
#   vhu.*    settings for the guest's init (see tests/guest-image/init)
#
# Options:
#   --server          QEMU listens on SOCKET (server=on,wait=off), for the
#                     switch's vhostuserclient ports; otherwise it connects
#   --reconnect=SEC   as a client, reconnect SEC seconds after losing the
#                     switch
#   --queues=N        N queue pairs (mq=on, and N vCPUs)
#   --device=OPTS     more virtio-net-pci properties, e.g. host_mtu=9000,
#                     mrg_rxbuf=off, packed=on
#   --image=DIR       where build.sh put vmlinuz and initramfs.gz
#                     (default: $GUEST_IMAGE_DIR)
#   --mem=MB          guest memory (default 256)
#   --mem-path=DIR    guest memory in a file on DIR (a hugetlbfs mount)
#                     instead of a memfd
#   --maxmem=MB       room for memory hot-plug (pc-dimm) up to MB in all
#   --qmp=PATH        a QMP monitor on UNIX socket PATH (QEMU listens)
#   --incoming=URI    wait for a live migration from URI (-incoming), e.g.
#                     unix:PATH; the command line must match the source's
#   --accel=tcg|kvm   how QEMU runs the guest (default tcg; the tests use
#                     TCG, which every machine has)

set -e

server= reconnect= queues=1 device= mem=256 qmp= incoming= mem_path=
maxmem= accel=tcg
image=${GUEST_IMAGE_DIR:-}
while :; do
    case $1 in
    --server) server=1 ;;
    --reconnect=*) reconnect=${1#*=} ;;
    --queues=*) queues=${1#*=} ;;
    --device=*) device="$device,${1#*=}" ;;
    --image=*) image=${1#*=} ;;
    --mem=*) mem=${1#*=} ;;
    --mem-path=*) mem_path=${1#*=} ;;
    --maxmem=*) maxmem=${1#*=} ;;
    --qmp=*) qmp=${1#*=} ;;
    --incoming=*) incoming=${1#*=} ;;
    --accel=tcg|--accel=kvm) accel=${1#*=} ;;
    --*) echo "qemu-guest.sh: unknown option $1" >&2; exit 1 ;;
    *) break ;;
    esac
    shift
done
if [ $# -lt 3 ] || [ -z "$image" ]; then
    sed -n '16,48s/^# \{0,1\}//p' "$0" >&2
    exit 1
fi
name=$1 sock=$2 mac=$3
shift 3

# The socket: QEMU's chardev as client of the switch's port, or as server
# that the switch's client port connects to.
chardev="socket,id=c0,path=$sock"
if [ -n "$server" ]; then
    chardev="$chardev,server=on,wait=off"
elif [ -n "$reconnect" ]; then
    chardev="$chardev,reconnect=$reconnect"
fi

# Multiqueue: one vCPU per queue pair so that the guest's driver enables
# them all (it uses min(queue pairs, CPUs)).
netdev="vhost-user,id=n0,chardev=c0"
mq=
if [ "$queues" -gt 1 ]; then
    netdev="$netdev,queues=$queues"
    mq=",mq=on"
fi

# Live migration: a QMP monitor to drive it, and on the destination the
# URI to take the guest's state from.  The default (HMP) monitor stays off.
monitor=
if [ -n "$qmp" ]; then
    monitor="-qmp unix:$qmp,server=on,wait=off"
fi
if [ -n "$incoming" ]; then
    monitor="$monitor -incoming $incoming"
fi

# The command channel: QEMU reads NAME.cmd.in (a FIFO, which it keeps
# open, so that writers never block while QEMU runs) and writes
# NAME.cmd.out (unused: the guest answers on the console).
rm -f "$name.cmd.in" "$name.cmd.out"
mkfifo "$name.cmd.in"
: > "$name.cmd.out"

# The kernel command line: the console on the first serial port, a panic
# ends QEMU (-no-reboot), no IPv6 (no traffic the tests did not ask for),
# and no_timer_check: on a busy host TCG is too slow for the kernel's
# check that the timer interrupt works through the IO-APIC, which then
# panics ("IO-APIC + timer doesn't work").
#
# TCG: one host thread per vCPU.  MSI-X is off (vectors=0): QEMU 7.2
# under TCG crashes in msix_set_vector_notifiers when a vhost-user
# virtio-net-pci device starts with it.  KVM (for benchmarks, where the
# machine has it): the host's CPU model and QEMU's default vectors, as
# clouds run guests.  The guest's memory is a shared memfd, which the
# switch maps.
accel_opts="-accel tcg,thread=multi -cpu max"
vectors=",vectors=0"
if [ "$accel" = kvm ]; then
    accel_opts="-accel kvm -cpu host"
    vectors=
fi
memdev="memory-backend-memfd,id=mem,size=${mem}M,share=on"
if [ -n "$mem_path" ]; then
    memdev="memory-backend-file,id=mem,size=${mem}M,mem-path=$mem_path"
    memdev="$memdev,share=on"
fi
memsize=$mem
if [ -n "$maxmem" ]; then
    memsize="$mem,slots=2,maxmem=${maxmem}M"
fi
cmdline="console=ttyS0 quiet panic=-1 no_timer_check ipv6.disable=1"
cmdline="$cmdline vhu.name=$name $*"
exec qemu-system-x86_64 \
    -name "$name" \
    $accel_opts -smp "$queues" -m "$memsize" \
    -object "$memdev" \
    -numa node,memdev=mem \
    -kernel "$image/vmlinuz" -initrd "$image/initramfs.gz" \
    -append "$cmdline" \
    -chardev "$chardev" \
    -netdev "$netdev" \
    -device "virtio-net-pci,netdev=n0,mac=$mac$vectors$mq$device" \
    -display none -monitor none -nodefaults -no-reboot \
    -serial "file:$name.log" -serial "pipe:$name.cmd" $monitor \
    > "$name.qemu.log" 2>&1
