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

#ifndef VHOST_USER_PARK_H
#define VHOST_USER_PARK_H 1

/* Parked rxqs: the rings of idle guests leave the PMD threads' poll lists
 * until their guests kick.
 *
 * A PMD thread polls every rxq it has, whether or not its guest sends; on
 * a host with many idle guests the empty polls cost the busy ones their
 * rate.  dpif-netdev skips an rxq that netdev_rxq_enabled() calls
 * disabled, and asks again only when the port's change sequence number
 * moved, once every 1024 iterations of the thread.
 *
 * With other_config:vhost-user-rxq-park-ms=N (0, the default, parks
 * nothing) and PMD threads that do not nap (pmd-maxsleep 0: a napping
 * thread would look for enabled rxqs only every 1024 naps), the PMD thread
 * that polls a ring of a port in the "polling" receive mode (the sleeping
 * modes keep a thread's rings for its sleep) and has found it empty for N
 * ms asks the guest to kick (vhu_rx_arm()), checks the ring once more and
 * parks it (vhost_park_ring()): the port reports the rxq disabled and bumps
 * its change sequence number.  The control thread waits on the kick
 * eventfds of the parked rings (vhost_park_wait()); a kick unparks the ring
 * (vhost_park_run(): enabled again, the number bumped), and the PMD thread
 * that polls it next asks the guest to stop kicking.  Any change of the
 * device (a ring stops or starts, a new kick fd, a queue enabled) unparks
 * every ring of the port.
 *
 * The cost: the first frames after a pause of N ms or more wait for the
 * control thread and then for dpif-netdev to look again (up to 1024 PMD
 * iterations). */

#include <stdbool.h>
#include <stdint.h>

#include "ovs-atomic.h"
#include "vhost-user-txq-map.h"

struct netdev;
struct vhu_device;

/* One port's parked rings. */
struct vhost_park {
    struct vhost_pair_map parked;       /* Pair N's rxq is parked. */
    atomic_uint64_t parks;              /* Rings parked, ever. */
    atomic_uint64_t unparks;            /* Rings unparked, ever. */
};

void vhost_park_init(struct vhost_park *);

/* Main thread: other_config:vhost-user-rxq-park-ms ('value' may be NULL)
 * and pmd-maxsleep ('max_sleep'). */
void vhost_park_set_config(const char *value,
                           unsigned long long int max_sleep);

/* Any thread: the idle time after which a ring is parked, in
 * microseconds, or 0 if none is. */
long long int vhost_park_idle_us(void);

static inline bool
vhost_park_test(const struct vhost_park *park, unsigned int qp)
{
    return vhost_pair_map_test(&park->parked, qp);
}

/* PMD thread that polls pair 'qp' of 'netdev', after vhu_rx_arm() said
 * VHU_RX_ARMED. */
void vhost_park_ring(struct vhost_park *, struct netdev *, unsigned int qp);

/* Control thread.  vhost_park_wait() waits for kicks on the parked rings
 * of 'vdev'; vhost_park_run() unparks the rings that were kicked or lost
 * their kick fd (all of them if 'all' or parking is off) and returns true
 * if it unparked any, for the caller to announce. */
void vhost_park_wait(const struct vhost_park *, const struct vhu_device *);
bool vhost_park_run(struct vhost_park *, const struct vhu_device *,
                    bool all);

#endif /* vhost-user-park.h */
