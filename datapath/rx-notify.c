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

#include "vhost-engine.h"
#include "virtqueue.h"

/* Guest transmit notifications for a data-path thread that sleeps between
 * bursts: it asks the guest to kick before it sleeps and to stop kicking
 * once it polls again (virtio 1.x 2.7.7 and 2.7.10; a packed ring's device
 * event area is enabled and disabled, 2.8.10). */

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
    if ((features & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)) && !vr->packed) {
        /* Kick when the guest makes the next head available. */
        vhu_vring_write_avail_event(dev, vr, vr->last_avail_idx);
    } else {
        vhu_vring_write_used_flags(dev, vr, 0);
    }

    /* The guest stores its available index and then reads our field; we
     * store our field and then read its index: with a full fence on both
     * sides, one of us sees the other's store, so a frame made available
     * now is either seen here or kicked. */
    atomic_thread_fence(memory_order_seq_cst);
    if (vhu_vring_has_avail(vr)) {
        return VHU_RX_ARM_PENDING;
    }
    *kick_fd = fd;
    return VHU_RX_ARMED;
}

bool
vhu_rx_pending(const struct vhu_device *dev, unsigned int qp)
{
    struct vhu_vring *vr = live_rx_vring(dev, qp);

    return vr && vhu_vring_has_avail(vr);
}

void
vhu_rx_disarm(struct vhu_device *dev, unsigned int qp)
{
    struct vhu_vring *vr = live_rx_vring(dev, qp);

    if (!vr) {
        return;
    }
    if ((vhu_device_features_relaxed(dev)
         & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)) && !vr->packed) {
        /* An avail_event behind every index the guest will use before it
         * wraps: it never kicks (left where vhu_rx_arm() put it, the guest
         * would kick once more, and that stale kick would end the next
         * sleep at once). */
        vhu_vring_write_avail_event(dev, vr, vr->last_avail_idx - 1);
    } else {
        vhu_vring_write_used_flags(dev, vr, VHU_VRING_USED_F_NO_NOTIFY);
    }
}
