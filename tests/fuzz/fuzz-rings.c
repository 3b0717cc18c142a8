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

#define _GNU_SOURCE 1           /* memfd_create(). */
#include <vhu-config.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "vhost-engine.h"

/* libFuzzer target: guest memory, rings and descriptor chains.
 *
 * The harness plays a well-behaved frontend that sets up one queue pair
 * over a valid memory table, then lets the input play a hostile guest: the
 * input's first bytes choose the features (EVENT_IDX, MRG_RXBUF,
 * INDIRECT_DESC, VERSION_1, LOG_ALL, the offloads, a packed ring), the
 * ring size, the
 * layout of one or two memory regions and the frames to enqueue; the rest
 * is written verbatim into guest memory, from guest physical address 0,
 * where both rings (receive, then transmit) live: descriptors, available
 * and used rings, buffers.  Then the engine runs dequeue and enqueue bursts.  With
 * the offloads, each dequeued frame's request is parsed against the frame,
 * a TCP GSO frame segmented, its checksum completed, and the requests go
 * back out with the frames enqueued.
 *
 * Guest memory is one memfd, larger than the regions it declares: the
 * bytes before, between and after the regions are filled with a canary
 * pattern and checked after every input, so that any write by the engine
 * outside the declared regions aborts, even within the pages it mapped.
 * The dirty log (with LOG_ALL) is checked the same way.  The header layout
 * is in tests/fuzz/README.md. */

#define PAGE 4096u
#define CANARY 0xa5

/* Guest layout for one input. */
struct layout {
    uint64_t features;
    bool protocol_features;     /* Negotiate them (SET_VRING_ENABLE). */
    uint32_t ring_size;
    uint64_t ring_bytes;        /* One ring's desc + avail + used. */
    uint64_t desc[2], avail[2], used[2];  /* Guest addresses, per vring. */
    unsigned int n_regions;
    uint64_t gpa[2], size[2], offset[2], uva[2];
    uint64_t file_size;
    uint16_t base[2];           /* SET_VRING_BASE. */
    unsigned int rounds;
    uint16_t frame_len[4];
    uint32_t log_size;          /* 0: no dirty log. */
    bool ctrl;                  /* A control queue on vring 1's rings. */
    bool offloads;              /* Offered and negotiated. */
};

static uint64_t
round_up(uint64_t x, uint64_t align)
{
    return (x + align - 1) / align * align;
}

/* Decodes the header of the input into '*l'. */
static void
decode_layout(struct fuzz_input *in, struct layout *l)
{
    uint8_t f = fuzz_u8(in);
    uint8_t shift = fuzz_u8(in) % 9;
    uint16_t extra0 = fuzz_u16(in) % 16384;
    uint16_t size1 = fuzz_u16(in) % 16384;
    uint8_t misalign = fuzz_u8(in);
    uint8_t gap = fuzz_u8(in);
    uint8_t log = fuzz_u8(in);
    uint64_t ofs;

    memset(l, 0, sizeof *l);
    if (f & 1) {
        l->features |= VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX);
    }
    if (f & 2) {
        l->features |= VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF);
    }
    if (f & 4) {
        l->features |= VHU_BIT(VHU_VIRTIO_RING_F_INDIRECT_DESC);
    }
    if (f & 8) {
        l->features |= VHU_BIT(VHU_VIRTIO_F_VERSION_1);
    }
    if (f & 16) {
        l->features |= VHU_BIT(VHU_F_LOG_ALL);
        l->log_size = 1 + log;
    }
    if (f & 32) {
        l->protocol_features = true;
        l->features |= VHU_BIT(VHU_F_PROTOCOL_FEATURES);
    }

    /* Both rings at the start of region 0, each part aligned as the
     * virtio spec requires. */
    l->ring_size = 1u << shift;
    for (int v = 0; v < 2; v++) {
        uint64_t base = v * l->ring_bytes;

        l->desc[v] = base;
        l->avail[v] = base + 16 * l->ring_size;
        l->used[v] = round_up(l->avail[v] + 6 + 2 * l->ring_size, 4);
        if (!v) {
            l->ring_bytes = round_up(l->used[0] + 6 + 8 * l->ring_size, 16);
        }
    }

    /* Regions: region 0 holds the rings and some buffers; region 1, if
     * any, follows it in guest physical memory, right after it or past a
     * hole.  In the file, each is preceded by canary bytes, and the
     * misalignment moves region 0 within its page (in steps of 16 bytes,
     * so that the rings stay aligned in our mapping too). */
    l->n_regions = f & 64 ? 2 : 1;
    l->size[0] = 2 * l->ring_bytes + extra0;
    l->gpa[0] = 0;
    l->uva[0] = UINT64_C(0x7f0000000000);
    l->offset[0] = PAGE + (misalign % (PAGE / 16)) * 16;
    ofs = l->offset[0] + l->size[0];
    if (l->n_regions == 2) {
        l->size[1] = 1 + size1;
        l->gpa[1] = l->size[0] + (f & 128 ? 0x10000 : 0);
        l->uva[1] = l->uva[0] + 0x10000000;
        l->offset[1] = round_up(ofs, 16) + 16 * (1 + gap % 64);
        ofs = l->offset[1] + l->size[1];
    }
    l->file_size = round_up(ofs, PAGE) + PAGE;

    l->base[0] = fuzz_u16(in);
    l->base[1] = fuzz_u16(in);
    uint8_t rounds = fuzz_u8(in);

    l->rounds = 1 + rounds % 4;
    if (rounds & 0x80) {
        /* The control queue (index 2 without MQ) on the rings of vring 1,
         * whose chains it then reads as commands too. */
        l->ctrl = true;
        l->features |= VHU_BIT(VHU_VIRTIO_NET_F_CTRL_VQ);
    }
    if (rounds & 0x20) {
        /* Packed rings: the descriptor rings where the split ones are,
         * the event areas at the starts of the available and used rings,
         * and bases within the ring, with the wrap counter in bit 15. */
        l->features |= VHU_BIT(VHU_VIRTIO_F_RING_PACKED);
        for (int v = 0; v < 2; v++) {
            l->base[v] = (l->base[v] & 0x7fff) % l->ring_size
                         | (l->base[v] & 0x8000);
        }
    }
    if (rounds & 0x40) {
        l->offloads = true;
        l->features |= (VHU_BIT(VHU_VIRTIO_NET_F_CSUM)
                        | VHU_BIT(VHU_VIRTIO_NET_F_HOST_TSO4)
                        | VHU_BIT(VHU_VIRTIO_NET_F_HOST_TSO6)
                        | VHU_BIT(VHU_VIRTIO_NET_F_HOST_ECN)
                        | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_CSUM)
                        | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_TSO4)
                        | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_TSO6)
                        | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_ECN));
    }
    for (int i = 0; i < 4; i++) {
        l->frame_len[i] = fuzz_u16(in);
    }
}

/* True if byte 'ofs' of the file belongs to a declared region. */
static bool
declared(const struct layout *l, uint64_t ofs)
{
    for (unsigned int i = 0; i < l->n_regions; i++) {
        if (ofs >= l->offset[i] && ofs - l->offset[i] < l->size[i]) {
            return true;
        }
    }
    return false;
}

/* Sends one message that must succeed. */
static void
setup_msg(struct vhu_device *dev, uint32_t request, const void *payload,
          uint32_t size, const int *fds, size_t n_fds)
{
    if (fuzz_send_msg(dev, request, VHU_VERSION, payload, size, fds, n_fds)
        || vhu_device_is_broken(dev)) {
        fuzz_fail("set-up message %u refused", (unsigned int) request);
    }
}

/* Sets up the device as a frontend would, for layout 'l'. */
static void
setup_device(struct vhu_device *dev, const struct layout *l, int memfd,
             int logfd)
{
    struct vhu_mem_table t;
    int fds[2];
    uint64_t u64;

    setup_msg(dev, VHU_REQ_SET_OWNER, NULL, 0, NULL, 0);
    u64 = l->features;
    setup_msg(dev, VHU_REQ_SET_FEATURES, &u64, sizeof u64, NULL, 0);
    if (l->protocol_features) {
        u64 = VHU_BIT(VHU_PROTOCOL_F_LOG_SHMFD);
        setup_msg(dev, VHU_REQ_SET_PROTOCOL_FEATURES, &u64, sizeof u64,
                  NULL, 0);
    }

    memset(&t, 0, sizeof t);
    t.nregions = l->n_regions;
    for (unsigned int i = 0; i < l->n_regions; i++) {
        t.regions[i].guest_phys_addr = l->gpa[i];
        t.regions[i].memory_size = l->size[i];
        t.regions[i].userspace_addr = l->uva[i];
        t.regions[i].mmap_offset = l->offset[i];
        fds[i] = dup(memfd);
    }
    setup_msg(dev, VHU_REQ_SET_MEM_TABLE, &t,
              offsetof(struct vhu_mem_table, regions)
              + l->n_regions * sizeof t.regions[0], fds, l->n_regions);

    if (l->log_size) {
        struct vhu_log log = { .mmap_size = l->log_size, .mmap_offset = 64 };
        int fd = dup(logfd);

        setup_msg(dev, VHU_REQ_SET_LOG_BASE, &log, sizeof log, &fd, 1);
    }

    for (uint32_t i = 0; i < (l->ctrl ? 3 : 2); i++) {
        uint32_t v = i < 2 ? i : 1;
        struct vhu_vring_state s = { .index = i, .num = l->ring_size };
        struct vhu_vring_addr a = {
            .index = i,
            .desc = l->uva[0] + l->desc[v],
            .avail = l->uva[0] + l->avail[v],
            .used = l->uva[0] + l->used[v],
            .flags = l->log_size ? VHU_VRING_F_LOG : 0,
            .log = l->used[v],
        };

        setup_msg(dev, VHU_REQ_SET_VRING_NUM, &s, sizeof s, NULL, 0);
        s.num = l->base[v];
        setup_msg(dev, VHU_REQ_SET_VRING_BASE, &s, sizeof s, NULL, 0);
        setup_msg(dev, VHU_REQ_SET_VRING_ADDR, &a, sizeof a, NULL, 0);
        u64 = i | VHU_VRING_NOFD_MASK;
        setup_msg(dev, VHU_REQ_SET_VRING_KICK, &u64, sizeof u64, NULL, 0);
        if (l->protocol_features) {
            s.num = 1;
            setup_msg(dev, VHU_REQ_SET_VRING_ENABLE, &s, sizeof s, NULL, 0);
        }
    }
    if (!vhu_rx_ready(dev, 0) || !vhu_tx_ready(dev, 0)) {
        fuzz_fail("queue pair 0 not ready after set-up");
    }
}

/* Aborts if any undeclared byte of guest memory 'mem' or of the dirty log
 * 'logmem' changed. */
static void
check_canaries(const struct layout *l, const uint8_t *mem,
               const uint8_t *logmem)
{
    for (uint64_t i = 0; i < l->file_size; i++) {
        if (mem[i] != CANARY && !declared(l, i)) {
            fuzz_fail("guest memory at file offset 0x%llx, outside every "
                      "region, changed to 0x%02x", (unsigned long long) i,
                      mem[i]);
        }
    }
    for (uint64_t i = 0; logmem && i < 2 * PAGE; i++) {
        bool in_log = i >= 64 && i - 64 < l->log_size;

        if (!in_log && logmem[i] != CANARY) {
            fuzz_fail("dirty log file offset 0x%llx, outside the log, "
                      "changed", (unsigned long long) i);
        }
    }
}

/* A dequeued frame that knows its length. */
struct rings_pkt {
    uint32_t len;
    uint8_t data[];
};

static void *
rings_alloc(void *aux, uint32_t len, void **data)
{
    struct rings_pkt *pkt = malloc(sizeof *pkt + (len ? len : 1));

    (void) aux;
    pkt->len = len;
    *data = pkt->data;
    return pkt;
}

static void
count_segment(void *aux, const void *segment, uint32_t len)
{
    unsigned int *n = aux;

    (void) segment;
    if (len > 65536 + 200) {
        fuzz_fail("segment of %u bytes", (unsigned int) len);
    }
    (*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vhu_device_options opts = {
        .name = "fuzz",
        .max_queue_pairs = 1,
        .min_mtu = 68,
        .max_mtu = 9000,
    };
    static uint8_t frame[65536];
    static bool initialized;
    struct fuzz_input in = { data, size };
    struct vhu_frame frames[4];
    struct vhu_device *dev;
    uint8_t *mem, *logmem = NULL;
    int memfd, logfd = -1;
    int fds_before;
    struct layout l;

    if (!initialized) {
        fuzz_init();
        for (size_t i = 0; i < sizeof frame; i++) {
            frame[i] = i * 7;
        }
        initialized = true;
    }
    fds_before = fuzz_count_fds();
    decode_layout(&in, &l);

    /* Guest memory: canary everywhere, then the input over the regions,
     * in guest physical order. */
    memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, l.file_size) < 0) {
        fuzz_fail("cannot create guest memory");
    }
    mem = mmap(NULL, l.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
               0);
    if (mem == MAP_FAILED) {
        fuzz_fail("cannot map guest memory");
    }
    memset(mem, CANARY, l.file_size);
    for (unsigned int i = 0; i < l.n_regions; i++) {
        size_t got;
        const uint8_t *p = fuzz_bytes(&in, l.size[i], &got);

        memcpy(mem + l.offset[i], p, got);
        memset(mem + l.offset[i] + got, 0, l.size[i] - got);
    }
    if (l.log_size) {
        logfd = memfd_create("fuzz-log", MFD_CLOEXEC);
        if (logfd < 0 || ftruncate(logfd, 2 * PAGE) < 0) {
            fuzz_fail("cannot create the dirty log");
        }
        logmem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
                      logfd, 0);
        if (logmem == MAP_FAILED) {
            fuzz_fail("cannot map the dirty log");
        }
        memset(logmem, CANARY, 2 * PAGE);
        memset(logmem + 64, 0, l.log_size);
    }

    opts.net_offloads = l.offloads;
    dev = vhu_device_create(&opts);
    if (!dev) {
        fuzz_fail("vhu_device_create failed");
    }
    setup_device(dev, &l, memfd, logfd);

    for (int i = 0; i < 4; i++) {
        frames[i].data = frame;
        frames[i].len = l.frame_len[i];
    }
    for (unsigned int r = 0; r < l.rounds; r++) {
        struct vhu_net_offload ols[32], out_ols[4];
        unsigned int n_segments = 0;
        void *pkts[32];
        int n;

        if (l.ctrl) {
            vhu_device_run_ctrl(dev);
        }
        n = vhu_dequeue_burst_ol(dev, 0, rings_alloc, fuzz_free, NULL, pkts,
                                 ols, 32);

        memset(out_ols, 0, sizeof out_ols);
        for (int i = 0; i < n; i++) {
            struct rings_pkt *pkt = pkts[i];
            struct vhu_net_layers layers;

            if (vhu_net_parse(pkt->data, pkt->len, &ols[i], &layers)
                && ols[i].gso_type) {
                static uint8_t scratch[2 * 65536];

                if (vhu_net_segment_max_len(&ols[i], &layers)
                    > sizeof scratch) {
                    fuzz_fail("segment longer than a frame");
                }
                vhu_net_segment(pkt->data, pkt->len, &ols[i], &layers,
                                scratch, count_segment, &n_segments);
            }
            vhu_net_csum_fixup(pkt->data, pkt->len, &ols[i]);
            if (i < 4) {
                out_ols[i] = ols[i];
            }
            free(pkt);
        }
        vhu_enqueue_burst_ol(dev, 0, frames, out_ols, 4);
    }
    check_canaries(&l, mem, logmem);

    fuzz_teardown(dev);
    munmap(mem, l.file_size);
    close(memfd);
    if (logmem) {
        munmap(logmem, 2 * PAGE);
        close(logfd);
    }
    if (fuzz_count_fds() != fds_before) {
        fuzz_fail("fd leak: %d fds open before the input, %d after",
                  fds_before, fuzz_count_fds());
    }
    return 0;
}
