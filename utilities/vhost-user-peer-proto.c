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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1           /* accept4(). */
#endif
#include "vhost-user-peer.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost-user-protocol.h"

/* The control channel of the frontend: connecting, exchanging messages,
 * and the start-up and tear-down sequences QEMU uses. */

/* How long the back-end may take to answer one request. */
#define PEER_REPLY_TIMEOUT_MS 10000

/* Protocol features the peer knows how to use. */
#define PEER_PROTOCOL_FEATURES (VHU_BIT(VHU_PROTOCOL_F_MQ) \
                                | VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK) \
                                | VHU_BIT(VHU_PROTOCOL_F_RARP) \
                                | VHU_BIT(VHU_PROTOCOL_F_NET_MTU))

static int peer_send_mtu(struct peer *, unsigned int mtu);
static int peer_send_rarp(struct peer *);

/* Returns the name of vhost-user request 'request', for messages. */
static const char *
peer_request_name(uint32_t request)
{
    static const char *const names[VHU_REQ_MAX] = {
        [VHU_REQ_GET_FEATURES] = "GET_FEATURES",
        [VHU_REQ_SET_FEATURES] = "SET_FEATURES",
        [VHU_REQ_SET_OWNER] = "SET_OWNER",
        [VHU_REQ_RESET_OWNER] = "RESET_OWNER",
        [VHU_REQ_SET_MEM_TABLE] = "SET_MEM_TABLE",
        [VHU_REQ_SET_VRING_NUM] = "SET_VRING_NUM",
        [VHU_REQ_SET_VRING_ADDR] = "SET_VRING_ADDR",
        [VHU_REQ_SET_VRING_BASE] = "SET_VRING_BASE",
        [VHU_REQ_GET_VRING_BASE] = "GET_VRING_BASE",
        [VHU_REQ_SET_VRING_KICK] = "SET_VRING_KICK",
        [VHU_REQ_SET_VRING_CALL] = "SET_VRING_CALL",
        [VHU_REQ_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [VHU_REQ_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [VHU_REQ_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
        [VHU_REQ_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        [VHU_REQ_SEND_RARP] = "SEND_RARP",
        [VHU_REQ_NET_SET_MTU] = "NET_SET_MTU",
        [VHU_REQ_GET_CONFIG] = "GET_CONFIG",
        [VHU_REQ_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
        [VHU_REQ_ADD_MEM_REG] = "ADD_MEM_REG",
        [VHU_REQ_SET_STATUS] = "SET_STATUS",
        [VHU_REQ_GET_STATUS] = "GET_STATUS",
    };

    return request < VHU_REQ_MAX && names[request] ? names[request] : "?";
}

/* Returns the name of virtio feature bit 'bit', for messages. */
static const char *
peer_feature_name(int bit)
{
    switch (bit) {
    case VHU_VIRTIO_NET_F_CSUM:
        return "VIRTIO_NET_F_CSUM";
    case VHU_VIRTIO_NET_F_GUEST_CSUM:
        return "VIRTIO_NET_F_GUEST_CSUM";
    case VHU_VIRTIO_NET_F_GUEST_TSO4:
        return "VIRTIO_NET_F_GUEST_TSO4";
    case VHU_VIRTIO_NET_F_HOST_TSO4:
        return "VIRTIO_NET_F_HOST_TSO4";
    case VHU_VIRTIO_NET_F_MRG_RXBUF:
        return "VIRTIO_NET_F_MRG_RXBUF";
    case VHU_VIRTIO_RING_F_EVENT_IDX:
        return "VIRTIO_RING_F_EVENT_IDX";
    case VHU_VIRTIO_RING_F_INDIRECT_DESC:
        return "VIRTIO_RING_F_INDIRECT_DESC";
    case VHU_VIRTIO_NET_F_MQ:
        return "VIRTIO_NET_F_MQ";
    case VHU_VIRTIO_F_VERSION_1:
        return "VIRTIO_F_VERSION_1";
    case VHU_F_PROTOCOL_FEATURES:
        return "VHOST_USER_F_PROTOCOL_FEATURES";
    default:
        return "?";
    }
}

/* Connects to the back-end's socket, retrying until the connect timeout
 * expires.  Returns a connected socket or -1 after printing an error. */
static int
peer_connect_client(const struct peer_options *opts,
                    const struct sockaddr_un *addr)
{
    double deadline = peer_now() + opts->connect_timeout;

    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            peer_error("socket: %s", strerror(errno));
            return -1;
        }
        if (!connect(fd, (const struct sockaddr *) addr, sizeof *addr)) {
            return fd;
        }

        int error = errno;
        close(fd);
        if (peer_stop || peer_now() >= deadline
            || (error != ENOENT && error != ECONNREFUSED
                && error != EAGAIN)) {
            peer_error("cannot connect to %s: %s", opts->socket_path,
                       strerror(error));
            return -1;
        }

        struct timespec delay = { 0, 100 * 1000 * 1000 };
        nanosleep(&delay, NULL);
    }
}

/* Listens on the socket path and waits for the back-end to connect, at
 * most the connect timeout (0 means forever).  Returns the accepted socket
 * or -1 after printing an error; '*listen_fdp' receives the listening
 * socket either way (or -1). */
static int
peer_accept_server(const struct peer_options *opts,
                   const struct sockaddr_un *addr, int *listen_fdp)
{
    struct stat st;

    *listen_fdp = -1;
    if (!stat(opts->socket_path, &st) && S_ISSOCK(st.st_mode)) {
        unlink(opts->socket_path);
    }

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        peer_error("socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (const struct sockaddr *) addr, sizeof *addr)
        || listen(fd, 1)) {
        peer_error("cannot listen on %s: %s", opts->socket_path,
                   strerror(errno));
        close(fd);
        return -1;
    }
    *listen_fdp = fd;
    peer_info(opts, "listening on %s", opts->socket_path);

    double deadline = peer_now() + opts->connect_timeout;
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int timeout = 100;

        if (poll(&pfd, 1, timeout) > 0) {
            int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
            if (conn >= 0) {
                return conn;
            }
            if (errno != EINTR && errno != EAGAIN) {
                peer_error("accept on %s: %s", opts->socket_path,
                           strerror(errno));
                return -1;
            }
        }
        if (peer_stop) {
            peer_error("interrupted while waiting for a connection on %s",
                       opts->socket_path);
            return -1;
        }
        if (opts->connect_timeout > 0 && peer_now() >= deadline) {
            peer_error("no back-end connected to %s within %g seconds",
                       opts->socket_path, opts->connect_timeout);
            return -1;
        }
    }
}

/* Opens the control channel as the options say (client or server).
 * Returns 0 or -1 after printing an error. */
int
peer_connect(struct peer *peer, const struct peer_options *opts)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    memset(peer, 0, sizeof *peer);
    peer->opts = opts;
    peer->sock = -1;
    peer->listen_fd = -1;
    peer->memfd = -1;

    if (strlen(opts->socket_path) >= sizeof addr.sun_path) {
        peer_error("socket path %s is too long", opts->socket_path);
        return -1;
    }
    strcpy(addr.sun_path, opts->socket_path);

    peer->sock = (opts->server
                  ? peer_accept_server(opts, &addr, &peer->listen_fd)
                  : peer_connect_client(opts, &addr));
    if (peer->sock < 0) {
        return -1;
    }
    peer_info(opts, "connected to %s", opts->socket_path);
    return 0;
}

/* Sends one message with 'n_fds' file descriptors.  Returns 0 or -1 after
 * printing an error. */
static int
peer_send_msg(struct peer *peer, uint32_t request, uint32_t flags,
              const void *payload, uint32_t size, const int *fds,
              size_t n_fds)
{
    struct vhu_msg_header hdr = {
        .request = request,
        .flags = VHU_VERSION | flags,
        .size = size,
    };
    struct iovec iov[2] = {
        { .iov_base = &hdr, .iov_len = sizeof hdr },
        { .iov_base = (void *) payload, .iov_len = size },
    };
    union {
        char buf[CMSG_SPACE(sizeof(int) * VHU_MSG_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {
        .msg_iov = iov,
        .msg_iovlen = size ? 2 : 1,
    };

    if (n_fds) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);

        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
    }

    peer_debug(peer->opts, "-> %s flags 0x%x size %u fds %zu",
               peer_request_name(request), hdr.flags, size, n_fds);

    ssize_t n;
    do {
        n = sendmsg(peer->sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EPIPE || errno == ECONNRESET) {
            peer_error("back-end closed the connection (sending %s)",
                       peer_request_name(request));
        } else {
            peer_error("sending %s: %s", peer_request_name(request),
                       strerror(errno));
        }
        return -1;
    }
    if (n != sizeof hdr + size) {
        peer_error("sending %s: short write", peer_request_name(request));
        return -1;
    }
    return 0;
}

/* Reads exactly 'size' bytes of a reply to 'request', waiting at most the
 * reply timeout.  Returns 0 or -1 after printing an error. */
static int
peer_read_full(struct peer *peer, uint32_t request, void *buf_, size_t size)
{
    uint8_t *buf = buf_;

    while (size > 0) {
        struct pollfd pfd = { .fd = peer->sock, .events = POLLIN };
        int retval = poll(&pfd, 1, PEER_REPLY_TIMEOUT_MS);

        if (retval < 0 && errno == EINTR) {
            continue;
        } else if (retval == 0) {
            peer_error("back-end did not reply to %s within %d seconds",
                       peer_request_name(request),
                       PEER_REPLY_TIMEOUT_MS / 1000);
            return -1;
        }

        ssize_t n = recv(peer->sock, buf, size, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno != ECONNRESET) {
            peer_error("receiving the reply to %s: %s",
                       peer_request_name(request), strerror(errno));
            return -1;
        } else if (n <= 0) {
            /* End of file, or a reset because the back-end closed the
             * connection without reading all we sent. */
            peer_error("back-end closed the connection (waiting for the "
                       "reply to %s)", peer_request_name(request));
            return -1;
        }
        buf += n;
        size -= n;
    }
    return 0;
}

/* Receives the reply to 'request', whose payload must be exactly 'size'
 * bytes, into 'payload'.  Returns 0 or -1 after printing an error. */
static int
peer_recv_reply(struct peer *peer, uint32_t request, void *payload,
                uint32_t size)
{
    struct vhu_msg_header hdr;

    if (peer_read_full(peer, request, &hdr, sizeof hdr)) {
        return -1;
    }
    peer_debug(peer->opts, "<- %s flags 0x%x size %u",
               peer_request_name(hdr.request), hdr.flags, hdr.size);
    if (hdr.request != request || !(hdr.flags & VHU_FLAG_REPLY)
        || (hdr.flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION
        || hdr.size != size) {
        peer_error("malformed reply to %s (request %u, flags 0x%x, "
                   "size %u)", peer_request_name(request), hdr.request,
                   hdr.flags, hdr.size);
        return -1;
    }
    return peer_read_full(peer, request, payload, size);
}

/* Sends 'request', which has a u64 reply, and stores the reply in
 * '*value'.  Returns 0 or -1 after printing an error. */
static int
peer_get_u64(struct peer *peer, uint32_t request, uint64_t *value)
{
    return (peer_send_msg(peer, request, 0, NULL, 0, NULL, 0)
            || peer_recv_reply(peer, request, value, sizeof *value));
}

/* Sends 'request', which has no reply of its own.  When REPLY_ACK is
 * negotiated, asks for an acknowledgement and checks it.  Returns 0 or -1
 * after printing an error. */
static int
peer_set(struct peer *peer, uint32_t request, const void *payload,
         uint32_t size, const int *fds, size_t n_fds)
{
    uint32_t flags = peer->reply_ack ? VHU_FLAG_NEED_REPLY : 0;
    uint64_t ack;

    if (peer_send_msg(peer, request, flags, payload, size, fds, n_fds)) {
        return -1;
    }
    if (!peer->reply_ack) {
        return 0;
    }
    if (peer_recv_reply(peer, request, &ack, sizeof ack)) {
        return -1;
    }
    if (ack) {
        peer_error("back-end rejected %s (REPLY_ACK status %"PRIu64")",
                   peer_request_name(request), ack);
        return -1;
    }
    return 0;
}

static int
peer_set_u64(struct peer *peer, uint32_t request, uint64_t value)
{
    return peer_set(peer, request, &value, sizeof value, NULL, 0);
}

static int
peer_set_state(struct peer *peer, uint32_t request, unsigned int index,
               unsigned int num)
{
    struct vhu_vring_state state = { .index = index, .num = num };

    return peer_set(peer, request, &state, sizeof state, NULL, 0);
}

/* Decides whether to ask for feature 'bit', given the back-end's offer and
 * the user's switch 'sw'.  Returns 0 or -1 after printing an error when the
 * user requires a feature the back-end does not offer. */
static int
peer_want_feature(struct peer *peer, int bit, enum peer_switch sw,
                  const char *option, uint64_t *features)
{
    bool offered = (peer->offered & VHU_BIT(bit)) != 0;

    if (sw == PEER_ON && !offered) {
        peer_error("back-end does not offer %s (asked with %s=on)",
                   peer_feature_name(bit), option);
        return -1;
    }
    if (sw != PEER_OFF && offered) {
        *features |= VHU_BIT(bit);
    }
    return 0;
}

/* Adds to '*features' the feature bits 'bit0' and 'bit1' (one side of the
 * offloads) if the back-end offers both.  Returns 0, or -1 after printing
 * an error if it does not and 'required' says that they must be. */
static int
peer_want_offload_pair(struct peer *peer, int bit0, int bit1,
                       bool required, uint64_t *features)
{
    uint64_t bits = VHU_BIT(bit0) | VHU_BIT(bit1);

    if ((peer->offered & bits) == bits) {
        *features |= bits;
    } else if (required) {
        peer_error("back-end does not offer %s (asked with --tso=%s)",
                   peer_feature_name(peer->offered & VHU_BIT(bit0)
                                     ? bit1 : bit0),
                   peer->opts->tso == PEER_TSO_TX ? "tx" : "on");
        return -1;
    }
    return 0;
}

/* Adds to '*features' the offloads that --tso asks for: the transmit side
 * (CSUM, HOST_TSO4) and, but with --tso=tx, the receive side (GUEST_CSUM,
 * GUEST_TSO4), which needs mergeable receive buffers (already in
 * '*features' or not) since the peer's buffers are too small for 64 KB
 * frames otherwise.  Returns 0 or -1 after printing an error. */
static int
peer_choose_offloads(struct peer *peer, uint64_t *features)
{
    enum peer_tso tso = peer->opts->tso;
    bool required = tso != PEER_TSO_AUTO;

    if (tso == PEER_TSO_OFF) {
        return 0;
    }
    if (peer_want_offload_pair(peer, VHU_VIRTIO_NET_F_CSUM,
                               VHU_VIRTIO_NET_F_HOST_TSO4, required,
                               features)) {
        return -1;
    }
    if (tso == PEER_TSO_TX) {
        return 0;
    }
    if (!(*features & VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF))) {
        if (required) {
            peer_error("--tso=on needs VIRTIO_NET_F_MRG_RXBUF to receive "
                       "64 KB frames (see --mrg-rxbuf; --tso=tx offloads "
                       "the transmit side only)");
            return -1;
        }
        return 0;
    }
    return peer_want_offload_pair(peer, VHU_VIRTIO_NET_F_GUEST_CSUM,
                                  VHU_VIRTIO_NET_F_GUEST_TSO4, required,
                                  features);
}

/* Chooses the virtio features to acknowledge from the back-end's offer.
 * Returns 0 or -1 after printing an error. */
static int
peer_choose_features(struct peer *peer)
{
    const struct peer_options *opts = peer->opts;
    uint64_t features = 0;
    uint64_t plain = (VHU_BIT(VHU_VIRTIO_F_VERSION_1)
                      | VHU_BIT(VHU_F_PROTOCOL_FEATURES)
                      | VHU_BIT(VHU_VIRTIO_F_ANY_LAYOUT));

    features |= peer->offered & plain;
    if (peer_want_feature(peer, VHU_VIRTIO_NET_F_MRG_RXBUF, opts->mrg_rxbuf,
                          "--mrg-rxbuf", &features)
        || peer_want_feature(peer, VHU_VIRTIO_RING_F_EVENT_IDX,
                             opts->event_idx, "--event-idx", &features)
        || peer_want_feature(peer, VHU_VIRTIO_RING_F_INDIRECT_DESC,
                             opts->indirect == PEER_AUTO ? PEER_OFF
                             : opts->indirect, "--indirect", &features)
        || peer_choose_offloads(peer, &features)) {
        return -1;
    }
    if (opts->queues > 1) {
        if (peer_want_feature(peer, VHU_VIRTIO_NET_F_MQ, PEER_ON,
                              "--queues", &features)) {
            return -1;
        }
    }

    peer->features = features;
    peer->mrg_rxbuf = (features & VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF)) != 0;
    peer->tso_tx = (features & VHU_BIT(VHU_VIRTIO_NET_F_HOST_TSO4)) != 0;
    peer->tso_rx = (features & VHU_BIT(VHU_VIRTIO_NET_F_GUEST_TSO4)) != 0;
    peer->event_idx = ((features & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX))
                       != 0);
    peer->use_indirect = ((features
                           & VHU_BIT(VHU_VIRTIO_RING_F_INDIRECT_DESC)) != 0);
    peer->hdr_len = ((features & (VHU_BIT(VHU_VIRTIO_F_VERSION_1)
                                  | VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF)))
                     ? 12 : 10);
    return 0;
}

/* Protocol features that the replayed frontend asks for on top of
 * PEER_PROTOCOL_FEATURES. */
static uint64_t
peer_frontend_protocol(const struct peer *peer)
{
    switch (peer->opts->frontend) {
    case PEER_FE_QEMU_6_2:
    case PEER_FE_QEMU_8_0:
        return VHU_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    case PEER_FE_QEMU_8_1:
        return (VHU_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)
                | VHU_BIT(VHU_PROTOCOL_F_STATUS));
    case PEER_FE_CLOUD_HYPERVISOR:
        return (VHU_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)
                | VHU_BIT(VHU_PROTOCOL_F_CONFIG));
    case PEER_FE_CROSVM:
        return VHU_BIT(VHU_PROTOCOL_F_CONFIG);
    case PEER_FE_QEMU:
    default:
        return 0;
    }
}

/* Negotiates protocol features, when the back-end supports them.  Returns
 * 0 or -1 after printing an error. */
static int
peer_negotiate_protocol(struct peer *peer)
{
    uint64_t offered;

    if (!(peer->offered & VHU_BIT(VHU_F_PROTOCOL_FEATURES))) {
        return 0;
    }
    if (peer_get_u64(peer, VHU_REQ_GET_PROTOCOL_FEATURES, &offered)) {
        return -1;
    }
    peer->protocol_features = offered & (PEER_PROTOCOL_FEATURES
                                         | peer_frontend_protocol(peer));
    if (peer_set_u64(peer, VHU_REQ_SET_PROTOCOL_FEATURES,
                     peer->protocol_features)) {
        return -1;
    }
    peer->reply_ack = ((peer->protocol_features
                        & VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK)) != 0);
    peer_debug(peer->opts, "protocol features: offered 0x%"PRIx64", "
               "using 0x%"PRIx64, offered, peer->protocol_features);
    return 0;
}

/* Checks that the back-end has as many queue pairs as asked for.  Returns
 * 0 or -1 after printing an error. */
static int
peer_check_queue_num(struct peer *peer)
{
    unsigned int queues = peer->opts->queues;
    uint64_t max_queues = 1;

    if (peer->protocol_features & VHU_BIT(VHU_PROTOCOL_F_MQ)) {
        if (peer_get_u64(peer, VHU_REQ_GET_QUEUE_NUM, &max_queues)) {
            return -1;
        }
        if (peer->opts->frontend == PEER_FE_CLOUD_HYPERVISOR) {
            /* Cloud Hypervisor counts virtqueues. */
            max_queues /= 2;
        } else if (peer->opts->frontend == PEER_FE_CROSVM) {
            /* So does crosvm, and one of them is the control queue. */
            max_queues = max_queues ? (max_queues - 1) / 2 : 0;
        }
    }
    if (queues > max_queues) {
        peer_error("back-end supports %"PRIu64" queue pair(s), %u asked "
                   "with --queues", max_queues, queues);
        return -1;
    }
    return 0;
}

/* Sends the memory table: the whole memfd as one region, guest physical
 * address 0.  Returns 0 or -1 after printing an error. */
static int
peer_send_mem_table(struct peer *peer)
{
    struct vhu_mem_table table = {
        .nregions = 1,
        .regions[0] = {
            .guest_phys_addr = 0,
            .memory_size = peer->mem_size,
            .userspace_addr = (uintptr_t) peer->mem,
            .mmap_offset = 0,
        },
    };
    uint32_t size = (offsetof(struct vhu_mem_table, regions)
                     + sizeof table.regions[0]);

    return peer_set(peer, VHU_REQ_SET_MEM_TABLE, &table, size,
                    &peer->memfd, 1);
}

/* Sends the memory region with ADD_MEM_REG, as QEMU does when
 * CONFIGURE_MEM_SLOTS is negotiated.  Returns 0 or -1 after printing an
 * error. */
static int
peer_add_mem_reg(struct peer *peer)
{
    struct vhu_mem_single single = {
        .region = {
            .guest_phys_addr = 0,
            .memory_size = peer->mem_size,
            .userspace_addr = (uintptr_t) peer->mem,
            .mmap_offset = 0,
        },
    };

    return peer_set(peer, VHU_REQ_ADD_MEM_REG, &single, sizeof single,
                    &peer->memfd, 1);
}

/* Sends the memory table the way the replayed frontend does. */
static int
peer_send_memory(struct peer *peer)
{
    if (peer->opts->frontend != PEER_FE_CLOUD_HYPERVISOR
        && peer->protocol_features
           & VHU_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
        return peer_add_mem_reg(peer);
    }
    return peer_send_mem_table(peer);
}

/* Sends SET_VRING_KICK or SET_VRING_CALL for 'vr' with 'fd', or with the
 * "no fd" flag when 'fd' is -1 (the ring is polled). */
static int
peer_send_vring_fd(struct peer *peer, uint32_t request,
                   const struct peer_vring *vr, int fd)
{
    uint64_t value = vr->index;

    if (fd < 0) {
        value |= VHU_VRING_NOFD_MASK;
    }
    return peer_set(peer, request, &value, sizeof value, &fd, fd < 0 ? 0 : 1);
}

/* Hands vring 'vr' to the back-end: size, base, addresses, eventfds.
 * Returns 0 or -1 after printing an error. */
static int
peer_setup_vring(struct peer *peer, struct peer_vring *vr, bool send_num)
{
    struct vhu_vring_addr addr = {
        .index = vr->index,
        .flags = 0,
        .desc = (uintptr_t) vr->desc,
        .used = (uintptr_t) vr->used,
        .avail = (uintptr_t) vr->avail,
        .log = 0,
    };

    if (peer->opts->notify && vr->kick_fd < 0) {
        vr->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        vr->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (vr->kick_fd < 0 || vr->call_fd < 0) {
            peer_error("eventfd: %s", strerror(errno));
            return -1;
        }
    }

    if (peer->opts->frontend == PEER_FE_CLOUD_HYPERVISOR) {
        /* Its order: addresses, base, call, kick. */
        return ((send_num && peer_set_state(peer, VHU_REQ_SET_VRING_NUM,
                                            vr->index, vr->size))
                || peer_set(peer, VHU_REQ_SET_VRING_ADDR, &addr,
                            sizeof addr, NULL, 0)
                || peer_set_state(peer, VHU_REQ_SET_VRING_BASE, vr->index, 0)
                || peer_send_vring_fd(peer, VHU_REQ_SET_VRING_CALL, vr,
                                      vr->call_fd)
                || peer_send_vring_fd(peer, VHU_REQ_SET_VRING_KICK, vr,
                                      vr->kick_fd));
    }
    return ((send_num && peer_set_state(peer, VHU_REQ_SET_VRING_NUM,
                                        vr->index, vr->size))
            || peer_set_state(peer, VHU_REQ_SET_VRING_BASE, vr->index, 0)
            || peer_set(peer, VHU_REQ_SET_VRING_ADDR, &addr, sizeof addr,
                        NULL, 0)
            || peer_send_vring_fd(peer, VHU_REQ_SET_VRING_KICK, vr,
                                  vr->kick_fd)
            || peer_send_vring_fd(peer, VHU_REQ_SET_VRING_CALL, vr,
                                  vr->call_fd));
}

/* True if the peer replays QEMU 8.1's device status and the back-end
 * takes it. */
static bool
peer_uses_status(const struct peer *peer)
{
    return (peer->opts->frontend == PEER_FE_QEMU_8_1
            && peer->protocol_features & VHU_BIT(VHU_PROTOCOL_F_STATUS));
}

/* Adds 'bits' to the device status as QEMU 8.1 does (GET_STATUS, then
 * SET_STATUS if a bit is missing).  Returns 0 or -1 after printing an
 * error. */
static int
peer_add_status(struct peer *peer, uint8_t bits)
{
    uint64_t status;

    if (!peer_uses_status(peer)) {
        return 0;
    }
    if (peer_get_u64(peer, VHU_REQ_GET_STATUS, &status)) {
        return -1;
    }
    if ((status & bits) == bits) {
        return 0;
    }
    return peer_set_u64(peer, VHU_REQ_SET_STATUS, status | bits);
}

/* Returns the vring with index 'i' (2 * queue, + 1 for transmit). */
static struct peer_vring *
peer_vring(struct peer *peer, unsigned int i)
{
    struct peer_queue *q = &peer->queues[i / 2];

    return i % 2 ? &q->tx : &q->rx;
}

/* Runs the start-up sequence of the frontend that opts->frontend names;
 * QEMU's by default: features, protocol features, owner, queue count, then
 * for each queue pair its features, (the first's) memory table and its two
 * vrings, then enables the vrings.  Returns 0 or -1 after printing an
 * error. */
static int peer_start_cloud_hypervisor(struct peer *);
static int peer_start_crosvm(struct peer *);

int
peer_start(struct peer *peer)
{
    const struct peer_options *opts = peer->opts;
    unsigned int n_vrings;
    uint64_t sync;

    if (opts->frontend == PEER_FE_CLOUD_HYPERVISOR) {
        if (peer_start_cloud_hypervisor(peer)) {
            return -1;
        }
    } else if (opts->frontend == PEER_FE_CROSVM) {
        if (peer_start_crosvm(peer)) {
            return -1;
        }
    } else {
        /* QEMU: one vhost_dev per queue pair, each with its features, the
         * first (only, since 8.0) with the memory table. */
        uint64_t slots;

        if (peer_get_u64(peer, VHU_REQ_GET_FEATURES, &peer->offered)
            || peer_negotiate_protocol(peer)
            || peer_set(peer, VHU_REQ_SET_OWNER, NULL, 0, NULL, 0)
            || ((peer->protocol_features
                 & VHU_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
                && peer_get_u64(peer, VHU_REQ_GET_MAX_MEM_SLOTS, &slots))
            || peer_check_queue_num(peer)
            || peer_choose_features(peer)
            || peer_mem_init(peer)) {
            return -1;
        }
        for (unsigned int qp = 0; qp < peer->n_queues; qp++) {
            if (peer_set_u64(peer, VHU_REQ_SET_FEATURES, peer->features)
                || peer_add_status(peer, VHU_STATUS_FEATURES_OK)
                || ((qp == 0 || opts->frontend == PEER_FE_QEMU_6_2)
                    && peer_send_memory(peer))
                || peer_setup_vring(peer, peer_vring(peer, 2 * qp), true)
                || peer_setup_vring(peer, peer_vring(peer, 2 * qp + 1),
                                    true)) {
                return -1;
            }
        }
        /* The last pair's vhost_dev starts the device, before vhost_net
         * enables the rings. */
        if (peer_add_status(peer, VHU_STATUS_ACKNOWLEDGE | VHU_STATUS_DRIVER
                            | VHU_STATUS_DRIVER_OK)) {
            return -1;
        }
    }
    peer_debug(opts, "features: offered 0x%"PRIx64", using 0x%"PRIx64,
               peer->offered, peer->features);
    peer->running = true;
    peer->n_active = peer->n_queues;
    n_vrings = 2 * peer->n_queues;

    if (peer->features & VHU_BIT(VHU_F_PROTOCOL_FEATURES)
        && opts->frontend != PEER_FE_CROSVM) {
        unsigned int n_enable = n_vrings;

        if (opts->enable_queues && opts->enable_queues < peer->n_queues) {
            n_enable = 2 * opts->enable_queues;
            peer->n_active = opts->enable_queues;
        }

        for (unsigned int i = 0; i < n_enable; i++) {
            if (peer_set_state(peer, VHU_REQ_SET_VRING_ENABLE, i, 1)) {
                return -1;
            }
        }
    }
    if (opts->mtu && peer_send_mtu(peer, opts->mtu)) {
        return -1;
    }
    if (opts->announce && peer_send_rarp(peer)) {
        return -1;
    }

    /* A round trip, so that the back-end has finished acting on the
     * messages above (DPDK, for one, starts the device after replying to
     * the last of them) before we report that we are ready. */
    if (peer_get_u64(peer, VHU_REQ_GET_FEATURES, &sync)) {
        return -1;
    }

    char tso[32] = "";
    if (opts->tso != PEER_TSO_OFF) {
        snprintf(tso, sizeof tso, ", tso tx %s rx %s",
                 peer->tso_tx ? "on" : "off", peer->tso_rx ? "on" : "off");
    }
    peer_info(opts, "ready: %u queue pair(s), ring size %u, features "
              "0x%"PRIx64" (mrg_rxbuf %s, event_idx %s, indirect %s), "
              "protocol features 0x%"PRIx64", %s%s",
              peer->n_queues, opts->ring_size, peer->features,
              peer->mrg_rxbuf ? "on" : "off",
              peer->event_idx ? "on" : "off",
              peer->use_indirect ? "on" : "off",
              peer->protocol_features,
              opts->notify ? "kick/call eventfds" : "polling", tso);
    return 0;
}

/* Reads the back-end's whole virtio-net configuration space (GET_CONFIG)
 * into '*net'.  Returns 0 or -1 after printing an error. */
static int
peer_get_config(struct peer *peer, struct vhu_net_config *net)
{
    struct vhu_config config = { .offset = 0, .size = sizeof *net };

    if (peer_send_msg(peer, VHU_REQ_GET_CONFIG, 0, &config,
                      VHU_CONFIG_HDR_SIZE + config.size, NULL, 0)
        || peer_recv_reply(peer, VHU_REQ_GET_CONFIG, &config,
                           VHU_CONFIG_HDR_SIZE + config.size)) {
        return -1;
    }
    memcpy(net, config.data, sizeof *net);
    return 0;
}

/* Cloud Hypervisor's order: owner, features, protocol features, queue
 * number, configuration, features acked (CTRL_VQ kept: it serves the
 * control queue itself), memory table, every ring's size, then each ring.
 * Returns 0 or -1 after printing an error. */
static int
peer_start_cloud_hypervisor(struct peer *peer)
{
    if (peer_set(peer, VHU_REQ_SET_OWNER, NULL, 0, NULL, 0)
        || peer_get_u64(peer, VHU_REQ_GET_FEATURES, &peer->offered)
        || peer_negotiate_protocol(peer)
        || peer_check_queue_num(peer)) {
        return -1;
    }
    if (peer->protocol_features & VHU_BIT(VHU_PROTOCOL_F_CONFIG)) {
        struct vhu_net_config net;

        if (peer_get_config(peer, &net)) {
            return -1;
        }
    }
    if (peer_choose_features(peer)) {
        return -1;
    }
    peer->features |= peer->offered & (VHU_BIT(VHU_VIRTIO_NET_F_CTRL_VQ)
                                       | VHU_BIT(VHU_VIRTIO_NET_F_MQ));
    if (peer_set_u64(peer, VHU_REQ_SET_FEATURES, peer->features)
        || peer_mem_init(peer)
        || peer_send_memory(peer)) {
        return -1;
    }
    for (unsigned int i = 0; i < 2 * peer->n_queues; i++) {
        struct peer_vring *vr = peer_vring(peer, i);

        if (peer_set_state(peer, VHU_REQ_SET_VRING_NUM, vr->index,
                           vr->size)) {
            return -1;
        }
    }
    for (unsigned int i = 0; i < 2 * peer->n_queues; i++) {
        if (peer_setup_vring(peer, peer_vring(peer, i), false)) {
            return -1;
        }
    }
    return 0;
}

/* Reads max_virtqueue_pairs from the back-end's configuration space into
 * peer->config_pairs.  Returns 0 or -1 after printing an error. */
static int
peer_get_config_pairs(struct peer *peer)
{
    struct vhu_net_config net;

    if (!(peer->protocol_features & VHU_BIT(VHU_PROTOCOL_F_CONFIG))) {
        peer_error("the back-end has no configuration space (CONFIG)");
        return -1;
    }
    if (peer_get_config(peer, &net)) {
        return -1;
    }
    peer->config_pairs = net.max_virtqueue_pairs;
    if (!peer->config_pairs || peer->opts->queues > peer->config_pairs) {
        peer_error("the back-end's configuration space announces %u queue "
                   "pair(s), %u asked with --queues", peer->config_pairs,
                   peer->opts->queues);
        return -1;
    }
    return 0;
}

/* Sends one command on the control queue, as Linux's virtio_net does
 * (class and command with their data in one device-readable descriptor,
 * the ack in a device-writable one), kicks, and waits for the answer.
 * Returns the ack, or -1 after printing an error. */
static int
peer_ctrl_command(struct peer *peer, uint8_t class, uint8_t command,
                  const void *data, size_t len)
{
    struct peer_vring *vr = &peer->ctrl;
    uint16_t head = (uint16_t) (2 * vr->avail_idx) % vr->size;
    uint8_t *buf = vr->bufs + (size_t) head * vr->buf_size;
    volatile uint8_t *ack = buf + PEER_CTRL_ACK_OFS;
    uint64_t one = 1;
    double deadline;

    buf[0] = class;
    buf[1] = command;
    memcpy(buf + 2, data, len);
    *ack = 0xff;
    vr->desc[head] = (struct vring_desc) {
        .addr = peer_gpa(peer, buf), .len = 2 + len,
        .flags = VRING_DESC_F_NEXT, .next = head + 1,
    };
    vr->desc[head + 1] = (struct vring_desc) {
        .addr = peer_gpa(peer, (const uint8_t *) ack), .len = 1,
        .flags = VRING_DESC_F_WRITE,
    };
    vr->avail->ring[vr->avail_idx % vr->size] = head;
    vr->avail_idx++;
    atomic_thread_fence(memory_order_release);
    vr->avail->idx = vr->avail_idx;
    atomic_thread_fence(memory_order_seq_cst);
    if (write(vr->kick_fd, &one, sizeof one) != sizeof one) {
        peer_error("control queue kick: %s", strerror(errno));
        return -1;
    }

    deadline = peer_now() + 10;
    while (*(volatile uint16_t *) &vr->used->idx != vr->avail_idx) {
        if (peer_now() > deadline) {
            peer_error("control command %u/%u not answered in 10 s",
                       class, command);
            return -1;
        }
        usleep(1000);
    }
    atomic_thread_fence(memory_order_acquire);
    return *ack;
}

/* crosvm's order (its generic vhost-user frontend passes the device
 * through): owner, features, protocol features, queue number (virtqueues),
 * the configuration space, features acked as offered (CTRL_VQ, MQ), memory
 * table, then each ring in index order, the control queue last at
 * 2 * max_virtqueue_pairs, each enabled as it is set up; then the driver
 * asks for its queue pairs on the control queue.  Returns 0 or -1 after
 * printing an error. */
static int
peer_start_crosvm(struct peer *peer)
{
    unsigned int pairs = peer->opts->queues;
    uint8_t data[2];
    int ack;

    if (peer_set(peer, VHU_REQ_SET_OWNER, NULL, 0, NULL, 0)
        || peer_get_u64(peer, VHU_REQ_GET_FEATURES, &peer->offered)
        || peer_negotiate_protocol(peer)
        || peer_check_queue_num(peer)
        || peer_get_config_pairs(peer)
        || peer_choose_features(peer)) {
        return -1;
    }
    if (!(peer->offered & VHU_BIT(VHU_VIRTIO_NET_F_CTRL_VQ))) {
        peer_error("the back-end does not offer VIRTIO_NET_F_CTRL_VQ");
        return -1;
    }
    peer->features |= peer->offered & (VHU_BIT(VHU_VIRTIO_NET_F_CTRL_VQ)
                                       | VHU_BIT(VHU_VIRTIO_NET_F_MQ)
                                       | VHU_BIT(VHU_VIRTIO_NET_F_STATUS));
    if (peer_set_u64(peer, VHU_REQ_SET_FEATURES, peer->features)
        || peer_mem_init(peer)
        || peer_send_mem_table(peer)) {
        return -1;
    }
    for (unsigned int i = 0; i <= 2 * peer->n_queues; i++) {
        struct peer_vring *vr = (i < 2 * peer->n_queues ? peer_vring(peer, i)
                                 : &peer->ctrl);

        if (peer_setup_vring(peer, vr, true)
            || ((peer->features & VHU_BIT(VHU_F_PROTOCOL_FEATURES))
                && peer_set_state(peer, VHU_REQ_SET_VRING_ENABLE,
                                  vr->index, 1))) {
            return -1;
        }
    }

    data[0] = pairs & 0xff;
    data[1] = pairs >> 8;
    ack = peer_ctrl_command(peer, VHU_NET_CTRL_MQ,
                            VHU_NET_CTRL_MQ_VQ_PAIRS_SET, data, sizeof data);
    if (ack) {
        if (ack > 0) {
            peer_error("VQ_PAIRS_SET %u refused on the control queue (ack "
                       "%d)", pairs, ack);
        }
        return -1;
    }
    peer_debug(peer->opts, "control queue at %u: %u queue pair(s) set",
               peer->ctrl.index, pairs);
    return 0;
}

/* Tells the back-end the guest's MTU, as QEMU does for host_mtu.  Returns 0
 * or -1 after printing an error (the back-end refused it). */
static int
peer_send_mtu(struct peer *peer, unsigned int mtu)
{
    if (!(peer->protocol_features & VHU_BIT(VHU_PROTOCOL_F_NET_MTU))) {
        peer_error("--mtu: the back-end does not offer "
                   "VHOST_USER_PROTOCOL_F_NET_MTU");
        return -1;
    }
    return peer_set_u64(peer, VHU_REQ_NET_SET_MTU, mtu);
}

/* Asks the back-end to announce the guest's MAC, as QEMU does after a
 * migration.  Returns 0 or -1 after printing an error. */
static int
peer_send_rarp(struct peer *peer)
{
    uint64_t mac = 0;

    if (!(peer->protocol_features & VHU_BIT(VHU_PROTOCOL_F_RARP))) {
        peer_error("--announce: the back-end does not offer "
                   "VHOST_USER_PROTOCOL_F_RARP");
        return -1;
    }
    memcpy(&mac, peer->opts->mac, 6);
    return peer_set_u64(peer, VHU_REQ_SEND_RARP, mac);
}

/* Stops the device the way QEMU does: GET_VRING_BASE on each vring, which
 * makes the back-end stop using it.  Errors are reported as warnings only:
 * the command's result is already known. */
void
peer_stop_device(struct peer *peer)
{
    if (!peer->running) {
        return;
    }
    peer->running = false;

    for (unsigned int i = 0; i < 2 * peer->n_queues; i++) {
        struct vhu_vring_state state = { .index = i };

        if (peer_send_msg(peer, VHU_REQ_GET_VRING_BASE, 0, &state,
                          sizeof state, NULL, 0)
            || peer_recv_reply(peer, VHU_REQ_GET_VRING_BASE, &state,
                               sizeof state)) {
            return;
        }
        peer_debug(peer->opts, "vring %u stopped at %u", i, state.num);
    }
    if (peer_uses_status(peer)) {
        peer_set_u64(peer, VHU_REQ_SET_STATUS, 0);
    }
}

/* Closes everything peer_connect() and peer_start() opened. */
void
peer_close(struct peer *peer)
{
    if (peer->sock >= 0) {
        close(peer->sock);
        peer->sock = -1;
    }
    if (peer->listen_fd >= 0) {
        close(peer->listen_fd);
        peer->listen_fd = -1;
        unlink(peer->opts->socket_path);
    }
    peer_mem_destroy(peer);
}

/* Checks, without blocking, that the back-end is still connected.  The
 * back-end sends nothing on this channel while the device runs, so
 * anything readable means it went away (or misbehaves).  Returns 0 or -1
 * after printing an error. */
int
peer_check_backend(struct peer *peer)
{
    struct pollfd pfd = { .fd = peer->sock, .events = POLLIN };

    if (poll(&pfd, 1, 0) <= 0) {
        return 0;
    }

    uint8_t buf[256];
    ssize_t n = recv(peer->sock, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        peer_error("back-end closed the connection");
        peer->running = false;
        return -1;
    }
    if (n > 0) {
        peer_info(peer->opts, "ignoring %zd unexpected bytes from the "
                  "back-end", n);
    }
    return 0;
}
