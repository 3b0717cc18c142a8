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

#include "vhost-user-offload.h"

#include <netinet/in.h>
#include <string.h>

#include "dp-packet.h"
#include "userspace-tso.h"
#include "vhost-engine.h"
#include "vhost-user-protocol.h"


void
vhost_offload_stats_init(struct vhost_offload_stats *s)
{
    atomic_init(&s->rx_csum, 0);
    atomic_init(&s->rx_tso, 0);
    atomic_init(&s->rx_csum_fixups, 0);
    atomic_init(&s->rx_invalid, 0);
    atomic_init(&s->tx_csum, 0);
    atomic_init(&s->tx_tso, 0);
    atomic_init(&s->tx_csum_fixups, 0);
    atomic_init(&s->tx_segmented, 0);
    atomic_init(&s->tx_segments, 0);
    atomic_init(&s->tx_invalid, 0);
}

static void
add(atomic_uint64_t *counter, uint32_t n)
{
    if (n) {
        atomic_add_relaxed(counter, n, &(uint64_t) { 0 });
    }
}

void
vhost_offload_stats_add(struct vhost_offload_stats *s,
                        const struct vhost_offload_counts *c)
{
    add(&s->rx_csum, c->rx_csum);
    add(&s->rx_tso, c->rx_tso);
    add(&s->rx_csum_fixups, c->rx_csum_fixups);
    add(&s->rx_invalid, c->rx_invalid);
    add(&s->tx_csum, c->tx_csum);
    add(&s->tx_tso, c->tx_tso);
    add(&s->tx_csum_fixups, c->tx_csum_fixups);
    add(&s->tx_segmented, c->tx_segmented);
    add(&s->tx_segments, c->tx_segments);
    add(&s->tx_invalid, c->tx_invalid);
}

bool
vhost_offload_enabled(void)
{
    return userspace_tso_enabled();
}

bool
vhost_offload_rx(struct dp_packet *packet, const struct vhu_net_offload *ol,
                 struct vhost_offload_counts *c)
{
    struct vhu_net_layers l;

    if (!ol->flags) {
        return true;
    }
    if (vhu_net_parse(dp_packet_data(packet), dp_packet_size(packet), ol,
                      &l)) {
        if (l.ip_version == 4) {
            dp_packet_hwol_set_tx_ipv4(packet);
        } else {
            dp_packet_hwol_set_tx_ipv6(packet);
        }
        if (l.l4_proto == IPPROTO_TCP) {
            dp_packet_hwol_set_csum_tcp(packet);
        } else {
            dp_packet_hwol_set_csum_udp(packet);
        }
        if (ol->gso_type) {
            dp_packet_hwol_set_tcp_seg(packet);
            c->rx_tso++;
        } else {
            c->rx_csum++;
        }
        return true;
    }
    if (ol->gso_type) {
        c->rx_invalid++;
        return false;
    }
    /* A checksum Open vSwitch has no flag for (a tunnel's inner one, say):
     * complete it now. */
    vhu_net_csum_fixup(dp_packet_data(packet), dp_packet_size(packet), ol);
    c->rx_csum_fixups++;
    return true;
}

enum vhost_offload_tx
vhost_offload_tx(struct dp_packet *packet, uint64_t features, int mtu,
                 struct vhu_net_offload *ol, struct vhu_net_layers *l,
                 struct vhost_offload_counts *c)
{
    const struct vhu_net_offload none = { 0 };
    uint8_t *data = dp_packet_data(packet);
    uint32_t len = dp_packet_size(packet);
    bool tcp, tso = dp_packet_hwol_is_tso(packet);

    vhu_net_parse(data, len, &none, l);
    tcp = l->l4_proto == IPPROTO_TCP;
    if (!l->l4_len || (tso && !tcp)
        || (dp_packet_hwol_l4_is_tcp(packet) && !tcp)
        || (dp_packet_hwol_l4_is_udp(packet) && l->l4_proto != IPPROTO_UDP)) {
        c->tx_invalid++;
        return VHOST_OFFLOAD_TX_DROP;
    }
    memset(ol, 0, sizeof *ol);
    ol->flags = VHU_NET_HDR_F_NEEDS_CSUM;
    ol->csum_start = l->l4_ofs;
    ol->csum_offset = tcp ? 16 : 6;

    if (tso) {
        int mss = mtu - (l->l4_ofs - l->l3_ofs) - l->l4_len;
        uint64_t tso_bit = VHU_BIT(l->ip_version == 4
                                   ? VHU_VIRTIO_NET_F_GUEST_TSO4
                                   : VHU_VIRTIO_NET_F_GUEST_TSO6);
        bool cwr = data[l->l4_ofs + 13] & TCP_CWR;    /* Flags byte. */

        if (mss <= 0) {
            c->tx_invalid++;
            return VHOST_OFFLOAD_TX_DROP;
        }
        if (len - l->l4_ofs - l->l4_len > (uint32_t) mss) {
            ol->gso_type = (l->ip_version == 4 ? VHU_NET_HDR_GSO_TCPV4
                            : VHU_NET_HDR_GSO_TCPV6);
            ol->gso_size = mss;
            ol->hdr_len = l->l4_ofs + l->l4_len;
            if (!vhu_net_parse(data, len, ol, l)) {
                c->tx_invalid++;
                return VHOST_OFFLOAD_TX_DROP;
            }
            if (features & tso_bit
                && features & VHU_BIT(VHU_VIRTIO_NET_F_GUEST_CSUM)
                && (!cwr
                    || features & VHU_BIT(VHU_VIRTIO_NET_F_GUEST_ECN))) {
                if (cwr) {
                    ol->gso_type |= VHU_NET_HDR_GSO_ECN;
                }
                c->tx_tso++;
                return VHOST_OFFLOAD_TX_REQUEST;
            }
            c->tx_segmented++;
            return VHOST_OFFLOAD_TX_SEGMENT;
        }
        /* One segment's worth: only the checksum is left. */
    }

    if (features & VHU_BIT(VHU_VIRTIO_NET_F_GUEST_CSUM)) {
        c->tx_csum++;
        return VHOST_OFFLOAD_TX_REQUEST;
    }
    vhu_net_csum_fixup(data, len, ol);
    c->tx_csum_fixups++;
    return VHOST_OFFLOAD_TX_PLAIN;
}
