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

#ifndef VHOST_USER_PROTOCOL_H
#define VHOST_USER_PROTOCOL_H 1

/* The vhost-user wire format, as the vhost-user specification (QEMU's
 * docs/interop/vhost-user.rst) defines it: message header, request codes,
 * payload layouts and feature bits.  Shared by the back-end engine and by
 * the frontend peer in utilities/, so both speak from one definition.
 *
 * All multi-byte fields are in the host's byte order (the protocol is local
 * to one machine). */

#include <stdint.h>

/* Message header flags. */
#define VHU_FLAG_VERSION_MASK  0x3u
#define VHU_VERSION            0x1u
#define VHU_FLAG_REPLY         (1u << 2)
#define VHU_FLAG_NEED_REPLY    (1u << 3)

/* Requests from the frontend ("front-end message types"). */
enum vhu_request {
    VHU_REQ_NONE = 0,
    VHU_REQ_GET_FEATURES = 1,
    VHU_REQ_SET_FEATURES = 2,
    VHU_REQ_SET_OWNER = 3,
    VHU_REQ_RESET_OWNER = 4,
    VHU_REQ_SET_MEM_TABLE = 5,
    VHU_REQ_SET_LOG_BASE = 6,
    VHU_REQ_SET_LOG_FD = 7,
    VHU_REQ_SET_VRING_NUM = 8,
    VHU_REQ_SET_VRING_ADDR = 9,
    VHU_REQ_SET_VRING_BASE = 10,
    VHU_REQ_GET_VRING_BASE = 11,
    VHU_REQ_SET_VRING_KICK = 12,
    VHU_REQ_SET_VRING_CALL = 13,
    VHU_REQ_SET_VRING_ERR = 14,
    VHU_REQ_GET_PROTOCOL_FEATURES = 15,
    VHU_REQ_SET_PROTOCOL_FEATURES = 16,
    VHU_REQ_GET_QUEUE_NUM = 17,
    VHU_REQ_SET_VRING_ENABLE = 18,
    VHU_REQ_SEND_RARP = 19,
    VHU_REQ_NET_SET_MTU = 20,
    VHU_REQ_SET_BACKEND_REQ_FD = 21,
    VHU_REQ_IOTLB_MSG = 22,
    VHU_REQ_SET_VRING_ENDIAN = 23,
    VHU_REQ_GET_CONFIG = 24,
    VHU_REQ_SET_CONFIG = 25,
    VHU_REQ_CREATE_CRYPTO_SESSION = 26,
    VHU_REQ_CLOSE_CRYPTO_SESSION = 27,
    VHU_REQ_POSTCOPY_ADVISE = 28,
    VHU_REQ_POSTCOPY_LISTEN = 29,
    VHU_REQ_POSTCOPY_END = 30,
    VHU_REQ_GET_INFLIGHT_FD = 31,
    VHU_REQ_SET_INFLIGHT_FD = 32,
    VHU_REQ_GPU_SET_SOCKET = 33,
    VHU_REQ_RESET_DEVICE = 34,
    VHU_REQ_VRING_KICK = 35,
    VHU_REQ_GET_MAX_MEM_SLOTS = 36,
    VHU_REQ_ADD_MEM_REG = 37,
    VHU_REQ_REM_MEM_REG = 38,
    VHU_REQ_SET_STATUS = 39,
    VHU_REQ_GET_STATUS = 40,
    VHU_REQ_MAX
};

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
enum {
    VHU_PROTOCOL_F_MQ = 0,
    VHU_PROTOCOL_F_LOG_SHMFD = 1,
    VHU_PROTOCOL_F_RARP = 2,
    VHU_PROTOCOL_F_REPLY_ACK = 3,
    VHU_PROTOCOL_F_NET_MTU = 4,
    VHU_PROTOCOL_F_BACKEND_REQ = 5,
    VHU_PROTOCOL_F_CROSS_ENDIAN = 6,
    VHU_PROTOCOL_F_CRYPTO_SESSION = 7,
    VHU_PROTOCOL_F_PAGEFAULT = 8,
    VHU_PROTOCOL_F_CONFIG = 9,
    VHU_PROTOCOL_F_BACKEND_SEND_FD = 10,
    VHU_PROTOCOL_F_HOST_NOTIFIER = 11,
    VHU_PROTOCOL_F_INFLIGHT_SHMFD = 12,
    VHU_PROTOCOL_F_RESET_DEVICE = 13,
    VHU_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
    VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
    VHU_PROTOCOL_F_STATUS = 16,
};

/* Virtio feature bits that matter to a vhost-user net back-end.  (Linux's
 * <linux/virtio_*.h> define most of these too; these names keep the wire
 * format in one place.) */
enum {
    VHU_VIRTIO_NET_F_CSUM = 0,
    VHU_VIRTIO_NET_F_GUEST_CSUM = 1,
    VHU_VIRTIO_NET_F_MTU = 3,
    VHU_VIRTIO_NET_F_MAC = 5,
    VHU_VIRTIO_NET_F_GUEST_TSO4 = 7,
    VHU_VIRTIO_NET_F_GUEST_TSO6 = 8,
    VHU_VIRTIO_NET_F_GUEST_ECN = 9,
    VHU_VIRTIO_NET_F_GUEST_UFO = 10,
    VHU_VIRTIO_NET_F_HOST_TSO4 = 11,
    VHU_VIRTIO_NET_F_HOST_TSO6 = 12,
    VHU_VIRTIO_NET_F_HOST_ECN = 13,
    VHU_VIRTIO_NET_F_HOST_UFO = 14,
    VHU_VIRTIO_NET_F_MRG_RXBUF = 15,
    VHU_VIRTIO_NET_F_STATUS = 16,
    VHU_VIRTIO_NET_F_CTRL_VQ = 17,
    VHU_VIRTIO_NET_F_CTRL_RX = 18,
    VHU_VIRTIO_NET_F_CTRL_VLAN = 19,
    VHU_VIRTIO_NET_F_CTRL_RX_EXTRA = 20,
    VHU_VIRTIO_NET_F_GUEST_ANNOUNCE = 21,
    VHU_VIRTIO_NET_F_MQ = 22,
    VHU_VIRTIO_NET_F_CTRL_MAC_ADDR = 23,
    VHU_VIRTIO_F_NOTIFY_ON_EMPTY = 24,
    VHU_F_LOG_ALL = 26,
    VHU_VIRTIO_F_ANY_LAYOUT = 27,
    VHU_VIRTIO_RING_F_INDIRECT_DESC = 28,
    VHU_VIRTIO_RING_F_EVENT_IDX = 29,
    VHU_F_PROTOCOL_FEATURES = 30,
    VHU_VIRTIO_F_VERSION_1 = 32,
    VHU_VIRTIO_F_ACCESS_PLATFORM = 33,
    VHU_VIRTIO_F_RING_PACKED = 34,
    VHU_VIRTIO_F_IN_ORDER = 35,
    VHU_VIRTIO_NET_F_VQ_NOTF_COAL = 52,
    VHU_VIRTIO_NET_F_NOTF_COAL = 53,
    VHU_VIRTIO_NET_F_GUEST_USO4 = 54,
    VHU_VIRTIO_NET_F_GUEST_USO6 = 55,
    VHU_VIRTIO_NET_F_HOST_USO = 56,
    VHU_VIRTIO_NET_F_HASH_REPORT = 57,
    VHU_VIRTIO_NET_F_RSS = 60,
    VHU_VIRTIO_NET_F_RSC_EXT = 61,
};

#define VHU_BIT(N) (UINT64_C(1) << (N))

/* The virtio-net control queue (virtio 1.x 5.1.6.5): each command is a
 * chain of device-readable bytes (class, command, command data) followed
 * by one device-writable byte, the ack. */
enum {
    VHU_NET_CTRL_RX = 0,
    VHU_NET_CTRL_MAC = 1,
    VHU_NET_CTRL_VLAN = 2,
    VHU_NET_CTRL_ANNOUNCE = 3,
    VHU_NET_CTRL_MQ = 4,
    VHU_NET_CTRL_GUEST_OFFLOADS = 5,
};
#define VHU_NET_CTRL_ANNOUNCE_ACK    0
#define VHU_NET_CTRL_MQ_VQ_PAIRS_SET 0   /* Data: le16 virtqueue_pairs. */
#define VHU_NET_CTRL_MQ_VQ_PAIRS_MIN 1
#define VHU_NET_CTRL_MQ_VQ_PAIRS_MAX 0x8000
#define VHU_NET_OK  0
#define VHU_NET_ERR 1

/* Regions that one SET_MEM_TABLE may carry (one fd each). */
#define VHU_MEM_TABLE_MAX_REGIONS 8

/* Flag in the u64 payload of SET_VRING_KICK/CALL/ERR: no fd is attached
 * (the ring is polled, or notifications are off). */
#define VHU_VRING_IDX_MASK  0xffu
#define VHU_VRING_NOFD_MASK (UINT64_C(1) << 8)

/* SET_VRING_ADDR flags. */
#define VHU_VRING_F_LOG 1u

/* Device status bits (SET_STATUS/GET_STATUS), as in the virtio spec. */
#define VHU_STATUS_ACKNOWLEDGE 1u
#define VHU_STATUS_DRIVER      2u
#define VHU_STATUS_DRIVER_OK   4u
#define VHU_STATUS_FEATURES_OK 8u
#define VHU_STATUS_NEEDS_RESET 64u
#define VHU_STATUS_FAILED      128u

struct vhu_msg_header {
    uint32_t request;           /* One of enum vhu_request. */
    uint32_t flags;             /* VHU_FLAG_*. */
    uint32_t size;              /* Bytes of payload that follow. */
};

/* SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE. */
struct vhu_vring_state {
    uint32_t index;
    uint32_t num;
};

/* SET_VRING_ADDR.  'desc', 'used' and 'avail' are frontend user addresses
 * (translated through the memory table's userspace_addr); 'log' is a
 * guest physical address. */
struct vhu_vring_addr {
    uint32_t index;
    uint32_t flags;             /* VHU_VRING_F_LOG. */
    uint64_t desc;
    uint64_t used;
    uint64_t avail;
    uint64_t log;
};

struct vhu_mem_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
};

/* SET_MEM_TABLE: one fd per region, in order. */
struct vhu_mem_table {
    uint32_t nregions;
    uint32_t padding;
    struct vhu_mem_region regions[VHU_MEM_TABLE_MAX_REGIONS];
};

/* ADD_MEM_REG and REM_MEM_REG. */
struct vhu_mem_single {
    uint64_t padding;
    struct vhu_mem_region region;
};

/* SET_LOG_BASE (with one fd). */
struct vhu_log {
    uint64_t mmap_size;
    uint64_t mmap_offset;
};

/* GET_CONFIG and SET_CONFIG: 'size' bytes of the device's configuration
 * space from 'offset'. */
#define VHU_CONFIG_MAX_SIZE 256
struct vhu_config {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t data[VHU_CONFIG_MAX_SIZE];
};
#define VHU_CONFIG_HDR_SIZE 12

/* The virtio-net configuration space (virtio 1.x 5.1.4), little-endian. */
struct vhu_net_config {
    uint8_t mac[6];
    uint16_t status;            /* VHU_NET_S_*. */
    uint16_t max_virtqueue_pairs;
    uint16_t mtu;
    uint32_t speed;
    uint8_t duplex;
    uint8_t rss_max_key_size;
    uint16_t rss_max_indirection_table_length;
    uint32_t supported_hash_types;
} __attribute__((packed));
#define VHU_NET_S_LINK_UP  1
#define VHU_NET_S_ANNOUNCE 2

/* Largest payload we accept for any request. */
union vhu_msg_payload {
    struct vhu_config config;
    uint64_t u64;
    struct vhu_vring_state state;
    struct vhu_vring_addr addr;
    struct vhu_mem_table mem;
    struct vhu_mem_single mem_single;
    struct vhu_log log;
    uint8_t mac[6];             /* SEND_RARP, in the low bytes of a u64. */
};

#define VHU_MSG_MAX_PAYLOAD sizeof(union vhu_msg_payload)

/* Fds one message may carry. */
#define VHU_MSG_MAX_FDS VHU_MEM_TABLE_MAX_REGIONS

/* Dirty log: one bit per page of guest physical memory. */
#define VHU_LOG_PAGE_SIZE 4096

#endif /* vhost-user-protocol.h */
