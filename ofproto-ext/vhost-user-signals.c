/*
 * Copyright (c) 2026 The ovs-vhostuser authors.
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at:
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

#include <config.h>
#include "vhost-user-signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_UNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

#include "openvswitch/vlog.h"
#include "ovs-thread.h"
#include "util.h"
#include "vhost-engine.h"

VLOG_DEFINE_THIS_MODULE(vhost_user_signals);

/* SIGBUS and SIGABRT.
 *
 * A frontend that shrinks the memory it shared makes our next access to it
 * raise SIGBUS: the engine recovers from it (vhu_fault_recover()) and the
 * control thread breaks that port.  Any other SIGBUS, and SIGABRT (a failed
 * assertion, ovs_abort()), would kill the switch without a word in its log:
 * like Open vSwitch's own handler for SIGSEGV, ours writes a backtrace to
 * the log file first, then lets the signal take its default action (a core
 * dump). */

/* Appends 'value' in hexadecimal to 's' (which has room). */
static void
append_hex(char *s, uintptr_t value)
{
    char digits[2 * sizeof value + 1];
    int n = 0;

    do {
        digits[n++] = "0123456789abcdef"[value % 16];
        value /= 16;
    } while (value);
    s += strlen(s);
    while (n) {
        *s++ = digits[--n];
    }
    *s = '\0';
}

/* Writes a backtrace of the current thread to the log file.  Uses only
 * async-signal-safe calls (libunwind's local unwinding is). */
static void
log_backtrace(const char *signame, const void *addr)
{
    char line[128];

    strcpy(line, signame);
    if (addr) {
        strcat(line, " at address 0x");
        append_hex(line, (uintptr_t) addr);
    }
    strcat(line, " detected, backtrace:\n");
    vlog_direct_write_to_log_file_unsafe(line);

#ifdef HAVE_UNWIND
    unw_cursor_t cursor;
    unw_context_t uc;

    if (unw_getcontext(&uc) || unw_init_local(&cursor, &uc)) {
        return;
    }
    for (int depth = 0; depth < 64; depth++) {
        char func[64] = "";
        unw_word_t ip = 0, offset = 0;

        unw_get_reg(&cursor, UNW_REG_IP, &ip);
        unw_get_proc_name(&cursor, func, sizeof func, &offset);
        strcpy(line, "0x");
        append_hex(line, ip);
        strcat(line, " <");
        strcat(line, func);
        strcat(line, "+0x");
        append_hex(line, offset);
        strcat(line, ">\n");
        vlog_direct_write_to_log_file_unsafe(line);
        if (unw_step(&cursor) <= 0) {
            break;
        }
    }
#endif
}

static void
fatal_signal_action(int sig, siginfo_t *info, void *context OVS_UNUSED)
{
    if (sig == SIGBUS && info->si_code > 0) {
        /* Raised by the kernel for an access (not sent by kill()). */
        int error = errno;
        bool recovered = vhu_fault_recover(info->si_addr);

        errno = error;
        if (recovered) {
            /* The access is retried and completes. */
            return;
        }
    }
    log_backtrace(sig == SIGBUS ? "SIGBUS" : "SIGABRT",
                  sig == SIGBUS && info->si_code > 0 ? info->si_addr : NULL);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs the handlers, once. */
void
vhost_user_signals_init(void)
{
    static struct ovsthread_once once = OVSTHREAD_ONCE_INITIALIZER;

    if (ovsthread_once_start(&once)) {
        static const int signals[] = { SIGBUS, SIGABRT };
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = fatal_signal_action;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
            if (sigaction(signals[i], &sa, NULL)) {
                VLOG_WARN("sigaction(%s) failed (%s)", strsignal(signals[i]),
                          ovs_strerror(errno));
            }
        }
        /* The engine's eventfd, before any fault could need it. */
        vhu_fault_fd();
        ovsthread_once_done(&once);
    }
}
