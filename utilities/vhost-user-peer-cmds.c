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
#include "vhost-user-peer.h"

#include <inttypes.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The commands: send, recv, echo and bench, and the test frames they
 * generate and check.
 *
 * A test frame is an Ethernet frame with ethertype 0x88b5 (IEEE local
 * experimental) whose payload starts with the test header: the magic
 * "VHUP", a 64-bit sequence number and the frame's own length (both
 * big-endian), followed by a pattern: byte k of the frame is (seq + k) mod
 * 256.
 *
 * With the transmit side of --tso negotiated, test frames are TCP over
 * IPv4 instead (10.0.0.1:10001 to 10.0.0.2:10002, no options, DF set), the
 * TCP sequence number advancing by the payload's length from frame to
 * frame; the TCP payload starts with the test header, and every payload
 * byte after it is its own TCP sequence number mod 256.  They go with a
 * partial checksum (NEEDS_CSUM, the pseudo-header's sum in the TCP
 * checksum field) and, when the payload exceeds --mss, a TCPV4 GSO
 * request.  A switch may segment them for a receiver without offloads:
 * then only the first segment of each frame carries the test header, but
 * every segment carries the pattern at its sequence numbers, so each is
 * checked on its own. */

#define PEER_ETHERTYPE 0x88b5
#define PEER_MAGIC "VHUP"
#define PEER_ETH_HLEN 14
#define PEER_TEST_HLEN (4 + 8 + 2)
#define PEER_HDR_END (PEER_ETH_HLEN + PEER_TEST_HLEN)

/* TCP test frames. */
#define PEER_ETHERTYPE_IPV4 0x0800
#define PEER_IPPROTO_TCP 6
#define PEER_IP_HLEN 20
#define PEER_TCP_HLEN 20
#define PEER_TCP_OFS (PEER_ETH_HLEN + PEER_IP_HLEN)
#define PEER_TCP_CSUM_OFS 16        /* Checksum field, in the TCP header. */
#define PEER_IP_SRC 0x0a000001      /* 10.0.0.1. */
#define PEER_IP_DST 0x0a000002      /* 10.0.0.2. */
#define PEER_TCP_SRC_PORT 10001
#define PEER_TCP_DST_PORT 10002
#define PEER_TCP_ACK_PSH 0x18
#define PEER_MIN_ETH_FRAME 60       /* Shorter frames are padded to it. */

_Static_assert(PEER_TCP_HDRS_LEN == PEER_TCP_OFS + PEER_TCP_HLEN,
               "TCP test frame headers");
_Static_assert(PEER_TCP_MIN_FRAME == PEER_TCP_HDRS_LEN + PEER_TEST_HLEN,
               "TCP test frame minimum");

/* How long the back-end may leave frames on the transmit ring before
 * 'send' gives up, when no --duration bounds the run: generous, because a
 * busy machine can keep the back-end's polling thread away for seconds. */
#define PEER_STALL_TIMEOUT 60.0

/* After this long without progress, 'send' reports its transmit rings as
 * it sees them (on stderr, without failing), and how long the stall
 * lasted once the back-end goes on. */
#define PEER_STALL_REPORT 5.0

/* How often to check that the back-end is still connected. */
#define PEER_CHECK_INTERVAL 0.01

/* Busy-poll iterations without progress before the peer starts napping. */
#define PEER_SPIN_LIMIT 1000

/* The state of one command's run. */
struct peer_run {
    struct peer *peer;
    const struct peer_options *opts;
    struct peer_stats stats;
    double start;
    double pace_start;          /* When frame 0 was due, under --rate. */
    double now;
    double last_progress;       /* Last frame received or sent. */
    double last_check;          /* Last peer_check_backend(). */
    uint64_t seq;               /* Next frame to generate. */
    uint32_t frame_len;         /* Length of the frames to send. */
    unsigned int next_q;        /* Queue of the next frame to send. */

    /* TCP test frames (the transmit side of --tso negotiated). */
    bool tcp;
    uint32_t tcp_seq;           /* Sequence number of the next frame. */
    uint32_t tx_payload;        /* TCP payload bytes per frame. */
    struct virtio_net_hdr tx_hdr;   /* The request each goes with. */
    unsigned int idle_loops;
    bool failed;
};

/* byte[i] = i mod 256, long enough to copy any frame's pattern from. */
static uint8_t peer_pattern[256 + PEER_MAX_FRAME];

static void
peer_pattern_init(void)
{
    for (size_t i = 0; i < sizeof peer_pattern; i++) {
        peer_pattern[i] = i;
    }
}

static void
put_be(uint8_t *p, uint64_t x, int n)
{
    for (int i = n - 1; i >= 0; i--, x >>= 8) {
        p[i] = x;
    }
}

static uint64_t
get_be(const uint8_t *p, int n)
{
    uint64_t x = 0;

    for (int i = 0; i < n; i++) {
        x = (x << 8) | p[i];
    }
    return x;
}

/* Adds the 'n' bytes at 'p' to the ones' complement sum 'sum' (RFC 1071),
 * as 16-bit words in memory order, so that the folded sum can be compared
 * with, or stored into, a checksum field as it is in memory.  32-bit
 * halves of 64-bit words go into a 64-bit accumulator, which cannot
 * overflow for any frame. */
static uint64_t
peer_csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;

        memcpy(&w, p, 8);
        sum += (w & 0xffffffff) + (w >> 32);
    }
    for (; n >= 2; p += 2, n -= 2) {
        uint16_t w;

        memcpy(&w, p, 2);
        sum += w;
    }
    if (n) {
        uint8_t last[2] = { p[0], 0 };
        uint16_t w;

        memcpy(&w, last, 2);
        sum += w;
    }
    return sum;
}

/* Folds 'sum' into 16 bits, end-around carries included. */
static uint16_t
peer_csum_fold(uint64_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/* Returns the (unfolded) sum of the TCP pseudo-header of the IPv4 header
 * 'ip' and a TCP segment of 'tcp_len' bytes. */
static uint64_t
peer_tcp_pseudo_sum(const uint8_t *ip, uint32_t tcp_len)
{
    uint8_t rest[4] = { 0, PEER_IPPROTO_TCP, tcp_len >> 8, tcp_len };

    return peer_csum_add(peer_csum_add(0, ip + 12, 8), rest, sizeof rest);
}

/* Returns true if 'a' and 'b' are the same ones' complement number (0 and
 * 0xffff are both zero). */
static bool
peer_csum_equal(uint16_t a, uint16_t b)
{
    return (a ? a : 0xffff) == (b ? b : 0xffff);
}

/* Writes test frame number 'seq' of 'len' bytes, of ethertype
 * PEER_ETHERTYPE, into 'frame'. */
static void
peer_make_plain_frame(const struct peer_options *opts, uint8_t *frame,
                      uint64_t seq, uint32_t len)
{
    memcpy(frame, opts->dst_mac, 6);
    memcpy(frame + 6, opts->mac, 6);
    put_be(frame + 12, PEER_ETHERTYPE, 2);
    memcpy(frame + 14, PEER_MAGIC, 4);
    put_be(frame + 18, seq, 8);
    put_be(frame + 26, len, 2);
    memcpy(frame + PEER_HDR_END, &peer_pattern[(seq & 0xff) + PEER_HDR_END],
           len - PEER_HDR_END);
}

/* Writes TCP test frame number 'seq' of 'len' bytes (at least
 * PEER_TCP_MIN_FRAME), whose payload starts at TCP sequence number
 * 'tcp_seq', into 'frame', with the partial checksum that NEEDS_CSUM
 * asks for. */
static void
peer_make_tcp_frame(const struct peer_options *opts, uint8_t *frame,
                    uint64_t seq, uint32_t tcp_seq, uint32_t len)
{
    uint8_t *ip = frame + PEER_ETH_HLEN;
    uint8_t *tcp = frame + PEER_TCP_OFS;
    uint8_t *payload = frame + PEER_TCP_HDRS_LEN;
    uint16_t csum;

    memcpy(frame, opts->dst_mac, 6);
    memcpy(frame + 6, opts->mac, 6);
    put_be(frame + 12, PEER_ETHERTYPE_IPV4, 2);

    ip[0] = 0x45;                       /* Version 4, 20 bytes. */
    ip[1] = 0;
    put_be(ip + 2, len - PEER_ETH_HLEN, 2);
    put_be(ip + 4, seq & 0xffff, 2);    /* Identification. */
    put_be(ip + 6, 0x4000, 2);          /* Don't fragment. */
    ip[8] = 64;                         /* TTL. */
    ip[9] = PEER_IPPROTO_TCP;
    memset(ip + 10, 0, 2);
    put_be(ip + 12, PEER_IP_SRC, 4);
    put_be(ip + 16, PEER_IP_DST, 4);
    csum = ~peer_csum_fold(peer_csum_add(0, ip, PEER_IP_HLEN));
    memcpy(ip + 10, &csum, 2);

    put_be(tcp, PEER_TCP_SRC_PORT, 2);
    put_be(tcp + 2, PEER_TCP_DST_PORT, 2);
    put_be(tcp + 4, tcp_seq, 4);
    put_be(tcp + 8, 0, 4);              /* Acknowledgement number. */
    tcp[12] = (PEER_TCP_HLEN / 4) << 4;
    tcp[13] = PEER_TCP_ACK_PSH;
    put_be(tcp + 14, 0xffff, 2);        /* Window. */
    put_be(tcp + 18, 0, 2);             /* Urgent pointer. */
    csum = peer_csum_fold(peer_tcp_pseudo_sum(ip, len - PEER_TCP_OFS));
    memcpy(tcp + PEER_TCP_CSUM_OFS, &csum, 2);

    memcpy(payload, PEER_MAGIC, 4);
    put_be(payload + 4, seq, 8);
    put_be(payload + 12, len, 2);
    memcpy(payload + PEER_TEST_HLEN,
           &peer_pattern[(tcp_seq + PEER_TEST_HLEN) & 0xff],
           len - PEER_TCP_MIN_FRAME);
}

/* Writes test frame number 'seq' (run->frame_len bytes) into 'frame' and
 * returns the offload request to send it with, or NULL for none. */
static const struct virtio_net_hdr *
peer_make_frame(struct peer_run *run, uint8_t *frame, uint64_t seq)
{
    if (!run->tcp) {
        peer_make_plain_frame(run->opts, frame, seq, run->frame_len);
        return NULL;
    }
    peer_make_tcp_frame(run->opts, frame, seq, run->tcp_seq, run->frame_len);
    run->tcp_seq += run->tx_payload;
    return &run->tx_hdr;
}

enum peer_frame_kind {
    PEER_FRAME_GOOD,            /* A test frame, intact. */
    PEER_FRAME_BAD,             /* A test frame, damaged. */
    PEER_FRAME_OTHER,           /* Not a test frame. */
};

/* What peer_check_frame() found out about a received frame. */
struct peer_frame_info {
    bool test;                  /* Starts with the test header. */
    uint64_t seq;               /* Its sequence number, if 'test'. */
    bool tcp;                   /* A TCP test frame, or a segment of one. */
    uint32_t tcp_seq;           /* Its TCP sequence number, if 'tcp'. */
    uint32_t payload;           /* Its TCP payload bytes, if 'tcp'. */
    const char *damage;         /* What is wrong, if damaged. */
};

/* Returns true if 'frame' of 'len' bytes looks like a TCP test frame or a
 * segment of one: its addresses, ports and header lengths. */
static bool
peer_is_tcp_frame(const uint8_t *frame, uint32_t len)
{
    const uint8_t *ip = frame + PEER_ETH_HLEN;
    const uint8_t *tcp = frame + PEER_TCP_OFS;

    return (len >= PEER_TCP_HDRS_LEN
            && get_be(frame + 12, 2) == PEER_ETHERTYPE_IPV4
            && ip[0] == 0x45 && ip[9] == PEER_IPPROTO_TCP
            && get_be(ip + 12, 4) == PEER_IP_SRC
            && get_be(ip + 16, 4) == PEER_IP_DST
            && get_be(tcp, 2) == PEER_TCP_SRC_PORT
            && get_be(tcp + 2, 2) == PEER_TCP_DST_PORT
            && tcp[12] >> 4 == PEER_TCP_HLEN / 4);
}

/* Checks the virtio-net header 'hdr' that came with a TCP test frame or
 * segment against what 'peer' negotiated (virtio 1.x 5.1.6.4.1: no flags
 * without GUEST_CSUM, no GSO without GUEST_TSO4; the peer negotiates both
 * or neither) and the frame: a partial checksum must be the TCP
 * checksum's.  Returns NULL if it is fine, else what is wrong. */
static const char *
peer_check_rx_request(const struct peer *peer,
                      const struct virtio_net_hdr *hdr)
{
    uint8_t flags = hdr->flags;

    if (flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) {
        return "unknown flags in its virtio-net header";
    }
    if (flags && !peer->tso_rx) {
        return "checksum flags in its virtio-net header without GUEST_CSUM";
    }
    if (hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE
        && (hdr->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || !hdr->gso_size
            || !peer->tso_rx)) {
        return "a GSO request that was not negotiated or is malformed";
    }
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM
        && (hdr->csum_start != PEER_TCP_OFS
            || hdr->csum_offset != PEER_TCP_CSUM_OFS)) {
        return "a partial checksum request not for its TCP checksum";
    }
    return NULL;
}

/* Classifies TCP test frame (or segment) 'frame' of 'len' bytes (for
 * which peer_is_tcp_frame() returned true), which came with virtio-net
 * header 'hdr', and fills in 'info'.  Every length and offset is read
 * once from the frame and checked against 'len' before use: the back-end
 * may be hostile, and may even change the frame while we read it. */
static enum peer_frame_kind
peer_check_tcp_frame(const struct peer *peer, const uint8_t *frame,
                     uint32_t len, const struct virtio_net_hdr *hdr,
                     struct peer_frame_info *info)
{
    const uint8_t *ip = frame + PEER_ETH_HLEN;
    const uint8_t *tcp = frame + PEER_TCP_OFS;
    const uint8_t *payload = frame + PEER_TCP_HDRS_LEN;
    uint32_t tot_len = get_be(ip + 2, 2);
    uint32_t tcp_len, start = 0;
    uint64_t pseudo;
    uint16_t csum;

    info->tcp = true;
    info->tcp_seq = get_be(tcp + 4, 4);

    if (peer_csum_fold(peer_csum_add(0, ip, PEER_IP_HLEN)) != 0xffff) {
        info->damage = "bad IPv4 header checksum";
        return PEER_FRAME_BAD;
    }
    if (get_be(ip + 6, 2) & 0x3fff) {
        info->damage = "an IPv4 fragment";
        return PEER_FRAME_BAD;
    }
    /* The total length must be the frame's, but for the padding of a
     * frame shorter than Ethernet's minimum. */
    if (tot_len < PEER_IP_HLEN + PEER_TCP_HLEN
        || (tot_len + PEER_ETH_HLEN != len
            && (len != PEER_MIN_ETH_FRAME
                || tot_len + PEER_ETH_HLEN > len))) {
        info->damage = "IPv4 total length does not match the frame";
        return PEER_FRAME_BAD;
    }
    tcp_len = tot_len - PEER_IP_HLEN;
    info->payload = tcp_len - PEER_TCP_HLEN;

    info->damage = peer_check_rx_request(peer, hdr);
    if (info->damage) {
        return PEER_FRAME_BAD;
    }
    pseudo = peer_tcp_pseudo_sum(ip, tcp_len);
    if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        /* Left to us, as Linux leaves it to a device: the pseudo-header's
         * sum only. */
        memcpy(&csum, tcp + PEER_TCP_CSUM_OFS, 2);
        if (!peer_csum_equal(csum, peer_csum_fold(pseudo))) {
            info->damage = "partial TCP checksum is not the pseudo-header's";
            return PEER_FRAME_BAD;
        }
    } else if (peer_csum_fold(peer_csum_add(pseudo, tcp, tcp_len))
               != 0xffff) {
        info->damage = "bad TCP checksum";
        return PEER_FRAME_BAD;
    }

    if (info->payload >= PEER_TEST_HLEN && !memcmp(payload, PEER_MAGIC, 4)) {
        /* A whole frame, or the first segment of one: its test header
         * holds the whole frame's length. */
        info->test = true;
        info->seq = get_be(payload + 4, 8);
        if (get_be(payload + 12, 2) < PEER_TCP_HDRS_LEN + info->payload) {
            info->damage = "test header length shorter than the frame";
            return PEER_FRAME_BAD;
        }
        start = PEER_TEST_HLEN;
    }
    if (memcmp(payload + start,
               &peer_pattern[(info->tcp_seq + start) & 0xff],
               info->payload - start)) {
        info->damage = "damaged payload";
        return PEER_FRAME_BAD;
    }
    return PEER_FRAME_GOOD;
}

/* Classifies the received frame 'frame' of 'len' bytes, which came with
 * virtio-net header 'hdr', and fills in 'info'. */
static enum peer_frame_kind
peer_check_frame(const struct peer *peer, const uint8_t *frame, uint32_t len,
                 const struct virtio_net_hdr *hdr,
                 struct peer_frame_info *info)
{
    memset(info, 0, sizeof *info);
    if (len >= PEER_HDR_END && get_be(frame + 12, 2) == PEER_ETHERTYPE
        && !memcmp(frame + 14, PEER_MAGIC, 4)) {
        uint64_t seq = get_be(frame + 18, 8);

        info->test = true;
        info->seq = seq;
        if (get_be(frame + 26, 2) != len
            || memcmp(frame + PEER_HDR_END,
                      &peer_pattern[(seq & 0xff) + PEER_HDR_END],
                      len - PEER_HDR_END)) {
            return PEER_FRAME_BAD;
        }
        return PEER_FRAME_GOOD;
    }
    if (peer_is_tcp_frame(frame, len)) {
        return peer_check_tcp_frame(peer, frame, len, hdr, info);
    }
    return PEER_FRAME_OTHER;
}

/* Counts received frame 'frame' of 'len' bytes, which came with
 * virtio-net header 'hdr', in 'run'. */
static void
peer_count_rx(struct peer_run *run, const uint8_t *frame, uint32_t len,
              const struct virtio_net_hdr *hdr)
{
    struct peer_stats *s = &run->stats;
    struct peer_frame_info info;
    enum peer_frame_kind kind = peer_check_frame(run->peer, frame, len, hdr,
                                                 &info);

    if (len > s->rx_max_len) {
        s->rx_max_len = len;
    }
    if (kind == PEER_FRAME_OTHER) {
        s->rx_other++;
        return;
    }

    s->rx_bytes += len;
    if (info.test) {
        s->rx_frames++;
    }
    if (info.tcp) {
        s->rx_tcp++;
        s->rx_gso += hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE;
        s->rx_csum_partial += (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
        if (kind == PEER_FRAME_GOOD) {
            s->rx_payload_bytes += info.payload;
        }
    }
    if (kind == PEER_FRAME_BAD) {
        if (s->rx_bad) {
            /* Reported the first one only. */
        } else if (info.tcp) {
            peer_error("received a damaged TCP frame (%"PRIu32" bytes, TCP "
                       "sequence %"PRIu32"): %s", len, info.tcp_seq,
                       info.damage);
        } else {
            peer_error("received a damaged frame (%"PRIu32" bytes, "
                       "sequence %"PRIu64")", len, info.seq);
        }
        s->rx_bad++;
    }
}

/* Updates the clock and, now and then, checks the back-end.  Returns false
 * when the run must stop because of an error. */
static bool
peer_run_tick(struct peer_run *run)
{
    if (run->failed) {
        return false;
    }
    run->now = peer_now();
    if (run->now - run->last_check >= PEER_CHECK_INTERVAL) {
        run->last_check = run->now;
        if (peer_check_backend(run->peer)) {
            run->failed = true;
            return false;
        }
    }
    return true;
}

/* Returns true if --duration has elapsed. */
static bool
peer_run_expired(const struct peer_run *run)
{
    return (run->opts->duration > 0
            && run->now - run->start >= run->opts->duration);
}

/* Returns true if nothing arrived for --idle seconds. */
static bool
peer_run_idle(const struct peer_run *run)
{
    return (run->opts->idle > 0
            && run->now - run->last_progress >= run->opts->idle);
}

/* Marks progress. */
static void
peer_run_progress(struct peer_run *run)
{
    run->last_progress = run->now;
    run->idle_loops = 0;
}

/* Returns how many microseconds remain until the next frame is due under
 * --rate, or -1 without pacing. */
static long
peer_run_due_us(const struct peer_run *run)
{
    if (!run->opts->rate) {
        return -1;
    }

    double due = run->pace_start + run->seq / (double) run->opts->rate;
    return due > run->now ? (long) ((due - run->now) * 1e6) + 1 : 0;
}

/* Waits a little for the back-end to use one of the 'n' vrings 'vrs' (or
 * for the next frame to be due under --rate): sleeps on their call
 * eventfds with --notify=on, otherwise spins a while and then naps, so that
 * an idle peer does not hog a shared CPU. */
static void
peer_run_idle_wait(struct peer_run *run, struct peer_vring *const *vrs,
                   size_t n)
{
    if (run->opts->notify) {
        long timeout_us = 100 * 1000;
        long due_us = peer_run_due_us(run);

        if (due_us >= 0 && run->opts->command != PEER_CMD_RECV
            && due_us < timeout_us) {
            timeout_us = due_us;
        }
        if (peer_wait(run->peer, vrs, n, timeout_us)) {
            run->failed = true;
        }
    } else if (++run->idle_loops < PEER_SPIN_LIMIT) {
        __builtin_ia32_pause();
    } else {
        struct timespec nap = { 0, 20 * 1000 };

        nanosleep(&nap, NULL);
    }
}

/* Collects the vrings of one direction ('tx' or not) into 'vrs' and returns
 * how many. */
static size_t
peer_run_vrings(const struct peer_run *run, bool tx,
                struct peer_vring **vrs)
{
    for (unsigned int i = 0; i < run->peer->n_queues; i++) {
        struct peer_queue *q = &run->peer->queues[i];

        vrs[i] = tx ? &q->tx : &q->rx;
    }
    return run->peer->n_queues;
}

/* Takes back the transmit buffers of all queues.  Returns how many. */
static unsigned int
peer_run_reclaim(struct peer_run *run)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < run->peer->n_queues; i++) {
        n += peer_tx_reclaim(&run->peer->queues[i].tx);
    }
    run->stats.tx_done += n;
    return n;
}

/* Returns how many more frames the peer may send now under --count and
 * --rate, at most 'max'.  A sender that fell behind its --rate schedule
 * (because the ring was full or the CPU busy) catches up by one burst at
 * most, so that it never floods the back-end. */
static uint64_t
peer_run_tx_budget(struct peer_run *run, uint64_t max)
{
    const struct peer_options *opts = run->opts;
    uint64_t budget = max;

    if (opts->count) {
        uint64_t left = opts->count - run->seq;

        budget = left < budget ? left : budget;
    }
    if (opts->rate) {
        double due = (run->now - run->pace_start) * opts->rate + 1;

        if (due > run->seq + PEER_BURST) {
            run->pace_start = run->now - (double) run->seq / opts->rate;
            due = run->seq + 1;
        }

        uint64_t allowed = due > run->seq ? (uint64_t) due - run->seq : 0;
        budget = allowed < budget ? allowed : budget;
    }
    return budget;
}

/* Places up to 'budget' new test frames on the transmit rings, round robin
 * over the queues, and publishes them.  Stops early at a full ring, so that
 * the order over queues stays strict.  Returns how many it placed. */
static unsigned int
peer_run_tx_burst(struct peer_run *run, uint64_t budget)
{
    struct peer *peer = run->peer;
    uint32_t len = run->frame_len;
    unsigned int n;

    for (n = 0; n < budget; n++) {
        struct peer_queue *q = &peer->queues[run->next_q];
        const struct virtio_net_hdr *ol;
        uint16_t id;
        uint8_t *frame = peer_tx_slot(peer, &q->tx, &id);

        if (!frame) {
            break;
        }
        ol = peer_make_frame(run, frame, run->seq++);
        peer_tx_put(peer, &q->tx, id, len, ol);
        q->tx_frames++;
        run->stats.tx_frames++;
        run->stats.tx_bytes += len;
        run->next_q = (run->next_q + 1) % peer->n_active;
    }

    for (unsigned int i = 0; i < peer->n_queues; i++) {
        peer_publish(peer, &peer->queues[i].tx);
    }
    return n;
}

/* Receives and counts up to PEER_BURST frames from each queue.  Returns how
 * many frames it received. */
static unsigned int
peer_run_rx_burst(struct peer_run *run)
{
    struct peer *peer = run->peer;
    unsigned int total = 0;

    for (unsigned int i = 0; i < peer->n_queues; i++) {
        struct peer_queue *q = &peer->queues[i];

        for (unsigned int n = 0; n < PEER_BURST; n++) {
            struct virtio_net_hdr hdr;
            uint8_t *frame;
            uint32_t len;
            int retval = peer_rx_next(peer, &q->rx, &frame, &len, &hdr);

            if (!retval) {
                break;
            } else if (retval < 0) {
                run->stats.rx_errors++;
            } else {
                peer_count_rx(run, frame, len, &hdr);
                q->rx_frames++;
            }
            total++;
        }
        peer_publish(peer, &q->rx);
    }
    return total;
}

/* With --tso, prints the transmit side's TCP fields of a result line. */
static void
peer_print_tx_tcp(const struct peer_run *run)
{
    uint64_t done = run->stats.tx_done;

    if (run->opts->tso_fields) {
        printf(" tx_payload_bytes=%"PRIu64" tx_gso=%"PRIu64,
               done * run->tx_payload,
               run->tx_hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE ? done : 0);
    }
}

/* With --tso, prints the receive side's TCP fields of a result line. */
static void
peer_print_rx_tcp(const struct peer_run *run)
{
    const struct peer_stats *s = &run->stats;

    if (run->opts->tso_fields) {
        printf(" rx_tcp=%"PRIu64" rx_payload_bytes=%"PRIu64" "
               "rx_gso=%"PRIu64" rx_csum_partial=%"PRIu64" max_len=%"PRIu32,
               s->rx_tcp, s->rx_payload_bytes, s->rx_gso, s->rx_csum_partial,
               s->rx_max_len);
    }
}

/* Reports, on stderr, that the back-end consumed nothing for 'stalled'
 * seconds, with what each transmit ring holds: the frames published
 * (avail idx), those the back-end consumed (used idx) and those taken
 * back. */
static void
peer_report_stall(const struct peer_run *run, double stalled)
{
    for (unsigned int i = 0; i < run->peer->n_queues; i++) {
        const struct peer_vring *vr = &run->peer->queues[i].tx;
        uint16_t avail = __atomic_load_n(&vr->avail->idx, __ATOMIC_RELAXED);
        uint16_t used = __atomic_load_n(&vr->used->idx, __ATOMIC_ACQUIRE);

        peer_error("back-end consumed nothing for %.1f seconds: vring %u "
                   "avail idx %u, used idx %u, taken back %u (%u frames "
                   "waiting), %"PRIu64" of %"PRIu64" frames consumed",
                   stalled, vr->index, avail, used, vr->last_used,
                   (uint16_t) (avail - used), run->stats.tx_done,
                   run->stats.tx_frames);
    }
}

/* Marks the progress of 'send', first saying how long the back-end had
 * stalled if that was reported ('*reported'). */
static void
peer_send_progress(struct peer_run *run, bool *reported)
{
    if (*reported) {
        peer_error("back-end went on after %.1f seconds",
                   run->now - run->last_progress);
        *reported = false;
    }
    peer_run_progress(run);
}

/* The 'send' command: sends --count frames (or until --duration), waiting
 * for room on full rings, then waits until the back-end has consumed every
 * frame. */
static void
peer_cmd_send(struct peer_run *run)
{
    const struct peer_options *opts = run->opts;
    struct peer_vring *vrs[PEER_MAX_QUEUES];
    size_t n_vrs = peer_run_vrings(run, true, vrs);
    bool reported = false;

    while (!peer_stop && peer_run_tick(run) && !peer_run_expired(run)) {
        double stalled;

        if (peer_run_reclaim(run)) {
            peer_send_progress(run, &reported);
        }
        if (opts->count && run->seq >= opts->count
            && run->stats.tx_done == run->stats.tx_frames) {
            break;
        }
        stalled = run->now - run->last_progress;
        if (!opts->duration && stalled >= PEER_STALL_REPORT && !reported) {
            peer_report_stall(run, stalled);
            reported = true;
        }
        if (!opts->duration && stalled >= PEER_STALL_TIMEOUT) {
            peer_report_stall(run, stalled);
            peer_error("back-end consumed no frame for %g seconds",
                       PEER_STALL_TIMEOUT);
            run->failed = true;
            break;
        }

        uint64_t budget = peer_run_tx_budget(run, PEER_BURST);
        if (budget && peer_run_tx_burst(run, budget)) {
            peer_send_progress(run, &reported);
        } else {
            peer_run_idle_wait(run, vrs, n_vrs);
        }
    }
    peer_run_reclaim(run);

    printf("sent=%"PRIu64, run->stats.tx_done);
    peer_print_tx_tcp(run);
    printf("\n");
    if (opts->count && run->stats.tx_done < opts->count) {
        if (!run->failed) {
            peer_error("only %"PRIu64" of %"PRIu64" frames were consumed "
                       "by the back-end", run->stats.tx_done, opts->count);
        }
        run->failed = true;
    }
}

/* Returns true once 'recv' has received what --count and --bytes ask for
 * (never without either). */
static bool
peer_recv_done(const struct peer_run *run)
{
    const struct peer_options *opts = run->opts;

    return ((opts->count || opts->bytes)
            && (!opts->count || run->stats.rx_frames >= opts->count)
            && (!opts->bytes || run->stats.rx_payload_bytes >= opts->bytes));
}

/* The 'recv' command: counts and checks frames until --count test frames
 * and --bytes TCP payload bytes arrived, --duration elapsed or nothing
 * arrived for --idle seconds. */
static void
peer_cmd_recv(struct peer_run *run)
{
    const struct peer_options *opts = run->opts;
    struct peer_vring *vrs[PEER_MAX_QUEUES];
    size_t n_vrs = peer_run_vrings(run, false, vrs);

    while (!peer_stop && peer_run_tick(run) && !peer_run_expired(run)
           && !peer_run_idle(run) && !peer_recv_done(run)) {
        if (peer_run_rx_burst(run)) {
            peer_run_progress(run);
        } else {
            peer_run_idle_wait(run, vrs, n_vrs);
        }
    }

    printf("received=%"PRIu64" bad=%"PRIu64" other=%"PRIu64,
           run->stats.rx_frames, run->stats.rx_bad, run->stats.rx_other);
    peer_print_rx_tcp(run);
    printf("\n");
    if (run->stats.rx_errors) {
        peer_error("%"PRIu64" malformed used ring entries",
                   run->stats.rx_errors);
        run->failed = true;
    }
    if (run->stats.rx_bad) {
        run->failed = true;
    }
    if (opts->count && run->stats.rx_frames < opts->count) {
        if (!run->failed) {
            peer_error("received only %"PRIu64" of %"PRIu64" frames",
                       run->stats.rx_frames, opts->count);
        }
        run->failed = true;
    }
    if (opts->bytes && run->stats.rx_payload_bytes < opts->bytes) {
        if (!run->failed) {
            peer_error("received only %"PRIu64" of %"PRIu64" TCP payload "
                       "bytes", run->stats.rx_payload_bytes, opts->bytes);
        }
        run->failed = true;
    }
}

/* How 'echo' reflects a frame. */
enum peer_echo_how {
    PEER_ECHO_PLAIN,            /* As it is, without a request. */
    PEER_ECHO_REQUEST,          /* With the request it came with. */
    PEER_ECHO_CSUM,             /* With its partial checksum completed. */
    PEER_ECHO_DROP,             /* Not at all. */
};

/* Decides how 'echo' reflects a frame of 'len' bytes that arrived with
 * virtio-net header 'in'.  With the receive side of --tso negotiated, a
 * frame's checksum and GSO requests go back with it (in '*out') when the
 * transmit side is negotiated too; without it, a partial checksum is
 * completed and a GSO frame dropped.  A request that does not fit the
 * frame drops it.  Without the receive side, the header is ignored. */
static enum peer_echo_how
peer_echo_how(const struct peer *peer, const struct virtio_net_hdr *in,
              uint32_t len, struct virtio_net_hdr *out)
{
    bool csum = in->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
    bool gso = in->gso_type != VIRTIO_NET_HDR_GSO_NONE;

    memset(out, 0, sizeof *out);
    if (!peer->tso_rx || (!csum && !gso)) {
        return PEER_ECHO_PLAIN;
    }
    if (!csum || (uint32_t) in->csum_start + in->csum_offset + 2 > len) {
        return PEER_ECHO_DROP;
    }
    out->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    out->csum_start = in->csum_start;
    out->csum_offset = in->csum_offset;
    if (gso) {
        if (!peer->tso_tx || in->gso_type != VIRTIO_NET_HDR_GSO_TCPV4
            || !in->gso_size) {
            return PEER_ECHO_DROP;
        }
        out->gso_type = in->gso_type;
        out->gso_size = in->gso_size;
        out->hdr_len = in->hdr_len;
    }
    return peer->tso_tx ? PEER_ECHO_REQUEST : PEER_ECHO_CSUM;
}

/* Completes in 'frame' ('len' bytes) the partial checksum that 'ol' (which
 * fits the frame) asks for. */
static void
peer_csum_complete(uint8_t *frame, uint32_t len,
                   const struct virtio_net_hdr *ol)
{
    uint16_t csum = ~peer_csum_fold(peer_csum_add(0, frame + ol->csum_start,
                                                  len - ol->csum_start));

    memcpy(frame + ol->csum_start + ol->csum_offset, &csum, 2);
}

/* Reflects up to one burst of the frames received on queue 'q', with MAC
 * addresses swapped, never taking more than the transmit ring has room
 * for.  Returns how many frames it received. */
static unsigned int
peer_echo_queue(struct peer_run *run, struct peer_queue *q)
{
    struct peer *peer = run->peer;
    uint32_t room = q->tx.buf_size - peer->hdr_len;
    unsigned int n;

    run->stats.tx_done += peer_tx_reclaim(&q->tx);
    for (n = 0; n < PEER_BURST && q->tx.n_free; n++) {
        struct virtio_net_hdr in, ol;
        enum peer_echo_how how;
        uint8_t *frame, *out;
        uint32_t len;
        uint16_t id;
        int retval = peer_rx_next(peer, &q->rx, &frame, &len, &in);

        if (!retval) {
            break;
        } else if (retval < 0) {
            run->stats.rx_errors++;
            continue;
        }
        run->stats.rx_frames++;
        q->rx_frames++;
        how = peer_echo_how(peer, &in, len, &ol);
        if (len < 12 || len > room || how == PEER_ECHO_DROP) {
            run->stats.rx_other++;
            continue;
        }
        out = peer_tx_slot(peer, &q->tx, &id);
        memcpy(out, frame + 6, 6);
        memcpy(out + 6, frame, 6);
        memcpy(out + 12, frame + 12, len - 12);
        if (how == PEER_ECHO_CSUM) {
            peer_csum_complete(out, len, &ol);
        }
        peer_tx_put(peer, &q->tx, id, len,
                    how == PEER_ECHO_REQUEST ? &ol : NULL);
        q->tx_frames++;
        run->stats.tx_frames++;
        run->stats.tx_bytes += len;
    }
    peer_publish(peer, &q->rx);
    peer_publish(peer, &q->tx);
    return n;
}

/* The 'echo' command: reflects every received frame back on its queue,
 * with MAC addresses swapped, until --count frames were echoed, --duration
 * elapsed or nothing arrived for --idle seconds. */
static void
peer_cmd_echo(struct peer_run *run)
{
    const struct peer_options *opts = run->opts;
    struct peer_vring *vrs[2 * PEER_MAX_QUEUES];
    size_t n_vrs = peer_run_vrings(run, false, vrs);

    n_vrs += peer_run_vrings(run, true, vrs + n_vrs);
    while (!peer_stop && peer_run_tick(run) && !peer_run_expired(run)
           && !peer_run_idle(run)
           && (!opts->count || run->stats.tx_frames < opts->count)) {
        unsigned int n = 0;

        for (unsigned int i = 0; i < run->peer->n_queues; i++) {
            n += peer_echo_queue(run, &run->peer->queues[i]);
        }
        if (n) {
            peer_run_progress(run);
        } else {
            peer_run_idle_wait(run, vrs, n_vrs);
        }
    }
    peer_run_reclaim(run);

    printf("echoed=%"PRIu64" dropped=%"PRIu64"\n",
           run->stats.tx_frames, run->stats.rx_other);
    if (run->stats.rx_errors) {
        peer_error("%"PRIu64" malformed used ring entries",
                   run->stats.rx_errors);
        run->failed = true;
    }
}

/* The 'bench' command: sends as fast as --rate allows and counts what comes
 * back, for --duration seconds (10 by default), then prints rates. */
static void
peer_cmd_bench(struct peer_run *run)
{
    struct peer_vring *vrs[2 * PEER_MAX_QUEUES];
    size_t n_vrs = peer_run_vrings(run, false, vrs);

    n_vrs += peer_run_vrings(run, true, vrs + n_vrs);
    while (!peer_stop && peer_run_tick(run) && !peer_run_expired(run)) {
        unsigned int n = peer_run_reclaim(run);
        uint64_t budget = peer_run_tx_budget(run, PEER_BURST);

        if (budget) {
            n += peer_run_tx_burst(run, budget);
        }
        n += peer_run_rx_burst(run);
        if (n) {
            peer_run_progress(run);
        } else {
            peer_run_idle_wait(run, vrs, n_vrs);
        }
    }

    double elapsed = peer_now() - run->start;
    const struct peer_stats *s = &run->stats;
    double tx_pps = s->tx_done / elapsed;
    double rx_pps = s->rx_frames / elapsed;

    printf("sent=%"PRIu64" received=%"PRIu64" bad=%"PRIu64" "
           "seconds=%.3f tx_pps=%.0f rx_pps=%.0f tx_mpps=%.3f rx_mpps=%.3f "
           "tx_gbps=%.3f rx_gbps=%.3f",
           s->tx_done, s->rx_frames, s->rx_bad, elapsed, tx_pps, rx_pps,
           tx_pps / 1e6, rx_pps / 1e6,
           s->tx_bytes * 8.0 / elapsed / 1e9,
           s->rx_bytes * 8.0 / elapsed / 1e9);
    peer_print_tx_tcp(run);
    peer_print_rx_tcp(run);
    printf("\n");
    if (s->rx_bad || s->rx_errors) {
        run->failed = true;
    }
}

static int
peer_compare_doubles(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;

    return a < b ? -1 : a > b;
}

/* Returns the frame with sequence number 'seq' from queue 0's receive ring
 * if it arrived (other frames are counted and dropped). */
static bool
peer_ping_reply(struct peer_run *run, uint64_t seq)
{
    struct peer_queue *q = &run->peer->queues[0];
    struct peer_frame_info info;
    struct virtio_net_hdr hdr;
    bool found = false;
    uint8_t *frame;
    uint32_t len;
    int retval;

    while ((retval = peer_rx_next(run->peer, &q->rx, &frame, &len, &hdr))) {
        if (retval < 0) {
            run->stats.rx_errors++;
        } else if (peer_check_frame(run->peer, frame, len, &hdr, &info)
                   == PEER_FRAME_GOOD && info.test && info.seq == seq) {
            found = true;
        } else {
            run->stats.rx_other++;
        }
    }
    peer_publish(run->peer, &q->rx);
    return found;
}

/* How long 'ping' waits for a frame to come back before it counts it as
 * lost. */
#define PEER_PING_TIMEOUT 1.0

/* The 'ping' command: sends one frame at a time on queue 0 and waits until
 * it comes back (from an 'echo' peer, through the back-end), --count round
 * trips (1000 by default) at --rate per second at most, then prints the
 * round-trip times. */
static void
peer_cmd_ping(struct peer_run *run)
{
    const struct peer_options *opts = run->opts;
    struct peer_queue *q = &run->peer->queues[0];
    struct peer_vring *rx = &q->rx;
    uint64_t count = opts->count ? opts->count : 1000;
    double *rtts = calloc(count, sizeof *rtts);
    uint64_t n_done = 0, lost = 0;

    if (!rtts) {
        peer_error("out of memory");
        run->failed = true;
        return;
    }
    while (!peer_stop && n_done + lost < count && peer_run_tick(run)) {
        uint8_t *frame;
        uint16_t id;

        if (opts->rate && run->now < (run->start + (double) (n_done + lost)
                                      / opts->rate)) {
            struct timespec nap = { 0, 20 * 1000 };

            nanosleep(&nap, NULL);
            continue;
        }
        run->stats.tx_done += peer_tx_reclaim(&q->tx);
        frame = peer_tx_slot(run->peer, &q->tx, &id);
        if (!frame) {
            peer_error("transmit ring full: the back-end takes nothing");
            run->failed = true;
            break;
        }

        uint64_t seq = run->seq++;
        double sent_at = peer_now();
        const struct virtio_net_hdr *ol = peer_make_frame(run, frame, seq);

        peer_tx_put(run->peer, &q->tx, id, run->frame_len, ol);
        peer_publish(run->peer, &q->tx);
        run->stats.tx_frames++;
        for (;;) {
            if (peer_ping_reply(run, seq)) {
                rtts[n_done++] = peer_now() - sent_at;
                break;
            }
            if (peer_stop || !peer_run_tick(run)) {
                break;
            }
            if (run->now - sent_at > PEER_PING_TIMEOUT) {
                lost++;
                break;
            }
            peer_run_idle_wait(run, &rx, 1);
        }
    }

    qsort(rtts, n_done, sizeof *rtts, peer_compare_doubles);
    printf("round_trips=%"PRIu64" lost=%"PRIu64, n_done, lost);
    if (n_done) {
        printf(" p50_us=%.1f p99_us=%.1f max_us=%.1f",
               rtts[(n_done - 1) / 2] * 1e6,
               rtts[(n_done - 1) * 99 / 100] * 1e6,
               rtts[n_done - 1] * 1e6);
    }
    printf("\n");
    free(rtts);
    if (lost || n_done < count || run->stats.rx_errors) {
        run->failed = true;
    }
}

/* Runs the command the options name on the started device 'peer'.  Prints
 * the command's result line.  Returns 0 on success, -1 on failure. */
int
peer_run_command(struct peer *peer)
{
    struct peer_run run = {
        .peer = peer,
        .opts = peer->opts,
        .frame_len = peer_tx_frame_len(peer),
        .tcp = peer->tso_tx,
    };

    if (run.tcp) {
        /* Every frame has the same length, hence the same request. */
        run.tx_payload = run.frame_len - PEER_TCP_HDRS_LEN;
        run.tx_hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        run.tx_hdr.csum_start = PEER_TCP_OFS;
        run.tx_hdr.csum_offset = PEER_TCP_CSUM_OFS;
        if (run.tx_payload > peer->opts->mss) {
            run.tx_hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
            run.tx_hdr.gso_size = peer->opts->mss;
            run.tx_hdr.hdr_len = PEER_TCP_HDRS_LEN;
        }
    }
    peer_pattern_init();
    while (peer->opts->wait_signal && !peer_go && !peer_stop) {
        /* Connected and set up; the caller decides when traffic starts.
         * The back-end is checked meanwhile, so that a peer waiting for a
         * switch that went away does not wait forever. */
        struct timespec nap = { 0, 10 * 1000 * 1000 };

        nanosleep(&nap, NULL);
        if (peer_check_backend(peer)) {
            return -1;
        }
    }
    run.start = run.now = run.last_progress = run.last_check = peer_now();
    run.pace_start = run.start;

    switch (peer->opts->command) {
    case PEER_CMD_SEND:
        peer_cmd_send(&run);
        break;
    case PEER_CMD_RECV:
        peer_cmd_recv(&run);
        break;
    case PEER_CMD_ECHO:
        peer_cmd_echo(&run);
        break;
    case PEER_CMD_BENCH:
        peer_cmd_bench(&run);
        break;
    case PEER_CMD_PING:
        peer_cmd_ping(&run);
        break;
    }
    fflush(stdout);

    for (unsigned int i = 0; i < peer->n_queues; i++) {
        const struct peer_queue *q = &peer->queues[i];

        peer_info(peer->opts, "queue %u: sent %"PRIu64", received %"PRIu64,
                  i, q->tx_frames, q->rx_frames);
    }
    return run.failed ? -1 : 0;
}
