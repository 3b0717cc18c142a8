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


#include <config.h>

#include "vhost-user-show.h"

#include <inttypes.h>

#include "openvswitch/dynamic-string.h"
#include "util.h"
#include "vhost-engine.h"

struct feature_name {
    int bit;
    const char *name;
};

static const struct feature_name virtio_features[] = {
    { VHU_VIRTIO_NET_F_CSUM, "CSUM" },
    { VHU_VIRTIO_NET_F_GUEST_CSUM, "GUEST_CSUM" },
    { VHU_VIRTIO_NET_F_MTU, "MTU" },
    { VHU_VIRTIO_NET_F_MAC, "MAC" },
    { VHU_VIRTIO_NET_F_GUEST_TSO4, "GUEST_TSO4" },
    { VHU_VIRTIO_NET_F_GUEST_TSO6, "GUEST_TSO6" },
    { VHU_VIRTIO_NET_F_GUEST_ECN, "GUEST_ECN" },
    { VHU_VIRTIO_NET_F_GUEST_UFO, "GUEST_UFO" },
    { VHU_VIRTIO_NET_F_HOST_TSO4, "HOST_TSO4" },
    { VHU_VIRTIO_NET_F_HOST_TSO6, "HOST_TSO6" },
    { VHU_VIRTIO_NET_F_HOST_ECN, "HOST_ECN" },
    { VHU_VIRTIO_NET_F_HOST_UFO, "HOST_UFO" },
    { VHU_VIRTIO_NET_F_MRG_RXBUF, "MRG_RXBUF" },
    { VHU_VIRTIO_NET_F_STATUS, "STATUS" },
    { VHU_VIRTIO_NET_F_CTRL_VQ, "CTRL_VQ" },
    { VHU_VIRTIO_NET_F_GUEST_ANNOUNCE, "GUEST_ANNOUNCE" },
    { VHU_VIRTIO_NET_F_MQ, "MQ" },
    { VHU_VIRTIO_F_NOTIFY_ON_EMPTY, "NOTIFY_ON_EMPTY" },
    { VHU_F_LOG_ALL, "LOG_ALL" },
    { VHU_VIRTIO_F_ANY_LAYOUT, "ANY_LAYOUT" },
    { VHU_VIRTIO_RING_F_INDIRECT_DESC, "RING_INDIRECT_DESC" },
    { VHU_VIRTIO_RING_F_EVENT_IDX, "RING_EVENT_IDX" },
    { VHU_F_PROTOCOL_FEATURES, "PROTOCOL_FEATURES" },
    { VHU_VIRTIO_F_VERSION_1, "VERSION_1" },
    { VHU_VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM" },
    { VHU_VIRTIO_F_RING_PACKED, "RING_PACKED" },
    { VHU_VIRTIO_F_IN_ORDER, "IN_ORDER" },
};

static const struct feature_name protocol_features[] = {
    { VHU_PROTOCOL_F_MQ, "MQ" },
    { VHU_PROTOCOL_F_LOG_SHMFD, "LOG_SHMFD" },
    { VHU_PROTOCOL_F_RARP, "RARP" },
    { VHU_PROTOCOL_F_REPLY_ACK, "REPLY_ACK" },
    { VHU_PROTOCOL_F_NET_MTU, "NET_MTU" },
    { VHU_PROTOCOL_F_BACKEND_REQ, "BACKEND_REQ" },
    { VHU_PROTOCOL_F_CONFIG, "CONFIG" },
    { VHU_PROTOCOL_F_INFLIGHT_SHMFD, "INFLIGHT_SHMFD" },
    { VHU_PROTOCOL_F_RESET_DEVICE, "RESET_DEVICE" },
    { VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS, "CONFIGURE_MEM_SLOTS" },
    { VHU_PROTOCOL_F_STATUS, "STATUS" },
};

/* Appends "0xHEX: NAME NAME ..." for 'features' to 'ds', with "bitN" for
 * bits without a name. */
static void
format_features(struct ds *ds, uint64_t features,
                const struct feature_name *names, size_t n_names)
{
    ds_put_format(ds, "0x%016"PRIx64":", features);
    for (int bit = 0; bit < 64; bit++) {
        const char *name = NULL;

        if (!(features & VHU_BIT(bit))) {
            continue;
        }
        for (size_t i = 0; i < n_names; i++) {
            if (names[i].bit == bit) {
                name = names[i].name;
                break;
            }
        }
        if (name) {
            ds_put_format(ds, " %s", name);
        } else {
            ds_put_format(ds, " bit%d", bit);
        }
    }
    ds_put_char(ds, '\n');
}

static void
format_fd(struct ds *ds, const char *what, int fd)
{
    if (fd >= 0) {
        ds_put_format(ds, ", %s %d", what, fd);
    } else {
        ds_put_format(ds, ", %s none", what);
    }
}

void
vhost_user_format_device(struct ds *ds, const struct vhu_device *vdev)
{
    ds_put_cstr(ds, "  features: ");
    format_features(ds, vhu_device_features(vdev), virtio_features,
                    ARRAY_SIZE(virtio_features));
    ds_put_cstr(ds, "  protocol features: ");
    format_features(ds, vhu_device_protocol_features(vdev),
                    protocol_features, ARRAY_SIZE(protocol_features));
    ds_put_format(ds, "  driver: %s\n",
                  vhu_device_is_running(vdev) ? "running" : "not running");
    ds_put_format(ds, "  dirty logging: %s\n",
                  vhu_device_is_logging(vdev) ? "on" : "off");

    for (unsigned int i = 0; i < VHU_MAX_VRINGS; i++) {
        struct vhu_vring_info info;
        struct vhu_vring_stats stats;

        vhu_device_vring_info(vdev, i, &info);
        if (!info.configured) {
            continue;
        }
        vhu_device_vring_stats(vdev, i, &stats);
        if (i == VHU_CTRL_VRING) {
            unsigned int pairs = vhu_device_ctrl_pairs(vdev);

            if (pairs) {
                ds_put_format(ds, "  control queue (driver uses %u queue "
                              "pair%s):", pairs, pairs == 1 ? "" : "s");
            } else {
                ds_put_cstr(ds, "  control queue (not served):");
            }
        } else {
            ds_put_format(ds, "  vring %u (queue pair %u, guest %s):", i,
                          i / 2, i % 2 ? "tx" : "rx");
        }
        ds_put_format(ds, " size %"PRIu16", %s, %s%s%s%s\n", info.size,
                      info.enabled ? "enabled" : "disabled",
                      info.started ? "started" : "stopped",
                      info.broken ? ", BROKEN" : "",
                      info.log_used ? ", logs used ring" : "",
                      (!info.packed ? ""
                       : info.wrap ? ", packed, wrap counter 1"
                       : ", packed, wrap counter 0"));
        ds_put_format(ds, "    avail idx %"PRIu16", used idx %"PRIu16
                      ", last_avail %"PRIu16", last_used %"PRIu16,
                      info.avail_idx, info.used_idx, info.last_avail_idx,
                      info.last_used_idx);
        format_fd(ds, "kick fd", info.kick_fd);
        format_fd(ds, "call fd", info.call_fd);
        ds_put_format(ds, "\n    packets %"PRIu64", bytes %"PRIu64
                      ", dropped %"PRIu64", errors %"PRIu64
                      ", notifications %"PRIu64", dirty logged %"PRIu64"\n",
                      stats.packets, stats.bytes, stats.dropped,
                      stats.errors, stats.notifications, stats.logged);
    }
}
