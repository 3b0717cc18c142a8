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

#ifndef VHOST_USER_OFFLOAD_H
#define VHOST_USER_OFFLOAD_H 1

/* Checksum and TCP segmentation offloads of vhost-user ports, on Open
 * vSwitch 3.1's userspace TSO (other_config:userspace-tso-enable=true,
 * read once at start-up, as netdev-dpdk reads it).
 *
 * From the guest, a frame's virtio-net request (validated by the engine)
 * becomes the dp_packet offload flags that netdev-linux and netdev-dpdk
 * set: TX_IPV4 or TX_IPV6, TX_TCP_CKSUM or TX_UDP_CKSUM, TX_TCP_SEG, with
 * the packet's layer offsets.  A checksum request that is not of that
 * plain kind (its start is not the TCP or UDP header, say a tunnel's inner
 * one) is completed in software at once; a GSO request that does not fit
 * its frame drops it.
 *
 * To the guest, a packet with offload flags gets the matching request in
 * its virtio-net header if the guest negotiated it (GUEST_CSUM,
 * GUEST_TSO4/6); otherwise its checksum is completed, or it is segmented,
 * in software, so that a guest without offloads still receives valid
 * frames no longer than the port's MTU allows.
 *
 * Counters are added once per burst. */

#include <stdbool.h>
#include <stdint.h>

#include "ovs-atomic.h"

struct dp_packet;
struct vhu_net_offload;
struct vhu_net_layers;

struct vhost_offload_stats {
    atomic_uint64_t rx_csum;        /* Checksums left to OVS. */
    atomic_uint64_t rx_tso;         /* TSO frames left to OVS. */
    atomic_uint64_t rx_csum_fixups; /* Checksums completed on receive. */
    atomic_uint64_t rx_invalid;     /* GSO requests that did not fit. */
    atomic_uint64_t tx_csum;        /* Checksums left to the guest. */
    atomic_uint64_t tx_tso;         /* TSO frames given to the guest. */
    atomic_uint64_t tx_csum_fixups; /* Checksums completed for the guest. */
    atomic_uint64_t tx_segmented;   /* TSO packets segmented for it. */
    atomic_uint64_t tx_segments;    /* The segments. */
    atomic_uint64_t tx_invalid;     /* Offload flags we could not serve. */
};

/* One burst's counts, added to a vhost_offload_stats at its end. */
struct vhost_offload_counts {
    uint32_t rx_csum, rx_tso, rx_csum_fixups, rx_invalid;
    uint32_t tx_csum, tx_tso, tx_csum_fixups, tx_segmented, tx_segments;
    uint32_t tx_invalid;
};

void vhost_offload_stats_init(struct vhost_offload_stats *);
void vhost_offload_stats_add(struct vhost_offload_stats *,
                             const struct vhost_offload_counts *);

/* True if Open vSwitch's userspace TSO is on. */
bool vhost_offload_enabled(void);

/* Applies request 'ol' of 'packet', just received from the guest.
 * Returns false if the packet must be dropped. */
bool vhost_offload_rx(struct dp_packet *packet,
                      const struct vhu_net_offload *ol,
                      struct vhost_offload_counts *);

/* What to do with a packet sent to the guest. */
enum vhost_offload_tx {
    VHOST_OFFLOAD_TX_PLAIN,     /* Send as it is. */
    VHOST_OFFLOAD_TX_REQUEST,   /* Send with the request stored. */
    VHOST_OFFLOAD_TX_SEGMENT,   /* Segment it with the request and layers
                                 * stored. */
    VHOST_OFFLOAD_TX_DROP,      /* Counted as tx_invalid. */
};

/* Decides how 'packet', with offload flags, goes to a guest that
 * negotiated 'features', on a port of MTU 'mtu'; completes its checksum
 * in software when the guest cannot take it partial. */
enum vhost_offload_tx vhost_offload_tx(struct dp_packet *packet,
                                       uint64_t features, int mtu,
                                       struct vhu_net_offload *ol,
                                       struct vhu_net_layers *layers,
                                       struct vhost_offload_counts *);

#endif /* vhost-user-offload.h */
