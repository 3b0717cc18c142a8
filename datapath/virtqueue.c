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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Split virtqueues: the control side of a ring's life cycle (publishing and
 * unpublishing it to the data path) and the data path's ring access. */

/* Control side. */

/* Initializes 'vr' as a stopped ring with no fds. */
void
vhu_vring_init(struct vhu_vring *vr)
{
    memset(vr, 0, sizeof *vr);
    atomic_init(&vr->live, false);
    atomic_init(&vr->broken, false);
    atomic_init(&vr->call_fd, -1);
    atomic_init(&vr->kick_fd_dp, -1);
    atomic_init(&vr->avail_idx_seen, 0);
    atomic_init(&vr->used_idx_seen, 0);
    vr->kick_fd = -1;
    vr->err_fd = -1;
}

/* True if 'vr' should be published to the data path: started, enabled,
 * with a size, addresses and a memory table, and neither it nor the device
 * broken. */
bool
vhu_vring_should_be_live(const struct vhu_device *dev,
                         const struct vhu_vring *vr)
{
    bool enabled = vr->enable || !(vhu_device_features_relaxed(dev)
                                   & VHU_BIT(VHU_F_PROTOCOL_FEATURES));

    return (!dev->broken && vr->started && enabled && vr->has_num
            && vr->has_addr && vhu_device_mem(dev)
            && !atomic_load_explicit(&((struct vhu_vring *) vr)->broken,
                                     memory_order_relaxed)
            && !vhu_ctrl_excludes(dev, vr - dev->vrings));
}

/* True if the guest should kick 'vr' when it makes buffers available: the
 * caller sleeps on the kick fds, or it is the control queue, which the
 * control thread serves when kicked. */
static bool
wants_kicks(const struct vhu_device *dev, const struct vhu_vring *vr)
{
    return dev->opts.want_kicks || vr == &dev->vrings[VHU_CTRL_VRING];
}

/* Takes 'vr' away from the data path, if it was live; the caller must
 * then wait for a grace period before changing its data-path fields. */
void
vhu_vring_unpublish(struct vhu_device *dev, struct vhu_vring *vr)
{
    if (atomic_load_explicit(&vr->live, memory_order_relaxed)) {
        atomic_store_explicit(&vr->live, false, memory_order_release);
        vhu_device_want_grace(dev);
        vhu_device_changed(dev);
    }
}

/* What vring_translate() found. */
enum vring_translation {
    VRING_MAPPED,               /* Translated and valid. */
    VRING_UNMAPPED,             /* Not (yet) in mapped memory. */
    VRING_INVALID,              /* Mapped, but unusable. */
};

/* Translates the ring addresses of 'vr' through the current memory table
 * into its data-path fields.  A ring that is not entirely inside one
 * mapped region waits for memory that maps it (a frontend may remove a
 * region and add it back, as DPDK's back-end allows): that is logged once
 * per ring and table, and is not a violation. */
static enum vring_translation
vring_translate(struct vhu_device *dev, struct vhu_vring *vr)
{
    const struct vhu_mem *mem = vhu_device_mem(dev);
    const struct vhu_vring_addr *a = &vr->addr;
    unsigned int idx = vr - dev->vrings;
    uint32_t size = vr->num;
    bool packed = vhu_vring_is_packed(dev);

    vr->desc = vhu_mem_uva_range(mem, a->desc, VHU_DESC_BYTES(size));
    vr->avail = vhu_mem_uva_range(mem, a->avail,
                                  vhu_vring_avail_bytes(packed, size));
    vr->used = vhu_mem_uva_range(mem, a->used,
                                 vhu_vring_used_bytes(packed, size));
    if (!vr->desc || !vr->avail || !vr->used) {
        if (vr->unmapped_mem != mem) {
            vr->unmapped_mem = mem;
            VHU_INFO("%s: vring %u: %s ring at 0x%"PRIx64" (size %"PRIu32
                     ") is not inside mapped memory: the ring waits for "
                     "memory that maps it", dev->name, idx,
                     !vr->desc ? "descriptor"
                     : !vr->avail ? "available" : "used",
                     !vr->desc ? a->desc : !vr->avail ? a->avail : a->used,
                     size);
        }
        return VRING_UNMAPPED;
    }
    vr->unmapped_mem = NULL;
    /* The frontend's addresses were checked for alignment, but a region
     * whose mmap offset and user address differ modulo 16 puts the rings
     * at misaligned addresses in our mapping. */
    if ((uintptr_t) vr->desc % 16 || (uintptr_t) vr->avail % 2
        || (uintptr_t) vr->used % 4) {
        VHU_ERR("%s: vring %u: rings misaligned in our mapping of guest "
                "memory (region offset and address disagree)", dev->name,
                idx);
        return VRING_INVALID;
    }
    if (!packed && (size & (size - 1))) {
        /* SET_VRING_NUM allowed it for a packed ring, and the features
         * changed since. */
        VHU_ERR("%s: vring %u: split ring size %"PRIu32" is not a power "
                "of 2", dev->name, idx, size);
        return VRING_INVALID;
    }
    vr->size = size;
    vr->packed = packed;
    vr->log_used = (a->flags & VHU_VRING_F_LOG) != 0;
    vr->log_addr = a->log;
    if (packed) {
        if (vr->last_avail_idx >= size) {
            VHU_ERR("%s: vring %u: packed ring base %"PRIu16" is not below "
                    "its size %"PRIu32, dev->name, idx, vr->last_avail_idx,
                    size);
            return VRING_INVALID;
        }
        /* The device writes used descriptors into the descriptor ring:
         * they are logged at its guest address (mapped: 'desc' is), not
         * at the frontend's log address for the ring. */
        vhu_mem_uva_to_gpa(mem, a->desc, &vr->desc_log_addr);
        return VRING_MAPPED;
    }

    /* The used ring in guest memory says how far the device got.  A
     * frontend that reconnects after the back-end lost its state, or that
     * always sends ring base 0 (DPDK virtio-user), may give a base that
     * disagrees: resume from the used index, as DPDK's and QEMU's back-ends
     * do.  (We use buffers in order, so last_avail_idx equals
     * last_used_idx whenever a ring stops.) */
    uint16_t used_idx = vhu_read_u16(&vr->used->idx);
    if (used_idx != vr->last_used_idx) {
        VHU_INFO("%s: vring %u: resuming from the used index %"PRIu16
                 " instead of the ring base %"PRIu16, dev->name, idx,
                 used_idx, vr->last_used_idx);
        vr->last_avail_idx = vr->last_used_idx = used_idx;
        atomic_store_explicit(&vr->used_idx_seen, used_idx,
                              memory_order_relaxed);
    }
    return VRING_MAPPED;
}

/* Publishes 'vr' to the data path if it should be live, or unpublishes it
 * if it should not.  Publishing waits while a grace period is pending (the
 * data path may still be in a burst on the ring's old state) and while the
 * ring is not in mapped memory; a ring in memory we cannot use breaks the
 * device. */
void
vhu_vring_sync(struct vhu_device *dev, struct vhu_vring *vr)
{
    bool live = atomic_load_explicit(&vr->live, memory_order_relaxed);
    bool should = vhu_vring_should_be_live(dev, vr);

    if (live && !should) {
        vhu_vring_unpublish(dev, vr);
    } else if (!live && should && !dev->grace_wanted) {
        enum vring_translation t = vring_translate(dev, vr);

        if (t != VRING_MAPPED) {
            if (t == VRING_INVALID) {
                vhu_device_break(dev);
            }
            return;
        }
        if (!wants_kicks(dev, vr)) {
            /* A polling caller needs no kicks (the guest ignores this flag
             * with EVENT_IDX, where burst ends leave avail_event alone). */
            vhu_vring_write_used_flags(dev, vr, VHU_VRING_USED_F_NO_NOTIFY);
        }
        if (vr == &dev->vrings[1]) {
            vhu_device_learn_numa(dev, vr->desc);
        }
        /* Logged first: once live, the indexes are the data path's. */
        VHU_DBG("%s: vring %td live (size %u, avail %u, used %u)",
                dev->name, vr - dev->vrings, vr->size, vr->last_avail_idx,
                vr->last_used_idx);
        atomic_store_explicit(&vr->live, true, memory_order_release);
        vhu_device_changed(dev);
    }
}

/* Writes 'value' into the 16-bit field at byte 'ofs' of the used ring of
 * 'vr' (translated; a packed ring's device event area), if it holds
 * another value, and marks it dirty if dirty logging is on. */
static void
write_used_u16(struct vhu_device *dev, struct vhu_vring *vr, uint64_t ofs,
               uint16_t value)
{
    uint16_t *field = (uint16_t *) ((uint8_t *) vr->used + ofs);

    if (vhu_read_u16(field) == value) {
        return;
    }
    vhu_write_u16(field, value);
    if (vr->log_used && (vhu_device_features_relaxed(dev)
                         & VHU_BIT(VHU_F_LOG_ALL))) {
        const struct vhu_log_map *log
            = atomic_load_explicit(&dev->log, memory_order_acquire);

        if (log) {
            vhu_log_mark(log, vr->log_addr + ofs, sizeof(uint16_t));
        }
    }
}

/* Sets the used ring's flags (VHU_VRING_USED_F_NO_NOTIFY or 0); for a
 * packed ring, the device event area's flags (disabled or enabled). */
void
vhu_vring_write_used_flags(struct vhu_device *dev, struct vhu_vring *vr,
                           uint16_t flags)
{
    if (vr->packed) {
        write_used_u16(dev, vr, offsetof(struct vhu_pevent, flags),
                       (flags & VHU_VRING_USED_F_NO_NOTIFY
                        ? VHU_PEVENT_DISABLE : VHU_PEVENT_ENABLE));
    } else {
        write_used_u16(dev, vr, offsetof(struct vhu_used, flags), flags);
    }
}

/* Sets avail_event (EVENT_IDX), at the end of a split ring's used ring. */
void
vhu_vring_write_avail_event(struct vhu_device *dev, struct vhu_vring *vr,
                            uint16_t idx)
{
    write_used_u16(dev, vr, VHU_USED_BYTES(vr->size) - sizeof(uint16_t),
                   idx);
}

/* Calls vhu_vring_sync() for every ring. */
void
vhu_vring_sync_all(struct vhu_device *dev)
{
    for (size_t i = 0; i < VHU_MAX_VRINGS && !dev->broken; i++) {
        vhu_vring_sync(dev, &dev->vrings[i]);
    }
}

/* Closes the kick, call and error fds of 'vr' after a grace period. */
void
vhu_vring_close_fds(struct vhu_device *dev, struct vhu_vring *vr)
{
    vhu_vring_set_kick_fd(dev, vr, -1);
    vhu_device_retire_fd(dev, atomic_exchange_explicit(&vr->call_fd, -1,
                                                       memory_order_relaxed));
    vhu_device_retire_fd(dev, vr->err_fd);
    vr->err_fd = -1;
}

/* True if 'fd' is an eventfd: what a sleeping data-path thread can wait
 * on and drain without blocking (a pipe or socket that the frontend also
 * reads could make a read block). */
static bool
fd_is_eventfd(int fd)
{
    char link[64], target[32];
    ssize_t n;

    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof target - 1);
    if (n < 0) {
        return false;
    }
    target[n] = '\0';
    return !strcmp(target, "anon_inode:[eventfd]");
}

/* Replaces the kick fd of 'vr' by 'fd' (-1 for none), retiring the old
 * one (closed after a grace period: a sleeping data-path thread may be
 * waiting on it). */
void
vhu_vring_set_kick_fd(struct vhu_device *dev, struct vhu_vring *vr, int fd)
{
    vhu_device_retire_fd(dev, vr->kick_fd);
    vr->kick_fd = fd;
    atomic_store_explicit(&vr->kick_fd_dp,
                          fd >= 0 && fd_is_eventfd(fd) ? fd : -1,
                          memory_order_relaxed);
}

/* Data path. */

/* Stops the ring of burst 'b' because of invalid guest input described by
 * 'format', counting an error and logging once. */
void
vhu_burst_fail(struct vhu_burst *b, const char *format, ...)
{
    char msg[160];
    va_list args;

    va_start(args, format);
    vsnprintf(msg, sizeof msg, format, args);
    va_end(args);

    if (!atomic_exchange_explicit(&b->vr->broken, true,
                                  memory_order_relaxed)) {
        if (b->vring == VHU_CTRL_VRING) {
            VHU_WARN("%s: control queue: %s; stopping it", b->dev->name,
                     msg);
        } else {
            VHU_WARN("%s: vring %u: %s; stopping the queue", b->dev->name,
                     b->vring, msg);
        }
        vhu_device_changed(b->dev);
    }
    vhu_counter_add(&b->vr->stats.errors, 1);
}

/* Starts a burst on ring 'vring' of 'dev'.  Returns false if the ring is not
 * live, broken, or has nothing available (then the burst is over). */
bool
vhu_burst_begin(struct vhu_burst *b, struct vhu_device *dev,
                unsigned int vring)
{
    struct vhu_vring *vr = &dev->vrings[vring];
    uint16_t avail_idx;

    if (!atomic_load_explicit(&vr->live, memory_order_acquire)
        || atomic_load_explicit(&vr->broken, memory_order_relaxed)) {
        return false;
    }
    b->dev = dev;
    b->vr = vr;
    b->vring = vring;
    b->mem = vhu_device_mem(dev);
    b->features = vhu_device_features_relaxed(dev);
    b->log = NULL;
    b->log_cache.n = 0;
    if (b->features & VHU_BIT(VHU_F_LOG_ALL)) {
        b->log = atomic_load_explicit(&dev->log, memory_order_acquire);
    }
    b->done = 0;
    b->n_avail = 0;
    b->packed = vr->packed;
    if (!b->mem) {
        return false;
    }
    if (b->packed) {
        return vhu_packed_begin(b);
    }

    avail_idx = vhu_read_u16(&vr->avail->idx);
    atomic_thread_fence(memory_order_acquire);
    atomic_store_explicit(&vr->avail_idx_seen, avail_idx,
                          memory_order_relaxed);
    b->n_avail = avail_idx - vr->last_avail_idx;
    if (b->n_avail > vr->size) {
        vhu_burst_fail(b, "available index %u is more than the ring size "
                       "%u ahead of %u", avail_idx, vr->size,
                       vr->last_avail_idx);
        b->n_avail = 0;
        return false;
    }
    return b->n_avail > 0;
}

/* True if the guest wants to be called now that the used index moved
 * (virtio 1.x 2.7.7 and 2.7.10). */
static bool
need_call(struct vhu_burst *b)
{
    struct vhu_vring *vr = b->vr;

    if (b->features & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)) {
        uint16_t old = vr->signalled_used;
        uint16_t new = vr->last_used_idx;
        bool valid = vr->signalled_used_valid;
        uint16_t event = vhu_read_u16(&vr->avail->ring[vr->size]);

        vr->signalled_used = new;
        vr->signalled_used_valid = true;
        return !valid || (uint16_t) (new - event - 1) < (uint16_t) (new - old);
    }
    return !(vhu_read_u16(&vr->avail->flags) & VHU_AVAIL_F_NO_INTERRUPT);
}

/* Ends burst 'b': publishes the used elements committed, sets avail_event
 * and calls the guest once if it asked for it. */
void
vhu_burst_end(struct vhu_burst *b)
{
    struct vhu_vring *vr = b->vr;
    bool event_idx = (b->features
                      & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)) != 0;

    if (b->packed) {
        vhu_packed_end(b);
        return;
    }
    if (b->done) {
        if (b->log) {
            vhu_counter_add(&vr->stats.logged, b->done);
        }
        vr->last_avail_idx += b->done;
        vr->last_used_idx += b->done;
        if (b->log) {
            /* The guest's buffers and used elements are logged before the
             * used index tells that they are there, as DPDK does. */
            vhu_log_cache_flush(&b->log_cache, b->log);
        }
        atomic_thread_fence(memory_order_release);
        vhu_write_u16(&vr->used->idx, vr->last_used_idx);
        atomic_store_explicit(&vr->used_idx_seen, vr->last_used_idx,
                              memory_order_relaxed);
        vhu_log_used(b, offsetof(struct vhu_used, idx), sizeof(uint16_t));
    }
    if (event_idx && wants_kicks(b->dev, vr)) {
        /* Ask for a kick when the guest makes the next head available. */
        uint16_t *avail_event = (uint16_t *) &vr->used->ring[vr->size];

        if (vhu_read_u16(avail_event) != vr->last_avail_idx) {
            vhu_write_u16(avail_event, vr->last_avail_idx);
            vhu_log_used(b, VHU_USED_BYTES(vr->size) - 2, sizeof(uint16_t));
        }
    }
    if (b->log) {
        vhu_log_cache_flush(&b->log_cache, b->log);
    }
    if (b->done) {
        /* Order the used index store before reading used_event/flags. */
        atomic_thread_fence(memory_order_seq_cst);
        if (need_call(b)) {
            vhu_burst_call(b);
        }
    }
}

/* Calls the guest of burst 'b' (one write to its call eventfd, if it has
 * one), counting the notification. */
void
vhu_burst_call(struct vhu_burst *b)
{
    int fd = atomic_load_explicit(&b->vr->call_fd, memory_order_relaxed);
    uint64_t one = 1;

    if (fd >= 0 && write(fd, &one, sizeof one) == sizeof one) {
        vhu_counter_add(&b->vr->stats.notifications, 1);
    }
}

/* Returns our pointer to the indirect table of 'len' bytes at guest
 * address 'addr', of either ring layout (16-byte descriptors), if
 * INDIRECT_DESC was negotiated and the table is valid and mapped;
 * otherwise breaks the ring and returns NULL. */
const void *
vhu_indirect_map(struct vhu_burst *b, uint64_t addr, uint32_t len)
{
    const void *table;

    if (!(b->features & VHU_BIT(VHU_VIRTIO_RING_F_INDIRECT_DESC))) {
        vhu_burst_fail(b, "indirect descriptor not negotiated");
        return NULL;
    }
    if (!len || len % 16 || len / 16 > VHU_MAX_RING_SIZE) {
        vhu_burst_fail(b, "indirect table length %"PRIu32" invalid", len);
        return NULL;
    }
    table = vhu_mem_gpa_range(b->mem, &b->vr->mem_hint, addr, len);
    if (!table) {
        vhu_burst_fail(b, "indirect table at 0x%"PRIx64" (length %"PRIu32
                       ") not in mapped memory", addr, len);
    }
    return table;
}

/* Starts walking the chain at 'head' (already checked < ring size). */
void
vhu_chain_start(struct vhu_burst *b, struct vhu_chain *c, uint16_t head)
{
    if (b->packed) {
        vhu_packed_chain_start(b, c, head);
        return;
    }
    c->packed = false;
    c->table = b->vr->desc;
    c->table_size = b->vr->size;
    c->count = 0;
    c->max = b->vr->size;
    c->next = head;
    c->more = true;
    c->indirect = false;
}

/* Stores the next buffer of chain 'c' in '*seg'.  Returns 1 if there is
 * one, 0 at the end of the chain, -1 if the chain is invalid (the ring is
 * then broken).  Each descriptor is read from guest memory once. */
int
vhu_chain_next(struct vhu_burst *b, struct vhu_chain *c, struct vhu_seg *seg)
{
    struct vhu_desc d;

    if (c->packed) {
        return vhu_packed_chain_next(b, c, seg);
    }
    for (;;) {
        if (!c->more) {
            return 0;
        }
        if (c->next >= c->table_size) {
            vhu_burst_fail(b, "descriptor index %u out of range (%"PRIu32")",
                           c->next, c->table_size);
            return -1;
        }
        if (++c->count > c->max) {
            vhu_burst_fail(b, "descriptor chain longer than %"PRIu32
                           " (loop?)", c->max);
            return -1;
        }
        vhu_read_desc(&c->table[c->next], &d);
        if (!(d.flags & VHU_DESC_F_INDIRECT)) {
            break;
        }

        /* Switch to an indirect table. */
        if (c->indirect) {
            vhu_burst_fail(b, "nested indirect descriptor table");
            return -1;
        }
        if (d.flags & VHU_DESC_F_NEXT) {
            vhu_burst_fail(b, "indirect descriptor with NEXT flag");
            return -1;
        }
        c->table = vhu_indirect_map(b, d.addr, d.len);
        if (!c->table) {
            return -1;
        }
        c->table_size = c->max = d.len / sizeof(struct vhu_desc);
        c->count = 0;
        c->next = 0;
        c->indirect = true;
    }

    seg->gpa = d.addr;
    seg->len = d.len;
    seg->write = (d.flags & VHU_DESC_F_WRITE) != 0;
    c->more = (d.flags & VHU_DESC_F_NEXT) != 0;
    c->next = d.next;
    return 1;
}
