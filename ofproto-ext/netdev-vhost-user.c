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

/* The vhost-user netdev classes: ports whose peer is a virtio-net frontend
 * (QEMU, DPDK virtio-user) speaking vhost-user over a UNIX socket.
 *
 * Each port has one engine device (datapath/vhost-engine.h).  The control
 * thread (vhost-user-ctl.c) serves its socket; PMD threads move packets:
 * queue pair N of the guest is rxq N (the guest's transmit ring) and a
 * transmit ring (the guest's receive ring) of the port. */

#include <config.h>

#include "netdev-vhost-user.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "coverage.h"
#include "dirs.h"
#include "dp-packet.h"
#include "netdev-provider.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/shash.h"
#include "openvswitch/vlog.h"
#include "ovs-atomic.h"
#include "ovs-numa.h"
#include "ovs-thread.h"
#include "packets.h"
#include "smap.h"
#include "unixctl.h"
#include "util.h"
#include "vhost-engine.h"
#include "vhost-user-ctl.h"
#include "vhost-user-offload.h"
#include "vhost-user-packet.h"
#include "vhost-user-qos.h"
#include "vhost-user-park.h"
#include "vhost-user-rx-mode.h"
#include "vhost-user-show.h"
#include "vhost-user-signals.h"
#include "vhost-user-tsan.h"
#include "vhost-user-txq-map.h"

VLOG_DEFINE_THIS_MODULE(netdev_vhost_user);

COVERAGE_DEFINE(vhost_user_tx_not_running);
COVERAGE_DEFINE(vhost_user_tx_retry);

/* Bounds of options:tx-retries-max, as in OVS-DPDK. */
#define VHOST_TX_RETRIES_MIN 0
#define VHOST_TX_RETRIES_MAX 32
#define VHOST_TX_RETRIES_DEF 8

/* Receive mode of a port with neither options:rx-mode nor
 * other_config:vhost-user-rx-mode (see Documentation/vhost-user-ports.rst
 * for why). */
#define VHOST_RX_MODE_DEFAULT VHOST_RX_ADAPTIVE

/* MTU limits: what NET_SET_MTU and mtu_request may set. */
#define VHOST_MIN_MTU 68
#define VHOST_MAX_MTU 9710

/* The largest frame the switch sends for an MTU, as OVS-DPDK computes it:
 * Ethernet header and CRC on top of the MTU. */
#define MTU_TO_MAX_FRAME_LEN(MTU) ((MTU) + ETH_HEADER_LEN + 4)
#define MAX_FRAME_LEN_TO_MTU(LEN) ((int) (LEN) - ETH_HEADER_LEN - 4)

/* Counters of one queue pair kept by the provider, on top of the engine's
 * (packets, bytes, errors, notifications).  Written under the pair's
 * 'tx_lock' (transmit side) or by the one PMD thread that polls the pair's
 * rxq (receive side); read by anyone. */
struct vhost_qp_counters {
    atomic_uint64_t tx_failure_drops;   /* Guest's receive ring full. */
    atomic_uint64_t tx_mtu_drops;       /* Longer than the MTU allows. */
    atomic_uint64_t tx_retries;
};

/* What the PMD threads that send to one queue pair write: its lock and
 * counters, on a cache line of their own, so that threads sending to
 * different pairs never share a line (they shared one, four locks to a
 * line, with the counters on others). */
struct vhost_txq {
    PADDED_MEMBERS(CACHE_LINE_SIZE,
        struct ovs_spin lock;
        struct vhost_qp_counters counters;
    );
};
BUILD_ASSERT_DECL(sizeof(struct vhost_txq) == CACHE_LINE_SIZE);

struct netdev_vhost_user {
    struct netdev up;

    /* Immutable after construction. */
    bool client;                    /* Connects (true) or listens (false). */
    bool offloads;                  /* Checksum and TSO offloads offered. */
    struct vhu_device *vdev;

    struct ovs_mutex mutex;
    char *socket_path OVS_GUARDED;  /* NULL until known. */
    struct vhost_user_conn *conn OVS_GUARDED;   /* NULL until configured. */
    struct eth_addr hwaddr OVS_GUARDED;
    enum netdev_flags flags OVS_GUARDED;
    int mtu OVS_GUARDED;
    int requested_n_txq OVS_GUARDED;
    int rx_mode_option OVS_GUARDED; /* options:rx-mode, or -1 if none. */
    char *config_error OVS_GUARDED; /* For the Interface's error column. */

    /* Read by PMD threads. */
    atomic_int tx_retries_max;
    atomic_uint32_t max_frame_len;  /* From the MTU. */
    atomic_uint guest_n_qp;         /* Queue pairs the frontend set up. */
    struct vhost_pair_map rx_enabled;   /* The guest transmits on pair N. */
    struct vhost_txq_map txq_map;       /* Where each txq sends to. */
    atomic_bool admin_up;           /* NETDEV_UP ("ovs-ofctl mod-port"). */
    atomic_int rx_mode;             /* enum vhost_rx_mode in effect. */
    struct vhost_rx_sleep_stats sleep_stats;
    struct vhost_park park;         /* Rings out of the poll lists. */

    /* A RARP to send as if from the guest (SEND_RARP after a migration):
     * RARP_PENDING | the MAC (eth_addr_to_uint64()), or 0 if none; set by
     * the control thread, taken in one exchange by the PMD thread polling
     * rxq 0, so that a request is never lost between reading and clearing
     * it and the MAC read is never half old, half new. */
    atomic_uint64_t rarp;

    struct vhost_offload_stats offload_stats;
    struct vhost_qos policer;       /* ingress_policing_rate/burst. */
    struct vhost_qos qos;           /* Egress QoS (the Port's QoS row). */
    bool announced_carrier;         /* Control thread only. */
    uint64_t rx_bad_offloads_logged;    /* Control thread only. */
    int numa_id;                    /* Control thread only (INT_MIN at
                                     * first). */

    /* The transmit map's requests to the control thread: bumped when the
     * pairs or the number of txqs change (vhost_txq_map_sync()). */
    atomic_uint tx_map_requests;
    unsigned int tx_map_requests_seen;  /* Control thread only. */

    /* Sending to a port whose frontend is absent. */
    atomic_uint64_t tx_not_running_drops;

    /* Frames dropped both ways while the port is administratively down. */
    atomic_uint64_t rx_admin_down_drops;
    atomic_uint64_t tx_admin_down_drops;

    OVS_ALIGNED_VAR(CACHE_LINE_SIZE) struct vhost_txq
        txqs[VHU_MAX_QUEUE_PAIRS];
};

/* In 'rarp' of struct netdev_vhost_user: a RARP is pending. */
#define RARP_PENDING (UINT64_C(1) << 48)

struct netdev_rxq_vhost_user {
    struct netdev_rxq up;
    struct vhost_rx_waiter waiter;
};

static struct netdev_rxq_vhost_user *
netdev_rxq_vhost_user_cast(const struct netdev_rxq *rxq)
{
    return CONTAINER_OF(rxq, struct netdev_rxq_vhost_user, up);
}

/* other_config:vhost-user-rx-mode: the mode of ports without their own. */
static atomic_int default_rx_mode = VHOST_RX_MODE_DEFAULT;

/* other_config:vhost-user-tx-lock: "auto" (true) skips a queue pair's lock
 * when one transmit queue alone sends to it, "always" (false) does not. */
static atomic_bool tx_lock_free = true;

/* Directory of the sockets of "vhostuser" ports: the run directory, or
 * other_config:vhost-sock-dir below it. */
static struct ovs_mutex sock_dir_mutex = OVS_MUTEX_INITIALIZER;
static char *vhost_sock_dir OVS_GUARDED_BY(sock_dir_mutex);

static int netdev_vhost_user_construct(struct netdev *);

static bool
is_vhost_user_class(const struct netdev_class *class)
{
    return class->construct == netdev_vhost_user_construct;
}

static struct netdev_vhost_user *
netdev_vhost_user_cast(const struct netdev *netdev)
{
    ovs_assert(is_vhost_user_class(netdev_get_class(netdev)));
    return CONTAINER_OF(netdev, struct netdev_vhost_user, up);
}

static bool
is_client_class(const struct netdev_class *class)
{
    return strstr(class->type, "client") != NULL;
}

static uint64_t
counter_read(const atomic_uint64_t *counter)
{
    uint64_t value;

    atomic_read_relaxed(CONST_CAST(atomic_uint64_t *, counter), &value);
    return value;
}

/* Adds 'n' to a counter that only one thread at a time writes: no locked
 * instruction. */
static void
counter_add(atomic_uint64_t *counter, uint64_t n)
{
    atomic_store_relaxed(counter, counter_read(counter) + n);
}

/* The receive mode in effect for 'dev'. */
static enum vhost_rx_mode
vhost_rx_mode(const struct netdev_vhost_user *dev)
{
    int mode;

    atomic_read_relaxed(CONST_CAST(atomic_int *, &dev->rx_mode), &mode);
    return mode;
}

/* The provider's transmit counters of 'dev', summed over its queue
 * pairs. */
struct vhost_tx_totals {
    uint64_t failure_drops;     /* Guest's receive ring full. */
    uint64_t mtu_drops;         /* Longer than the MTU allows. */
    uint64_t retries;
};

static struct vhost_tx_totals
vhost_tx_totals(const struct netdev_vhost_user *dev)
{
    struct vhost_tx_totals t = { 0, 0, 0 };

    for (unsigned int qp = 0; qp < VHU_MAX_QUEUE_PAIRS; qp++) {
        const struct vhost_qp_counters *c = &dev->txqs[qp].counters;

        t.failure_drops += counter_read(&c->tx_failure_drops);
        t.mtu_drops += counter_read(&c->tx_mtu_drops);
        t.retries += counter_read(&c->tx_retries);
    }
    return t;
}

/* Returns the socket directory for "vhostuser" ports, as a new string. */
static char *
vhost_sock_dir_get(void)
{
    char *dir;

    ovs_mutex_lock(&sock_dir_mutex);
    dir = xstrdup(vhost_sock_dir ? vhost_sock_dir : ovs_rundir());
    ovs_mutex_unlock(&sock_dir_mutex);
    return dir;
}

static void vhost_update_rx_modes(void);

/* Sets the mode in effect for 'dev' from its option and the default. */
static void
vhost_update_rx_mode(struct netdev_vhost_user *dev)
{
    int mode, old_mode;

    ovs_mutex_lock(&dev->mutex);
    mode = dev->rx_mode_option;
    ovs_mutex_unlock(&dev->mutex);
    if (mode < 0) {
        atomic_read_relaxed(&default_rx_mode, &mode);
    }
    atomic_read_relaxed(&dev->rx_mode, &old_mode);
    if (mode != old_mode) {
        atomic_store_relaxed(&dev->rx_mode, mode);
        VLOG_INFO("%s: receive mode %s", netdev_get_name(&dev->up),
                  vhost_rx_mode_to_string(mode));
        vhost_rx_wake_all();
    }
}

/* other_config:vhost-user-rx-mode. */
static void
vhost_set_default_rx_mode(const char *value)
{
    enum vhost_rx_mode mode = VHOST_RX_MODE_DEFAULT;
    int old_mode;

    static char *bad_value;     /* Logged already. */

    if (value && !vhost_rx_mode_from_string(value, &mode)) {
        /* Logged once per value: this runs on every bridge run. */
        if (!nullable_string_is_equal(value, bad_value)) {
            VLOG_ERR("other_config:vhost-user-rx-mode \"%s\" is not "
                     "polling, adaptive or interrupt; using %s", value,
                     vhost_rx_mode_to_string(VHOST_RX_MODE_DEFAULT));
            free(bad_value);
            bad_value = xstrdup(value);
        }
        mode = VHOST_RX_MODE_DEFAULT;
    } else {
        free(bad_value);
        bad_value = NULL;
    }
    atomic_read_relaxed(&default_rx_mode, &old_mode);
    if (mode != old_mode) {
        atomic_store_relaxed(&default_rx_mode, mode);
        VLOG_INFO("vhost-user ports without options:rx-mode receive in %s "
                  "mode", vhost_rx_mode_to_string(mode));
        vhost_update_rx_modes();
    }
}

static void
vhost_set_tx_lock(const char *value)
{
    bool lock_free, old;

    if (!value || !strcmp(value, "auto")) {
        lock_free = true;
    } else if (!strcmp(value, "always")) {
        lock_free = false;
    } else {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 60);

        VLOG_ERR_RL(&rl, "ignoring other_config:vhost-user-tx-lock \"%s\": "
                    "it must be \"auto\" or \"always\"", value);
        lock_free = true;
    }
    atomic_read_relaxed(&tx_lock_free, &old);
    if (lock_free != old) {
        VLOG_INFO("vhost-user transmit queues lock %s",
                  lock_free ? "only pairs that several queues share"
                  : "always");
        atomic_store_relaxed(&tx_lock_free, lock_free);
    }
}

void
netdev_vhost_user_set_global_config(const struct smap *other_config)
{
    const char *sub = smap_get(other_config, "vhost-sock-dir");
    char *dir;

    vhost_set_default_rx_mode(smap_get(other_config, "vhost-user-rx-mode"));
    vhost_set_tx_lock(smap_get(other_config, "vhost-user-tx-lock"));
    vhost_park_set_config(smap_get(other_config, "vhost-user-rxq-park-ms"),
                          smap_get_ullong(other_config, "pmd-maxsleep", 0));

    if (sub && strstr(sub, "..")) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 60);

        VLOG_ERR_RL(&rl, "ignoring other_config:vhost-sock-dir \"%s\": "
                    "it must not contain \"..\"; using %s", sub,
                    ovs_rundir());
        sub = NULL;
    }
    dir = sub ? xasprintf("%s/%s", ovs_rundir(), sub) : NULL;

    ovs_mutex_lock(&sock_dir_mutex);
    if (!nullable_string_is_equal(dir, vhost_sock_dir)) {
        VLOG_INFO("vhost-user sockets go in %s", dir ? dir : ovs_rundir());
        free(vhost_sock_dir);
        vhost_sock_dir = dir;
        dir = NULL;
    }
    ovs_mutex_unlock(&sock_dir_mutex);
    free(dir);
}

/* Stores in 'words' the queue pairs whose virtqueue at offset 'dir' (0 for
 * the guest's receive queue, 1 for its transmit queue) the guest set up,
 * started and enabled (control thread). */
static void
vhost_enabled_pairs(const struct vhu_device *vdev, unsigned int dir,
                    uint64_t words[VHOST_MAP_WORDS])
{
    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        uint64_t w = 0;

        for (unsigned int b = 0; b < 64; b++) {
            unsigned int qp = i * 64 + b;
            struct vhu_vring_info info;

            if (qp >= VHU_MAX_QUEUE_PAIRS) {
                break;
            }
            vhu_device_vring_info(vdev, 2 * qp + dir, &info);
            if (info.configured && info.started && info.enabled
                && !info.broken) {
                w |= UINT64_C(1) << b;
            }
        }
        words[i] = w;
    }
}

/* Control thread, on every run of the port's connection: brings the
 * transmit map to the guest's receive pairs, the port's number of txqs and
 * other_config:vhost-user-tx-lock, in the steps vhost-user-txq-map.h
 * describes.  'grace_elapsed' says that the grace period this function
 * last asked for has elapsed.  Returns true if it waits for one (the
 * caller starts one unless one is under way). */
bool
netdev_vhost_user_tx_run(struct netdev *netdev, bool grace_elapsed)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    uint64_t pairs[VHOST_MAP_WORDS];
    unsigned int requests;
    bool lock_free;

    atomic_read_relaxed(&dev->tx_map_requests, &requests);
    atomic_read_relaxed(&tx_lock_free, &lock_free);
    if (!grace_elapsed && requests == dev->tx_map_requests_seen
        && vhost_txq_map_settled(&dev->txq_map, lock_free)) {
        return false;
    }
    dev->tx_map_requests_seen = requests;

    if (grace_elapsed) {
        vhost_txq_map_grace_done(&dev->txq_map);
    }
    vhost_enabled_pairs(dev->vdev, 0, pairs);
    return vhost_txq_map_sync(&dev->txq_map, pairs, lock_free);
}

static int vhost_numa_id(const struct netdev_vhost_user *);

void
netdev_vhost_user_state_changed(struct netdev *netdev)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    unsigned int n_qp = vhu_device_n_queue_pairs(dev->vdev);
    unsigned int old_n_qp;
    uint8_t mac[6];
    int numa_id;

    uint64_t rx_pairs[VHOST_MAP_WORDS];

    vhost_enabled_pairs(dev->vdev, 1, rx_pairs);
    vhost_pair_map_store(&dev->rx_enabled, rx_pairs);
    /* netdev_vhost_user_tx_run() follows the guest's receive pairs. */
    atomic_add_relaxed(&dev->tx_map_requests, 1, &(unsigned int) { 0 });
    if (vhu_device_take_rarp(dev->vdev, mac)) {
        struct eth_addr ea;

        memcpy(ea.ea, mac, sizeof ea.ea);
        atomic_store_relaxed(&dev->rarp,
                             RARP_PENDING | eth_addr_to_uint64(ea));
        VLOG_INFO("%s: frontend asked to announce "ETH_ADDR_FMT,
                  netdev_get_name(netdev), ETH_ADDR_ARGS(ea));
    }

    /* A new NUMA node for the guest's memory: the PMD threads' rxqs are
     * placed again. */
    numa_id = vhost_numa_id(dev);
    if (numa_id != dev->numa_id) {
        if (dev->numa_id != INT_MIN) {
            VLOG_INFO("%s: guest memory on NUMA node %d (was %d)",
                      netdev_get_name(netdev), numa_id, dev->numa_id);
            netdev_request_reconfigure(netdev);
        }
        dev->numa_id = numa_id;
    }

    /* The number of rxqs follows the queue pairs of the last frontend
     * (kept while it is away, so that a reconnecting guest does not make
     * the PMD threads reload twice). */
    atomic_read_relaxed(&dev->guest_n_qp, &old_n_qp);
    if (n_qp && n_qp != old_n_qp) {
        atomic_store_relaxed(&dev->guest_n_qp, n_qp);
        if (n_qp > 1 || old_n_qp > 1) {
            netdev_request_reconfigure(netdev);
        }
    }
    netdev_change_seq_changed(netdev);
    /* A ring started, stopped, changed its kick fd or was enabled:
     * threads that sleep on the old state wake up. */
    vhost_rx_wake_all();
}

static struct netdev *
netdev_vhost_user_alloc(void)
{
    struct netdev_vhost_user *dev = xzalloc_cacheline(sizeof *dev);
    return &dev->up;
}

static int
netdev_vhost_user_construct(struct netdev *netdev)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    const char *name = netdev_get_name(netdev);
    struct vhu_device_options options = {
        .name = name,
        .max_queue_pairs = VHU_MAX_QUEUE_PAIRS,
        .min_mtu = VHOST_MIN_MTU,
        .max_mtu = VHOST_MAX_MTU,
    };

    dev->client = is_client_class(netdev_get_class(netdev));
    if (!dev->client && strchr(name, '/')) {
        VLOG_ERR("%s: a vhost-user port's name must not contain '/'", name);
        return EINVAL;
    }

    /* The offloads offered follow other_config:userspace-tso-enable, which
     * Open vSwitch reads once: they never change under a frontend that
     * reconnects. */
    dev->offloads = vhost_offload_enabled();
    options.net_offloads = dev->offloads;
    dev->vdev = vhu_device_create(&options);
    if (!dev->vdev) {
        return ENOMEM;
    }

    ovs_mutex_init(&dev->mutex);
    dev->flags = NETDEV_UP | NETDEV_PROMISC;
    dev->mtu = ETH_PAYLOAD_MAX;
    dev->requested_n_txq = 1;
    eth_addr_random(&dev->hwaddr);
    atomic_init(&dev->tx_retries_max, VHOST_TX_RETRIES_DEF);
    atomic_init(&dev->max_frame_len, MTU_TO_MAX_FRAME_LEN(ETH_PAYLOAD_MAX));
    atomic_init(&dev->guest_n_qp, 0);
    vhost_pair_map_init(&dev->rx_enabled);
    vhost_txq_map_init(&dev->txq_map, 1);
    atomic_init(&dev->tx_map_requests, 0);
    atomic_init(&dev->admin_up, true);
    dev->rx_mode_option = -1;
    atomic_init(&dev->rx_mode, VHOST_RX_POLLING);
    vhost_rx_sleep_stats_init(&dev->sleep_stats);
    vhost_park_init(&dev->park);
    atomic_init(&dev->rarp, 0);
    vhost_qos_init(&dev->policer);
    vhost_qos_init(&dev->qos);
    dev->numa_id = INT_MIN;
    atomic_init(&dev->tx_not_running_drops, 0);
    atomic_init(&dev->rx_admin_down_drops, 0);
    atomic_init(&dev->tx_admin_down_drops, 0);
    for (int i = 0; i < VHU_MAX_QUEUE_PAIRS; i++) {
        struct vhost_qp_counters *c = &dev->txqs[i].counters;

        ovs_spin_init(&dev->txqs[i].lock);
        atomic_init(&c->tx_failure_drops, 0);
        atomic_init(&c->tx_mtu_drops, 0);
        atomic_init(&c->tx_retries, 0);
    }
    netdev->n_rxq = 1;
    netdev->n_txq = 1;
    vhost_offload_stats_init(&dev->offload_stats);
    if (dev->offloads) {
        netdev->ol_flags |= (NETDEV_TX_OFFLOAD_TCP_CKSUM
                             | NETDEV_TX_OFFLOAD_UDP_CKSUM
                             | NETDEV_TX_OFFLOAD_TCP_TSO);
    }
    vhost_update_rx_mode(dev);

    if (!dev->client) {
        char *dir = vhost_sock_dir_get();
        char *path = xasprintf("%s/%s", dir, name);
        struct vhost_user_conn *conn;
        char *error_msg = NULL;
        int error;

        free(dir);
        error = vhost_user_conn_create(netdev, dev->vdev, path, false,
                                       &conn, &error_msg);
        if (error) {
            VLOG_ERR("%s: %s", name, error_msg);
            free(error_msg);
            free(path);
            vhu_device_destroy(dev->vdev);
            ovs_mutex_destroy(&dev->mutex);
            return error;
        }
        dev->socket_path = path;
        dev->conn = conn;
    }
    return 0;
}

static void
netdev_vhost_user_destruct(struct netdev *netdev)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    /* PMD threads stopped polling this port before its last reference
     * went away, so the device can go now. */
    vhost_user_conn_destroy(dev->conn);
    vhu_device_destroy(dev->vdev);
    for (int i = 0; i < VHU_MAX_QUEUE_PAIRS; i++) {
        ovs_spin_destroy(&dev->txqs[i].lock);
    }
    vhost_txq_map_destroy(&dev->txq_map);
    vhost_qos_destroy(&dev->policer);
    vhost_qos_destroy(&dev->qos);
    free(dev->socket_path);
    free(dev->config_error);
    ovs_mutex_destroy(&dev->mutex);
}

static void
netdev_vhost_user_dealloc(struct netdev *netdev)
{
    free_cacheline(netdev_vhost_user_cast(netdev));
}

/* Options that OVS-DPDK knows and we accept without acting on them, so
 * that a database written for it still works. */
static const char *const ignored_options[] = {
    "n_rxq_desc", "n_txq_desc", "dpdk-lsc-interrupt",
};

static int
netdev_vhost_user_set_config(struct netdev *netdev, const struct smap *args,
                             char **errp)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    const char *name = netdev_get_name(netdev);
    struct smap_node *node;
    const char *rx_mode = smap_get(args, "rx-mode");
    char *config_error = NULL;
    int retries, old_retries;
    int rx_mode_option = -1;

    SMAP_FOR_EACH (node, args) {
        const char *key = node->key;
        bool known = !strcmp(key, "tx-retries-max")
                     || !strcmp(key, "rx-mode")
                     || (dev->client && !strcmp(key, "vhost-server-path"));

        for (size_t i = 0; !known && i < ARRAY_SIZE(ignored_options); i++) {
            known = !strcmp(key, ignored_options[i]);
        }
        if (!known) {
            VLOG_WARN("%s: ignoring unsupported option %s=%s",
                      name, key, node->value);
        }
    }

    if (dev->client) {
        const char *path = smap_get_def(args, "vhost-server-path", "");
        struct vhost_user_conn *conn = NULL;
        bool have_conn;

        if (!path[0]) {
            *errp = xasprintf("%s: options:vhost-server-path is required "
                              "for a vhost-user client port", name);
            return EINVAL;
        }

        ovs_mutex_lock(&dev->mutex);
        have_conn = dev->conn != NULL;
        if (have_conn && strcmp(path, dev->socket_path)) {
            /* As in OVS-DPDK, the path is fixed once the port connects. */
            VLOG_WARN("%s: vhost-server-path cannot change from %s to %s "
                      "while the port exists; delete and re-add it",
                      name, dev->socket_path, path);
        }
        ovs_mutex_unlock(&dev->mutex);

        if (!have_conn) {
            int error = vhost_user_conn_create(netdev, dev->vdev, path, true,
                                               &conn, errp);
            if (error) {
                return error;
            }
            ovs_mutex_lock(&dev->mutex);
            dev->socket_path = xstrdup(path);
            dev->conn = conn;
            ovs_mutex_unlock(&dev->mutex);
        }
    }

    retries = smap_get_int(args, "tx-retries-max", VHOST_TX_RETRIES_DEF);
    if (retries < VHOST_TX_RETRIES_MIN || retries > VHOST_TX_RETRIES_MAX) {
        VLOG_WARN("%s: tx-retries-max %d is out of range [%d, %d]; "
                  "using %d", name, retries, VHOST_TX_RETRIES_MIN,
                  VHOST_TX_RETRIES_MAX, VHOST_TX_RETRIES_DEF);
        retries = VHOST_TX_RETRIES_DEF;
    }
    atomic_read_relaxed(&dev->tx_retries_max, &old_retries);
    if (retries != old_retries) {
        atomic_store_relaxed(&dev->tx_retries_max, retries);
        VLOG_INFO("%s: max tx retries set to %d", name, retries);
    }

    /* A bad rx-mode leaves the port running with the default mode; the
     * Interface's error column says why (netdev_vhost_user_config_error()).
     */
    if (rx_mode) {
        enum vhost_rx_mode mode;

        if (vhost_rx_mode_from_string(rx_mode, &mode)) {
            rx_mode_option = mode;
        } else {
            config_error = xasprintf("options:rx-mode \"%s\" is not "
                                     "polling, adaptive or interrupt; using "
                                     "the default", rx_mode);
            VLOG_ERR("%s: %s", name, config_error);
        }
    }
    ovs_mutex_lock(&dev->mutex);
    dev->rx_mode_option = rx_mode_option;
    free(dev->config_error);
    dev->config_error = config_error;
    ovs_mutex_unlock(&dev->mutex);
    vhost_update_rx_mode(dev);
    netdev_change_seq_changed(netdev);
    return 0;
}

bool
netdev_is_vhost_user(const struct netdev *netdev)
{
    return is_vhost_user_class(netdev_get_class(netdev));
}

char *
netdev_vhost_user_config_error(const struct netdev *netdev)
{
    struct netdev_vhost_user *dev;
    char *error;

    if (!netdev_is_vhost_user(netdev)) {
        return NULL;
    }
    dev = netdev_vhost_user_cast(netdev);
    ovs_mutex_lock(&dev->mutex);
    error = nullable_xstrdup(dev->config_error);
    ovs_mutex_unlock(&dev->mutex);
    return error;
}

static int
netdev_vhost_user_get_config(const struct netdev *netdev, struct smap *args)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    int retries;

    ovs_mutex_lock(&dev->mutex);
    if (dev->client && dev->socket_path) {
        smap_add(args, "vhost-server-path", dev->socket_path);
    }
    ovs_mutex_unlock(&dev->mutex);

    atomic_read_relaxed(&dev->tx_retries_max, &retries);
    if (retries != VHOST_TX_RETRIES_DEF) {
        smap_add_format(args, "tx-retries-max", "%d", retries);
    }
    ovs_mutex_lock(&dev->mutex);
    if (dev->rx_mode_option >= 0) {
        smap_add(args, "rx-mode",
                 vhost_rx_mode_to_string(dev->rx_mode_option));
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhost_user_get_status(const struct netdev *netdev, struct smap *args)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    unsigned int n_vrings = 0, ctrl_pairs;
    bool connected;

    ovs_mutex_lock(&dev->mutex);
    connected = dev->conn && vhost_user_conn_is_connected(dev->conn);
    smap_add(args, "mode", dev->client ? "client" : "server");
    if (dev->socket_path) {
        smap_add(args, "socket", dev->socket_path);
    }
    /* As OVS-DPDK: "connected" once the device is ready (its new_device()
     * callback); the socket's own state under a key of its own. */
    smap_add(args, "status",
             connected && vhu_device_is_running(dev->vdev)
             ? "connected" : "disconnected");
    smap_add(args, "socket_status", connected ? "connected" : "disconnected");
    /* The guest's MTU, if the frontend told us (NET_SET_MTU, from QEMU's
     * host_mtu), otherwise the port's. */
    smap_add_format(args, "mtu", "%d", (vhu_device_mtu(dev->vdev)
                                        ? (int) vhu_device_mtu(dev->vdev)
                                        : dev->mtu));
    smap_add_format(args, "n_rxq", "%d", netdev->n_rxq);
    smap_add_format(args, "n_txq", "%d", netdev->n_txq);
    ovs_mutex_unlock(&dev->mutex);
    smap_add(args, "rx_mode", vhost_rx_mode_to_string(vhost_rx_mode(dev)));
    if (vhost_qos_error(&dev->qos)) {
        smap_add(args, "qos_error", vhost_qos_error(&dev->qos));
    }

    if (!connected) {
        return 0;
    }
    smap_add_format(args, "features", "0x%016"PRIx64,
                    vhu_device_features(dev->vdev));
    smap_add_format(args, "numa", "%d", netdev_get_numa_id(netdev));
    for (unsigned int i = 0; i < VHU_CTRL_VRING; i++) {
        struct vhu_vring_info info;

        vhu_device_vring_info(dev->vdev, i, &info);
        if (info.configured) {
            char key[32];

            snprintf(key, sizeof key, "vring_%u_size", i);
            smap_add_format(args, key, "%u", info.size);
            n_vrings++;
        }
    }
    smap_add_format(args, "num_of_vrings", "%u", n_vrings);
    ctrl_pairs = vhu_device_ctrl_pairs(dev->vdev);
    if (ctrl_pairs) {
        /* The guest's driver chose its queue pairs on the control queue
         * that the switch serves. */
        smap_add_format(args, "ctrl_queue_pairs", "%u", ctrl_pairs);
    }
    if (vhu_device_is_logging(dev->vdev)) {
        smap_add(args, "dirty_logging", "on");
    }
    return 0;
}

/* The NUMA node of the guest's memory, as the engine learned it from the
 * rings (dpif-netdev then prefers PMD threads of that node for the port's
 * rxqs); before a frontend set the rings up, the machine's only node, if
 * it has one, otherwise unspecified. */
static int
vhost_numa_id(const struct netdev_vhost_user *dev)
{
    int node = vhu_device_numa_node(dev->vdev);

    if (node >= 0 && ovs_numa_numa_id_is_valid(node)) {
        return node;
    }
    return ovs_numa_get_n_numas() == 1 ? 0 : NETDEV_NUMA_UNSPEC;
}

static int
netdev_vhost_user_get_numa_id(const struct netdev *netdev)
{
    return vhost_numa_id(netdev_vhost_user_cast(netdev));
}

/* Up once the guest's driver runs and the rings of a queue pair are
 * enabled in both directions. */
static bool
vhost_carrier(struct netdev_vhost_user *dev)
{
    return (vhu_device_is_running(dev->vdev)
            && !vhost_pair_map_is_empty(&dev->rx_enabled)
            && !vhost_pair_map_is_empty(&dev->txq_map.enabled));
}

static int
netdev_vhost_user_get_carrier(const struct netdev *netdev, bool *carrier)
{
    *carrier = vhost_carrier(netdev_vhost_user_cast(netdev));
    return 0;
}

/* Frames dropped for their offload requests or flags, 'dir' 1 for those
 * from the guest (invalid requests the engine refused, and GSO requests
 * that do not fit their frame), 0 for those to it (flags that could not
 * be served; the engine's count cannot grow there: the send path checks
 * the features first). */
static uint64_t
vhost_bad_offloads(const struct netdev_vhost_user *dev, unsigned int dir)
{
    const struct vhost_offload_stats *o = &dev->offload_stats;
    uint64_t n = counter_read(dir ? &o->rx_invalid : &o->tx_invalid);

    for (unsigned int qp = 0; qp < VHU_MAX_QUEUE_PAIRS; qp++) {
        struct vhu_vring_stats st;

        vhu_device_vring_stats(dev->vdev, 2 * qp + dir, &st);
        n += st.bad_offloads;
    }
    return n;
}

void
netdev_vhost_user_check_carrier(struct netdev *netdev)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    bool carrier = vhost_carrier(dev);

    if (carrier != dev->announced_carrier) {
        dev->announced_carrier = carrier;
        netdev_change_seq_changed(netdev);
    }

    if (dev->offloads) {
        /* The data path only counts; the log line is ours. */
        uint64_t bad = vhost_bad_offloads(dev, 1);

        if (bad > dev->rx_bad_offloads_logged) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 5);

            VLOG_WARN_RL(&rl, "%s: dropped %"PRIu64" frame(s) from the guest "
                         "with invalid offload requests (%"PRIu64" in all)",
                         netdev_get_name(netdev),
                         bad - dev->rx_bad_offloads_logged, bad);
            dev->rx_bad_offloads_logged = bad;
        }
    }
}

static int
netdev_vhost_user_get_stats(const struct netdev *netdev,
                            struct netdev_stats *stats)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    struct vhost_tx_totals t = vhost_tx_totals(dev);

    /* 'stats' comes filled with UINT64_MAX ("unsupported"). */
    stats->rx_packets = stats->rx_bytes = stats->rx_errors = 0;
    stats->rx_dropped = (vhost_qos_drops(&dev->policer)
                         + counter_read(&dev->rx_admin_down_drops));
    stats->tx_packets = stats->tx_bytes = stats->tx_errors = 0;

    stats->tx_dropped = (counter_read(&dev->tx_not_running_drops)
                         + counter_read(&dev->tx_admin_down_drops)
                         + vhost_qos_drops(&dev->qos)
                         + t.failure_drops + t.mtu_drops);
    /* Offload requests and flags that could not be served (all zero
     * without userspace TSO). */
    stats->rx_dropped += counter_read(&dev->offload_stats.rx_invalid);
    stats->tx_dropped += counter_read(&dev->offload_stats.tx_invalid);

    for (unsigned int qp = 0; qp < VHU_MAX_QUEUE_PAIRS; qp++) {
        struct vhu_vring_stats rx, tx;

        /* The guest's transmit ring is our receive side. */
        vhu_device_vring_stats(dev->vdev, 2 * qp + 1, &rx);
        vhu_device_vring_stats(dev->vdev, 2 * qp, &tx);
        stats->rx_packets += rx.packets;
        stats->rx_bytes += rx.bytes;
        stats->rx_errors += rx.errors;
        stats->rx_dropped += rx.dropped + rx.bad_offloads;
        stats->tx_packets += tx.packets;
        stats->tx_bytes += tx.bytes;
        stats->tx_errors += tx.errors;
        stats->tx_dropped += tx.bad_offloads;
    }
    return 0;
}

static int
netdev_vhost_user_get_custom_stats(const struct netdev *netdev,
                                   struct netdev_custom_stats *custom)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    struct vhost_tx_totals t = vhost_tx_totals(dev);
    unsigned int n_qp = MAX(1, netdev->n_rxq);
    size_t n = 0;

    /* The port's counters, then each queue pair's. */
    enum { N_PORT_COUNTERS = 26, N_QP_COUNTERS = 9 };
    const size_t n_max = N_PORT_COUNTERS + N_QP_COUNTERS * n_qp;

    custom->counters = xcalloc(n_max, sizeof *custom->counters);
#define ADD_COUNTER(VALUE, ...)                                         \
    do {                                                                \
        ovs_assert(n < n_max);                                          \
        custom->counters[n].value = (VALUE);                            \
        snprintf(custom->counters[n].name,                              \
                 sizeof custom->counters[n].name, __VA_ARGS__);         \
        n++;                                                            \
    } while (0)
    ADD_COUNTER(t.retries, "ovs_tx_retries");
    ADD_COUNTER(t.failure_drops, "ovs_tx_failure_drops");
    ADD_COUNTER(t.mtu_drops, "ovs_tx_mtu_exceeded_drops");
    ADD_COUNTER(counter_read(&dev->tx_not_running_drops),
                "ovs_tx_not_running_drops");
    ADD_COUNTER(vhost_qos_drops(&dev->policer), "ovs_rx_qos_drops");
    ADD_COUNTER(vhost_qos_drops(&dev->qos), "ovs_tx_qos_drops");
    ADD_COUNTER(counter_read(&dev->rx_admin_down_drops),
                "ovs_rx_admin_down_drops");
    ADD_COUNTER(counter_read(&dev->tx_admin_down_drops),
                "ovs_tx_admin_down_drops");
    ovs_mutex_lock(&dev->mutex);
    ADD_COUNTER(dev->conn ? vhost_user_conn_n_connects(dev->conn) : 0,
                "vhost_connects");
    ovs_mutex_unlock(&dev->mutex);
    ADD_COUNTER(counter_read(&dev->sleep_stats.sleeps), "rx_sleeps");
    ADD_COUNTER(counter_read(&dev->park.parks), "rx_parks");
    ADD_COUNTER(counter_read(&dev->park.unparks), "rx_unparks");
    ADD_COUNTER(counter_read(&dev->sleep_stats.kick_wakeups),
                "rx_wakeups_kick");
    ADD_COUNTER(counter_read(&dev->sleep_stats.timeout_wakeups),
                "rx_wakeups_timeout");
    ADD_COUNTER(counter_read(&dev->sleep_stats.missed_kicks),
                "rx_missed_kicks");
    ADD_COUNTER(counter_read(&dev->sleep_stats.rechecks_found_work),
                "rx_rechecks_found_work");
    if (dev->offloads) {
        const struct vhost_offload_stats *o = &dev->offload_stats;

        ADD_COUNTER(vhost_bad_offloads(dev, 1), "ovs_rx_invalid_hwol_drops");
        ADD_COUNTER(vhost_bad_offloads(dev, 0), "ovs_tx_invalid_hwol_drops");
        ADD_COUNTER(counter_read(&o->rx_csum), "rx_csum_offloads");
        ADD_COUNTER(counter_read(&o->rx_tso), "rx_tso_offloads");
        ADD_COUNTER(counter_read(&o->rx_csum_fixups), "rx_csum_fixups");
        ADD_COUNTER(counter_read(&o->tx_csum), "tx_csum_offloads");
        ADD_COUNTER(counter_read(&o->tx_tso), "tx_tso_offloads");
        ADD_COUNTER(counter_read(&o->tx_csum_fixups), "tx_csum_fixups");
        ADD_COUNTER(counter_read(&o->tx_segmented), "tx_sw_segmented");
        ADD_COUNTER(counter_read(&o->tx_segments), "tx_sw_segments");
    }
    for (unsigned int qp = 0; qp < n_qp; qp++) {
        struct vhu_vring_stats rx, tx;

        vhu_device_vring_stats(dev->vdev, 2 * qp + 1, &rx);
        vhu_device_vring_stats(dev->vdev, 2 * qp, &tx);
        ADD_COUNTER(rx.packets, "rx_q%u_good_packets", qp);
        ADD_COUNTER(rx.bytes, "rx_q%u_good_bytes", qp);
        ADD_COUNTER(rx.errors, "rx_q%u_errors", qp);
        ADD_COUNTER(rx.notifications, "rx_q%u_guest_notifications", qp);
        ADD_COUNTER(tx.packets, "tx_q%u_good_packets", qp);
        ADD_COUNTER(tx.bytes, "tx_q%u_good_bytes", qp);
        ADD_COUNTER(tx.errors, "tx_q%u_errors", qp);
        ADD_COUNTER(tx.notifications, "tx_q%u_guest_notifications", qp);
        ADD_COUNTER(rx.logged + tx.logged, "q%u_dirty_logged_buffers", qp);
    }
#undef ADD_COUNTER
    custom->size = n;
    return 0;
}

static int
netdev_vhost_user_set_etheraddr(struct netdev *netdev,
                                const struct eth_addr mac)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    dev->hwaddr = mac;
    ovs_mutex_unlock(&dev->mutex);
    netdev_change_seq_changed(netdev);
    return 0;
}

static int
netdev_vhost_user_get_etheraddr(const struct netdev *netdev,
                                struct eth_addr *mac)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    *mac = dev->hwaddr;
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhost_user_get_mtu(const struct netdev *netdev, int *mtup)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    *mtup = dev->mtu;
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhost_user_set_mtu(struct netdev *netdev, int mtu)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    if (mtu < VHOST_MIN_MTU || mtu > VHOST_MAX_MTU) {
        VLOG_WARN("%s: unsupported MTU %d (must be %d to %d)",
                  netdev_get_name(netdev), mtu, VHOST_MIN_MTU,
                  VHOST_MAX_MTU);
        return EINVAL;
    }
    ovs_mutex_lock(&dev->mutex);
    if (dev->mtu != mtu) {
        dev->mtu = mtu;
        atomic_store_relaxed(&dev->max_frame_len, MTU_TO_MAX_FRAME_LEN(mtu));
        /* What a frontend that shows the guest our configuration space
         * (crosvm) tells its driver. */
        vhu_device_set_config_mtu(dev->vdev, mtu);
        netdev_change_seq_changed(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhost_user_update_flags(struct netdev *netdev,
                               enum netdev_flags off, enum netdev_flags on,
                               enum netdev_flags *old_flagsp)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    bool changed;

    if ((off | on) & ~(NETDEV_UP | NETDEV_PROMISC)) {
        return EOPNOTSUPP;
    }
    ovs_mutex_lock(&dev->mutex);
    *old_flagsp = dev->flags;
    dev->flags = (dev->flags & ~off) | on;
    changed = *old_flagsp != dev->flags;
    atomic_store_relaxed(&dev->admin_up, (dev->flags & NETDEV_UP) != 0);
    ovs_mutex_unlock(&dev->mutex);
    if (changed) {
        netdev_change_seq_changed(netdev);
    }
    return 0;
}

static int
netdev_vhost_user_set_policing(struct netdev *netdev, unsigned int kbits_rate,
                               unsigned int kbits_burst,
                               unsigned int kpkts_rate,
                               unsigned int kpkts_burst)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    if (kpkts_rate || kpkts_burst) {
        VLOG_WARN("%s: packet-rate policing is not supported; only "
                  "ingress_policing_rate and ingress_policing_burst",
                  netdev_get_name(netdev));
    }
    /* In bytes, with OVS-DPDK's default burst of 8000 kbit. */
    vhost_qos_set_single_rate(&dev->policer,
                              (uint64_t) kbits_rate * 1000 / 8,
                              (uint64_t) (kbits_burst ? kbits_burst : 8000)
                              * 1000 / 8);
    return 0;
}

static int
netdev_vhost_user_set_qos(struct netdev *netdev, const char *type,
                          const struct smap *details)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    return vhost_qos_set(&dev->qos, netdev_get_name(netdev), type, details);
}

static int
netdev_vhost_user_get_qos(const struct netdev *netdev, const char **typep,
                          struct smap *details)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    return vhost_qos_get(&dev->qos, typep, details);
}

static int
netdev_vhost_user_set_queue(struct netdev *netdev, unsigned int queue_id,
                            const struct smap *details)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    return vhost_qos_set_queue(&dev->qos, queue_id, details);
}

static int
netdev_vhost_user_get_queue(const struct netdev *netdev,
                            unsigned int queue_id, struct smap *details)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    return vhost_qos_get_queue(&dev->qos, queue_id, details);
}

static int
netdev_vhost_user_delete_queue(struct netdev *netdev, unsigned int queue_id)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    return vhost_qos_delete_queue(&dev->qos, queue_id);
}

static int
netdev_vhost_user_get_queue_stats(const struct netdev *netdev,
                                  unsigned int queue_id,
                                  struct netdev_queue_stats *stats)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    return vhost_qos_get_queue_stats(&dev->qos, queue_id, stats);
}

/* A queue dump: the queue ids when it started. */
struct vhost_queue_dump {
    unsigned int *ids;
    size_t n, next;
};

static int
netdev_vhost_user_queue_dump_start(const struct netdev *netdev,
                                   void **statep)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    struct vhost_queue_dump *dump = xzalloc(sizeof *dump);
    int error = vhost_qos_queue_ids(&dev->qos, &dump->ids, &dump->n);

    if (error) {
        free(dump);
        return error;
    }
    *statep = dump;
    return 0;
}

static int
netdev_vhost_user_queue_dump_next(const struct netdev *netdev, void *state,
                                  unsigned int *queue_id,
                                  struct smap *details)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    struct vhost_queue_dump *dump = state;

    while (dump->next < dump->n) {
        *queue_id = dump->ids[dump->next++];
        if (!vhost_qos_get_queue(&dev->qos, *queue_id, details)) {
            return 0;
        }
    }
    return EOF;
}

static int
netdev_vhost_user_queue_dump_done(const struct netdev *netdev OVS_UNUSED,
                                  void *state)
{
    struct vhost_queue_dump *dump = state;

    free(dump->ids);
    free(dump);
    return 0;
}

static int
netdev_vhost_user_dump_queue_stats(const struct netdev *netdev,
                                   netdev_dump_queue_stats_cb *cb, void *aux)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    unsigned int *ids;
    size_t n;
    int error = vhost_qos_queue_ids(&dev->qos, &ids, &n);

    for (size_t i = 0; !error && i < n; i++) {
        struct netdev_queue_stats stats;

        if (!vhost_qos_get_queue_stats(&dev->qos, ids[i], &stats)) {
            cb(ids[i], &stats, aux);
        }
    }
    if (!error) {
        free(ids);
    }
    return error;
}

static int
netdev_vhost_user_get_qos_types(const struct netdev *netdev OVS_UNUSED,
                                struct sset *types)
{
    vhost_qos_get_types(types);
    return 0;
}

static int
netdev_vhost_user_get_qos_capabilities(
    const struct netdev *netdev OVS_UNUSED, const char *type,
    struct netdev_qos_capabilities *caps)
{
    return vhost_qos_get_capabilities(type, caps);
}

static int
netdev_vhost_user_set_tx_multiq(struct netdev *netdev, unsigned int n_txq)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    if (dev->requested_n_txq != n_txq) {
        dev->requested_n_txq = n_txq;
        netdev_request_reconfigure(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

/* Called with PMD threads quiesced: the number of rxqs follows the queue
 * pairs the frontend set up, the number of txqs what dpif-netdev asked
 * for. */
static int
netdev_vhost_user_reconfigure(struct netdev *netdev)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    unsigned int n_qp;

    atomic_read_relaxed(&dev->guest_n_qp, &n_qp);
    ovs_mutex_lock(&dev->mutex);
    netdev->n_rxq = MAX(1, n_qp);
    netdev->n_txq = dev->requested_n_txq;
    vhost_txq_map_set_n_txq(&dev->txq_map, netdev->n_txq);
    atomic_add_relaxed(&dev->tx_map_requests, 1, &(unsigned int) { 0 });
    ovs_mutex_unlock(&dev->mutex);
    netdev_change_seq_changed(netdev);
    return 0;
}

/* Data path. */

/* Returns a RARP for the guest's MAC if the frontend asked for one since
 * the last call, otherwise NULL. */
static struct dp_packet *
vhost_take_rarp(struct netdev_vhost_user *dev)
{
    struct dp_packet *packet;
    struct eth_addr ea;
    uint64_t rarp;

    atomic_read_relaxed(&dev->rarp, &rarp);
    if (OVS_LIKELY(!rarp)) {
        return NULL;
    }
    rarp = atomic_exchange_explicit(&dev->rarp, 0, memory_order_relaxed);
    if (!rarp) {
        return NULL;
    }
    eth_addr_from_uint64(rarp & ~RARP_PENDING, &ea);
    packet = dp_packet_new(ETH_HEADER_LEN + ARP_ETH_HEADER_LEN);
    compose_rarp(packet, ea);
    return packet;
}

/* Returns false if the port is administratively down ("ovs-ofctl mod-port
 * BRIDGE PORT down"): it then drops what it receives and what it is given
 * to send, counting both. */
static bool
vhost_admin_up(struct netdev_vhost_user *dev)
{
    bool up;

    atomic_read_relaxed(&dev->admin_up, &up);
    return up;
}

/* Receives up to 'max' packets from queue pair 'qp' into 'packets', with
 * their offload requests applied (vhost-user-offload.h); drops those whose
 * request cannot be.  Returns how many. */
static int
vhost_recv_offloaded(struct netdev_vhost_user *dev, unsigned int qp,
                     void **packets, int max)
{
    struct vhu_net_offload ols[NETDEV_MAX_BURST];
    struct vhost_offload_counts oc;
    int n, k = 0;

    n = vhu_dequeue_burst_ol(dev->vdev, qp, vhost_packet_alloc,
                             vhost_packet_free, vhost_packet_cache_get(),
                             packets, ols, MIN(max, NETDEV_MAX_BURST));
    memset(&oc, 0, sizeof oc);
    for (int i = 0; i < n; i++) {
        if (vhost_offload_rx(packets[i], &ols[i], &oc)) {
            packets[k++] = packets[i];
        } else {
            dp_packet_delete(packets[i]);
        }
    }
    vhost_offload_stats_add(&dev->offload_stats, &oc);
    return k;
}

/* True if 'dev' has a RARP to send (see vhost_take_rarp()). */
static bool
vhost_rarp_pending(struct netdev_vhost_user *dev)
{
    uint64_t rarp;

    atomic_read_relaxed(&dev->rarp, &rarp);
    return rarp != 0;
}

/* The receive of netdev_vhost_user_rxq_recv() once it found something to
 * take: frames in the guest's ring of 'rxq', or a RARP on queue 0.  Out of
 * line: its set-up is what a poll of an empty ring skips. */
static int VHOST_NOINLINE
vhost_rxq_recv__(struct netdev_vhost_user *dev, struct netdev_rxq *rxq,
                 struct dp_packet_batch *batch)
{
    void *packets[NETDEV_MAX_BURST];
    int n = 0;

    if (!rxq->queue_id) {
        struct dp_packet *rarp = vhost_take_rarp(dev);

        if (rarp) {
            packets[n++] = rarp;
        }
    }
    if (vhu_rx_ready(dev->vdev, rxq->queue_id)) {
        if (OVS_UNLIKELY(dev->offloads)) {
            n += vhost_recv_offloaded(dev, rxq->queue_id, packets + n,
                                      NETDEV_MAX_BURST - n);
        } else {
            n += vhu_dequeue_burst(dev->vdev, rxq->queue_id,
                                   vhost_packet_alloc, vhost_packet_free,
                                   vhost_packet_cache_get(), packets + n,
                                   NETDEV_MAX_BURST - n);
        }
        VHOST_TSAN_RELEASE(&vhost_tsan_rcu);
    }
    vhost_rx_polled(&netdev_rxq_vhost_user_cast(rxq)->waiter, n);
    /* Done with 'rxq' (see netdev_vhost_user_rxq_destruct()). */
    VHOST_TSAN_RELEASE(rxq);
    if (!n) {
        return EAGAIN;
    }
    for (int i = 0; i < n; i++) {
        batch->packets[i] = packets[i];
    }
    batch->count = n;

    if (OVS_UNLIKELY(!vhost_admin_up(dev))) {
        /* Taken from the guest (so that it does not stall on a full ring
         * and sends nothing stale once the port is up again), then
         * dropped. */
        atomic_add_relaxed(&dev->rx_admin_down_drops, n, &(uint64_t) { 0 });
        vhost_packet_release_batch(vhost_packet_cache_get(), batch);
        return EAGAIN;
    }

    vhost_qos_run(&dev->policer, batch);
    return dp_packet_batch_size(batch) ? 0 : EAGAIN;
}

/* A PMD thread polls every rxq it has in turn, most of them empty on a
 * host with many guests: an empty ring costs one look at the guest's
 * available index (vhu_rx_pending()), and the burst's set-up is left to
 * vhost_rxq_recv__(). */
static int
netdev_vhost_user_rxq_recv(struct netdev_rxq *rxq,
                           struct dp_packet_batch *batch,
                           int *qfill OVS_UNUSED)
{
    /* Not netdev_vhost_user_cast(): dpif-netdev polls only the rxqs that
     * our rxq_construct() made. */
    struct netdev_vhost_user *dev = CONTAINER_OF(rxq->netdev,
                                                 struct netdev_vhost_user, up);

    /* dpif-netdev hands an rxq from one PMD thread to the next through its
     * reload handshake: what the last one did with it happens before. */
    VHOST_TSAN_ACQUIRE(rxq);
    if (OVS_LIKELY(!vhu_rx_pending(dev->vdev, rxq->queue_id))
        && OVS_LIKELY(rxq->queue_id || !vhost_rarp_pending(dev))) {
        /* Done with the ring, as after a burst. */
        VHOST_TSAN_RELEASE(&vhost_tsan_rcu);
        vhost_rx_polled(&netdev_rxq_vhost_user_cast(rxq)->waiter, 0);
        /* Done with 'rxq' (see netdev_vhost_user_rxq_destruct()). */
        VHOST_TSAN_RELEASE(rxq);
        return EAGAIN;
    }
    return vhost_rxq_recv__(dev, rxq, batch);
}

static bool
netdev_vhost_user_rxq_enabled(struct netdev_rxq *rxq)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(rxq->netdev);
    bool enabled = (vhost_pair_map_test(&dev->rx_enabled, rxq->queue_id)
                    && !vhost_park_test(&dev->park, rxq->queue_id));

    VHOST_TSAN_RELEASE(rxq);
    return enabled;
}

/* A pair's lock, unless its sender is alone on it (vhost-user-txq-map.h).
 * Conditional locking is beyond the thread safety analysis. */
static void
vhost_txq_lock(struct vhost_txq *txq, bool exclusive)
    OVS_NO_THREAD_SAFETY_ANALYSIS
{
    if (!exclusive) {
        ovs_spin_lock(&txq->lock);
    }
}

static void
vhost_txq_unlock(struct vhost_txq *txq, bool exclusive)
    OVS_NO_THREAD_SAFETY_ANALYSIS
{
    if (!exclusive) {
        ovs_spin_unlock(&txq->lock);
    }
}

/* Copies 'frames' ('n', with requests 'ols' if nonnull) into the guest's
 * receive ring of pair 'qp', retrying while it is full, as long as
 * '*retries' stays within 'retries_max'.  Returns how many went in. */
static int
vhost_enqueue_all(struct netdev_vhost_user *dev, int qp,
                  const struct vhu_frame *frames,
                  const struct vhu_net_offload *ols, int n,
                  int retries_max, int *retries)
{
    int sent = 0;

    while (sent < n) {
        int done = vhu_enqueue_burst_ol(dev->vdev, qp, frames + sent,
                                        ols ? ols + sent : NULL, n - sent);
        if (!done) {
            break;
        }
        sent += done;
        if (sent < n) {
            if (*retries >= retries_max) {
                break;
            }
            (*retries)++;
        }
    }
    return sent;
}

/* Segments made in software go to the guest this many at a time. */
#define VHOST_SEG_CHUNK 32

/* A thread's room for one chunk of segments, and for the segment being
 * built. */
struct vhost_seg_room {
    size_t size;
    uint8_t data[];
};
DEFINE_PER_THREAD_MALLOCED_DATA(struct vhost_seg_room *, seg_room);

/* Returns this thread's room for VHOST_SEG_CHUNK + 1 segments of up to
 * 'slot' bytes each (grown as needed, kept for the thread's life). */
static uint8_t *
vhost_seg_room_get(size_t slot)
{
    struct vhost_seg_room *room = seg_room_get();
    size_t size = slot * (VHOST_SEG_CHUNK + 1);

    if (!room || room->size < size) {
        room = xrealloc(room, sizeof *room + size);
        room->size = size;
        seg_room_set_unsafe(room);
    }
    return room->data;
}

/* Segments on their way to the guest (vhost_send_segments()). */
struct vhost_seg_chunk {
    struct netdev_vhost_user *dev;
    int qp;
    uint8_t *room;
    uint32_t slot;
    struct vhu_frame frames[VHOST_SEG_CHUNK];
    int k;
    int retries_max, *retries, *n, *sent;
    uint32_t segments;
};

static void
vhost_seg_flush(struct vhost_seg_chunk *c)
{
    *c->sent += vhost_enqueue_all(c->dev, c->qp, c->frames, NULL, c->k,
                                  c->retries_max, c->retries);
    *c->n += c->k;
    c->k = 0;
}

static void
vhost_seg_emit(void *aux, const void *segment, uint32_t len)
{
    struct vhost_seg_chunk *c = aux;
    uint8_t *slot = c->room + (size_t) (c->k + 1) * c->slot;

    memcpy(slot, segment, len);
    c->frames[c->k].data = slot;
    c->frames[c->k].len = len;
    c->segments++;
    if (++c->k == VHOST_SEG_CHUNK) {
        vhost_seg_flush(c);
    }
}

/* Sends TSO 'packet' (request 'ol', layers 'l') to a guest that cannot
 * take it whole: as segments the guest's MTU allows. */
static void
vhost_send_segments(struct netdev_vhost_user *dev, int qp,
                    const struct dp_packet *packet,
                    const struct vhu_net_offload *ol,
                    const struct vhu_net_layers *l, int retries_max,
                    int *retries, int *n, int *sent,
                    struct vhost_offload_counts *oc)
{
    struct vhost_seg_chunk c = {
        .dev = dev, .qp = qp, .slot = vhu_net_segment_max_len(ol, l),
        .retries_max = retries_max, .retries = retries, .n = n,
        .sent = sent,
    };

    c.room = vhost_seg_room_get(c.slot);
    vhu_net_segment(dp_packet_data(packet), dp_packet_size(packet), ol, l,
                    c.room, vhost_seg_emit, &c);
    vhost_seg_flush(&c);
    oc->tx_segments += c.segments;
}

/* The send path with offloads (vhost-user-offload.h): each packet as it
 * is, with its request, or segmented, in order.  Adds the frames it tried
 * to send to '*n' and those that went in to '*sent'. */
static void
vhost_send_offloaded(struct netdev_vhost_user *dev, int qp,
                     struct dp_packet_batch *batch, uint32_t max_len,
                     int retries_max, int *retries, int *n, int *sent)
{
    uint64_t features = vhu_device_features(dev->vdev);
    int mtu = MAX_FRAME_LEN_TO_MTU(max_len);
    struct vhu_net_offload ols[NETDEV_MAX_BURST];
    struct vhu_frame frames[NETDEV_MAX_BURST];
    struct vhost_offload_counts oc;
    struct dp_packet *packet;
    int k = 0;

    memset(&oc, 0, sizeof oc);
    DP_PACKET_BATCH_FOR_EACH (i, packet, batch) {
        enum vhost_offload_tx what = VHOST_OFFLOAD_TX_PLAIN;
        struct vhu_net_layers l;

        if (dp_packet_hwol_is_tso(packet)
            || dp_packet_hwol_l4_mask(packet)) {
            what = vhost_offload_tx(packet, features, mtu, &ols[k], &l,
                                    &oc);
        }
        switch (what) {
        case VHOST_OFFLOAD_TX_DROP:
            continue;
        case VHOST_OFFLOAD_TX_SEGMENT: {
            struct vhu_net_offload ol = ols[k];

            /* What came before goes first. */
            *sent += vhost_enqueue_all(dev, qp, frames, ols, k, retries_max,
                                       retries);
            *n += k;
            k = 0;
            vhost_send_segments(dev, qp, packet, &ol, &l, retries_max,
                                retries, n, sent, &oc);
            continue;
        }
        case VHOST_OFFLOAD_TX_PLAIN:
            memset(&ols[k], 0, sizeof ols[k]);
            break;
        case VHOST_OFFLOAD_TX_REQUEST:
            break;
        }
        frames[k].data = dp_packet_data(packet);
        frames[k].len = dp_packet_size(packet);
        k++;
    }
    *sent += vhost_enqueue_all(dev, qp, frames, ols, k, retries_max,
                               retries);
    *n += k;
    vhost_offload_stats_add(&dev->offload_stats, &oc);
}

/* Returns the size of the largest packet in 'batch' (0 if empty): a look
 * that spares the common batch, with nothing over the MTU, the rewrite of
 * DP_PACKET_BATCH_REFILL_FOR_EACH. */
static uint32_t
vhost_batch_max_size(const struct dp_packet_batch *batch)
{
    uint32_t max = 0;

    for (size_t i = 0; i < batch->count; i++) {
        max = MAX(max, dp_packet_size(batch->packets[i]));
    }
    return max;
}

static int
netdev_vhost_user_send(struct netdev *netdev, int qid,
                       struct dp_packet_batch *batch,
                       bool concurrent_txq)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    struct vhu_frame frames[NETDEV_MAX_BURST];
    int cnt = dp_packet_batch_size(batch);
    struct vhost_qp_counters *c;
    uint32_t max_len;
    int retries_max, retries = 0, sent = 0, n = 0, too_long = 0;
    struct dp_packet *packet;
    struct vhost_txq *txq;
    bool exclusive;
    size_t j;
    int qp;

    if (OVS_UNLIKELY(!vhost_admin_up(dev))) {
        atomic_add_relaxed(&dev->tx_admin_down_drops, cnt, &(uint64_t) { 0 });
        dp_packet_delete_batch(batch, true);
        return 0;
    }

    /* Transmit queues are spread over the pairs the guest enabled (a Linux
     * guest enables as many pairs as it has CPUs), so that nothing is sent
     * into a pair that no one reads. */
    qp = vhost_txq_map_pick(&dev->txq_map, qid, concurrent_txq, &exclusive);
    if (qp < 0 || !vhu_tx_ready(dev->vdev, qp)) {
        COVERAGE_INC(vhost_user_tx_not_running);
        atomic_add_relaxed(&dev->tx_not_running_drops, cnt,
                           &(uint64_t) { 0 });
        dp_packet_delete_batch(batch, true);
        return 0;
    }

    /* As OVS-DPDK: frames over the MTU are dropped before QoS meters the
     * rest (TSO frames go out in segments of the MTU). */
    atomic_read_relaxed(&dev->max_frame_len, &max_len);
    if (OVS_UNLIKELY(vhost_batch_max_size(batch) > max_len)) {
        DP_PACKET_BATCH_REFILL_FOR_EACH (j, cnt, packet, batch) {
            if (dp_packet_size(packet) > max_len
                && !(dev->offloads && dp_packet_hwol_is_tso(packet))) {
                dp_packet_delete(packet);
                too_long++;
            } else {
                dp_packet_batch_refill(batch, packet, j);
            }
        }
    }
    vhost_qos_run(&dev->qos, batch);
    atomic_read_relaxed(&dev->tx_retries_max, &retries_max);

    /* Several PMD threads may map their queues onto one pair. */
    txq = &dev->txqs[qp];
    vhost_txq_lock(txq, exclusive);
    if (OVS_UNLIKELY(dev->offloads)) {
        vhost_send_offloaded(dev, qp, batch, max_len, retries_max, &retries,
                             &n, &sent);
    } else {
        DP_PACKET_BATCH_FOR_EACH (i, packet, batch) {
            frames[n].data = dp_packet_data(packet);
            frames[n].len = dp_packet_size(packet);
            n++;
        }
        sent = vhost_enqueue_all(dev, qp, frames, NULL, n, retries_max,
                                 &retries);
    }
    c = &txq->counters;
    if (retries) {
        COVERAGE_ADD(vhost_user_tx_retry, retries);
        counter_add(&c->tx_retries, retries);
    }
    if (sent < n) {
        counter_add(&c->tx_failure_drops, n - sent);
    }
    if (too_long) {
        counter_add(&c->tx_mtu_drops, too_long);
    }
    vhost_txq_unlock(txq, exclusive);
    VHOST_TSAN_RELEASE(&vhost_tsan_rcu);
    if (OVS_UNLIKELY(sent < n || too_long)) {
        /* The ring's own count, for vhost-user/show. */
        vhu_count_tx_drops(dev->vdev, qp, n - sent + too_long);
    }

    /* Our own packets go back to this thread's cache for the next receive
     * (a packet that crossed from one vhost-user port to another, the
     * common case, costs no malloc() and no free()). */
    vhost_packet_release_batch(vhost_packet_cache_get(), batch);
    return 0;
}

static struct netdev_rxq *
netdev_vhost_user_rxq_alloc(void)
{
    struct netdev_rxq_vhost_user *rx = xzalloc(sizeof *rx);
    return &rx->up;
}

static int
netdev_vhost_user_rxq_construct(struct netdev_rxq *rxq)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(rxq->netdev);
    struct netdev_rxq_vhost_user *rx = netdev_rxq_vhost_user_cast(rxq);

    vhost_rx_waiter_init(&rx->waiter, dev->vdev, rxq->queue_id,
                         &dev->rx_mode, &dev->sleep_stats, rxq->netdev,
                         &dev->park);
    return 0;
}

static void
netdev_vhost_user_rxq_destruct(struct netdev_rxq *rxq)
{
    /* dpif-netdev closes an rxq only after every PMD thread acknowledged
     * the reload that took it away, through an atomic flag in Open
     * vSwitch's uninstrumented code: tell ThreadSanitizer that the PMD
     * threads' last calls (receive, enabled) happened before. */
    VHOST_TSAN_ACQUIRE(rxq);
    vhost_rx_waiter_destroy(&netdev_rxq_vhost_user_cast(rxq)->waiter);
    /* A ring parked for this rxq is polled by the next one for its pair
     * (which disarms it first, see vhost_rx_waiter_init()). */
    vhost_pair_map_set(&netdev_vhost_user_cast(rxq->netdev)->park.parked,
                       rxq->queue_id, false);
}

static void
netdev_vhost_user_rxq_dealloc(struct netdev_rxq *rxq)
{
    free(netdev_rxq_vhost_user_cast(rxq));
}

#define NETDEV_VHOST_USER_CLASS(TYPE)                           \
    {                                                           \
        .type = TYPE,                                           \
        .is_pmd = true,                                         \
        .alloc = netdev_vhost_user_alloc,                       \
        .construct = netdev_vhost_user_construct,               \
        .destruct = netdev_vhost_user_destruct,                 \
        .dealloc = netdev_vhost_user_dealloc,                   \
        .get_config = netdev_vhost_user_get_config,             \
        .set_config = netdev_vhost_user_set_config,             \
        .set_tx_multiq = netdev_vhost_user_set_tx_multiq,       \
        .set_policing = netdev_vhost_user_set_policing,         \
        .get_qos_types = netdev_vhost_user_get_qos_types,       \
        .get_qos_capabilities                                   \
            = netdev_vhost_user_get_qos_capabilities,           \
        .get_qos = netdev_vhost_user_get_qos,                   \
        .set_qos = netdev_vhost_user_set_qos,                   \
        .get_queue = netdev_vhost_user_get_queue,               \
        .set_queue = netdev_vhost_user_set_queue,               \
        .delete_queue = netdev_vhost_user_delete_queue,         \
        .get_queue_stats = netdev_vhost_user_get_queue_stats,   \
        .queue_dump_start = netdev_vhost_user_queue_dump_start, \
        .queue_dump_next = netdev_vhost_user_queue_dump_next,   \
        .queue_dump_done = netdev_vhost_user_queue_dump_done,   \
        .dump_queue_stats = netdev_vhost_user_dump_queue_stats, \
        .send = netdev_vhost_user_send,                         \
        .set_etheraddr = netdev_vhost_user_set_etheraddr,       \
        .get_etheraddr = netdev_vhost_user_get_etheraddr,       \
        .get_mtu = netdev_vhost_user_get_mtu,                   \
        .set_mtu = netdev_vhost_user_set_mtu,                   \
        .get_numa_id = netdev_vhost_user_get_numa_id,           \
        .get_carrier = netdev_vhost_user_get_carrier,           \
        .get_stats = netdev_vhost_user_get_stats,               \
        .get_custom_stats = netdev_vhost_user_get_custom_stats, \
        .get_status = netdev_vhost_user_get_status,             \
        .update_flags = netdev_vhost_user_update_flags,         \
        .reconfigure = netdev_vhost_user_reconfigure,           \
        .rxq_alloc = netdev_vhost_user_rxq_alloc,               \
        .rxq_construct = netdev_vhost_user_rxq_construct,       \
        .rxq_destruct = netdev_vhost_user_rxq_destruct,         \
        .rxq_dealloc = netdev_vhost_user_rxq_dealloc,           \
        .rxq_recv = netdev_vhost_user_rxq_recv,                 \
        .rxq_enabled = netdev_vhost_user_rxq_enabled,           \
    }

static const struct netdev_class vhost_user_classes[] = {
    NETDEV_VHOST_USER_CLASS("vhostuser"),
    NETDEV_VHOST_USER_CLASS("vhostuserclient"),
    /* OVS-DPDK's names, which libvirt, os-vif and neutron use. */
    NETDEV_VHOST_USER_CLASS("dpdkvhostuser"),
    NETDEV_VHOST_USER_CLASS("dpdkvhostuserclient"),
};

/* Adds every vhost-user port to 'devices' (name to netdev), each with a
 * reference that the caller releases with netdev_close(). */
static void
vhost_get_devices(struct shash *devices)
{
    for (size_t i = 0; i < ARRAY_SIZE(vhost_user_classes); i++) {
        netdev_get_devices(&vhost_user_classes[i], devices);
    }
}

/* Sets the mode in effect of every port (the default changed). */
static void
vhost_update_rx_modes(void)
{
    struct shash devices = SHASH_INITIALIZER(&devices);
    struct shash_node *node;

    vhost_get_devices(&devices);
    SHASH_FOR_EACH (node, &devices) {
        vhost_update_rx_mode(netdev_vhost_user_cast(node->data));
        netdev_close(node->data);
    }
    shash_destroy(&devices);
}

/* Appends what "ovs-appctl vhost-user/show" says about 'netdev' to 'ds'. */
static void
netdev_vhost_user_format(struct ds *ds, const struct netdev *netdev)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    struct vhost_tx_totals t = vhost_tx_totals(dev);
    unsigned int n_qp;
    bool connected;

    atomic_read_relaxed(&dev->guest_n_qp, &n_qp);

    ovs_mutex_lock(&dev->mutex);
    connected = dev->conn && vhost_user_conn_is_connected(dev->conn);
    ds_put_format(ds, "%s: type %s, %s, socket %s\n",
                  netdev_get_name(netdev), netdev_get_type(netdev),
                  dev->client ? "client (the switch connects)"
                              : "server (the switch listens)",
                  dev->socket_path ? dev->socket_path : "(none)");
    ds_put_format(ds, "  frontend: %s, connected %"PRIu64" time(s)\n",
                  connected ? "connected" : "not connected",
                  dev->conn ? vhost_user_conn_n_connects(dev->conn) : 0);
    ds_put_format(ds, "  mtu: port %d, guest ", dev->mtu);
    ovs_mutex_unlock(&dev->mutex);
    if (vhu_device_mtu(dev->vdev)) {
        ds_put_format(ds, "%"PRIu32"\n", vhu_device_mtu(dev->vdev));
    } else {
        ds_put_cstr(ds, "not set\n");
    }
    ds_put_format(ds, "  drops: to the guest %"PRIu64" (ring full after "
                  "%"PRIu64" retries), %"PRIu64" (over the MTU), "
                  "%"PRIu64" (not running), %"PRIu64" (QoS); from the "
                  "guest %"PRIu64" (policing)\n", t.failure_drops,
                  t.retries, t.mtu_drops,
                  counter_read(&dev->tx_not_running_drops),
                  vhost_qos_drops(&dev->qos),
                  vhost_qos_drops(&dev->policer));
    ds_put_format(ds, "  queue pairs: %u set up; enabled for guest tx ",
                  n_qp);
    vhost_pair_map_format(ds, &dev->rx_enabled);
    ds_put_cstr(ds, ", guest rx ");
    vhost_pair_map_format(ds, &dev->txq_map.enabled);
    ds_put_format(ds, "; rxqs %d, txqs %d; lock-free pairs ", netdev->n_rxq,
                  netdev->n_txq);
    vhost_pair_map_format(ds, &dev->txq_map.exclusive);
    ds_put_cstr(ds, "\n");
    ds_put_format(ds, "  rx mode: %s; sleeps %"PRIu64", woken by a kick "
                  "%"PRIu64", by the timeout %"PRIu64" (frames waiting "
                  "%"PRIu64"); re-checks that found frames %"PRIu64"\n",
                  vhost_rx_mode_to_string(vhost_rx_mode(dev)),
                  counter_read(&dev->sleep_stats.sleeps),
                  counter_read(&dev->sleep_stats.kick_wakeups),
                  counter_read(&dev->sleep_stats.timeout_wakeups),
                  counter_read(&dev->sleep_stats.missed_kicks),
                  counter_read(&dev->sleep_stats.rechecks_found_work));
    ds_put_cstr(ds, "  parked rxqs: ");
    vhost_pair_map_format(ds, &dev->park.parked);
    ds_put_format(ds, "; parked %"PRIu64", unparked %"PRIu64"\n",
                  counter_read(&dev->park.parks),
                  counter_read(&dev->park.unparks));
    if (vhost_rx_mode(dev) != VHOST_RX_POLLING && vhost_rx_sleep_blocker()) {
        ds_put_format(ds, "  rx mode: no PMD thread sleeps: port %s is "
                      "polled by PMD threads too\n",
                      vhost_rx_sleep_blocker());
    }
    if (connected) {
        vhost_user_format_device(ds, dev->vdev);
    }
}

static void
vhost_user_show_cmd(struct unixctl_conn *conn, int argc, const char *argv[],
                    void *aux OVS_UNUSED)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    if (argc > 1) {
        struct netdev *netdev = netdev_from_name(argv[1]);

        if (!netdev || !is_vhost_user_class(netdev_get_class(netdev))) {
            unixctl_command_reply_error(conn, "no such vhost-user port");
            netdev_close(netdev);
            return;
        }
        netdev_vhost_user_format(&ds, netdev);
        netdev_close(netdev);
    } else {
        struct shash devices = SHASH_INITIALIZER(&devices);
        const struct shash_node **nodes;

        vhost_get_devices(&devices);
        nodes = shash_sort(&devices);
        for (size_t i = 0; i < shash_count(&devices); i++) {
            netdev_vhost_user_format(&ds, nodes[i]->data);
            netdev_close(nodes[i]->data);
        }
        free(nodes);
        shash_destroy(&devices);
    }
    unixctl_command_reply(conn, ds_cstr(&ds));
    ds_destroy(&ds);
}

void
netdev_vhost_user_park_wait(const struct netdev *netdev)
{
    const struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    vhost_park_wait(&dev->park, dev->vdev);
}

bool
netdev_vhost_user_park_run(struct netdev *netdev, bool all)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    return vhost_park_run(&dev->park, dev->vdev, all);
}

void
netdev_vhost_user_register(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(vhost_user_classes); i++) {
        netdev_register_provider(&vhost_user_classes[i]);
    }
    unixctl_command_register("vhost-user/show", "[PORT]", 0, 1,
                             vhost_user_show_cmd, NULL);
    /* Before any port maps guest memory, and for crashes anywhere. */
    vhost_user_signals_init();
}
