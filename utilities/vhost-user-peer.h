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

#ifndef VHOST_USER_PEER_H
#define VHOST_USER_PEER_H 1

/* vhost-user-peer: a userspace virtio-net frontend (the driver side) that
 * speaks vhost-user to a back-end, for tests, demos and benchmarks.
 *
 * The program is split by concern:
 *
 *   - vhost-user-peer.c: command line, signals, main().
 *   - vhost-user-peer-proto.c: the control channel: socket, messages,
 *     feature negotiation, device start and stop.
 *   - vhost-user-peer-ring.c: guest memory and the split virtqueues: the
 *     transmit and receive primitives.
 *   - vhost-user-peer-cmds.c: the commands (send, recv, echo, bench) and
 *     the frames they generate and check.
 *
 * Guest memory is one memfd mapped MAP_SHARED; a guest physical address is
 * an offset into it. */

#include <linux/virtio_ring.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vhost-user-peer supports little-endian hosts only."
#endif

#define PEER_NAME "vhost-user-peer"

/* Largest number of queue pairs (vhost-user carries a vring index in 8
 * bits). */
#define PEER_MAX_QUEUES 128

/* Largest split ring size. */
#define PEER_MAX_RING_SIZE 32768

/* Largest frame the peer generates, and the largest it reassembles from
 * mergeable receive buffers. */
#define PEER_MAX_FRAME 65535

/* The control queue (--frontend=crosvm): its size, and where the ack
 * goes in each command's 64-byte buffer. */
#define PEER_CTRL_SIZE 16
#define PEER_CTRL_ACK_OFS 32

/* Frames moved per burst. */
#define PEER_BURST 32

/* A feature switch given on the command line: "auto" uses the feature if
 * the back-end offers it, "on" requires it, "off" never asks for it. */
enum peer_switch {
    PEER_AUTO,
    PEER_OFF,
    PEER_ON,
};

/* Checksum and TCP segmentation offloads (--tso).  The transmit side is
 * VIRTIO_NET_F_CSUM and HOST_TSO4, the receive side GUEST_CSUM and
 * GUEST_TSO4 (only with MRG_RXBUF, for 64 KB frames). */
enum peer_tso {
    PEER_TSO_OFF,               /* Neither side (the default). */
    PEER_TSO_AUTO,              /* Each side whose bits are offered. */
    PEER_TSO_ON,                /* Both sides, required. */
    PEER_TSO_TX,                /* The transmit side only, required. */
};

/* TCP test frames (sent with the transmit side of --tso): Ethernet, IPv4
 * and TCP headers without options, then the test header. */
#define PEER_TCP_HDRS_LEN 54    /* Ethernet, IPv4 and TCP headers. */
#define PEER_TCP_MIN_FRAME 68   /* The headers and the test header. */
#define PEER_DEFAULT_MSS 1448

enum peer_command {
    PEER_CMD_SEND,
    PEER_CMD_RECV,
    PEER_CMD_ECHO,
    PEER_CMD_BENCH,
    PEER_CMD_PING,
};

/* The frontend whose message order the peer replays (--frontend), from
 * their sources: QEMU's vhost-user-net (hw/virtio/vhost-user.c, one
 * vhost_dev per queue pair) and Cloud Hypervisor's
 * (virtio-devices/src/vhost_user). */
enum peer_frontend {
    PEER_FE_QEMU,               /* The default: QEMU's order without
                                 * CONFIGURE_MEM_SLOTS (SET_MEM_TABLE from
                                 * the first pair's vhost_dev only,
                                 * SET_FEATURES from each). */
    PEER_FE_QEMU_6_2,           /* QEMU 6.2 to 7.2: ADD_MEM_REG again from
                                 * every pair. */
    PEER_FE_QEMU_8_0,           /* ADD_MEM_REG from the first pair only. */
    PEER_FE_QEMU_8_1,           /* As 8.0, and the device status: GET and
                                 * SET_STATUS FEATURES_OK after
                                 * SET_FEATURES, DRIVER_OK before the
                                 * rings are enabled, 0 after they stop. */
    PEER_FE_CLOUD_HYPERVISOR,   /* Owner first; GET_QUEUE_NUM counted in
                                 * virtqueues; GET_CONFIG; CTRL_VQ kept;
                                 * every ring's size first, then the rest
                                 * ring by ring. */
    PEER_FE_CROSVM,             /* The device passed through: GET_CONFIG
                                 * for max_virtqueue_pairs, the control
                                 * queue handed to the back-end, the driver
                                 * choosing its pairs there. */
};

/* Everything the command line sets. */
struct peer_options {
    const char *socket_path;
    bool server;                /* Listen instead of connecting. */
    double connect_timeout;     /* Seconds. */
    unsigned int queues;        /* Queue pairs. */
    unsigned int ring_size;
    enum peer_switch mrg_rxbuf;
    enum peer_switch event_idx;
    enum peer_switch indirect;
    enum peer_tso tso;
    bool tso_fields;            /* --tso given: print the TCP fields. */
    unsigned int mss;           /* TCP payload bytes per segment. */
    bool notify;                /* Use kick and call eventfds. */
    unsigned int frame_size;    /* Bytes, Ethernet header included. */
    uint64_t count;             /* Frames; 0 means no limit. */
    uint64_t bytes;             /* recv: TCP payload bytes; 0: no limit. */
    double duration;            /* Seconds; 0 means no limit. */
    double idle;                /* Seconds; 0 means no idle timeout. */
    uint8_t mac[6];
    uint8_t dst_mac[6];
    uint64_t rate;              /* Frames per second; 0 means no pacing. */
    unsigned int mem_mb;        /* 0 means "as much as needed". */
    unsigned int enable_queues; /* Pairs to enable; 0 means all. */
    bool announce;              /* Send SEND_RARP for 'mac'. */
    unsigned int mtu;           /* Send NET_SET_MTU; 0 means don't. */
    bool wait_signal;           /* Start the command on SIGUSR1. */
    int verbosity;              /* 0 quiet, 1 normal, 2 verbose. */
    enum peer_frontend frontend;
    enum peer_command command;
};

/* One split virtqueue, seen from the driver side.
 *
 * Descriptor 'i' always points at buffer 'i' (and, for transmit rings with
 * indirect descriptors, at indirect table 'i'), so a free descriptor is a
 * free buffer. */
struct peer_vring {
    unsigned int index;         /* vring number: 2 * queue (+ 1 for tx). */
    bool is_tx;
    uint16_t size;

    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;

    uint16_t avail_idx;         /* Next avail->idx to publish. */
    uint16_t kicked_idx;        /* avail->idx at the last notification. */
    uint16_t last_used;         /* Next used entry to consume. */

    uint16_t *free_ids;         /* Stack of free descriptor ids. */
    uint16_t n_free;

    uint8_t *bufs;              /* 'size' buffers of 'buf_size' bytes. */
    uint32_t buf_size;
    struct vring_desc *indirect; /* 'size' tables of 2 descriptors. */

    int kick_fd;                /* -1 when polling. */
    int call_fd;                /* -1 when polling. */
};

struct peer_queue {
    struct peer_vring rx;       /* vring 2 * i. */
    struct peer_vring tx;       /* vring 2 * i + 1. */
    uint64_t rx_frames;         /* Frames received on this queue. */
    uint64_t tx_frames;         /* Frames placed on this queue. */
};

/* Statistics the commands keep. */
struct peer_stats {
    uint64_t tx_frames;         /* Placed on a transmit ring. */
    uint64_t tx_done;           /* Consumed by the back-end. */
    uint64_t tx_bytes;
    uint64_t rx_frames;         /* Our frames received. */
    uint64_t rx_bytes;
    uint64_t rx_bad;            /* Our frames, damaged. */
    uint64_t rx_other;          /* Frames that are not ours. */
    uint64_t rx_errors;         /* Malformed used ring entries. */

    /* TCP test frames and segments (see vhost-user-peer-cmds.c). */
    uint64_t rx_tcp;            /* Received, intact or not. */
    uint64_t rx_payload_bytes;  /* TCP payload bytes of the intact ones. */
    uint64_t rx_gso;            /* Received with a GSO request. */
    uint64_t rx_csum_partial;   /* Received with NEEDS_CSUM. */
    uint32_t rx_max_len;        /* Largest frame received, of any kind. */
};

/* The device: control channel, negotiated features, memory, rings. */
struct peer {
    const struct peer_options *opts;

    int sock;                   /* vhost-user control socket. */
    int listen_fd;              /* Server mode only, else -1. */
    uint64_t offered;           /* Back-end's GET_FEATURES. */
    uint64_t features;          /* Negotiated virtio features. */
    uint64_t protocol_features; /* Negotiated protocol features. */
    bool reply_ack;             /* REPLY_ACK negotiated. */
    bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated. */
    bool use_indirect;          /* Transmit through indirect tables. */
    bool mrg_rxbuf;             /* VIRTIO_NET_F_MRG_RXBUF negotiated. */
    bool tso_tx;                /* CSUM and HOST_TSO4 negotiated. */
    bool tso_rx;                /* GUEST_CSUM and GUEST_TSO4 negotiated. */
    unsigned int hdr_len;       /* virtio-net header size. */
    bool running;               /* Rings handed to the back-end. */

    int memfd;
    uint8_t *mem;
    size_t mem_size;

    struct peer_queue *queues;
    unsigned int n_queues;
    unsigned int n_active;      /* Queue pairs enabled, to send on. */

    /* The control queue (--frontend=crosvm only): its frontend index
     * (2 * max_virtqueue_pairs), 'ctrl.size' 0 if none. */
    struct peer_vring ctrl;
    unsigned int config_pairs;  /* max_virtqueue_pairs from GET_CONFIG. */

    uint8_t *scratch;           /* Reassembly of mergeable frames. */
};

/* Set by SIGINT and SIGTERM. */
extern volatile sig_atomic_t peer_stop;
extern volatile sig_atomic_t peer_go;    /* SIGUSR1 arrived. */

/* vhost-user-peer.c. */
void peer_error(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
void peer_info(const struct peer_options *, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void peer_debug(const struct peer_options *, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
double peer_now(void);

/* vhost-user-peer-proto.c. */
int peer_connect(struct peer *, const struct peer_options *);
int peer_start(struct peer *);
void peer_stop_device(struct peer *);
void peer_close(struct peer *);
int peer_check_backend(struct peer *);

/* vhost-user-peer-ring.c. */
struct virtio_net_hdr;

int peer_mem_init(struct peer *);
void peer_mem_destroy(struct peer *);
uint64_t peer_gpa(const struct peer *, const void *);

unsigned int peer_tx_reclaim(struct peer_vring *);
uint8_t *peer_tx_slot(struct peer *, struct peer_vring *, uint16_t *id);
uint32_t peer_tx_frame_len(const struct peer *);
void peer_tx_put(struct peer *, struct peer_vring *, uint16_t id,
                 uint32_t frame_len, const struct virtio_net_hdr *);
void peer_publish(struct peer *, struct peer_vring *);

int peer_rx_next(struct peer *, struct peer_vring *, uint8_t **frame,
                 uint32_t *len, struct virtio_net_hdr *);

bool peer_vring_notify_on(struct peer *, struct peer_vring *);
void peer_vring_notify_off(struct peer *, struct peer_vring *);
int peer_wait(struct peer *, struct peer_vring *const *, size_t n,
              long timeout_us);

/* vhost-user-peer-cmds.c. */
int peer_run_command(struct peer *);

#endif /* vhost-user-peer.h */
