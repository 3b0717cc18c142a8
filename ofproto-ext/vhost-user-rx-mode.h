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

#ifndef VHOST_USER_RX_MODE_H
#define VHOST_USER_RX_MODE_H 1

/* Receive modes: PMD threads that sleep on the guests' kicks.
 *
 * A PMD thread polls its rxqs in a loop.  With "adaptive" or "interrupt"
 * ports, the thread may instead sleep, inside the receive call of one of
 * our rxqs, until a guest kicks one of the rings it polls or 100 ms pass:
 *
 *   - only if every rxq it polls is one of ours (it learns them as it polls
 *     them) in a mode that sleeps, and no port of another class that PMD
 *     threads poll (afxdp, dummy-pmd) exists in the datapath, so that no
 *     other port's rxqs ever wait for our sleep;
 *   - after a whole round of its rxqs found nothing, at once ("interrupt")
 *     or once they have found nothing for VHOST_RX_ADAPTIVE_IDLE_US
 *     ("adaptive");
 *   - with the guests asked to kick and every ring checked once more after
 *     that (vhu_rx_arm()), so that no frame waits for a kick that will not
 *     come;
 *   - quiescent for RCU, for at most VHOST_RX_SLEEP_MAX_MS.  OVS tells a
 *     PMD thread to reload only with a flag that the thread reads between
 *     iterations, from datapath code on the main thread: our ovs-vswitchd
 *     wraps the calls into that code (vswitchd-hooks.c) with
 *     vhost_rx_hold_begin() and vhost_rx_hold_end(), which keep every
 *     thread awake meanwhile, so that no reload waits for a sleep; the
 *     timeout bounds the wait if some other path reloads.
 *
 * The control thread wakes sleeping threads when a device changes (a ring
 * starts or stops, its kick fd changes, a queue is enabled); they then poll
 * for a while, long enough for dpif-netdev to pick up enabled rxqs. */

#include <stdbool.h>

#include "ovs-atomic.h"

struct vhu_device;

enum vhost_rx_mode {
    VHOST_RX_POLLING,
    VHOST_RX_ADAPTIVE,
    VHOST_RX_INTERRUPT,
};

/* Idle time after which "adaptive" sleeps, and the longest sleep. */
#define VHOST_RX_ADAPTIVE_IDLE_US 2000
#define VHOST_RX_SLEEP_MAX_MS 100

bool vhost_rx_mode_from_string(const char *, enum vhost_rx_mode *);
const char *vhost_rx_mode_to_string(enum vhost_rx_mode);

/* Counters of one port, written by the PMD threads that poll its rxqs when
 * they sleep (never per packet). */
struct vhost_rx_sleep_stats {
    atomic_uint64_t sleeps;             /* Sleeps with one of its rings. */
    atomic_uint64_t kick_wakeups;       /* Woken by one of its kicks. */
    atomic_uint64_t timeout_wakeups;    /* Slept the whole timeout. */
    atomic_uint64_t missed_kicks;       /* ...and then found frames. */
    atomic_uint64_t rechecks_found_work; /* A sleep called off: the last
                                          * check found frames. */
};

void vhost_rx_sleep_stats_init(struct vhost_rx_sleep_stats *);

/* One rxq as the sleeping machinery sees it. */
struct vhost_rx_waiter {
    struct vhu_device *vdev;
    unsigned int qp;
    const atomic_int *mode;             /* The port's enum vhost_rx_mode. */
    struct vhost_rx_sleep_stats *stats; /* The port's. */
    struct netdev *netdev;              /* The port. */
    struct vhost_park *park;            /* The port's (vhost-user-park.h). */

    /* Parking, for the thread that polls it. */
    unsigned int empty_polls;           /* Since the last look at time. */
    long long int idle_since;           /* Empty since (0: not looked). */
    atomic_bool park_armed;             /* Parked by this thread: the guest
                                         * kicks until it is disarmed. */

    ATOMIC(struct vhost_rx_thread *) owner; /* Thread that last polled
                                             * it, or NULL. */
    atomic_uint64_t polled;             /* Who polled it last, and in which
                                         * generation of the PMD threads'
                                         * rxq assignment. */
};

struct netdev;
struct vhost_park;
void vhost_rx_waiter_init(struct vhost_rx_waiter *, struct vhu_device *,
                          unsigned int qp, const atomic_int *mode,
                          struct vhost_rx_sleep_stats *, struct netdev *,
                          struct vhost_park *);
void vhost_rx_waiter_destroy(struct vhost_rx_waiter *);

/* PMD thread, after each receive call on 'w': 'n' frames received. */
void vhost_rx_polled(struct vhost_rx_waiter *w, int n);

/* Any thread: a device or a port's mode changed: wake sleeping threads and
 * make them poll a while before they sleep again. */
void vhost_rx_wake_all(void);

/* Main thread, around datapath code that may reload PMD threads: wakes the
 * threads that sleep and keeps them awake until the matching end. */
void vhost_rx_hold_begin(void);
void vhost_rx_hold_end(void);

/* Drains eventfd 'fd', which poll() found readable, without blocking. */
void vhost_drain_eventfd(int fd);

/* Main thread, after a port was added to or deleted from a datapath
 * (vswitchd-hooks.c): keeps track of ports of other classes that PMD
 * threads poll.  'key' names the port by its datapath and number
 * ("ovs-netdev/4"). */
void vhost_rx_port_added(const char *key, const struct netdev *);
void vhost_rx_port_deleted(const char *key);

/* Main thread, for vhost-user/show: "NAME (type TYPE)" of a port that
 * keeps every thread polling, or NULL if none does. */
const char *vhost_rx_sleep_blocker(void);

#endif /* vhost-user-rx-mode.h */
