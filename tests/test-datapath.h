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

#ifndef TEST_DATAPATH_H
#define TEST_DATAPATH_H 1

/* Unit tests of the vhost-user engine: a fake frontend that builds
 * messages in memory, memfd-backed fake guest memory and a fake virtio
 * driver that fills and drains the rings. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost-engine.h"

/* Fails the current test with a message if 'COND' is false. */
#define CHECK(COND, ...)                                            \
    do {                                                            \
        if (!(COND)) {                                              \
            test_fail(__FILE__, __LINE__, #COND, __VA_ARGS__);      \
        }                                                           \
    } while (0)

void test_fail(const char *file, int line, const char *cond,
               const char *format, ...)
    __attribute__((format(printf, 4, 5), noreturn));

struct test {
    const char *name;
    void (*run)(void);
};
extern const struct test message_tests[];
extern const struct test memory_tests[];
extern const struct test virtqueue_tests[];
extern const struct test dirty_log_tests[];
extern const struct test ctrl_tests[];
extern const struct test offload_tests[];
extern const struct test packed_tests[];

/* Guest memory: one memfd, 'GUEST_SIZE' bytes, seen at 'map' here. */
#define GUEST_SIZE (1024 * 1024)
#define UVA_BASE UINT64_C(0x7f0000000000)   /* Frontend address of gpa 0. */
#define RING_BASE 0x10000                   /* Rings of vring i at ... */
#define RING_STRIDE 0x8000                  /* ... RING_BASE + i * this. */
#define BUF_BASE 0x80000                    /* Buffers from here. */

/* The frontend's view of a region. */
struct fe_region {
    uint64_t gpa, size, file_offset;
};

/* The fake driver's view of a ring.  A packed ring (fe.packed) has its
 * driver and device event areas at 'avail_gpa' and 'used_gpa'; its buffer
 * ids are the slots of their heads. */
#define FE_MAX_RING 512
struct fe_vring {
    uint16_t size;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t next_desc;         /* Next free descriptor (round robin). */
    uint16_t avail_idx;         /* Next avail index to publish. */
    uint16_t used_seen;         /* Used entries consumed (packed: the slot
                                 * of the next used descriptor). */
    int kick_fd, call_fd;       /* Our copies (the engine has dups). */

    /* Packed ring. */
    bool avail_wrap;            /* Wrap counter at 'next_desc'. */
    bool used_wrap;             /* Wrap counter at 'used_seen'. */
    uint16_t head_flags[FE_MAX_RING];   /* By buffer id: the head's flags, */
    uint16_t chain_len[FE_MAX_RING];    /* written by fe_publish(), and */
                                        /* the chain's descriptors. */
};

struct fe {
    struct vhu_device *dev;
    int memfd;
    uint8_t *map;               /* The memfd, 'map_len' bytes. */
    size_t map_len;             /* GUEST_SIZE, or more on hugetlbfs. */
    struct fe_region regions[8];
    unsigned int n_regions;
    struct fe_vring vrings[VHU_MAX_VRINGS];
    uint64_t features;
    uint64_t protocol_features;
    bool packed;                /* VIRTIO_F_RING_PACKED negotiated. */
};

/* Set-up options for fe_setup(). */
struct fe_opts {
    uint64_t features;          /* Negotiated virtio features. */
    uint64_t protocol_features; /* Negotiated protocol features. */
    unsigned int n_qp;          /* Queue pairs to set up (0: none). */
    uint16_t ring_size;         /* Default 256. */
    unsigned int max_qp;        /* Device maximum; default 2. */
    bool two_regions;           /* Split memory at GUEST_SIZE / 2. */
    bool hugetlb;               /* Memory in 2 MB pages (MFD_HUGETLB). */
    uint64_t file_base;         /* File offset of guest address 0. */
};

/* Harness. */
extern bool fe_want_kicks;
extern bool fe_packed;          /* fe_setup() adds VIRTIO_F_RING_PACKED. */
extern bool fe_net_offloads;
void fe_init(struct fe *, unsigned int max_qp);
void fe_setup(struct fe *, const struct fe_opts *);
void fe_destroy(struct fe *);
void fe_grace(struct fe *);

/* Messages. */
int fe_send(struct fe *, uint32_t request, uint32_t flags,
            const void *payload, uint32_t size, const int *fds, size_t n_fds);
int fe_send_u64(struct fe *, uint32_t request, uint64_t value);
int fe_send_state(struct fe *, uint32_t request, uint32_t index,
                  uint32_t num);
bool fe_recv(struct fe *, uint32_t *request, void *payload, uint32_t *size);
uint64_t fe_get_u64(struct fe *, uint32_t request);
void fe_expect_no_reply(struct fe *);
uint64_t fe_expect_ack(struct fe *, uint32_t request);
void fe_send_mem_table(struct fe *);
void fe_setup_vring(struct fe *, unsigned int vring, uint16_t size);
void fe_expect_broken(struct fe *);
int fe_restart_vring(struct fe *, unsigned int vring, uint32_t base);

/* Guest memory. */
void *fe_gpa(struct fe *, uint64_t gpa);
void fe_add_region(struct fe *, uint64_t gpa, uint64_t size,
                   uint64_t file_offset);

/* Fake driver. */
uint16_t fe_add_chain(struct fe *, unsigned int vring, const uint64_t *gpas,
                      const uint32_t *lens, unsigned int n, bool write);
void fe_publish(struct fe *, unsigned int vring, uint16_t head);
bool fe_get_used(struct fe *, unsigned int vring, uint32_t *id,
                 uint32_t *len);
uint64_t fe_read_call(struct fe *, unsigned int vring);
void fe_tx_frame(struct fe *, unsigned int vring, const void *frame,
                 uint32_t len, uint64_t buf_gpa, uint32_t hdr_len);
void fe_post_rx(struct fe *, unsigned int vring, uint64_t buf_gpa,
                uint32_t len);

/* Dequeue with a malloc()-based allocator; the caller frees pkts[i]. */
struct test_pkt {
    uint32_t len;
    uint8_t data[];
};
int fe_dequeue(struct fe *, unsigned int qp, struct test_pkt **pkts,
               int max);
void *test_alloc(void *aux, uint32_t len, void **data);
void test_free(void *aux, void *pkt);

/* Misc. */
int count_fds(void);
void fill_pattern(void *, size_t, unsigned int seed);

#endif /* test-datapath.h */
