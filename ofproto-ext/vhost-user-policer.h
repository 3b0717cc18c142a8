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


#ifndef VHOST_USER_POLICER_H
#define VHOST_USER_POLICER_H 1

/* Ingress policing of a vhost-user port (the Interface table's
 * ingress_policing_rate and ingress_policing_burst, which neutron's
 * bandwidth-limit rule sets): a token bucket in bytes, shared by the
 * port's receive queues, applied to whole batches.  It counts and meters as
 * OVS-DPDK's (an srTCM meter, color blind, with only the committed bucket):
 * rate and burst in kbit converted to bytes, the bucket full to start
 * with, each frame counted without its 14-byte Ethernet header, and a
 * frame passes if the bucket holds that many bytes. */

#include <stdbool.h>
#include <stdint.h>

#include "ovs-atomic.h"
#include "ovs-thread.h"

struct dp_packet_batch;

/* Largest rate (bytes/s) and bucket (bytes) a meter takes: the products
 * below stay within 64 bits. */
#define VHOST_METER_MAX (UINT64_C(1) << 40)

/* Adds to a bucket of 'size' bytes that fills at 'rate' bytes/s the
 * tokens of 'us' microseconds, carrying the fraction of a token in
 * '*frac' (millionths) to the next refill: batches a few microseconds
 * apart would otherwise earn nothing at low rates.  'rate' and 'size' are
 * at most VHOST_METER_MAX. */
static inline void
vhost_bucket_refill(uint64_t *tokens, uint64_t *frac, uint64_t rate,
                    uint64_t size, long long int us)
{
    if (us <= 0) {
        return;
    }
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

struct vhost_policer {
    atomic_bool enabled;        /* Read by PMD threads without the lock. */
    struct ovs_spin lock;
    uint64_t rate;              /* Bytes per second; 0 if off. */
    uint64_t burst;             /* Bucket size in bytes. */
    uint64_t tokens;            /* Bytes that may pass now. */
    uint64_t frac;              /* And millionths of a byte. */
    long long int last_refill;  /* time_usec() of the last refill. */
};

void vhost_policer_init(struct vhost_policer *);
void vhost_policer_destroy(struct vhost_policer *);

/* Sets the rate (kbit/s, 0 turns policing off) and the burst (kbit, 0 for
 * the default of 8000, as Open vSwitch's other ports use). */
void vhost_policer_set(struct vhost_policer *, unsigned int kbits_rate,
                       unsigned int kbits_burst);

/* Sets the rate (bytes/s, 0 turns policing off) and the bucket size
 * (bytes); the bucket starts full. */
void vhost_policer_set_bytes(struct vhost_policer *, uint64_t rate,
                             uint64_t burst);

static inline bool
vhost_policer_enabled(struct vhost_policer *policer)
{
    bool enabled;

    atomic_read_relaxed(&policer->enabled, &enabled);
    return enabled;
}

/* Drops the packets of 'batch' that exceed the rate and returns how many it
 * dropped. */
int vhost_policer_run(struct vhost_policer *, struct dp_packet_batch *);

#endif /* vhost-user-policer.h */
