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

#include <stddef.h>

#include "vhost-engine.h"
#include "virtqueue.h"

/* Guest transmit notifications for a data-path thread that sleeps between
 * bursts: it asks the guest to kick before it sleeps and to stop kicking
 * once it polls again (virtio 1.x 2.7.7 and 2.7.10). */

/* The guest's transmit ring of queue pair 'qp', if it is live. */
static struct vhu_vring *
live_rx_vring(const struct vhu_device *dev, unsigned int qp)
{
    struct vhu_vring *vr;

    if (qp >= dev->opts.max_queue_pairs) {
        return NULL;
    }
    vr = &((struct vhu_device *) dev)->vrings[2 * qp + 1];
    return (atomic_load_explicit(&vr->live, memory_order_acquire)
            && !atomic_load_explicit(&vr->broken, memory_order_relaxed)
            ? vr : NULL);
}

/* Writes the 16-bit notification field at byte 'ofs' of the used ring of
 * 'vr' (flags, or avail_event at its end) and logs it if dirty logging is
 * on, as vhu_vring_sync() does for the flags it sets. */
static void
write_used_u16(struct vhu_device *dev, struct vhu_vring *vr, uint64_t ofs,
               uint16_t *field, uint16_t value)
{
    uint64_t features = vhu_device_features_relaxed(dev);

    if (vhu_read_u16(field) == value) {
        return;
    }
    vhu_write_u16(field, value);
    if (vr->log_used && (features & VHU_BIT(VHU_F_LOG_ALL))) {
        const struct vhu_log_map *log
            = atomic_load_explicit(&dev->log, memory_order_acquire);

        if (log) {
            vhu_log_mark(log, vr->log_addr + ofs, sizeof(uint16_t));
        }
    }
}

int
vhu_rx_kick_fd(const struct vhu_device *dev, unsigned int qp)
{
    struct vhu_vring *vr = live_rx_vring(dev, qp);

    return vr ? atomic_load_explicit(&vr->kick_fd_dp, memory_order_relaxed)
              : -1;
}

enum vhu_rx_arm
vhu_rx_arm(struct vhu_device *dev, unsigned int qp, int *kick_fd)
{
    struct vhu_vring *vr = live_rx_vring(dev, qp);
    uint64_t features;
    int fd;

    *kick_fd = -1;
    if (!vr) {
        return VHU_RX_ARM_NOT_LIVE;
    }
    fd = atomic_load_explicit(&vr->kick_fd_dp, memory_order_relaxed);
    if (fd < 0) {
        return VHU_RX_ARM_NO_KICK;
    }

    features = vhu_device_features_relaxed(dev);
    if (features & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)) {
        /* Kick when the guest makes the next head available. */
        write_used_u16(dev, vr, VHU_USED_BYTES(vr->size) - sizeof(uint16_t),
                       (uint16_t *) &vr->used->ring[vr->size],
                       vr->last_avail_idx);
    } else {
        write_used_u16(dev, vr, offsetof(struct vhu_used, flags),
                       &vr->used->flags, 0);
    }

    /* The guest stores its available index and then reads our field; we
     * store our field and then read its index: with a full fence on both
     * sides, one of us sees the other's store, so a frame made available
     * now is either seen here or kicked. */
    atomic_thread_fence(memory_order_seq_cst);
    if (vhu_read_u16(&vr->avail->idx) != vr->last_avail_idx) {
        return VHU_RX_ARM_PENDING;
    }
    *kick_fd = fd;
    return VHU_RX_ARMED;
}

bool
vhu_rx_pending(const struct vhu_device *dev, unsigned int qp)
{
    struct vhu_vring *vr = live_rx_vring(dev, qp);

    return vr && vhu_read_u16(&vr->avail->idx) != vr->last_avail_idx;
}

void
vhu_rx_disarm(struct vhu_device *dev, unsigned int qp)
{
    struct vhu_vring *vr = live_rx_vring(dev, qp);

    if (!vr) {
        return;
    }
    if (vhu_device_features_relaxed(dev)
        & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)) {
        /* An avail_event behind every index the guest will use before it
         * wraps: it never kicks (left where vhu_rx_arm() put it, the guest
         * would kick once more, and that stale kick would end the next
         * sleep at once). */
        write_used_u16(dev, vr, VHU_USED_BYTES(vr->size) - sizeof(uint16_t),
                       (uint16_t *) &vr->used->ring[vr->size],
                       vr->last_avail_idx - 1);
    } else {
        write_used_u16(dev, vr, offsetof(struct vhu_used, flags),
                       &vr->used->flags, VHU_VRING_USED_F_NO_NOTIFY);
    }
}
