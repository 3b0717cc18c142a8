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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* vhost-user messages: framing of the byte stream and its fds into
 * messages, and one handler per request.
 *
 * Fds received with some bytes belong to the message being assembled when
 * they arrive (the frontend sends a message's fds with its first bytes).
 * Complete messages wait in a queue and are handled in order, except while
 * a grace period is pending: then they wait, so that replies stay in
 * order.  Every handler validates its own payload size and fd count; a
 * handler keeps an fd by setting its slot to -1, and every fd left is
 * closed when the message is freed. */

/* What a handler did. */
enum handler_result {
    MSG_OK,                     /* Done (REPLY_ACK: 0). */
    MSG_FAIL,                   /* Refused, harmlessly (REPLY_ACK: 1). */
    MSG_REPLY,                  /* Reply in the message's payload. */
    MSG_DEFER,                  /* Reply after the grace period. */
    MSG_STALL,                  /* Handle again after the grace period. */
    MSG_BREAK,                  /* Protocol violation: device broken. */
};

typedef enum handler_result handler_fn(struct vhu_device *, struct vhu_msg *);

struct handler {
    const char *name;
    handler_fn *handle;         /* NULL if not supported. */
};

static const struct handler handlers[VHU_REQ_MAX];

/* Messages waiting in the queue beyond which the frontend is flooding. */
#define VHU_MAX_QUEUED_MSGS 1024

/* Bytes of unsent replies beyond which the frontend is not reading them.
 * A caller that stops reading input while replies wait (as it should)
 * never comes near: the replies to one 4 KB read of requests take less
 * than 8 KB. */
#define VHU_MAX_OUTPUT (64 * 1024)

/* Returns the name of request 'request', for log lines. */
static const char *
request_name(uint32_t request)
{
    return (request < VHU_REQ_MAX && handlers[request].name
            ? handlers[request].name : "unknown request");
}

/* Frees 'msg' (NULL is allowed) and closes the fds it still holds. */
void
vhu_msg_free(struct vhu_msg *msg)
{
    if (msg) {
        for (size_t i = 0; i < msg->n_fds; i++) {
            if (msg->fds[i] >= 0) {
                close(msg->fds[i]);
            }
        }
        free(msg);
    }
}

/* Frees the message being assembled and the queued ones. */
void
vhu_msg_flush_input(struct vhu_device *dev)
{
    vhu_msg_free(dev->cur);
    dev->cur = NULL;
    dev->cur_len = 0;
    while (dev->queue) {
        struct vhu_msg *msg = dev->queue;

        dev->queue = msg->next;
        vhu_msg_free(msg);
    }
    dev->queue_tail = &dev->queue;
    dev->n_queued = 0;
}

/* Appends 'n' bytes to the output buffer, moving what is still unsent to
 * its start first.  Returns false if out of memory. */
static bool
output_append(struct vhu_device *dev, const void *data, size_t n)
{
    if (!n) {
        return true;
    }
    if (dev->out_ofs) {
        dev->out_len -= dev->out_ofs;
        memmove(dev->out, dev->out + dev->out_ofs, dev->out_len);
        dev->out_ofs = 0;
    }
    if (dev->out_len + n > dev->out_alloc) {
        size_t alloc = dev->out_alloc ? dev->out_alloc : 256;
        uint8_t *out;

        while (alloc < dev->out_len + n) {
            alloc *= 2;
        }
        out = realloc(dev->out, alloc);
        if (!out) {
            return false;
        }
        dev->out = out;
        dev->out_alloc = alloc;
    }
    memcpy(dev->out + dev->out_len, data, n);
    dev->out_len += n;
    return true;
}

/* Queues a reply to 'request' with 'size' bytes of 'payload'. */
static void
send_reply(struct vhu_device *dev, uint32_t request, const void *payload,
           uint32_t size)
{
    struct vhu_msg_header hdr = {
        .request = request,
        .flags = VHU_VERSION | VHU_FLAG_REPLY,
        .size = size,
    };

    if (dev->out_len - dev->out_ofs + sizeof hdr + size > VHU_MAX_OUTPUT) {
        VHU_ERR("%s: frontend leaves more than %d bytes of replies unread",
                dev->name, VHU_MAX_OUTPUT);
        vhu_device_break(dev);
    } else if (!output_append(dev, &hdr, sizeof hdr)
               || !output_append(dev, payload, size)) {
        VHU_ERR("%s: out of memory queuing a reply", dev->name);
        vhu_device_break(dev);
    }
}

/* Queues a reply to 'request' with u64 payload 'value'. */
static void
send_u64_reply(struct vhu_device *dev, uint32_t request, uint64_t value)
{
    send_reply(dev, request, &value, sizeof value);
}

const void *
vhu_device_output(const struct vhu_device *dev, size_t *n)
{
    *n = dev->out_len - dev->out_ofs;
    return dev->out ? dev->out + dev->out_ofs : NULL;
}

void
vhu_device_output_done(struct vhu_device *dev, size_t n)
{
    dev->out_ofs += n < dev->out_len - dev->out_ofs
                    ? n : dev->out_len - dev->out_ofs;
    if (dev->out_ofs == dev->out_len) {
        dev->out_ofs = dev->out_len = 0;
    }
}

/* The ring base of 'vr' for GET_VRING_BASE: the next available index, or
 * for a packed ring the next available position and its wrap counter in
 * bits 0-15 and the next used ones in bits 16-31 (the same, since we use
 * chains in order), as QEMU and DPDK encode them. */
static uint32_t
vring_base(const struct vhu_device *dev, const struct vhu_vring *vr)
{
    if (vhu_vring_is_packed(dev)) {
        uint32_t avail = vhu_packed_pos(vr->last_avail_idx, vr->avail_wrap);
        uint32_t used = vhu_packed_pos(vr->last_used_idx, vr->used_wrap);

        return avail | used << 16;
    }
    return vr->last_avail_idx;
}

/* Sends the reply deferred until the end of a grace period. */
void
vhu_msg_send_deferred(struct vhu_device *dev)
{
    uint32_t request = dev->deferred_request;

    dev->deferred_request = VHU_REQ_NONE;
    if (request == VHU_REQ_GET_VRING_BASE) {
        struct vhu_vring_state state = {
            .index = dev->deferred_index,
            .num = vring_base(dev, &dev->vrings[dev->deferred_vring]),
        };

        send_reply(dev, request, &state, sizeof state);
    } else if (request == VHU_REQ_SET_LOG_BASE) {
        send_reply(dev, request, NULL, 0);
    } else if (request == VHU_REQ_SET_FEATURES) {
        send_u64_reply(dev, request, 0);
    }
}

/* Validation helpers for handlers. */

/* Checks that 'msg' has a payload of exactly 'size' bytes and 'n_fds'
 * fds, logging why not. */
static bool
check_msg(struct vhu_device *dev, const struct vhu_msg *msg, size_t size,
          size_t n_fds)
{
    if (msg->hdr.size != size) {
        VHU_ERR("%s: %s: payload of %"PRIu32" bytes (expected %zu)",
                dev->name, request_name(msg->hdr.request), msg->hdr.size,
                size);
        return false;
    }
    if (msg->n_fds != n_fds) {
        VHU_ERR("%s: %s: %zu fds attached (expected %zu)", dev->name,
                request_name(msg->hdr.request), msg->n_fds, n_fds);
        return false;
    }
    return true;
}

/* True if the data path may be in a burst on a ring of 'dev'. */
static bool
any_ring_live(const struct vhu_device *dev)
{
    for (size_t i = 0; i < VHU_MAX_VRINGS; i++) {
        if (atomic_load_explicit(&((struct vhu_device *) dev)->vrings[i].live,
                                 memory_order_relaxed)) {
            return true;
        }
    }
    return false;
}

/* True if the frontend asked for a REPLY_ACK to 'msg'. */
static bool
wants_ack(const struct vhu_device *dev, const struct vhu_msg *msg)
{
    return ((msg->hdr.flags & VHU_FLAG_NEED_REPLY)
            && (dev->protocol_features & VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK)));
}

/* SET_VRING_KICK, CALL and ERR carry an 8-bit index. */
_Static_assert(2 * VHU_MAX_QUEUE_PAIRS - 1 <= VHU_VRING_IDX_MASK,
               "a vring index does not fit SET_VRING_KICK");

/* Returns the vring that the frontend numbers 'index' (the control queue
 * has its own number, see vhu_ctrl_vring_index()), or NULL after logging if
 * the index is out of range for this device. */
static struct vhu_vring *
get_vring(struct vhu_device *dev, const struct vhu_msg *msg, uint64_t index)
{
    int ctrl = vhu_ctrl_vring_index(dev);

    if (ctrl >= 0 && index == (uint64_t) ctrl + 1) {
        /* Index 'ctrl' is a data queue after all (see
         * vhu_ctrl_index_is_data()): hand over what it was given. */
        struct vhu_vring *c = &dev->vrings[VHU_CTRL_VRING];

        if (c->has_num && !c->has_addr && !c->started
            && !dev->vrings[ctrl].has_num) {
            dev->vrings[ctrl].num = c->num;
            dev->vrings[ctrl].has_num = true;
            c->has_num = false;
        }
    }
    if (ctrl >= 0 && index == (uint64_t) ctrl
        && !vhu_ctrl_index_is_data(dev, ctrl)) {
        return &dev->vrings[VHU_CTRL_VRING];
    }
    if (index >= VHU_CTRL_VRING || index >= 2 * dev->opts.max_queue_pairs) {
        VHU_ERR("%s: %s: vring index %"PRIu64" out of range (%u%s)",
                dev->name, request_name(msg->hdr.request), index,
                2 * dev->opts.max_queue_pairs,
                ctrl >= 0 ? " and the control queue" : "");
        return NULL;
    }
    return &dev->vrings[index];
}

/* Takes the live ring 'vr' away from the data path so that the message
 * can change it after the grace period. */
static enum handler_result
stall_for(struct vhu_device *dev, struct vhu_vring *vr)
{
    vhu_vring_unpublish(dev, vr);
    return MSG_STALL;
}

static bool
vring_is_live(const struct vhu_vring *vr)
{
    return atomic_load_explicit(&((struct vhu_vring *) vr)->live,
                                memory_order_relaxed);
}

/* Unpublishes every live ring (before their memory goes away). */
static void
unpublish_all_rings(struct vhu_device *dev)
{
    for (size_t i = 0; i < VHU_MAX_VRINGS; i++) {
        vhu_vring_unpublish(dev, &dev->vrings[i]);
    }
}

/* Publishes 'mem' as the memory table and retires the old one. */
static void
publish_mem(struct vhu_device *dev, struct vhu_mem *mem)
{
    vhu_device_retire_mem(dev, atomic_exchange_explicit(
                              &dev->mem, mem, memory_order_acq_rel));
    vhu_device_changed(dev);
}

/* Handlers, in request order. */

static enum handler_result
handle_get_features(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, 0, 0)) {
        return MSG_BREAK;
    }
    msg->payload.u64 = dev->offered_features;
    msg->hdr.size = sizeof msg->payload.u64;
    return MSG_REPLY;
}

static enum handler_result
handle_set_features(struct vhu_device *dev, struct vhu_msg *msg)
{
    uint64_t features, old;

    if (!check_msg(dev, msg, sizeof msg->payload.u64, 0)) {
        return MSG_BREAK;
    }
    features = msg->payload.u64;
    if (features & ~dev->offered_features) {
        VHU_ERR("%s: SET_FEATURES: features 0x%"PRIx64" were not offered",
                dev->name, features & ~dev->offered_features);
        return MSG_BREAK;
    }
    old = vhu_device_features_relaxed(dev);
    if (features != old) {
        VHU_INFO("%s: features 0x%"PRIx64, dev->name, features);
        atomic_store_explicit(&dev->features, features,
                              memory_order_relaxed);
        vhu_device_changed(dev);
    }
    if (features & ~old & VHU_BIT(VHU_F_LOG_ALL) && any_ring_live(dev)) {
        /* Logging starts (migration): bursts that began without it may
         * still write unlogged.  The frontend counts on logging once we
         * acknowledge, or answer its next request (QEMU's barrier without
         * REPLY_ACK): both wait for a grace period. */
        vhu_device_want_grace(dev);
        if (wants_ack(dev, msg)) {
            dev->deferred_request = VHU_REQ_SET_FEATURES;
            return MSG_DEFER;
        }
    }
    return MSG_OK;
}

static enum handler_result
handle_set_owner(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, 0, 0)) {
        return MSG_BREAK;
    }
    dev->owner = true;
    return MSG_OK;
}

static enum handler_result
handle_reset_owner(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, 0, 0)) {
        return MSG_BREAK;
    }
    vhu_device_stop_all_rings(dev);
    atomic_store_explicit(&dev->features, 0, memory_order_relaxed);
    dev->owner = false;
    dev->ctrl_pairs = 1;
    vhu_device_changed(dev);
    return MSG_OK;
}

static enum handler_result
handle_set_mem_table(struct vhu_device *dev, struct vhu_msg *msg)
{
    const struct vhu_mem_table *t = &msg->payload.mem;
    size_t hdr_size = offsetof(struct vhu_mem_table, regions);
    struct vhu_mem *mem;

    if (msg->hdr.size < hdr_size) {
        VHU_ERR("%s: SET_MEM_TABLE: payload of %"PRIu32" bytes too short",
                dev->name, msg->hdr.size);
        return MSG_BREAK;
    }
    if (!t->nregions || t->nregions > VHU_MEM_TABLE_MAX_REGIONS) {
        VHU_ERR("%s: SET_MEM_TABLE: %"PRIu32" regions (expected 1 to %d)",
                dev->name, t->nregions, VHU_MEM_TABLE_MAX_REGIONS);
        return MSG_BREAK;
    }
    if (msg->hdr.size < hdr_size + t->nregions * sizeof t->regions[0]
        || msg->n_fds != t->nregions) {
        VHU_ERR("%s: SET_MEM_TABLE: %"PRIu32" regions with %"PRIu32" bytes "
                "of payload and %zu fds", dev->name, t->nregions,
                msg->hdr.size, msg->n_fds);
        return MSG_BREAK;
    }

    mem = vhu_mem_clone(NULL);
    if (!mem) {
        return MSG_BREAK;
    }
    for (uint32_t i = 0; i < t->nregions; i++) {
        if (vhu_mem_add_region(dev, mem, &t->regions[i], msg->fds[i])) {
            vhu_mem_free(mem);
            return MSG_BREAK;
        }
    }

    /* The rings' pointers lead into the old table's mappings: take the
     * rings away; they are translated anew and republished after the
     * grace period. */
    unpublish_all_rings(dev);
    publish_mem(dev, mem);
    return MSG_OK;
}

static enum handler_result
handle_set_log_base(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, sizeof msg->payload.log, 1)) {
        return MSG_BREAK;
    }
    if (vhu_log_set_base(dev, &msg->payload.log, msg->fds[0])) {
        return MSG_BREAK;
    }

    /* The frontend waits for the reply to know that the new log is in use:
     * send it once no burst can be writing into the old one. */
    if (dev->grace_wanted) {
        dev->deferred_request = VHU_REQ_SET_LOG_BASE;
        return MSG_DEFER;
    }
    msg->hdr.size = 0;
    return MSG_REPLY;
}

static enum handler_result
handle_set_log_fd(struct vhu_device *dev, struct vhu_msg *msg)
{
    /* The log eventfd is for the frontend to signal us; we do not use it.
     * It is closed with the message. */
    if (msg->n_fds != 1 || msg->hdr.size > sizeof msg->payload.u64) {
        VHU_ERR("%s: SET_LOG_FD: %zu fds and %"PRIu32" bytes of payload",
                dev->name, msg->n_fds, msg->hdr.size);
        return MSG_BREAK;
    }
    return MSG_OK;
}

static enum handler_result
handle_set_vring_num(struct vhu_device *dev, struct vhu_msg *msg)
{
    const struct vhu_vring_state *s = &msg->payload.state;
    struct vhu_vring *vr;

    if (!check_msg(dev, msg, sizeof *s, 0)
        || !(vr = get_vring(dev, msg, s->index))) {
        return MSG_BREAK;
    }
    if (!s->num || s->num > VHU_MAX_RING_SIZE
        || (!vhu_vring_is_packed(dev) && (s->num & (s->num - 1)))) {
        /* A packed ring's size need not be a power of 2 (virtio 1.x
         * 2.8.1). */
        VHU_ERR("%s: SET_VRING_NUM: vring %"PRIu32" size %"PRIu32" is not "
                "%s up to %d", dev->name, s->index, s->num,
                vhu_vring_is_packed(dev) ? "a size" : "a power of 2",
                VHU_MAX_RING_SIZE);
        return MSG_BREAK;
    }
    if (vring_is_live(vr)) {
        return stall_for(dev, vr);
    }
    vr->num = s->num;
    vr->has_num = true;
    vhu_vring_sync(dev, vr);
    vhu_device_changed(dev);
    return MSG_OK;
}

static enum handler_result
handle_set_vring_addr(struct vhu_device *dev, struct vhu_msg *msg)
{
    const struct vhu_vring_addr *a = &msg->payload.addr;
    struct vhu_vring *vr;

    if (!check_msg(dev, msg, sizeof *a, 0)
        || !(vr = get_vring(dev, msg, a->index))) {
        return MSG_BREAK;
    }
    if (a->flags & ~VHU_VRING_F_LOG) {
        VHU_ERR("%s: SET_VRING_ADDR: vring %"PRIu32": unknown flags 0x%"
                PRIx32, dev->name, a->index, a->flags);
        return MSG_BREAK;
    }
    if (a->desc % 16 || a->avail % 2 || a->used % 4) {
        VHU_ERR("%s: SET_VRING_ADDR: vring %"PRIu32": misaligned ring "
                "(desc 0x%"PRIx64", avail 0x%"PRIx64", used 0x%"PRIx64")",
                dev->name, a->index, a->desc, a->avail, a->used);
        return MSG_BREAK;
    }
    if (vr->has_num && vhu_device_mem(dev)) {
        const struct vhu_mem *mem = vhu_device_mem(dev);
        bool packed = vhu_vring_is_packed(dev);

        if (!vhu_mem_uva_range(mem, a->desc, VHU_DESC_BYTES(vr->num))
            || !vhu_mem_uva_range(mem, a->avail,
                                  vhu_vring_avail_bytes(packed, vr->num))
            || !vhu_mem_uva_range(mem, a->used,
                                  vhu_vring_used_bytes(packed, vr->num))) {
            VHU_ERR("%s: SET_VRING_ADDR: vring %"PRIu32": rings not inside "
                    "mapped memory (desc 0x%"PRIx64", avail 0x%"PRIx64
                    ", used 0x%"PRIx64", size %"PRIu32")", dev->name,
                    a->index, a->desc, a->avail, a->used, vr->num);
            return MSG_BREAK;
        }
    }
    if (vring_is_live(vr)) {
        return stall_for(dev, vr);
    }
    vr->addr = *a;
    vr->has_addr = true;
    vhu_vring_sync(dev, vr);
    vhu_device_changed(dev);
    return MSG_OK;
}

static enum handler_result
handle_set_vring_base(struct vhu_device *dev, struct vhu_msg *msg)
{
    const struct vhu_vring_state *s = &msg->payload.state;
    struct vhu_vring *vr;

    if (!check_msg(dev, msg, sizeof *s, 0)
        || !(vr = get_vring(dev, msg, s->index))) {
        return MSG_BREAK;
    }
    /* A split ring's base is a 16-bit index; a packed ring's is checked
     * against the ring's size when the ring starts. */
    if (!vhu_vring_is_packed(dev) && s->num > UINT16_MAX) {
        VHU_ERR("%s: SET_VRING_BASE: vring %"PRIu32": base %"PRIu32" out "
                "of range", dev->name, s->index, s->num);
        return MSG_BREAK;
    }
    if (vring_is_live(vr)) {
        return stall_for(dev, vr);
    }
    if (vhu_vring_is_packed(dev)) {
        /* The next available position and its wrap counter in bits 0-15.
         * We use chains in order, so the used position is the same: bits
         * 16-31, which DPDK's virtio-user leaves 0, are not needed (DPDK's
         * back-end ignores them too).  Checked against the ring's size
         * when the ring starts. */
        vr->last_avail_idx = vr->last_used_idx = vhu_packed_pos_slot(s->num);
        vr->avail_wrap = vr->used_wrap = vhu_packed_pos_wrap(s->num);
        vhu_packed_publish_position(vr);
    } else {
        vr->last_avail_idx = vr->last_used_idx = s->num;
        atomic_store_explicit(&vr->used_idx_seen, s->num,
                              memory_order_relaxed);
        atomic_store_explicit(&vr->avail_idx_seen, s->num,
                              memory_order_relaxed);
    }
    vr->signalled_used_valid = false;
    return MSG_OK;
}

static enum handler_result
handle_get_vring_base(struct vhu_device *dev, struct vhu_msg *msg)
{
    struct vhu_vring_state *s = &msg->payload.state;
    struct vhu_vring *vr;

    if (!check_msg(dev, msg, sizeof *s, 0)
        || !(vr = get_vring(dev, msg, s->index))) {
        return MSG_BREAK;
    }

    /* Stop the ring; its index is final once no burst runs on it. */
    vhu_vring_unpublish(dev, vr);
    vr->started = false;
    vhu_vring_set_kick_fd(dev, vr, -1);
    vhu_device_changed(dev);
    if (dev->grace_wanted) {
        dev->deferred_request = VHU_REQ_GET_VRING_BASE;
        dev->deferred_vring = vr - dev->vrings;
        dev->deferred_index = s->index;
        return MSG_DEFER;
    }
    s->num = vring_base(dev, vr);
    return MSG_REPLY;
}

/* Parses the u64 payload of SET_VRING_KICK/CALL/ERR: stores the vring in
 * '*vrp' and the fd (-1 for NOFD) in '*fdp', taking it from 'msg'. */
static bool
parse_vring_fd(struct vhu_device *dev, struct vhu_msg *msg,
               struct vhu_vring **vrp, int *fdp)
{
    uint64_t v;
    bool nofd;

    if (msg->hdr.size != sizeof msg->payload.u64) {
        check_msg(dev, msg, sizeof msg->payload.u64, msg->n_fds);
        return false;
    }
    v = msg->payload.u64;
    nofd = (v & VHU_VRING_NOFD_MASK) != 0;
    if (v & ~(VHU_VRING_IDX_MASK | VHU_VRING_NOFD_MASK)) {
        VHU_ERR("%s: %s: invalid payload 0x%"PRIx64, dev->name,
                request_name(msg->hdr.request), v);
        return false;
    }
    if (!check_msg(dev, msg, sizeof msg->payload.u64, nofd ? 0 : 1)
        || !(*vrp = get_vring(dev, msg, v & VHU_VRING_IDX_MASK))) {
        return false;
    }
    *fdp = -1;
    if (!nofd) {
        *fdp = msg->fds[0];
        msg->fds[0] = -1;
    }
    return true;
}

static enum handler_result
handle_set_vring_kick(struct vhu_device *dev, struct vhu_msg *msg)
{
    struct vhu_vring *vr;
    int fd;

    if (!parse_vring_fd(dev, msg, &vr, &fd)) {
        return MSG_BREAK;
    }
    vhu_vring_set_kick_fd(dev, vr, fd);
    if (!vr->started) {
        if (vr == &dev->vrings[VHU_CTRL_VRING] && !vr->last_avail_idx) {
            /* A new driver (crosvm resets the device by stopping its
             * rings, without SET_STATUS, and restarts them from 0): one
             * queue pair until it asks for more.  A control queue that
             * resumes where it was (a base past 0) keeps its pairs. */
            vhu_ctrl_reset(dev);
        }
        /* Starting a ring also gives it a second chance after an invalid
         * descriptor (the frontend reset it). */
        vr->started = true;
        vr->signalled_used_valid = false;
        atomic_store_explicit(&vr->broken, false, memory_order_relaxed);
    }
    vhu_vring_sync(dev, vr);
    vhu_device_changed(dev);
    return MSG_OK;
}

static enum handler_result
handle_set_vring_call(struct vhu_device *dev, struct vhu_msg *msg)
{
    struct vhu_vring *vr;
    int fd;

    if (!parse_vring_fd(dev, msg, &vr, &fd)) {
        return MSG_BREAK;
    }
    /* A data-path burst may be about to write the old fd: close it after
     * the grace period. */
    vhu_device_retire_fd(dev, atomic_exchange_explicit(
                             &vr->call_fd, fd, memory_order_relaxed));
    return MSG_OK;
}

static enum handler_result
handle_set_vring_err(struct vhu_device *dev, struct vhu_msg *msg)
{
    struct vhu_vring *vr;
    int fd;

    if (!parse_vring_fd(dev, msg, &vr, &fd)) {
        return MSG_BREAK;
    }
    if (vr->err_fd >= 0) {
        close(vr->err_fd);
    }
    vr->err_fd = fd;
    return MSG_OK;
}

static enum handler_result
handle_get_protocol_features(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, 0, 0)) {
        return MSG_BREAK;
    }
    msg->payload.u64 = dev->offered_protocol_features;
    msg->hdr.size = sizeof msg->payload.u64;
    return MSG_REPLY;
}

static enum handler_result
handle_set_protocol_features(struct vhu_device *dev, struct vhu_msg *msg)
{
    uint64_t features;

    if (!check_msg(dev, msg, sizeof msg->payload.u64, 0)) {
        return MSG_BREAK;
    }
    features = msg->payload.u64;
    if (features & ~dev->offered_protocol_features) {
        VHU_ERR("%s: SET_PROTOCOL_FEATURES: features 0x%"PRIx64" were not "
                "offered", dev->name,
                features & ~dev->offered_protocol_features);
        return MSG_BREAK;
    }
    dev->protocol_features = features;
    vhu_device_changed(dev);
    return MSG_OK;
}

static enum handler_result
handle_get_queue_num(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, 0, 0)) {
        return MSG_BREAK;
    }
    msg->payload.u64 = dev->opts.max_queue_pairs;
    msg->hdr.size = sizeof msg->payload.u64;
    return MSG_REPLY;
}

static enum handler_result
handle_set_vring_enable(struct vhu_device *dev, struct vhu_msg *msg)
{
    const struct vhu_vring_state *s = &msg->payload.state;
    struct vhu_vring *vr;

    if (!check_msg(dev, msg, sizeof *s, 0)
        || !(vr = get_vring(dev, msg, s->index))) {
        return MSG_BREAK;
    }
    if (s->num > 1) {
        VHU_ERR("%s: SET_VRING_ENABLE: vring %"PRIu32": invalid value %"
                PRIu32, dev->name, s->index, s->num);
        return MSG_BREAK;
    }
    if (vr->enable != (s->num == 1)) {
        vr->enable = s->num == 1;
        vhu_vring_sync(dev, vr);
        vhu_device_changed(dev);
    }
    return MSG_OK;
}

static enum handler_result
handle_send_rarp(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, sizeof msg->payload.u64, 0)) {
        return MSG_BREAK;
    }
    memcpy(dev->rarp_mac, msg->payload.mac, sizeof dev->rarp_mac);
    dev->rarp_pending = true;
    vhu_device_changed(dev);
    return MSG_OK;
}

static enum handler_result
handle_net_set_mtu(struct vhu_device *dev, struct vhu_msg *msg)
{
    uint64_t mtu;

    if (!check_msg(dev, msg, sizeof msg->payload.u64, 0)) {
        return MSG_BREAK;
    }
    mtu = msg->payload.u64;
    if (mtu < dev->opts.min_mtu || mtu > dev->opts.max_mtu) {
        VHU_WARN("%s: NET_SET_MTU: MTU %"PRIu64" outside %"PRIu32"..%"PRIu32
                 ", refused", dev->name, mtu, dev->opts.min_mtu,
                 dev->opts.max_mtu);
        return MSG_FAIL;
    }
    if (dev->mtu != mtu) {
        dev->mtu = mtu;
        vhu_device_changed(dev);
    }
    return MSG_OK;
}

static enum handler_result
handle_get_config(struct vhu_device *dev, struct vhu_msg *msg)
{
    struct vhu_config *c = &msg->payload.config;
    struct vhu_net_config cfg;

    if (msg->n_fds || msg->hdr.size < VHU_CONFIG_HDR_SIZE
        || msg->hdr.size - VHU_CONFIG_HDR_SIZE != c->size) {
        VHU_ERR("%s: GET_CONFIG: payload of %"PRIu32" bytes and %zu fds "
                "for %"PRIu32" bytes of configuration", dev->name,
                msg->hdr.size, msg->n_fds,
                msg->hdr.size >= VHU_CONFIG_HDR_SIZE ? c->size : 0);
        return MSG_BREAK;
    }
    vhu_ctrl_config(dev, &cfg);
    if (c->offset > sizeof cfg || c->size > sizeof cfg - c->offset) {
        /* The spec's way to say no: an empty payload. */
        VHU_WARN("%s: GET_CONFIG: bytes %"PRIu32"..%"PRIu32" are beyond "
                 "the %zu-byte configuration space", dev->name, c->offset,
                 c->offset + c->size, sizeof cfg);
        c->size = 0;
        msg->hdr.size = VHU_CONFIG_HDR_SIZE;
        return MSG_REPLY;
    }
    memcpy(c->data, (const uint8_t *) &cfg + c->offset, c->size);
    return MSG_REPLY;
}

static enum handler_result
handle_get_max_mem_slots(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, 0, 0)) {
        return MSG_BREAK;
    }
    msg->payload.u64 = VHU_MAX_MEM_REGIONS;
    msg->hdr.size = sizeof msg->payload.u64;
    return MSG_REPLY;
}

static enum handler_result
handle_add_mem_reg(struct vhu_device *dev, struct vhu_msg *msg)
{
    const struct vhu_mem_region *r = &msg->payload.mem_single.region;
    struct vhu_mem *mem;

    if (!check_msg(dev, msg, sizeof msg->payload.mem_single, 1)) {
        return MSG_BREAK;
    }
    if (vhu_mem_has_region(vhu_device_mem(dev), r)) {
        /* QEMU (7.2) sends ADD_MEM_REG for every queue pair of a
         * multiqueue device, all on one connection: the same region again
         * is not an overlap.  Its fd is closed with the message. */
        VHU_DBG("%s: ADD_MEM_REG: region at guest address 0x%"PRIx64
                " already mapped", dev->name, r->guest_phys_addr);
        return MSG_OK;
    }
    mem = vhu_mem_clone(vhu_device_mem(dev));
    if (!mem) {
        return MSG_BREAK;
    }
    if (vhu_mem_add_region(dev, mem, &msg->payload.mem_single.region,
                           msg->fds[0])) {
        vhu_mem_free(mem);
        return MSG_BREAK;
    }

    /* The regions already mapped stay mapped (shared with the new table),
     * so live rings may go on. */
    publish_mem(dev, mem);
    return MSG_OK;
}

static enum handler_result
handle_rem_mem_reg(struct vhu_device *dev, struct vhu_msg *msg)
{
    const struct vhu_mem_region *r = &msg->payload.mem_single.region;
    struct vhu_mem *mem;

    /* The spec allows (and QEMU sends) one fd, to be closed at once. */
    if (msg->hdr.size != sizeof msg->payload.mem_single || msg->n_fds > 1) {
        check_msg(dev, msg, sizeof msg->payload.mem_single, 0);
        return MSG_BREAK;
    }
    mem = vhu_mem_clone(vhu_device_mem(dev));
    if (!mem) {
        return MSG_BREAK;
    }
    if (!vhu_mem_remove_region(mem, r)) {
        /* Also sent once per queue pair by QEMU: the region may be gone
         * already. */
        VHU_DBG("%s: REM_MEM_REG: no region at guest address 0x%"PRIx64
                " with size 0x%"PRIx64, dev->name, r->guest_phys_addr,
                r->memory_size);
        vhu_mem_free(mem);
        return MSG_OK;
    }
    unpublish_all_rings(dev);
    if (!mem->n) {
        vhu_mem_free(mem);
        mem = NULL;
    }
    publish_mem(dev, mem);
    return MSG_OK;
}

static enum handler_result
handle_set_status(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, sizeof msg->payload.u64, 0)) {
        return MSG_BREAK;
    }
    if (msg->payload.u64 > UINT8_MAX) {
        VHU_ERR("%s: SET_STATUS: invalid status 0x%"PRIx64, dev->name,
                msg->payload.u64);
        return MSG_BREAK;
    }
    if (dev->status != msg->payload.u64) {
        dev->status = msg->payload.u64;
        vhu_device_changed(dev);
    }
    if (!dev->status) {
        /* A device reset: the driver starts again with one pair. */
        vhu_ctrl_reset(dev);
    }
    return MSG_OK;
}

static enum handler_result
handle_get_status(struct vhu_device *dev, struct vhu_msg *msg)
{
    if (!check_msg(dev, msg, 0, 0)) {
        return MSG_BREAK;
    }
    msg->payload.u64 = dev->status;
    msg->hdr.size = sizeof msg->payload.u64;
    return MSG_REPLY;
}

#define H(REQ, FN) [VHU_REQ_##REQ] = { #REQ, FN }
static const struct handler handlers[VHU_REQ_MAX] = {
    H(GET_FEATURES, handle_get_features),
    H(SET_FEATURES, handle_set_features),
    H(SET_OWNER, handle_set_owner),
    H(RESET_OWNER, handle_reset_owner),
    H(SET_MEM_TABLE, handle_set_mem_table),
    H(SET_LOG_BASE, handle_set_log_base),
    H(SET_LOG_FD, handle_set_log_fd),
    H(SET_VRING_NUM, handle_set_vring_num),
    H(SET_VRING_ADDR, handle_set_vring_addr),
    H(SET_VRING_BASE, handle_set_vring_base),
    H(GET_VRING_BASE, handle_get_vring_base),
    H(SET_VRING_KICK, handle_set_vring_kick),
    H(SET_VRING_CALL, handle_set_vring_call),
    H(SET_VRING_ERR, handle_set_vring_err),
    H(GET_PROTOCOL_FEATURES, handle_get_protocol_features),
    H(SET_PROTOCOL_FEATURES, handle_set_protocol_features),
    H(GET_QUEUE_NUM, handle_get_queue_num),
    H(SET_VRING_ENABLE, handle_set_vring_enable),
    H(SEND_RARP, handle_send_rarp),
    H(NET_SET_MTU, handle_net_set_mtu),
    H(SET_BACKEND_REQ_FD, NULL),
    H(IOTLB_MSG, NULL),
    H(SET_VRING_ENDIAN, NULL),
    H(GET_CONFIG, handle_get_config),
    H(SET_CONFIG, NULL),
    H(CREATE_CRYPTO_SESSION, NULL),
    H(CLOSE_CRYPTO_SESSION, NULL),
    H(POSTCOPY_ADVISE, NULL),
    H(POSTCOPY_LISTEN, NULL),
    H(POSTCOPY_END, NULL),
    H(GET_INFLIGHT_FD, NULL),
    H(SET_INFLIGHT_FD, NULL),
    H(GPU_SET_SOCKET, NULL),
    H(RESET_DEVICE, NULL),
    H(VRING_KICK, NULL),
    H(GET_MAX_MEM_SLOTS, handle_get_max_mem_slots),
    H(ADD_MEM_REG, handle_add_mem_reg),
    H(REM_MEM_REG, handle_rem_mem_reg),
    H(SET_STATUS, handle_set_status),
    H(GET_STATUS, handle_get_status),
};
#undef H

/* Handles 'msg'.  Returns false if it must be handled again after the
 * grace period (it then stays queued). */
static bool
dispatch(struct vhu_device *dev, struct vhu_msg *msg)
{
    uint32_t request = msg->hdr.request;
    bool ack = wants_ack(dev, msg);
    const struct handler *h = request < VHU_REQ_MAX ? &handlers[request]
                                                    : NULL;
    enum handler_result result;

    VHU_DBG("%s: %s (%"PRIu32" bytes, %zu fds)", dev->name,
            request_name(request), msg->hdr.size, msg->n_fds);
    if (h && h->handle) {
        result = h->handle(dev, msg);
    } else {
        VHU_WARN("%s: %s (%"PRIu32") not supported, refused", dev->name,
                 request_name(request), request);
        result = MSG_FAIL;
    }

    switch (result) {
    case MSG_OK:
    case MSG_FAIL:
        if (ack) {
            send_u64_reply(dev, request, result == MSG_FAIL);
        }
        break;
    case MSG_REPLY:
        send_reply(dev, request, &msg->payload, msg->hdr.size);
        break;
    case MSG_DEFER:
        break;
    case MSG_STALL:
        return false;
    case MSG_BREAK:
        vhu_device_break(dev);
        break;
    }
    return true;
}

/* Handles the queued messages until the queue is empty, the device broke
 * or a grace period is wanted; then, if no grace period is pending,
 * publishes the rings that should run. */
void
vhu_msg_process_queue(struct vhu_device *dev)
{
    while (dev->queue && !dev->broken && !dev->grace_wanted) {
        struct vhu_msg *msg = dev->queue;

        if (!dispatch(dev, msg)) {
            break;
        }
        dev->queue = msg->next;
        if (!dev->queue) {
            dev->queue_tail = &dev->queue;
        }
        dev->n_queued--;
        vhu_msg_free(msg);
    }
    if (!dev->broken && !dev->grace_wanted) {
        vhu_vring_sync_all(dev);
    }
}

/* Closes 'n' fds of 'fds'. */
static void
close_fds(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        close(fds[i]);
    }
}

/* Returns a new empty message, or NULL if out of memory. */
static struct vhu_msg *
msg_new(void)
{
    return calloc(1, sizeof(struct vhu_msg));
}

/* Checks the header of the message being assembled, just completed.
 * Returns false, breaking the device, if it cannot be framed. */
static bool
check_header(struct vhu_device *dev)
{
    const struct vhu_msg_header *hdr = &dev->cur->hdr;

    if ((hdr->flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION) {
        VHU_ERR("%s: message with version %"PRIu32" (expected %u)",
                dev->name, hdr->flags & VHU_FLAG_VERSION_MASK, VHU_VERSION);
        return false;
    }
    if (hdr->size > VHU_MSG_MAX_PAYLOAD) {
        VHU_ERR("%s: %s with %"PRIu32" bytes of payload (at most %zu)",
                dev->name, request_name(hdr->request), hdr->size,
                VHU_MSG_MAX_PAYLOAD);
        return false;
    }
    return true;
}

static int device_input__(struct vhu_device *, const uint8_t *data,
                          size_t n, const int *fds, size_t n_fds);

/* See vhost-engine.h. */
int
vhu_device_input(struct vhu_device *dev, const void *data, size_t n,
                 const int *fds, size_t n_fds)
{
    int error = device_input__(dev, data, n, fds, n_fds);

    vhu_device_publish(dev);
    return error;
}

static int
device_input__(struct vhu_device *dev, const uint8_t *data_, size_t n,
               const int *fds, size_t n_fds)
{
    const uint8_t *data = data_;

    if (dev->broken) {
        close_fds(fds, n_fds);
        return EPROTO;
    }

    if (n_fds) {
        if (!dev->cur && !(dev->cur = msg_new())) {
            close_fds(fds, n_fds);
            vhu_device_break(dev);
            return ENOMEM;
        }
        if (dev->cur->n_fds + n_fds > VHU_MSG_MAX_FDS) {
            VHU_ERR("%s: more than %d fds with one message", dev->name,
                    VHU_MSG_MAX_FDS);
            close_fds(fds, n_fds);
            vhu_device_break(dev);
            return EPROTO;
        }
        memcpy(&dev->cur->fds[dev->cur->n_fds], fds, n_fds * sizeof *fds);
        dev->cur->n_fds += n_fds;
    }

    while (n) {
        struct vhu_msg *msg;
        size_t want, k;

        if (!dev->cur && !(dev->cur = msg_new())) {
            vhu_device_break(dev);
            return ENOMEM;
        }
        msg = dev->cur;

        if (dev->cur_len < sizeof msg->hdr) {
            want = sizeof msg->hdr - dev->cur_len;
            k = n < want ? n : want;
            memcpy((uint8_t *) &msg->hdr + dev->cur_len, data, k);
        } else {
            size_t ofs = dev->cur_len - sizeof msg->hdr;

            want = msg->hdr.size - ofs;
            k = n < want ? n : want;
            memcpy((uint8_t *) &msg->payload + ofs, data, k);
        }
        dev->cur_len += k;
        data += k;
        n -= k;

        if (dev->cur_len == sizeof msg->hdr && !check_header(dev)) {
            vhu_device_break(dev);
            return EPROTO;
        }
        if (dev->cur_len >= sizeof msg->hdr
            && dev->cur_len == sizeof msg->hdr + msg->hdr.size) {
            if (dev->n_queued >= VHU_MAX_QUEUED_MSGS) {
                VHU_ERR("%s: more than %d messages waiting", dev->name,
                        VHU_MAX_QUEUED_MSGS);
                vhu_device_break(dev);
                return EPROTO;
            }
            *dev->queue_tail = msg;
            dev->queue_tail = &msg->next;
            dev->n_queued++;
            dev->cur = NULL;
            dev->cur_len = 0;
        }
    }

    vhu_msg_process_queue(dev);
    return dev->broken ? EPROTO : 0;
}
