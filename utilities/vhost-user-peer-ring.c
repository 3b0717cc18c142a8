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
#define _GNU_SOURCE 1           /* memfd_create(), ppoll(). */
#endif
#include "vhost-user-peer.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Guest memory and the driver side of the split virtqueues (virtio 1.x,
 * "Split Virtqueues"): the rings the peer fills and drains, with the
 * notification suppression rules of VIRTIO_RING_F_EVENT_IDX. */

#define PEER_PAGE_SIZE 4096
#define PEER_MEM_ALIGN (2 * 1024 * 1024)

/* Receive buffer size with mergeable buffers (as Linux and DPDK use), and
 * with GUEST_TSO4 (a page, as Linux's buffers grow to under TCP bulk
 * traffic): 16 buffers for a 64 KB frame. */
#define PEER_MRG_BUF_SIZE 2048
#define PEER_MRG_TSO_BUF_SIZE 4096

/* Smallest receive frame room without mergeable buffers: a full-sized
 * Ethernet frame. */
#define PEER_RX_MIN_FRAME 1514

/* Transmit frame room in echo mode, which reflects whatever it receives. */
#define PEER_ECHO_MAX_FRAME 9216

static size_t
peer_align(size_t x, size_t align)
{
    return (x + align - 1) / align * align;
}

/* Reserves 'size' bytes aligned to 'align' at '*offset' and returns a
 * pointer to them within 'base', or NULL when only measuring ('base' is
 * NULL). */
static void *
peer_carve(uint8_t *base, size_t *offset, size_t size, size_t align)
{
    size_t start = peer_align(*offset, align);

    *offset = start + size;
    return base ? base + start : NULL;
}

/* Returns the guest physical address of 'p', which must point into guest
 * memory: its offset in the memfd. */
uint64_t
peer_gpa(const struct peer *peer, const void *p)
{
    return (const uint8_t *) p - peer->mem;
}

/* Lays out one vring of 'size' entries with buffers of 'buf_size' bytes
 * at '*offset' in guest memory 'base' (NULL to measure only). */
static void
peer_layout_vring(struct peer *peer, struct peer_vring *vr, uint8_t *base,
                  size_t *offset, uint16_t size, uint32_t buf_size)
{
    vr->size = size;
    vr->buf_size = buf_size;
    vr->desc = peer_carve(base, offset, sizeof *vr->desc * size,
                          PEER_PAGE_SIZE);
    vr->avail = peer_carve(base, offset,
                           sizeof *vr->avail + sizeof(uint16_t) * (size + 1),
                           2);
    vr->used = peer_carve(base, offset,
                          sizeof *vr->used
                          + sizeof(struct vring_used_elem) * size
                          + sizeof(uint16_t), PEER_PAGE_SIZE);
    vr->bufs = peer_carve(base, offset, (size_t) buf_size * size, 64);
    vr->indirect = NULL;
    if (vr->is_tx && peer->use_indirect) {
        vr->indirect = peer_carve(base, offset,
                                  sizeof *vr->indirect * 2 * size, 16);
    }
}

/* Lays out every vring in guest memory 'base' (NULL to measure only) and
 * returns the bytes needed. */
static size_t
peer_layout(struct peer *peer, uint8_t *base)
{
    const struct peer_options *opts = peer->opts;
    unsigned int frame = opts->frame_size;
    uint32_t rx_buf_size, tx_buf_size;
    size_t offset = 0;

    if (peer->mrg_rxbuf) {
        rx_buf_size = peer->tso_rx ? PEER_MRG_TSO_BUF_SIZE : PEER_MRG_BUF_SIZE;
    } else {
        rx_buf_size = peer_align(peer->hdr_len + (frame > PEER_RX_MIN_FRAME
                                                  ? frame
                                                  : PEER_RX_MIN_FRAME), 64);
    }
    frame = peer_tx_frame_len(peer);
    if (opts->command == PEER_CMD_ECHO) {
        /* An echo peer that may receive 64 KB frames reflects them too. */
        unsigned int echo_max = (peer->tso_rx ? PEER_MAX_FRAME
                                 : PEER_ECHO_MAX_FRAME);

        frame = frame > echo_max ? frame : echo_max;
    }
    tx_buf_size = peer_align(peer->hdr_len + frame, 64);

    for (unsigned int i = 0; i < peer->n_queues; i++) {
        struct peer_queue *q = &peer->queues[i];

        peer_layout_vring(peer, &q->rx, base, &offset, opts->ring_size,
                          rx_buf_size);
        peer_layout_vring(peer, &q->tx, base, &offset, opts->ring_size,
                          tx_buf_size);
    }
    if (opts->frontend == PEER_FE_CROSVM) {
        /* The control queue: one 64-byte buffer per descriptor pair,
         * the command at its start and the ack at PEER_CTRL_ACK_OFS. */
        peer->ctrl.is_tx = true;
        peer_layout_vring(peer, &peer->ctrl, base, &offset, PEER_CTRL_SIZE,
                          64);
    }
    return peer_align(offset, PEER_MEM_ALIGN);
}

/* Fills in the initial state of 'vr': every receive buffer posted, every
 * transmit buffer free, notifications suppressed. */
static int
peer_init_vring(struct peer *peer, struct peer_vring *vr)
{
    vr->kick_fd = vr->call_fd = -1;
    vr->avail_idx = vr->kicked_idx = vr->last_used = 0;
    vr->free_ids = calloc(vr->size, sizeof *vr->free_ids);
    if (!vr->free_ids) {
        peer_error("out of memory");
        return -1;
    }

    for (unsigned int id = 0; id < vr->size; id++) {
        uint8_t *buf = vr->bufs + (size_t) id * vr->buf_size;

        if (!vr->is_tx) {
            vr->desc[id].addr = peer_gpa(peer, buf);
            vr->desc[id].len = vr->buf_size;
            vr->desc[id].flags = VRING_DESC_F_WRITE;
            vr->avail->ring[vr->avail_idx++ % vr->size] = id;
        } else if (vr->indirect) {
            struct vring_desc *table = &vr->indirect[2 * id];

            table[0].addr = peer_gpa(peer, buf);
            table[0].len = peer->hdr_len;
            table[0].flags = VRING_DESC_F_NEXT;
            table[0].next = 1;
            table[1].addr = peer_gpa(peer, buf) + peer->hdr_len;
            vr->desc[id].addr = peer_gpa(peer, table);
            vr->desc[id].len = 2 * sizeof *table;
            vr->desc[id].flags = VRING_DESC_F_INDIRECT;
            vr->free_ids[vr->n_free++] = vr->size - 1 - id;
        } else {
            vr->desc[id].addr = peer_gpa(peer, buf);
            vr->free_ids[vr->n_free++] = vr->size - 1 - id;
        }
    }
    vr->avail->idx = vr->avail_idx;
    peer_vring_notify_off(peer, vr);
    return 0;
}

/* Creates guest memory (a memfd, mapped shared), lays out the vrings in it
 * and initializes them.  Needs the negotiated features.  Returns 0 or -1
 * after printing an error. */
int
peer_mem_init(struct peer *peer)
{
    const struct peer_options *opts = peer->opts;

    peer->n_queues = opts->queues;
    peer->queues = calloc(peer->n_queues, sizeof *peer->queues);
    peer->scratch = malloc(PEER_MAX_FRAME);
    if (!peer->queues || !peer->scratch) {
        peer_error("out of memory");
        return -1;
    }
    for (unsigned int i = 0; i < peer->n_queues; i++) {
        peer->queues[i].rx.index = 2 * i;
        peer->queues[i].tx.index = 2 * i + 1;
        peer->queues[i].tx.is_tx = true;
    }

    size_t needed = peer_layout(peer, NULL);
    peer->mem_size = needed;
    if (opts->mem_mb) {
        peer->mem_size = (size_t) opts->mem_mb << 20;
        if (peer->mem_size < needed) {
            peer_error("--mem=%u is too small: the rings and buffers need "
                       "%zu MB", opts->mem_mb, (needed + (1 << 20) - 1) >> 20);
            return -1;
        }
    }

    peer->memfd = memfd_create("vhost-user-peer", MFD_CLOEXEC);
    if (peer->memfd < 0) {
        peer_error("memfd_create: %s", strerror(errno));
        return -1;
    }
    if (ftruncate(peer->memfd, peer->mem_size)) {
        peer_error("ftruncate(%zu): %s", peer->mem_size, strerror(errno));
        return -1;
    }
    void *mem = mmap(NULL, peer->mem_size, PROT_READ | PROT_WRITE,
                     MAP_SHARED, peer->memfd, 0);
    if (mem == MAP_FAILED) {
        peer_error("mmap(%zu): %s", peer->mem_size, strerror(errno));
        return -1;
    }
    peer->mem = mem;
    peer_layout(peer, peer->mem);

    for (unsigned int i = 0; i < peer->n_queues; i++) {
        if (peer_init_vring(peer, &peer->queues[i].rx)
            || peer_init_vring(peer, &peer->queues[i].tx)) {
            return -1;
        }
    }
    if (peer->ctrl.size) {
        peer->ctrl.index = 2 * peer->config_pairs;
        if (peer_init_vring(peer, &peer->ctrl)) {
            return -1;
        }
        /* Its kicks are eventfd writes, whatever --notify says: the
         * back-end's control thread sleeps on them. */
        peer->ctrl.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        peer->ctrl.call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (peer->ctrl.kick_fd < 0 || peer->ctrl.call_fd < 0) {
            peer_error("eventfd: %s", strerror(errno));
            return -1;
        }
    }
    peer_debug(opts, "guest memory: %zu bytes (%zu needed)",
               peer->mem_size, needed);
    return 0;
}

static void
peer_vring_destroy(struct peer_vring *vr)
{
    if (!vr->free_ids) {
        /* Never initialized (its fds are not ours, even 0). */
        return;
    }
    free(vr->free_ids);
    vr->free_ids = NULL;
    if (vr->kick_fd >= 0) {
        close(vr->kick_fd);
    }
    if (vr->call_fd >= 0) {
        close(vr->call_fd);
    }
    vr->kick_fd = vr->call_fd = -1;
}

/* Frees guest memory and the vrings. */
void
peer_mem_destroy(struct peer *peer)
{
    if (peer->queues) {
        for (unsigned int i = 0; i < peer->n_queues; i++) {
            peer_vring_destroy(&peer->queues[i].rx);
            peer_vring_destroy(&peer->queues[i].tx);
        }
        free(peer->queues);
        if (peer->ctrl.size) {
            peer_vring_destroy(&peer->ctrl);
        }
        peer->queues = NULL;
    }
    if (peer->mem) {
        munmap(peer->mem, peer->mem_size);
        peer->mem = NULL;
    }
    if (peer->memfd >= 0) {
        close(peer->memfd);
        peer->memfd = -1;
    }
    free(peer->scratch);
    peer->scratch = NULL;
}

/* The used ring index, as the back-end last published it. */
static uint16_t
peer_used_idx(const struct peer_vring *vr)
{
    return __atomic_load_n(&vr->used->idx, __ATOMIC_ACQUIRE);
}

/* Where the driver tells the device when to interrupt (EVENT_IDX). */
static uint16_t *
peer_used_event(struct peer_vring *vr)
{
    return &vr->avail->ring[vr->size];
}

/* Where the device tells the driver when to kick (EVENT_IDX). */
static uint16_t *
peer_avail_event(struct peer_vring *vr)
{
    return (uint16_t *) &vr->used->ring[vr->size];
}

/* Takes back the transmit buffers the back-end has used.  Returns how many
 * it took back. */
unsigned int
peer_tx_reclaim(struct peer_vring *vr)
{
    uint16_t used_idx = peer_used_idx(vr);
    unsigned int n = 0;

    while (vr->last_used != used_idx) {
        uint32_t id = vr->used->ring[vr->last_used % vr->size].id;

        vr->last_used++;
        if (id < vr->size && vr->n_free < vr->size) {
            vr->free_ids[vr->n_free++] = id;
            n++;
        }
    }
    return n;
}

/* Takes a free transmit buffer from 'vr'.  Returns a pointer to its frame
 * room (after the virtio-net header) and its id in '*id', or NULL if the
 * ring is full. */
uint8_t *
peer_tx_slot(struct peer *peer, struct peer_vring *vr, uint16_t *id)
{
    if (!vr->n_free) {
        return NULL;
    }
    *id = vr->free_ids[--vr->n_free];
    return vr->bufs + (size_t) *id * vr->buf_size + peer->hdr_len;
}

/* Returns the length of the test frames the peer sends: --frame-size, but
 * at least PEER_TCP_MIN_FRAME for TCP test frames (the transmit side of
 * --tso negotiated). */
uint32_t
peer_tx_frame_len(const struct peer *peer)
{
    uint32_t len = peer->opts->frame_size;

    return peer->tso_tx && len < PEER_TCP_MIN_FRAME ? PEER_TCP_MIN_FRAME
                                                     : len;
}

/* Queues the frame of 'frame_len' bytes written in buffer 'id' (from
 * peer_tx_slot()) for transmission, with the offload request 'ol' (NULL
 * for none).  The back-end sees it after peer_publish(). */
void
peer_tx_put(struct peer *peer, struct peer_vring *vr, uint16_t id,
            uint32_t frame_len, const struct virtio_net_hdr *ol)
{
    uint8_t *buf = vr->bufs + (size_t) id * vr->buf_size;

    /* The request, if any, and zeros for the rest (num_buffers too, on
     * transmit). */
    memset(buf, 0, peer->hdr_len);
    if (ol) {
        memcpy(buf, ol, sizeof *ol);
    }
    if (vr->indirect) {
        vr->indirect[2 * id + 1].len = frame_len;
    } else {
        vr->desc[id].len = peer->hdr_len + frame_len;
        vr->desc[id].flags = 0;
    }
    vr->avail->ring[vr->avail_idx++ % vr->size] = id;
}

/* Returns true if the back-end wants a kick for the buffers made available
 * since the last check. */
static bool
peer_needs_kick(struct peer *peer, struct peer_vring *vr)
{
    uint16_t old = vr->kicked_idx;
    uint16_t new = vr->avail_idx;

    vr->kicked_idx = new;
    if (peer->event_idx) {
        uint16_t event = __atomic_load_n(peer_avail_event(vr),
                                         __ATOMIC_RELAXED);

        return (uint16_t) (new - event - 1) < (uint16_t) (new - old);
    }
    return !(__atomic_load_n(&vr->used->flags, __ATOMIC_RELAXED)
             & VRING_USED_F_NO_NOTIFY);
}

/* Makes the buffers queued on 'vr' visible to the back-end, and kicks it
 * if it uses notifications and wants one. */
void
peer_publish(struct peer *peer, struct peer_vring *vr)
{
    if (vr->avail->idx == vr->avail_idx) {
        return;
    }
    __atomic_store_n(&vr->avail->idx, vr->avail_idx, __ATOMIC_RELEASE);

    if (vr->kick_fd >= 0) {
        /* The avail index store must be visible before we read the
         * back-end's suppression state. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (peer_needs_kick(peer, vr)) {
            uint64_t one = 1;

            if (write(vr->kick_fd, &one, sizeof one) < 0) {
                /* The counter cannot overflow in practice; nothing to
                 * do. */
            }
        }
    }
}

/* Gives receive buffer 'id' back to the ring.  The back-end sees it after
 * peer_publish(). */
static void
peer_rx_recycle(struct peer_vring *vr, uint32_t id)
{
    vr->avail->ring[vr->avail_idx++ % vr->size] = id;
}

/* Reads used entry 'i' of receive ring 'vr': its buffer in '*buf' and the
 * bytes written in '*len'.  Returns false if the back-end wrote nonsense
 * (then the buffer, if any, is recycled). */
static bool
peer_rx_entry(struct peer_vring *vr, uint16_t i, uint8_t **buf,
              uint32_t *len)
{
    struct vring_used_elem *e = &vr->used->ring[i % vr->size];
    uint32_t id = e->id;

    *len = e->len;
    if (id >= vr->size) {
        return false;
    }
    peer_rx_recycle(vr, id);
    *buf = vr->bufs + (size_t) id * vr->buf_size;
    return *len <= vr->buf_size;
}

/* Gathers a frame spread over 'n' mergeable buffers, whose first one
 * (already read) is 'buf' with 'len' bytes, into the scratch buffer.
 * Returns the frame length or -1 if the back-end wrote nonsense. */
static int
peer_rx_gather(struct peer *peer, struct peer_vring *vr, uint16_t n,
               const uint8_t *buf, uint32_t len)
{
    size_t total = len - peer->hdr_len;
    bool ok = true;

    memcpy(peer->scratch, buf + peer->hdr_len, total);
    for (uint16_t i = 1; i < n; i++) {
        uint8_t *next;
        uint32_t next_len;

        if (!peer_rx_entry(vr, vr->last_used + i, &next, &next_len)
            || total + next_len > PEER_MAX_FRAME) {
            ok = false;
        } else if (ok) {
            memcpy(peer->scratch + total, next, next_len);
            total += next_len;
        }
    }
    return ok ? (int) total : -1;
}

/* Fetches the next received frame from 'vr' into '*frame' and '*len', and
 * a copy of its virtio-net header (without num_buffers) into '*hdr': the
 * back-end wrote it, so nothing in it is checked here.  The frame stays
 * valid until the next peer_publish() on 'vr', which gives its buffers back
 * to the back-end.  Returns 1 if there was a frame, 0 if there was none, -1
 * if the back-end wrote a malformed entry (which is skipped). */
int
peer_rx_next(struct peer *peer, struct peer_vring *vr, uint8_t **frame,
             uint32_t *len, struct virtio_net_hdr *hdr)
{
    uint16_t used_idx = peer_used_idx(vr);
    uint16_t n_bufs = 1;
    uint8_t *buf;
    uint32_t buf_len;
    int retval = 1;

    if (vr->last_used == used_idx) {
        return 0;
    }
    if (!peer_rx_entry(vr, vr->last_used, &buf, &buf_len)
        || buf_len < peer->hdr_len) {
        vr->last_used++;
        return -1;
    }
    memcpy(hdr, buf, sizeof *hdr);

    if (peer->mrg_rxbuf) {
        const struct virtio_net_hdr_mrg_rxbuf *mrg = (const void *) buf;

        /* Read once: the back-end may change it under our feet. */
        n_bufs = __atomic_load_n(&mrg->num_buffers, __ATOMIC_RELAXED);
        n_bufs = n_bufs ? n_bufs : 1;
        if (n_bufs > vr->size
            || (uint16_t) (used_idx - vr->last_used) < n_bufs) {
            /* The device publishes a frame's buffers together, and never
             * more than the ring holds, so this is a broken back-end; take
             * the buffer back and skip it. */
            vr->last_used++;
            return -1;
        }
    }

    if (n_bufs == 1) {
        *frame = buf + peer->hdr_len;
        *len = buf_len - peer->hdr_len;
    } else {
        int n = peer_rx_gather(peer, vr, n_bufs, buf, buf_len);

        *frame = peer->scratch;
        *len = n < 0 ? 0 : n;
        retval = n < 0 ? -1 : 1;
    }
    vr->last_used += n_bufs;
    return retval;
}

/* Asks the back-end for a call when it next uses buffers of 'vr'.  Returns
 * true if it already has (so there is no point in waiting). */
bool
peer_vring_notify_on(struct peer *peer, struct peer_vring *vr)
{
    if (peer->event_idx) {
        __atomic_store_n(peer_used_event(vr), vr->last_used,
                         __ATOMIC_RELAXED);
    } else {
        vr->avail->flags = 0;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return peer_used_idx(vr) != vr->last_used;
}

/* Tells the back-end that 'vr' needs no calls for now. */
void
peer_vring_notify_off(struct peer *peer, struct peer_vring *vr)
{
    if (peer->event_idx) {
        /* As far from the current position as the index space allows. */
        __atomic_store_n(peer_used_event(vr), vr->last_used + 0x8000,
                         __ATOMIC_RELAXED);
    } else {
        vr->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
    }
}

/* Sleeps until the back-end calls on one of the 'n' vrings in 'vrs', or
 * 'timeout_us' microseconds pass, or the control channel becomes readable.
 * Vrings without call eventfds (polled) just bound the sleep.  Returns 0,
 * or -1 if the back-end went away (after printing an error). */
int
peer_wait(struct peer *peer, struct peer_vring *const *vrs, size_t n,
          long timeout_us)
{
    struct timespec timeout = {
        .tv_sec = timeout_us / 1000000,
        .tv_nsec = timeout_us % 1000000 * 1000,
    };
    struct pollfd pfds[2 * PEER_MAX_QUEUES + 1];
    size_t n_pfds = 0;
    bool pending = false;

    for (size_t i = 0; i < n; i++) {
        if (peer_vring_notify_on(peer, vrs[i])) {
            pending = true;
        }
        pfds[n_pfds++] = (struct pollfd) { .fd = vrs[i]->call_fd,
                                           .events = POLLIN };
    }
    pfds[n_pfds++] = (struct pollfd) { .fd = peer->sock, .events = POLLIN };

    if (!pending && ppoll(pfds, n_pfds, &timeout, NULL) > 0) {
        for (size_t i = 0; i + 1 < n_pfds; i++) {
            uint64_t counter;

            if (pfds[i].revents & POLLIN
                && read(pfds[i].fd, &counter, sizeof counter) < 0) {
                /* Nonblocking eventfd: nothing more to read. */
            }
        }
    }

    for (size_t i = 0; i < n; i++) {
        peer_vring_notify_off(peer, vrs[i]);
    }
    return pfds[n_pfds - 1].revents ? peer_check_backend(peer) : 0;
}
