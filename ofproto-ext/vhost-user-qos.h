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

/* The meters of a vhost-user port, metering as OVS-DPDK meters (rates in
 * bytes/s, buckets in bytes, full to start with, a frame counted without
 * its Ethernet header): its ingress policing (a single-rate meter,
 * vhost_qos_set_single_rate()) and its egress QoS (the QoS row of its
 * Port, which neutron's QoS agent writes for a bandwidth-limit rule), the
 * two types OVS-DPDK offers, on what the switch sends to the guest:
 *
 *   egress-policer  "cir", "cbs": one bucket; a frame passes if it fits.
 *   trtcm-policer   "cir", "cbs", "eir", "ebs" (RFC 4115 two-rate
 *                   three-color meter) for the port, and the same for each
 *                   queue (a flow's set_queue); a frame is colored by its
 *                   queue's meter (queue 0 if its queue has none), then by
 *                   the port's, color aware, and dropped if red.
 *
 * Frames dropped are counted (ovs_tx_qos_drops).  Any other type is
 * refused with a log line and a "qos_error" status key, never ignored in
 * silence.
 *
 * Configuration is the main thread's, the only thread that changes the
 * kind, the parameters and the queue map; vhost_qos_run() is the PMD
 * threads'.  One spinlock covers the buckets, the queues' counters and
 * every change to what the PMD threads read. */

#include <stdbool.h>
#include <stdint.h>

#include "openvswitch/hmap.h"
#include "openvswitch/types.h"
#include "ovs-atomic.h"
#include "ovs-thread.h"

struct dp_packet_batch;
struct netdev_qos_capabilities;
struct netdev_queue_stats;
struct smap;
struct sset;

/* A two-rate meter (an egress-policer uses only its committed bucket). */
struct vhost_meter {
    uint64_t cir, cbs, eir, ebs;    /* Bytes/s, bytes. */
    uint64_t tc, te;                /* Tokens in each bucket. */
    uint64_t fc, fe;                /* And millionths of a token. */
};

enum vhost_qos_kind {
    VHOST_QOS_NONE,
    VHOST_QOS_SINGLE_RATE,          /* egress-policer, ingress policing. */
    VHOST_QOS_TRTCM_POLICER,
};

struct vhost_qos {
    atomic_bool enabled;            /* Read by PMD threads unlocked. */
    atomic_uint64_t drops;

    struct ovs_spin lock;           /* Covers what follows. */
    enum vhost_qos_kind kind;
    struct vhost_meter meter;       /* The port's. */
    long long int last_refill;      /* time_usec(). */
    struct hmap queues;             /* trtcm-policer: struct vhost_queue. */

    /* Main thread only. */
    char *error;                    /* Why the configuration is refused. */
};

void vhost_qos_init(struct vhost_qos *);
void vhost_qos_destroy(struct vhost_qos *);

int vhost_qos_set(struct vhost_qos *, const char *port, const char *type,
                  const struct smap *details);
int vhost_qos_get(struct vhost_qos *, const char **typep,
                  struct smap *details);
void vhost_qos_get_types(struct sset *types);
int vhost_qos_get_capabilities(const char *type,
                               struct netdev_qos_capabilities *);
const char *vhost_qos_error(const struct vhost_qos *);

void vhost_qos_set_single_rate(struct vhost_qos *, uint64_t rate,
                               uint64_t burst);

int vhost_qos_set_queue(struct vhost_qos *, unsigned int queue_id,
                        const struct smap *details);
int vhost_qos_get_queue(struct vhost_qos *, unsigned int queue_id,
                        struct smap *details);
int vhost_qos_delete_queue(struct vhost_qos *, unsigned int queue_id);
int vhost_qos_get_queue_stats(struct vhost_qos *, unsigned int queue_id,
                              struct netdev_queue_stats *);
int vhost_qos_queue_ids(struct vhost_qos *, unsigned int **ids,
                        size_t *n);

void vhost_qos_run__(struct vhost_qos *, struct dp_packet_batch *);

/* Drops (and counts) the packets of 'batch' that QoS does not let pass. */
static inline void
vhost_qos_run(struct vhost_qos *qos, struct dp_packet_batch *batch)
{
    bool enabled;

    atomic_read_relaxed(&qos->enabled, &enabled);
    if (enabled) {
        vhost_qos_run__(qos, batch);
    }
}

uint64_t vhost_qos_drops(const struct vhost_qos *);

#endif /* vhost-user-qos.h */
