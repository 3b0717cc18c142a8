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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1            /* memfd_create(). */
#endif
#include "test-datapath.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Tests of dirty page logging (LOG_ALL, SET_LOG_BASE). */

#define F_LOG (VHU_BIT(VHU_VIRTIO_F_VERSION_1) \
               | VHU_BIT(VHU_F_PROTOCOL_FEATURES) \
               | VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF) \
               | VHU_BIT(VHU_F_LOG_ALL))
#define PF_LOG (VHU_BIT(VHU_PROTOCOL_F_LOG_SHMFD) \
                | VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK))

/* Bitmap bytes for GUEST_SIZE. */
#define LOG_BYTES (GUEST_SIZE / VHU_LOG_PAGE_SIZE / 8)
#define LOG_OFFSET 0x100        /* Where in the log file the bitmap is. */

struct log {
    int fd;
    uint8_t *map;               /* Whole file. */
    uint8_t *bits;              /* map + LOG_OFFSET. */
};

static void
log_create(struct log *l)
{
    l->fd = memfd_create("log", MFD_CLOEXEC);
    CHECK(l->fd >= 0, "memfd: %s", strerror(errno));
    CHECK(!ftruncate(l->fd, 4096), "ftruncate");
    l->map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, 0);
    CHECK(l->map != MAP_FAILED, "mmap");
    l->bits = l->map + LOG_OFFSET;
}

static void
log_destroy(struct log *l)
{
    munmap(l->map, 4096);
    close(l->fd);
}

/* Sends SET_LOG_BASE for 'size' bytes at 'offset' of 'l'. */
static int
send_log_base(struct fe *fe, struct log *l, uint64_t size, uint64_t offset,
              size_t n_fds)
{
    struct vhu_log m = { .mmap_size = size, .mmap_offset = offset };
    int fd = dup(l->fd);
    int error;

    error = fe_send(fe, VHU_REQ_SET_LOG_BASE, 0, &m, sizeof m, &fd, n_fds);
    if (!n_fds) {
        close(fd);
    }
    return error;
}

/* Sets up one queue pair with logging and a log in place. */
static void
setup(struct fe *fe, struct log *l, uint64_t features)
{
    struct fe_opts opts = {
        .features = features, .protocol_features = PF_LOG, .n_qp = 1,
    };
    uint8_t payload[64];
    uint32_t req, size;

    fe_setup(fe, &opts);
    log_create(l);
    CHECK(!send_log_base(fe, l, LOG_BYTES, LOG_OFFSET, 1), "SET_LOG_BASE");
    fe_grace(fe);
    CHECK(fe_recv(fe, &req, payload, &size), "no reply to SET_LOG_BASE");
    CHECK(req == VHU_REQ_SET_LOG_BASE && size == 0, "reply %"PRIu32
          " size %"PRIu32, req, size);
}

/* Checks that exactly the pages in 'pages' (terminated by -1) are dirty,
 * then clears the log. */
static void
expect_dirty(struct log *l, const long *pages)
{
    uint8_t want[LOG_BYTES];

    memset(want, 0, sizeof want);
    for (; *pages >= 0; pages++) {
        want[*pages / 8] |= 1u << (*pages % 8);
    }
    for (size_t i = 0; i < LOG_BYTES; i++) {
        CHECK(l->bits[i] == want[i], "log byte %zu (pages %zu..%zu) is 0x%02x,"
              " expected 0x%02x", i, i * 8, i * 8 + 7, l->bits[i], want[i]);
    }
    CHECK(l->map[LOG_OFFSET - 1] == 0
          && l->map[LOG_OFFSET + LOG_BYTES] == 0, "wrote outside the log");
    memset(l->bits, 0, LOG_BYTES);
}

#define PAGE(GPA) ((long) ((GPA) / VHU_LOG_PAGE_SIZE))

/* The page where vring 'i' gets its used elements: a packed ring's used
 * descriptors are in its descriptor ring (the first page of it, as long
 * as the tests use fewer than 256 slots). */
static long
used_page(const struct fe *fe, unsigned int i)
{
    return PAGE(fe->packed ? fe->vrings[i].desc_gpa
                : fe->vrings[i].used_gpa);
}

/* Receive: the buffer pages written and the used ring page. */
static void
test_log_rx(void)
{
    uint8_t frame[5000];
    struct vhu_frame f = { frame, sizeof frame };
    uint64_t buf = BUF_BASE + 0x3000 - 100;     /* Spans pages. */
    struct log l;
    struct fe fe;

    setup(&fe, &l, F_LOG);
    fill_pattern(frame, sizeof frame, 1);
    fe_post_rx(&fe, 0, buf, 8192);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    {
        /* 5012 bytes from buf: pages of buf .. buf + 5011. */
        long pages[] = {
            PAGE(buf), PAGE(buf) + 1, PAGE(buf + 5011),
            used_page(&fe, 0), -1,
        };
        expect_dirty(&l, pages);
    }
    fe_destroy(&fe);
    log_destroy(&l);
}

/* Transmit: only the used ring is written. */
static void
test_log_tx(void)
{
    uint8_t frame[100] = { 1 };
    struct test_pkt *pkt;
    struct log l;
    struct fe fe;

    setup(&fe, &l, F_LOG);
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 1, "dequeue");
    free(pkt);
    {
        long pages[] = { used_page(&fe, 1), -1 };
        expect_dirty(&l, pages);
    }
    fe_destroy(&fe);
    log_destroy(&l);
}

/* Without VHU_VRING_F_LOG the used ring is not logged. */
static void
test_log_no_ring_flag(void)
{
    uint8_t frame[100] = { 1 };
    struct vhu_frame f = { frame, sizeof frame };
    struct vhu_vring_addr a;
    struct log l;
    struct fe fe;

    setup(&fe, &l, F_LOG);
    memset(&a, 0, sizeof a);
    a.index = 0;
    a.desc = UVA_BASE + fe.vrings[0].desc_gpa;
    a.avail = UVA_BASE + fe.vrings[0].avail_gpa;
    a.used = UVA_BASE + fe.vrings[0].used_gpa;
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0),
          "addr");
    fe_grace(&fe);
    CHECK(vhu_tx_ready(fe.dev, 0), "not ready");
    fe_post_rx(&fe, 0, BUF_BASE + 0x5000, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    {
        long pages[] = { PAGE(BUF_BASE + 0x5000), -1 };
        expect_dirty(&l, pages);
    }
    fe_destroy(&fe);
    log_destroy(&l);
}

/* Without LOG_ALL negotiated nothing is logged. */
static void
test_log_not_negotiated(void)
{
    uint8_t frame[100] = { 1 };
    struct vhu_frame f = { frame, sizeof frame };
    struct log l;
    struct fe fe;
    long none[] = { -1 };

    setup(&fe, &l, F_LOG & ~VHU_BIT(VHU_F_LOG_ALL));
    fe_post_rx(&fe, 0, BUF_BASE, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    expect_dirty(&l, none);

    /* Turning LOG_ALL on at run time (migration starts). */
    fe_send_u64(&fe, VHU_REQ_SET_FEATURES, F_LOG);
    fe_post_rx(&fe, 0, BUF_BASE + 0x9000, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    {
        long pages[] = { PAGE(BUF_BASE + 0x9000), -1 };

        /* The ring was set up without VHU_VRING_F_LOG. */
        expect_dirty(&l, pages);
    }
    fe_destroy(&fe);
    log_destroy(&l);
}

/* Writes beyond the log's end are not logged (nor crash). */
static void
test_log_small(void)
{
    struct fe_opts opts = {
        .features = F_LOG, .protocol_features = PF_LOG, .n_qp = 1,
    };
    uint8_t frame[100] = { 1 };
    struct vhu_frame f = { frame, sizeof frame };
    struct log l;
    struct fe fe;

    fe_setup(&fe, &opts);
    log_create(&l);
    /* One byte: pages 0..7 only. */
    CHECK(!send_log_base(&fe, &l, 1, LOG_OFFSET, 1), "SET_LOG_BASE");
    fe_grace(&fe);
    fe_post_rx(&fe, 0, BUF_BASE, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    CHECK(l.bits[0] == 0 && l.bits[1] == 0, "logged beyond the log");
    fe_destroy(&fe);
    log_destroy(&l);
}

/* A second SET_LOG_BASE replies after the grace period. */
static void
test_log_replace(void)
{
    uint8_t payload[64];
    uint32_t req, size;
    struct log l;
    struct fe fe;

    setup(&fe, &l, F_LOG);
    CHECK(!send_log_base(&fe, &l, LOG_BYTES, 0, 1), "SET_LOG_BASE");
    fe_expect_no_reply(&fe);
    CHECK(vhu_device_wants_grace(fe.dev), "no grace");
    vhu_device_grace_done(fe.dev);
    CHECK(fe_recv(&fe, &req, payload, &size)
          && req == VHU_REQ_SET_LOG_BASE, "no reply");
    fe_destroy(&fe);
    log_destroy(&l);
}

static void
expect_bad_log(uint64_t size, uint64_t offset, size_t n_fds)
{
    struct fe_opts opts = {
        .features = F_LOG, .protocol_features = PF_LOG, .n_qp = 1,
    };
    struct log l;
    struct fe fe;

    fe_setup(&fe, &opts);
    log_create(&l);
    send_log_base(&fe, &l, size, offset, n_fds);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
    log_destroy(&l);
}

static void
test_log_beyond_file(void)
{
    expect_bad_log(4096, 1, 1);
}

static void
test_log_zero_size(void)
{
    expect_bad_log(0, 0, 1);
}

static void
test_log_offset_wrap(void)
{
    expect_bad_log(4096, UINT64_MAX - 100, 1);
}

static void
test_log_no_fd(void)
{
    expect_bad_log(LOG_BYTES, 0, 0);
}

/* One burst that dirties more bitmap bytes than the burst's cache holds:
 * every page is still logged. */
static void
test_log_many_bytes(void)
{
    enum { N = 28 };            /* Buffers 32 KB apart: a byte each. */
    struct vhu_frame f[N];
    uint8_t frame[60];
    long pages[N + 2];
    struct log l;
    struct fe fe;

    setup(&fe, &l, F_LOG);
    fill_pattern(frame, sizeof frame, 3);
    for (int i = 0; i < N; i++) {
        fe_post_rx(&fe, 0, 0x20000 + i * 0x8000, 2048);
        f[i] = (struct vhu_frame) { frame, sizeof frame };
        pages[i] = PAGE(0x20000 + i * 0x8000);
    }
    pages[N] = used_page(&fe, 0);
    pages[N + 1] = -1;
    CHECK(vhu_enqueue_burst(fe.dev, 0, f, N) == N, "enqueue");
    expect_dirty(&l, pages);
    fe_destroy(&fe);
    log_destroy(&l);
}

/* SET_FEATURES that turns LOG_ALL on while rings are live: the frontend's
 * acknowledgement (REPLY_ACK), or the reply to its next request, waits for
 * the grace period, after which no burst that began unlogged is left. */
static void
test_log_all_after_grace(void)
{
    struct fe_opts opts = {
        .features = F_LOG & ~VHU_BIT(VHU_F_LOG_ALL),
        .protocol_features = PF_LOG, .n_qp = 1,
    };
    uint64_t features = F_LOG, ack;
    uint8_t payload[64];
    uint32_t req, size;
    struct fe fe;

    fe_setup(&fe, &opts);
    CHECK(vhu_tx_ready(fe.dev, 0), "ring not live");
    CHECK(!fe_send(&fe, VHU_REQ_SET_FEATURES, VHU_VERSION
                   | VHU_FLAG_NEED_REPLY, &features, sizeof features, NULL,
                   0), "SET_FEATURES");
    CHECK(!fe_recv(&fe, &req, payload, &size), "acknowledged at once");
    CHECK(vhu_device_wants_grace(fe.dev), "no grace period");
    vhu_device_grace_done(fe.dev);
    CHECK(fe_recv(&fe, &req, payload, &size), "no acknowledgement");
    memcpy(&ack, payload, sizeof ack);
    CHECK(req == VHU_REQ_SET_FEATURES && size == 8 && ack == 0,
          "reply %"PRIu32" size %"PRIu32, req, size);

    /* Off, and on again without REPLY_ACK: QEMU then sends GET_FEATURES as
     * a barrier, answered after the grace period. */
    features = F_LOG & ~VHU_BIT(VHU_F_LOG_ALL);
    CHECK(!fe_send_u64(&fe, VHU_REQ_SET_FEATURES, features), "off");
    fe_grace(&fe);
    features = F_LOG;
    CHECK(!fe_send_u64(&fe, VHU_REQ_SET_FEATURES, features), "on");
    CHECK(!fe_send(&fe, VHU_REQ_GET_FEATURES, 0, NULL, 0, NULL, 0), "get");
    CHECK(!fe_recv(&fe, &req, payload, &size), "GET_FEATURES answered "
          "before the grace period");
    vhu_device_grace_done(fe.dev);
    CHECK(fe_recv(&fe, &req, payload, &size) && req == VHU_REQ_GET_FEATURES,
          "no reply to GET_FEATURES");
    fe_destroy(&fe);
}

const struct test dirty_log_tests[] = {
    { "log-rx-pages", test_log_rx },
    { "log-tx-used-ring", test_log_tx },
    { "log-no-ring-flag", test_log_no_ring_flag },
    { "log-not-negotiated", test_log_not_negotiated },
    { "log-small", test_log_small },
    { "log-replace", test_log_replace },
    { "log-base-beyond-file", test_log_beyond_file },
    { "log-base-zero-size", test_log_zero_size },
    { "log-base-offset-wrap", test_log_offset_wrap },
    { "log-base-no-fd", test_log_no_fd },
    { "log-many-bytes", test_log_many_bytes },
    { "log-all-after-grace", test_log_all_after_grace },
    { NULL, NULL },
};
