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

#include "vhost-user-rx-mode.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "coverage.h"
#include "netdev-provider.h"
#include "netdev-vhost-user.h"
#include "openvswitch/list.h"
#include "openvswitch/vlog.h"
#include "ovs-rcu.h"
#include "ovs-thread.h"
#include "openvswitch/shash.h"
#include "timeval.h"
#include "util.h"
#include "vhost-engine.h"
#include "vhost-user-park.h"
#include "vhost-user-tsan.h"

VLOG_DEFINE_THIS_MODULE(vhost_user_rx_mode);

COVERAGE_DEFINE(vhost_user_rx_sleep);
COVERAGE_DEFINE(vhost_user_rx_wake_kick);
COVERAGE_DEFINE(vhost_user_rx_wake_timeout);
COVERAGE_DEFINE(vhost_user_rx_recheck_work);
COVERAGE_DEFINE(vhost_user_rx_missed_kick);

/* After a wake-up by the control side, a thread polls this many rounds of
 * its rxqs before it may sleep again: dpif-netdev reads which rxqs are
 * enabled only every 1024 iterations of a PMD thread. */
#define SETTLE_ROUNDS 1100

/* Empty polls of a ring between two looks at the time, for parking. */
#define PARK_CHECK_POLLS 1024

/* One PMD thread that polls our rxqs.  Never freed: a thread that exits
 * leaves it for the next one. */
struct vhost_rx_thread {
    struct ovs_list node;           /* In 'threads'. */
    bool in_use;                    /* Guarded by 'threads_mutex'. */
    int wake_fd;                    /* eventfd; -1 if none (never sleeps). */
    atomic_bool asleep;

    /* The rxqs the thread polls, as it polls them.  Guarded by 'mutex'
     * (held by the thread while it sleeps, so that a waiter is never
     * destroyed under it).  A waiter whose 'owner' is another thread moved
     * there and is dropped at the next look. */
    struct ovs_mutex mutex;
    struct vhost_rx_waiter **waiters;
    size_t n_waiters, allocated;

    /* The owning thread only. */
    size_t round_len;               /* 'n_waiters' at the last review. */
    uint64_t seen_gen;              /* 'wake_gen' last seen. */
    bool can_sleep;                 /* All waiters in a sleeping mode. */
    long long int idle_us;          /* Idle time before sleeping. */
    uint64_t settle_calls;          /* Receive calls before a sleep. */
    uint64_t idle_calls;            /* Calls that found nothing in a row. */
    long long int idle_since;       /* When they began (0: not yet). */
    struct pollfd *pfds;            /* Sleep scratch, 'allocated' + 1. */
    struct vhost_rx_waiter **armed;
    unsigned int id;                /* Nonzero, unique, never changes. */
    uint64_t gen;                   /* 'assign_gen' last seen. */
    uint64_t gen_calls;             /* Receive calls since. */
};

static struct ovs_mutex threads_mutex = OVS_MUTEX_INITIALIZER;
static struct ovs_list threads OVS_GUARDED_BY(threads_mutex)
    = OVS_LIST_INITIALIZER(&threads);

/* Bumped by vhost_rx_wake_all(). */
static atomic_uint64_t wake_gen = 1;

/* True while the datapath has a port of another class that PMD threads
 * poll; written by the main thread. */
static atomic_bool foreign_pmd_ports = false;

/* Nonzero while the main thread is in datapath code that may reload PMD
 * threads (vhost_rx_hold_begin()): no thread sleeps meanwhile. */
static atomic_uint hold_count = 0;

/* Bumped at the end of each such call: the rxqs may have moved between
 * threads.  A thread arms only the rxqs that it polled itself since the
 * last bump: the set it keeps may still have an rxq that another thread
 * polls now and has not yet taken over (vhost_rx_waiter's 'polled'). */
static atomic_uint64_t assign_gen = 1;
static unsigned int n_thread_ids OVS_GUARDED_BY(threads_mutex);

static pthread_key_t thread_key;
static struct ovsthread_once key_once = OVSTHREAD_ONCE_INITIALIZER;

DEFINE_STATIC_PER_THREAD_DATA(struct vhost_rx_thread *, rx_thread_tls, NULL);

static const char *const mode_names[] = {
    [VHOST_RX_POLLING] = "polling",
    [VHOST_RX_ADAPTIVE] = "adaptive",
    [VHOST_RX_INTERRUPT] = "interrupt",
};

bool
vhost_rx_mode_from_string(const char *s, enum vhost_rx_mode *mode)
{
    for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++) {
        if (!strcmp(s, mode_names[i])) {
            *mode = i;
            return true;
        }
    }
    return false;
}

const char *
vhost_rx_mode_to_string(enum vhost_rx_mode mode)
{
    return mode < ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

void
vhost_rx_sleep_stats_init(struct vhost_rx_sleep_stats *stats)
{
    atomic_init(&stats->sleeps, 0);
    atomic_init(&stats->kick_wakeups, 0);
    atomic_init(&stats->timeout_wakeups, 0);
    atomic_init(&stats->missed_kicks, 0);
    atomic_init(&stats->rechecks_found_work, 0);
}

static void
stat_inc(atomic_uint64_t *counter)
{
    uint64_t orig;

    atomic_add_relaxed(counter, 1, &orig);
}

/* Thread exit: the thread's rxqs forget it, and the next PMD thread may
 * take it over. */
static void
rx_thread_exit(void *t_)
{
    struct vhost_rx_thread *t = t_;

    ovs_mutex_lock(&t->mutex);
    for (size_t i = 0; i < t->n_waiters; i++) {
        struct vhost_rx_thread *expected = t;

        atomic_compare_exchange_strong(&t->waiters[i]->owner, &expected,
                                       NULL);
    }
    t->n_waiters = 0;
    ovs_mutex_unlock(&t->mutex);

    ovs_mutex_lock(&threads_mutex);
    t->in_use = false;
    ovs_mutex_unlock(&threads_mutex);
}

/* Out of line (see vhost_rx_polled()): the first call of a thread. */
static struct vhost_rx_thread * VHOST_NOINLINE
rx_thread_create(struct vhost_rx_thread **tp)
{
    struct vhost_rx_thread *t;

    if (ovsthread_once_start(&key_once)) {
        xpthread_key_create(&thread_key, rx_thread_exit);
        ovsthread_once_done(&key_once);
    }

    ovs_mutex_lock(&threads_mutex);
    LIST_FOR_EACH (t, node, &threads) {
        if (!t->in_use) {
            t->in_use = true;
            goto found;
        }
    }
    t = xzalloc(sizeof *t);
    t->in_use = true;
    t->id = ++n_thread_ids;
    ovs_mutex_init(&t->mutex);
    t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->wake_fd < 0) {
        VLOG_WARN("eventfd failed (%s): this PMD thread will not sleep",
                  ovs_strerror(errno));
    }
    atomic_init(&t->asleep, false);
    ovs_list_push_back(&threads, &t->node);
found:
    ovs_mutex_unlock(&threads_mutex);

    t->seen_gen = 0;
    t->can_sleep = false;
    t->idle_calls = 0;
    t->idle_since = 0;
    t->gen = 0;
    xpthread_setspecific(thread_key, t);
    *tp = t;
    return t;
}

static struct vhost_rx_thread *
rx_thread_get(void)
{
    struct vhost_rx_thread **tp = rx_thread_tls_get();

    return OVS_LIKELY(*tp) ? *tp : rx_thread_create(tp);
}

/* Takes 'w', which the thread 't' polls, into its set.  The thread that
 * polled it before drops it when it next looks.  't' may still have 'w'
 * from an earlier time (it moved away and back before 't' looked): a
 * waiter is never in a set twice. */
static void
rx_thread_adopt(struct vhost_rx_thread *t, struct vhost_rx_waiter *w)
{
    bool present = false;

    atomic_store(&w->owner, t);
    ovs_mutex_lock(&t->mutex);
    for (size_t i = 0; i < t->n_waiters && !present; i++) {
        present = t->waiters[i] == w;
    }
    if (!present) {
        if (t->n_waiters >= t->allocated) {
            t->waiters = x2nrealloc(t->waiters, &t->allocated,
                                    sizeof *t->waiters);
            t->pfds = xrealloc(t->pfds,
                               (t->allocated + 1) * sizeof *t->pfds);
            t->armed = xrealloc(t->armed,
                                t->allocated * sizeof *t->armed);
        }
        t->waiters[t->n_waiters++] = w;
    }
    ovs_mutex_unlock(&t->mutex);
    t->seen_gen = 0;            /* Look at the modes again. */
}

/* Drops the waiters that moved to another thread and decides whether 't'
 * may sleep at all, and after how long.  Caller holds t->mutex. */
static void
rx_thread_review(struct vhost_rx_thread *t)
    OVS_REQUIRES(t->mutex)
{
    long long int idle_us = 0;
    bool can_sleep = t->wake_fd >= 0;

    for (size_t i = 0; i < t->n_waiters; ) {
        struct vhost_rx_waiter *w = t->waiters[i];
        int mode;

        if (atomic_load(&w->owner) != t) {
            t->waiters[i] = t->waiters[--t->n_waiters];
            continue;
        }
        atomic_read_relaxed(CONST_CAST(atomic_int *, w->mode), &mode);
        if (mode == VHOST_RX_POLLING) {
            can_sleep = false;
        } else if (mode == VHOST_RX_ADAPTIVE) {
            idle_us = VHOST_RX_ADAPTIVE_IDLE_US;
        }
        i++;
    }
    t->can_sleep = can_sleep && t->n_waiters;
    t->idle_us = idle_us;
    t->round_len = t->n_waiters;
}

/* What 't' stores into the 'polled' of each rxq it polls. */
static uint64_t
rx_thread_mark(const struct vhost_rx_thread *t)
{
    return t->gen << 16 | (t->id & 0xffff);
}

/* Whether the thread that polls 'w' parked its ring (and no one else then
 * polled it): an atomic, because a thread that polled it before may look
 * while going to sleep (rx_thread_sleep()). */
static bool
park_armed(const struct vhost_rx_waiter *w)
{
    bool armed;

    atomic_read_relaxed(CONST_CAST(atomic_bool *, &w->park_armed), &armed);
    return armed;
}

void
vhost_drain_eventfd(int fd)
{
    uint64_t count;
    struct iovec iov = { .iov_base = &count, .iov_len = sizeof count };

    if (preadv2(fd, &iov, 1, -1, RWF_NOWAIT) < 0 && errno == EOPNOTSUPP) {
        /* A kernel without RWF_NOWAIT on eventfds.  Frontends create them
         * non-blocking, and poll() just said this one is readable. */
        ignore(read(fd, &count, sizeof count));
    }
}

/* Asks the guests of every ring 't' polls to kick, checks the rings once
 * more and sleeps until a kick, a wake-up or the timeout. */
static void
rx_thread_sleep(struct vhost_rx_thread *t)
{
    size_t n_armed = 0;
    bool abort = false;
    uint64_t gen;
    int retval;

    ovs_mutex_lock(&t->mutex);
    for (size_t i = 0; i < t->n_waiters && !abort; i++) {
        struct vhost_rx_waiter *w = t->waiters[i];
        uint64_t polled;
        int fd;

        if (atomic_load(&w->owner) != t || park_armed(w)) {
            /* Not ours, or parked: the control thread waits for its
             * kicks. */
            continue;
        }
        atomic_read_relaxed(&w->polled, &polled);
        if (polled != rx_thread_mark(t)) {
            /* Not polled by this thread since the rxqs last moved:
             * another thread polls it now (and will take it over), or
             * none does.  Let it go. */
            struct vhost_rx_thread *expected = t;

            atomic_compare_exchange_strong(&w->owner, &expected, NULL);
            continue;
        }
        switch (vhu_rx_arm(w->vdev, w->qp, &fd)) {
        case VHU_RX_ARMED:
            t->pfds[n_armed] = (struct pollfd) { .fd = fd, .events = POLLIN };
            t->armed[n_armed++] = w;
            break;
        case VHU_RX_ARM_PENDING:
            COVERAGE_INC(vhost_user_rx_recheck_work);
            stat_inc(&w->stats->rechecks_found_work);
            t->armed[n_armed++] = w;
            abort = true;
            break;
        case VHU_RX_ARM_NOT_LIVE:
            break;
        case VHU_RX_ARM_NO_KICK:
            /* Nothing would wake us for this ring: poll until its kick fd
             * changes (which changes 'wake_gen'). */
            t->can_sleep = false;
            abort = true;
            break;
        }
    }

    if (!abort) {
        unsigned int holds;

        t->pfds[n_armed] = (struct pollfd) { .fd = t->wake_fd,
                                             .events = POLLIN };
        /* vhost_rx_wake_all() and vhost_rx_hold_begin() change 'wake_gen'
         * or 'hold_count' and then look at 'asleep'; we set 'asleep' and
         * then look at them. */
        atomic_store(&t->asleep, true);
        atomic_read(&wake_gen, &gen);
        atomic_read(&hold_count, &holds);
        abort = gen != t->seen_gen || holds;
    }
    if (abort) {
        atomic_store(&t->asleep, false);
        for (size_t i = 0; i < n_armed; i++) {
            vhu_rx_disarm(t->armed[i]->vdev, t->armed[i]->qp);
        }
        VHOST_TSAN_RELEASE(&vhost_tsan_rcu);
        ovs_mutex_unlock(&t->mutex);
        t->idle_calls = 0;
        t->idle_since = 0;
        return;
    }

    COVERAGE_INC(vhost_user_rx_sleep);
    for (size_t i = 0; i < n_armed; i++) {
        stat_inc(&t->armed[i]->stats->sleeps);
    }
    /* Quiescent from here: the control thread may change the rings we
     * armed once a grace period ends, which ThreadSanitizer learns from
     * this release (see vhost-user-tsan.h), as it does at the end of a
     * burst. */
    VHOST_TSAN_RELEASE(&vhost_tsan_rcu);
    ovsrcu_quiesce_start();
    retval = poll(t->pfds, n_armed + 1, VHOST_RX_SLEEP_MAX_MS);
    ovsrcu_quiesce_end();
    atomic_store(&t->asleep, false);

    for (size_t i = 0; i < n_armed; i++) {
        struct vhost_rx_waiter *w = t->armed[i];

        if (atomic_load(&w->owner) != t) {
            continue;           /* Another thread polls it now. */
        }
        vhu_rx_disarm(w->vdev, w->qp);
        /* Drained only if the ring still has that fd: while we slept
         * (quiescent), the fd may have been closed and its number reused;
         * now that we are not, it cannot be. */
        if (t->pfds[i].revents
            && vhu_rx_kick_fd(w->vdev, w->qp) == t->pfds[i].fd) {
            vhost_drain_eventfd(t->pfds[i].fd);
            COVERAGE_INC(vhost_user_rx_wake_kick);
            stat_inc(&w->stats->kick_wakeups);
            t->idle_since = 0;
        } else if (!retval) {
            stat_inc(&w->stats->timeout_wakeups);
            if (vhu_rx_pending(w->vdev, w->qp)) {
                /* Frames came and no kick woke us: the guest did not kick
                 * (or it kicked in the last instant of the timeout). */
                COVERAGE_INC(vhost_user_rx_missed_kick);
                stat_inc(&w->stats->missed_kicks);
            }
        }
    }
    if (!retval) {
        COVERAGE_INC(vhost_user_rx_wake_timeout);
    } else if (t->pfds[n_armed].revents) {
        vhost_drain_eventfd(t->wake_fd);
    }
    VHOST_TSAN_RELEASE(&vhost_tsan_rcu);
    ovs_mutex_unlock(&t->mutex);
    t->idle_calls = 0;
}

/* The part of vhost_rx_polled() for a poll that found nothing, once the
 * thread has polled a whole round of its rxqs in vain: sleeps once they
 * have been idle long enough. */
static void VHOST_NOINLINE
rx_thread_idle(struct vhost_rx_thread *t)
{
    long long int now = time_usec();

    if (!t->idle_since) {
        t->idle_since = now;
    }
    if (now - t->idle_since >= t->idle_us) {
        unsigned int holds;
        uint64_t gen;
        bool foreign;

        atomic_read_relaxed(&foreign_pmd_ports, &foreign);
        /* vhost_rx_hold_end() bumps 'assign_gen' and then drops
         * 'hold_count': a thread that sees no hold sees the bump, and a
         * generation it has not polled a whole round in yet. */
        atomic_read(&hold_count, &holds);
        atomic_read(&assign_gen, &gen);
        if (!foreign && !holds && gen == t->gen) {
            rx_thread_sleep(t);
        }
    }
}

/* The part of vhost_rx_polled() for the changes it sees now and then: 'w'
 * came to 't' from another thread, or some rxq's mode changed ('wake_gen'
 * as the caller read it). */
static void VHOST_NOINLINE
rx_thread_update(struct vhost_rx_thread *t, struct vhost_rx_waiter *w,
                 uint64_t gen)
{
    if (atomic_load_explicit(&w->owner, memory_order_relaxed) != t) {
        rx_thread_adopt(t, w);
    }
    if (gen != t->seen_gen) {
        t->seen_gen = gen;
        ovs_mutex_lock(&t->mutex);
        rx_thread_review(t);
        ovs_mutex_unlock(&t->mutex);
        t->settle_calls = SETTLE_ROUNDS * MAX(1, t->round_len);
        t->idle_calls = 0;
        t->idle_since = 0;
    }
}

/* The part of vhost_rx_polled() for a ring that this thread parked: once
 * the control thread unparked it (a kick), the guest need kick no more. */
static void VHOST_NOINLINE
rx_park_disarm(struct vhost_rx_waiter *w)
{
    if (!vhost_park_test(w->park, w->qp)) {
        vhu_rx_disarm(w->vdev, w->qp);
        atomic_store_relaxed(&w->park_armed, false);
        w->idle_since = 0;
    }
}

/* The part of vhost_rx_polled() for a ring found empty PARK_CHECK_POLLS
 * times in a row: parks it once it has been empty long enough
 * (vhost-user-park.h). */
static void VHOST_NOINLINE
rx_park_check(struct vhost_rx_waiter *w)
{
    long long int idle_us = vhost_park_idle_us();
    long long int now;
    int mode, fd;

    w->empty_polls = 0;
    atomic_read_relaxed(CONST_CAST(atomic_int *, w->mode), &mode);
    if (!idle_us || park_armed(w) || mode != VHOST_RX_POLLING) {
        w->idle_since = 0;
        return;
    }
    now = time_usec();
    if (!w->idle_since) {
        w->idle_since = now;
        return;
    }
    if (now - w->idle_since < idle_us) {
        return;
    }
    w->idle_since = 0;
    switch (vhu_rx_arm(w->vdev, w->qp, &fd)) {
    case VHU_RX_ARMED:
        atomic_store_relaxed(&w->park_armed, true);
        vhost_park_ring(w->park, w->netdev, w->qp);
        break;
    case VHU_RX_ARM_PENDING:
        vhu_rx_disarm(w->vdev, w->qp);
        break;
    case VHU_RX_ARM_NOT_LIVE:
    case VHU_RX_ARM_NO_KICK:
        /* Nothing would unpark it. */
        break;
    }
}

/* Called for every poll, most of them of empty rings: the work of a poll
 * that changes nothing stays in this function, which needs few registers,
 * and the rest is out of line. */
void
vhost_rx_polled(struct vhost_rx_waiter *w, int n)
{
    struct vhost_rx_thread *t = rx_thread_get();
    uint64_t gen, mark, polled;

    if (OVS_UNLIKELY(park_armed(w))) {
        rx_park_disarm(w);
    }

    atomic_read_relaxed(&assign_gen, &gen);
    if (OVS_UNLIKELY(gen != t->gen)) {
        t->gen = gen;
        t->gen_calls = 0;
    }
    t->gen_calls++;
    mark = rx_thread_mark(t);
    atomic_read_relaxed(&w->polled, &polled);
    if (polled != mark) {
        atomic_store_relaxed(&w->polled, mark);
    }

    if (n) {
        t->idle_calls = 0;
        t->idle_since = 0;
        w->empty_polls = 0;
        w->idle_since = 0;
        return;
    }
    if (OVS_UNLIKELY(++w->empty_polls >= PARK_CHECK_POLLS)) {
        rx_park_check(w);
    }
    atomic_read_relaxed(&wake_gen, &gen);
    if (OVS_UNLIKELY(atomic_load_explicit(&w->owner, memory_order_relaxed)
                     != t || gen != t->seen_gen)) {
        rx_thread_update(t, w, gen);
    }
    if (!t->can_sleep) {
        return;
    }
    if (t->settle_calls) {
        t->settle_calls--;
        return;
    }
    if (++t->idle_calls < t->round_len || t->gen_calls <= t->round_len) {
        /* Not yet a whole round, or not since the rxqs last moved (every
         * rxq this thread still polls must have been marked). */
        return;
    }
    rx_thread_idle(t);
}

void
vhost_rx_waiter_init(struct vhost_rx_waiter *w, struct vhu_device *vdev,
                     unsigned int qp, const atomic_int *mode,
                     struct vhost_rx_sleep_stats *stats,
                     struct netdev *netdev, struct vhost_park *park)
{
    w->vdev = vdev;
    w->qp = qp;
    w->mode = mode;
    w->stats = stats;
    w->netdev = netdev;
    w->park = park;
    w->empty_polls = 0;
    w->idle_since = 0;
    /* The ring may still be armed for an rxq of its pair that was
     * destroyed while parked: the first poll disarms it. */
    atomic_init(&w->park_armed, true);
    atomic_init(&w->owner, NULL);
    atomic_init(&w->polled, 0);
}

/* Called once no thread polls 'w' any more (dpif-netdev closes an rxq
 * after the PMD threads reloaded without it). */
void
vhost_rx_waiter_destroy(struct vhost_rx_waiter *w)
{
    struct vhost_rx_thread *t;

    ovs_mutex_lock(&threads_mutex);
    LIST_FOR_EACH (t, node, &threads) {
        ovs_mutex_lock(&t->mutex);
        for (size_t i = 0; i < t->n_waiters; ) {
            if (t->waiters[i] == w) {
                t->waiters[i] = t->waiters[--t->n_waiters];
            } else {
                i++;
            }
        }
        ovs_mutex_unlock(&t->mutex);
    }
    ovs_mutex_unlock(&threads_mutex);
}

/* Wakes the threads that sleep. */
static void
wake_sleepers(void)
{
    struct vhost_rx_thread *t;

    ovs_mutex_lock(&threads_mutex);
    LIST_FOR_EACH (t, node, &threads) {
        bool asleep;

        atomic_read(&t->asleep, &asleep);
        if (asleep) {
            uint64_t one = 1;

            ignore(write(t->wake_fd, &one, sizeof one));
        }
    }
    ovs_mutex_unlock(&threads_mutex);
}

void
vhost_rx_wake_all(void)
{
    uint64_t orig;

    atomic_add(&wake_gen, 1, &orig);
    wake_sleepers();
}

void
vhost_rx_hold_begin(void)
{
    unsigned int orig;

    atomic_add(&hold_count, 1, &orig);
    if (!orig) {
        wake_sleepers();
    }
}

void
vhost_rx_hold_end(void)
{
    uint64_t orig_gen;
    unsigned int orig;

    atomic_add(&assign_gen, 1, &orig_gen);
    atomic_sub(&hold_count, 1, &orig);
}

/* The datapath's ports of other classes that PMD threads poll: from their
 * datapath and port number ("ovs-netdev/4") to "NAME (type TYPE)".  Main
 * thread only. */
static struct shash foreign_ports = SHASH_INITIALIZER(&foreign_ports);

/* Publishes whether 'foreign_ports' is empty, and wakes the threads. */
static void
foreign_ports_changed(void)
{
    bool was, now = !shash_is_empty(&foreign_ports);

    atomic_read_relaxed(&foreign_pmd_ports, &was);
    if (now != was) {
        atomic_store(&foreign_pmd_ports, now);
        if (now) {
            VLOG_INFO("port %s is polled by PMD threads too: vhost-user "
                      "ports in adaptive or interrupt mode poll until it is "
                      "gone", vhost_rx_sleep_blocker());
        } else {
            VLOG_INFO("no other port is polled by PMD threads: vhost-user "
                      "ports may sleep again");
        }
        vhost_rx_wake_all();
    }
}

void
vhost_rx_port_added(const char *key, const struct netdev *netdev)
{
    const char *type = netdev_get_type(netdev);

    if (netdev_is_pmd(netdev) && !netdev_is_vhost_user(netdev)) {
        free(shash_replace(&foreign_ports, key,
                           xasprintf("%s (type %s)", netdev_get_name(netdev),
                                     type)));
        foreign_ports_changed();
    }
}

void
vhost_rx_port_deleted(const char *key)
{
    char *what = shash_find_and_delete(&foreign_ports, key);

    if (what) {
        free(what);
        foreign_ports_changed();
    }
}

const char *
vhost_rx_sleep_blocker(void)
{
    const struct shash_node *node = shash_first(&foreign_ports);

    return node ? node->data : NULL;
}
