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

#ifndef VHU_DEVICE_PRIVATE_H
#define VHU_DEVICE_PRIVATE_H 1

/* Internal state of a vhost-user device, shared by the engine's files:
 *
 *   device.c      device life cycle, state queries, grace periods.
 *   message.c     message framing and one handler per request.
 *   memory.c      the memory table: mapping, validation, translation.
 *   virtqueue.c   virtqueues: ring life cycle, split ring access.
 *   packed-ring.c packed ring access for the data path.
 *   virtio-net.c  the net data path: dequeue and enqueue.
 *   dirty-log.c   dirty page logging for live migration.
 *   ctrl-queue.c  the virtio-net control queue.
 *   guest-fault.c frontend memory that disappears (SIGBUS).
 *
 * Concurrency: one control thread changes everything here.  Data-path
 * threads read a ring only while its 'live' flag is set (acquire), and the
 * memory table and dirty log through their atomic pointers; the control
 * thread clears 'live' or swaps a pointer first, then waits for a grace
 * period (vhu_device_wants_grace()) before it touches what the data path
 * may still be using. */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost-engine.h"
#include "vhost-user-protocol.h"

/* Split ring layout (virtio 1.x, 2.7). */
struct vhu_desc {
    uint64_t addr;              /* Guest physical address. */
    uint32_t len;
    uint16_t flags;             /* VHU_DESC_F_*. */
    uint16_t next;
};
#define VHU_DESC_F_NEXT     1
#define VHU_DESC_F_WRITE    2
#define VHU_DESC_F_INDIRECT 4

struct vhu_avail {
    uint16_t flags;             /* VHU_AVAIL_F_NO_INTERRUPT. */
    uint16_t idx;
    uint16_t ring[];            /* Then 'used_event'. */
};
#define VHU_AVAIL_F_NO_INTERRUPT 1

struct vhu_used_elem {
    uint32_t id;
    uint32_t len;
};

#define VHU_VRING_USED_F_NO_NOTIFY 1

struct vhu_used {
    uint16_t flags;
    uint16_t idx;
    struct vhu_used_elem ring[]; /* Then 'avail_event'. */
};

/* Bytes of each ring for 'size' entries, event fields included. */
#define VHU_DESC_BYTES(SIZE)  ((size_t) (SIZE) * 16)
#define VHU_AVAIL_BYTES(SIZE) (6 + (size_t) (SIZE) * 2)
#define VHU_USED_BYTES(SIZE)  (6 + (size_t) (SIZE) * 8)

/* Packed ring layout (virtio 1.x, 2.8): one descriptor ring, which the
 * device also writes used descriptors into, and two event suppression
 * areas, the driver's (at the split ring's avail address) and the
 * device's (at the used address). */
struct vhu_pdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;                /* Buffer id (of the chain's last). */
    uint16_t flags;             /* VHU_DESC_F_* and the two below. */
};
#define VHU_PDESC_F_AVAIL (1 << 7)
#define VHU_PDESC_F_USED  (1 << 15)

struct vhu_pevent {
    uint16_t off_wrap;          /* Descriptor offset, wrap counter bit 15. */
    uint16_t flags;             /* VHU_PEVENT_*. */
};
#define VHU_PEVENT_ENABLE  0
#define VHU_PEVENT_DISABLE 1
#define VHU_PEVENT_DESC    2

#define VHU_PEVENT_BYTES 4

/* A position in a packed ring with its wrap counter, as ring bases, event
 * offsets and our published positions carry them: the slot in bits 0-14,
 * the wrap counter in bit 15. */
#define VHU_PACKED_WRAP 0x8000

static inline uint16_t
vhu_packed_pos(uint16_t slot, bool wrap)
{
    return slot | (wrap ? VHU_PACKED_WRAP : 0);
}

static inline uint16_t
vhu_packed_pos_slot(uint16_t pos)
{
    return pos & ~VHU_PACKED_WRAP;
}

static inline bool
vhu_packed_pos_wrap(uint16_t pos)
{
    return (pos & VHU_PACKED_WRAP) != 0;
}

/* Memory table (memory.c). */

/* One mmap() of a region's fd.  Shared by the tables that contain the
 * region (ADD_MEM_REG copies the table); 'refcnt' is only touched by the
 * control thread. */
struct vhu_mapping {
    int refcnt;
    void *addr;
    size_t len;
    int fault_slot;             /* In guest-fault.c, or -1. */
};

struct vhu_region {
    uint64_t gpa;               /* Guest physical address of first byte. */
    uint64_t uva;               /* Frontend's user address of first byte. */
    uint64_t size;              /* Bytes; never 0. */
    uint8_t *host;              /* Our address of first byte. */
    struct vhu_mapping *mapping;
};

/* An immutable memory table, published through vhu_device.mem. */
struct vhu_mem {
    unsigned int n;
    struct vhu_region regions[VHU_MAX_MEM_REGIONS];
};

/* Dirty log (dirty-log.c), published through vhu_device.log. */
struct vhu_log_map {
    uint8_t *bitmap;            /* One bit per VHU_LOG_PAGE_SIZE page. */
    uint64_t size;              /* Bytes in 'bitmap'. */
    void *addr;                 /* What to munmap(). */
    size_t len;
    int fault_slot;             /* In guest-fault.c, or -1. */
};

/* Dirty-log bits a burst has yet to set: one entry per bitmap byte.  The
 * bits are set together when the burst ends (or the cache fills), after a
 * release fence, so that the frontend never sees a page's bit before the
 * data written into the page, and each byte is ORed once per burst. */
#define VHU_LOG_CACHE_SIZE 16
struct vhu_log_cache {
    unsigned int n;
    uint64_t byte[VHU_LOG_CACHE_SIZE];
    uint8_t bits[VHU_LOG_CACHE_SIZE];
};

/* Per-ring counters: written only by the ring's data-path thread, read by
 * anyone (relaxed atomics, single writer). */
struct vhu_vring_counters {
    _Atomic uint64_t packets;
    _Atomic uint64_t bytes;
    _Atomic uint64_t dropped;
    _Atomic uint64_t errors;
    _Atomic uint64_t notifications;
    _Atomic uint64_t logged;
    _Atomic uint64_t bad_offloads;
};

struct vhu_vring {
    /* Published to the data path.  Set (release) only with every field
     * below translated and valid; cleared by the control thread, after
     * which it waits for a grace period before it changes them. */
    atomic_bool live;

    /* Set by the data path when the ring holds an invalid descriptor or
     * index; the ring then does nothing until it is restarted. */
    atomic_bool broken;

    /* The call eventfd, or -1.  Swapped by the control thread while live;
     * the old one is closed after a grace period. */
    _Atomic int call_fd;

    /* 'kick_fd' if it is an eventfd, otherwise -1: what a data-path thread
     * that sleeps may wait on (vhu_rx_arm()).  Swapped like 'call_fd'. */
    _Atomic int kick_fd_dp;

    /* Read by the data path while live, written by control while not.
     * A packed ring ('packed') has struct vhu_pdesc at 'desc' and the
     * driver's and device's struct vhu_pevent at 'avail' and 'used'. */
    struct vhu_desc *desc;
    struct vhu_avail *avail;
    struct vhu_used *used;
    uint16_t size;
    bool packed;
    bool log_used;              /* Log used ring writes at 'log_addr'. */
    uint64_t log_addr;
    uint64_t desc_log_addr;     /* Packed: guest address of 'desc', where
                                 * used descriptors are logged. */

    /* Owned by the data path while live, by the control thread while not
     * (after a grace period). */
    uint16_t last_avail_idx;    /* Packed: slots, less than 'size'. */
    uint16_t last_used_idx;
    bool avail_wrap;            /* Packed: the wrap counters at those. */
    bool used_wrap;
    uint16_t signalled_used;
    bool signalled_used_valid;
    unsigned int mem_hint;      /* Last region hit in the memory table. */
    _Atomic uint16_t avail_idx_seen; /* For vhu_device_vring_info(): the */
    _Atomic uint16_t used_idx_seen;  /* indexes as their owner last set. */

    struct vhu_vring_counters stats;

    /* Control thread only. */
    bool has_num;               /* SET_VRING_NUM received. */
    bool has_addr;              /* SET_VRING_ADDR received. */
    uint32_t num;
    struct vhu_vring_addr addr;
    bool started;               /* SET_VRING_KICK, not stopped since. */
    bool enable;                /* SET_VRING_ENABLE(1). */
    const struct vhu_mem *unmapped_mem; /* Table the ring was not in (only
                                         * compared, to log it once). */
    int kick_fd;
    int err_fd;
};

/* Something the data path may still use, released by grace_done. */
enum vhu_retired_type {
    VHU_RETIRED_FD,
    VHU_RETIRED_MEM,
    VHU_RETIRED_LOG,
};

struct vhu_retired {
    enum vhu_retired_type type;
    union {
        int fd;
        struct vhu_mem *mem;
        struct vhu_log_map *log;
    };
};

/* A vhost-user message, as received (and as its reply is built). */
struct vhu_msg {
    struct vhu_msg *next;       /* In vhu_device's queue. */
    struct vhu_msg_header hdr;
    union vhu_msg_payload payload;
    int fds[VHU_MSG_MAX_FDS];   /* Handlers set those they keep to -1. */
    size_t n_fds;
};

/* What other threads see of a device (vhu_device_features(),
 * vhu_device_vring_info(), ...): a copy of the control thread's fields,
 * which it publishes at the end of each of its calls into the engine.  The
 * data path's own state (ring indexes, broken rings, counters) is read
 * from its atomics.  So no other thread ever reads the control thread's
 * fields while it changes them, nor guest memory. */
struct vhu_pub_vring {
    bool configured;
    bool started;
    bool enabled;
    bool log_used;
    bool packed;
    uint16_t size;
    int kick_fd;
};

struct vhu_pub {
    uint64_t features;
    uint64_t protocol_features;
    unsigned int n_queue_pairs;
    bool running;
    bool logging;
    unsigned int ctrl_pairs;
    uint32_t mtu;
    int numa_node;
    struct vhu_pub_vring vrings[VHU_MAX_VRINGS];
};

struct vhu_device {
    char *name;
    struct vhu_device_options opts;     /* 'name' points to 'name' above. */
    uint64_t offered_features;
    uint64_t offered_protocol_features;

    /* Negotiated state. */
    _Atomic uint64_t features;  /* Read by the data path (relaxed). */
    uint64_t protocol_features;
    bool owner;
    uint8_t status;
    uint32_t mtu;
    uint8_t rarp_mac[6];
    bool rarp_pending;
    int numa_node;              /* See vhu_device_numa_node(). */
    unsigned int ctrl_pairs;    /* From VQ_PAIRS_SET; 1 until then. */
    unsigned int config_pairs;  /* max_virtqueue_pairs (GET_CONFIG). */
    _Atomic uint16_t config_mtu;    /* mtu (GET_CONFIG), set by the caller. */

    _Atomic uint64_t change_seq;
    bool broken;
    uint64_t faults_seen;       /* vhu_fault_count() when last checked. */
    bool grace_wanted;

    _Atomic(struct vhu_mem *) mem;      /* NULL if no table. */
    _Atomic(struct vhu_log_map *) log;  /* NULL if no log. */

    struct vhu_retired *retired;
    size_t n_retired, allocated_retired;

    struct vhu_vring vrings[VHU_MAX_VRINGS];

    /* Input: the message being assembled, then complete messages waiting
     * to be handled (e.g. during a grace period). */
    struct vhu_msg *cur;
    size_t cur_len;             /* Bytes of 'cur' received so far. */
    struct vhu_msg *queue;
    struct vhu_msg **queue_tail;
    size_t n_queued;

    /* Output: replies to send, from 'out + out_ofs'. */
    uint8_t *out;
    size_t out_ofs, out_len, out_alloc;

    /* A reply sent after the next grace period (request 0 if none), for
     * 'deferred_vring' (ours), which the frontend calls 'deferred_index'. */
    uint32_t deferred_request;
    unsigned int deferred_vring;
    uint32_t deferred_index;

    /* Published state (see struct vhu_pub). */
    pthread_mutex_t pub_mutex;
    struct vhu_pub pub;
};

/* device.c. */
void vhu_device_changed(struct vhu_device *);
void vhu_device_break(struct vhu_device *);
void vhu_device_retire_fd(struct vhu_device *, int fd);
void vhu_device_retire_mem(struct vhu_device *, struct vhu_mem *);
void vhu_device_retire_log(struct vhu_device *, struct vhu_log_map *);
void vhu_device_want_grace(struct vhu_device *);
void vhu_device_stop_all_rings(struct vhu_device *);
void vhu_device_publish(struct vhu_device *);
void vhu_device_learn_numa(struct vhu_device *, const void *addr);

/* message.c. */
void vhu_msg_free(struct vhu_msg *);
void vhu_msg_process_queue(struct vhu_device *);
void vhu_msg_send_deferred(struct vhu_device *);
void vhu_msg_flush_input(struct vhu_device *);

/* memory.c. */
struct vhu_mem *vhu_mem_clone(const struct vhu_mem *);
void vhu_mem_free(struct vhu_mem *);
int vhu_mem_add_region(struct vhu_device *, struct vhu_mem *,
                       const struct vhu_mem_region *, int fd);
bool vhu_mem_has_region(const struct vhu_mem *,
                        const struct vhu_mem_region *);
bool vhu_mem_remove_region(struct vhu_mem *, const struct vhu_mem_region *);
uint8_t *vhu_mem_gpa_to_host(const struct vhu_mem *, unsigned int *hint,
                             uint64_t gpa, uint64_t *contig);
void *vhu_mem_gpa_range(const struct vhu_mem *, unsigned int *hint,
                        uint64_t gpa, uint64_t len);
void *vhu_mem_uva_range(const struct vhu_mem *, uint64_t uva, uint64_t len);
bool vhu_mem_uva_to_gpa(const struct vhu_mem *, uint64_t uva, uint64_t *gpa);

/* virtqueue.c (control side). */
void vhu_vring_init(struct vhu_vring *);
bool vhu_vring_should_be_live(const struct vhu_device *,
                              const struct vhu_vring *);
void vhu_vring_unpublish(struct vhu_device *, struct vhu_vring *);
void vhu_vring_sync(struct vhu_device *, struct vhu_vring *);
void vhu_vring_sync_all(struct vhu_device *);
void vhu_vring_close_fds(struct vhu_device *, struct vhu_vring *);
void vhu_vring_set_kick_fd(struct vhu_device *, struct vhu_vring *, int fd);
void vhu_vring_write_used_flags(struct vhu_device *, struct vhu_vring *,
                                uint16_t flags);
void vhu_vring_write_avail_event(struct vhu_device *, struct vhu_vring *,
                                 uint16_t idx);

/* memory.c. */
void *vhu_mmap_guest(size_t len, int fd, off_t offset);

/* packed-ring.c (control side). */
void vhu_packed_publish_position(struct vhu_vring *);
uint16_t vhu_packed_count_avail(const struct vhu_vring *, uint16_t pos);

/* ctrl-queue.c. */
bool vhu_ctrl_is_served(const struct vhu_device *);
bool vhu_ctrl_index_is_data(const struct vhu_device *, int ctrl);
void vhu_ctrl_config(const struct vhu_device *, struct vhu_net_config *);
bool vhu_ctrl_excludes(const struct vhu_device *, unsigned int vring);
int vhu_ctrl_vring_index(const struct vhu_device *);
void vhu_ctrl_reset(struct vhu_device *);

/* dirty-log.c. */
int vhu_log_set_base(struct vhu_device *, const struct vhu_log *, int fd);
void vhu_log_mark(const struct vhu_log_map *, uint64_t gpa, uint64_t len);
void vhu_log_cache_mark(struct vhu_log_cache *, const struct vhu_log_map *,
                        uint64_t gpa, uint64_t len);
void vhu_log_cache_flush(struct vhu_log_cache *, const struct vhu_log_map *);
void vhu_log_free(struct vhu_log_map *);

/* guest-fault.c. */
int vhu_fault_register(const char *name, void *addr, size_t len);
void vhu_fault_unregister(int slot);
bool vhu_fault_happened(int slot);

/* Shorthands. */
static inline struct vhu_mem *
vhu_device_mem(const struct vhu_device *dev)
{
    return atomic_load_explicit(&((struct vhu_device *) dev)->mem,
                                memory_order_acquire);
}

static inline uint64_t
vhu_device_features_relaxed(const struct vhu_device *dev)
{
    return atomic_load_explicit(&((struct vhu_device *) dev)->features,
                                memory_order_relaxed);
}

/* Returns our pointer to guest physical range [gpa, gpa + len) if it lies
 * within one region of 'mem', otherwise NULL, trying the region of the last
 * hit ('*hint') inline first: the data path's translation. */
static inline void *
vhu_mem_translate(const struct vhu_mem *mem, unsigned int *hint,
                  uint64_t gpa, uint64_t len)
{
    unsigned int i = *hint;

    if (__builtin_expect(i < mem->n, 1)) {
        const struct vhu_region *r = &mem->regions[i];
        uint64_t ofs = gpa - r->gpa;

        if (__builtin_expect(ofs < r->size && len <= r->size - ofs, 1)) {
            return r->host + ofs;
        }
    }
    return vhu_mem_gpa_range(mem, hint, gpa, len);
}

/* True if the device's rings are packed (VIRTIO_F_RING_PACKED). */
static inline bool
vhu_vring_is_packed(const struct vhu_device *dev)
{
    return (vhu_device_features_relaxed(dev)
            & VHU_BIT(VHU_VIRTIO_F_RING_PACKED)) != 0;
}

/* Bytes at a ring's avail and used addresses: a split ring's available and
 * used rings, or a packed ring's driver and device event areas. */
static inline size_t
vhu_vring_avail_bytes(bool packed, uint32_t size)
{
    return packed ? VHU_PEVENT_BYTES : VHU_AVAIL_BYTES(size);
}

static inline size_t
vhu_vring_used_bytes(bool packed, uint32_t size)
{
    return packed ? VHU_PEVENT_BYTES : VHU_USED_BYTES(size);
}

/* Adds 'n' to counter 'c' (single writer: no locked instruction). */
static inline void
vhu_counter_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
                          + n, memory_order_relaxed);
}

#endif /* device-private.h */
