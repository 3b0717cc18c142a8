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
 * This is the skeleton: the classes register, take their options and report
 * their configuration, but serve no frontend yet, so they pass no traffic:
 * they receive nothing and count every packet sent to them as dropped. */

#include <config.h>

#include "netdev-vhost-user.h"

#include <errno.h>
#include <string.h>

#include "dirs.h"
#include "dp-packet.h"
#include "netdev-provider.h"
#include "openvswitch/vlog.h"
#include "ovs-thread.h"
#include "smap.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(netdev_vhost_user);

/* Bounds of options:tx-retries-max, as in OVS-DPDK. */
#define VHOST_TX_RETRIES_MIN 0
#define VHOST_TX_RETRIES_MAX 32
#define VHOST_TX_RETRIES_DEF 8

struct netdev_vhost_user {
    struct netdev up;

    struct ovs_mutex mutex;
    bool client;                    /* Connects (true) or listens (false). */
    char *socket_path OVS_GUARDED;  /* NULL until known. */
    int tx_retries_max OVS_GUARDED;
    struct eth_addr hwaddr OVS_GUARDED;
    enum netdev_flags flags OVS_GUARDED;
    uint64_t tx_dropped OVS_GUARDED;
};

struct netdev_rxq_vhost_user {
    struct netdev_rxq up;
};

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

void
netdev_vhost_user_set_global_config(const struct smap *other_config)
{
    const char *sub = smap_get(other_config, "vhost-sock-dir");
    char *dir;

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

static struct netdev *
netdev_vhost_user_alloc(void)
{
    struct netdev_vhost_user *dev = xzalloc(sizeof *dev);
    return &dev->up;
}

static int
netdev_vhost_user_construct(struct netdev *netdev)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);
    const char *name = netdev_get_name(netdev);

    ovs_mutex_init(&dev->mutex);
    dev->client = is_client_class(netdev_get_class(netdev));
    dev->tx_retries_max = VHOST_TX_RETRIES_DEF;
    dev->flags = NETDEV_UP | NETDEV_PROMISC;
    eth_addr_random(&dev->hwaddr);

    if (!dev->client) {
        char *dir;

        if (strchr(name, '/')) {
            VLOG_ERR("%s: a vhost-user port's name must not contain '/'",
                     name);
            return EINVAL;
        }
        dir = vhost_sock_dir_get();
        dev->socket_path = xasprintf("%s/%s", dir, name);
        free(dir);
    }
    netdev->n_rxq = 1;
    netdev->n_txq = 1;
    return 0;
}

static void
netdev_vhost_user_destruct(struct netdev *netdev)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    free(dev->socket_path);
    ovs_mutex_destroy(&dev->mutex);
}

static void
netdev_vhost_user_dealloc(struct netdev *netdev)
{
    free(netdev_vhost_user_cast(netdev));
}

/* Options that OVS-DPDK takes on vhost-user ports and that we accept
 * without acting on them, so that a database written for it still works. */
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
    int retries;

    SMAP_FOR_EACH (node, args) {
        const char *key = node->key;
        bool known = !strcmp(key, "tx-retries-max")
                     || (dev->client && !strcmp(key, "vhost-server-path"));

        for (size_t i = 0; !known && i < ARRAY_SIZE(ignored_options); i++) {
            known = !strcmp(key, ignored_options[i]);
        }
        if (!known) {
            VLOG_WARN("%s: ignoring unsupported option %s=%s",
                      name, key, node->value);
        }
    }

    ovs_mutex_lock(&dev->mutex);
    if (dev->client) {
        const char *path = smap_get_def(args, "vhost-server-path", "");

        if (!path[0]) {
            ovs_mutex_unlock(&dev->mutex);
            *errp = xasprintf("%s: options:vhost-server-path is required "
                              "for a vhost-user client port", name);
            return EINVAL;
        }
        if (!nullable_string_is_equal(path, dev->socket_path)) {
            free(dev->socket_path);
            dev->socket_path = xstrdup(path);
        }
    }

    retries = smap_get_int(args, "tx-retries-max", VHOST_TX_RETRIES_DEF);
    if (retries < VHOST_TX_RETRIES_MIN || retries > VHOST_TX_RETRIES_MAX) {
        VLOG_WARN("%s: tx-retries-max %d is out of range [%d, %d]; "
                  "using %d", name, retries, VHOST_TX_RETRIES_MIN,
                  VHOST_TX_RETRIES_MAX, VHOST_TX_RETRIES_DEF);
        retries = VHOST_TX_RETRIES_DEF;
    }
    dev->tx_retries_max = retries;
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhost_user_get_config(const struct netdev *netdev, struct smap *args)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    if (dev->client && dev->socket_path) {
        smap_add(args, "vhost-server-path", dev->socket_path);
    }
    if (dev->tx_retries_max != VHOST_TX_RETRIES_DEF) {
        smap_add_format(args, "tx-retries-max", "%d", dev->tx_retries_max);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhost_user_get_status(const struct netdev *netdev, struct smap *args)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    smap_add(args, "mode", dev->client ? "client" : "server");
    if (dev->socket_path) {
        smap_add(args, "socket", dev->socket_path);
    }
    smap_add(args, "status", "disconnected");
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhost_user_get_stats(const struct netdev *netdev,
                            struct netdev_stats *stats)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    memset(stats, 0, sizeof *stats);
    ovs_mutex_lock(&dev->mutex);
    stats->tx_dropped = dev->tx_dropped;
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhost_user_send(struct netdev *netdev, int qid OVS_UNUSED,
                       struct dp_packet_batch *batch,
                       bool concurrent_txq OVS_UNUSED)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    dev->tx_dropped += dp_packet_batch_size(batch);
    ovs_mutex_unlock(&dev->mutex);
    dp_packet_delete_batch(batch, true);
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
netdev_vhost_user_update_flags(struct netdev *netdev,
                               enum netdev_flags off, enum netdev_flags on,
                               enum netdev_flags *old_flagsp)
{
    struct netdev_vhost_user *dev = netdev_vhost_user_cast(netdev);

    if ((off | on) & ~(NETDEV_UP | NETDEV_PROMISC)) {
        return EOPNOTSUPP;
    }
    ovs_mutex_lock(&dev->mutex);
    *old_flagsp = dev->flags;
    dev->flags = (dev->flags & ~off) | on;
    ovs_mutex_unlock(&dev->mutex);
    if (*old_flagsp != dev->flags) {
        netdev_change_seq_changed(netdev);
    }
    return 0;
}

static struct netdev_rxq *
netdev_vhost_user_rxq_alloc(void)
{
    struct netdev_rxq_vhost_user *rx = xzalloc(sizeof *rx);
    return &rx->up;
}

static int
netdev_vhost_user_rxq_construct(struct netdev_rxq *rxq OVS_UNUSED)
{
    return 0;
}

static void
netdev_vhost_user_rxq_destruct(struct netdev_rxq *rxq OVS_UNUSED)
{
}

static void
netdev_vhost_user_rxq_dealloc(struct netdev_rxq *rxq)
{
    free(CONTAINER_OF(rxq, struct netdev_rxq_vhost_user, up));
}

static int
netdev_vhost_user_rxq_recv(struct netdev_rxq *rxq OVS_UNUSED,
                           struct dp_packet_batch *batch OVS_UNUSED,
                           int *qfill)
{
    if (qfill) {
        *qfill = 0;
    }
    return EAGAIN;
}

#define NETDEV_VHOST_USER_CLASS(TYPE)                       \
    {                                                       \
        .type = TYPE,                                       \
        .is_pmd = true,                                     \
        .alloc = netdev_vhost_user_alloc,                   \
        .construct = netdev_vhost_user_construct,           \
        .destruct = netdev_vhost_user_destruct,             \
        .dealloc = netdev_vhost_user_dealloc,               \
        .get_config = netdev_vhost_user_get_config,         \
        .set_config = netdev_vhost_user_set_config,         \
        .get_status = netdev_vhost_user_get_status,         \
        .get_stats = netdev_vhost_user_get_stats,           \
        .send = netdev_vhost_user_send,                     \
        .set_etheraddr = netdev_vhost_user_set_etheraddr,   \
        .get_etheraddr = netdev_vhost_user_get_etheraddr,   \
        .update_flags = netdev_vhost_user_update_flags,     \
        .rxq_alloc = netdev_vhost_user_rxq_alloc,           \
        .rxq_construct = netdev_vhost_user_rxq_construct,   \
        .rxq_destruct = netdev_vhost_user_rxq_destruct,     \
        .rxq_dealloc = netdev_vhost_user_rxq_dealloc,       \
        .rxq_recv = netdev_vhost_user_rxq_recv,             \
    }

static const struct netdev_class vhost_user_classes[] = {
    NETDEV_VHOST_USER_CLASS("vhostuser"),
    NETDEV_VHOST_USER_CLASS("vhostuserclient"),
    /* OVS-DPDK's names, which libvirt, os-vif and neutron use. */
    NETDEV_VHOST_USER_CLASS("dpdkvhostuser"),
    NETDEV_VHOST_USER_CLASS("dpdkvhostuserclient"),
};

void
netdev_vhost_user_register(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(vhost_user_classes); i++) {
        netdev_register_provider(&vhost_user_classes[i]);
    }
}
