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
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tests of the split virtqueue and the virtio-net data path. */

#define F_VQ (VHU_BIT(VHU_VIRTIO_F_VERSION_1) \
              | VHU_BIT(VHU_F_PROTOCOL_FEATURES) \
              | VHU_BIT(VHU_VIRTIO_RING_F_INDIRECT_DESC))
#define F_MRG (F_VQ | VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF))
#define F_EVENT (F_VQ | VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX))

static void
setup(struct fe *fe, uint64_t features)
{
    struct fe_opts opts = {
        .features = features, .n_qp = 2, .ring_size = 256,
    };

    fe_setup(fe, &opts);
}

static struct vring_desc *
desc_table(struct fe *fe, unsigned int vring)
{
    return fe_gpa(fe, fe->vrings[vring].desc_gpa);
}

/* Dequeues one frame and checks that it is 'frame'. */
static void
expect_dequeue(struct fe *fe, const void *frame, uint32_t len)
{
    struct test_pkt *pkt;
    int n = fe_dequeue(fe, 0, &pkt, 1);

    CHECK(n == 1, "dequeued %d frames", n);
    CHECK(pkt->len == len, "frame of %"PRIu32" bytes, expected %"PRIu32,
          pkt->len, len);
    CHECK(!memcmp(pkt->data, frame, len), "frame data differs");
    free(pkt);
}

static void
test_tx_simple(void)
{
    uint8_t frames[3][1500];
    uint32_t lens[3] = { 60, 1500, 333 };
    struct vhu_vring_stats st;
    struct test_pkt *pkts[8];
    uint32_t id, len;
    struct fe fe;
    int n;

    setup(&fe, F_VQ);
    for (int i = 0; i < 3; i++) {
        fill_pattern(frames[i], lens[i], i);
        fe_tx_frame(&fe, 1, frames[i], lens[i], BUF_BASE + i * 0x1000, 12);
    }
    n = fe_dequeue(&fe, 0, pkts, 8);
    CHECK(n == 3, "dequeued %d", n);
    for (int i = 0; i < 3; i++) {
        CHECK(pkts[i]->len == lens[i] && !memcmp(pkts[i]->data, frames[i],
                                                 lens[i]), "frame %d", i);
        free(pkts[i]);
        CHECK(fe_get_used(&fe, 1, &id, &len) && id == i && len == 0,
              "used %d: id %"PRIu32" len %"PRIu32, i, id, len);
    }
    CHECK(!fe_get_used(&fe, 1, &id, &len), "extra used entry");
    CHECK(fe_read_call(&fe, 1) == 1, "not called exactly once");
    vhu_device_vring_stats(fe.dev, 1, &st);
    CHECK(st.packets == 3 && st.bytes == 60 + 1500 + 333
          && st.notifications == 1 && st.errors == 0, "stats");
    CHECK(fe_dequeue(&fe, 0, pkts, 8) == 0, "dequeued from an empty ring");
    fe_destroy(&fe);
}

/* Without VERSION_1 and MRG_RXBUF the header is 10 bytes. */
static void
test_tx_legacy_header(void)
{
    uint8_t frame[100];
    struct fe fe;

    setup(&fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES));
    fill_pattern(frame, sizeof frame, 1);
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 10);
    expect_dequeue(&fe, frame, sizeof frame);
    fe_destroy(&fe);
}

/* A header split over two descriptors, the frame over three. */
static void
test_tx_split_header(void)
{
    uint8_t frame[50], *p;
    uint64_t gpas[3] = { BUF_BASE, BUF_BASE + 0x1000, BUF_BASE + 0x2000 };
    uint32_t lens[3] = { 5, 7 + 20, 30 };
    struct fe fe;

    setup(&fe, F_VQ);
    fill_pattern(frame, sizeof frame, 2);
    memset(fe_gpa(&fe, gpas[0]), 0, 5);
    p = fe_gpa(&fe, gpas[1]);
    memset(p, 0, 7);
    memcpy(p + 7, frame, 20);
    memcpy(fe_gpa(&fe, gpas[2]), frame + 20, 30);
    fe_publish(&fe, 1, fe_add_chain(&fe, 1, gpas, lens, 3, false));
    expect_dequeue(&fe, frame, sizeof frame);
    fe_destroy(&fe);
}

/* Writes an indirect table of 'n' descriptors at 'table_gpa' for buffers
 * 'gpas'/'lens' and publishes a descriptor pointing to it on 'vring'. */
static void
publish_indirect(struct fe *fe, unsigned int vring, uint64_t table_gpa,
                 const uint64_t *gpas, const uint32_t *lens, unsigned int n,
                 bool write)
{
    struct vring_desc *t = fe_gpa(fe, table_gpa);
    struct fe_vring *v = &fe->vrings[vring];
    struct vring_desc *d = &desc_table(fe, vring)[v->next_desc];
    uint16_t head = v->next_desc;

    for (unsigned int i = 0; i < n; i++) {
        t[i].addr = gpas[i];
        t[i].len = lens[i];
        t[i].flags = (write ? VRING_DESC_F_WRITE : 0)
                     | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
        t[i].next = i + 1;
    }
    d->addr = table_gpa;
    d->len = n * sizeof *t;
    d->flags = VRING_DESC_F_INDIRECT;
    d->next = 0;
    v->next_desc = (v->next_desc + 1) % v->size;
    fe_publish(fe, vring, head);
}

static void
test_tx_indirect(void)
{
    uint64_t gpas[3] = { BUF_BASE, BUF_BASE + 0x1000, BUF_BASE + 0x2000 };
    uint32_t lens[3] = { 12, 40, 24 };
    uint8_t frame[64];
    struct fe fe;

    setup(&fe, F_VQ);
    fill_pattern(frame, sizeof frame, 3);
    memset(fe_gpa(&fe, gpas[0]), 0, 12);
    memcpy(fe_gpa(&fe, gpas[1]), frame, 40);
    memcpy(fe_gpa(&fe, gpas[2]), frame + 40, 24);
    publish_indirect(&fe, 1, BUF_BASE + 0x8000, gpas, lens, 3, false);
    expect_dequeue(&fe, frame, sizeof frame);
    fe_destroy(&fe);
}

/* Checks the header and frame received at 'gpa'. */
static void
check_rx(struct fe *fe, uint64_t gpa, uint32_t hdr_len, uint16_t nbufs,
         const uint8_t *frame, uint32_t len)
{
    uint8_t *p = fe_gpa(fe, gpa);
    uint8_t zero[10] = { 0 };
    uint16_t nb;

    CHECK(!memcmp(p, zero, 10), "header not zero");
    if (hdr_len == 12) {
        memcpy(&nb, p + 10, 2);
        CHECK(nb == nbufs, "num_buffers %u, expected %u", nb, nbufs);
    }
    CHECK(!memcmp(p + hdr_len, frame, len), "received frame differs");
}

static void
test_rx_simple(void)
{
    uint8_t frame[1000];
    struct vhu_frame f = { frame, sizeof frame };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_VQ);
    fill_pattern(frame, sizeof frame, 4);
    memset(fe_gpa(&fe, BUF_BASE), 0xaa, 2048);
    fe_post_rx(&fe, 0, BUF_BASE, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "not enqueued");
    CHECK(fe_get_used(&fe, 0, &id, &len) && id == 0 && len == 1012,
          "used len %"PRIu32, len);
    check_rx(&fe, BUF_BASE, 12, 1, frame, sizeof frame);
    CHECK(*(uint8_t *) fe_gpa(&fe, BUF_BASE + 1012) == 0xaa,
          "wrote past the frame");
    CHECK(fe_read_call(&fe, 0) == 1, "not called");
    fe_destroy(&fe);
}

static void
test_rx_legacy_header(void)
{
    uint8_t frame[100];
    struct vhu_frame f = { frame, sizeof frame };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, VHU_BIT(VHU_F_PROTOCOL_FEATURES));
    fill_pattern(frame, sizeof frame, 5);
    fe_post_rx(&fe, 0, BUF_BASE, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "not enqueued");
    CHECK(fe_get_used(&fe, 0, &id, &len) && len == 110, "used len");
    check_rx(&fe, BUF_BASE, 10, 1, frame, sizeof frame);
    fe_destroy(&fe);
}

/* Non-mergeable: one chain of several descriptors per frame. */
static void
test_rx_chain(void)
{
    uint64_t gpas[3] = { BUF_BASE, BUF_BASE + 0x1000, BUF_BASE + 0x2000 };
    uint32_t lens[3] = { 6, 100, 2000 };
    uint8_t frame[1500], got[1512];
    struct vhu_frame f = { frame, sizeof frame };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_VQ);
    fill_pattern(frame, sizeof frame, 6);
    fe_publish(&fe, 0, fe_add_chain(&fe, 0, gpas, lens, 3, true));
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "not enqueued");
    CHECK(fe_get_used(&fe, 0, &id, &len) && len == 1512, "used len");
    memcpy(got, fe_gpa(&fe, gpas[0]), 6);
    memcpy(got + 6, fe_gpa(&fe, gpas[1]), 100);
    memcpy(got + 106, fe_gpa(&fe, gpas[2]), 1512 - 106);
    CHECK(got[10] == 1 && got[11] == 0, "num_buffers");
    CHECK(!memcmp(got + 12, frame, sizeof frame), "frame");
    fe_destroy(&fe);
}

static void
test_rx_mergeable(void)
{
    uint8_t frame[3000], got[3012];
    struct vhu_frame f = { frame, sizeof frame };
    uint32_t id, len, total = 0;
    struct fe fe;

    setup(&fe, F_MRG);
    fill_pattern(frame, sizeof frame, 7);
    for (int i = 0; i < 4; i++) {
        fe_post_rx(&fe, 0, BUF_BASE + i * 0x1000, 1024);
    }
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "not enqueued");
    for (int i = 0; i < 3; i++) {
        uint32_t want = i < 2 ? 1024 : 3012 - 2048;

        CHECK(fe_get_used(&fe, 0, &id, &len), "used %d missing", i);
        CHECK(id == i && len == want, "used %d: id %"PRIu32" len %"PRIu32,
              i, id, len);
        memcpy(got + total, fe_gpa(&fe, BUF_BASE + i * 0x1000), len);
        total += len;
    }
    CHECK(!fe_get_used(&fe, 0, &id, &len), "fourth buffer used");
    CHECK(got[10] == 3 && got[11] == 0, "num_buffers %u", got[10]);
    CHECK(!memcmp(got + 12, frame, sizeof frame), "frame");

    /* A small frame takes one buffer (the fourth). */
    f.len = 60;
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "not enqueued");
    CHECK(fe_get_used(&fe, 0, &id, &len) && id == 3 && len == 72, "used");
    check_rx(&fe, BUF_BASE + 0x3000, 12, 1, frame, 60);
    fe_destroy(&fe);
}

/* No buffers: enqueue returns fewer, never blocks, writes nothing. */
static void
test_rx_no_buffers(void)
{
    uint8_t frame[3000] = { 0 };
    struct vhu_frame f[3] = {
        { frame, 100 }, { frame, 100 }, { frame, 100 },
    };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_MRG);
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 3) == 0, "enqueued without room");
    fe_post_rx(&fe, 0, BUF_BASE, 1024);
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 3) == 1, "not 1");
    CHECK(fe_get_used(&fe, 0, &id, &len), "used");

    /* Not enough room for a mergeable frame: nothing used. */
    fe_post_rx(&fe, 0, BUF_BASE, 1024);
    f[0].len = 3000;
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 1) == 0, "enqueued");
    CHECK(!fe_get_used(&fe, 0, &id, &len), "partial frame used");
    vhu_count_tx_drops(fe.dev, 0, 2);
    {
        struct vhu_vring_stats st;

        vhu_device_vring_stats(fe.dev, 0, &st);
        CHECK(st.dropped == 2 && st.packets == 1, "stats");
    }
    fe_destroy(&fe);
}

/* Without mergeable buffers, a frame must fit one chain. */
static void
test_rx_too_small(void)
{
    uint8_t frame[200] = { 0 };
    struct vhu_frame f = { frame, sizeof frame };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_VQ);
    fe_post_rx(&fe, 0, BUF_BASE, 100);
    fe_post_rx(&fe, 0, BUF_BASE + 0x1000, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 0, "enqueued");
    CHECK(!fe_get_used(&fe, 0, &id, &len), "used");
    f.len = 80;
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "small not enqueued");
    fe_destroy(&fe);
}

static void
test_rx_oversized(void)
{
    static uint8_t frame[VHU_MAX_FRAME_LEN + 1];
    struct vhu_frame f[2] = { { frame, sizeof frame }, { frame, 60 } };
    struct vhu_vring_stats st;
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_MRG);
    fe_post_rx(&fe, 0, BUF_BASE, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 2) == 2, "not handled");
    CHECK(fe_get_used(&fe, 0, &id, &len) && len == 72, "used");
    vhu_device_vring_stats(fe.dev, 0, &st);
    CHECK(st.errors == 1 && st.packets == 1, "stats");
    fe_destroy(&fe);
}

/* One burst mixing the fast path (single buffers) with the general path
 * (a frame spread over two mergeable buffers) and a frame too long: the
 * heads read ahead are read again after the general path took two. */
static void
test_rx_mixed_burst(void)
{
    static uint8_t frame[VHU_MAX_FRAME_LEN + 1];
    struct vhu_frame f[5] = {
        { frame, 60 }, { frame, 1500 }, { frame, sizeof frame },
        { frame, 100 }, { frame, 200 },
    };
    static const uint32_t want_len[5] = { 72, 1024, 488, 112, 212 };
    uint32_t buf_len[5] = { 2048, 1024, 2048, 2048, 2048 };
    struct vhu_vring_stats st;
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_MRG);
    fill_pattern(frame, sizeof frame, 8);
    for (int i = 0; i < 5; i++) {
        fe_post_rx(&fe, 0, BUF_BASE + i * 0x1000, buf_len[i]);
    }
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 5) == 5, "not all handled");
    for (int i = 0; i < 5; i++) {
        CHECK(fe_get_used(&fe, 0, &id, &len), "used %d missing", i);
        CHECK(id == i && len == want_len[i], "used %d: id %"PRIu32" len %"
              PRIu32, i, id, len);
    }
    check_rx(&fe, BUF_BASE, 12, 1, frame, 60);
    check_rx(&fe, BUF_BASE + 0x3000, 12, 1, frame, 100);
    check_rx(&fe, BUF_BASE + 0x4000, 12, 1, frame, 200);
    {
        uint8_t *b1 = fe_gpa(&fe, BUF_BASE + 0x1000);
        uint8_t *b2 = fe_gpa(&fe, BUF_BASE + 0x2000);

        CHECK(b1[10] == 2 && b1[11] == 0, "num_buffers %u", b1[10]);
        CHECK(!memcmp(b1 + 12, frame, 1012)
              && !memcmp(b2, frame + 1012, 488), "split frame");
    }
    vhu_device_vring_stats(fe.dev, 0, &st);
    CHECK(st.packets == 4 && st.errors == 1
          && st.bytes == 60 + 1500 + 100 + 200, "stats");
    fe_destroy(&fe);
}

/* A head out of range after good ones in one burst: the good ones are
 * delivered, then the ring stops. */
static void
test_rx_bad_head_mid_burst(void)
{
    uint8_t frame[60] = { 0 };
    struct vhu_frame f[4] = {
        { frame, 60 }, { frame, 60 }, { frame, 60 }, { frame, 60 },
    };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_MRG);
    fe_post_rx(&fe, 0, BUF_BASE, 2048);
    fe_post_rx(&fe, 0, BUF_BASE + 0x1000, 2048);
    fe_publish(&fe, 0, 4096);
    fe_post_rx(&fe, 0, BUF_BASE + 0x2000, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 4) == 2, "delivered");
    CHECK(fe_get_used(&fe, 0, &id, &len) && id == 0, "used 0");
    CHECK(fe_get_used(&fe, 0, &id, &len) && id == 1, "used 1");
    CHECK(!fe_get_used(&fe, 0, &id, &len), "used past the bad head");
    CHECK(!vhu_tx_ready(fe.dev, 0), "ring still ready");
    fe_destroy(&fe);
}

/* The same on the transmit side, with a chain for the general path and a
 * frame too short for its header in between. */
static void
test_tx_mixed_burst(void)
{
    uint64_t gpas[2] = { BUF_BASE + 0x10000, BUF_BASE + 0x11000 };
    uint32_t lens[2] = { 12 + 30, 40 };
    uint8_t frames[3][100], *p;
    struct test_pkt *pkts[8];
    struct vhu_vring_stats st;
    uint32_t id, len;
    struct fe fe;
    int n;

    setup(&fe, F_VQ);
    for (int i = 0; i < 3; i++) {
        fill_pattern(frames[i], sizeof frames[i], 20 + i);
    }
    fe_tx_frame(&fe, 1, frames[0], 100, BUF_BASE, 12);
    p = fe_gpa(&fe, gpas[0]);
    memset(p, 0, 12);
    memcpy(p + 12, frames[1], 30);
    memcpy(fe_gpa(&fe, gpas[1]), frames[1] + 30, 40);
    fe_publish(&fe, 1, fe_add_chain(&fe, 1, gpas, lens, 2, false));
    fe_tx_frame(&fe, 1, frames[2], 0, BUF_BASE + 0x1000, 8);
    fe_tx_frame(&fe, 1, frames[2], 100, BUF_BASE + 0x2000, 12);
    fe_publish(&fe, 1, 300);
    fe_tx_frame(&fe, 1, frames[0], 100, BUF_BASE + 0x3000, 12);

    n = fe_dequeue(&fe, 0, pkts, 8);
    CHECK(n == 3, "dequeued %d", n);
    CHECK(pkts[0]->len == 100 && !memcmp(pkts[0]->data, frames[0], 100),
          "frame 0");
    CHECK(pkts[1]->len == 70 && !memcmp(pkts[1]->data, frames[1], 70),
          "frame 1 (chain)");
    CHECK(pkts[2]->len == 100 && !memcmp(pkts[2]->data, frames[2], 100),
          "frame 3");
    for (int i = 0; i < n; i++) {
        free(pkts[i]);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(fe_get_used(&fe, 1, &id, &len) && len == 0, "used %d", i);
    }
    CHECK(!fe_get_used(&fe, 1, &id, &len), "used past the bad head");
    vhu_device_vring_stats(fe.dev, 1, &st);
    CHECK(st.packets == 3 && st.errors == 2, "stats: %"PRIu64" packets, %"
          PRIu64" errors", st.packets, st.errors);
    CHECK(!vhu_rx_ready(fe.dev, 0), "ring still ready");
    fe_destroy(&fe);
}

static void
test_rx_indirect(void)
{
    uint64_t gpas[2] = { BUF_BASE, BUF_BASE + 0x1000 };
    uint32_t lens[2] = { 12, 1500 };
    uint8_t frame[500];
    struct vhu_frame f = { frame, sizeof frame };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_VQ);
    fill_pattern(frame, sizeof frame, 8);
    publish_indirect(&fe, 0, BUF_BASE + 0x8000, gpas, lens, 2, true);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "not enqueued");
    CHECK(fe_get_used(&fe, 0, &id, &len) && len == 512, "used");
    CHECK(!memcmp(fe_gpa(&fe, BUF_BASE + 0x1000), frame, sizeof frame),
          "frame");
    fe_destroy(&fe);
}

/* Guest transmits, we enqueue what we got to the other queue pair. */
static void
test_round_trip(void)
{
    uint8_t frame[1400];
    struct test_pkt *pkt;
    struct vhu_frame f;
    struct fe fe;

    setup(&fe, F_MRG);
    fill_pattern(frame, sizeof frame, 9);
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 1, "dequeue");
    fe_post_rx(&fe, 2, BUF_BASE + 0x4000, 2048);
    f.data = pkt->data;
    f.len = pkt->len;
    CHECK(vhu_enqueue_burst(fe.dev, 1, &f, 1) == 1, "enqueue");
    free(pkt);
    check_rx(&fe, BUF_BASE + 0x4000, 12, 1, frame, sizeof frame);
    fe_destroy(&fe);
}

/* A polling caller (the default): the guest is asked not to kick, with
 * VRING_USED_F_NO_NOTIFY and, with EVENT_IDX, an avail_event that bursts
 * leave alone. */
static void
test_kicks_suppressed(void)
{
    uint8_t frame[60] = { 0 };
    struct vhu_frame f = { frame, 60 };
    struct vring_used *used;
    uint16_t *avail_event;
    struct fe fe;

    setup(&fe, F_EVENT);
    used = fe_gpa(&fe, fe.vrings[0].used_gpa);
    avail_event = (uint16_t *) &used->ring[256];
    CHECK(used->flags == VRING_USED_F_NO_NOTIFY, "used flags %u",
          used->flags);
    for (int i = 0; i < 4; i++) {
        fe_post_rx(&fe, 0, BUF_BASE + i * 0x1000, 2048);
    }
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    CHECK(*avail_event == 0, "avail_event moved to %u", *avail_event);
    fe_destroy(&fe);
}

/* EVENT_IDX with a caller that wants kicks: calls only when used_event is
 * crossed; avail_event set. */
static void
test_event_idx(void)
{
    uint8_t frame[60] = { 0 };
    struct vhu_frame f[3] = { { frame, 60 }, { frame, 60 }, { frame, 60 } };
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t *used_event, *avail_event;
    struct fe fe;

    fe_want_kicks = true;
    setup(&fe, F_EVENT);
    fe_want_kicks = false;
    avail = fe_gpa(&fe, fe.vrings[0].avail_gpa);
    used = fe_gpa(&fe, fe.vrings[0].used_gpa);
    used_event = &avail->ring[256];
    avail_event = (uint16_t *) &used->ring[256];
    for (int i = 0; i < 8; i++) {
        fe_post_rx(&fe, 0, BUF_BASE + i * 0x1000, 2048);
    }

    *used_event = 0;
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 1) == 1, "enqueue");
    CHECK(fe_read_call(&fe, 0) == 1, "first call missing");
    CHECK(*avail_event == 1, "avail_event %u", *avail_event);

    *used_event = 5;            /* Call when used idx passes 5. */
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 2) == 2, "enqueue");
    CHECK(fe_read_call(&fe, 0) == 0, "called before used_event");
    CHECK(*avail_event == 3, "avail_event %u", *avail_event);
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, 3) == 3, "enqueue");
    CHECK(fe_read_call(&fe, 0) == 1, "not called after used_event");
    CHECK(used->idx == 6, "used idx %u", used->idx);
    {
        struct vhu_vring_stats st;

        vhu_device_vring_stats(fe.dev, 0, &st);
        CHECK(st.notifications == 2, "notifications %"PRIu64,
              st.notifications);
    }
    fe_destroy(&fe);
}

/* Without EVENT_IDX: VRING_AVAIL_F_NO_INTERRUPT suppresses calls. */
static void
test_no_interrupt(void)
{
    uint8_t frame[60] = { 0 };
    struct vhu_frame f = { frame, 60 };
    struct vring_avail *avail;
    struct fe fe;

    setup(&fe, F_VQ);
    avail = fe_gpa(&fe, fe.vrings[0].avail_gpa);
    for (int i = 0; i < 2; i++) {
        fe_post_rx(&fe, 0, BUF_BASE + i * 0x1000, 2048);
    }
    avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    CHECK(fe_read_call(&fe, 0) == 0, "called");
    avail->flags = 0;
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    CHECK(fe_read_call(&fe, 0) == 1, "not called");
    fe_destroy(&fe);
}

static void *
null_alloc(void *aux, uint32_t len, void **data)
{
    (void) aux;
    (void) len;
    (void) data;
    return NULL;
}

/* The guest rewrites its transmit chain while the frame is being copied:
 * the allocator runs between the walk that measures the chain and the
 * copy, and makes the chain's second descriptor device-writable. */
static struct fe *rewrite_fe;
static uint16_t rewrite_desc;
static int rewrite_freed;

static void *
rewriting_alloc(void *aux, uint32_t len, void **data)
{
    struct vring_desc *desc = desc_table(rewrite_fe, 1);
    void *pkt = malloc(len ? len : 1);

    (void) aux;
    desc[rewrite_desc].flags |= VRING_DESC_F_WRITE;
    *data = pkt;
    return pkt;
}

static void
counting_free(void *aux, void *pkt)
{
    (void) aux;
    rewrite_freed++;
    free(pkt);
}

/* A frame copied in part is never returned: its packet is freed and the
 * ring stops. */
static void
test_tx_chain_rewritten(void)
{
    uint64_t gpas[2] = { BUF_BASE, BUF_BASE + 0x1000 };
    uint32_t lens[2] = { 12, 60 };
    struct vhu_vring_info info;
    uint16_t head;
    void *pkts[2];
    struct fe fe;

    setup(&fe, F_VQ);
    memset(fe_gpa(&fe, BUF_BASE), 0, 12);
    memset(fe_gpa(&fe, BUF_BASE + 0x1000), 0xab, 60);
    head = fe_add_chain(&fe, 1, gpas, lens, 2, false);
    rewrite_fe = &fe;
    rewrite_desc = desc_table(&fe, 1)[head].next;
    rewrite_freed = 0;
    fe_publish(&fe, 1, head);
    CHECK(vhu_dequeue_burst(fe.dev, 0, rewriting_alloc, counting_free, NULL,
                            pkts, 2) == 0, "a frame copied in part was "
          "returned");
    CHECK(rewrite_freed == 1, "%d packets freed, expected 1", rewrite_freed);
    vhu_device_vring_info(fe.dev, 1, &info);
    CHECK(info.broken, "ring not stopped");
    fe_destroy(&fe);
}

/* No packet from the allocator: the frame stays for later. */
static void
test_alloc_fail(void)
{
    uint8_t frame[60] = { 7 };
    void *pkts[2];
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_VQ);
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(vhu_dequeue_burst(fe.dev, 0, null_alloc, test_free, NULL,
                            pkts, 2) == 0,
          "dequeued");
    CHECK(!fe_get_used(&fe, 1, &id, &len), "used");
    expect_dequeue(&fe, frame, sizeof frame);
    fe_destroy(&fe);
}

/* A frame too long or too short is given back and counted. */
static void
test_tx_bad_length(uint32_t total)
{
    struct vhu_vring_stats st;
    struct test_pkt *pkt;
    uint64_t gpa = BUF_BASE;
    uint8_t frame[60] = { 1 };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_VQ);
    fe_publish(&fe, 1, fe_add_chain(&fe, 1, &gpa, &total, 1, false));
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE + 0x20000, 12);
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 1, "good frame not dequeued");
    CHECK(pkt->len == 60, "wrong frame");
    free(pkt);
    CHECK(fe_get_used(&fe, 1, &id, &len) && id == 0, "bad frame not used");
    vhu_device_vring_stats(fe.dev, 1, &st);
    CHECK(st.errors == 1 && st.packets == 1, "stats");
    CHECK(vhu_rx_ready(fe.dev, 0), "ring stopped");
    fe_destroy(&fe);
}

static void
test_tx_oversized(void)
{
    test_tx_bad_length(12 + VHU_MAX_FRAME_LEN + 1);
}

static void
test_tx_short(void)
{
    test_tx_bad_length(8);
}

/* Invalid rings.  Each test corrupts vring 1 (guest TX of queue pair 0)
 * or vring 0 and checks that: that ring stops, the device does not break,
 * no byte of guest memory changed, and queue pair 1 still works. */

struct neg {
    struct fe fe;
    uint8_t *snapshot;
};

static void
neg_setup(struct neg *n, uint64_t features)
{
    setup(&n->fe, features);
}

static void
neg_check(struct neg *n, unsigned int vring)
{
    struct fe *fe = &n->fe;
    struct vhu_vring_info info;
    struct vhu_vring_stats st;
    uint8_t frame[60] = { 1 };
    struct vhu_frame f = { frame, 60 };
    struct test_pkt *pkts[4];
    int r;

    n->snapshot = malloc(GUEST_SIZE);
    memcpy(n->snapshot, fe->map, GUEST_SIZE);
    if (vring == 1) {
        r = fe_dequeue(fe, 0, pkts, 4);
    } else {
        r = vhu_enqueue_burst(fe->dev, 0, &f, 1);
    }
    CHECK(r == 0, "burst on an invalid ring returned %d", r);
    CHECK(!memcmp(n->snapshot, fe->map, GUEST_SIZE),
          "guest memory written");
    free(n->snapshot);
    vhu_device_vring_info(fe->dev, vring, &info);
    CHECK(info.broken, "ring not marked broken");
    vhu_device_vring_stats(fe->dev, vring, &st);
    CHECK(st.errors == 1, "errors %"PRIu64, st.errors);
    CHECK(!vhu_device_is_broken(fe->dev), "device broken");
    CHECK(vring == 1 ? !vhu_rx_ready(fe->dev, 0) : !vhu_tx_ready(fe->dev, 0),
          "broken ring still ready");
    CHECK(fe_read_call(fe, vring) == 0, "guest called");

    /* Once broken, stays stopped (no second error). */
    if (vring == 1) {
        r = fe_dequeue(fe, 0, pkts, 4);
    } else {
        r = vhu_enqueue_burst(fe->dev, 0, &f, 1);
    }
    CHECK(r == 0, "second burst returned %d", r);

    /* The other queue pair goes on. */
    fe_tx_frame(fe, 3, frame, sizeof frame, BUF_BASE + 0x40000, 12);
    CHECK(fe_dequeue(fe, 1, pkts, 1) == 1, "queue pair 1 stopped");
    free(pkts[0]);
    fe_destroy(fe);
}

static void
test_head_out_of_range(void)
{
    struct neg n;

    neg_setup(&n, F_VQ);
    fe_publish(&n.fe, 1, 256);
    neg_check(&n, 1);
}

static void
test_next_out_of_range(void)
{
    uint64_t gpas[2] = { BUF_BASE, BUF_BASE + 0x1000 };
    uint32_t lens[2] = { 12, 60 };
    struct neg n;
    uint16_t head;

    neg_setup(&n, F_VQ);
    head = fe_add_chain(&n.fe, 1, gpas, lens, 2, false);
    desc_table(&n.fe, 1)[head].next = 300;
    fe_publish(&n.fe, 1, head);
    neg_check(&n, 1);
}

static void
test_chain_loop(void)
{
    uint64_t gpas[2] = { BUF_BASE, BUF_BASE + 0x1000 };
    uint32_t lens[2] = { 12, 60 };
    struct neg n;
    uint16_t head;

    neg_setup(&n, F_VQ);
    head = fe_add_chain(&n.fe, 1, gpas, lens, 2, false);
    desc_table(&n.fe, 1)[head + 1].flags |= VRING_DESC_F_NEXT;
    desc_table(&n.fe, 1)[head + 1].next = head;
    fe_publish(&n.fe, 1, head);
    neg_check(&n, 1);
}

static void
test_rx_chain_loop(void)
{
    uint64_t gpa = BUF_BASE;
    uint32_t len = 0;           /* Never fills: the loop must be caught. */
    struct neg n;
    uint16_t head;

    neg_setup(&n, F_VQ);
    head = fe_add_chain(&n.fe, 0, &gpa, &len, 1, true);
    desc_table(&n.fe, 0)[head].flags |= VRING_DESC_F_NEXT;
    desc_table(&n.fe, 0)[head].next = head;
    fe_publish(&n.fe, 0, head);
    neg_check(&n, 0);
}

static void
test_avail_idx_jump(void)
{
    struct vring_avail *avail;
    struct neg n;

    neg_setup(&n, F_VQ);
    avail = fe_gpa(&n.fe, n.fe.vrings[1].avail_gpa);
    avail->idx = 257;
    neg_check(&n, 1);
}

static void
test_desc_unmapped(void)
{
    uint64_t gpa = GUEST_SIZE + 0x1000;
    uint32_t len = 100;
    struct neg n;

    neg_setup(&n, F_VQ);
    fe_publish(&n.fe, 1, fe_add_chain(&n.fe, 1, &gpa, &len, 1, false));
    neg_check(&n, 1);
}

static void
test_desc_partly_unmapped(void)
{
    uint64_t gpa = GUEST_SIZE - 50;
    uint32_t len = 100;
    struct neg n;

    neg_setup(&n, F_VQ);
    fe_publish(&n.fe, 0, fe_add_chain(&n.fe, 0, &gpa, &len, 1, true));
    neg_check(&n, 0);
}

static void
test_tx_write_desc(void)
{
    uint64_t gpa = BUF_BASE;
    uint32_t len = 100;
    struct neg n;

    neg_setup(&n, F_VQ);
    fe_publish(&n.fe, 1, fe_add_chain(&n.fe, 1, &gpa, &len, 1, true));
    neg_check(&n, 1);
}

static void
test_rx_read_desc(void)
{
    uint64_t gpa = BUF_BASE;
    uint32_t len = 2048;
    struct neg n;

    neg_setup(&n, F_VQ);
    fe_publish(&n.fe, 0, fe_add_chain(&n.fe, 0, &gpa, &len, 1, false));
    neg_check(&n, 0);
}

/* Publishes on vring 1 a descriptor with 'flags' pointing to an indirect
 * table of 'len' bytes at 'table_gpa' (filled with one valid entry, or
 * one with 'entry_flags'/'entry_next'). */
static void
neg_indirect(uint64_t features, uint64_t table_gpa, uint32_t len,
             uint16_t flags, uint16_t entry_flags, uint16_t entry_next)
{
    struct vring_desc *d, *t;
    struct neg n;

    neg_setup(&n, features);
    if (table_gpa < GUEST_SIZE) {
        t = fe_gpa(&n.fe, table_gpa);
        t[0].addr = BUF_BASE;
        t[0].len = 100;
        t[0].flags = entry_flags;
        t[0].next = entry_next;
        t[1] = t[0];
    }
    d = &desc_table(&n.fe, 1)[0];
    d->addr = table_gpa;
    d->len = len;
    d->flags = flags;
    d->next = 1;
    fe_publish(&n.fe, 1, 0);
    neg_check(&n, 1);
}

static void
test_indirect_nested(void)
{
    neg_indirect(F_VQ, BUF_BASE + 0x8000, 32, VRING_DESC_F_INDIRECT,
                 VRING_DESC_F_INDIRECT, 0);
}

static void
test_indirect_bad_len(void)
{
    neg_indirect(F_VQ, BUF_BASE + 0x8000, 24, VRING_DESC_F_INDIRECT, 0, 0);
}

static void
test_indirect_zero_len(void)
{
    neg_indirect(F_VQ, BUF_BASE + 0x8000, 0, VRING_DESC_F_INDIRECT, 0, 0);
}

static void
test_indirect_unmapped(void)
{
    neg_indirect(F_VQ, GUEST_SIZE + 0x1000, 32, VRING_DESC_F_INDIRECT, 0, 0);
}

static void
test_indirect_past_end(void)
{
    neg_indirect(F_VQ, GUEST_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0, 0);
}

static void
test_indirect_not_negotiated(void)
{
    neg_indirect(F_VQ & ~VHU_BIT(VHU_VIRTIO_RING_F_INDIRECT_DESC),
                 BUF_BASE + 0x8000, 32, VRING_DESC_F_INDIRECT, 0, 0);
}

static void
test_indirect_with_next(void)
{
    neg_indirect(F_VQ, BUF_BASE + 0x8000, 32,
                 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 0, 0);
}

static void
test_indirect_next_out_of_range(void)
{
    neg_indirect(F_VQ, BUF_BASE + 0x8000, 32, VRING_DESC_F_INDIRECT,
                 VRING_DESC_F_NEXT, 2);
}

static void
test_indirect_loop(void)
{
    neg_indirect(F_VQ, BUF_BASE + 0x8000, 32, VRING_DESC_F_INDIRECT,
                 VRING_DESC_F_NEXT, 0);
}

/* A broken ring works again after the frontend restarts it. */
static void
test_restart_after_broken(void)
{
    uint8_t frame[60] = { 9 };
    struct vhu_vring_state s;
    uint32_t req, size;
    struct test_pkt *pkt;
    struct fe fe;

    setup(&fe, F_VQ);
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    expect_dequeue(&fe, frame, sizeof frame);
    fe_publish(&fe, 1, 999);
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 0, "dequeued");
    CHECK(!vhu_rx_ready(fe.dev, 0), "ring not stopped");

    fe_send_state(&fe, VHU_REQ_GET_VRING_BASE, 1, 0);
    fe_grace(&fe);
    CHECK(fe_recv(&fe, &req, &s, &size) && s.num == 1, "base %"PRIu32,
          s.num);
    /* The driver resets its ring. */
    fe_setup_vring(&fe, 1, 256);
    fe_grace(&fe);
    CHECK(vhu_rx_ready(fe.dev, 0), "ring not restarted");
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    expect_dequeue(&fe, frame, sizeof frame);
    fe_destroy(&fe);
}

/* Ring wrap-around: more frames than the ring size. */
static void
test_wrap_around(void)
{
    uint8_t frame[64];
    struct vhu_frame f = { frame, sizeof frame };
    uint32_t id, len;
    struct fe fe;
    struct fe_opts opts = { .features = F_MRG, .n_qp = 1, .ring_size = 8 };

    fe_setup(&fe, &opts);
    for (int i = 0; i < 100; i++) {
        fill_pattern(frame, sizeof frame, i);
        fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE + (i % 8) * 0x100,
                    12);
        expect_dequeue(&fe, frame, sizeof frame);
        CHECK(fe_get_used(&fe, 1, &id, &len), "tx used %d", i);
        fe_post_rx(&fe, 0, BUF_BASE + 0x10000 + (i % 8) * 0x100, 128);
        CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "rx %d", i);
        CHECK(fe_get_used(&fe, 0, &id, &len) && len == 76, "rx used %d", i);
        check_rx(&fe, BUF_BASE + 0x10000 + (i % 8) * 0x100, 12, 1, frame,
                 sizeof frame);
    }
    fe_destroy(&fe);
}

/* Sleeping callers: vhu_rx_arm() asks the guest to kick (used->flags
 * cleared, or avail_event at the next index with EVENT_IDX) and checks the
 * ring once more; vhu_rx_disarm() asks it to stop kicking. */
static void
check_rx_arm(uint64_t features)
{
    bool event_idx = (features & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)) != 0;
    struct vring_used *used;
    uint16_t *avail_event;
    uint8_t frame[60];
    struct fe fe;
    int fd;

    setup(&fe, features);
    used = fe_gpa(&fe, fe.vrings[1].used_gpa);
    avail_event = (uint16_t *) &used->ring[fe.vrings[1].size];

    CHECK(vhu_rx_arm(fe.dev, 0, &fd) == VHU_RX_ARMED, "not armed");
    CHECK(fd >= 0 && fd == vhu_rx_kick_fd(fe.dev, 0), "kick fd %d", fd);
    if (event_idx) {
        CHECK(*avail_event == 0, "avail_event %u", *avail_event);
    } else {
        CHECK(used->flags == 0, "used flags %u", used->flags);
    }
    CHECK(!vhu_rx_pending(fe.dev, 0), "pending on an empty ring");

    /* A frame made available after the request: found by the re-check. */
    fill_pattern(frame, sizeof frame, 1);
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(vhu_rx_pending(fe.dev, 0), "frame not pending");
    CHECK(vhu_rx_arm(fe.dev, 0, &fd) == VHU_RX_ARM_PENDING && fd < 0,
          "armed with a frame waiting");
    expect_dequeue(&fe, frame, sizeof frame);
    CHECK(vhu_rx_arm(fe.dev, 0, &fd) == VHU_RX_ARMED, "not armed again");
    if (event_idx) {
        CHECK(*avail_event == 1, "avail_event %u", *avail_event);
    }

    vhu_rx_disarm(fe.dev, 0);
    if (event_idx) {
        /* Behind the next index: the guest does not kick again. */
        CHECK(*avail_event == 0, "avail_event %u", *avail_event);
    } else {
        CHECK(used->flags == VRING_USED_F_NO_NOTIFY, "used flags %u",
              used->flags);
    }

    /* Queue pairs that are not live have nothing to wait for. */
    CHECK(vhu_rx_arm(fe.dev, 1, &fd) == VHU_RX_ARMED, "pair 1");
    CHECK(vhu_rx_arm(fe.dev, 2, &fd) == VHU_RX_ARM_NOT_LIVE, "pair 2");
    CHECK(vhu_rx_arm(fe.dev, 1000, &fd) == VHU_RX_ARM_NOT_LIVE,
          "pair 1000");
    fe_destroy(&fe);
}

static void
test_rx_arm(void)
{
    check_rx_arm(F_VQ);
}

static void
test_rx_arm_event_idx(void)
{
    check_rx_arm(F_EVENT);
}

/* A kick fd that is no eventfd (a pipe: the frontend could read it under
 * a sleeper's feet), or none at all (NOFD), cannot wake a sleeper: the
 * ring must be polled. */
static void
test_rx_arm_no_kick(void)
{
    int pipefd[2];
    struct fe fe;
    int fd;

    setup(&fe, F_VQ);
    CHECK(!pipe(pipefd), "pipe");
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_KICK, 0, &(uint64_t) { 1 }, 8,
                   &pipefd[0], 1), "KICK");
    fe_grace(&fe);
    CHECK(vhu_rx_arm(fe.dev, 0, &fd) == VHU_RX_ARM_NO_KICK && fd < 0,
          "armed on a pipe");
    CHECK(vhu_rx_kick_fd(fe.dev, 0) < 0, "pipe published as kick fd");

    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_KICK, 0,
                   &(uint64_t) { 1 | VHU_VRING_NOFD_MASK }, 8, NULL, 0),
          "KICK NOFD");
    fe_grace(&fe);
    CHECK(vhu_rx_arm(fe.dev, 0, &fd) == VHU_RX_ARM_NO_KICK, "armed on NOFD");
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    close(pipefd[1]);
    fe_destroy(&fe);
}

const struct test virtqueue_tests[] = {
    { "rx-arm", test_rx_arm },
    { "rx-arm-event-idx", test_rx_arm_event_idx },
    { "rx-arm-no-kick", test_rx_arm_no_kick },
    { "tx-simple", test_tx_simple },
    { "tx-legacy-header", test_tx_legacy_header },
    { "tx-split-header", test_tx_split_header },
    { "tx-indirect", test_tx_indirect },
    { "tx-oversized", test_tx_oversized },
    { "tx-short", test_tx_short },
    { "tx-alloc-fail", test_alloc_fail },
    { "tx-chain-rewritten", test_tx_chain_rewritten },
    { "tx-mixed-burst", test_tx_mixed_burst },
    { "rx-simple", test_rx_simple },
    { "rx-legacy-header", test_rx_legacy_header },
    { "rx-chain", test_rx_chain },
    { "rx-mergeable", test_rx_mergeable },
    { "rx-no-buffers", test_rx_no_buffers },
    { "rx-too-small", test_rx_too_small },
    { "rx-oversized", test_rx_oversized },
    { "rx-indirect", test_rx_indirect },
    { "rx-mixed-burst", test_rx_mixed_burst },
    { "rx-bad-head-mid-burst", test_rx_bad_head_mid_burst },
    { "round-trip", test_round_trip },
    { "wrap-around", test_wrap_around },
    { "event-idx", test_event_idx },
    { "kicks-suppressed", test_kicks_suppressed },
    { "no-interrupt", test_no_interrupt },
    { "vq-head-out-of-range", test_head_out_of_range },
    { "vq-next-out-of-range", test_next_out_of_range },
    { "vq-chain-loop", test_chain_loop },
    { "vq-rx-chain-loop", test_rx_chain_loop },
    { "vq-avail-idx-jump", test_avail_idx_jump },
    { "vq-desc-unmapped", test_desc_unmapped },
    { "vq-desc-partly-unmapped", test_desc_partly_unmapped },
    { "vq-tx-write-desc", test_tx_write_desc },
    { "vq-rx-read-desc", test_rx_read_desc },
    { "vq-indirect-nested", test_indirect_nested },
    { "vq-indirect-bad-len", test_indirect_bad_len },
    { "vq-indirect-zero-len", test_indirect_zero_len },
    { "vq-indirect-unmapped", test_indirect_unmapped },
    { "vq-indirect-past-end", test_indirect_past_end },
    { "vq-indirect-not-negotiated", test_indirect_not_negotiated },
    { "vq-indirect-with-next", test_indirect_with_next },
    { "vq-indirect-next-out-of-range", test_indirect_next_out_of_range },
    { "vq-indirect-loop", test_indirect_loop },
    { "vq-restart-after-broken", test_restart_after_broken },
    { NULL, NULL },
};
