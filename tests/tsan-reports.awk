# Prints the ThreadSanitizer reports (from log_path files) that concern
# our code.  Usage: awk -v src=ABS_TOP_SRCDIR/ -f tsan-reports.awk tsan.*
#
# Every report is printed except a lock-order inversion among Open
# vSwitch's own mutexes: one in which every mutex named was locked by Open
# vSwitch's code.  Which code locked a mutex is the first frame of its
# "acquired here" stack below the interceptor and ovs_mutex_lock_at(); the
# frames above it do not count, because our functions (the datapath wraps,
# the netdev callbacks) call into Open vSwitch, and the inversion it
# reports then has our frames on its stacks or not depending on which call
# took the locks first.

BEGIN {
    RS = "=================="
}

/WARNING: ThreadSanitizer/ {
    if (!/lock-order-inversion/ || locked_by_us($0)) {
        print
    }
}

function locked_by_us(report,    lines, n, i, looking, line) {
    n = split(report, lines, "\n")
    looking = 0
    for (i = 1; i <= n; i++) {
        line = lines[i]
        if (line ~ /acquired here/) {
            looking = 1
        } else if (looking && line ~ /^ +.[0-9]+ /) {
            if (line ~ /libtsan|lib\/ovs-thread\.c|pthread_mutex/) {
                continue
            }
            if (index(line, src)) {
                return 1
            }
            looking = 0
        } else if (line !~ /^ *$/) {
            looking = 0
        }
    }
    return 0
}
