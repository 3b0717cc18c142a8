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

#ifndef VHOST_ENGINE_H
#define VHOST_ENGINE_H 1

/* The vhost-user net device engine: the back-end side of one vhost-user
 * connection, with no knowledge of Open vSwitch.
 *
 * Threads and ownership
 * =====================
 *
 * The caller owns the socket and the event loop.  One "control" thread at a
 * time calls the control functions (everything except the data-path
 * functions below): it feeds bytes and fds received from the frontend with
 * vhu_device_input() and sends what vhu_device_output() returns.
 *
 * Data-path threads call vhu_dequeue_burst() and vhu_enqueue_burst(), at
 * most one thread per virtqueue at a time (the caller serializes if it
 * shares a queue between threads).  They never block and make no syscall
 * per packet; they write the guest's call eventfd at most once per burst.
 *
 * When the control side must take something away from the data path (stop
 * a ring for GET_VRING_BASE, replace or drop the memory table, reset or
 * disconnect), the engine first unpublishes it, then reports
 * vhu_device_wants_grace().  The caller makes sure that every data-path
 * thread has finished any burst it started before that point (in OVS, an
 * RCU grace period: PMD threads quiesce between bursts) and then calls
 * vhu_device_grace_done(), which releases what was retired (unmaps memory,
 * closes fds) and sends the deferred reply (GET_VRING_BASE).  Until then the
 * engine buffers further input without handling it, so replies stay in
 * order; nothing blocks.
 *
 * Hostile input
 * =============
 *
 * Everything from the frontend is validated before use.  A violation of the
 * protocol logs one line through the log hook and marks the device broken
 * (vhu_device_is_broken()): the caller should then close the connection and
 * call vhu_device_disconnect().  A violation inside a virtqueue (bad
 * descriptor, bad index) stops that queue and counts an error; other queues
 * and devices go on.
 *
 * Guest memory that disappears
 * ============================
 *
 * A frontend may shrink the file behind memory it shared: the next access
 * raises SIGBUS.  The caller's SIGBUS handler passes the faulting address
 * to vhu_fault_recover(), which makes the access complete (on zeroes) if
 * the address is in frontend memory; the control thread, woken through
 * vhu_fault_fd(), calls vhu_device_check_faults() on its devices, which
 * breaks the one whose memory it was. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vhost-user-protocol.h"

/* Queue pairs (one rx and one tx virtqueue each) a device may have, and
 * the engine's virtqueues: 2 * N for pair N's guest receive queue, 2 * N + 1
 * for its transmit queue, and VHU_CTRL_VRING for the control queue (which
 * the frontend numbers as the virtio spec says: 2 * max_virtqueue_pairs
 * with VIRTIO_NET_F_MQ, 2 without). */
#define VHU_MAX_QUEUE_PAIRS 128
#define VHU_CTRL_VRING (2 * VHU_MAX_QUEUE_PAIRS)
#define VHU_MAX_VRINGS (VHU_CTRL_VRING + 1)

/* Largest virtqueue size the engine accepts (the virtio spec's limit for a
 * split ring). */
#define VHU_MAX_RING_SIZE 32768

/* Memory regions a device may have at once (ADD_MEM_REG may go beyond the
 * 8 that one SET_MEM_TABLE carries). */
#define VHU_MAX_MEM_REGIONS 32

/* Largest frame, without virtio-net header, the engine moves in either
 * direction. */
#define VHU_MAX_FRAME_LEN 65535

/* Log hook. */
enum vhu_log_level {
    VHU_LOG_ERR,
    VHU_LOG_WARN,
    VHU_LOG_INFO,
    VHU_LOG_DBG,
};
typedef void vhu_log_fn(enum vhu_log_level, const char *format, va_list);

/* Sets the function that receives the engine's log lines (each already
 * prefixed with the device's name).  The default writes errors and warnings
 * to stderr.  Not thread-safe: call once at start-up. */
void vhu_set_log_hook(vhu_log_fn *);

/* Device creation. */
struct vhu_device_options {
    const char *name;            /* For log lines; copied. */
    uint64_t features_disabled;  /* Virtio feature bits never to offer. */
    uint64_t protocol_features_disabled;  /* Protocol features ditto. */
    unsigned int max_queue_pairs;         /* 1..VHU_MAX_QUEUE_PAIRS. */
    uint32_t min_mtu, max_mtu;   /* NET_SET_MTU outside these is refused. */

    /* False (the default) for a caller that polls the rings, as PMD threads
     * do: the engine asks the guest not to kick (VRING_USED_F_NO_NOTIFY, or
     * with EVENT_IDX an avail_event it never moves), which saves the guest
     * a system call per burst.  True for a caller that sleeps on the kick
     * fds. */
    bool want_kicks;

    /* True to offer checksum and TCP segmentation offloads both ways
     * (see "Offloads" below). */
    bool net_offloads;
};

struct vhu_device;

/* Returns 'features' (virtio-net feature bits) without those whose
 * requirements (virtio 1.x 5.1.3.1) are missing from it: what the engine
 * offers is always such a set. */
uint64_t vhu_net_features_consistent(uint64_t features);

/* Returns a new device with no connection.  The caller frees it with
 * vhu_device_destroy(). */
struct vhu_device *vhu_device_create(const struct vhu_device_options *);

/* Releases everything the device holds (memory maps, fds).  The caller must
 * make sure no data-path thread uses the device any more. */
void vhu_device_destroy(struct vhu_device *);

/* Control: connection bytes and fds. */

/* Feeds 'n' bytes read from the connection and the 'n_fds' fds received
 * with them (SCM_RIGHTS).  The engine takes ownership of the fds and closes
 * each one on every path.  Handles every complete message it can; keeps the
 * rest for later calls.  Returns 0 normally, or a positive errno value if
 * the device is broken (the connection should be closed). */
int vhu_device_input(struct vhu_device *, const void *data, size_t n,
                     const int *fds, size_t n_fds);

/* Returns the bytes of replies waiting to be sent, storing their number in
 * '*n' (0 if none).  After sending some of them, the caller reports how
 * many with vhu_device_output_done().  The caller should not feed more
 * input while replies wait (a frontend that does not read them must not
 * make the switch read on): past 64 KB of unsent replies the device
 * breaks. */
const void *vhu_device_output(const struct vhu_device *, size_t *n);
void vhu_device_output_done(struct vhu_device *, size_t n);

/* The connection ended (EOF, error, or the caller closes it because the
 * device broke): stops every ring and retires the memory table and fds (see
 * vhu_device_wants_grace()).  The device can then serve a new connection.
 * Ring positions (last_avail_idx) are kept, so a frontend that reconnects
 * and does not send SET_VRING_BASE resumes where it left off. */
void vhu_device_disconnect(struct vhu_device *);

/* True if the frontend violated the protocol; see "Hostile input" above. */
bool vhu_device_is_broken(const struct vhu_device *);

/* Guest memory faults; see "Guest memory that disappears" above.
 *
 * vhu_fault_recover() is async-signal-safe: call it from a SIGBUS handler
 * with the faulting address (siginfo's si_addr).  If it returns false, the
 * fault is not in frontend memory and is the caller's to handle.
 *
 * vhu_fault_fd() becomes readable when a fault was recovered (-1 if it
 * could not be created; then poll vhu_fault_count()); vhu_fault_clear()
 * makes it unreadable again.  vhu_device_check_faults() logs and breaks the
 * device if its memory faulted, and returns true if it did just now. */
bool vhu_fault_recover(const void *addr);
int vhu_fault_fd(void);
void vhu_fault_clear(void);
uint64_t vhu_fault_count(void);
bool vhu_device_check_faults(struct vhu_device *);

/* Grace periods; see "Threads and ownership" above. */
bool vhu_device_wants_grace(const struct vhu_device *);
void vhu_device_grace_done(struct vhu_device *);

/* Control: state for the caller.
 *
 * These queries (but vhu_device_take_rarp(), the control thread's) may be
 * called from any thread: they read a copy of the control thread's state
 * that it publishes, under a mutex, at the end of each of its calls into
 * the engine (vhu_device_input(), vhu_device_grace_done(), ...), and the
 * data path's own state from its atomics; never the fields the control
 * thread is changing. */

/* A number that changes whenever something the caller may want to react to
 * changes: features, number of queues, a ring started, stopped, enabled or
 * disabled, MTU, status, connection. */
uint64_t vhu_device_change_seq(const struct vhu_device *);

uint64_t vhu_device_features(const struct vhu_device *);   /* Negotiated. */
uint64_t vhu_device_protocol_features(const struct vhu_device *);

/* Queue pairs the frontend has set up (rings with an address), 0 if none. */
unsigned int vhu_device_n_queue_pairs(const struct vhu_device *);

/* True while the frontend's driver is running (DRIVER_OK via SET_STATUS
 * when negotiated, otherwise when at least one queue pair is started). */
bool vhu_device_is_running(const struct vhu_device *);

/* True while the frontend has dirty logging on (LOG_ALL negotiated and a
 * log from SET_LOG_BASE): live migration is in progress. */
bool vhu_device_is_logging(const struct vhu_device *);

/* MTU set by NET_SET_MTU, or 0 if none. */
uint32_t vhu_device_mtu(const struct vhu_device *);

/* The NUMA node of the guest's memory, or -1 if unknown: the node of the
 * page that holds the descriptor table of the first queue pair's transmit
 * ring (the ring the data path polls), learned whenever that ring is
 * published (a new memory table, a restart), as DPDK's back-end learns
 * it.  vhu_set_numa_probe() replaces the probe, which returns the node of
 * the page at an address (get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR)), for
 * tests; NULL restores it. */
int vhu_device_numa_node(const struct vhu_device *);
typedef int vhu_numa_probe_fn(const void *addr);
void vhu_set_numa_probe(vhu_numa_probe_fn *);

/* The control virtqueue
 * =====================
 *
 * The engine offers VIRTIO_NET_F_CTRL_VQ, which MQ and GUEST_ANNOUNCE
 * require.  QEMU keeps the control queue to itself and enables queue pairs
 * with SET_VRING_ENABLE; frontends that pass the back-end's features to
 * the guest (crosvm, Cloud Hypervisor's generic device) hand the queue to
 * the back-end.  Once the frontend starts it, the control thread serves it:
 * it waits for vhu_device_ctrl_kick_fd() to become readable and then calls
 * vhu_device_run_ctrl().  The engine answers VIRTIO_NET_CTRL_MQ
 * VQ_PAIRS_SET (until the first one, only the first queue pair runs, as the
 * spec says) and VIRTIO_NET_CTRL_ANNOUNCE ACK, and VIRTIO_NET_ERR to every
 * command of a feature it does not offer. */

/* The kick fd of the running control queue, or -1 (control thread). */
int vhu_device_ctrl_kick_fd(const struct vhu_device *);

/* Consumes the control queue's kick, if any, and answers the commands the
 * driver made available (control thread).  Cheap when there are none.
 * Returns true if commands remain (it answers a bounded number per call):
 * call it again soon.  A command that must wait for a grace period is
 * answered by vhu_device_grace_done(). */
bool vhu_device_run_ctrl(struct vhu_device *);

/* Sets the MTU that the configuration space announces (GET_CONFIG) when
 * the frontend did not set one with NET_SET_MTU: the largest the driver
 * may use (default 1500).  Any thread. */
void vhu_device_set_config_mtu(struct vhu_device *, uint16_t mtu);

/* Queue pairs the driver asked for with VQ_PAIRS_SET on the control queue
 * the back-end serves, or 0 if it does not serve one (then SET_VRING_ENABLE
 * alone says which pairs run). */
unsigned int vhu_device_ctrl_pairs(const struct vhu_device *);

/* If the frontend asked, with SEND_RARP, that we announce the guest's MAC
 * and that has not been taken yet, stores it in 'mac' and returns true. */
bool vhu_device_take_rarp(struct vhu_device *, uint8_t mac[6]);

/* Per-virtqueue state, for status and diagnostics.  Vring 2*N is the
 * guest's receive queue of pair N (we enqueue), 2*N+1 its transmit queue
 * (we dequeue). */
struct vhu_vring_info {
    bool configured;            /* Has size and addresses. */
    bool started;               /* Kick fd (or NOFD) received, not stopped. */
    bool enabled;               /* SET_VRING_ENABLE, or implied, and
                                 * within the pairs VQ_PAIRS_SET left. */
    bool broken;                /* Stopped on an invalid descriptor. */
    uint16_t size;
    uint16_t last_avail_idx;
    uint16_t last_used_idx;
    uint16_t avail_idx;         /* In guest memory (while started; before,
                                 * as last read). */
    uint16_t used_idx;
    int kick_fd, call_fd;       /* -1 if none. */
    bool log_used;              /* VHU_VRING_F_LOG. */
    bool packed;                /* A packed ring: the indexes are positions
                                 * in the ring (avail_idx counts on by the
                                 * descriptors available), */
    bool wrap;                  /* and this is the wrap counter. */
};
void vhu_device_vring_info(const struct vhu_device *, unsigned int vring,
                           struct vhu_vring_info *);

/* Counters; each is only written by the thread that runs that virtqueue's
 * data path, and may be read by any thread at any time. */
struct vhu_vring_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t dropped;           /* No room in the guest's buffers. */
    uint64_t errors;            /* Invalid descriptors, oversized chains. */
    uint64_t notifications;     /* Call eventfd writes. */
    uint64_t logged;            /* Buffers used while dirty logging. */
    uint64_t bad_offloads;      /* Frames dropped for their virtio-net
                                 * header's offload fields. */
};
void vhu_device_vring_stats(const struct vhu_device *, unsigned int vring,
                            struct vhu_vring_stats *);

/* Data path. */

/* True if queue pair 'qp' can move packets in that direction now: its ring
 * is started and enabled, with memory mapped.  Cheap; for pollers. */
bool vhu_rx_ready(const struct vhu_device *, unsigned int qp);  /* Guest TX. */
bool vhu_tx_ready(const struct vhu_device *, unsigned int qp);  /* Guest RX. */

/* Sleeping between bursts.
 *
 * A data-path thread that polls a device created with 'want_kicks' false
 * may still sleep while the guest sends nothing: before it sleeps it calls
 * vhu_rx_arm() on each queue pair it polls, which asks the guest to kick
 * (clears VRING_USED_F_NO_NOTIFY, or with EVENT_IDX sets avail_event) and
 * then checks the ring once more, so that a frame made available just
 * before is not left waiting for a kick that will never come:
 *
 *   VHU_RX_ARMED: nothing available; '*kick_fd' is the ring's kick eventfd,
 *     to wait on.  After waking, the thread calls vhu_rx_disarm() and, if
 *     the fd became readable, drains it, but only if vhu_rx_kick_fd() still
 *     returns it (while the thread slept, a grace period may have retired
 *     the fd and its number may have been reused).
 *   VHU_RX_ARM_PENDING: frames are available: poll, do not sleep.
 *   VHU_RX_ARM_NOT_LIVE: the ring is not live: nothing to wait for (the
 *     device's change seq moves when it becomes live).
 *   VHU_RX_ARM_NO_KICK: live, but its kick fd is not an eventfd (or there is
 *     none, VHOST_USER_VRING_NOFD): the thread must poll it.
 *
 * Only the thread that polls the queue pair calls these. */
enum vhu_rx_arm {
    VHU_RX_ARMED,
    VHU_RX_ARM_PENDING,
    VHU_RX_ARM_NOT_LIVE,
    VHU_RX_ARM_NO_KICK,
};
enum vhu_rx_arm vhu_rx_arm(struct vhu_device *, unsigned int qp,
                           int *kick_fd);
void vhu_rx_disarm(struct vhu_device *, unsigned int qp);

/* The kick eventfd of queue pair 'qp''s guest transmit ring if it is live,
 * otherwise -1. */
int vhu_rx_kick_fd(const struct vhu_device *, unsigned int qp);

/* True if the guest made frames available on queue pair 'qp' that were not
 * dequeued yet (after a sleep that no kick ended: a missed kick). */
bool vhu_rx_pending(const struct vhu_device *, unsigned int qp);

/* Allocation callback for vhu_dequeue_burst(): returns the caller's handle
 * for a new packet of 'len' bytes and stores in '*data' where to put them,
 * or returns NULL if no packet can be had now (the frame stays in the ring
 * for a later burst). */
typedef void *vhu_alloc_fn(void *aux, uint32_t len, void **data);

/* Frees a packet from vhu_alloc_fn that the engine could not fill (the
 * guest changed its chain while the frame was being copied). */
typedef void vhu_free_fn(void *aux, void *pkt);

/* Dequeues up to 'max' frames that the guest transmitted on queue pair 'qp'
 * (without the virtio-net header), each copied into a packet from 'alloc',
 * and stores the handles in 'pkts'.  Returns how many.  A packet whose
 * frame could not be copied whole is given to 'free_pkt', never returned.
 * Returns used descriptors to the guest and notifies it if needed. */
int vhu_dequeue_burst(struct vhu_device *, unsigned int qp,
                      vhu_alloc_fn *alloc, vhu_free_fn *free_pkt, void *aux,
                      void **pkts, int max);

/* Offloads
 * ========
 *
 * With 'net_offloads' in its options the engine offers VIRTIO_NET_F_CSUM,
 * HOST_TSO4, HOST_TSO6 and HOST_ECN (the guest may leave a frame's
 * checksum to us and send TCP segments of up to 64 KB) and GUEST_CSUM,
 * GUEST_TSO4, GUEST_TSO6 and GUEST_ECN (it may be given such frames).
 *
 * A frame's offload request is its virtio-net header without
 * 'num_buffers'.  vhu_dequeue_burst_ol() returns the guest's, validated:
 * only what was negotiated, only NEEDS_CSUM in 'flags' (DATA_VALID is
 * ignored), checksum start and offset within the frame, GSO only with
 * NEEDS_CSUM and a segment size, 'hdr_len' within the frame; a frame
 * whose header breaks any of these is given back to the guest, dropped and
 * counted in 'bad_offloads'.  Without CSUM negotiated the header is not
 * read at all.  Whether the checksum start is where the frame's TCP or UDP
 * header is, and whether a GSO frame is TCP over IPv4 or IPv6, the caller
 * checks with vhu_net_parse(). */
#define VHU_NET_HDR_F_NEEDS_CSUM 1
#define VHU_NET_HDR_F_DATA_VALID 2
#define VHU_NET_HDR_GSO_NONE 0
#define VHU_NET_HDR_GSO_TCPV4 1
#define VHU_NET_HDR_GSO_UDP 3
#define VHU_NET_HDR_GSO_TCPV6 4
#define VHU_NET_HDR_GSO_ECN 0x80

struct vhu_net_offload {
    uint8_t flags;              /* VHU_NET_HDR_F_*. */
    uint8_t gso_type;           /* VHU_NET_HDR_GSO_*. */
    uint16_t hdr_len;           /* Headers' length, a hint. */
    uint16_t gso_size;          /* Payload bytes per segment. */
    uint16_t csum_start;        /* Checksum from here to the end... */
    uint16_t csum_offset;       /* ...stored this far after the start. */
};

/* As vhu_dequeue_burst(), and stores each returned packet's offload
 * request in 'ols' (all zero for a frame with none). */
int vhu_dequeue_burst_ol(struct vhu_device *, unsigned int qp,
                         vhu_alloc_fn *alloc, vhu_free_fn *free_pkt,
                         void *aux, void **pkts,
                         struct vhu_net_offload *ols, int max);

/* Where a frame's layers are, as vhu_net_parse() finds them. */
struct vhu_net_layers {
    uint16_t l3_ofs;            /* After the Ethernet header and VLANs. */
    uint16_t l4_ofs;            /* 0 if not IPv4 or IPv6. */
    uint16_t l4_len;            /* TCP header's length, or 8 for UDP. */
    uint8_t ip_version;         /* 4, 6 or 0. */
    uint8_t l4_proto;           /* IPPROTO_TCP, IPPROTO_UDP or other. */
};

/* Parses Ethernet (with up to two VLAN tags), IPv4 or IPv6 (no extension
 * headers) and TCP or UDP from 'frame' ('len' bytes) into 'layers', and
 * checks 'ol' against them: a checksum request must start at the TCP or
 * UDP header and point at its checksum field, a GSO request must be TCP
 * over the IP version it names, with whole headers.  Returns true if 'ol'
 * fits the frame (always for no request). */
bool vhu_net_parse(const void *frame, uint32_t len,
                   const struct vhu_net_offload *ol,
                   struct vhu_net_layers *layers);

/* Completes the checksum that 'ol' (NEEDS_CSUM, within 'len') asks for:
 * the Internet checksum of 'frame' from 'csum_start' to its end, the
 * field at 'csum_start' + 'csum_offset' (which holds the pseudo-header's
 * sum, as a driver leaves it) included, stored in that field. */
void vhu_net_csum_fixup(void *frame, uint32_t len,
                        const struct vhu_net_offload *ol);

/* Splits TCP 'frame' ('len' bytes), whose GSO request 'ol' fits it
 * (vhu_net_parse() returned true and filled 'layers'), into segments of at
 * most 'ol->gso_size' payload bytes, as the device that the request was
 * meant for would have: each segment is a whole frame with the original
 * headers, its IPv4 total length, identification (one more per segment)
 * and header checksum, or IPv6 payload length, its TCP sequence number, FIN
 * and PSH only on the last segment and CWR only on the first, and its TCP
 * checksum complete.  Builds each segment in 'scratch' (at least
 * vhu_net_segment_max_len() bytes) and passes it to 'emit'.  Returns the
 * number of segments, or 0 if the request does not fit the frame. */
typedef void vhu_segment_fn(void *aux, const void *segment, uint32_t len);
uint32_t vhu_net_segment_max_len(const struct vhu_net_offload *ol,
                                 const struct vhu_net_layers *layers);
unsigned int vhu_net_segment(const void *frame, uint32_t len,
                             const struct vhu_net_offload *ol,
                             const struct vhu_net_layers *layers,
                             void *scratch, vhu_segment_fn *emit, void *aux);

/* One frame to send to the guest. */
struct vhu_frame {
    const void *data;
    uint32_t len;
};

/* Copies up to 'n' frames into the guest's receive buffers on queue pair
 * 'qp' (each with a virtio-net header; mergeable buffers if negotiated) and
 * notifies the guest if needed.  Returns how many were copied; the caller
 * may retry the rest or drop them (vhu_count_tx_drops()).  Frames longer
 * than VHU_MAX_FRAME_LEN are skipped and counted as errors. */
int vhu_enqueue_burst(struct vhu_device *, unsigned int qp,
                      const struct vhu_frame *, int n);

/* As vhu_enqueue_burst(), each frame with the offload request of the same
 * index in 'ols' written into its virtio-net header.  A request the guest
 * did not negotiate (NEEDS_CSUM without GUEST_CSUM, a GSO type without its
 * GUEST_TSO4/6, ECN without GUEST_ECN) is never written: that frame is
 * skipped and counted in 'bad_offloads' (the caller checks
 * vhu_device_features() and completes checksums or segments first). */
int vhu_enqueue_burst_ol(struct vhu_device *, unsigned int qp,
                         const struct vhu_frame *,
                         const struct vhu_net_offload *ols, int n);

/* Reading messages from a socket, for callers.
 *
 * A stream socket's recvmsg() returns data up to and including the first
 * segment that carries fds, so a read that spans two messages would hand
 * the second message's fds over with the first one's bytes.  A vhu_reader
 * reads one message at a time (the header, then exactly its payload), so
 * fds always come with their message's bytes. */
struct vhu_reader {
    struct vhu_msg_header header;   /* Of the message being read. */
    size_t header_len;              /* Bytes of 'header' read so far. */
    uint32_t payload_left;          /* Payload bytes still to read. */
};

/* Starts over, for a new connection. */
void vhu_reader_reset(struct vhu_reader *);

/* Reads, without blocking, at most 'size' bytes of the current message
 * from 'sock' into 'buf', with the fds that came with them (their number
 * in '*n_fds'; the caller owns them, e.g. passes them to
 * vhu_device_input()).  Returns the number of bytes read, 0 at end of file,
 * or a negative errno value: -EAGAIN if nothing is there now, -EPROTO if
 * the frontend sent more fds at once than any message may carry (all
 * closed). */
ssize_t vhu_reader_recv(struct vhu_reader *, int sock, void *buf,
                        size_t size, int fds[VHU_MSG_MAX_FDS],
                        size_t *n_fds);

/* Adds 'n' to the dropped counter of queue pair 'qp''s guest receive
 * queue (frames the caller gave up on). */
void vhu_count_tx_drops(struct vhu_device *, unsigned int qp, uint64_t n);

#endif /* vhost-engine.h */
