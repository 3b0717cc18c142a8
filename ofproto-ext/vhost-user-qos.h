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

#ifndef VHOST_USER_QOS_H
#define VHOST_USER_QOS_H 1

/* Egress QoS of a vhost-user port (the QoS row of its Port, which
 * neutron's QoS agent writes for a bandwidth-limit rule), as OVS-DPDK
 * offers it: type "egress-policer", other_config "cir" (bytes/s) and "cbs"
 * (bytes), metered as OVS-DPDK meters (vhost-user-policer.h) on what the
 * switch sends to the guest.  Frames over the rate are dropped and
 * counted (ovs_tx_qos_drops).  Any other type is refused with a log line
 * and a "qos_error" status key, never ignored in silence.
 *
 * vhost_qos_set(), _get() and _error() are the main thread's (the bridge
 * configures QoS); vhost_qos_run() is the PMD threads'. */

#include <stdbool.h>
#include <stdint.h>

#include "openvswitch/types.h"
#include "ovs-atomic.h"
#include "vhost-user-policer.h"

struct dp_packet_batch;
struct netdev_qos_capabilities;
struct smap;
struct sset;

struct vhost_qos {
    struct vhost_policer policer;
    atomic_uint64_t drops;

    /* Main thread only. */
    const char *type;           /* "" if none. */
    uint64_t cir, cbs;          /* As configured. */
    char *error;                /* Why the configured QoS is refused. */
};

void vhost_qos_init(struct vhost_qos *);
void vhost_qos_destroy(struct vhost_qos *);

int vhost_qos_set(struct vhost_qos *, const char *port, const char *type,
                  const struct smap *details);
int vhost_qos_get(const struct vhost_qos *, const char **typep,
                  struct smap *details);
void vhost_qos_get_types(struct sset *types);
int vhost_qos_get_capabilities(const char *type,
                               struct netdev_qos_capabilities *);
const char *vhost_qos_error(const struct vhost_qos *);

/* Drops (and counts) the packets of 'batch' over the rate, if QoS is on. */
static inline void
vhost_qos_run(struct vhost_qos *qos, struct dp_packet_batch *batch)
{
    if (vhost_policer_enabled(&qos->policer)) {
        int dropped = vhost_policer_run(&qos->policer, batch);

        if (dropped) {
            atomic_add_relaxed(&qos->drops, dropped, &(uint64_t) { 0 });
        }
    }
}

uint64_t vhost_qos_drops(const struct vhost_qos *);

#endif /* vhost-user-qos.h */
