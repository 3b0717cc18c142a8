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

#include "vhost-user-policer.h"

#include "dp-packet.h"
#include "packets.h"
#include "timeval.h"
#include "util.h"

/* Burst used when ingress_policing_burst is 0, in kbit. */
#define DEFAULT_BURST_KBITS 8000

void
vhost_policer_init(struct vhost_policer *policer)
{
    atomic_init(&policer->enabled, false);
    ovs_spin_init(&policer->lock);
    policer->rate = policer->burst = policer->tokens = policer->frac = 0;
    policer->last_refill = 0;
}

void
vhost_policer_destroy(struct vhost_policer *policer)
{
    ovs_spin_destroy(&policer->lock);
}

void
vhost_policer_set(struct vhost_policer *policer, unsigned int kbits_rate,
                  unsigned int kbits_burst)
{
    vhost_policer_set_bytes(policer, (uint64_t) kbits_rate * 1000 / 8,
                            (uint64_t) (kbits_burst ? kbits_burst
                                        : DEFAULT_BURST_KBITS) * 1000 / 8);
}

void
vhost_policer_set_bytes(struct vhost_policer *policer, uint64_t rate,
                        uint64_t burst)
{
    ovs_spin_lock(&policer->lock);
    policer->rate = rate;
    policer->burst = burst;
    policer->tokens = policer->burst;
    policer->frac = 0;
    policer->last_refill = time_usec();
    atomic_store_relaxed(&policer->enabled, rate != 0);
    ovs_spin_unlock(&policer->lock);
}

/* Adds the tokens earned since the last refill.  The caller holds the
 * lock. */
static void
vhost_policer_refill(struct vhost_policer *policer)
{
    long long int now = time_usec();
    long long int elapsed = now - policer->last_refill;

    if (elapsed <= 0) {
        return;
    }
    policer->last_refill = now;
    vhost_bucket_refill(&policer->tokens, &policer->frac, policer->rate,
                        policer->burst, elapsed);
}

int
vhost_policer_run(struct vhost_policer *policer,
                  struct dp_packet_batch *batch)
{
    const size_t n = dp_packet_batch_size(batch);
    struct dp_packet *drops[NETDEV_MAX_BURST];
    struct dp_packet *packet;
    size_t dropped = 0;
    size_t i;

    ovs_spin_lock(&policer->lock);
    if (!policer->rate) {
        ovs_spin_unlock(&policer->lock);
        return 0;
    }
    vhost_policer_refill(policer);
    DP_PACKET_BATCH_REFILL_FOR_EACH (i, n, packet, batch) {
        /* As OVS-DPDK counts (its rte_meter's packet length): the frame
         * without its Ethernet header. */
        uint32_t size = dp_packet_size(packet);
        uint64_t bytes = size > ETH_HEADER_LEN ? size - ETH_HEADER_LEN : 0;

        if (policer->tokens >= bytes) {
            policer->tokens -= bytes;
            dp_packet_batch_refill(batch, packet, i);
        } else {
            drops[dropped++] = packet;
        }
    }
    ovs_spin_unlock(&policer->lock);
    /* Freed outside the lock that other PMD threads spin on. */
    for (i = 0; i < dropped; i++) {
        dp_packet_delete(drops[i]);
    }
    return dropped;
}
