#!/bin/sh
# Runs a private Open vSwitch with ovs-vhostuser's ovs-vswitchd: ovsdb-server
# and the switch in one directory, the switch in a network namespace of its
# own, nothing system-wide touched.
#
# Usage: ovs-vhostuser-sandbox.sh start [DIR]   start, print environment
#        ovs-vhostuser-sandbox.sh env [DIR]     print environment again
#        ovs-vhostuser-sandbox.sh stop [DIR]    stop both daemons
#
# DIR defaults to ./sandbox.  BUILD_DIR (default: the source tree's _build)
# says where ovs-vhostuser was built.  After "start", run
#     eval "$(ovs-vhostuser-sandbox.sh env DIR)"
# and ovs-vsctl, ovs-ofctl and ovs-appctl talk to the sandbox.

set -e

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${BUILD_DIR:-$srcdir/_build}" && pwd)
cmd=${1:-}
dir=${2:-$PWD/sandbox}

ovs_build=$(sed -n 's/^OVS_BUILDDIR = //p' "$build/Makefile")
ovs_src=$(sed -n 's/^OVS_SRCDIR = //p' "$build/Makefile")
if [ -z "$ovs_build" ]; then
    echo "$0: $build is not a configured ovs-vhostuser build" >&2
    exit 1
fi
PATH=$build/ofproto-ext:$build/utilities:$ovs_build/utilities:$ovs_build/ovsdb:$PATH

print_env() {
    echo "export OVS_RUNDIR='$dir' OVS_LOGDIR='$dir' OVS_DBDIR='$dir'"
    echo "export OVS_SYSCONFDIR='$dir'"
    echo "export PATH='$PATH'"
}

setenv() {
    OVS_RUNDIR=$dir OVS_LOGDIR=$dir OVS_DBDIR=$dir OVS_SYSCONFDIR=$dir
    export OVS_RUNDIR OVS_LOGDIR OVS_DBDIR OVS_SYSCONFDIR PATH
}

case $cmd in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    setenv
    if [ -f "$dir/ovs-vswitchd.pid" ] \
            && kill -0 "$(cat "$dir/ovs-vswitchd.pid")" 2>/dev/null; then
        echo "$0: a sandbox is already running in $dir" >&2
        exit 1
    fi
    rm -f "$dir/conf.db"
    ovsdb-tool create "$dir/conf.db" "$ovs_src/vswitchd/vswitch.ovsschema"
    ovsdb-server --detach --no-chdir --pidfile --log-file \
        --remote="punix:$dir/db.sock" "$dir/conf.db"
    ovs-vsctl --no-wait init
    # One PMD thread, allowed to sleep up to 10 ms when idle, leaves the
    # other core free on small machines.
    ovs-vsctl --no-wait set Open_vSwitch . \
        other_config:pmd-cpu-mask="${PMD_CPU_MASK:-0x2}" \
        other_config:pmd-maxsleep="${PMD_MAXSLEEP:-10000}"
    # The netdev datapath creates tap devices: keep them in a network
    # namespace of the switch's own.
    unshare -n ovs-vswitchd --detach --no-chdir --pidfile --log-file
    echo "$0: sandbox running in $dir; to use it:" >&2
    print_env
    ;;
env)
    dir=$(cd "$dir" && pwd)
    print_env
    ;;
stop)
    dir=$(cd "$dir" && pwd)
    setenv
    for daemon in ovs-vswitchd ovsdb-server; do
        pidfile=$dir/$daemon.pid
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if [ "$daemon" = ovs-vswitchd ]; then
            ovs-appctl -t "$dir/$daemon.$pid.ctl" exit --cleanup || true
        else
            ovs-appctl -t "$dir/$daemon.$pid.ctl" exit || true
        fi
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill "$pid" 2>/dev/null || true
    done
    echo "$0: sandbox in $dir stopped" >&2
    ;;
*)
    sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
    exit 1
    ;;
esac
