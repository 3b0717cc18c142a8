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
#include "test-datapath.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* Tests of the checksum and segmentation offload requests in the
 * virtio-net header (datapath/net-offload.c). */

#define NET(F) VHU_BIT(VHU_VIRTIO_NET_F_##F)
#define F_BASE (VHU_BIT(VHU_VIRTIO_F_VERSION_1) \
                | VHU_BIT(VHU_F_PROTOCOL_FEATURES) \
                | NET(MRG_RXBUF))
#define F_HOST (NET(CSUM) | NET(HOST_TSO4) | NET(HOST_TSO6))
#define F_GUEST (NET(GUEST_CSUM) | NET(GUEST_TSO4) | NET(GUEST_TSO6))
#define F_ALL_OL (F_HOST | F_GUEST | NET(HOST_ECN) | NET(GUEST_ECN))

static void
setup(struct fe *fe, uint64_t features)
{
    struct fe_opts opts = {
        .features = features, .n_qp = 1, .ring_size = 256,
    };

    fe_net_offloads = true;
    fe_setup(fe, &opts);
    fe_net_offloads = false;
}

static void
put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

/* The Internet checksum, computed the plain way, for reference: 16-bit
 * big-endian words, the last byte padded. */
static uint16_t
ref_csum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (p[i] << 8) | p[i + 1];
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/* Builds in 'f' an Ethernet frame of 'len' bytes: 'vlans' VLAN tags, IPv4
 * ('ipv6' false) or IPv6, TCP ('tcp') or UDP, a pattern as payload, and
 * the transport checksum field holding the pseudo-header's sum (as a
 * driver leaves it for NEEDS_CSUM).  Returns the transport header's
 * offset. */
static uint16_t
build_frame(uint8_t *f, uint32_t len, bool ipv6, bool tcp, int vlans)
{
    uint32_t ofs = 12, l3, l4, l4_len;
    uint32_t pseudo = 0;

    fill_pattern(f, len, 7);
    for (int i = 0; i < vlans; i++) {
        put_be16(f + ofs, 0x8100);
        put_be16(f + ofs + 2, 100 + i);
        ofs += 4;
    }
    put_be16(f + ofs, ipv6 ? 0x86dd : 0x0800);
    l3 = ofs + 2;
    if (ipv6) {
        l4 = l3 + 40;
        memset(f + l3, 0, 8);
        f[l3] = 0x60;
        put_be16(f + l3 + 4, len - l4);
        f[l3 + 6] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
        f[l3 + 7] = 64;
        /* Addresses: the pattern. */
        pseudo = ref_csum(f + l3 + 8, 32, 0);
        pseudo += len - l4;
        pseudo += tcp ? IPPROTO_TCP : IPPROTO_UDP;
    } else {
        l4 = l3 + 20;
        memset(f + l3, 0, 12);
        f[l3] = 0x45;
        put_be16(f + l3 + 2, len - l3);
        f[l3 + 8] = 64;
        f[l3 + 9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
        pseudo = ref_csum(f + l3 + 12, 8, 0);
        pseudo += len - l4;
        pseudo += tcp ? IPPROTO_TCP : IPPROTO_UDP;
    }
    if (tcp) {
        l4_len = 20;
        f[l4 + 12] = 5 << 4;
        put_be16(f + l4 + 16, ref_csum(NULL, 0, pseudo));
    } else {
        l4_len = 8;
        put_be16(f + l4 + 4, len - l4);
        put_be16(f + l4 + 6, ref_csum(NULL, 0, pseudo));
    }
    (void) l4_len;
    return l4;
}

/* True if the transport checksum of frame 'f' (built by build_frame(),
 * transport header at 'l4') is right: the sum over the pseudo-header and
 * the segment is 0xffff. */
static bool
l4_csum_ok(const uint8_t *f, uint32_t len, uint16_t l4, bool ipv6, bool tcp)
{
    uint32_t l3 = l4 - (ipv6 ? 40 : 20);
    uint32_t pseudo = (ipv6 ? ref_csum(f + l3 + 8, 32, 0)
                       : ref_csum(f + l3 + 12, 8, 0));

    pseudo += len - l4;
    pseudo += tcp ? IPPROTO_TCP : IPPROTO_UDP;
    return ref_csum(f + l4, len - l4, pseudo) == 0xffff;
}

/* Makes a frame with header 'ol' (12 bytes, 'num_buffers' 0) available on
 * the transmit ring, at buffer 'slot'. */
static void
tx_frame(struct fe *fe, const struct vhu_net_offload *ol, const uint8_t *f,
         uint32_t len, int slot)
{
    uint64_t gpa = BUF_BASE + slot * 0x10000;
    uint8_t *p = fe_gpa(fe, gpa);
    uint32_t total = 12 + len;

    memset(p, 0, 12);
    p[0] = ol->flags;
    p[1] = ol->gso_type;
    memcpy(p + 2, &ol->hdr_len, 2);
    memcpy(p + 4, &ol->gso_size, 2);
    memcpy(p + 6, &ol->csum_start, 2);
    memcpy(p + 8, &ol->csum_offset, 2);
    memcpy(p + 12, f, len);
    fe_publish(fe, 1, fe_add_chain(fe, 1, &gpa, &total, 1, false));
}

static int
dequeue_ol(struct fe *fe, struct test_pkt **pkts, struct vhu_net_offload *ols,
           int max)
{
    return vhu_dequeue_burst_ol(fe->dev, 0, test_alloc, test_free, NULL,
                                (void **) pkts, ols, max);
}

static uint64_t
bad_offloads(struct fe *fe, unsigned int vring)
{
    struct vhu_vring_stats st;

    vhu_device_vring_stats(fe->dev, vring, &st);
    return st.bad_offloads;
}

/* The offloads are offered only with the option. */
static void
test_ol_offered(void)
{
    struct fe fe;
    uint64_t f;

    fe_init(&fe, 1);
    f = fe_get_u64(&fe, VHU_REQ_GET_FEATURES);
    CHECK(!(f & F_ALL_OL), "offloads offered without the option: %#"PRIx64,
          f);
    fe_destroy(&fe);

    fe_net_offloads = true;
    fe_init(&fe, 1);
    fe_net_offloads = false;
    f = fe_get_u64(&fe, VHU_REQ_GET_FEATURES);
    CHECK((f & F_ALL_OL) == F_ALL_OL, "offloads not offered: %#"PRIx64, f);
    CHECK(!(f & (NET(GUEST_UFO) | NET(HOST_UFO))), "UFO offered");
    fe_destroy(&fe);
}

/* Valid requests come out as the guest wrote them, and fit the frame. */
static void
test_ol_tx_valid(void)
{
    static uint8_t f[3][9000];
    struct vhu_net_offload in[3] = {
        { .flags = VHU_NET_HDR_F_NEEDS_CSUM, .csum_offset = 16 },
        { .flags = VHU_NET_HDR_F_NEEDS_CSUM, .gso_type =
          VHU_NET_HDR_GSO_TCPV4, .gso_size = 1448, .hdr_len = 54,
          .csum_offset = 16 },
        { .flags = VHU_NET_HDR_F_NEEDS_CSUM, .gso_type =
          VHU_NET_HDR_GSO_TCPV6, .gso_size = 1428, .hdr_len = 74,
          .csum_offset = 16 },
    };
    uint32_t lens[3] = { 1000, 9000, 9000 };
    struct vhu_net_offload out[3];
    struct test_pkt *pkts[3];
    struct fe fe;

    setup(&fe, F_BASE | F_HOST);
    in[0].csum_start = build_frame(f[0], lens[0], false, true, 1);
    in[1].csum_start = build_frame(f[1], lens[1], false, true, 0);
    in[2].csum_start = build_frame(f[2], lens[2], true, true, 0);
    for (int i = 0; i < 3; i++) {
        tx_frame(&fe, &in[i], f[i], lens[i], i);
    }
    CHECK(dequeue_ol(&fe, pkts, out, 3) == 3, "not all dequeued");
    for (int i = 0; i < 3; i++) {
        struct vhu_net_layers l;

        CHECK(!memcmp(&out[i], &in[i], sizeof in[i]), "request %d differs",
              i);
        CHECK(pkts[i]->len == lens[i] && !memcmp(pkts[i]->data, f[i],
                                                 lens[i]), "frame %d", i);
        CHECK(vhu_net_parse(pkts[i]->data, pkts[i]->len, &out[i], &l),
              "request %d does not fit its frame", i);
        CHECK(l.l4_ofs == in[i].csum_start && l.l4_len == 20
              && l.l4_proto == IPPROTO_TCP, "frame %d layers", i);
        free(pkts[i]);
    }
    CHECK(!bad_offloads(&fe, 1), "bad offloads counted");
    fe_destroy(&fe);
}

/* Each invalid request drops its frame, counted; the frames around it and
 * the ring are fine. */
static void
test_ol_tx_invalid(void)
{
    static uint8_t f[1000];
    const uint8_t NC = VHU_NET_HDR_F_NEEDS_CSUM;
    const struct vhu_net_offload bad[] = {
        /* Checksum start past the frame, field past the end. */
        { .flags = NC, .csum_start = 1000, .csum_offset = 0 },
        { .flags = NC, .csum_start = 990, .csum_offset = 9 },
        { .flags = NC, .csum_start = 0xffff, .csum_offset = 0xffff },
        /* GSO without NEEDS_CSUM, without a size, UDP, not negotiated
         * (TCPv6 with HOST_TSO4 only), unknown type, ECN not negotiated,
         * ECN without GSO, hdr_len past the frame. */
        { .gso_type = VHU_NET_HDR_GSO_TCPV4, .gso_size = 1448 },
        { .flags = NC, .gso_type = VHU_NET_HDR_GSO_TCPV4, .csum_start = 34,
          .csum_offset = 16 },
        { .flags = NC, .gso_type = VHU_NET_HDR_GSO_UDP, .gso_size = 1000,
          .csum_start = 34, .csum_offset = 6 },
        { .flags = NC, .gso_type = VHU_NET_HDR_GSO_TCPV6, .gso_size = 1000,
          .csum_start = 54, .csum_offset = 16 },
        { .flags = NC, .gso_type = 2, .gso_size = 1000, .csum_start = 34,
          .csum_offset = 16 },
        { .flags = NC, .gso_type = VHU_NET_HDR_GSO_TCPV4
          | VHU_NET_HDR_GSO_ECN, .gso_size = 1000, .csum_start = 34,
          .csum_offset = 16 },
        { .flags = NC, .gso_type = VHU_NET_HDR_GSO_ECN, .csum_start = 34,
          .csum_offset = 16 },
        { .flags = NC, .gso_type = VHU_NET_HDR_GSO_TCPV4, .gso_size = 1000,
          .hdr_len = 1001, .csum_start = 34, .csum_offset = 16 },
        /* Flags a driver must not set (RSC_INFO, unknown). */
        { .flags = NC | 4, .csum_start = 34, .csum_offset = 16 },
        { .flags = 0x80 },
    };
    const struct vhu_net_offload good = {
        .flags = NC, .csum_start = 34, .csum_offset = 16,
    };
    const struct vhu_net_offload data_valid = {
        .flags = VHU_NET_HDR_F_DATA_VALID,
    };
    size_t n_bad = sizeof bad / sizeof *bad;
    struct vhu_net_offload out[4];
    struct test_pkt *pkts[4];
    struct fe fe;

    setup(&fe, F_BASE | NET(CSUM) | NET(HOST_TSO4));
    build_frame(f, sizeof f, false, true, 0);
    for (size_t i = 0; i < n_bad; i++) {
        int n;

        tx_frame(&fe, &good, f, sizeof f, 0);
        tx_frame(&fe, &bad[i], f, sizeof f, 1);
        tx_frame(&fe, &data_valid, f, sizeof f, 2);
        n = dequeue_ol(&fe, pkts, out, 4);
        CHECK(n == 2, "case %zu: %d frames dequeued, expected 2", i, n);
        CHECK(!memcmp(&out[0], &good, sizeof good), "case %zu: good", i);
        CHECK(!out[1].flags && !out[1].gso_type,
              "case %zu: DATA_VALID kept", i);
        CHECK(bad_offloads(&fe, 1) == i + 1, "case %zu: %"PRIu64" counted",
              i, bad_offloads(&fe, 1));
        CHECK(!vhu_device_is_broken(fe.dev), "case %zu: broken", i);
        free(pkts[0]);
        free(pkts[1]);
        for (int k = 0; k < 3; k++) {
            uint32_t id, len;

            CHECK(fe_get_used(&fe, 1, &id, &len), "case %zu: buffer %d not "
                  "given back", i, k);
        }
    }
    fe_destroy(&fe);
}

/* Without CSUM negotiated the header is not read: whatever it holds, the
 * frame comes out with no request. */
static void
test_ol_tx_not_negotiated(void)
{
    static uint8_t f[200];
    const struct vhu_net_offload junk = {
        .flags = 0xff, .gso_type = 0xff, .csum_start = 0xffff,
        .csum_offset = 0xffff,
    };
    struct vhu_net_offload out;
    struct test_pkt *pkt;
    struct fe fe;

    setup(&fe, F_BASE);
    fill_pattern(f, sizeof f, 3);
    tx_frame(&fe, &junk, f, sizeof f, 0);
    memset(&out, 0xaa, sizeof out);
    CHECK(dequeue_ol(&fe, &pkt, &out, 1) == 1, "dropped");
    CHECK(!out.flags && !out.gso_type && !out.csum_start,
          "request reported");
    free(pkt);
    CHECK(!bad_offloads(&fe, 1), "counted");
    fe_destroy(&fe);
}

/* A caller that takes no requests gets checksums completed, and no GSO
 * frames (they are counted as bad offloads). */
static void
test_ol_tx_fixup(void)
{
    static uint8_t f[4][1501];
    const bool v6[4] = { false, true, false, false };
    const bool tcp[4] = { true, true, false, true };
    struct test_pkt *pkts[5];
    struct fe fe;
    int n;

    setup(&fe, F_BASE | F_HOST);
    for (int i = 0; i < 4; i++) {
        uint32_t len = sizeof f[i] - i;
        struct vhu_net_offload ol = {
            .flags = VHU_NET_HDR_F_NEEDS_CSUM,
            .csum_offset = tcp[i] ? 16 : 6,
        };

        ol.csum_start = build_frame(f[i], len, v6[i], tcp[i], i == 3);
        tx_frame(&fe, &ol, f[i], len, i);
    }
    {
        struct vhu_net_offload gso = {
            .flags = VHU_NET_HDR_F_NEEDS_CSUM,
            .gso_type = VHU_NET_HDR_GSO_TCPV4, .gso_size = 1000,
            .csum_offset = 16,
        };

        gso.csum_start = build_frame(f[0], 1500, false, true, 0);
        tx_frame(&fe, &gso, f[0], 1500, 4);
    }
    n = fe_dequeue(&fe, 0, pkts, 5);
    CHECK(n == 4, "%d dequeued, expected 4", n);
    for (int i = 0; i < 4; i++) {
        uint16_t l4 = 34 + (v6[i] ? 20 : 0) + (i == 3 ? 4 : 0);

        CHECK(l4_csum_ok(pkts[i]->data, pkts[i]->len, l4, v6[i], tcp[i]),
              "frame %d: checksum not completed", i);
        free(pkts[i]);
    }
    CHECK(bad_offloads(&fe, 1) == 1, "GSO frame not counted");
    fe_destroy(&fe);
}

/* The checksum against the plain computation: odd and even lengths and
 * starts, and 0 written as 0xffff. */
static void
test_ol_csum(void)
{
    static uint8_t f[2000], g[2000];

    for (unsigned int seed = 0; seed < 200; seed++) {
        uint32_t len = 100 + seed * 7 % 1900;
        struct vhu_net_offload ol = {
            .flags = VHU_NET_HDR_F_NEEDS_CSUM,
            .csum_start = 14 + seed % 37,
            .csum_offset = (seed % 5) * 2,
        };
        uint16_t got, want;

        fill_pattern(f, len, seed);
        memcpy(g, f, len);
        vhu_net_csum_fixup(f, len, &ol);
        memcpy(&got, f + ol.csum_start + ol.csum_offset, 2);
        got = ntohs(got);
        want = ~ref_csum(g + ol.csum_start, len - ol.csum_start, 0);
        CHECK(got == (want ? want : 0xffff), "seed %u: %#x, expected %#x",
              seed, got, want);
        /* Only the field changed. */
        memcpy(g + ol.csum_start + ol.csum_offset,
               f + ol.csum_start + ol.csum_offset, 2);
        CHECK(!memcmp(f, g, len), "seed %u: frame changed", seed);
    }
}

/* vhu_net_parse(): where the layers are, and which requests fit. */
static void
test_ol_parse(void)
{
    static uint8_t f[600];
    const uint8_t NC = VHU_NET_HDR_F_NEEDS_CSUM;
    struct vhu_net_layers l;
    struct vhu_net_offload ol;
    uint16_t l4;

    l4 = build_frame(f, sizeof f, false, true, 2);
    ol = (struct vhu_net_offload) { .flags = NC, .csum_start = l4,
                                    .csum_offset = 16 };
    CHECK(vhu_net_parse(f, sizeof f, &ol, &l) && l.l3_ofs == 22
          && l.l4_ofs == 42 && l.ip_version == 4 && l.l4_len == 20,
          "IPv4 with two VLANs");
    ol.gso_type = VHU_NET_HDR_GSO_TCPV4;
    ol.gso_size = 100;
    CHECK(vhu_net_parse(f, sizeof f, &ol, &l), "TSO over IPv4");
    ol.gso_type = VHU_NET_HDR_GSO_TCPV6;
    CHECK(!vhu_net_parse(f, sizeof f, &ol, &l), "TCPv6 GSO on IPv4 fits");
    ol.gso_type = VHU_NET_HDR_GSO_NONE;
    ol.csum_offset = 6;
    CHECK(!vhu_net_parse(f, sizeof f, &ol, &l), "UDP offset on TCP fits");
    ol.csum_offset = 16;
    ol.csum_start = l4 + 2;
    CHECK(!vhu_net_parse(f, sizeof f, &ol, &l), "start inside TCP fits");

    /* A fragment has no transport header to parse. */
    put_be16(f + 22 + 6, 0x2000);
    ol.csum_start = l4;
    CHECK(!vhu_net_parse(f, sizeof f, &ol, &l) && !l.l4_ofs, "fragment");

    l4 = build_frame(f, sizeof f, true, false, 0);
    ol = (struct vhu_net_offload) { .flags = NC, .csum_start = l4,
                                    .csum_offset = 6 };
    CHECK(vhu_net_parse(f, sizeof f, &ol, &l) && l.ip_version == 6
          && l.l4_proto == IPPROTO_UDP && l.l4_len == 8, "UDP over IPv6");
    ol.gso_type = VHU_NET_HDR_GSO_TCPV6;
    ol.gso_size = 100;
    CHECK(!vhu_net_parse(f, sizeof f, &ol, &l), "TCP GSO on UDP fits");

    /* Truncated headers. */
    build_frame(f, sizeof f, false, true, 0);
    ol = (struct vhu_net_offload) { .flags = NC, .csum_start = 34,
                                    .csum_offset = 16 };
    for (uint32_t len = 0; len < 54; len++) {
        CHECK(!vhu_net_parse(f, len, &ol, &l), "fits in %"PRIu32" bytes",
              len);
    }
    ol = (struct vhu_net_offload) { 0 };
    CHECK(vhu_net_parse(f, 10, &ol, &l), "no request does not fit");
}

/* Requests the guest negotiated are written into its header, on the
 * single-buffer path and on the mergeable one; others are not, and their
 * frames are skipped and counted. */
static void
test_ol_rx_write(void)
{
    static uint8_t f[3000];
    const struct vhu_net_offload ol = {
        .flags = VHU_NET_HDR_F_NEEDS_CSUM,
        .gso_type = VHU_NET_HDR_GSO_TCPV4, .gso_size = 1448,
        .hdr_len = 54, .csum_start = 34, .csum_offset = 16,
    };
    const struct vhu_net_offload none = { 0 };
    struct vhu_frame frames[2] = { { f, 1000 }, { f, 3000 } };
    struct vhu_net_offload ols[2] = { ol, ol };
    struct fe fe;

    setup(&fe, F_BASE | F_GUEST);
    build_frame(f, sizeof f, false, true, 0);
    fe_post_rx(&fe, 0, BUF_BASE, 2048);
    fe_post_rx(&fe, 0, BUF_BASE + 0x1000, 2048);
    fe_post_rx(&fe, 0, BUF_BASE + 0x2000, 2048);
    CHECK(vhu_enqueue_burst_ol(fe.dev, 0, frames, ols, 2) == 2, "enqueue");
    for (int i = 0; i < 2; i++) {
        const uint8_t *h = fe_gpa(&fe, BUF_BASE + i * 0x1000);
        uint16_t v[5];

        memcpy(v, h + 2, sizeof v);
        CHECK(h[0] == ol.flags && h[1] == ol.gso_type && v[0] == ol.hdr_len
              && v[1] == ol.gso_size && v[2] == ol.csum_start
              && v[3] == ol.csum_offset && v[4] == (i ? 2 : 1),
              "header %d: %02x %02x %u %u %u %u %u", i, h[0], h[1], v[0],
              v[1], v[2], v[3], v[4]);
    }
    CHECK(!bad_offloads(&fe, 0), "counted");
    fe_destroy(&fe);

    /* GUEST_CSUM only: checksums yes, TSO no; nothing without it. */
    for (int pass = 0; pass < 2; pass++) {
        struct vhu_net_offload csum_only = ol;
        struct vhu_frame three[3] = { { f, 1000 }, { f, 1000 },
                                      { f, 1000 } };
        struct vhu_net_offload three_ols[3] = { ol, none, ol };
        uint32_t id, len;

        setup(&fe, F_BASE | (pass ? 0 : NET(GUEST_CSUM)));
        csum_only.gso_type = 0;
        csum_only.gso_size = 0;
        three_ols[2] = csum_only;
        for (int i = 0; i < 3; i++) {
            fe_post_rx(&fe, 0, BUF_BASE + i * 0x1000, 2048);
        }
        CHECK(vhu_enqueue_burst_ol(fe.dev, 0, three, three_ols, 3) == 3,
              "pass %d: not all handled", pass);
        CHECK(bad_offloads(&fe, 0) == (pass ? 2 : 1), "pass %d: %"PRIu64
              " bad", pass, bad_offloads(&fe, 0));
        CHECK(fe_get_used(&fe, 0, &id, &len) && id == 0,
              "pass %d: no frame delivered", pass);
        CHECK(((uint8_t *) fe_gpa(&fe, BUF_BASE))[0] == 0,
              "pass %d: first delivered frame has a request", pass);
        CHECK(pass || (fe_get_used(&fe, 0, &id, &len) && id == 1
                       && ((uint8_t *) fe_gpa(&fe, BUF_BASE + 0x1000))[0]
                          == VHU_NET_HDR_F_NEEDS_CSUM),
              "pass %d: checksum request not delivered", pass);
        CHECK(!fe_get_used(&fe, 0, &id, &len), "pass %d: too many", pass);
        fe_destroy(&fe);
    }
}

/* Segments collected by collect_segment(). */
struct segments {
    unsigned int n;
    uint8_t *data[64];
    uint32_t len[64];
};

static void
collect_segment(void *aux, const void *seg, uint32_t len)
{
    struct segments *s = aux;

    CHECK(s->n < 64, "too many segments");
    s->data[s->n] = malloc(len);
    memcpy(s->data[s->n], seg, len);
    s->len[s->n++] = len;
}

static uint16_t
get_be16(const uint8_t *p)
{
    return (p[0] << 8) | p[1];
}

static uint32_t
get_be32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

/* Segments a TCP frame of 'len' bytes ('ipv6', 'vlans') with GSO size
 * 'mss' and checks every segment against what the device would send. */
static void
check_segment(uint32_t len, bool ipv6, int vlans, uint16_t mss)
{
    static uint8_t f[20000], scratch[20000];
    struct vhu_net_offload ol = {
        .flags = VHU_NET_HDR_F_NEEDS_CSUM,
        .gso_type = ipv6 ? VHU_NET_HDR_GSO_TCPV6 : VHU_NET_HDR_GSO_TCPV4,
        .gso_size = mss, .csum_offset = 16,
    };
    struct segments segs = { .n = 0 };
    struct vhu_net_layers l;
    uint32_t hdrs, payload, ofs = 0, seq;
    unsigned int n, want;

    ol.csum_start = build_frame(f, len, ipv6, true, vlans);
    f[ol.csum_start + 13] = 0x18 | 0x01 | 0x80;   /* ACK PSH FIN CWR. */
    put_be16(f + ol.csum_start - (ipv6 ? 40 : 20) + (ipv6 ? 0 : 4),
             ipv6 ? 0x6000 : 0xfffe);                /* IPv4 id wraps. */
    CHECK(vhu_net_parse(f, len, &ol, &l), "request does not fit");
    CHECK(vhu_net_segment_max_len(&ol, &l) <= sizeof scratch, "scratch");
    hdrs = l.l4_ofs + l.l4_len;
    payload = len - hdrs;
    want = payload ? (payload + mss - 1) / mss : 1;
    seq = get_be32(f + l.l4_ofs + 4);
    n = vhu_net_segment(f, len, &ol, &l, scratch, collect_segment, &segs);
    CHECK(n == want && segs.n == want, "%u segments, expected %u", n, want);
    for (unsigned int i = 0; i < n; i++) {
        const uint8_t *s = segs.data[i];
        const uint8_t *ip = s + l.l3_ofs, *tcp = s + l.l4_ofs;
        uint32_t chunk = segs.len[i] - hdrs;
        uint8_t flags = tcp[13];

        CHECK(chunk <= mss && (chunk == mss || i == n - 1),
              "segment %u: %"PRIu32" payload bytes", i, chunk);
        CHECK(!memcmp(s, f, l.l3_ofs), "segment %u: Ethernet header", i);
        if (ipv6) {
            CHECK(get_be16(ip + 4) == segs.len[i] - l.l4_ofs,
                  "segment %u: IPv6 payload length", i);
        } else {
            CHECK(get_be16(ip + 2) == segs.len[i] - l.l3_ofs,
                  "segment %u: IPv4 total length", i);
            CHECK(get_be16(ip + 4) == (uint16_t) (0xfffe + i),
                  "segment %u: IPv4 id %u", i, get_be16(ip + 4));
            CHECK(ref_csum(ip, 20, 0) == 0xffff,
                  "segment %u: IPv4 header checksum", i);
        }
        CHECK(get_be32(tcp + 4) == seq + ofs, "segment %u: sequence", i);
        CHECK((flags & 0x10) && !(flags & 0x01) == (i != n - 1)
              && !(flags & 0x08) == (i != n - 1)
              && !(flags & 0x80) == (i != 0),
              "segment %u of %u: flags %#x", i, n, flags);
        CHECK(l4_csum_ok(s, segs.len[i], l.l4_ofs, ipv6, true),
              "segment %u: TCP checksum", i);
        CHECK(!memcmp(s + hdrs, f + hdrs + ofs, chunk),
              "segment %u: payload", i);
        ofs += chunk;
        free(segs.data[i]);
    }
    CHECK(ofs == payload, "%"PRIu32" payload bytes, expected %"PRIu32, ofs,
          payload);
}

/* Software segmentation: IPv4 and IPv6, with VLANs, a last short segment,
 * exact multiples, a frame that needs one segment, no payload. */
static void
test_ol_segment(void)
{
    check_segment(10054, false, 0, 1448);
    check_segment(10074, true, 1, 1428);
    check_segment(54 + 4 * 1000, false, 2, 1000);
    check_segment(600, false, 0, 1448);
    check_segment(54, false, 0, 1448);
    check_segment(20000, true, 0, 9000 - 74);

    /* Requests that do not fit are refused. */
    {
        static uint8_t f[2000], scratch[4000];
        struct vhu_net_offload ol = {
            .flags = VHU_NET_HDR_F_NEEDS_CSUM, .csum_offset = 6,
        };
        struct segments segs = { .n = 0 };
        struct vhu_net_layers l;

        ol.csum_start = build_frame(f, sizeof f, false, false, 0);
        vhu_net_parse(f, sizeof f, &ol, &l);
        ol.gso_type = VHU_NET_HDR_GSO_TCPV4;
        ol.gso_size = 1000;
        CHECK(!vhu_net_segment(f, sizeof f, &ol, &l, scratch,
                               collect_segment, &segs) && !segs.n,
              "UDP segmented");
    }
}

const struct test offload_tests[] = {
    { "ol-segment", test_ol_segment },
    { "ol-offered", test_ol_offered },
    { "ol-tx-valid", test_ol_tx_valid },
    { "ol-tx-invalid", test_ol_tx_invalid },
    { "ol-tx-not-negotiated", test_ol_tx_not_negotiated },
    { "ol-tx-fixup", test_ol_tx_fixup },
    { "ol-csum", test_ol_csum },
    { "ol-parse", test_ol_parse },
    { "ol-rx-write", test_ol_rx_write },
    { NULL, NULL },
};
