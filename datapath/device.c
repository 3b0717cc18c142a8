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
#include <linux/mempolicy.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "virtqueue.h"

/* Virtio features the engine can offer (before options.features_disabled):
 * no IOMMU; the offloads below only with options.net_offloads.  Both ring
 * layouts use buffers in the order they were made available (IN_ORDER). */
#define VHU_SUPPORTED_FEATURES                  \
    (VHU_BIT(VHU_VIRTIO_F_VERSION_1)            \
     | VHU_BIT(VHU_VIRTIO_F_ANY_LAYOUT)         \
     | VHU_BIT(VHU_VIRTIO_F_RING_PACKED)        \
     | VHU_BIT(VHU_VIRTIO_F_IN_ORDER)           \
     | VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF)      \
     | VHU_BIT(VHU_VIRTIO_RING_F_INDIRECT_DESC) \
     | VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)     \
     | VHU_BIT(VHU_VIRTIO_NET_F_MTU)            \
     | VHU_BIT(VHU_VIRTIO_NET_F_STATUS)         \
     | VHU_BIT(VHU_VIRTIO_NET_F_CTRL_VQ)        \
     | VHU_BIT(VHU_VIRTIO_NET_F_MQ)             \
     | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_ANNOUNCE) \
     | VHU_BIT(VHU_F_LOG_ALL)                   \
     | VHU_BIT(VHU_F_PROTOCOL_FEATURES))

#define VHU_OFFLOAD_FEATURES                    \
    (VHU_BIT(VHU_VIRTIO_NET_F_CSUM)             \
     | VHU_BIT(VHU_VIRTIO_NET_F_HOST_TSO4)      \
     | VHU_BIT(VHU_VIRTIO_NET_F_HOST_TSO6)      \
     | VHU_BIT(VHU_VIRTIO_NET_F_HOST_ECN)       \
     | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_CSUM)     \
     | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_TSO4)     \
     | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_TSO6)     \
     | VHU_BIT(VHU_VIRTIO_NET_F_GUEST_ECN))

/* What each virtio-net feature requires (virtio 1.x 5.1.3.1, "Feature bit
 * requirements"): at least one of 'any_of'.  A driver must refuse a device
 * that offers a feature without what it requires (Linux's virtio_net
 * does), so the engine never offers one. */
static const struct {
    int feature;
    uint64_t any_of;
} feature_requirements[] = {
#define REQ(F, ANY_OF) { VHU_VIRTIO_NET_F_##F, ANY_OF }
#define NET(F) VHU_BIT(VHU_VIRTIO_NET_F_##F)
    REQ(GUEST_TSO4, NET(GUEST_CSUM)),
    REQ(GUEST_TSO6, NET(GUEST_CSUM)),
    REQ(GUEST_ECN, NET(GUEST_TSO4) | NET(GUEST_TSO6)),
    REQ(GUEST_UFO, NET(GUEST_CSUM)),
    REQ(GUEST_USO4, NET(GUEST_CSUM)),
    REQ(GUEST_USO6, NET(GUEST_CSUM)),
    REQ(HOST_TSO4, NET(CSUM)),
    REQ(HOST_TSO6, NET(CSUM)),
    REQ(HOST_ECN, NET(HOST_TSO4) | NET(HOST_TSO6)),
    REQ(HOST_UFO, NET(CSUM)),
    REQ(HOST_USO, NET(CSUM)),
    REQ(CTRL_RX, NET(CTRL_VQ)),
    REQ(CTRL_VLAN, NET(CTRL_VQ)),
    REQ(GUEST_ANNOUNCE, NET(CTRL_VQ)),
    REQ(MQ, NET(CTRL_VQ)),
    REQ(CTRL_MAC_ADDR, NET(CTRL_VQ)),
    REQ(NOTF_COAL, NET(CTRL_VQ)),
    REQ(VQ_NOTF_COAL, NET(CTRL_VQ)),
    REQ(RSS, NET(CTRL_VQ)),
    REQ(CTRL_RX_EXTRA, NET(CTRL_RX)),
    REQ(RSC_EXT, NET(HOST_TSO4) | NET(HOST_TSO6)),
#undef NET
#undef REQ
};

/* Returns 'features' without every feature whose requirements are not in
 * it (repeatedly: a feature dropped may be another's requirement). */
uint64_t
vhu_net_features_consistent(uint64_t features)
{
    bool changed;

    do {
        changed = false;
        for (size_t i = 0; i < sizeof feature_requirements
                                / sizeof *feature_requirements; i++) {
            uint64_t bit = VHU_BIT(feature_requirements[i].feature);

            if (features & bit
                && !(features & feature_requirements[i].any_of)) {
                features &= ~bit;
                changed = true;
            }
        }
    } while (changed);
    return features;
}

#define VHU_SUPPORTED_PROTOCOL_FEATURES                 \
    (VHU_BIT(VHU_PROTOCOL_F_MQ)                         \
     | VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK)                \
     | VHU_BIT(VHU_PROTOCOL_F_RARP)                     \
     | VHU_BIT(VHU_PROTOCOL_F_NET_MTU)                  \
     | VHU_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)      \
     | VHU_BIT(VHU_PROTOCOL_F_STATUS)                   \
     | VHU_BIT(VHU_PROTOCOL_F_CONFIG)                   \
     | VHU_BIT(VHU_PROTOCOL_F_LOG_SHMFD))

/* Creates a device from 'options'.  Returns NULL if the options are
 * invalid.  The caller owns the result (vhu_device_destroy()). */
struct vhu_device *
vhu_device_create(const struct vhu_device_options *options)
{
    struct vhu_device *dev;

    if (!options || options->max_queue_pairs < 1
        || options->max_queue_pairs > VHU_MAX_QUEUE_PAIRS
        || options->min_mtu > options->max_mtu) {
        VHU_ERR("%s: invalid device options",
                options && options->name ? options->name : "(unnamed)");
        return NULL;
    }

    dev = calloc(1, sizeof *dev);
    if (!dev) {
        return NULL;
    }
    dev->name = strdup(options->name ? options->name : "vhost-user");
    if (!dev->name) {
        free(dev);
        return NULL;
    }
    dev->opts = *options;
    dev->opts.name = dev->name;

    dev->offered_features = vhu_net_features_consistent(
        (VHU_SUPPORTED_FEATURES
         | (options->net_offloads ? VHU_OFFLOAD_FEATURES : 0))
        & ~options->features_disabled);
    dev->offered_protocol_features = (VHU_SUPPORTED_PROTOCOL_FEATURES
                                      & ~options->protocol_features_disabled);

    dev->numa_node = -1;
    dev->ctrl_pairs = 1;
    /* GET_QUEUE_NUM answers max_queue_pairs, which QEMU and DPDK read as
     * queue pairs, but crosvm and Cloud Hypervisor as virtqueues: the
     * pairs that the configuration space announces leave room for the
     * control queue within that many virtqueues. */
    dev->config_pairs = (options->max_queue_pairs - 1) / 2;
    if (!dev->config_pairs) {
        dev->config_pairs = 1;
    }
    atomic_init(&dev->config_mtu, 1500);
    atomic_init(&dev->features, 0);
    atomic_init(&dev->change_seq, 1);
    atomic_init(&dev->mem, NULL);
    atomic_init(&dev->log, NULL);
    for (size_t i = 0; i < VHU_MAX_VRINGS; i++) {
        vhu_vring_init(&dev->vrings[i]);
    }
    dev->queue_tail = &dev->queue;
    pthread_mutex_init(&dev->pub_mutex, NULL);
    vhu_device_publish(dev);
    return dev;
}

/* Releases everything in the retired list. */
static void
release_retired(struct vhu_device *dev)
{
    for (size_t i = 0; i < dev->n_retired; i++) {
        struct vhu_retired *r = &dev->retired[i];

        switch (r->type) {
        case VHU_RETIRED_FD:
            close(r->fd);
            break;
        case VHU_RETIRED_MEM:
            vhu_mem_free(r->mem);
            break;
        case VHU_RETIRED_LOG:
            vhu_log_free(r->log);
            break;
        }
    }
    dev->n_retired = 0;
}

/* Frees 'dev' and everything it holds.  No data-path thread may use it. */
void
vhu_device_destroy(struct vhu_device *dev)
{
    if (!dev) {
        return;
    }
    vhu_device_disconnect(dev);
    release_retired(dev);
    free(dev->retired);
    free(dev->out);
    free(dev->name);
    pthread_mutex_destroy(&dev->pub_mutex);
    free(dev);
}

/* Adds 'r' to the things released after the next grace period.  On
 * allocation failure, waits for nothing: the caller's data path must not
 * be running with a device that ran out of memory, so this is a last
 * resort that leaks rather than risks a use after free. */
static void
retire(struct vhu_device *dev, const struct vhu_retired *r)
{
    if (dev->n_retired >= dev->allocated_retired) {
        size_t n = dev->allocated_retired ? 2 * dev->allocated_retired : 8;
        struct vhu_retired *p = realloc(dev->retired, n * sizeof *p);

        if (!p) {
            VHU_ERR("%s: out of memory retiring a resource (leaked)",
                    dev->name);
            return;
        }
        dev->retired = p;
        dev->allocated_retired = n;
    }
    dev->retired[dev->n_retired++] = *r;
    vhu_device_want_grace(dev);
}

/* Closes 'fd' (if not -1) after the next grace period. */
void
vhu_device_retire_fd(struct vhu_device *dev, int fd)
{
    if (fd >= 0) {
        struct vhu_retired r = { .type = VHU_RETIRED_FD, .fd = fd };
        retire(dev, &r);
    }
}

/* Frees memory table 'mem' (if not NULL) after the next grace period. */
void
vhu_device_retire_mem(struct vhu_device *dev, struct vhu_mem *mem)
{
    if (mem) {
        struct vhu_retired r = { .type = VHU_RETIRED_MEM, .mem = mem };
        retire(dev, &r);
    }
}

/* Unmaps dirty log 'log' (if not NULL) after the next grace period. */
void
vhu_device_retire_log(struct vhu_device *dev, struct vhu_log_map *log)
{
    if (log) {
        struct vhu_retired r = { .type = VHU_RETIRED_LOG, .log = log };
        retire(dev, &r);
    }
}

/* Notes that the caller must run a grace period. */
void
vhu_device_want_grace(struct vhu_device *dev)
{
    dev->grace_wanted = true;
}

/* Notes a change the caller may want to react to. */
void
vhu_device_changed(struct vhu_device *dev)
{
    atomic_fetch_add_explicit(&dev->change_seq, 1, memory_order_relaxed);
}

/* Marks the device broken: the frontend violated the protocol.  Stops
 * every ring. */
void
vhu_device_break(struct vhu_device *dev)
{
    if (!dev->broken) {
        dev->broken = true;
        for (size_t i = 0; i < VHU_MAX_VRINGS; i++) {
            vhu_vring_unpublish(dev, &dev->vrings[i]);
        }
        vhu_device_changed(dev);
    }
}

/* Stops every ring and closes its fds (after a grace period). */
void
vhu_device_stop_all_rings(struct vhu_device *dev)
{
    for (size_t i = 0; i < VHU_MAX_VRINGS; i++) {
        struct vhu_vring *vr = &dev->vrings[i];

        vhu_vring_unpublish(dev, vr);
        vr->started = false;
        vr->enable = false;
        vhu_vring_close_fds(dev, vr);
    }
}

/* Ends the connection: see vhost-engine.h. */
void
vhu_device_disconnect(struct vhu_device *dev)
{
    vhu_msg_flush_input(dev);
    dev->out_ofs = dev->out_len = 0;
    dev->deferred_request = VHU_REQ_NONE;

    vhu_device_stop_all_rings(dev);
    for (size_t i = 0; i < VHU_MAX_VRINGS; i++) {
        struct vhu_vring *vr = &dev->vrings[i];

        /* Keep the ring positions; forget the layout. */
        vr->has_num = vr->has_addr = false;
    }

    vhu_device_retire_mem(dev, atomic_exchange_explicit(
                              &dev->mem, NULL, memory_order_acq_rel));
    vhu_device_retire_log(dev, atomic_exchange_explicit(
                              &dev->log, NULL, memory_order_acq_rel));

    atomic_store_explicit(&dev->features, 0, memory_order_relaxed);
    dev->protocol_features = 0;
    dev->owner = false;
    dev->status = 0;
    dev->mtu = 0;
    dev->rarp_pending = false;
    dev->ctrl_pairs = 1;
    dev->broken = false;
    vhu_device_changed(dev);
    vhu_device_publish(dev);
}

bool
vhu_device_is_broken(const struct vhu_device *dev)
{
    return dev->broken;
}

bool
vhu_device_check_faults(struct vhu_device *dev)
{
    uint64_t n = vhu_fault_count();
    const struct vhu_log_map *log;
    const struct vhu_mem *mem;

    if (n == dev->faults_seen) {
        return false;
    }
    dev->faults_seen = n;
    if (dev->broken) {
        return false;
    }

    mem = vhu_device_mem(dev);
    for (unsigned int i = 0; mem && i < mem->n; i++) {
        const struct vhu_region *r = &mem->regions[i];

        if (vhu_fault_happened(r->mapping->fault_slot)) {
            VHU_ERR("%s: guest memory region %u (guest 0x%"PRIx64", size "
                    "0x%"PRIx64") became inaccessible (SIGBUS): the "
                    "frontend shrank or removed the memory it shared",
                    dev->name, i, r->gpa, r->size);
            vhu_device_break(dev);
            vhu_device_publish(dev);
            return true;
        }
    }
    log = atomic_load_explicit(&dev->log, memory_order_acquire);
    if (log && vhu_fault_happened(log->fault_slot)) {
        VHU_ERR("%s: dirty log became inaccessible (SIGBUS): the frontend "
                "shrank or removed the memory it shared", dev->name);
        vhu_device_break(dev);
        vhu_device_publish(dev);
        return true;
    }
    return false;
}

bool
vhu_device_wants_grace(const struct vhu_device *dev)
{
    return dev->grace_wanted;
}

/* Called by the caller after a grace period: releases what was retired,
 * sends the deferred reply, handles the input buffered meanwhile and
 * republishes the rings that should run. */
void
vhu_device_grace_done(struct vhu_device *dev)
{
    dev->grace_wanted = false;
    release_retired(dev);
    if (dev->deferred_request != VHU_REQ_NONE) {
        vhu_msg_send_deferred(dev);
    }
    vhu_msg_process_queue(dev);
    /* A control command may have waited for this grace period. */
    vhu_device_run_ctrl(dev);
    vhu_device_publish(dev);
}

uint64_t
vhu_device_change_seq(const struct vhu_device *dev)
{
    return atomic_load_explicit(&((struct vhu_device *) dev)->change_seq,
                                memory_order_relaxed);
}

/* Computes what other threads may see of 'dev' (control thread). */
static void
compute_pub(const struct vhu_device *dev, struct vhu_pub *pub)
{
    uint64_t features = vhu_device_features_relaxed(dev);
    bool any_started = false;

    memset(pub, 0, sizeof *pub);
    pub->features = features;
    pub->protocol_features = dev->protocol_features;
    pub->mtu = dev->mtu;
    pub->numa_node = dev->numa_node;
    pub->ctrl_pairs = vhu_ctrl_is_served(dev) ? dev->ctrl_pairs : 0;
    pub->logging = ((features & VHU_BIT(VHU_F_LOG_ALL))
                    && atomic_load_explicit(&((struct vhu_device *) dev)->log,
                                            memory_order_relaxed));
    for (unsigned int i = 0; i < VHU_MAX_VRINGS; i++) {
        const struct vhu_vring *vr = &dev->vrings[i];
        struct vhu_pub_vring *p = &pub->vrings[i];

        p->configured = vr->has_num && vr->has_addr;
        p->started = vr->started;
        p->enabled = ((vr->enable
                       || !(features & VHU_BIT(VHU_F_PROTOCOL_FEATURES)))
                      && !vhu_ctrl_excludes(dev, i));
        p->log_used = (vr->addr.flags & VHU_VRING_F_LOG) != 0;
        p->size = vr->has_num ? vr->num : 0;
        p->kick_fd = vr->kick_fd;
        p->packed = (features & VHU_BIT(VHU_VIRTIO_F_RING_PACKED)) != 0;
    }
    for (unsigned int qp = 0; qp < dev->opts.max_queue_pairs; qp++) {
        const struct vhu_vring *rx = &dev->vrings[2 * qp];
        const struct vhu_vring *tx = &dev->vrings[2 * qp + 1];

        if (rx->has_addr && tx->has_addr) {
            pub->n_queue_pairs = qp + 1;
        }
        if (rx->started && tx->started) {
            any_started = true;
        }
    }
    if (dev->broken) {
        pub->running = false;
    } else if (dev->protocol_features & VHU_BIT(VHU_PROTOCOL_F_STATUS)
               && dev->status) {
        pub->running = (dev->status & VHU_STATUS_DRIVER_OK) != 0;
    } else {
        pub->running = any_started;
    }
}

/* Publishes the control thread's state of 'dev' to other threads.  Called
 * at the end of every call of the control thread into the engine that may
 * change it. */
void
vhu_device_publish(struct vhu_device *dev)
{
    struct vhu_pub pub;

    compute_pub(dev, &pub);
    pthread_mutex_lock(&dev->pub_mutex);
    dev->pub = pub;
    pthread_mutex_unlock(&dev->pub_mutex);
}

/* Returns the published state of 'dev', locked: read what you need and
 * call pub_unlock(). */
static const struct vhu_pub *
pub_lock(const struct vhu_device *dev_)
{
    struct vhu_device *dev = (struct vhu_device *) dev_;

    pthread_mutex_lock(&dev->pub_mutex);
    return &dev->pub;
}

static void
pub_unlock(const struct vhu_device *dev)
{
    pthread_mutex_unlock(&((struct vhu_device *) dev)->pub_mutex);
}

uint64_t
vhu_device_features(const struct vhu_device *dev)
{
    uint64_t features = pub_lock(dev)->features;

    pub_unlock(dev);
    return features;
}

uint64_t
vhu_device_protocol_features(const struct vhu_device *dev)
{
    uint64_t features = pub_lock(dev)->protocol_features;

    pub_unlock(dev);
    return features;
}

/* Returns the number of queue pairs whose rings both have addresses. */
unsigned int
vhu_device_n_queue_pairs(const struct vhu_device *dev)
{
    unsigned int n = pub_lock(dev)->n_queue_pairs;

    pub_unlock(dev);
    return n;
}

bool
vhu_device_is_running(const struct vhu_device *dev)
{
    bool running = pub_lock(dev)->running;

    pub_unlock(dev);
    return running;
}

bool
vhu_device_is_logging(const struct vhu_device *dev)
{
    bool logging = pub_lock(dev)->logging;

    pub_unlock(dev);
    return logging;
}

uint32_t
vhu_device_mtu(const struct vhu_device *dev)
{
    uint32_t mtu = pub_lock(dev)->mtu;

    pub_unlock(dev);
    return mtu;
}

unsigned int
vhu_device_ctrl_pairs(const struct vhu_device *dev)
{
    unsigned int n = pub_lock(dev)->ctrl_pairs;

    pub_unlock(dev);
    return n;
}

int
vhu_device_numa_node(const struct vhu_device *dev)
{
    int node = pub_lock(dev)->numa_node;

    pub_unlock(dev);
    return node;
}

/* The node of the page at 'addr' (which a ring access will fault in
 * anyway), or -1. */
static int
default_numa_probe(const void *addr)
{
    int node = -1;

    if (syscall(SYS_get_mempolicy, &node, NULL, 0UL, addr,
                MPOL_F_NODE | MPOL_F_ADDR)) {
        return -1;
    }
    return node;
}

static vhu_numa_probe_fn *numa_probe = default_numa_probe;

void
vhu_set_numa_probe(vhu_numa_probe_fn *probe)
{
    numa_probe = probe ? probe : default_numa_probe;
}

/* Learns the NUMA node of the guest's memory from 'addr' (control
 * thread). */
void
vhu_device_learn_numa(struct vhu_device *dev, const void *addr)
{
    int node = numa_probe(addr);

    if (node != dev->numa_node) {
        VHU_INFO("%s: guest memory on NUMA node %d", dev->name, node);
        dev->numa_node = node;
        vhu_device_changed(dev);
    }
}

void
vhu_device_set_config_mtu(struct vhu_device *dev, uint16_t mtu)
{
    atomic_store_explicit(&dev->config_mtu, mtu, memory_order_relaxed);
}

bool
vhu_device_take_rarp(struct vhu_device *dev, uint8_t mac[6])
{
    if (!dev->rarp_pending) {
        return false;
    }
    memcpy(mac, dev->rarp_mac, 6);
    dev->rarp_pending = false;
    return true;
}

/* Fills '*info' for 'vring' (all zero and fds -1 if out of range), from
 * the published state and the data path's atomics: the indexes are those
 * its owner (the data path while the ring runs) last set or read, which
 * may be slightly stale.  Buffers are used in order, so the last used and
 * last available indexes are the used index.  While the ring is live, the
 * guest's own avail and used indexes are read from its memory (the data
 * path reads the avail index of a guest's receive ring only when it has
 * frames for it): the caller must then be a thread that the grace periods
 * wait for (in Open vSwitch, any thread: RCU), so that the memory cannot
 * be unmapped under it, and a fault there is recovered (guest-fault.c). */
void
vhu_device_vring_info(const struct vhu_device *dev, unsigned int vring,
                      struct vhu_vring_info *info)
{
    struct vhu_pub_vring p;
    struct vhu_vring *vr;

    memset(info, 0, sizeof *info);
    info->kick_fd = info->call_fd = -1;
    if (vring >= VHU_MAX_VRINGS) {
        return;
    }
    p = pub_lock(dev)->vrings[vring];
    pub_unlock(dev);
    vr = &((struct vhu_device *) dev)->vrings[vring];
    info->configured = p.configured;
    info->started = p.started;
    info->enabled = p.enabled;
    info->size = p.size;
    info->kick_fd = p.kick_fd;
    info->log_used = p.log_used;
    info->broken = atomic_load_explicit(&vr->broken, memory_order_relaxed);
    info->packed = p.packed;
    info->last_avail_idx = info->last_used_idx
        = atomic_load_explicit(&vr->used_idx_seen, memory_order_relaxed);
    if (p.packed) {
        /* Positions in the ring and the wrap counter: no indexes in guest
         * memory, so 'avail_idx' counts on from 'last_avail_idx' by the
         * descriptors available. */
        uint16_t pos = info->last_avail_idx;

        info->wrap = vhu_packed_pos_wrap(pos);
        info->last_avail_idx = info->last_used_idx = vhu_packed_pos_slot(pos);
        info->used_idx = info->last_used_idx;
        info->avail_idx = info->last_avail_idx;
        if (atomic_load_explicit(&vr->live, memory_order_acquire)) {
            info->avail_idx += vhu_packed_count_avail(vr, pos);
        }
    } else if (atomic_load_explicit(&vr->live, memory_order_acquire)) {
        info->avail_idx = vhu_read_u16(&vr->avail->idx);
        info->used_idx = vhu_read_u16(&vr->used->idx);
    } else {
        info->avail_idx = atomic_load_explicit(&vr->avail_idx_seen,
                                               memory_order_relaxed);
        info->used_idx = info->last_used_idx;
    }
    info->call_fd = atomic_load_explicit(&vr->call_fd, memory_order_relaxed);
}

/* Copies the counters of 'vring' into '*stats' (zeros if out of range). */
void
vhu_device_vring_stats(const struct vhu_device *dev, unsigned int vring,
                       struct vhu_vring_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (vring < VHU_MAX_VRINGS) {
        struct vhu_vring_counters *c
            = &((struct vhu_device *) dev)->vrings[vring].stats;

        stats->packets = atomic_load_explicit(&c->packets,
                                              memory_order_relaxed);
        stats->bytes = atomic_load_explicit(&c->bytes, memory_order_relaxed);
        stats->dropped = atomic_load_explicit(&c->dropped,
                                              memory_order_relaxed);
        stats->errors = atomic_load_explicit(&c->errors,
                                             memory_order_relaxed);
        stats->notifications = atomic_load_explicit(&c->notifications,
                                                    memory_order_relaxed);
        stats->logged = atomic_load_explicit(&c->logged,
                                             memory_order_relaxed);
        stats->bad_offloads = atomic_load_explicit(&c->bad_offloads,
                                                   memory_order_relaxed);
    }
}
