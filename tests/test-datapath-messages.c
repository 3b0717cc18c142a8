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
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Tests of message framing, negotiation and the ring life cycle. */

#define F_BASE (VHU_BIT(VHU_VIRTIO_F_VERSION_1) \
                | VHU_BIT(VHU_F_PROTOCOL_FEATURES))
#define PF_BASE (VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK) \
                 | VHU_BIT(VHU_PROTOCOL_F_MQ))

static const struct fe_opts base_opts = {
    .features = F_BASE,
    .protocol_features = PF_BASE,
    .n_qp = 1,
};

static const struct fe_opts no_rings_opts = {
    .features = F_BASE,
    .protocol_features = PF_BASE,
};

/* Features and protocol features offered, and features_disabled. */
static void
test_features_offered(void)
{
    struct vhu_device_options opts = {
        .name = "x", .max_queue_pairs = 1, .max_mtu = 1500,
        .features_disabled = VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF),
        .protocol_features_disabled = VHU_BIT(VHU_PROTOCOL_F_RARP),
    };
    uint64_t expected = (VHU_BIT(VHU_VIRTIO_F_VERSION_1)
                         | VHU_BIT(VHU_VIRTIO_F_ANY_LAYOUT)
                         | VHU_BIT(VHU_VIRTIO_F_RING_PACKED)
                         | VHU_BIT(VHU_VIRTIO_F_IN_ORDER)
                         | VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF)
                         | VHU_BIT(VHU_VIRTIO_RING_F_INDIRECT_DESC)
                         | VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)
                         | VHU_BIT(VHU_VIRTIO_NET_F_MTU)
                         | VHU_BIT(VHU_VIRTIO_NET_F_STATUS)
                         | VHU_BIT(VHU_VIRTIO_NET_F_CTRL_VQ)
                         | VHU_BIT(VHU_VIRTIO_NET_F_MQ)
                         | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_ANNOUNCE)
                         | VHU_BIT(VHU_F_LOG_ALL)
                         | VHU_BIT(VHU_F_PROTOCOL_FEATURES));
    uint64_t expected_pf = (VHU_BIT(VHU_PROTOCOL_F_MQ)
                            | VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK)
                            | VHU_BIT(VHU_PROTOCOL_F_RARP)
                            | VHU_BIT(VHU_PROTOCOL_F_NET_MTU)
                            | VHU_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)
                            | VHU_BIT(VHU_PROTOCOL_F_STATUS)
                            | VHU_BIT(VHU_PROTOCOL_F_CONFIG)
                            | VHU_BIT(VHU_PROTOCOL_F_LOG_SHMFD));
    struct fe fe;
    uint64_t v;

    fe_init(&fe, 2);
    v = fe_get_u64(&fe, VHU_REQ_GET_FEATURES);
    CHECK(v == expected, "offered 0x%"PRIx64", expected 0x%"PRIx64, v,
          expected);
    v = fe_get_u64(&fe, VHU_REQ_GET_PROTOCOL_FEATURES);
    CHECK(v == expected_pf, "offered protocol 0x%"PRIx64, v);
    CHECK(!fe_send_u64(&fe, VHU_REQ_SET_FEATURES, expected), "set");
    CHECK(vhu_device_features(fe.dev) == expected, "negotiated");
    CHECK(!fe_send_u64(&fe, VHU_REQ_SET_PROTOCOL_FEATURES, expected_pf),
          "set protocol");
    CHECK(vhu_device_protocol_features(fe.dev) == expected_pf, "negotiated");
    CHECK(fe_get_u64(&fe, VHU_REQ_GET_QUEUE_NUM) == 2, "queue num");
    CHECK(fe_get_u64(&fe, VHU_REQ_GET_MAX_MEM_SLOTS) == VHU_MAX_MEM_REGIONS,
          "max mem slots");
    fe_destroy(&fe);

    /* Options take bits away. */
    fe_init(&fe, 1);
    vhu_device_destroy(fe.dev);
    fe.dev = vhu_device_create(&opts);
    v = fe_get_u64(&fe, VHU_REQ_GET_FEATURES);
    CHECK(v == (expected & ~VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF)),
          "features_disabled ignored: 0x%"PRIx64, v);
    v = fe_get_u64(&fe, VHU_REQ_GET_PROTOCOL_FEATURES);
    CHECK(v == (expected_pf & ~VHU_BIT(VHU_PROTOCOL_F_RARP)),
          "protocol_features_disabled ignored: 0x%"PRIx64, v);
    fe_destroy(&fe);
}

/* Returns a fresh device with nothing negotiated. */
static void
fresh(struct fe *fe)
{
    fe_init(fe, 2);
}

static void
test_features_unoffered(void)
{
    struct fe fe;

    fresh(&fe);
    fe_send_u64(&fe, VHU_REQ_SET_FEATURES,
                VHU_BIT(VHU_VIRTIO_F_VERSION_1)
                | VHU_BIT(VHU_VIRTIO_NET_F_CSUM));
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_features_access_platform(void)
{
    struct fe fe;

    fresh(&fe);
    fe_send_u64(&fe, VHU_REQ_SET_FEATURES,
                VHU_BIT(VHU_VIRTIO_F_VERSION_1)
                | VHU_BIT(VHU_VIRTIO_F_ACCESS_PLATFORM));
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_protocol_features_unoffered(void)
{
    struct fe fe;

    fresh(&fe);
    fe_send_u64(&fe, VHU_REQ_SET_PROTOCOL_FEATURES,
                VHU_BIT(VHU_PROTOCOL_F_BACKEND_REQ));
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

/* REPLY_ACK: 0 on success, nonzero on a refused request. */
static void
test_reply_ack(void)
{
    uint64_t mtu;
    struct fe fe;

    fe_setup(&fe, &no_rings_opts);
    CHECK(!fe_send(&fe, VHU_REQ_SET_OWNER, VHU_VERSION | VHU_FLAG_NEED_REPLY,
                   NULL, 0, NULL, 0), "send");
    CHECK(fe_expect_ack(&fe, VHU_REQ_SET_OWNER) == 0, "ack");

    mtu = 100000;
    CHECK(!fe_send(&fe, VHU_REQ_NET_SET_MTU,
                   VHU_VERSION | VHU_FLAG_NEED_REPLY, &mtu, 8, NULL, 0),
          "send");
    CHECK(fe_expect_ack(&fe, VHU_REQ_NET_SET_MTU) != 0, "nack");
    CHECK(!vhu_device_is_broken(fe.dev), "broken by a refused MTU");
    CHECK(vhu_device_mtu(fe.dev) == 0, "MTU set");

    mtu = 1500;
    CHECK(!fe_send(&fe, VHU_REQ_NET_SET_MTU,
                   VHU_VERSION | VHU_FLAG_NEED_REPLY, &mtu, 8, NULL, 0),
          "send");
    CHECK(fe_expect_ack(&fe, VHU_REQ_NET_SET_MTU) == 0, "ack");
    CHECK(vhu_device_mtu(fe.dev) == 1500, "MTU not set");

    /* A request with its own reply gets no extra ack. */
    CHECK(!fe_send(&fe, VHU_REQ_GET_FEATURES,
                   VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0, NULL, 0),
          "send");
    {
        uint8_t p[64];
        uint32_t req, size;

        CHECK(fe_recv(&fe, &req, p, &size) && req == VHU_REQ_GET_FEATURES,
              "reply");
        fe_expect_no_reply(&fe);
    }
    fe_destroy(&fe);
}

/* Without REPLY_ACK negotiated, NEED_REPLY gets no reply. */
static void
test_no_reply_ack(void)
{
    struct fe_opts opts = no_rings_opts;
    struct fe fe;

    opts.protocol_features = 0;
    fe_setup(&fe, &opts);
    CHECK(!fe_send(&fe, VHU_REQ_SET_OWNER, VHU_VERSION | VHU_FLAG_NEED_REPLY,
                   NULL, 0, NULL, 0), "send");
    fe_expect_no_reply(&fe);
    fe_destroy(&fe);
}

/* Unknown and unsupported requests are refused without breaking. */
static void
test_unknown_request(void)
{
    uint64_t v = 0;
    struct fe fe;

    fe_setup(&fe, &no_rings_opts);
    CHECK(!fe_send(&fe, 99, VHU_VERSION | VHU_FLAG_NEED_REPLY, &v, 8,
                   NULL, 0), "send");
    CHECK(fe_expect_ack(&fe, 99) != 0, "unknown request acked");
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_ENDIAN,
                   VHU_VERSION | VHU_FLAG_NEED_REPLY, &v, 8, NULL, 0),
          "send");
    CHECK(fe_expect_ack(&fe, VHU_REQ_SET_VRING_ENDIAN) != 0, "acked");
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_destroy(&fe);
}

/* An unknown request with an fd: refused, fd closed. */
static void
test_unknown_request_fd(void)
{
    int fd = eventfd(0, 0);
    struct fe fe;

    fresh(&fe);
    CHECK(!fe_send(&fe, VHU_REQ_SET_BACKEND_REQ_FD, 0, NULL, 0, &fd, 1),
          "send");
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_destroy(&fe);
}

static void
test_bad_version(void)
{
    struct fe fe;

    fresh(&fe);
    CHECK(fe_send(&fe, VHU_REQ_GET_FEATURES, 2, NULL, 0, NULL, 0),
          "accepted");
    fe_expect_broken(&fe);
    fe_expect_no_reply(&fe);
    fe_destroy(&fe);
}

static void
test_payload_too_large(void)
{
    struct vhu_msg_header hdr = {
        .request = VHU_REQ_SET_FEATURES, .flags = VHU_VERSION,
        .size = VHU_MSG_MAX_PAYLOAD + 1,
    };
    struct fe fe;

    fresh(&fe);
    CHECK(vhu_device_input(fe.dev, &hdr, sizeof hdr, NULL, 0), "accepted");
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_payload_wrong_size(void)
{
    uint32_t v = 0;
    struct fe fe;

    fresh(&fe);
    fe_send(&fe, VHU_REQ_SET_FEATURES, 0, &v, sizeof v, NULL, 0);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_get_features_payload(void)
{
    uint64_t v = 0;
    struct fe fe;

    fresh(&fe);
    fe_send(&fe, VHU_REQ_GET_FEATURES, 0, &v, sizeof v, NULL, 0);
    fe_expect_broken(&fe);
    fe_expect_no_reply(&fe);
    fe_destroy(&fe);
}

static void
test_unexpected_fd(void)
{
    int fd = eventfd(0, 0);
    uint64_t v = VHU_BIT(VHU_VIRTIO_F_VERSION_1);
    struct fe fe;

    fresh(&fe);
    fe_send(&fe, VHU_REQ_SET_FEATURES, 0, &v, sizeof v, &fd, 1);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_too_many_fds(void)
{
    int fds[VHU_MSG_MAX_FDS + 1];
    struct fe fe;

    fresh(&fe);
    for (size_t i = 0; i < VHU_MSG_MAX_FDS + 1; i++) {
        fds[i] = eventfd(0, 0);
    }
    CHECK(fe_send(&fe, VHU_REQ_SET_OWNER, 0, NULL, 0, fds,
                  VHU_MSG_MAX_FDS + 1), "accepted");
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

/* After breaking, input is refused and its fds closed. */
static void
test_input_after_broken(void)
{
    int fd = eventfd(0, 0);
    struct fe fe;

    fresh(&fe);
    fe_send(&fe, VHU_REQ_GET_FEATURES, 2, NULL, 0, NULL, 0);
    fe_expect_broken(&fe);
    CHECK(fe_send(&fe, VHU_REQ_SET_OWNER, 0, NULL, 0, &fd, 1), "accepted");
    fe_destroy(&fe);
}

/* A frontend that never reads its replies: the device breaks before 64 KB
 * of them wait (3276 replies of 20 bytes fit). */
static void
test_replies_unread(void)
{
    struct vhu_msg_header g = { VHU_REQ_GET_FEATURES, VHU_VERSION, 0 };
    unsigned int i;
    struct fe fe;
    size_t n;

    fresh(&fe);
    for (i = 1; i <= 10000; i++) {
        vhu_device_input(fe.dev, &g, sizeof g, NULL, 0);
        if (vhu_device_is_broken(fe.dev)) {
            break;
        }
        vhu_device_output(fe.dev, &n);
        CHECK(n == 20 * i, "%zu bytes waiting after %u requests", n, i);
    }
    CHECK(i == 3277, "broke at request %u", i);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

/* Returns the bytes malloc() has handed out, mmap()ed blocks included. */
static size_t
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

/* A frontend that reads its replies only in part, again and again (one
 * byte fewer than it gets each time), keeps only what it left unread
 * waiting: the buffer does not grow with what was sent. */
static void
test_replies_read_in_part(void)
{
    struct vhu_msg_header g = { VHU_REQ_GET_FEATURES, VHU_VERSION, 0 };
    size_t heap_before;
    struct fe fe;
    size_t n;

    fresh(&fe);
    heap_before = heap_in_use();
    for (unsigned int i = 0; i < 10000; i++) {
        CHECK(!vhu_device_input(fe.dev, &g, sizeof g, NULL, 0), "input");
        CHECK(!vhu_device_input(fe.dev, &g, sizeof g, NULL, 0), "input");
        vhu_device_output(fe.dev, &n);
        vhu_device_output_done(fe.dev, 2 * 20 - 1);
    }
    vhu_device_output(fe.dev, &n);
    CHECK(n == 10000, "%zu bytes waiting", n);
    CHECK(heap_in_use() - heap_before < 64 * 1024,
          "the heap grew by %zu bytes", heap_in_use() - heap_before);
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_destroy(&fe);
}

/* Messages fed one byte at a time, fds with the first byte. */
static void
test_byte_by_byte(void)
{
    struct vhu_msg_header g = { VHU_REQ_GET_FEATURES, VHU_VERSION, 0 };
    struct vhu_msg_header h = {
        VHU_REQ_SET_MEM_TABLE, VHU_VERSION,
        8 + sizeof(struct vhu_mem_region),
    };
    struct vhu_mem_table t;
    uint8_t m[sizeof h + sizeof t];
    uint8_t p[64];
    uint32_t req, size;
    struct fe fe;
    int fd;

    fresh(&fe);
    for (size_t i = 0; i < sizeof g; i++) {
        CHECK(!vhu_device_input(fe.dev, (uint8_t *) &g + i, 1, NULL, 0),
              "input");
        if (i + 1 < sizeof g) {
            fe_expect_no_reply(&fe);
        }
    }
    CHECK(fe_recv(&fe, &req, p, &size) && req == VHU_REQ_GET_FEATURES
          && size == 8, "reply");

    memset(&t, 0, sizeof t);
    t.nregions = 1;
    t.regions[0].memory_size = GUEST_SIZE;
    t.regions[0].userspace_addr = UVA_BASE;
    memcpy(m, &h, sizeof h);
    memcpy(m + sizeof h, &t, sizeof t);
    fd = dup(fe.memfd);
    for (size_t i = 0; i < sizeof h + h.size; i++) {
        CHECK(!vhu_device_input(fe.dev, m + i, 1, i ? NULL : &fd,
                                i ? 0 : 1), "input");
    }
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_add_region(&fe, 0, GUEST_SIZE, 0);
    fe.features = VHU_BIT(VHU_VIRTIO_F_VERSION_1);
    fe_send_u64(&fe, VHU_REQ_SET_FEATURES, fe.features);
    fe_setup_vring(&fe, 0, 64);
    fe_setup_vring(&fe, 1, 64);
    CHECK(vhu_rx_ready(fe.dev, 0) && vhu_tx_ready(fe.dev, 0), "not ready");
    fe_destroy(&fe);
}

/* Two messages in one input, the fds belonging to the first. */
static void
test_two_messages_one_input(void)
{
    struct vhu_msg_header h1 = { VHU_REQ_SET_VRING_CALL, VHU_VERSION, 8 };
    struct vhu_msg_header h2 = { VHU_REQ_GET_FEATURES, VHU_VERSION, 0 };
    struct vhu_vring_info info;
    uint64_t index = 1;
    uint8_t m[2 * sizeof h1 + 8];
    uint8_t p[64];
    uint32_t req, size;
    struct fe fe;
    int fd = eventfd(0, 0);

    fresh(&fe);
    memcpy(m, &h1, sizeof h1);
    memcpy(m + sizeof h1, &index, 8);
    memcpy(m + sizeof h1 + 8, &h2, sizeof h2);
    CHECK(!vhu_device_input(fe.dev, m, sizeof m, &fd, 1), "input");
    CHECK(fe_recv(&fe, &req, p, &size) && req == VHU_REQ_GET_FEATURES,
          "reply");
    vhu_device_vring_info(fe.dev, 1, &info);
    CHECK(info.call_fd == fd, "call fd not taken");
    fe_destroy(&fe);
}

static void
expect_break_state(uint32_t request, uint32_t index, uint32_t num)
{
    struct fe fe;

    fe_setup(&fe, &no_rings_opts);
    fe_send_state(&fe, request, index, num);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_vring_index_out_of_range(void)
{
    /* max_queue_pairs is 2: vrings 0..3. */
    expect_break_state(VHU_REQ_SET_VRING_NUM, 4, 256);
}

static void
test_vring_index_max(void)
{
    expect_break_state(VHU_REQ_SET_VRING_NUM, VHU_MAX_VRINGS, 256);
}

static void
test_vring_index_huge(void)
{
    expect_break_state(VHU_REQ_SET_VRING_BASE, UINT32_MAX, 0);
}

static void
test_get_vring_base_index(void)
{
    expect_break_state(VHU_REQ_GET_VRING_BASE, 4, 0);
}

static void
test_vring_enable_index(void)
{
    expect_break_state(VHU_REQ_SET_VRING_ENABLE, 4, 1);
}

static void
test_vring_num_zero(void)
{
    expect_break_state(VHU_REQ_SET_VRING_NUM, 0, 0);
}

static void
test_vring_num_not_pow2(void)
{
    expect_break_state(VHU_REQ_SET_VRING_NUM, 0, 100);
}

static void
test_vring_num_too_big(void)
{
    expect_break_state(VHU_REQ_SET_VRING_NUM, 0, 65536);
}

static void
test_vring_base_too_big(void)
{
    expect_break_state(VHU_REQ_SET_VRING_BASE, 0, 65536);
}

static void
test_vring_enable_bad_value(void)
{
    expect_break_state(VHU_REQ_SET_VRING_ENABLE, 0, 2);
}

/* Sends SET_VRING_ADDR for vring 0 (size 256 set first) with 'a'
 * modified by the caller, and expects the device broken. */
static void
expect_break_addr(uint64_t desc, uint64_t avail, uint64_t used,
                  uint32_t flags)
{
    struct vhu_vring_addr a = {
        .index = 0, .flags = flags,
        .desc = desc, .avail = avail, .used = used,
    };
    struct fe fe;

    fe_setup(&fe, &no_rings_opts);
    CHECK(!fe_send_state(&fe, VHU_REQ_SET_VRING_NUM, 0, 256), "num");
    fe_send(&fe, VHU_REQ_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

#define GOOD_DESC  (UVA_BASE + RING_BASE)
#define GOOD_AVAIL (UVA_BASE + RING_BASE + 0x2000)
#define GOOD_USED  (UVA_BASE + RING_BASE + 0x3000)

static void
test_vring_addr_desc_misaligned(void)
{
    expect_break_addr(GOOD_DESC + 8, GOOD_AVAIL, GOOD_USED, 0);
}

static void
test_vring_addr_avail_misaligned(void)
{
    expect_break_addr(GOOD_DESC, GOOD_AVAIL + 1, GOOD_USED, 0);
}

static void
test_vring_addr_used_misaligned(void)
{
    expect_break_addr(GOOD_DESC, GOOD_AVAIL, GOOD_USED + 2, 0);
}

static void
test_vring_addr_unmapped(void)
{
    expect_break_addr(UVA_BASE + GUEST_SIZE + 0x1000, GOOD_AVAIL, GOOD_USED,
                      0);
}

static void
test_vring_addr_past_end(void)
{
    /* The used ring (2054 bytes) starts 1024 bytes before the end. */
    expect_break_addr(GOOD_DESC, GOOD_AVAIL, UVA_BASE + GUEST_SIZE - 1024,
                      0);
}

static void
test_vring_addr_bad_flags(void)
{
    expect_break_addr(GOOD_DESC, GOOD_AVAIL, GOOD_USED, 2);
}

/* Addresses sent before the memory table are checked when the ring
 * starts: outside the table's memory, the ring waits (not live) for a table
 * that maps it, and the device is not broken. */
static void
test_vring_addr_unmapped_at_kick(void)
{
    struct vhu_vring_addr a = {
        .index = 0, .desc = UVA_BASE + GUEST_SIZE + 0x1000,
        .avail = GOOD_AVAIL, .used = GOOD_USED,
    };
    struct fe fe;
    int fd = eventfd(0, 0);

    fresh(&fe);
    fe_add_region(&fe, 0, GUEST_SIZE, 0);
    CHECK(!fe_send_state(&fe, VHU_REQ_SET_VRING_NUM, 0, 256), "num");
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0),
          "addr");
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_KICK, 0, &(uint64_t) { 0 }, 8,
                   &fd, 1), "kick");
    CHECK(!vhu_device_is_broken(fe.dev), "broken without memory");
    fe_send_mem_table(&fe);
    CHECK(!vhu_device_is_broken(fe.dev), "broken by memory that does not "
          "map a ring");
    CHECK(!vhu_tx_ready(fe.dev, 0), "ring ready outside memory");
    fe_destroy(&fe);
}

static void
expect_break_vring_fd(uint32_t request, uint64_t payload, int n_fds)
{
    struct fe fe;
    int fd = eventfd(0, 0);

    fe_setup(&fe, &no_rings_opts);
    fe_send(&fe, request, 0, &payload, 8, &fd, n_fds);
    if (!n_fds) {
        close(fd);
    }
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_kick_nofd_with_fd(void)
{
    expect_break_vring_fd(VHU_REQ_SET_VRING_KICK, VHU_VRING_NOFD_MASK, 1);
}

static void
test_kick_missing_fd(void)
{
    expect_break_vring_fd(VHU_REQ_SET_VRING_KICK, 0, 0);
}

static void
test_kick_bad_bits(void)
{
    expect_break_vring_fd(VHU_REQ_SET_VRING_KICK, 1 << 9, 1);
}

static void
test_kick_index(void)
{
    expect_break_vring_fd(VHU_REQ_SET_VRING_KICK, 4, 1);
}

static void
test_call_missing_fd(void)
{
    expect_break_vring_fd(VHU_REQ_SET_VRING_CALL, 1, 0);
}

static void
test_err_index(void)
{
    expect_break_vring_fd(VHU_REQ_SET_VRING_ERR, 0xff, 1);
}

static void
test_set_status_bad(void)
{
    struct fe fe;

    fe_setup(&fe, &no_rings_opts);
    fe_send_u64(&fe, VHU_REQ_SET_STATUS, 0x100);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

/* A full set-up: state queries. */
static void
test_full_setup(void)
{
    struct fe_opts opts = base_opts;
    struct vhu_vring_info info;
    uint64_t seq;
    struct fe fe;

    opts.n_qp = 2;
    fe_setup(&fe, &opts);
    seq = vhu_device_change_seq(fe.dev);
    CHECK(!fe_send_u64(&fe, VHU_REQ_SET_FEATURES, F_BASE
                       | VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF)), "features");
    CHECK(vhu_device_change_seq(fe.dev) != seq, "change_seq unchanged");
    CHECK(vhu_device_n_queue_pairs(fe.dev) == 2, "n_queue_pairs %u",
          vhu_device_n_queue_pairs(fe.dev));
    CHECK(vhu_device_is_running(fe.dev), "not running");
    for (unsigned int qp = 0; qp < 2; qp++) {
        CHECK(vhu_rx_ready(fe.dev, qp) && vhu_tx_ready(fe.dev, qp),
              "qp %u not ready", qp);
    }
    CHECK(!vhu_rx_ready(fe.dev, 2), "qp 2 ready");
    vhu_device_vring_info(fe.dev, 1, &info);
    CHECK(info.configured && info.started && info.enabled && !info.broken
          && info.size == 256 && info.kick_fd >= 0 && info.call_fd >= 0,
          "vring info");
    vhu_device_vring_info(fe.dev, 4, &info);
    CHECK(!info.configured && info.kick_fd == -1, "vring 4 info");
    fe_destroy(&fe);
}

/* With PROTOCOL_FEATURES, rings start disabled; without, enabled. */
static void
test_ring_starts_disabled(void)
{
    struct fe fe;
    int fd;

    fe_setup(&fe, &no_rings_opts);
    fe.features = 0;            /* Keep fe_setup_vring from enabling. */
    fe_setup_vring(&fe, 0, 64);
    fe_setup_vring(&fe, 1, 64);
    CHECK(!vhu_rx_ready(fe.dev, 0) && !vhu_tx_ready(fe.dev, 0),
          "ready while disabled");
    CHECK(!fe_send_state(&fe, VHU_REQ_SET_VRING_ENABLE, 1, 1), "enable");
    CHECK(vhu_rx_ready(fe.dev, 0) && !vhu_tx_ready(fe.dev, 0),
          "enable 1 only");
    CHECK(!fe_send_state(&fe, VHU_REQ_SET_VRING_ENABLE, 1, 0), "disable");
    CHECK(!vhu_rx_ready(fe.dev, 0), "still ready");
    CHECK(vhu_device_wants_grace(fe.dev), "no grace after disable");
    fe_grace(&fe);
    fe_destroy(&fe);

    /* Without PROTOCOL_FEATURES: enabled at kick; NOFD kick works. */
    fe_init(&fe, 1);
    fe_add_region(&fe, 0, GUEST_SIZE, 0);
    fe_send_u64(&fe, VHU_REQ_SET_FEATURES, VHU_BIT(VHU_VIRTIO_F_VERSION_1));
    fe_send_mem_table(&fe);
    fe_setup_vring(&fe, 1, 64);
    CHECK(vhu_rx_ready(fe.dev, 0), "not enabled without protocol features");
    fe_send_state(&fe, VHU_REQ_SET_VRING_NUM, 0, 64);
    {
        struct vhu_vring_addr a = {
            .index = 0, .desc = GOOD_DESC, .avail = GOOD_AVAIL,
            .used = GOOD_USED,
        };
        fe_send(&fe, VHU_REQ_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0);
    }
    CHECK(!vhu_tx_ready(fe.dev, 0), "ready before kick");
    fd = -1;
    fe_send(&fe, VHU_REQ_SET_VRING_KICK, 0,
            &(uint64_t) { VHU_VRING_NOFD_MASK }, 8, &fd, 0);
    CHECK(vhu_tx_ready(fe.dev, 0), "not ready after NOFD kick");
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_destroy(&fe);
}

/* GET_VRING_BASE: reply after the grace period, input meanwhile waits. */
static void
test_get_vring_base_deferred(void)
{
    struct vhu_vring_state s;
    uint8_t frame[60] = { 1, 2, 3 };
    struct test_pkt *pkts[4];
    uint32_t req, size;
    struct fe fe;
    int n;

    fe_setup(&fe, &base_opts);
    for (int i = 0; i < 3; i++) {
        fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE + i * 0x1000, 12);
    }
    n = fe_dequeue(&fe, 0, pkts, 4);
    CHECK(n == 3, "dequeued %d", n);
    for (int i = 0; i < n; i++) {
        free(pkts[i]);
    }

    CHECK(!fe_send_state(&fe, VHU_REQ_GET_VRING_BASE, 1, 0), "send");
    fe_expect_no_reply(&fe);
    CHECK(vhu_device_wants_grace(fe.dev), "no grace wanted");
    CHECK(!vhu_rx_ready(fe.dev, 0), "ring still ready");
    CHECK(fe_dequeue(&fe, 0, pkts, 4) == 0, "dequeue on a stopped ring");

    /* Buffered meanwhile. */
    CHECK(!fe_send(&fe, VHU_REQ_SET_OWNER, VHU_VERSION | VHU_FLAG_NEED_REPLY,
                   NULL, 0, NULL, 0), "send");
    fe_expect_no_reply(&fe);

    vhu_device_grace_done(fe.dev);
    CHECK(fe_recv(&fe, &req, &s, &size), "no reply after grace");
    CHECK(req == VHU_REQ_GET_VRING_BASE && size == sizeof s
          && s.index == 1 && s.num == 3, "reply %"PRIu32" index %"PRIu32
          " num %"PRIu32, req, s.index, s.num);
    CHECK(fe_expect_ack(&fe, VHU_REQ_SET_OWNER) == 0, "ack");
    CHECK(!vhu_rx_ready(fe.dev, 0), "ring restarted");

    /* Restart with SET_VRING_BASE and a kick. */
    fe_restart_vring(&fe, 1, 3);
    CHECK(vhu_rx_ready(fe.dev, 0), "not restarted");
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    n = fe_dequeue(&fe, 0, pkts, 4);
    CHECK(n == 1, "dequeued %d after restart", n);
    free(pkts[0]);
    fe_destroy(&fe);
}

/* GET_VRING_BASE on a ring never started replies at once. */
static void
test_get_vring_base_stopped(void)
{
    struct vhu_vring_state s;
    uint32_t req, size;
    struct fe fe;

    fe_setup(&fe, &no_rings_opts);
    CHECK(!fe_send_state(&fe, VHU_REQ_SET_VRING_BASE, 2, 77), "base");
    CHECK(!fe_send_state(&fe, VHU_REQ_GET_VRING_BASE, 2, 0), "get");
    CHECK(fe_recv(&fe, &req, &s, &size) && s.index == 2 && s.num == 77,
          "reply");
    fe_destroy(&fe);
}

/* Reconnection without SET_VRING_BASE resumes at the last index. */
static void
test_disconnect_resume(void)
{
    uint8_t frame[60] = { 1, 2, 3 };
    struct vhu_vring_addr a;
    struct test_pkt *pkts[4];
    struct fe fe;
    int n, fd;

    fe_setup(&fe, &base_opts);
    for (int i = 0; i < 3; i++) {
        fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE + i * 0x1000, 12);
    }
    n = fe_dequeue(&fe, 0, pkts, 4);
    CHECK(n == 3, "dequeued %d", n);
    for (int i = 0; i < n; i++) {
        free(pkts[i]);
    }

    vhu_device_disconnect(fe.dev);
    CHECK(!vhu_rx_ready(fe.dev, 0), "ready after disconnect");
    CHECK(vhu_device_wants_grace(fe.dev), "no grace");
    CHECK(vhu_device_n_queue_pairs(fe.dev) == 0, "queue pairs");
    fe_grace(&fe);
    CHECK(vhu_device_features(fe.dev) == 0, "features kept");

    /* A new connection: no SET_VRING_BASE. */
    fe_send_u64(&fe, VHU_REQ_SET_FEATURES, VHU_BIT(VHU_VIRTIO_F_VERSION_1));
    fe_send_mem_table(&fe);
    fe_send_state(&fe, VHU_REQ_SET_VRING_NUM, 1, 256);
    memset(&a, 0, sizeof a);
    a.index = 1;
    a.desc = UVA_BASE + fe.vrings[1].desc_gpa;
    a.avail = UVA_BASE + fe.vrings[1].avail_gpa;
    a.used = UVA_BASE + fe.vrings[1].used_gpa;
    fe_send(&fe, VHU_REQ_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0);
    fd = dup(fe.vrings[1].kick_fd);
    fe_send(&fe, VHU_REQ_SET_VRING_KICK, 0, &(uint64_t) { 1 }, 8, &fd, 1);
    CHECK(vhu_rx_ready(fe.dev, 0), "not ready after reconnection");

    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    n = fe_dequeue(&fe, 0, pkts, 4);
    CHECK(n == 1, "dequeued %d after reconnection (expected 1)", n);
    free(pkts[0]);
    fe_destroy(&fe);
}

/* Disconnect of a broken device makes it usable again. */
static void
test_disconnect_after_broken(void)
{
    struct fe fe;

    fe_setup(&fe, &base_opts);
    fe_send(&fe, VHU_REQ_GET_FEATURES, 2, NULL, 0, NULL, 0);
    fe_expect_broken(&fe);
    vhu_device_disconnect(fe.dev);
    fe_grace(&fe);
    CHECK(!vhu_device_is_broken(fe.dev), "still broken");
    CHECK(fe_get_u64(&fe, VHU_REQ_GET_FEATURES) != 0, "features");
    fe_destroy(&fe);
}

static void
test_send_rarp(void)
{
    uint8_t mac[6], want[8] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
    struct fe fe;
    uint64_t seq;

    fe_setup(&fe, &no_rings_opts);
    CHECK(!vhu_device_take_rarp(fe.dev, mac), "rarp before SEND_RARP");
    seq = vhu_device_change_seq(fe.dev);
    CHECK(!fe_send(&fe, VHU_REQ_SEND_RARP, 0, want, 8, NULL, 0), "send");
    CHECK(vhu_device_change_seq(fe.dev) != seq, "seq unchanged");
    CHECK(vhu_device_take_rarp(fe.dev, mac) && !memcmp(mac, want, 6),
          "mac");
    CHECK(!vhu_device_take_rarp(fe.dev, mac), "rarp taken twice");
    fe_destroy(&fe);
}

static void
test_status(void)
{
    struct fe_opts opts = base_opts;
    struct fe fe;

    opts.protocol_features |= VHU_BIT(VHU_PROTOCOL_F_STATUS);
    fe_setup(&fe, &opts);
    CHECK(!fe_send_u64(&fe, VHU_REQ_SET_STATUS, VHU_STATUS_ACKNOWLEDGE
                       | VHU_STATUS_DRIVER | VHU_STATUS_FEATURES_OK),
          "set");
    CHECK(fe_get_u64(&fe, VHU_REQ_GET_STATUS) == 0xb, "get");
    CHECK(!vhu_device_is_running(fe.dev), "running without DRIVER_OK");
    fe_send_u64(&fe, VHU_REQ_SET_STATUS, 0xf);
    CHECK(vhu_device_is_running(fe.dev), "not running with DRIVER_OK");
    fe_destroy(&fe);
}

/* RESET_OWNER stops the rings. */
static void
test_reset_owner(void)
{
    struct fe fe;

    fe_setup(&fe, &base_opts);
    CHECK(vhu_rx_ready(fe.dev, 0), "not ready");
    CHECK(!fe_send(&fe, VHU_REQ_RESET_OWNER, 0, NULL, 0, NULL, 0), "reset");
    CHECK(!vhu_rx_ready(fe.dev, 0) && !vhu_tx_ready(fe.dev, 0), "ready");
    CHECK(vhu_device_features(fe.dev) == 0, "features");
    fe_grace(&fe);
    CHECK(!vhu_rx_ready(fe.dev, 0), "restarted");
    fe_destroy(&fe);
}

/* A call fd replaced on a live ring: the old one closes after grace. */
static void
test_call_fd_replaced(void)
{
    struct vhu_vring_info info;
    struct fe fe;
    int fd = eventfd(0, 0);

    fe_setup(&fe, &base_opts);
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_CALL, 0, &(uint64_t) { 0 }, 8,
                   &fd, 1), "call");
    CHECK(vhu_tx_ready(fe.dev, 0), "ring stopped by a call fd change");
    vhu_device_vring_info(fe.dev, 0, &info);
    CHECK(info.call_fd == fd, "call fd");
    fe_grace(&fe);
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_CALL, 0,
                   &(uint64_t) { VHU_VRING_NOFD_MASK }, 8, NULL, 0), "nofd");
    vhu_device_vring_info(fe.dev, 0, &info);
    CHECK(info.call_fd == -1, "call fd");
    fe_destroy(&fe);
}

/* SET_VRING_NUM on a live ring waits for a grace period. */
static void
test_live_ring_change(void)
{
    struct fe fe;

    fe_setup(&fe, &base_opts);
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_NUM,
                   VHU_VERSION | VHU_FLAG_NEED_REPLY,
                   &(struct vhu_vring_state) { 0, 128 }, 8, NULL, 0), "num");
    fe_expect_no_reply(&fe);
    CHECK(!vhu_tx_ready(fe.dev, 0), "still live");
    CHECK(vhu_device_wants_grace(fe.dev), "no grace wanted");
    vhu_device_grace_done(fe.dev);
    CHECK(fe_expect_ack(&fe, VHU_REQ_SET_VRING_NUM) == 0, "ack");
    CHECK(vhu_tx_ready(fe.dev, 0), "not republished");
    {
        struct vhu_vring_info info;
        vhu_device_vring_info(fe.dev, 0, &info);
        CHECK(info.size == 128, "size %u", info.size);
    }
    fe_destroy(&fe);
}

const struct test message_tests[] = {
    { "features-offered", test_features_offered },
    { "features-unoffered", test_features_unoffered },
    { "features-access-platform", test_features_access_platform },
    { "protocol-features-unoffered", test_protocol_features_unoffered },
    { "reply-ack", test_reply_ack },
    { "no-reply-ack", test_no_reply_ack },
    { "unknown-request", test_unknown_request },
    { "unknown-request-fd", test_unknown_request_fd },
    { "bad-version", test_bad_version },
    { "payload-too-large", test_payload_too_large },
    { "payload-wrong-size", test_payload_wrong_size },
    { "get-features-with-payload", test_get_features_payload },
    { "unexpected-fd", test_unexpected_fd },
    { "too-many-fds", test_too_many_fds },
    { "input-after-broken", test_input_after_broken },
    { "byte-by-byte", test_byte_by_byte },
    { "two-messages-one-input", test_two_messages_one_input },
    { "replies-unread", test_replies_unread },
    { "replies-read-in-part", test_replies_read_in_part },
    { "vring-index-out-of-range", test_vring_index_out_of_range },
    { "vring-index-max", test_vring_index_max },
    { "vring-index-huge", test_vring_index_huge },
    { "get-vring-base-bad-index", test_get_vring_base_index },
    { "vring-enable-bad-index", test_vring_enable_index },
    { "vring-num-zero", test_vring_num_zero },
    { "vring-num-not-pow2", test_vring_num_not_pow2 },
    { "vring-num-too-big", test_vring_num_too_big },
    { "vring-base-too-big", test_vring_base_too_big },
    { "vring-enable-bad-value", test_vring_enable_bad_value },
    { "vring-addr-desc-misaligned", test_vring_addr_desc_misaligned },
    { "vring-addr-avail-misaligned", test_vring_addr_avail_misaligned },
    { "vring-addr-used-misaligned", test_vring_addr_used_misaligned },
    { "vring-addr-unmapped", test_vring_addr_unmapped },
    { "vring-addr-past-end", test_vring_addr_past_end },
    { "vring-addr-bad-flags", test_vring_addr_bad_flags },
    { "vring-addr-unmapped-at-start", test_vring_addr_unmapped_at_kick },
    { "kick-nofd-with-fd", test_kick_nofd_with_fd },
    { "kick-missing-fd", test_kick_missing_fd },
    { "kick-bad-bits", test_kick_bad_bits },
    { "kick-bad-index", test_kick_index },
    { "call-missing-fd", test_call_missing_fd },
    { "err-bad-index", test_err_index },
    { "set-status-bad", test_set_status_bad },
    { "full-setup", test_full_setup },
    { "ring-starts-disabled", test_ring_starts_disabled },
    { "get-vring-base-deferred", test_get_vring_base_deferred },
    { "get-vring-base-stopped", test_get_vring_base_stopped },
    { "disconnect-resume", test_disconnect_resume },
    { "disconnect-after-broken", test_disconnect_after_broken },
    { "send-rarp", test_send_rarp },
    { "status", test_status },
    { "reset-owner", test_reset_owner },
    { "call-fd-replaced", test_call_fd_replaced },
    { "live-ring-change", test_live_ring_change },
    { NULL, NULL },
};
