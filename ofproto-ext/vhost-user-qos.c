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

#include "vhost-user-qos.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "dp-packet.h"
#include "hash.h"
#include "netdev-provider.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "smap.h"
#include "sset.h"
#include "timeval.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(vhost_user_qos);

#define EGRESS_POLICER "egress-policer"
#define TRTCM_POLICER "trtcm-policer"

/* A queue of a trtcm-policer. */
struct vhost_queue {
    struct hmap_node node;          /* In vhost_qos's 'queues'. */
    unsigned int queue_id;
    struct vhost_meter meter;
    uint64_t tx_packets, tx_bytes, tx_errors;
    long long int created;
};

enum color { GREEN, YELLOW, RED };

/* Largest rate (bytes/s) and bucket (bytes) a meter takes: the products
 * in bucket_refill() stay within 64 bits. */
#define METER_MAX (UINT64_C(1) << 40)

/* Meters. */

static void
meter_init(struct vhost_meter *m, uint64_t cir, uint64_t cbs, uint64_t eir,
           uint64_t ebs)
{
    m->cir = cir;
    m->cbs = cbs;
    m->eir = eir;
    m->ebs = ebs;
    m->tc = cbs;
    m->te = ebs;
    m->fc = m->fe = 0;
}

/* Reads a meter's parameters from 'details'; the egress-policer has no
 * excess bucket. */
static void
meter_from_details(struct vhost_meter *m, const struct smap *details,
                   bool two_rate)
{
    meter_init(m, smap_get_ullong(details, "cir", 0),
               smap_get_ullong(details, "cbs", 0),
               two_rate ? smap_get_ullong(details, "eir", 0) : 0,
               two_rate ? smap_get_ullong(details, "ebs", 0) : 0);
}

static bool
meter_params_equal(const struct vhost_meter *a, const struct vhost_meter *b)
{
    return (a->cir == b->cir && a->cbs == b->cbs && a->eir == b->eir
            && a->ebs == b->ebs);
}

static void
meter_to_details(const struct vhost_meter *m, struct smap *details,
                 bool two_rate)
{
    smap_add_format(details, "cir", "%"PRIu64, m->cir);
    smap_add_format(details, "cbs", "%"PRIu64, m->cbs);
    if (two_rate) {
        smap_add_format(details, "eir", "%"PRIu64, m->eir);
        smap_add_format(details, "ebs", "%"PRIu64, m->ebs);
    }
}

/* Adds to a bucket of 'size' bytes that fills at 'rate' bytes/s the
 * tokens of 'us' microseconds, carrying the fraction of a token in
 * '*frac' (millionths) to the next refill: batches a few microseconds
 * apart would otherwise earn nothing at low rates.  'rate' and 'size' are
 * at most METER_MAX. */
static void
bucket_refill(uint64_t *tokens, uint64_t *frac, uint64_t rate,
              uint64_t size, long long int us)
{
    if (!rate || (uint64_t) us >= 1000000 * (size / rate + 1)) {
        /* Long enough to fill it (or a rate of 0: nothing to add). */
        *tokens = rate ? size : *tokens;
        *frac = 0;
    } else {
        uint64_t acc = (uint64_t) us * rate + *frac;

        *tokens += acc / 1000000;
        *frac = acc % 1000000;
        if (*tokens >= size) {
            *tokens = size;
            *frac = 0;
        }
    }
}

/* Adds the tokens of 'us' (> 0) microseconds to each bucket (RFC 4115:
 * the two fill independently). */
static void
meter_refill(struct vhost_meter *m, long long int us)
{
    bucket_refill(&m->tc, &m->fc, m->cir, m->cbs, us);
    bucket_refill(&m->te, &m->fe, m->eir, m->ebs, us);
}

/* True if the parameters of 'm' are within what the meter computes
 * with. */
static bool
meter_in_range(const struct vhost_meter *m)
{
    return (m->cir <= METER_MAX && m->cbs <= METER_MAX
            && m->eir <= METER_MAX && m->ebs <= METER_MAX);
}

/* Colors a frame of 'len' bytes, color blind ('in' GREEN) or aware, as
 * DPDK's RFC 4115 meter does. */
static enum color
meter_check(struct vhost_meter *m, uint32_t len, enum color in)
{
    if (in == GREEN && m->tc >= len) {
        m->tc -= len;
        return GREEN;
    }
    if (in != RED && m->te >= len) {
        m->te -= len;
        return YELLOW;
    }
    return RED;
}

/* Queues. */

static struct vhost_queue *
queue_find(const struct vhost_qos *qos, unsigned int queue_id)
{
    struct vhost_queue *q;

    HMAP_FOR_EACH_WITH_HASH (q, node, hash_int(queue_id, 0), &qos->queues) {
        if (q->queue_id == queue_id) {
            return q;
        }
    }
    return NULL;
}

/* Moves the queues of 'qos' to 'old' (the caller frees them with
 * queues_free(), outside the lock). */
static void
queues_take(struct vhost_qos *qos, struct hmap *old)
{
    hmap_swap(&qos->queues, old);
}

static void
queues_free(struct hmap *queues)
{
    struct vhost_queue *q;

    HMAP_FOR_EACH_POP (q, node, queues) {
        free(q);
    }
    hmap_destroy(queues);
}

/* The whole configuration. */

void
vhost_qos_init(struct vhost_qos *qos)
{
    atomic_init(&qos->enabled, false);
    atomic_init(&qos->drops, 0);
    ovs_spin_init(&qos->lock);
    qos->kind = VHOST_QOS_NONE;
    memset(&qos->meter, 0, sizeof qos->meter);
    qos->last_refill = 0;
    hmap_init(&qos->queues);
    qos->error = NULL;
}

void
vhost_qos_destroy(struct vhost_qos *qos)
{
    queues_free(&qos->queues);
    ovs_spin_destroy(&qos->lock);
    free(qos->error);
}

/* Sets 'kind' with port meter 'm' (the lock held).  A new kind or new
 * parameters start from full buckets and (trtcm) no queues; the same ones
 * keep their state, since the bridge configures QoS again on every
 * reconfiguration. */
static void
qos_configure(struct vhost_qos *qos, enum vhost_qos_kind kind,
              const struct vhost_meter *m)
{
    struct hmap old = HMAP_INITIALIZER(&old);

    ovs_spin_lock(&qos->lock);
    if (kind != qos->kind || !meter_params_equal(m, &qos->meter)) {
        if (kind != qos->kind) {
            queues_take(qos, &old);
        }
        qos->kind = kind;
        qos->meter = *m;
        qos->last_refill = time_usec();
    }
    atomic_store_relaxed(&qos->enabled, kind != VHOST_QOS_NONE);
    ovs_spin_unlock(&qos->lock);
    queues_free(&old);
}

static void
set_error(struct vhost_qos *qos, char *error)
{
    free(qos->error);
    qos->error = error;
}

int
vhost_qos_set(struct vhost_qos *qos, const char *port, const char *type,
              const struct smap *details)
{
    static const struct vhost_meter none;
    enum vhost_qos_kind kind;
    struct vhost_meter m;
    char *error;
    int retval;

    if (!type || !*type) {
        qos_configure(qos, VHOST_QOS_NONE, &none);
        set_error(qos, NULL);
        return 0;
    }

    kind = (!strcmp(type, EGRESS_POLICER) ? VHOST_QOS_SINGLE_RATE
            : !strcmp(type, TRTCM_POLICER) ? VHOST_QOS_TRTCM_POLICER
            : VHOST_QOS_NONE);
    if (kind == VHOST_QOS_NONE) {
        error = xasprintf("QoS type %s is not supported (supported: %s, "
                          "%s)", type, EGRESS_POLICER, TRTCM_POLICER);
        retval = EOPNOTSUPP;
    } else {
        meter_from_details(&m, details, kind == VHOST_QOS_TRTCM_POLICER);
        /* As OVS-DPDK, whose meters refuse a zero rate or bucket. */
        if (m.cir && m.cbs && meter_in_range(&m)
            && (kind == VHOST_QOS_SINGLE_RATE || (m.eir && m.ebs)
                || (!m.eir && !m.ebs))) {
            if (kind != qos->kind || !meter_params_equal(&m, &qos->meter)) {
                VLOG_INFO("%s: QoS %s, cir %"PRIu64" bytes/s, cbs %"PRIu64
                          " bytes, eir %"PRIu64" bytes/s, ebs %"PRIu64
                          " bytes", port, type, m.cir, m.cbs, m.eir, m.ebs);
            }
            qos_configure(qos, kind, &m);
            set_error(qos, NULL);
            return 0;
        }
        error = xasprintf("QoS %s needs other_config:cir and "
                          "other_config:cbs above 0%s, and none above %"
                          PRIu64, type,
                          kind == VHOST_QOS_TRTCM_POLICER
                          ? ", eir and ebs both above 0 or both 0" : "",
                          METER_MAX);
        retval = EINVAL;
    }

    if (!qos->error || strcmp(qos->error, error)) {
        VLOG_WARN("%s: %s; the port has no QoS", port, error);
    }
    qos_configure(qos, VHOST_QOS_NONE, &none);
    set_error(qos, error);
    return retval;
}

int
vhost_qos_get(struct vhost_qos *qos, const char **typep,
              struct smap *details)
{
    /* The main thread alone changes the kind and the parameters. */
    *typep = (qos->kind == VHOST_QOS_SINGLE_RATE ? EGRESS_POLICER
              : qos->kind == VHOST_QOS_TRTCM_POLICER ? TRTCM_POLICER
              : "");
    if (qos->kind != VHOST_QOS_NONE) {
        meter_to_details(&qos->meter, details,
                         qos->kind == VHOST_QOS_TRTCM_POLICER);
    }
    return 0;
}

void
vhost_qos_get_types(struct sset *types)
{
    sset_add(types, EGRESS_POLICER);
    sset_add(types, TRTCM_POLICER);
}

int
vhost_qos_get_capabilities(const char *type,
                           struct netdev_qos_capabilities *caps)
{
    if (!strcmp(type, EGRESS_POLICER)) {
        caps->n_queues = 0;
    } else if (!strcmp(type, TRTCM_POLICER)) {
        caps->n_queues = UINT32_MAX;
    } else {
        return EOPNOTSUPP;
    }
    return 0;
}

const char *
vhost_qos_error(const struct vhost_qos *qos)
{
    return qos->error;
}

/* Makes 'qos' a single-rate meter of 'rate' bytes/s (0 for none) and a
 * bucket of 'burst' bytes, both at most METER_MAX (clamped): ingress
 * policing. */
void
vhost_qos_set_single_rate(struct vhost_qos *qos, uint64_t rate,
                          uint64_t burst)
{
    struct vhost_meter m;

    meter_init(&m, MIN(rate, METER_MAX), MIN(burst, METER_MAX), 0, 0);
    qos_configure(qos, rate ? VHOST_QOS_SINGLE_RATE : VHOST_QOS_NONE, &m);
}

/* Queues (trtcm-policer only). */

int
vhost_qos_set_queue(struct vhost_qos *qos, unsigned int queue_id,
                    const struct smap *details)
{
    struct vhost_queue *q, *new = NULL;
    struct vhost_meter m;

    if (qos->kind != VHOST_QOS_TRTCM_POLICER) {
        return EOPNOTSUPP;
    }
    if (queue_id == 0 && smap_is_empty(details)) {
        /* The bridge's default queue: the port's parameters. */
        meter_init(&m, qos->meter.cir, qos->meter.cbs, qos->meter.eir,
                   qos->meter.ebs);
    } else {
        meter_from_details(&m, details, true);
        if (!m.cir || !m.cbs || !m.eir != !m.ebs || !meter_in_range(&m)) {
            return EINVAL;
        }
    }

    /* Allocated outside the lock that PMD threads spin on. */
    q = queue_find(qos, queue_id);
    if (!q) {
        new = xzalloc(sizeof *new);
        new->queue_id = queue_id;
        new->created = time_msec();
        new->meter = m;
    } else if (meter_params_equal(&m, &q->meter)) {
        return 0;
    }
    ovs_spin_lock(&qos->lock);
    if (new) {
        hmap_insert(&qos->queues, &new->node, hash_int(queue_id, 0));
    } else {
        q->meter = m;
    }
    ovs_spin_unlock(&qos->lock);
    return 0;
}

int
vhost_qos_get_queue(struct vhost_qos *qos, unsigned int queue_id,
                    struct smap *details)
{
    /* The main thread alone changes the queues and their parameters. */
    const struct vhost_queue *q = queue_find(qos, queue_id);

    if (!q) {
        return qos->kind == VHOST_QOS_TRTCM_POLICER ? ENOENT : EOPNOTSUPP;
    }
    meter_to_details(&q->meter, details, true);
    return 0;
}

int
vhost_qos_delete_queue(struct vhost_qos *qos, unsigned int queue_id)
{
    struct vhost_queue *q = queue_find(qos, queue_id);

    if (!q) {
        return qos->kind == VHOST_QOS_TRTCM_POLICER ? ENOENT : EOPNOTSUPP;
    }
    ovs_spin_lock(&qos->lock);
    hmap_remove(&qos->queues, &q->node);
    ovs_spin_unlock(&qos->lock);
    free(q);
    return 0;
}

int
vhost_qos_get_queue_stats(struct vhost_qos *qos, unsigned int queue_id,
                          struct netdev_queue_stats *stats)
{
    const struct vhost_queue *q;
    int error = 0;

    ovs_spin_lock(&qos->lock);
    q = queue_find(qos, queue_id);
    if (q) {
        stats->tx_packets = q->tx_packets;
        stats->tx_bytes = q->tx_bytes;
        stats->tx_errors = q->tx_errors;
        stats->created = q->created;
    } else {
        error = qos->kind == VHOST_QOS_TRTCM_POLICER ? ENOENT : EOPNOTSUPP;
    }
    ovs_spin_unlock(&qos->lock);
    return error;
}

/* Stores the ids of the queues, sorted, in a new array '*ids' (the
 * caller frees it) of '*n'. */
static int
compare_uint(const void *a_, const void *b_)
{
    unsigned int a = *(const unsigned int *) a_;
    unsigned int b = *(const unsigned int *) b_;

    return a < b ? -1 : a > b;
}

int
vhost_qos_queue_ids(struct vhost_qos *qos, unsigned int **ids, size_t *n)
{
    /* The main thread alone changes the queues. */
    const struct vhost_queue *q;
    size_t i = 0;

    if (qos->kind != VHOST_QOS_TRTCM_POLICER) {
        return EOPNOTSUPP;
    }
    *ids = xmalloc((hmap_count(&qos->queues) + 1) * sizeof **ids);
    HMAP_FOR_EACH (q, node, &qos->queues) {
        (*ids)[i++] = q->queue_id;
    }
    qsort(*ids, i, sizeof **ids, compare_uint);
    *n = i;
    return 0;
}

/* The data path. */

/* Colors one frame of 'len' bytes for the trtcm-policer of 'qos'. */
static enum color
trtcm_color(struct vhost_qos *qos, const struct dp_packet *packet,
            uint32_t len)
{
    struct vhost_queue *q = queue_find(qos, packet->md.skb_priority);
    enum color color;

    if (!q) {
        q = queue_find(qos, 0);
        if (!q) {
            return RED;
        }
    }
    color = meter_check(&q->meter, len, GREEN);
    if (color == RED) {
        q->tx_errors++;
    } else {
        q->tx_packets++;
        q->tx_bytes += len;
    }
    return meter_check(&qos->meter, len, color);
}

void
vhost_qos_run__(struct vhost_qos *qos, struct dp_packet_batch *batch)
{
    const size_t n = dp_packet_batch_size(batch);
    struct dp_packet *drops[NETDEV_MAX_BURST];
    struct dp_packet *packet;
    long long int now, us;
    size_t dropped = 0;
    struct vhost_queue *q;
    size_t i;

    ovs_spin_lock(&qos->lock);
    if (qos->kind == VHOST_QOS_NONE) {
        /* Turned off since the caller looked. */
        ovs_spin_unlock(&qos->lock);
        return;
    }
    now = time_usec();
    us = now - qos->last_refill;
    if (us > 0) {
        qos->last_refill = now;
        meter_refill(&qos->meter, us);
        HMAP_FOR_EACH (q, node, &qos->queues) {
            meter_refill(&q->meter, us);
        }
    }
    DP_PACKET_BATCH_REFILL_FOR_EACH (i, n, packet, batch) {
        /* As OVS-DPDK counts: the frame without its Ethernet header. */
        uint32_t size = dp_packet_size(packet);
        uint32_t len = size > ETH_HEADER_LEN ? size - ETH_HEADER_LEN : 0;
        enum color color;

        color = (qos->kind == VHOST_QOS_TRTCM_POLICER
                 ? trtcm_color(qos, packet, len)
                 : meter_check(&qos->meter, len, GREEN) == GREEN ? GREEN
                 : RED);
        if (color != RED) {
            dp_packet_batch_refill(batch, packet, i);
        } else {
            drops[dropped++] = packet;
        }
    }
    ovs_spin_unlock(&qos->lock);

    /* Freed outside the lock that other PMD threads spin on. */
    for (i = 0; i < dropped; i++) {
        dp_packet_delete(drops[i]);
    }
    if (dropped) {
        atomic_add_relaxed(&qos->drops, dropped, &(uint64_t) { 0 });
    }
}

uint64_t
vhost_qos_drops(const struct vhost_qos *qos)
{
    uint64_t n;

    atomic_read_relaxed(&((struct vhost_qos *) qos)->drops, &n);
    return n;
}
