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

#include "vhost-user-park.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "coverage.h"
#include "netdev-provider.h"
#include "openvswitch/vlog.h"
#include "openvswitch/poll-loop.h"
#include "vhost-engine.h"
#include "vhost-user-ctl.h"
#include "vhost-user-rx-mode.h"

VLOG_DEFINE_THIS_MODULE(vhost_user_park);

COVERAGE_DEFINE(vhost_user_rxq_park);
COVERAGE_DEFINE(vhost_user_rxq_unpark);

/* Bounds of other_config:vhost-user-rxq-park-ms (a day at most). */
#define PARK_MS_MAX 86400000

/* other_config:vhost-user-rxq-park-ms, in microseconds; 0: off. */
static atomic_llong park_idle_us = 0;

void
vhost_park_init(struct vhost_park *park)
{
    vhost_pair_map_init(&park->parked);
    atomic_init(&park->parks, 0);
    atomic_init(&park->unparks, 0);
}

void
vhost_park_set_config(const char *value, unsigned long long int max_sleep)
{
    long long int ms = 0, old_us;
    char *end;

    if (value) {
        errno = 0;
        ms = strtoll(value, &end, 10);
        if (errno || end == value || *end || ms < 0 || ms > PARK_MS_MAX) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 60);

            VLOG_ERR_RL(&rl, "ignoring other_config:vhost-user-rxq-park-ms "
                        "\"%s\": it must be a number of milliseconds from 0 "
                        "to %d; parking nothing", value, PARK_MS_MAX);
            ms = 0;
        }
    }
    if (ms && max_sleep) {
        /* A thread that naps looks for enabled rxqs only every 1024 naps:
         * the first frames after a pause would wait for seconds. */
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 60);

        VLOG_WARN_RL(&rl, "other_config:vhost-user-rxq-park-ms needs PMD "
                     "threads that do not nap (pmd-maxsleep 0): parking "
                     "nothing");
        ms = 0;
    }
    atomic_read_relaxed(&park_idle_us, &old_us);
    if (ms * 1000 != old_us) {
        if (ms) {
            VLOG_INFO("vhost-user rxqs of polling ports idle for %lld ms "
                      "leave the PMD threads' poll lists until their guests "
                      "kick", ms);
        } else {
            VLOG_INFO("vhost-user rxqs are never parked");
        }
        atomic_store_relaxed(&park_idle_us, ms * 1000);
        /* Off: the control thread unparks every ring. */
        vhost_ctl_wake();
    }
}

long long int
vhost_park_idle_us(void)
{
    long long int us;

    atomic_read_relaxed(&park_idle_us, &us);
    return us;
}

static void
counter_inc(atomic_uint64_t *counter)
{
    uint64_t orig;

    atomic_add_relaxed(counter, 1, &orig);
}

void
vhost_park_ring(struct vhost_park *park, struct netdev *netdev,
                unsigned int qp)
{
    COVERAGE_INC(vhost_user_rxq_park);
    counter_inc(&park->parks);
    /* The bit first: dpif-netdev reads the change sequence number and then
     * asks whether the rxq is enabled. */
    vhost_pair_map_set(&park->parked, qp, true);
    netdev_change_seq_changed(netdev);
    vhost_ctl_wake();
}

/* The caller announces the change (vhost_park_run()'s return value). */
static void
unpark(struct vhost_park *park, unsigned int qp)
{
    COVERAGE_INC(vhost_user_rxq_unpark);
    counter_inc(&park->unparks);
    vhost_pair_map_set(&park->parked, qp, false);
}

void
vhost_park_wait(const struct vhost_park *park, const struct vhu_device *vdev)
{
    if (vhost_pair_map_is_empty(&park->parked)) {
        return;
    }
    for (unsigned int qp = 0; qp < VHU_MAX_QUEUE_PAIRS; qp++) {
        if (vhost_park_test(park, qp)) {
            int fd = vhu_rx_kick_fd(vdev, qp);

            if (fd >= 0) {
                poll_fd_wait(fd, POLLIN);
            } else {
                /* vhost_park_run() unparks it. */
                poll_immediate_wake();
            }
        }
    }
}

bool
vhost_park_run(struct vhost_park *park, const struct vhu_device *vdev,
               bool all)
{
    struct pollfd pfds[VHU_MAX_QUEUE_PAIRS];
    unsigned int qps[VHU_MAX_QUEUE_PAIRS];
    bool unparked = false;
    int n = 0;

    if (vhost_pair_map_is_empty(&park->parked)) {
        return false;
    }
    all = all || !vhost_park_idle_us();
    for (unsigned int qp = 0; qp < VHU_MAX_QUEUE_PAIRS; qp++) {
        int fd;

        if (!vhost_park_test(park, qp)) {
            continue;
        }
        fd = vhu_rx_kick_fd(vdev, qp);
        if (all || fd < 0) {
            unpark(park, qp);
            unparked = true;
        } else {
            pfds[n] = (struct pollfd) { .fd = fd, .events = POLLIN };
            qps[n++] = qp;
        }
    }
    /* Kick fds change only on this thread (the frontend's messages), so
     * each one here is still its ring's; only this thread drains them
     * while their rings are parked (the PMD threads never wait on a parked
     * ring's). */
    if (n && poll(pfds, n, 0) > 0) {
        for (int i = 0; i < n; i++) {
            if (pfds[i].revents) {
                vhost_drain_eventfd(pfds[i].fd);
                unpark(park, qps[i]);
                unparked = true;
            }
        }
    }
    return unparked;
}
