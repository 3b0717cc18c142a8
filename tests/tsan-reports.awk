# Prints the ThreadSanitizer reports (from log_path files) that concern
# our code.  Usage: awk -v src=ABS_TOP_SRCDIR/ -f tsan-reports.awk tsan.*
#
# A report concerns our code if our code made one of the accesses it names
# (a data race, a use after free) or locked one of its mutexes (a
# lock-order inversion): the first frame of that access's or that
# acquisition's stack below ThreadSanitizer's interceptors and Open
# vSwitch's thin wrappers (ovs_mutex_*() in lib/ovs-thread.c, xmalloc()
# and the like in lib/util.c) is in our sources.  In our switch only our
# code is instrumented: a stack shows our functions, and of Open
# vSwitch's only the caller of an interceptor or of one of our functions.
# Open vSwitch's own races and lock orders, whose synchronization (RCU,
# atomics) ThreadSanitizer cannot see in its uninstrumented libraries,
# are set aside: for example a revalidator's trylock on a flow that a PMD
# thread had just allocated and published.  A report with no access or
# acquisition stack (a thread leak, say) concerns us if any frame is ours.

BEGIN {
    RS = "=================="
}

/WARNING: ThreadSanitizer/ {
    if (concerns_us($0)) {
        print
    }
}

function concerns_us(report,    lines, n, i, line, looking, blocks) {
    n = split(report, lines, "\n")
    looking = 0
    blocks = 0
    for (i = 1; i <= n; i++) {
        line = lines[i]
        if (line ~ /acquired here/ \
            || line ~ /^ +(Previous )?(Atomic )?([Rr]ead|[Ww]rite) of size/) {
            looking = 1
            blocks++
        } else if (looking && line ~ /^ +.[0-9]+ /) {
            if (line ~ /libtsan|sanitizer|libc\.so/ \
                || line ~ /lib\/ovs-thread\.c|lib\/util\.c/) {
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
    return !blocks && index(report, src)
}
