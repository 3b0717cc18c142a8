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

#include <vhu-config.h>
#include "net-offload.h"

#include <netinet/in.h>
#include <string.h>

#include "vhost-user-protocol.h"

/* Checksum and segmentation offload requests (virtio 1.x 5.1.6): reading
 * and checking the guest's, writing ours, and the frame parsing and
 * checksum that the checks and the software fallback need.  Header fields
 * are little-endian (VERSION_1; legacy x86 guests are too). */

static uint16_t
get_le16(const uint8_t *p)
{
    return p[0] | (p[1] << 8);
}

static void
put_le16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static uint16_t
get_be16(const uint8_t *p)
{
    return (p[0] << 8) | p[1];
}

bool
vhu_net_host_offloads(uint64_t features)
{
    return (features & VHU_BIT(VHU_VIRTIO_NET_F_CSUM)) != 0;
}

/* Checks the parts of 'ol' that do not depend on the direction: checksum
 * within a frame of 'len' bytes, GSO with a checksum and a segment size,
 * 'hdr_len' within the frame. */
static bool
offload_fits(const struct vhu_net_offload *ol, uint32_t len)
{
    if (ol->flags & VHU_NET_HDR_F_NEEDS_CSUM
        && (uint32_t) ol->csum_start + ol->csum_offset + 2 > len) {
        return false;
    }
    if ((ol->gso_type & ~VHU_NET_HDR_GSO_ECN) != VHU_NET_HDR_GSO_NONE) {
        if (!(ol->flags & VHU_NET_HDR_F_NEEDS_CSUM) || !ol->gso_size
            || ol->hdr_len > len) {
            return false;
        }
    } else if (ol->gso_type) {
        return false;           /* ECN without GSO. */
    }
    return true;
}

/* True if 'gso_type' is one that 'features' allow, given the feature bits
 * for TCPv4, TCPv6 and ECN in that direction. */
static bool
gso_allowed(uint8_t gso_type, uint64_t features, int tso4, int tso6,
            int ecn)
{
    if (gso_type & VHU_NET_HDR_GSO_ECN && !(features & VHU_BIT(ecn))) {
        return false;
    }
    switch (gso_type & ~VHU_NET_HDR_GSO_ECN) {
    case VHU_NET_HDR_GSO_NONE:
        return true;
    case VHU_NET_HDR_GSO_TCPV4:
        return (features & VHU_BIT(tso4)) != 0;
    case VHU_NET_HDR_GSO_TCPV6:
        return (features & VHU_BIT(tso6)) != 0;
    default:
        return false;           /* UDP (UFO) is never offered. */
    }
}

bool
vhu_net_hdr_read(const uint8_t hdr[VHU_NET_HDR_OFFLOAD_LEN],
                 uint64_t features, uint32_t len, struct vhu_net_offload *ol)
{
    ol->flags = hdr[0] & ~VHU_NET_HDR_F_DATA_VALID;
    ol->gso_type = hdr[1];
    ol->hdr_len = get_le16(hdr + 2);
    ol->gso_size = get_le16(hdr + 4);
    ol->csum_start = get_le16(hdr + 6);
    ol->csum_offset = get_le16(hdr + 8);

    if (!(ol->flags & VHU_NET_HDR_F_NEEDS_CSUM)) {
        /* The other fields mean nothing without it, unless GSO is asked,
         * which needs it. */
        if (ol->flags || ol->gso_type) {
            return false;
        }
        memset(ol, 0, sizeof *ol);
        return true;
    }
    return (ol->flags == VHU_NET_HDR_F_NEEDS_CSUM
            && vhu_net_host_offloads(features)
            && gso_allowed(ol->gso_type, features,
                           VHU_VIRTIO_NET_F_HOST_TSO4,
                           VHU_VIRTIO_NET_F_HOST_TSO6,
                           VHU_VIRTIO_NET_F_HOST_ECN)
            && offload_fits(ol, len));
}

bool
vhu_net_hdr_allowed(const struct vhu_net_offload *ol, uint64_t features,
                    uint32_t len)
{
    if (!ol->flags && !ol->gso_type) {
        return true;
    }
    return ((ol->flags & ~VHU_NET_HDR_F_DATA_VALID)
            == VHU_NET_HDR_F_NEEDS_CSUM
            && features & VHU_BIT(VHU_VIRTIO_NET_F_GUEST_CSUM)
            && gso_allowed(ol->gso_type, features,
                           VHU_VIRTIO_NET_F_GUEST_TSO4,
                           VHU_VIRTIO_NET_F_GUEST_TSO6,
                           VHU_VIRTIO_NET_F_GUEST_ECN)
            && offload_fits(ol, len));
}

void
vhu_net_hdr_write(uint8_t hdr[VHU_NET_HDR_OFFLOAD_LEN],
                  const struct vhu_net_offload *ol)
{
    hdr[0] = ol->flags;
    hdr[1] = ol->gso_type;
    put_le16(hdr + 2, ol->hdr_len);
    put_le16(hdr + 4, ol->gso_size);
    put_le16(hdr + 6, ol->csum_start);
    put_le16(hdr + 8, ol->csum_offset);
}

#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_IPV6 0x86dd
#define ETH_TYPE_VLAN 0x8100
#define ETH_TYPE_VLAN_8021AD 0x88a8

/* Fills 'l' from the frame; stops where the frame is too short or not IP,
 * TCP or UDP. */
static void
parse_layers(const uint8_t *p, uint32_t len, struct vhu_net_layers *l)
{
    uint32_t ofs = 12;
    uint16_t type;

    memset(l, 0, sizeof *l);
    if (len < 14) {
        return;
    }
    type = get_be16(p + ofs);
    for (int i = 0; i < 2 && (type == ETH_TYPE_VLAN
                              || type == ETH_TYPE_VLAN_8021AD); i++) {
        ofs += 4;
        if (ofs + 2 > len) {
            return;
        }
        type = get_be16(p + ofs);
    }
    ofs += 2;
    l->l3_ofs = ofs;

    if (type == ETH_TYPE_IPV4) {
        uint32_t ihl;

        if (ofs + 20 > len || p[ofs] >> 4 != 4) {
            return;
        }
        ihl = (p[ofs] & 0xf) * 4;
        if (ihl < 20 || ofs + ihl > len
            || get_be16(p + ofs + 6) & 0x3fff) {
            return;             /* Bad header, or a fragment. */
        }
        l->ip_version = 4;
        l->l4_proto = p[ofs + 9];
        ofs += ihl;
    } else if (type == ETH_TYPE_IPV6) {
        if (ofs + 40 > len || p[ofs] >> 4 != 6) {
            return;
        }
        l->ip_version = 6;
        l->l4_proto = p[ofs + 6];
        ofs += 40;
    } else {
        return;
    }
    l->l4_ofs = ofs;

    if (l->l4_proto == IPPROTO_TCP && ofs + 20 <= len) {
        uint32_t doff = (p[ofs + 12] >> 4) * 4;

        if (doff >= 20 && ofs + doff <= len) {
            l->l4_len = doff;
        }
    } else if (l->l4_proto == IPPROTO_UDP && ofs + 8 <= len) {
        l->l4_len = 8;
    }
}

bool
vhu_net_parse(const void *frame, uint32_t len,
              const struct vhu_net_offload *ol, struct vhu_net_layers *l)
{
    uint8_t gso = ol->gso_type & ~VHU_NET_HDR_GSO_ECN;

    parse_layers(frame, len, l);
    if (!(ol->flags & VHU_NET_HDR_F_NEEDS_CSUM)) {
        return !gso;
    }
    if (!l->l4_len || ol->csum_start != l->l4_ofs
        || ol->csum_offset != (l->l4_proto == IPPROTO_TCP ? 16 : 6)) {
        return false;
    }
    switch (gso) {
    case VHU_NET_HDR_GSO_NONE:
        return true;
    case VHU_NET_HDR_GSO_TCPV4:
        return l->ip_version == 4 && l->l4_proto == IPPROTO_TCP;
    case VHU_NET_HDR_GSO_TCPV6:
        return l->ip_version == 6 && l->l4_proto == IPPROTO_TCP;
    default:
        return false;
    }
}

/* The one's complement sum of 'len' bytes at 'p' as 16-bit words in
 * memory order (RFC 1071: the sum of the byte-swapped words is the
 * byte-swapped sum, so storing the result in memory order is right on
 * either byte order), not folded. */
static uint64_t
csum_add(const uint8_t *p, uint32_t len)
{
    uint64_t sum = 0;

    while (len >= 8) {
        uint64_t w;

        memcpy(&w, p, 8);
        sum += w & 0xffffffff;
        sum += w >> 32;
        p += 8;
        len -= 8;
    }
    while (len >= 2) {
        uint16_t w;

        memcpy(&w, p, 2);
        sum += w;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint8_t last[2] = { p[0], 0 };
        uint16_t w;

        memcpy(&w, last, 2);
        sum += w;
    }
    return sum;
}

static uint16_t
csum_fold(uint64_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

void
vhu_net_csum_fixup(void *frame, uint32_t len,
                   const struct vhu_net_offload *ol)
{
    uint8_t *p = frame;
    uint16_t csum;

    if (!(ol->flags & VHU_NET_HDR_F_NEEDS_CSUM)
        || (uint32_t) ol->csum_start + ol->csum_offset + 2 > len) {
        return;
    }
    csum = ~csum_fold(csum_add(p + ol->csum_start, len - ol->csum_start));
    if (!csum) {
        csum = 0xffff;          /* 0 means "none" for UDP. */
    }
    memcpy(p + ol->csum_start + ol->csum_offset, &csum, sizeof csum);
}

/* Segmentation. */

static void
put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static uint32_t
get_be32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

uint32_t
vhu_net_segment_max_len(const struct vhu_net_offload *ol,
                        const struct vhu_net_layers *l)
{
    return (uint32_t) l->l4_ofs + l->l4_len + ol->gso_size;
}

/* Stores the checksum of TCP segment 'seg' ('len' bytes, layers 'l'):
 * the pseudo-header's sum, then the header and payload's. */
static void
tcp_csum(uint8_t *seg, uint32_t len, const struct vhu_net_layers *l)
{
    uint8_t *tcp = seg + l->l4_ofs;
    uint32_t tcp_len = len - l->l4_ofs;
    uint8_t pseudo[8];
    uint64_t sum;
    uint16_t csum;

    put_be32(pseudo, tcp_len);
    put_be32(pseudo + 4, IPPROTO_TCP);
    if (l->ip_version == 4) {
        sum = csum_add(seg + l->l3_ofs + 12, 8);
    } else {
        sum = csum_add(seg + l->l3_ofs + 8, 32);
    }
    sum += csum_add(pseudo, sizeof pseudo);
    memset(tcp + 16, 0, 2);
    sum += csum_add(tcp, tcp_len);
    csum = ~csum_fold(sum);
    memcpy(tcp + 16, &csum, sizeof csum);
}

unsigned int
vhu_net_segment(const void *frame_, uint32_t len,
                const struct vhu_net_offload *ol,
                const struct vhu_net_layers *l, void *scratch_,
                vhu_segment_fn *emit, void *aux)
{
    const uint8_t *frame = frame_;
    uint8_t *seg = scratch_;
    uint32_t hdrs = (uint32_t) l->l4_ofs + l->l4_len;
    uint32_t payload, ofs, seq;
    uint16_t ip_id = 0;
    unsigned int n = 0;
    uint8_t flags;

    if (!(ol->gso_type & ~VHU_NET_HDR_GSO_ECN) || !ol->gso_size
        || l->l4_proto != IPPROTO_TCP || !l->l4_len || hdrs > len
        || (l->ip_version != 4 && l->ip_version != 6)) {
        return 0;
    }
    payload = len - hdrs;
    seq = get_be32(frame + l->l4_ofs + 4);
    flags = frame[l->l4_ofs + 13];
    if (l->ip_version == 4) {
        ip_id = get_be16(frame + l->l3_ofs + 4);
    }

    ofs = 0;
    do {
        uint32_t chunk = payload - ofs < ol->gso_size ? payload - ofs
                                                      : ol->gso_size;
        uint32_t seg_len = hdrs + chunk;
        bool first = !ofs, last = ofs + chunk >= payload;
        uint8_t *ip = seg + l->l3_ofs, *tcp = seg + l->l4_ofs;

        memcpy(seg, frame, hdrs);
        memcpy(seg + hdrs, frame + hdrs + ofs, chunk);
        if (l->ip_version == 4) {
            uint32_t ihl = l->l4_ofs - l->l3_ofs;
            uint16_t csum;

            put_be16(ip + 2, seg_len - l->l3_ofs);
            put_be16(ip + 4, ip_id + n);
            memset(ip + 10, 0, 2);
            csum = ~csum_fold(csum_add(ip, ihl));
            memcpy(ip + 10, &csum, sizeof csum);
        } else {
            put_be16(ip + 4, seg_len - l->l4_ofs);
        }
        put_be32(tcp + 4, seq + ofs);
        tcp[13] = flags & ~((last ? 0 : TCP_FIN | TCP_PSH)
                            | (first ? 0 : TCP_CWR));
        tcp_csum(seg, seg_len, l);
        emit(aux, seg, seg_len);
        n++;
        ofs += chunk;
    } while (ofs < payload);
    return n;
}
