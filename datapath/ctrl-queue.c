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
#include "device-private.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "virtqueue.h"

/* The virtio-net control queue, served by the control thread when the
 * frontend hands it to the back-end (see "The control virtqueue" in
 * vhost-engine.h).
 *
 * The ring goes live and stops like the data rings, but no data-path
 * thread ever touches it: only vhu_device_run_ctrl() does, on the control
 * thread, so it needs no grace period of its own. */

/* Bytes of a command (class, command, data) that the engine reads: more
 * than any command it accepts needs.  Longer commands (a MAC table, of a
 * feature the engine does not offer) are consumed whole and refused. */
#define CTRL_MAX_CMD 16

/* Commands answered per call, at most: a driver that keeps posting them
 * gets the rest on the next call. */
#define CTRL_MAX_PER_RUN 64

/* The frontend's index of the control queue (virtio 1.x 5.1.2: after the
 * max_virtqueue_pairs queue pairs with VIRTIO_NET_F_MQ, after the first
 * pair without), or -1 if VIRTIO_NET_F_CTRL_VQ is not negotiated. */
int
vhu_ctrl_vring_index(const struct vhu_device *dev)
{
    uint64_t features = vhu_device_features_relaxed(dev);

    if (!(features & VHU_BIT(VHU_VIRTIO_NET_F_CTRL_VQ))) {
        return -1;
    }
    return (features & VHU_BIT(VHU_VIRTIO_NET_F_MQ)
            ? 2 * dev->config_pairs : 2);
}

/* True if the frontend uses the virtqueue after the control queue's index:
 * then that index is a data queue (the control queue is the last one), as
 * with Cloud Hypervisor, which negotiates CTRL_VQ but serves the queue
 * itself and may use as many queues as GET_QUEUE_NUM allows. */
bool
vhu_ctrl_index_is_data(const struct vhu_device *dev, int ctrl)
{
    return (ctrl + 1 < 2 * (int) dev->opts.max_queue_pairs
            && (dev->vrings[ctrl + 1].has_num
                || dev->vrings[ctrl].has_num));
}

/* True if the back-end serves the control queue: negotiated, and the
 * frontend started the ring (QEMU negotiates the feature with the guest
 * but keeps the queue to itself), and the index is not a data queue. */
bool
vhu_ctrl_is_served(const struct vhu_device *dev)
{
    int ctrl = vhu_ctrl_vring_index(dev);

    return (ctrl >= 0 && dev->vrings[VHU_CTRL_VRING].started
            && !vhu_ctrl_index_is_data(dev, ctrl));
}

/* True if data ring 'vring' must not run because the driver asked, on the
 * control queue the back-end serves, for fewer queue pairs. */
bool
vhu_ctrl_excludes(const struct vhu_device *dev, unsigned int vring)
{
    return (vring < VHU_CTRL_VRING && vring / 2 >= dev->ctrl_pairs
            && vhu_ctrl_is_served(dev));
}

/* A device reset: one queue pair until the driver asks for more. */
void
vhu_ctrl_reset(struct vhu_device *dev)
{
    if (dev->ctrl_pairs != 1) {
        dev->ctrl_pairs = 1;
        vhu_vring_sync_all(dev);
        vhu_device_changed(dev);
    }
}

int
vhu_device_ctrl_kick_fd(const struct vhu_device *dev)
{
    const struct vhu_vring *vr = &dev->vrings[VHU_CTRL_VRING];

    return (vhu_ctrl_is_served(dev)
            && !atomic_load_explicit(&((struct vhu_vring *) vr)->broken,
                                     memory_order_relaxed)
            ? vr->kick_fd : -1);
}

/* Fills '*cfg' with the device's configuration space, as a frontend that
 * presents the back-end's device to the guest (crosvm) reads it with
 * GET_CONFIG: the link up, max_virtqueue_pairs such that the control queue
 * and the data queues fit in the GET_QUEUE_NUM virtqueues that such a
 * frontend creates, the MTU.  No MAC address (VIRTIO_NET_F_MAC is not
 * offered: the driver picks one). */
void
vhu_ctrl_config(const struct vhu_device *dev, struct vhu_net_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->status = VHU_NET_S_LINK_UP;
    cfg->max_virtqueue_pairs = dev->config_pairs;
    cfg->mtu = (dev->mtu ? dev->mtu
                : atomic_load_explicit(&((struct vhu_device *) dev)->
                                       config_mtu, memory_order_relaxed));
    cfg->speed = UINT32_MAX;    /* Unknown. */
    cfg->duplex = 0xff;         /* Unknown. */
}

/* Consumes a pending kick on the control queue's kick fd without blocking
 * (the frontend's eventfd may be in blocking mode, and is shared with it).
 * Returns false if the fd does not behave as an eventfd (a hang-up, an
 * error, a read of other than 8 bytes: a pipe closed at the other end, a
 * file, /dev/null): polling it would wake the control thread forever. */
static bool
drain_kick(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    uint64_t count;

    if (poll(&pfd, 1, 0) != 1) {
        return true;
    }
    if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
        return false;
    }
    if (pfd.revents & POLLIN) {
        ssize_t n = read(fd, &count, sizeof count);

        return (n == sizeof count
                || (n < 0 && (errno == EAGAIN || errno == EINTR)));
    }
    return true;
}

/* What handling one command came to. */
enum ctrl_result {
    CTRL_DONE,                  /* Acked; the chain is used. */
    CTRL_WAIT,                  /* Come back after the grace period. */
    CTRL_BAD,                   /* Invalid chain; the ring is broken. */
};

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET with 'pairs'.  Returns the ack, or -1 to
 * wait: the pairs beyond the new number stop first (virtio 1.x 5.1.6.5.5:
 * after the ack, the device uses only those the driver set). */
static int
set_pairs(struct vhu_device *dev, uint16_t pairs)
{
    if (!(vhu_device_features_relaxed(dev) & VHU_BIT(VHU_VIRTIO_NET_F_MQ))
        || pairs < VHU_NET_CTRL_MQ_VQ_PAIRS_MIN
        || pairs > dev->config_pairs) {
        VHU_WARN("%s: control queue: VQ_PAIRS_SET %"PRIu16" refused "
                 "(at most %u pairs%s)", dev->name, pairs,
                 dev->config_pairs,
                 vhu_device_features_relaxed(dev)
                 & VHU_BIT(VHU_VIRTIO_NET_F_MQ) ? "" : ", MQ not negotiated");
        return VHU_NET_ERR;
    }
    if (dev->ctrl_pairs != pairs) {
        VHU_INFO("%s: control queue: driver uses %"PRIu16" queue pair%s",
                 dev->name, pairs, pairs == 1 ? "" : "s");
        dev->ctrl_pairs = pairs;
        vhu_vring_sync_all(dev);
        vhu_device_changed(dev);
    }
    for (unsigned int i = 2 * pairs; i < VHU_CTRL_VRING; i++) {
        if (atomic_load_explicit(&dev->vrings[i].live,
                                 memory_order_relaxed)) {
            return -1;
        }
    }
    return dev->grace_wanted ? -1 : VHU_NET_OK;
}

/* Answers command 'cmd' ('total' bytes long, of which the first
 * CTRL_MAX_CMD at most were read). */
static int
execute(struct vhu_device *dev, const uint8_t *cmd, uint64_t total)
{
    uint8_t class = cmd[0], command = cmd[1];

    if (class == VHU_NET_CTRL_MQ && command == VHU_NET_CTRL_MQ_VQ_PAIRS_SET) {
        if (total != 4) {
            VHU_WARN("%s: control queue: VQ_PAIRS_SET with %"PRIu64" bytes "
                     "of data (expected 2)", dev->name, total - 2);
            return VHU_NET_ERR;
        }
        return set_pairs(dev, (uint16_t) (cmd[2] | (cmd[3] << 8)));
    }
    if (class == VHU_NET_CTRL_ANNOUNCE
        && command == VHU_NET_CTRL_ANNOUNCE_ACK
        && (vhu_device_features_relaxed(dev)
            & VHU_BIT(VHU_VIRTIO_NET_F_GUEST_ANNOUNCE))) {
        /* The back-end never raises VIRTIO_NET_S_ANNOUNCE itself (the
         * frontend announces a migrated guest with SEND_RARP): nothing to
         * clear. */
        return VHU_NET_OK;
    }
    VHU_INFO("%s: control queue: command class %"PRIu8" command %"PRIu8
             " of a feature not offered, refused", dev->name, class,
             command);
    return VHU_NET_ERR;
}

/* Reads the command in the chain at 'head' and answers it. */
static enum ctrl_result
run_command(struct vhu_device *dev, struct vhu_burst *b, uint16_t head)
{
    struct vhu_vring *vr = b->vr;
    uint8_t cmd[CTRL_MAX_CMD];
    uint8_t *ack = NULL;
    uint64_t ack_gpa = 0;
    uint64_t total = 0;
    size_t len = 0;
    struct vhu_chain c;
    struct vhu_seg seg;
    int r, answer;

    vhu_chain_start(b, &c, head);
    while ((r = vhu_chain_next(b, &c, &seg)) > 0) {
        if (!seg.write) {
            size_t n = seg.len < sizeof cmd - len ? seg.len
                                                  : sizeof cmd - len;
            const void *p;

            if (ack) {
                vhu_burst_fail(b, "control command: device-readable "
                               "descriptor after the ack");
                return CTRL_BAD;
            }
            p = vhu_mem_translate(b->mem, &vr->mem_hint, seg.gpa, seg.len);
            if (!p) {
                vhu_burst_fail(b, "control command at 0x%"PRIx64" (%"PRIu32
                               " bytes) not in mapped memory", seg.gpa,
                               seg.len);
                return CTRL_BAD;
            }
            memcpy(cmd + len, p, n);
            len += n;
            total += seg.len;
        } else if (!ack && seg.len) {
            ack = vhu_mem_translate(b->mem, &vr->mem_hint, seg.gpa, 1);
            ack_gpa = seg.gpa;
            if (!ack) {
                vhu_burst_fail(b, "control ack at 0x%"PRIx64" not in mapped "
                               "memory", seg.gpa);
                return CTRL_BAD;
            }
        }
    }
    if (r < 0) {
        return CTRL_BAD;
    }
    if (!ack || total < 2) {
        vhu_burst_fail(b, "control command with %"PRIu64" readable bytes "
                       "and %s ack byte", total, ack ? "an" : "no");
        return CTRL_BAD;
    }

    answer = execute(dev, cmd, total);
    if (answer < 0) {
        return CTRL_WAIT;
    }
    *ack = answer;
    if (b->log) {
        vhu_log_cache_mark(&b->log_cache, b->log, ack_gpa, 1);
    }
    return CTRL_DONE;
}

bool
vhu_device_run_ctrl(struct vhu_device *dev)
{
    struct vhu_vring *vr = &dev->vrings[VHU_CTRL_VRING];
    unsigned int n_done = 0;
    struct vhu_burst b;

    if (!vhu_ctrl_is_served(dev) || dev->broken) {
        return false;
    }
    if (vr->kick_fd >= 0 && !drain_kick(vr->kick_fd)
        && !atomic_exchange_explicit(&vr->broken, true,
                                     memory_order_relaxed)) {
        VHU_WARN("%s: control queue: its kick fd is not an eventfd that "
                 "can be read; stopping it", dev->name);
        vhu_device_changed(dev);
    }
    for (unsigned int pass = 0;
         pass < CTRL_MAX_PER_RUN && !dev->grace_wanted
         && n_done < CTRL_MAX_PER_RUN
         && atomic_load_explicit(&vr->live, memory_order_relaxed)
         && !atomic_load_explicit(&vr->broken, memory_order_relaxed);
         pass++) {
        enum ctrl_result result = CTRL_DONE;
        bool more = vhu_burst_begin(&b, dev, VHU_CTRL_VRING);

        if (!b.mem) {
            break;
        }

        while (more && vhu_burst_has(&b, b.done)
               && n_done < CTRL_MAX_PER_RUN) {
            uint16_t head;

            if (!vhu_burst_head(&b, b.done, &head)) {
                result = CTRL_BAD;
                break;
            }
            result = run_command(dev, &b, head);
            if (result != CTRL_DONE) {
                break;
            }
            vhu_burst_used(&b, b.done, head, 1);
            vhu_burst_commit(&b, 1);
            n_done++;
        }
        /* Publishes what was answered (also before a broken chain), asks
         * for the next kick (EVENT_IDX) and calls the driver. */
        vhu_burst_end(&b);
        if (result != CTRL_DONE
            || atomic_load_explicit(&vr->broken, memory_order_relaxed)) {
            break;
        }
        /* The driver may have posted more before the next kick was asked
         * for (avail_event): look again. */
        atomic_thread_fence(memory_order_seq_cst);
        if (!vhu_vring_has_avail(vr)) {
            break;
        }
    }
    vhu_device_publish(dev);
    return (n_done >= CTRL_MAX_PER_RUN
            && atomic_load_explicit(&vr->live, memory_order_relaxed)
            && !atomic_load_explicit(&vr->broken, memory_order_relaxed));
}
