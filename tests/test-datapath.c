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

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

/* test-datapath: unit tests of the vhost-user engine in datapath/.
 *
 * Usage: test-datapath NAME   runs test NAME: exit 0 if it passes, 1 with
 *                             a reason on stderr if not.
 *        test-datapath --list lists the tests.
 *        test-datapath --all  runs every test, each in a child process. */

static const char *current_test;

/* Reports a failed CHECK and exits. */
void
test_fail(const char *file, int line, const char *cond, const char *format,
          ...)
{
    va_list args;

    fprintf(stderr, "FAIL: %s: %s:%d: %s: ", current_test, file, line, cond);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    putc('\n', stderr);
    exit(1);
}

/* Prints every engine log line to stderr (autotest keeps it in the log). */
static void
log_to_stderr(enum vhu_log_level level, const char *format, va_list args)
{
    static const char *const names[] = { "ERR", "WARN", "INFO", "DBG" };

    fprintf(stderr, "engine %s: ", names[level]);
    vfprintf(stderr, format, args);
    putc('\n', stderr);
}

/* Returns the number of fds this process has open. */
int
count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (!dir) {
        return -1;
    }
    while ((de = readdir(dir))) {
        if (de->d_name[0] != '.') {
            n++;
        }
    }
    closedir(dir);
    return n - 1;               /* The directory's own fd. */
}

/* Fills 'n' bytes at 'p' with a pattern that depends on 'seed'. */
void
fill_pattern(void *p_, size_t n, unsigned int seed)
{
    uint8_t *p = p_;

    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t) (i * 7 + seed * 13 + (i >> 8));
    }
}

/* Guest memory. */

/* Returns our pointer to guest physical address 'gpa'. */
void *
fe_gpa(struct fe *fe, uint64_t gpa)
{
    for (unsigned int i = 0; i < fe->n_regions; i++) {
        const struct fe_region *r = &fe->regions[i];

        if (gpa >= r->gpa && gpa < r->gpa + r->size) {
            return fe->map + r->file_offset + (gpa - r->gpa);
        }
    }
    test_fail(__FILE__, __LINE__, "gpa", "gpa 0x%"PRIx64" not mapped", gpa);
}

/* Adds a region to what fe_send_mem_table() sends. */
void
fe_add_region(struct fe *fe, uint64_t gpa, uint64_t size,
              uint64_t file_offset)
{
    struct fe_region *r = &fe->regions[fe->n_regions++];

    r->gpa = gpa;
    r->size = size;
    r->file_offset = file_offset;
}

/* Harness. */

/* Devices created from now on want kicks (a sleeping caller) if true, or
 * suppress them (a polling caller, the default). */
bool fe_want_kicks;
bool fe_packed;

/* Devices created from now on offer offloads (options.net_offloads) if
 * true. */
bool fe_net_offloads;

/* Creates guest memory and a device with 'max_qp' queue pairs. */
void
fe_init(struct fe *fe, unsigned int max_qp)
{
    struct vhu_device_options opts = {
        .name = "test0",
        .max_queue_pairs = max_qp ? max_qp : 2,
        .min_mtu = 68,
        .max_mtu = 9000,
        .want_kicks = fe_want_kicks,
        .net_offloads = fe_net_offloads,
    };

    memset(fe, 0, sizeof *fe);
    fe->memfd = memfd_create("guest", MFD_CLOEXEC);
    CHECK(fe->memfd >= 0, "memfd_create: %s", strerror(errno));
    CHECK(!ftruncate(fe->memfd, GUEST_SIZE), "ftruncate");
    fe->map = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fe->memfd, 0);
    CHECK(fe->map != MAP_FAILED, "mmap: %s", strerror(errno));
    fe->map_len = GUEST_SIZE;
    for (size_t i = 0; i < VHU_MAX_VRINGS; i++) {
        fe->vrings[i].kick_fd = fe->vrings[i].call_fd = -1;
    }
    fe->dev = vhu_device_create(&opts);
    CHECK(fe->dev, "device creation failed");
}

/* Destroys the device and frees the guest memory and our fds. */
void
fe_destroy(struct fe *fe)
{
    vhu_device_destroy(fe->dev);
    for (size_t i = 0; i < VHU_MAX_VRINGS; i++) {
        if (fe->vrings[i].kick_fd >= 0) {
            close(fe->vrings[i].kick_fd);
        }
        if (fe->vrings[i].call_fd >= 0) {
            close(fe->vrings[i].call_fd);
        }
    }
    munmap(fe->map, fe->map_len);
    close(fe->memfd);
}

/* Replaces the guest memory of 'fe' by a file of 2 MB pages
 * (MFD_HUGETLB), 'len' bytes. */
static void
fe_use_hugetlb(struct fe *fe, size_t len)
{
    munmap(fe->map, fe->map_len);
    close(fe->memfd);
    fe->memfd = memfd_create("guest-huge", MFD_CLOEXEC | MFD_HUGETLB);
    CHECK(fe->memfd >= 0, "memfd_create(MFD_HUGETLB): %s", strerror(errno));
    CHECK(!ftruncate(fe->memfd, len), "ftruncate: %s (no 2 MB pages "
          "reserved? see /proc/sys/vm/nr_hugepages)", strerror(errno));
    fe->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fe->memfd, 0);
    CHECK(fe->map != MAP_FAILED, "mmap of 2 MB pages: %s (none free?)",
          strerror(errno));
    fe->map_len = len;
}

/* Runs a grace period if the device wants one. */
void
fe_grace(struct fe *fe)
{
    if (vhu_device_wants_grace(fe->dev)) {
        vhu_device_grace_done(fe->dev);
    }
}

/* Messages. */

/* Sends one message with 'size' bytes of 'payload' and 'n_fds' fds (which
 * the engine takes).  Returns what vhu_device_input() returns. */
int
fe_send(struct fe *fe, uint32_t request, uint32_t flags, const void *payload,
        uint32_t size, const int *fds, size_t n_fds)
{
    struct vhu_msg_header hdr = {
        .request = request,
        .flags = flags ? flags : VHU_VERSION,
        .size = size,
    };
    uint8_t buf[sizeof hdr + 512];

    CHECK(size <= 512, "payload too large for the test harness");
    memcpy(buf, &hdr, sizeof hdr);
    if (size) {
        memcpy(buf + sizeof hdr, payload, size);
    }
    return vhu_device_input(fe->dev, buf, sizeof hdr + size, fds, n_fds);
}

int
fe_send_u64(struct fe *fe, uint32_t request, uint64_t value)
{
    return fe_send(fe, request, 0, &value, sizeof value, NULL, 0);
}

int
fe_send_state(struct fe *fe, uint32_t request, uint32_t index, uint32_t num)
{
    struct vhu_vring_state s = { .index = index, .num = num };

    return fe_send(fe, request, 0, &s, sizeof s, NULL, 0);
}

/* Takes one reply from the device's output.  Returns false if none. */
bool
fe_recv(struct fe *fe, uint32_t *request, void *payload, uint32_t *size)
{
    struct vhu_msg_header hdr;
    const uint8_t *p;
    size_t n;

    p = vhu_device_output(fe->dev, &n);
    if (!n) {
        return false;
    }
    CHECK(n >= sizeof hdr, "partial reply header (%zu bytes)", n);
    memcpy(&hdr, p, sizeof hdr);
    CHECK(hdr.flags == (VHU_VERSION | VHU_FLAG_REPLY),
          "reply flags 0x%"PRIx32, hdr.flags);
    CHECK(n >= sizeof hdr + hdr.size, "partial reply payload");
    *request = hdr.request;
    *size = hdr.size;
    memcpy(payload, p + sizeof hdr, hdr.size);
    vhu_device_output_done(fe->dev, sizeof hdr + hdr.size);
    return true;
}

/* Sends 'request' with no payload and returns its u64 reply. */
uint64_t
fe_get_u64(struct fe *fe, uint32_t request)
{
    uint8_t payload[512];
    uint32_t req, size;
    uint64_t v;

    CHECK(!fe_send(fe, request, 0, NULL, 0, NULL, 0), "request %"PRIu32,
          request);
    CHECK(fe_recv(fe, &req, payload, &size), "no reply to %"PRIu32, request);
    CHECK(req == request && size == 8, "reply %"PRIu32" size %"PRIu32, req,
          size);
    memcpy(&v, payload, sizeof v);
    return v;
}

/* Checks that the device sent nothing. */
void
fe_expect_no_reply(struct fe *fe)
{
    size_t n;

    vhu_device_output(fe->dev, &n);
    CHECK(n == 0, "unexpected reply (%zu bytes)", n);
}

/* Takes a REPLY_ACK reply to 'request' and returns its value. */
uint64_t
fe_expect_ack(struct fe *fe, uint32_t request)
{
    uint8_t payload[512];
    uint32_t req, size;
    uint64_t v;

    CHECK(fe_recv(fe, &req, payload, &size), "no ack for %"PRIu32, request);
    CHECK(req == request && size == 8, "ack for %"PRIu32" size %"PRIu32,
          req, size);
    memcpy(&v, payload, sizeof v);
    return v;
}

/* Checks that the device is broken. */
void
fe_expect_broken(struct fe *fe)
{
    CHECK(vhu_device_is_broken(fe->dev), "device should be broken");
    for (unsigned int qp = 0; qp < VHU_MAX_QUEUE_PAIRS; qp++) {
        CHECK(!vhu_rx_ready(fe->dev, qp) && !vhu_tx_ready(fe->dev, qp),
              "queue pair %u still ready on a broken device", qp);
    }
}

/* Restarts stopped vring 'i' from 'base': SET_VRING_BASE (checked here),
 * then a new kick fd, which starts it, and a grace period.  Returns
 * fe_send()'s result for the kick (the caller checks it, or expects the
 * device broken). */
int
fe_restart_vring(struct fe *fe, unsigned int i, uint32_t base)
{
    int error;
    int fd;

    CHECK(!fe_send_state(fe, VHU_REQ_SET_VRING_BASE, i, base),
          "SET_VRING_BASE %u %"PRIu32, i, base);
    fd = dup(fe->vrings[i].kick_fd);
    error = fe_send(fe, VHU_REQ_SET_VRING_KICK, 0, &(uint64_t) { i }, 8,
                    &fd, 1);
    fe_grace(fe);
    return error;
}

/* Sends SET_MEM_TABLE with fe's regions (the caller checks the outcome). */
void
fe_send_mem_table(struct fe *fe)
{
    struct vhu_mem_table t;
    int fds[8];

    memset(&t, 0, sizeof t);
    t.nregions = fe->n_regions;
    for (unsigned int i = 0; i < fe->n_regions; i++) {
        t.regions[i].guest_phys_addr = fe->regions[i].gpa;
        t.regions[i].memory_size = fe->regions[i].size;
        t.regions[i].userspace_addr = UVA_BASE + fe->regions[i].gpa;
        t.regions[i].mmap_offset = fe->regions[i].file_offset;
        fds[i] = dup(fe->memfd);
    }
    fe_send(fe, VHU_REQ_SET_MEM_TABLE, 0, &t,
            8 + fe->n_regions * sizeof t.regions[0], fds, fe->n_regions);
}

/* Sets up vring 'i' with 'size' entries at its place in guest memory and
 * starts it. */
void
fe_setup_vring(struct fe *fe, unsigned int i, uint16_t size)
{
    struct fe_vring *v = &fe->vrings[i];
    struct vhu_vring_addr a;
    uint64_t base = RING_BASE + i * RING_STRIDE;
    int fd;

    CHECK(size <= FE_MAX_RING, "ring size %u too big for the test layout",
          size);
    v->size = size;
    v->desc_gpa = base;
    v->avail_gpa = base + 0x2000;
    v->used_gpa = base + 0x3000;
    v->next_desc = v->avail_idx = v->used_seen = 0;
    v->avail_wrap = v->used_wrap = true;
    memset(fe_gpa(fe, base), 0, RING_STRIDE);
    if (v->kick_fd < 0) {
        v->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        v->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    }

    CHECK(!fe_send_state(fe, VHU_REQ_SET_VRING_NUM, i, size), "NUM");
    /* A packed ring starts at position 0 with wrap counters 1, as QEMU
     * encodes them. */
    CHECK(!fe_send_state(fe, VHU_REQ_SET_VRING_BASE, i,
                         fe->packed ? 0x80008000 : 0), "BASE");
    memset(&a, 0, sizeof a);
    a.index = i;
    a.desc = UVA_BASE + v->desc_gpa;
    a.avail = UVA_BASE + v->avail_gpa;
    a.used = UVA_BASE + v->used_gpa;
    a.log = v->used_gpa;
    a.flags = (fe->features & VHU_BIT(VHU_F_LOG_ALL)) ? VHU_VRING_F_LOG : 0;
    CHECK(!fe_send(fe, VHU_REQ_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0),
          "ADDR");
    fd = dup(v->call_fd);
    CHECK(!fe_send(fe, VHU_REQ_SET_VRING_CALL, 0, &(uint64_t) { i },
                   8, &fd, 1), "CALL");
    fd = dup(v->kick_fd);
    CHECK(!fe_send(fe, VHU_REQ_SET_VRING_KICK, 0, &(uint64_t) { i },
                   8, &fd, 1), "KICK");
    if (fe->features & VHU_BIT(VHU_F_PROTOCOL_FEATURES)) {
        CHECK(!fe_send_state(fe, VHU_REQ_SET_VRING_ENABLE, i, 1), "ENABLE");
    }
}

/* Negotiates, sends the memory table and sets up 'opts->n_qp' queue
 * pairs. */
void
fe_setup(struct fe *fe, const struct fe_opts *opts)
{
    uint64_t offered, features;

    fe_init(fe, opts->max_qp);
    if (opts->hugetlb) {
        fe_use_hugetlb(fe, 4 * 1024 * 1024);
    }
    if (opts->two_regions) {
        fe_add_region(fe, 0, GUEST_SIZE / 2, opts->file_base);
        fe_add_region(fe, GUEST_SIZE / 2, GUEST_SIZE / 2,
                      opts->file_base + GUEST_SIZE / 2);
    } else {
        fe_add_region(fe, 0, GUEST_SIZE, opts->file_base);
    }

    offered = fe_get_u64(fe, VHU_REQ_GET_FEATURES);
    features = opts->features | (fe_packed
                                 ? VHU_BIT(VHU_VIRTIO_F_RING_PACKED) : 0);
    CHECK((features & ~offered) == 0, "features 0x%"PRIx64" not "
          "offered", features & ~offered);
    fe->features = features;
    fe->packed = (features & VHU_BIT(VHU_VIRTIO_F_RING_PACKED)) != 0;
    CHECK(!fe_send_u64(fe, VHU_REQ_SET_FEATURES, features),
          "SET_FEATURES");
    if (opts->features & VHU_BIT(VHU_F_PROTOCOL_FEATURES)) {
        uint64_t pf = fe_get_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES);

        CHECK((opts->protocol_features & ~pf) == 0, "protocol features");
        fe->protocol_features = opts->protocol_features;
        CHECK(!fe_send_u64(fe, VHU_REQ_SET_PROTOCOL_FEATURES,
                           opts->protocol_features), "SET_PROTOCOL_FEATURES");
    }
    CHECK(!fe_send(fe, VHU_REQ_SET_OWNER, 0, NULL, 0, NULL, 0), "OWNER");
    fe_send_mem_table(fe);
    for (unsigned int i = 0; i < 2 * opts->n_qp; i++) {
        fe_setup_vring(fe, i, opts->ring_size ? opts->ring_size : 256);
    }
    fe_grace(fe);
    CHECK(!vhu_device_is_broken(fe->dev), "device broken after set-up");
    fe_expect_no_reply(fe);
}

/* Fake driver. */

/* Adds a chain of 'n' descriptors for buffers 'gpas'/'lens' to packed
 * vring 'i': all but the head's flags, which fe_publish() writes. */
static uint16_t
fe_add_chain_packed(struct fe *fe, unsigned int i, const uint64_t *gpas,
                    const uint32_t *lens, unsigned int n, bool write)
{
    struct fe_vring *v = &fe->vrings[i];
    struct vring_packed_desc *desc = fe_gpa(fe, v->desc_gpa);
    uint16_t id = v->next_desc;

    for (unsigned int k = 0; k < n; k++) {
        uint16_t d = v->next_desc;
        uint16_t flags = ((write ? VRING_DESC_F_WRITE : 0)
                          | (k + 1 < n ? VRING_DESC_F_NEXT : 0)
                          | (v->avail_wrap ? 1 << VRING_PACKED_DESC_F_AVAIL
                             : 1 << VRING_PACKED_DESC_F_USED));

        desc[d].addr = gpas[k];
        desc[d].len = lens[k];
        desc[d].id = id;
        if (k) {
            desc[d].flags = flags;
        } else {
            v->head_flags[id] = flags;
        }
        if (++v->next_desc == v->size) {
            v->next_desc = 0;
            v->avail_wrap = !v->avail_wrap;
        }
    }
    v->chain_len[id] = n;
    return id;
}

/* Adds a chain of 'n' descriptors for buffers 'gpas'/'lens' to vring
 * 'i' (device-writable if 'write') and returns its head (a packed ring's
 * buffer id). */
uint16_t
fe_add_chain(struct fe *fe, unsigned int i, const uint64_t *gpas,
             const uint32_t *lens, unsigned int n, bool write)
{
    struct fe_vring *v = &fe->vrings[i];
    struct vring_desc *desc = fe_gpa(fe, v->desc_gpa);
    uint16_t head = v->next_desc;

    if (fe->packed) {
        return fe_add_chain_packed(fe, i, gpas, lens, n, write);
    }
    for (unsigned int k = 0; k < n; k++) {
        uint16_t d = (v->next_desc + k) % v->size;

        desc[d].addr = gpas[k];
        desc[d].len = lens[k];
        desc[d].flags = (write ? VRING_DESC_F_WRITE : 0)
                        | (k + 1 < n ? VRING_DESC_F_NEXT : 0);
        desc[d].next = (d + 1) % v->size;
    }
    v->next_desc = (v->next_desc + n) % v->size;
    return head;
}

/* Makes 'head' available on vring 'i'. */
void
fe_publish(struct fe *fe, unsigned int i, uint16_t head)
{
    struct fe_vring *v = &fe->vrings[i];
    struct vring_avail *avail = fe_gpa(fe, v->avail_gpa);

    if (fe->packed) {
        struct vring_packed_desc *desc = fe_gpa(fe, v->desc_gpa);

        atomic_thread_fence(memory_order_release);
        desc[head].flags = v->head_flags[head];
        return;
    }
    avail->ring[v->avail_idx % v->size] = head;
    v->avail_idx++;
    atomic_thread_fence(memory_order_release);
    avail->idx = v->avail_idx;
}

/* Takes the next used descriptor of packed vring 'i', if any. */
static bool
fe_get_used_packed(struct fe *fe, unsigned int i, uint32_t *id,
                   uint32_t *len)
{
    struct fe_vring *v = &fe->vrings[i];
    struct vring_packed_desc *d
        = (struct vring_packed_desc *) fe_gpa(fe, v->desc_gpa)
          + v->used_seen;
    uint16_t flags = d->flags;
    bool avail = (flags & (1 << VRING_PACKED_DESC_F_AVAIL)) != 0;
    bool used = (flags & (1 << VRING_PACKED_DESC_F_USED)) != 0;
    unsigned int n;

    if (avail != used || used != v->used_wrap) {
        return false;
    }
    atomic_thread_fence(memory_order_acquire);
    *id = d->id;
    *len = d->len;
    CHECK(*id < v->size && v->chain_len[*id], "used id %"PRIu32" unknown",
          *id);
    CHECK(!*len || (flags & VRING_DESC_F_WRITE), "used length %"PRIu32
          " without WRITE", *len);
    n = v->chain_len[*id];
    v->chain_len[*id] = 0;
    v->used_seen += n;
    if (v->used_seen >= v->size) {
        v->used_seen -= v->size;
        v->used_wrap = !v->used_wrap;
    }
    return true;
}

/* Takes the next used element of vring 'i', if any. */
bool
fe_get_used(struct fe *fe, unsigned int i, uint32_t *id, uint32_t *len)
{
    struct fe_vring *v = &fe->vrings[i];
    struct vring_used *used = fe_gpa(fe, v->used_gpa);

    if (fe->packed) {
        return fe_get_used_packed(fe, i, id, len);
    }
    if (used->idx == v->used_seen) {
        return false;
    }
    atomic_thread_fence(memory_order_acquire);
    *id = used->ring[v->used_seen % v->size].id;
    *len = used->ring[v->used_seen % v->size].len;
    v->used_seen++;
    return true;
}

/* Returns how many times the device called vring 'i' since last time. */
uint64_t
fe_read_call(struct fe *fe, unsigned int i)
{
    uint64_t n;

    if (read(fe->vrings[i].call_fd, &n, sizeof n) != sizeof n) {
        return 0;
    }
    return n;
}

/* Transmits 'frame' on vring 'i' from one buffer at 'buf_gpa', behind a
 * zero header of 'hdr_len' bytes. */
void
fe_tx_frame(struct fe *fe, unsigned int i, const void *frame, uint32_t len,
            uint64_t buf_gpa, uint32_t hdr_len)
{
    uint8_t *p = fe_gpa(fe, buf_gpa);
    uint32_t total = hdr_len + len;

    memset(p, 0, hdr_len);
    memcpy(p + hdr_len, frame, len);
    fe_publish(fe, i, fe_add_chain(fe, i, &buf_gpa, &total, 1, false));
}

/* Posts one receive buffer of 'len' bytes at 'buf_gpa' on vring 'i'. */
void
fe_post_rx(struct fe *fe, unsigned int i, uint64_t buf_gpa, uint32_t len)
{
    fe_publish(fe, i, fe_add_chain(fe, i, &buf_gpa, &len, 1, true));
}

void *
test_alloc(void *aux, uint32_t len, void **data)
{
    struct test_pkt *pkt = malloc(sizeof *pkt + len + 1);

    (void) aux;
    pkt->len = len;
    *data = pkt->data;
    return pkt;
}

void
test_free(void *aux, void *pkt)
{
    (void) aux;
    free(pkt);
}

int
fe_dequeue(struct fe *fe, unsigned int qp, struct test_pkt **pkts, int max)
{
    return vhu_dequeue_burst(fe->dev, qp, test_alloc, test_free, NULL,
                             (void **) pkts,
                             max);
}

/* Main. */

static const struct test *const test_tables[] = {
    message_tests, memory_tests, virtqueue_tests, dirty_log_tests,
    ctrl_tests, offload_tests, packed_tests,
};

static const struct test *
find_test(const char *name)
{
    for (size_t t = 0; t < sizeof test_tables / sizeof *test_tables; t++) {
        for (const struct test *test = test_tables[t]; test->name; test++) {
            if (!strcmp(test->name, name)) {
                return test;
            }
        }
    }
    return NULL;
}

/* Runs 'test', checking that it leaves no fd open. */
static int
run_test(const struct test *test)
{
    int before, after;

    current_test = test->name;
    before = count_fds();
    test->run();
    after = count_fds();
    CHECK(before == after, "%d fds open before the test, %d after", before,
          after);
    return 0;
}

int
main(int argc, char *argv[])
{
    const struct test *test;

    vhu_set_log_hook(log_to_stderr);
    /* The fault fd lives as long as the process, as in the switch. */
    vhu_fault_fd();
    if (argc != 2) {
        fprintf(stderr, "usage: %s [packed:]NAME | --list | --all\n",
                argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "--list") || !strcmp(argv[1], "--all")) {
        bool all = argv[1][2] == 'a';
        int failures = 0;

        for (size_t t = 0; t < sizeof test_tables / sizeof *test_tables;
             t++) {
            for (test = test_tables[t]; test->name; test++) {
                if (!all) {
                    printf("%s\n", test->name);
                } else {
                    char cmd[512];
                    int rc;

                    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1",
                             argv[0], test->name);
                    fflush(stdout);
                    rc = system(cmd);
                    printf("%-40s %s\n", test->name, rc ? "FAIL" : "ok");
                    failures += rc != 0;
                }
            }
        }
        return failures != 0;
    }

    /* "packed:NAME" runs test NAME with packed rings (fe_packed): the tests
     * that use the ring through the fake driver's functions. */
    test = find_test(argv[1]);
    if (!test && !strncmp(argv[1], "packed:", 7)) {
        fe_packed = true;
        test = find_test(argv[1] + 7);
    }
    if (!test) {
        fprintf(stderr, "%s: no test named %s\n", argv[0], argv[1]);
        return 2;
    }
    run_test(test);
    printf("PASS: %s\n", test->name);
    return 0;
}
