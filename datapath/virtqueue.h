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

#ifndef VHU_VIRTQUEUE_H
#define VHU_VIRTQUEUE_H 1

/* Virtqueue access for the data path, knowing nothing of networking: split
 * rings (virtqueue.c) and packed rings (packed-ring.c) behind one interface.
 *
 * A burst starts with vhu_burst_begin(), which checks that the ring is live
 * and loads the memory table, the dirty log and the features once.  The
 * caller then takes heads in order with vhu_burst_head(), walks each chain
 * with vhu_chain_start()/vhu_chain_next(), writes used elements with
 * vhu_burst_used() and commits whole chains with vhu_burst_commit().
 * vhu_burst_end() publishes the used index, updates avail_event and calls
 * the guest if needed (one eventfd write at most).  An invalid descriptor
 * or index breaks the ring (vhu_burst_fail()); what was committed before is
 * still published.
 *
 * A "head" is what vhu_burst_head() returns: a split ring's descriptor
 * index, or, for a packed ring, the chain's position in the burst (the
 * chains found so far are in 'pk').  Either way heads are used in the
 * order they were made available (we offer VIRTIO_F_IN_ORDER). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device-private.h"

/* Chains of a packed ring that a burst handles at most: a burst takes at
 * most 32 frames, but a large frame may take many mergeable buffers (the
 * caller's retry takes the rest). */
#define VHU_PACKED_BURST 512

/* A chain found in a packed ring, and its used descriptor to write. */
struct vhu_pchain {
    struct vhu_pdesc d;         /* The head descriptor as read once, but
                                 * 'id' is the chain's buffer id (its last
                                 * descriptor's) and 'len' becomes the
                                 * bytes written (vhu_burst_used()). */
    uint16_t pos;               /* The head's slot and the wrap counter
                                 * there (vhu_packed_pos()). */
    uint16_t n_desc;            /* Descriptors in the ring. */
};

struct vhu_burst {
    struct vhu_device *dev;
    struct vhu_vring *vr;
    unsigned int vring;
    const struct vhu_mem *mem;
    const struct vhu_log_map *log;  /* NULL unless logging. */
    struct vhu_log_cache log_cache; /* Bits to set in 'log' at the end. */
    uint64_t features;
    uint16_t n_avail;           /* Heads available (split: at the start;
                                 * packed: found so far). */
    uint16_t done;              /* Heads consumed and used so far. */
    bool packed;

    /* Packed ring: where vhu_packed_scan() goes on, and what it found. */
    uint16_t scan_slot;
    bool scan_wrap;
    bool scan_end;              /* Found a descriptor not available. */
    struct vhu_pchain pk[VHU_PACKED_BURST];
};

/* One descriptor's buffer. */
struct vhu_seg {
    uint64_t gpa;
    uint32_t len;
    bool write;                 /* Device-writable. */
};

/* Walks one descriptor chain, following at most one indirect table. */
struct vhu_chain {
    const struct vhu_desc *table;
    uint32_t table_size;
    uint32_t count, max;
    uint16_t next;
    bool more;
    bool indirect;

    /* Packed ring: the descriptors left, from 'next' in 'ptable'. */
    bool packed;
    const struct vhu_pdesc *ptable;
    uint32_t left;
};

bool vhu_burst_begin(struct vhu_burst *, struct vhu_device *,
                     unsigned int vring);
void vhu_burst_end(struct vhu_burst *);
void vhu_burst_call(struct vhu_burst *);
void vhu_burst_fail(struct vhu_burst *, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

void vhu_chain_start(struct vhu_burst *, struct vhu_chain *, uint16_t head);
int vhu_chain_next(struct vhu_burst *, struct vhu_chain *, struct vhu_seg *);
const void *vhu_indirect_map(struct vhu_burst *, uint64_t addr,
                             uint32_t len);

/* packed-ring.c. */
bool vhu_packed_begin(struct vhu_burst *);
uint16_t vhu_packed_scan(struct vhu_burst *, uint16_t want);
void vhu_packed_end(struct vhu_burst *);
void vhu_packed_chain_start(struct vhu_burst *, struct vhu_chain *,
                            uint16_t head);
int vhu_packed_chain_next(struct vhu_burst *, struct vhu_chain *,
                          struct vhu_seg *);
bool vhu_packed_has_avail(const struct vhu_vring *);

/* Per-descriptor helpers, inline for the data path. */

/* Reads a 16-bit field of guest memory (a ring index or flags) exactly
 * once.  A relaxed atomic access, a plain load on the CPUs we run on: the
 * guest and our other threads (vhu_device_vring_info()) access the same
 * fields concurrently, and the ordering is by explicit fences. */
static inline uint16_t
vhu_read_u16(const uint16_t *p)
{
    return atomic_load_explicit((_Atomic uint16_t *) p, memory_order_relaxed);
}

/* Writes a 16-bit field of guest memory exactly once (see above). */
static inline void
vhu_write_u16(uint16_t *p, uint16_t v)
{
    atomic_store_explicit((_Atomic uint16_t *) p, v, memory_order_relaxed);
}

/* Copies descriptor '*src' from guest memory into '*dst', reading each
 * field exactly once (the guest may change it meanwhile). */
static inline void
vhu_read_desc(const struct vhu_desc *src, struct vhu_desc *dst)
{
    const volatile struct vhu_desc *v = src;

    dst->addr = v->addr;
    dst->len = v->len;
    dst->flags = v->flags;
    dst->next = v->next;
}

/* Marks bytes [ofs, ofs + len) of the used ring dirty, if logging it. */
static inline void
vhu_log_used(struct vhu_burst *b, uint64_t ofs, uint64_t len)
{
    if (b->log && b->vr->log_used) {
        vhu_log_cache_mark(&b->log_cache, b->log, b->vr->log_addr + ofs, len);
    }
}

/* Returns how many heads are available after those done, at least
 * 'want' of them if there are (a packed ring is read that far). */
static inline uint16_t
vhu_burst_avail(struct vhu_burst *b, uint16_t want)
{
    if (__builtin_expect(b->packed, 0)
        && b->n_avail - b->done < want && !b->scan_end) {
        vhu_packed_scan(b, b->done + want);
    }
    return b->n_avail - b->done;
}

/* True if the guest made head 'ofs' entries after the last one consumed
 * available (as far as the burst knows). */
static inline bool
vhu_burst_has(struct vhu_burst *b, uint16_t ofs)
{
    return ofs >= b->done && vhu_burst_avail(b, ofs - b->done + 1)
                             > ofs - b->done;
}

/* True if the guest has made a head available that 'vr' (live) has not
 * consumed. */
static inline bool
vhu_vring_has_avail(const struct vhu_vring *vr)
{
    return (vr->packed ? vhu_packed_has_avail(vr)
            : vhu_read_u16(&vr->avail->idx) != vr->last_avail_idx);
}

/* Reads into '*head' the descriptor head 'ofs' entries after the last one
 * consumed ('ofs' < b->n_avail).  Returns false, breaking the ring, if it
 * is out of range. */
static inline bool
vhu_burst_head(struct vhu_burst *b, uint16_t ofs, uint16_t *head)
{
    struct vhu_vring *vr = b->vr;
    uint16_t slot;

    if (b->packed) {
        *head = ofs;
        return true;
    }
    slot = (uint16_t) (vr->last_avail_idx + ofs) & (vr->size - 1);
    *head = vhu_read_u16(&vr->avail->ring[slot]);
    if (__builtin_expect(*head >= vr->size, 0)) {
        vhu_burst_fail(b, "descriptor head %u out of range", *head);
        return false;
    }
    return true;
}

/* Writes the used element 'ofs' entries after the last one published
 * (invisible to the guest until vhu_burst_end()). */
static inline void
vhu_burst_used(struct vhu_burst *b, uint16_t ofs, uint32_t id, uint32_t len)
{
    struct vhu_vring *vr = b->vr;
    uint16_t slot;
    struct vhu_used_elem *e;

    if (b->packed) {
        /* Written when the burst ends: until then the slot is the
         * guest's available descriptor. */
        b->pk[ofs].d.len = len;
        return;
    }
    slot = (uint16_t) (vr->last_used_idx + ofs) & (vr->size - 1);
    e = &vr->used->ring[slot];
    /* Written whole: one 8-byte store rather than two. */
    *e = (struct vhu_used_elem) { .id = id, .len = len };
    vhu_log_used(b, offsetof(struct vhu_used, ring) + slot * sizeof *e,
                 sizeof *e);
}

/* Writes the 'n' used elements 'elems' from 'ofs' entries after the last
 * one published.  Data-path loops collect a burst's elements on their own
 * stack and write them here at once: the used ring is read by the other
 * side, and a store to it held among the stores of the copies would keep
 * them waiting for that cache line.  The ring's address, size and logging
 * are read once for all of them. */
static inline void
vhu_burst_used_n(struct vhu_burst *b, uint16_t ofs,
                 const struct vhu_used_elem *elems, int n)
{
    struct vhu_vring *vr = b->vr;
    struct vhu_used_elem *ring = vr->used->ring;
    uint16_t mask = vr->size - 1;
    uint16_t slot = vr->last_used_idx + ofs;

    if (__builtin_expect(b->packed, 0)) {
        /* Only the lengths: vhu_burst_used()'s loop costs a packed burst
         * 14 instructions per frame more. */
        for (int k = 0; k < n; k++) {
            b->pk[ofs + k].d.len = elems[k].len;
        }
        return;
    }
    if (__builtin_expect(b->log && vr->log_used, 0)) {
        for (int k = 0; k < n; k++) {
            vhu_burst_used(b, ofs + k, elems[k].id, elems[k].len);
        }
        return;
    }
    for (int k = 0; k < n; k++, slot++) {
        /* Written whole: one 8-byte store rather than two. */
        ring[slot & mask] = elems[k];
    }
}

/* Commits 'n' more heads consumed with their used elements written. */
static inline void
vhu_burst_commit(struct vhu_burst *b, uint16_t n)
{
    b->done += n;
}

#endif /* virtqueue.h */
