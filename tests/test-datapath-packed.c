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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tests of packed virtqueues (VIRTIO_F_RING_PACKED) that the split ring's
 * tests, run with "packed:" (fe_packed), do not cover: ring bases, sizes
 * that are no power of 2, event suppression, indirect tables, the control
 * queue and hostile descriptors. */

#define F_PACKED (VHU_BIT(VHU_VIRTIO_F_VERSION_1)              \
                  | VHU_BIT(VHU_F_PROTOCOL_FEATURES)          \
                  | VHU_BIT(VHU_VIRTIO_F_RING_PACKED)         \
                  | VHU_BIT(VHU_VIRTIO_F_IN_ORDER)            \
                  | VHU_BIT(VHU_VIRTIO_RING_F_INDIRECT_DESC))
#define F_PACKED_EVENT (F_PACKED | VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX))

#define AVAIL_F (1 << VRING_PACKED_DESC_F_AVAIL)
#define USED_F (1 << VRING_PACKED_DESC_F_USED)

static void
setup(struct fe *fe, uint64_t features, uint16_t ring_size)
{
    struct fe_opts opts = {
        .features = features, .n_qp = 1, .ring_size = ring_size,
    };

    fe_setup(fe, &opts);
    CHECK(fe->packed, "packed ring not negotiated");
}

static struct vring_packed_desc *
ring(struct fe *fe, unsigned int vring)
{
    return fe_gpa(fe, fe->vrings[vring].desc_gpa);
}

/* The driver's and the device's event suppression areas of 'vring'. */
static struct vring_packed_desc_event *
driver_event(struct fe *fe, unsigned int vring)
{
    return fe_gpa(fe, fe->vrings[vring].avail_gpa);
}

static struct vring_packed_desc_event *
device_event(struct fe *fe, unsigned int vring)
{
    return fe_gpa(fe, fe->vrings[vring].used_gpa);
}

/* Writes descriptor 'slot' of 'vring' as available at wrap counter
 * 'wrap' with extra 'flags'. */
static void
write_desc(struct fe *fe, unsigned int vring, uint16_t slot, bool wrap,
           uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
    struct vring_packed_desc *d = &ring(fe, vring)[slot];

    d->addr = addr;
    d->len = len;
    d->id = id;
    atomic_thread_fence(memory_order_release);
    d->flags = flags | (wrap ? AVAIL_F : USED_F);
}

static int
dequeue(struct fe *fe, int max)
{
    struct test_pkt *pkts[64];
    int n = fe_dequeue(fe, 0, pkts, max < 64 ? max : 64);

    for (int i = 0; i < n; i++) {
        free(pkts[i]);
    }
    return n;
}

static bool
ring_broken(struct fe *fe, unsigned int vring)
{
    struct vhu_vring_info info;

    vhu_device_vring_info(fe->dev, vring, &info);
    return info.broken;
}

/* Sends GET_VRING_BASE for 'vring' and returns the base. */
static uint32_t
get_base(struct fe *fe, unsigned int vring)
{
    uint8_t payload[64];
    uint32_t req, size, base;

    CHECK(!fe_send_state(fe, VHU_REQ_GET_VRING_BASE, vring, 0), "GET");
    fe_grace(fe);
    CHECK(fe_recv(fe, &req, payload, &size), "no GET_VRING_BASE reply");
    CHECK(req == VHU_REQ_GET_VRING_BASE && size == 8, "reply %"PRIu32,
          req);
    memcpy(&base, payload + 4, sizeof base);
    return base;
}

/* A ring whose size is no power of 2 (allowed for packed rings) goes
 * round several times, in both directions. */
static void
test_packed_odd_size(void)
{
    uint8_t frame[200], *p;
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_PACKED, 100);
    fill_pattern(frame, sizeof frame, 7);
    for (int i = 0; i < 350; i++) {
        struct vhu_frame f = { frame, 60 + i % 100 };
        struct test_pkt *pkt;

        fe_tx_frame(&fe, 1, frame, 60 + i % 100, BUF_BASE + (i % 4) * 0x1000,
                    12);
        CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 1, "frame %d not dequeued", i);
        CHECK(pkt->len == 60 + i % 100 && !memcmp(pkt->data, frame, pkt->len),
              "frame %d differs", i);
        free(pkt);
        CHECK(fe_get_used(&fe, 1, &id, &len) && len == 0, "tx used %d", i);

        fe_post_rx(&fe, 0, BUF_BASE + 0x10000, 2048);
        CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "frame %d not "
              "enqueued", i);
        CHECK(fe_get_used(&fe, 0, &id, &len) && len == 12 + f.len,
              "rx used %d: length %"PRIu32, i, len);
        p = fe_gpa(&fe, BUF_BASE + 0x10000);
        CHECK(!memcmp(p + 12, frame, f.len), "received frame %d differs", i);
    }
    CHECK(!fe_get_used(&fe, 1, &id, &len), "extra used descriptor");
    /* 350 descriptors: three laps and a half (wrap counter 1, 0, 1, 0). */
    CHECK(fe.vrings[1].used_seen == 50 && !fe.vrings[1].used_wrap,
          "driver at %u wrap %d", fe.vrings[1].used_seen,
          fe.vrings[1].used_wrap);
    fe_destroy(&fe);
}

/* GET_VRING_BASE tells the position and wrap counter, in both halves, and
 * a ring restarted from it goes on where it was. */
static void
test_packed_base(void)
{
    uint8_t frame[64];
    uint32_t base, id, len;
    struct fe fe;

    setup(&fe, F_PACKED, 8);
    fill_pattern(frame, sizeof frame, 1);
    for (int i = 0; i < 11; i++) {
        fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
        CHECK(dequeue(&fe, 8) == 1, "frame %d", i);
        CHECK(fe_get_used(&fe, 1, &id, &len), "used %d", i);
    }
    /* 11 frames in an 8-slot ring: position 3, wrap counter 0. */
    base = get_base(&fe, 1);
    CHECK(base == (3 | 3 << 16), "base 0x%08"PRIx32", expected 0x00030003",
          base);
    CHECK(!vhu_rx_ready(fe.dev, 0), "ring still running");

    /* Restart from that base (with 0 in the upper half, as DPDK sends). */
    CHECK(!fe_restart_vring(&fe, 1, 3), "KICK");
    CHECK(vhu_rx_ready(fe.dev, 0), "ring not restarted");
    for (int i = 0; i < 10; i++) {
        fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
        CHECK(dequeue(&fe, 8) == 1, "frame %d after restart", i);
        CHECK(fe_get_used(&fe, 1, &id, &len), "used %d after restart", i);
    }
    CHECK(get_base(&fe, 1) == (5 | 0x8000 | (5 | 0x8000) << 16),
          "base after restart");

    /* A base beyond the ring's size breaks the device when it starts. */
    fe_restart_vring(&fe, 1, 8);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

/* The driver's event area decides calls: disabled, enabled, or (with
 * EVENT_IDX) at a descriptor offset and wrap counter. */
static void
test_packed_calls(void)
{
    struct vring_packed_desc_event *ev;
    uint8_t frame[64];
    struct fe fe;

    setup(&fe, F_PACKED_EVENT, 8);
    ev = driver_event(&fe, 1);
    fill_pattern(frame, sizeof frame, 2);

    ev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(dequeue(&fe, 8) == 1, "dequeue");
    CHECK(fe_read_call(&fe, 1) == 0, "called while disabled");

    ev->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(dequeue(&fe, 8) == 1, "dequeue");
    CHECK(fe_read_call(&fe, 1) == 1, "not called while enabled");

    /* Call once the used descriptor at position 5 (this lap, wrap 1) is
     * written: not for positions 2 to 4, then for 5. */
    ev->off_wrap = 5 | 1 << VRING_PACKED_EVENT_F_WRAP_CTR;
    ev->flags = VRING_PACKED_EVENT_FLAG_DESC;
    for (int i = 2; i < 5; i++) {
        fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
        CHECK(dequeue(&fe, 8) == 1, "dequeue %d", i);
        CHECK(fe_read_call(&fe, 1) == 0, "called at position %d", i);
    }
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(dequeue(&fe, 8) == 1, "dequeue 5");
    CHECK(fe_read_call(&fe, 1) == 1, "not called at the event offset");

    /* An offset in the next lap (wrap 0): two bursts cross it. */
    ev->off_wrap = 1;
    for (int i = 0; i < 3; i++) {
        fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    }
    CHECK(dequeue(&fe, 8) == 3, "dequeue 6..8");
    CHECK(fe_read_call(&fe, 1) == 0, "called before the next lap's offset");
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(dequeue(&fe, 8) == 1, "dequeue 9");
    CHECK(fe_read_call(&fe, 1) == 1, "not called at the next lap's offset");
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_destroy(&fe);
}

/* A polled ring disables the guest's kicks in the device event area; a
 * data-path thread about to sleep enables them, and disables them when it
 * polls again. */
static void
test_packed_kicks(void)
{
    uint8_t frame[64];
    struct fe fe;
    int fd;

    fe_want_kicks = false;
    setup(&fe, F_PACKED_EVENT, 8);
    CHECK(device_event(&fe, 1)->flags == VRING_PACKED_EVENT_FLAG_DISABLE,
          "kicks not disabled: %u", device_event(&fe, 1)->flags);
    CHECK(vhu_rx_arm(fe.dev, 0, &fd) == VHU_RX_ARMED && fd >= 0, "arm");
    CHECK(device_event(&fe, 1)->flags == VRING_PACKED_EVENT_FLAG_ENABLE,
          "kicks not enabled when armed");
    CHECK(!vhu_rx_pending(fe.dev, 0), "pending on an empty ring");

    fill_pattern(frame, sizeof frame, 3);
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(vhu_rx_pending(fe.dev, 0), "frame not seen as pending");
    CHECK(vhu_rx_arm(fe.dev, 0, &fd) == VHU_RX_ARM_PENDING, "armed with a "
          "frame available");
    vhu_rx_disarm(fe.dev, 0);
    CHECK(device_event(&fe, 1)->flags == VRING_PACKED_EVENT_FLAG_DISABLE,
          "kicks not disabled after disarm");
    CHECK(dequeue(&fe, 8) == 1, "dequeue");
    CHECK(!vhu_rx_pending(fe.dev, 0), "pending after dequeue");
    fe_destroy(&fe);
}

/* Indirect tables: every entry is part of the chain, in order, without
 * NEXT; WRITE is the only flag that counts. */
static void
test_packed_indirect(void)
{
    uint64_t table = BUF_BASE + 0x8000;
    struct vring_packed_desc *t;
    struct test_pkt *pkt;
    uint8_t frame[64], *p;
    struct vhu_frame f = { frame, sizeof frame };
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_PACKED, 8);
    t = fe_gpa(&fe, table);
    fill_pattern(frame, sizeof frame, 4);

    /* Transmit: header, then the frame in two buffers. */
    memset(fe_gpa(&fe, BUF_BASE), 0, 12);
    memcpy(fe_gpa(&fe, BUF_BASE + 0x1000), frame, 40);
    memcpy(fe_gpa(&fe, BUF_BASE + 0x2000), frame + 40, 24);
    t[0] = (struct vring_packed_desc) { BUF_BASE, 12, 0, 0 };
    t[1] = (struct vring_packed_desc) { BUF_BASE + 0x1000, 40, 0,
                                        VRING_DESC_F_NEXT };
    t[2] = (struct vring_packed_desc) { BUF_BASE + 0x2000, 24, 0, 0 };
    fe.vrings[1].chain_len[0] = 1;
    write_desc(&fe, 1, 0, true, table, 3 * sizeof *t, 0,
               VRING_DESC_F_INDIRECT);
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 1, "indirect frame not dequeued");
    CHECK(pkt->len == sizeof frame && !memcmp(pkt->data, frame, pkt->len),
          "indirect frame differs");
    free(pkt);
    CHECK(fe_get_used(&fe, 1, &id, &len) && id == 0, "tx used");

    /* Receive into two device-writable buffers of an indirect table. */
    t[0] = (struct vring_packed_desc) { BUF_BASE + 0x3000, 30, 0,
                                        VRING_DESC_F_WRITE };
    t[1] = (struct vring_packed_desc) { BUF_BASE + 0x4000, 100, 0,
                                        VRING_DESC_F_WRITE };
    fe.vrings[0].chain_len[0] = 1;
    write_desc(&fe, 0, 0, true, table, 2 * sizeof *t, 0,
               VRING_DESC_F_INDIRECT);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "not enqueued");
    CHECK(fe_get_used(&fe, 0, &id, &len) && id == 0
          && len == 12 + sizeof frame, "rx used: length %"PRIu32, len);
    p = fe_gpa(&fe, BUF_BASE + 0x3000);
    CHECK(!memcmp(p + 12, frame, 18), "first buffer differs");
    CHECK(!memcmp(fe_gpa(&fe, BUF_BASE + 0x4000), frame + 18, 46),
          "second buffer differs");
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_destroy(&fe);
}

/* A chain whose head is available but not the rest is not taken (the
 * driver makes the head available last), and does not break the ring;
 * nor does a ring of descriptors that all have NEXT. */
static void
test_packed_incomplete_chain(void)
{
    uint8_t frame[64];
    struct test_pkt *pkt;
    struct fe fe;

    setup(&fe, F_PACKED, 8);
    fill_pattern(frame, sizeof frame, 5);
    memset(fe_gpa(&fe, BUF_BASE), 0, 12);
    memcpy(fe_gpa(&fe, BUF_BASE + 0x1000), frame, sizeof frame);
    write_desc(&fe, 1, 0, true, BUF_BASE, 12, 0, VRING_DESC_F_NEXT);
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 0, "incomplete chain taken");
    CHECK(!ring_broken(&fe, 1), "ring broken by an incomplete chain");
    fe.vrings[1].chain_len[0] = 2;
    write_desc(&fe, 1, 1, true, BUF_BASE + 0x1000, sizeof frame, 0, 0);
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 1, "completed chain not taken");
    CHECK(pkt->len == sizeof frame && !memcmp(pkt->data, frame, pkt->len),
          "frame differs");
    free(pkt);

    /* A ring made of NEXT descriptors cannot loop: past its last slot the
     * wrap counter changes and the head is not available any more. */
    for (int k = 9; k >= 2; k--) {
        write_desc(&fe, 1, k % 8, k < 8, BUF_BASE, 100, 0, VRING_DESC_F_NEXT);
    }
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 0, "ring of NEXT taken");
    CHECK(!ring_broken(&fe, 1), "ring broken by a ring of NEXT");
    CHECK(!vhu_device_is_broken(fe.dev), "device broken");
    fe_destroy(&fe);
}

/* Hostile descriptors: each breaks the ring with a log line, and the
 * device and its other rings go on. */
enum hostile {
    H_INDIRECT_NEXT,            /* INDIRECT with NEXT. */
    H_INDIRECT_IN_CHAIN,        /* INDIRECT as a chain's second. */
    H_INDIRECT_BAD_LEN,         /* Table length not a multiple of 16. */
    H_INDIRECT_UNMAPPED,        /* Table outside guest memory. */
    H_BUFFER_UNMAPPED,          /* Buffer outside guest memory. */
    H_RX_READABLE,              /* Device-readable receive buffer. */
};

static void
check_hostile(enum hostile h)
{
    uint8_t frame[64];
    struct vhu_frame f = { frame, sizeof frame };
    unsigned int vring = h == H_RX_READABLE ? 0 : 1;
    uint32_t id, len;
    struct fe fe;

    setup(&fe, F_PACKED, 8);
    fill_pattern(frame, sizeof frame, 6);
    memset(fe_gpa(&fe, BUF_BASE), 0, 100);
    switch (h) {
    case H_INDIRECT_NEXT:
        write_desc(&fe, 1, 1, true, BUF_BASE, 100, 0, 0);
        write_desc(&fe, 1, 0, true, BUF_BASE + 0x8000, 32, 0,
                   VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
        break;
    case H_INDIRECT_IN_CHAIN:
        write_desc(&fe, 1, 1, true, BUF_BASE + 0x8000, 32, 0,
                   VRING_DESC_F_INDIRECT);
        write_desc(&fe, 1, 0, true, BUF_BASE, 100, 0, VRING_DESC_F_NEXT);
        break;
    case H_INDIRECT_BAD_LEN:
        write_desc(&fe, 1, 0, true, BUF_BASE + 0x8000, 24, 0,
                   VRING_DESC_F_INDIRECT);
        break;
    case H_INDIRECT_UNMAPPED:
        write_desc(&fe, 1, 0, true, GUEST_SIZE - 16, 32, 0,
                   VRING_DESC_F_INDIRECT);
        break;
    case H_BUFFER_UNMAPPED:
        write_desc(&fe, 1, 0, true, UINT64_C(1) << 40, 100, 0, 0);
        break;
    case H_RX_READABLE:
        /* A chain whose first buffer is too small for the frame, so that
         * the general path walks it. */
        write_desc(&fe, 0, 1, true, BUF_BASE + 0x1000, 100, 0, 0);
        write_desc(&fe, 0, 0, true, BUF_BASE, 20, 0,
                   VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
        break;
    }
    if (vring == 1) {
        CHECK(dequeue(&fe, 8) == 0, "frame dequeued from a hostile chain");
    } else {
        CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 0, "frame enqueued "
              "into a hostile chain");
    }
    CHECK(ring_broken(&fe, vring), "ring not broken");
    CHECK(!fe_get_used(&fe, vring, &id, &len), "hostile chain used");
    CHECK(!vhu_device_is_broken(fe.dev), "device broken");

    /* The other ring goes on. */
    if (vring == 1) {
        fe_post_rx(&fe, 0, BUF_BASE + 0x10000, 2048);
        CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "other ring stopped");
    } else {
        fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE + 0x10000, 12);
        CHECK(dequeue(&fe, 8) == 1, "other ring stopped");
    }
    fe_destroy(&fe);
}

static void test_packed_indirect_next(void) { check_hostile(H_INDIRECT_NEXT); }
static void
test_packed_indirect_in_chain(void)
{
    check_hostile(H_INDIRECT_IN_CHAIN);
}
static void
test_packed_indirect_bad_len(void)
{
    check_hostile(H_INDIRECT_BAD_LEN);
}
static void
test_packed_indirect_unmapped(void)
{
    check_hostile(H_INDIRECT_UNMAPPED);
}
static void
test_packed_buffer_unmapped(void)
{
    check_hostile(H_BUFFER_UNMAPPED);
}
static void test_packed_rx_readable(void) { check_hostile(H_RX_READABLE); }

/* The control queue on a packed ring: a command answered with its ack in
 * a used descriptor of length 1. */
static void
test_packed_ctrl(void)
{
    struct fe_opts opts = {
        .features = (F_PACKED | VHU_BIT(VHU_VIRTIO_NET_F_CTRL_VQ)
                     | VHU_BIT(VHU_VIRTIO_NET_F_MQ)),
        .protocol_features = (VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK)
                              | VHU_BIT(VHU_PROTOCOL_F_MQ)),
        .n_qp = 2, .max_qp = 5,
    };
    uint64_t hdr = BUF_BASE, ack = BUF_BASE + 0x100;
    uint16_t pairs = 2;
    uint32_t id, len;
    struct fe fe;

    fe_setup(&fe, &opts);
    fe_setup_vring(&fe, 4, 64);
    fe_grace(&fe);

    /* VIRTIO_NET_CTRL_MQ (4), VQ_PAIRS_SET (0), 2 pairs; the ack. */
    memcpy(fe_gpa(&fe, hdr), (uint8_t[]) { 4, 0 }, 2);
    memcpy(fe_gpa(&fe, hdr + 2), &pairs, 2);
    *(uint8_t *) fe_gpa(&fe, ack) = 0xff;
    fe.vrings[4].chain_len[0] = 3;
    write_desc(&fe, 4, 2, true, ack, 1, 0, VRING_DESC_F_WRITE);
    write_desc(&fe, 4, 1, true, hdr + 2, 2, 0, VRING_DESC_F_NEXT);
    write_desc(&fe, 4, 0, true, hdr, 2, 0, VRING_DESC_F_NEXT);
    vhu_device_run_ctrl(fe.dev);
    fe_grace(&fe);
    CHECK(fe_get_used(&fe, 4, &id, &len) && id == 0 && len == 1,
          "command not answered");
    CHECK(*(uint8_t *) fe_gpa(&fe, ack) == 0, "ack %u",
          *(uint8_t *) fe_gpa(&fe, ack));
    CHECK(fe.vrings[4].used_seen == 3, "used position %u, expected 3",
          fe.vrings[4].used_seen);
    CHECK(vhu_tx_ready(fe.dev, 1), "second pair not enabled");
    fe_destroy(&fe);
}

/* A packed ring's event areas are 4 bytes each: one that ends at the end
 * of guest memory is accepted (a split ring's rings there would not fit),
 * one past the end breaks the device. */
static void
test_packed_event_area_bounds(void)
{
    struct vhu_vring_addr a;
    struct fe fe;

    setup(&fe, F_PACKED, 8);
    get_base(&fe, 1);
    memset(&a, 0, sizeof a);
    a.index = 1;
    a.desc = UVA_BASE + fe.vrings[1].desc_gpa;
    a.avail = UVA_BASE + GUEST_SIZE - 4;
    a.used = UVA_BASE + fe.vrings[1].used_gpa;
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0),
          "ADDR with the driver area at the end of memory");
    CHECK(!vhu_device_is_broken(fe.dev), "4-byte event area refused");

    a.avail = UVA_BASE + GUEST_SIZE;
    fe_send(&fe, VHU_REQ_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

/* A size that only a packed ring allows, kept after the frontend turns to
 * split rings, breaks the device when the ring starts. */
static void
test_packed_size_then_split(void)
{
    struct fe fe;

    setup(&fe, F_PACKED, 8);
    get_base(&fe, 1);
    CHECK(!fe_send_state(&fe, VHU_REQ_SET_VRING_NUM, 1, 100), "NUM 100");
    CHECK(!vhu_device_is_broken(fe.dev), "size 100 refused for packed");
    CHECK(!fe_send_u64(&fe, VHU_REQ_SET_FEATURES,
                       F_PACKED & ~VHU_BIT(VHU_VIRTIO_F_RING_PACKED)),
          "SET_FEATURES without packed rings");
    fe_restart_vring(&fe, 1, 0);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

const struct test packed_tests[] = {
    { "packed-odd-size", test_packed_odd_size },
    { "packed-base", test_packed_base },
    { "packed-calls", test_packed_calls },
    { "packed-kicks", test_packed_kicks },
    { "packed-indirect", test_packed_indirect },
    { "packed-incomplete-chain", test_packed_incomplete_chain },
    { "packed-indirect-next", test_packed_indirect_next },
    { "packed-indirect-in-chain", test_packed_indirect_in_chain },
    { "packed-indirect-bad-len", test_packed_indirect_bad_len },
    { "packed-indirect-unmapped", test_packed_indirect_unmapped },
    { "packed-buffer-unmapped", test_packed_buffer_unmapped },
    { "packed-rx-readable", test_packed_rx_readable },
    { "packed-ctrl", test_packed_ctrl },
    { "packed-event-area-bounds", test_packed_event_area_bounds },
    { "packed-size-then-split", test_packed_size_then_split },
    { NULL, NULL },
};
