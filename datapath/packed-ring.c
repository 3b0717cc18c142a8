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
#include "virtqueue.h"

#include <inttypes.h>
#include <string.h>

#include "log.h"

/* Packed virtqueues (virtio 1.x, 2.8) for the data path, behind the burst
 * interface of virtqueue.h.
 *
 * The driver makes a chain available by writing its descriptors into
 * consecutive slots of the one descriptor ring, the head's flags last; a
 * descriptor is available when its AVAIL flag equals the ring's wrap
 * counter and its USED flag does not.  The device hands chains back by
 * writing used descriptors (buffer id, bytes written, AVAIL and USED both
 * equal to its wrap counter) into the same ring.  We use chains in the
 * order they were made available, so the used descriptor of a chain goes
 * into the slot of its head, and the avail and used positions are equal
 * whenever a burst ends.
 *
 * A burst first finds the chains (vhu_packed_scan(), as far as its caller
 * wants, reading each descriptor once and keeping the head's buffer), then
 * writes every used descriptor when it ends, each in one release store of
 * its length, id and flags, the first chain's last, so that the driver
 * sees the burst's chains together and never a used descriptor before the
 * data written into its buffers. */

static inline struct vhu_pdesc *
desc_ring(const struct vhu_vring *vr)
{
    return (struct vhu_pdesc *) vr->desc;
}

/* True if a descriptor with 'flags' is available to the device at wrap
 * counter 'wrap'. */
static inline bool
desc_is_avail(uint16_t flags, bool wrap)
{
    return ((flags & (VHU_PDESC_F_AVAIL | VHU_PDESC_F_USED))
            == (wrap ? VHU_PDESC_F_AVAIL : VHU_PDESC_F_USED));
}

/* Copies descriptor '*src' from guest memory, each field read once. */
static inline void
read_pdesc(const struct vhu_pdesc *src, struct vhu_pdesc *dst)
{
    const volatile struct vhu_pdesc *v = src;

    dst->addr = v->addr;
    dst->len = v->len;
    dst->id = v->id;
    dst->flags = v->flags;
}

/* Publishes the position of 'vr' for vhu_device_vring_info(): the slot
 * and, in bit 15, the wrap counter. */
void
vhu_packed_publish_position(struct vhu_vring *vr)
{
    uint16_t pos = vhu_packed_pos(vr->last_avail_idx, vr->avail_wrap);

    atomic_store_explicit(&vr->avail_idx_seen, pos, memory_order_relaxed);
    atomic_store_explicit(&vr->used_idx_seen, pos, memory_order_relaxed);
}

/* Counts the descriptors available in 'vr' from position 'pos' (as
 * published), up to the ring's size: for vhu_device_vring_info(). */
uint16_t
vhu_packed_count_avail(const struct vhu_vring *vr, uint16_t pos)
{
    const struct vhu_pdesc *ring = desc_ring(vr);
    uint16_t slot = vhu_packed_pos_slot(pos);
    bool wrap = vhu_packed_pos_wrap(pos);
    uint16_t n = 0;

    while (n < vr->size && slot < vr->size
           && desc_is_avail(vhu_read_u16(&ring[slot].flags), wrap)) {
        n++;
        if (++slot == vr->size) {
            slot = 0;
            wrap = !wrap;
        }
    }
    return n;
}

bool
vhu_packed_has_avail(const struct vhu_vring *vr)
{
    const struct vhu_pdesc *d = &desc_ring(vr)[vr->last_avail_idx];

    return desc_is_avail(vhu_read_u16(&d->flags), vr->avail_wrap);
}

/* Starts burst 'b' on its packed ring: true if a chain is available. */
bool
vhu_packed_begin(struct vhu_burst *b)
{
    b->scan_slot = b->vr->last_avail_idx;
    b->scan_wrap = b->vr->avail_wrap;
    b->scan_end = false;
    return vhu_packed_scan(b, 1) > 0;
}

/* Reads the chain of several descriptors (or with an indirect table) whose
 * head, at 'slot' with wrap counter 'wrap', is available and has 'flags',
 * into 'pk', and moves '*slotp' and '*wrapp' past it.  Returns false if
 * the chain is not complete (not an error: the driver makes the head
 * available last) or broke the ring. */
static bool
scan_chain(struct vhu_burst *b, struct vhu_pchain *pk, uint16_t *slotp,
           bool *wrapp, uint16_t flags)
{
    const struct vhu_pdesc *ring = desc_ring(b->vr);
    uint16_t size = b->vr->size;
    uint16_t slot = *slotp;
    bool wrap = *wrapp;
    uint32_t n = 0;
    uint16_t id = 0;

    for (;;) {
        if (n && !desc_is_avail(flags, wrap)) {
            return false;
        }
        atomic_thread_fence(memory_order_acquire);
        id = vhu_read_u16(&ring[slot].id);
        if (++n > size) {
            vhu_burst_fail(b, "descriptor chain longer than the ring "
                           "(%"PRIu16")", size);
            b->scan_end = true;
            return false;
        }
        if (++slot == size) {
            slot = 0;
            wrap = !wrap;
        }
        if ((flags & (VHU_DESC_F_NEXT | VHU_DESC_F_INDIRECT))
            != VHU_DESC_F_NEXT) {
            break;
        }
        flags = vhu_read_u16(&ring[slot].flags);
    }
    if (flags & VHU_DESC_F_NEXT) {
        vhu_burst_fail(b, "indirect descriptor with NEXT flag");
        b->scan_end = true;
        return false;
    }
    pk->n_desc = n;
    pk->d.id = id;
    *slotp = slot;
    *wrapp = wrap;
    return true;
}

/* Finds the chains after those found so far, until 'b' knows of 'want'
 * (at most VHU_PACKED_BURST) or the next is not available.  Returns how
 * many it knows of.  A chain whose head is available but not the rest is
 * not complete (the driver makes the head available last), and waits; a
 * chain longer than the ring, or an indirect descriptor with NEXT, breaks
 * the ring.  Each descriptor is read once: its flags, then the rest, and
 * the head's buffer is kept for stage_heads(). */
uint16_t
vhu_packed_scan(struct vhu_burst *b, uint16_t want)
{
    const struct vhu_pdesc *ring = desc_ring(b->vr);
    uint16_t size = b->vr->size;
    uint16_t n_avail = b->n_avail;
    uint16_t slot = b->scan_slot;
    bool wrap = b->scan_wrap;

    if (want > VHU_PACKED_BURST) {
        want = VHU_PACKED_BURST;
    }
    while (n_avail < want) {
        const volatile uint64_t *v = (const volatile uint64_t *) &ring[slot];
        uint16_t flags = vhu_read_u16(&ring[slot].flags);
        struct vhu_pchain *pk = &b->pk[n_avail];
        uint64_t w[2];

        if (!desc_is_avail(flags, wrap)) {
            b->scan_end = true;
            break;
        }
        /* The rest of the descriptor after its flags, in two loads. */
        atomic_thread_fence(memory_order_acquire);
        w[0] = v[0];
        w[1] = v[1];
        memcpy(&pk->d, w, sizeof pk->d);
        pk->pos = vhu_packed_pos(slot, wrap);
        if (__builtin_expect(flags & (VHU_DESC_F_NEXT | VHU_DESC_F_INDIRECT),
                             0)) {
            if (!scan_chain(b, pk, &slot, &wrap, flags)) {
                b->scan_end = true;
                break;
            }
        } else {
            pk->n_desc = 1;
            if (++slot == size) {
                slot = 0;
                wrap = !wrap;
            }
        }
        n_avail++;
    }
    b->n_avail = n_avail;
    b->scan_slot = slot;
    b->scan_wrap = wrap;
    return n_avail;
}

/* Starts walking the chain of 'head' (a position in the burst, less than
 * b->n_avail). */
void
vhu_packed_chain_start(struct vhu_burst *b, struct vhu_chain *c,
                       uint16_t head)
{
    const struct vhu_pchain *pk = &b->pk[head];

    c->packed = true;
    c->ptable = desc_ring(b->vr);
    c->table_size = b->vr->size;
    c->next = vhu_packed_pos_slot(pk->pos);
    c->left = pk->n_desc;
    c->count = 0;
    c->indirect = false;
}

/* vhu_chain_next() for a packed ring.  The chain's length in the ring was
 * found by vhu_packed_scan(); each descriptor is read again, once, and
 * checked here (the guest may have changed it since). */
int
vhu_packed_chain_next(struct vhu_burst *b, struct vhu_chain *c,
                      struct vhu_seg *seg)
{
    for (;;) {
        struct vhu_pdesc d;

        if (!c->left) {
            return 0;
        }
        read_pdesc(&c->ptable[c->next], &d);
        c->left--;
        c->count++;
        if (++c->next == c->table_size && !c->indirect) {
            c->next = 0;
        }
        if (c->indirect || !(d.flags & VHU_DESC_F_INDIRECT)) {
            /* In an indirect table only WRITE means anything. */
            seg->gpa = d.addr;
            seg->len = d.len;
            seg->write = (d.flags & VHU_DESC_F_WRITE) != 0;
            return 1;
        }

        /* Switch to an indirect table, which must be the whole chain. */
        if (c->count != 1 || c->left) {
            vhu_burst_fail(b, "indirect descriptor in a chain");
            return -1;
        }
        c->ptable = vhu_indirect_map(b, d.addr, d.len);
        if (!c->ptable) {
            return -1;
        }
        c->table_size = d.len / sizeof(struct vhu_pdesc);
        c->left = c->table_size;
        c->next = 0;
        c->indirect = true;
    }
}

/* True if the guest wants to be called now that the used descriptors up to
 * the ring's used position are written (virtio 1.x 2.8.10 and 2.8.21). */
static bool
need_call(struct vhu_burst *b)
{
    struct vhu_vring *vr = b->vr;
    const struct vhu_pevent *ev = (const struct vhu_pevent *) vr->avail;
    uint16_t flags = vhu_read_u16(&ev->flags);
    uint16_t old = vr->signalled_used;
    uint16_t new = vr->last_used_idx;
    bool valid = vr->signalled_used_valid;
    uint16_t off_wrap, off;

    vr->signalled_used = new;
    vr->signalled_used_valid = true;
    if (flags == VHU_PEVENT_DISABLE) {
        return false;
    }
    if (flags != VHU_PEVENT_DESC
        || !(b->features & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX))
        || !valid) {
        return true;
    }

    /* Call if the used position crossed the driver's event offset.  The
     * positions are slots of two laps: make them one line. */
    off_wrap = vhu_read_u16(&ev->off_wrap);
    off = vhu_packed_pos_slot(off_wrap);
    if (new <= old) {
        old -= vr->size;
    }
    if (vr->used_wrap != vhu_packed_pos_wrap(off_wrap)) {
        off -= vr->size;
    }
    return (uint16_t) (new - off - 1) < (uint16_t) (new - old);
}

/* Marks used descriptor 'slot' dirty, if logging the rings. */
static inline void
log_pdesc(struct vhu_burst *b, uint16_t slot)
{
    if (b->log && b->vr->log_used) {
        vhu_log_cache_mark(&b->log_cache, b->log,
                           b->vr->desc_log_addr
                           + (uint64_t) slot * sizeof(struct vhu_pdesc),
                           sizeof(struct vhu_pdesc));
    }
}

/* Ends burst 'b' on its packed ring: writes the used descriptors of the
 * chains committed, moves the ring's positions past them and calls the
 * guest once if it asked for it. */
void
vhu_packed_end(struct vhu_burst *b)
{
    struct vhu_vring *vr = b->vr;
    struct vhu_pdesc *ring = desc_ring(vr);
    const struct vhu_pchain *last;
    uint32_t slot;
    bool wrap;

    if (!b->done) {
        return;
    }
    if (b->log) {
        /* The guest's buffers are logged before the flags tell that they
         * are there, as with the split ring's used index. */
        vhu_counter_add(&vr->stats.logged, b->done);
        vhu_log_cache_flush(&b->log_cache, b->log);
    }
    /* Each used descriptor in one 8-byte store of its length, id and
     * flags (little-endian, as virtio 1 is), with release semantics: the
     * driver sees the whole descriptor, and the frames before it.  Last
     * chain first: the first one, which the driver reads first, is the
     * last store. */
    for (int k = b->done - 1; k >= 0; k--) {
        const struct vhu_pchain *pk = &b->pk[k];
        uint16_t at = vhu_packed_pos_slot(pk->pos);
        uint64_t flags = (vhu_packed_pos_wrap(pk->pos)
                          ? VHU_PDESC_F_AVAIL | VHU_PDESC_F_USED : 0);

        if (pk->d.len) {
            flags |= VHU_DESC_F_WRITE;
        }
        atomic_store_explicit((_Atomic uint64_t *) &ring[at].len,
                              (pk->d.len | (uint64_t) pk->d.id << 32
                               | flags << 48), memory_order_release);
    }
    if (b->log) {
        for (int k = 0; k < b->done; k++) {
            log_pdesc(b, vhu_packed_pos_slot(b->pk[k].pos));
        }
        vhu_log_cache_flush(&b->log_cache, b->log);
    }

    last = &b->pk[b->done - 1];
    slot = (uint32_t) vhu_packed_pos_slot(last->pos) + last->n_desc;
    wrap = vhu_packed_pos_wrap(last->pos);
    if (slot >= vr->size) {
        slot -= vr->size;
        wrap = !wrap;
    }
    vr->last_avail_idx = vr->last_used_idx = slot;
    vr->avail_wrap = vr->used_wrap = wrap;
    vhu_packed_publish_position(vr);

    /* Order the flags' stores before reading the driver's event area. */
    atomic_thread_fence(memory_order_seq_cst);
    if (need_call(b)) {
        vhu_burst_call(b);
    }
}
