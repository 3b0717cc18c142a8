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
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Tests of the memory table: SET_MEM_TABLE, ADD_MEM_REG, REM_MEM_REG and
 * translation. */

#define F_BASE (VHU_BIT(VHU_VIRTIO_F_VERSION_1) \
                | VHU_BIT(VHU_F_PROTOCOL_FEATURES))
#define PF_BASE (VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK) \
                 | VHU_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

/* Sends a SET_MEM_TABLE with 'n' regions 'r', payload 'size' bytes (0 for
 * the right size) and 'n_fds' fds of guest memory. */
static void
send_table(struct fe *fe, const struct vhu_mem_region *r, uint32_t n,
           uint32_t size, size_t n_fds)
{
    struct vhu_mem_table t;
    int fds[VHU_MSG_MAX_FDS];

    memset(&t, 0, sizeof t);
    t.nregions = n;
    memcpy(t.regions, r, (n < 8 ? n : 8) * sizeof *r);
    for (size_t i = 0; i < n_fds; i++) {
        fds[i] = dup(fe->memfd);
    }
    fe_send(fe, VHU_REQ_SET_MEM_TABLE, 0, &t,
            size ? size : 8 + (n < 8 ? n : 8) * sizeof *r, fds, n_fds);
}

/* Expects SET_MEM_TABLE with 'r' to break a fresh device. */
static void
expect_bad_table(const struct vhu_mem_region *r, uint32_t n)
{
    struct fe fe;

    fe_init(&fe, 1);
    send_table(&fe, r, n, 0, n < 8 ? n : 8);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

#define REGION(GPA, SIZE, UVA, OFS) { GPA, SIZE, UVA, OFS }

static void
test_overlap(void)
{
    struct vhu_mem_region r[2] = {
        REGION(0, 0x80000, UVA_BASE, 0),
        REGION(0x7f000, 0x80000, UVA_BASE + 0x100000, 0),
    };
    expect_bad_table(r, 2);
}

static void
test_overlap_uva(void)
{
    struct vhu_mem_region r[2] = {
        REGION(0, 0x80000, UVA_BASE, 0),
        REGION(0x100000, 0x40000, UVA_BASE + 0x1000, 0),
    };
    expect_bad_table(r, 2);
}

static void
test_zero_size(void)
{
    struct vhu_mem_region r[1] = { REGION(0, 0, UVA_BASE, 0) };
    expect_bad_table(r, 1);
}

static void
test_gpa_wrap(void)
{
    struct vhu_mem_region r[1] = {
        REGION(UINT64_MAX - 0xfff, 0x2000, UVA_BASE, 0),
    };
    expect_bad_table(r, 1);
}

static void
test_uva_wrap(void)
{
    struct vhu_mem_region r[1] = {
        REGION(0, 0x2000, UINT64_MAX - 0xfff, 0),
    };
    expect_bad_table(r, 1);
}

static void
test_offset_wrap(void)
{
    struct vhu_mem_region r[1] = {
        REGION(0, 0x2000, UVA_BASE, UINT64_MAX - 0xfff),
    };
    expect_bad_table(r, 1);
}

static void
test_beyond_file(void)
{
    struct vhu_mem_region r[1] = {
        REGION(0, GUEST_SIZE, UVA_BASE, 0x1000),
    };
    expect_bad_table(r, 1);
}

static void
test_zero_regions(void)
{
    expect_bad_table(NULL, 0);
}

static void
test_too_many_regions(void)
{
    struct vhu_mem_region r[8];
    struct fe fe;

    for (int i = 0; i < 8; i++) {
        struct vhu_mem_region x = REGION(i * 0x10000, 0x10000,
                                         UVA_BASE + i * 0x10000,
                                         i * 0x10000);
        r[i] = x;
    }
    fe_init(&fe, 1);
    send_table(&fe, r, 9, 8 + 8 * sizeof r[0], 8);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_fd_mismatch(void)
{
    struct vhu_mem_region r[2] = {
        REGION(0, 0x80000, UVA_BASE, 0),
        REGION(0x80000, 0x80000, UVA_BASE + 0x80000, 0x80000),
    };
    struct fe fe;

    fe_init(&fe, 1);
    send_table(&fe, r, 2, 0, 1);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_short_payload(void)
{
    struct vhu_mem_region r[2] = {
        REGION(0, 0x80000, UVA_BASE, 0),
        REGION(0x80000, 0x80000, UVA_BASE + 0x80000, 0x80000),
    };
    struct fe fe;

    fe_init(&fe, 1);
    send_table(&fe, r, 2, 8 + sizeof r[0], 2);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_bad_fd(void)
{
    struct vhu_mem_table t = { .nregions = 1 };
    struct fe fe;

    fe_init(&fe, 1);
    t.regions[0].memory_size = 0x1000;
    t.regions[0].userspace_addr = UVA_BASE;
    {
        int fds[1];
        int p[2];

        /* A pipe cannot be mapped. */
        CHECK(!pipe(p), "pipe");
        close(p[1]);
        fds[0] = p[0];
        fe_send(&fe, VHU_REQ_SET_MEM_TABLE, 0, &t, 8 + sizeof t.regions[0],
                fds, 1);
    }
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

/* Sends and receives one frame each way on queue pair 0 and checks the
 * data, with buffers at 'tx_gpa' and 'rx_gpa'. */
static void
round_trip(struct fe *fe, uint64_t tx_gpa, uint64_t rx_gpa, uint32_t len)
{
    uint8_t *frame = malloc(len);
    struct test_pkt *pkt;
    struct vhu_frame f;
    uint32_t id, ulen;

    fill_pattern(frame, len, len);
    fe_tx_frame(fe, 1, frame, len, tx_gpa, 12);
    CHECK(fe_dequeue(fe, 0, &pkt, 1) == 1, "no frame dequeued");
    CHECK(pkt->len == len && !memcmp(pkt->data, frame, len),
          "dequeued frame differs (len %"PRIu32")", pkt->len);
    free(pkt);
    CHECK(fe_get_used(fe, 1, &id, &ulen), "tx buffer not used");

    fe_post_rx(fe, 0, rx_gpa, len + 12);
    f.data = frame;
    f.len = len;
    CHECK(vhu_enqueue_burst(fe->dev, 0, &f, 1) == 1, "not enqueued");
    CHECK(fe_get_used(fe, 0, &id, &ulen) && ulen == len + 12,
          "rx used len %"PRIu32, ulen);
    for (uint32_t i = 0; i < len; i++) {
        uint8_t b = *(uint8_t *) fe_gpa(fe, rx_gpa + 12 + i);

        CHECK(b == frame[i], "rx byte %"PRIu32" differs", i);
    }
    free(frame);
}

/* Memory from a file offset that is not page aligned. */
static void
test_unaligned_offset(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE,
    };
    struct fe fe;

    fe_setup(&fe, &opts);       /* Table: [0, GUEST_SIZE) at offset 0. */
    fe.n_regions = 0;
    fe_add_region(&fe, 0, GUEST_SIZE - 0x2000, 0x1230);
    fe_send_mem_table(&fe);
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_setup_vring(&fe, 0, 256);
    fe_setup_vring(&fe, 1, 256);
    fe_grace(&fe);
    CHECK(vhu_rx_ready(fe.dev, 0), "not ready");
    round_trip(&fe, BUF_BASE, BUF_BASE + 0x10000, 1000);
    fe_destroy(&fe);
}

/* Buffers spanning two adjacent regions. */
static void
test_spanning_regions(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE, .n_qp = 1,
        .two_regions = true,
    };
    struct fe fe;

    fe_setup(&fe, &opts);
    round_trip(&fe, GUEST_SIZE / 2 - 100, GUEST_SIZE / 2 - 30, 1500);
    round_trip(&fe, GUEST_SIZE / 2 - 5, GUEST_SIZE / 2 - 7, 64);
    fe_destroy(&fe);
}

/* Guest memory on hugetlbfs (2 MB pages), in two regions at file offsets
 * that are not multiples of the page size, as a frontend may give them
 * (QEMU rounds its sections to the page size; others need not): mmap()
 * there must start at the page below, and frames cross the regions. */
static void
test_hugetlbfs_unaligned(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE, .n_qp = 1,
        .two_regions = true, .hugetlb = true, .file_base = 0x201000,
    };
    struct fe fe;

    fe_setup(&fe, &opts);
    round_trip(&fe, BUF_BASE, BUF_BASE + 0x1000, 1500);
    round_trip(&fe, GUEST_SIZE / 2 - 100, GUEST_SIZE / 2 - 30, 1500);
    fe_destroy(&fe);
}

/* A new table while rings are live: rings stop until the grace period,
 * then run on the new table. */
static void
test_replace_live(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE, .n_qp = 1,
    };
    struct fe fe;

    fe_setup(&fe, &opts);
    round_trip(&fe, BUF_BASE, BUF_BASE + 0x1000, 100);
    fe.n_regions = 0;
    fe_add_region(&fe, 0, GUEST_SIZE / 2, 0);
    fe_add_region(&fe, GUEST_SIZE / 2, GUEST_SIZE / 2, GUEST_SIZE / 2);
    fe_send_mem_table(&fe);
    CHECK(!vhu_rx_ready(fe.dev, 0), "ring live with the old table");
    CHECK(vhu_device_wants_grace(fe.dev), "no grace");
    vhu_device_grace_done(fe.dev);
    CHECK(vhu_rx_ready(fe.dev, 0) && vhu_tx_ready(fe.dev, 0),
          "rings not back");
    round_trip(&fe, GUEST_SIZE / 2 - 10, BUF_BASE + 0x1000, 100);
    fe_destroy(&fe);
}

/* Sends ADD_MEM_REG or REM_MEM_REG with NEED_REPLY; returns the ack. */
static uint64_t
mem_reg(struct fe *fe, uint32_t request, uint64_t gpa, uint64_t size,
        uint64_t ofs, size_t n_fds)
{
    struct vhu_mem_single m = {
        .region = { gpa, size, UVA_BASE + gpa, ofs },
    };
    int fd = dup(fe->memfd);

    fe_send(fe, request, VHU_VERSION | VHU_FLAG_NEED_REPLY, &m, sizeof m,
            &fd, n_fds);
    if (!n_fds) {
        close(fd);
    }
    if (vhu_device_is_broken(fe->dev)) {
        return UINT64_MAX;
    }
    return fe_expect_ack(fe, request);
}

static void
test_add_rem_mem_reg(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE, .n_qp = 1,
    };
    struct vhu_vring_info info;
    struct test_pkt *pkt;
    uint8_t frame[64] = { 0 };
    struct fe fe;

    fe_init(&fe, 1);
    fe_destroy(&fe);
    fe_setup(&fe, &opts);
    /* Start over with only the first half, then add the second. */
    CHECK(mem_reg(&fe, VHU_REQ_REM_MEM_REG, 0, GUEST_SIZE, 0, 1) == 0,
          "rem");
    CHECK(!vhu_rx_ready(fe.dev, 0), "ready without memory");
    fe_grace(&fe);
    CHECK(mem_reg(&fe, VHU_REQ_ADD_MEM_REG, 0, GUEST_SIZE / 2, 0, 1) == 0,
          "add");
    fe_grace(&fe);
    CHECK(vhu_rx_ready(fe.dev, 0), "not ready with memory");
    CHECK(mem_reg(&fe, VHU_REQ_ADD_MEM_REG, GUEST_SIZE / 2, GUEST_SIZE / 2,
                  GUEST_SIZE / 2, 1) == 0, "add 2");
    CHECK(vhu_rx_ready(fe.dev, 0), "add stopped the rings");
    fe_grace(&fe);
    /* QEMU adds the same region again for every queue pair: accepted, and
     * nothing changes. */
    CHECK(mem_reg(&fe, VHU_REQ_ADD_MEM_REG, GUEST_SIZE / 2, GUEST_SIZE / 2,
                  GUEST_SIZE / 2, 1) == 0, "add 2 again");
    CHECK(vhu_rx_ready(fe.dev, 0), "a repeated add stopped the rings");
    CHECK(!vhu_device_wants_grace(fe.dev), "a repeated add retired memory");
    fe_grace(&fe);
    fe.n_regions = 0;
    fe_add_region(&fe, 0, GUEST_SIZE / 2, 0);
    fe_add_region(&fe, GUEST_SIZE / 2, GUEST_SIZE / 2, GUEST_SIZE / 2);
    round_trip(&fe, GUEST_SIZE / 2 + 0x1000, GUEST_SIZE / 2 + 0x2000, 300);

    /* Remove the second half: buffers there now break the ring. */
    CHECK(mem_reg(&fe, VHU_REQ_REM_MEM_REG, GUEST_SIZE / 2, GUEST_SIZE / 2,
                  0, 0) == 0, "rem 2");
    fe_grace(&fe);
    fe_tx_frame(&fe, 1, frame, sizeof frame, GUEST_SIZE / 2 + 0x1000, 12);
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 0, "dequeued from unmapped memory");
    vhu_device_vring_info(fe.dev, 1, &info);
    CHECK(info.broken, "ring not broken");
    CHECK(!vhu_device_is_broken(fe.dev), "device broken");
    fe_destroy(&fe);
}

static void
test_add_mem_reg_overlap(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE,
    };
    struct fe fe;

    fe_setup(&fe, &opts);
    mem_reg(&fe, VHU_REQ_ADD_MEM_REG, 0x1000, 0x1000, 0, 1);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_add_mem_reg_no_fd(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE,
    };
    struct fe fe;

    fe_setup(&fe, &opts);
    mem_reg(&fe, VHU_REQ_ADD_MEM_REG, GUEST_SIZE, 0x1000, 0, 0);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_add_mem_reg_too_many(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE,
    };
    struct fe fe;
    int i;

    fe_setup(&fe, &opts);
    for (i = 1; i < VHU_MAX_MEM_REGIONS; i++) {
        CHECK(mem_reg(&fe, VHU_REQ_ADD_MEM_REG, GUEST_SIZE * 2 + i * 0x1000,
                      0x1000, 0, 1) == 0, "add %d", i);
        fe_grace(&fe);
    }
    mem_reg(&fe, VHU_REQ_ADD_MEM_REG, GUEST_SIZE * 4, 0x1000, 0, 1);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

static void
test_rem_mem_reg_unknown(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE,
    };
    struct fe fe;

    fe_setup(&fe, &opts);
    /* QEMU removes a region once per queue pair: the second time it is
     * gone already, which is acknowledged without change. */
    CHECK(mem_reg(&fe, VHU_REQ_REM_MEM_REG, 0x1000, 0x1000, 0, 0) == 0,
          "removal of an unknown region refused");
    CHECK(!vhu_device_wants_grace(fe.dev), "removal of nothing retired");
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    fe_destroy(&fe);
}

/* A ring's region removed while a second region stays, then added back (as
 * QEMU may do when it rearranges guest memory): the ring waits, not
 * translatable, without breaking the device, and resumes when the region
 * is back. */
static void
test_ring_memory_gone(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE, .n_qp = 1,
        .two_regions = true,
    };
    struct fe fe;

    fe_setup(&fe, &opts);
    round_trip(&fe, BUF_BASE, BUF_BASE + 0x1000, 100);
    CHECK(mem_reg(&fe, VHU_REQ_REM_MEM_REG, 0, GUEST_SIZE / 2, 0, 0) == 0,
          "rem");
    fe_grace(&fe);
    CHECK(!vhu_device_is_broken(fe.dev), "device broken without its rings' "
          "memory");
    CHECK(!vhu_rx_ready(fe.dev, 0) && !vhu_tx_ready(fe.dev, 0),
          "rings ready without their memory");
    CHECK(mem_reg(&fe, VHU_REQ_ADD_MEM_REG, 0, GUEST_SIZE / 2, 0, 1) == 0,
          "add");
    fe_grace(&fe);
    CHECK(vhu_rx_ready(fe.dev, 0) && vhu_tx_ready(fe.dev, 0),
          "rings not back with their memory");
    round_trip(&fe, BUF_BASE + 0x2000, BUF_BASE + 0x3000, 200);
    fe_destroy(&fe);
}

/* What the switch's SIGBUS handler does. */
static void
recover_sigbus(int sig, siginfo_t *info, void *context)
{
    (void) context;
    if (!vhu_fault_recover(info->si_addr)) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

static void
install_sigbus_handler(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = recover_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(!sigaction(SIGBUS, &sa, NULL), "sigaction");
}

static bool
fault_fd_readable(void)
{
    struct pollfd pfd = { .fd = vhu_fault_fd(), .events = POLLIN };

    return pfd.fd >= 0 && poll(&pfd, 1, 0) == 1;
}

/* The frontend truncates its memory file under live rings: the data path's
 * next access faults, completes on zeroes instead of killing the process,
 * and the device breaks once checked; a new connection works. */
static void
test_truncated(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE, .n_qp = 1,
    };
    uint8_t frame[64] = { 1 };
    struct vhu_vring_info info;
    struct test_pkt *pkt;
    uint64_t faults;
    struct fe fe;

    install_sigbus_handler();
    fe_setup(&fe, &opts);
    round_trip(&fe, BUF_BASE, BUF_BASE + 0x1000, 100);
    fe_tx_frame(&fe, 1, frame, sizeof frame, BUF_BASE, 12);
    vhu_fault_clear();
    CHECK(!fault_fd_readable(), "fault fd readable before a fault");
    faults = vhu_fault_count();
    CHECK(!vhu_device_check_faults(fe.dev), "fault before truncation");

    /* The harness's own mapping must not be touched from here on. */
    CHECK(!ftruncate(fe.memfd, 0), "ftruncate");
    CHECK(fe_dequeue(&fe, 0, &pkt, 1) == 0, "dequeued from a truncated "
          "file");
    CHECK(vhu_fault_count() == faults + 1, "%"PRIu64" faults instead of 1",
          vhu_fault_count() - faults);
    CHECK(fault_fd_readable(), "fault fd not readable");
    vhu_fault_clear();
    CHECK(!fault_fd_readable(), "fault fd still readable");
    /* The control side reads ring indexes too: no second fault. */
    vhu_device_vring_info(fe.dev, 1, &info);
    CHECK(vhu_fault_count() == faults + 1, "faulted again");

    CHECK(!vhu_device_is_broken(fe.dev), "broken before the check");
    CHECK(vhu_device_check_faults(fe.dev), "check found no fault");
    CHECK(vhu_device_is_broken(fe.dev), "not broken after a fault");
    CHECK(!vhu_device_check_faults(fe.dev), "fault reported twice");

    /* The frontend reconnects with memory of the right size. */
    vhu_device_disconnect(fe.dev);
    fe_grace(&fe);
    CHECK(!vhu_device_is_broken(fe.dev), "still broken after disconnect");
    CHECK(!ftruncate(fe.memfd, GUEST_SIZE), "ftruncate");
    fe_setup_vring(&fe, 0, 256);
    fe_send_mem_table(&fe);
    fe_grace(&fe);
    CHECK(!vhu_device_is_broken(fe.dev), "new table refused");
    fe_destroy(&fe);
}

/* The dirty log's file truncated while logging: the data path's next log
 * write faults and the device breaks. */
static void
test_truncated_log(void)
{
    struct fe_opts opts = {
        .features = F_BASE | VHU_BIT(VHU_F_LOG_ALL),
        .protocol_features = PF_BASE | VHU_BIT(VHU_PROTOCOL_F_LOG_SHMFD),
        .n_qp = 1,
    };
    struct vhu_log log = { .mmap_size = 4096, .mmap_offset = 0 };
    uint8_t frame[64] = { 2 };
    struct vhu_frame f = { frame, sizeof frame };
    uint8_t payload[64];
    uint32_t req, size;
    uint64_t faults;
    struct fe fe;
    int log_fd, fd;

    install_sigbus_handler();
    fe_setup(&fe, &opts);
    log_fd = memfd_create("log", MFD_CLOEXEC);
    CHECK(log_fd >= 0 && !ftruncate(log_fd, 4096), "log memfd");
    fd = dup(log_fd);
    fe_send(&fe, VHU_REQ_SET_LOG_BASE, 0, &log, sizeof log, &fd, 1);
    fe_grace(&fe);
    CHECK(fe_recv(&fe, &req, payload, &size)
          && req == VHU_REQ_SET_LOG_BASE, "no reply to SET_LOG_BASE");
    CHECK(!vhu_device_is_broken(fe.dev), "SET_LOG_BASE refused");

    faults = vhu_fault_count();
    CHECK(!ftruncate(log_fd, 0), "ftruncate");
    fe_post_rx(&fe, 0, BUF_BASE, 2048);
    CHECK(vhu_enqueue_burst(fe.dev, 0, &f, 1) == 1, "enqueue");
    CHECK(vhu_fault_count() == faults + 1, "%"PRIu64" faults instead of 1",
          vhu_fault_count() - faults);
    CHECK(vhu_device_check_faults(fe.dev) && vhu_device_is_broken(fe.dev),
          "not broken");
    close(log_fd);
    fe_destroy(&fe);
}

static int fake_node;

static int
fake_numa_probe(const void *addr)
{
    (void) addr;
    return fake_node;
}

/* The NUMA node of the guest's memory is learned from the first queue
 * pair's transmit ring when it goes live, again with a new memory table,
 * and a change is announced. */
static void
test_numa_learned(void)
{
    struct fe_opts opts = {
        .features = F_BASE, .protocol_features = PF_BASE, .n_qp = 1,
    };
    uint64_t seq;
    struct fe fe;

    /* The real probe: this machine's memory is on some node. */
    fe_setup(&fe, &opts);
    CHECK(vhu_device_numa_node(fe.dev) >= 0, "node %d",
          vhu_device_numa_node(fe.dev));
    fe_destroy(&fe);

    vhu_set_numa_probe(fake_numa_probe);
    fake_node = 3;
    fe_init(&fe, 1);
    CHECK(vhu_device_numa_node(fe.dev) == -1, "node known without memory");
    fe_destroy(&fe);
    fe_setup(&fe, &opts);
    CHECK(vhu_device_numa_node(fe.dev) == 3, "node %d, expected 3",
          vhu_device_numa_node(fe.dev));

    /* The guest's memory moved: a new table, the rings published again. */
    fake_node = 1;
    seq = vhu_device_change_seq(fe.dev);
    fe_send_mem_table(&fe);
    fe_grace(&fe);
    CHECK(vhu_device_numa_node(fe.dev) == 1, "node %d, expected 1",
          vhu_device_numa_node(fe.dev));
    CHECK(vhu_device_change_seq(fe.dev) != seq, "change not announced");
    fe_destroy(&fe);
    vhu_set_numa_probe(NULL);
}

const struct test memory_tests[] = {
    { "mem-hugetlbfs-unaligned", test_hugetlbfs_unaligned },
    { "mem-table-overlap", test_overlap },
    { "mem-table-overlap-uva", test_overlap_uva },
    { "mem-table-zero-size", test_zero_size },
    { "mem-table-gpa-wrap", test_gpa_wrap },
    { "mem-table-uva-wrap", test_uva_wrap },
    { "mem-table-offset-wrap", test_offset_wrap },
    { "mem-table-beyond-file", test_beyond_file },
    { "mem-table-zero-regions", test_zero_regions },
    { "mem-table-too-many-regions", test_too_many_regions },
    { "mem-table-fd-mismatch", test_fd_mismatch },
    { "mem-table-short-payload", test_short_payload },
    { "mem-table-unmappable-fd", test_bad_fd },
    { "mem-table-unaligned-offset", test_unaligned_offset },
    { "mem-spanning-regions", test_spanning_regions },
    { "mem-table-replace-live", test_replace_live },
    { "mem-reg-add-remove", test_add_rem_mem_reg },
    { "mem-reg-add-overlap", test_add_mem_reg_overlap },
    { "mem-reg-add-no-fd", test_add_mem_reg_no_fd },
    { "mem-reg-add-too-many", test_add_mem_reg_too_many },
    { "mem-reg-remove-unknown", test_rem_mem_reg_unknown },
    { "mem-ring-memory-gone", test_ring_memory_gone },
    { "mem-truncated", test_truncated },
    { "mem-truncated-log", test_truncated_log },
    { "mem-numa-learned", test_numa_learned },
    { NULL, NULL },
};
