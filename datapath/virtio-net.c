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
#include "virtqueue.h"

#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "net-offload.h"
#include "prefetch.h"

/* The virtio-net data path: frames from the guest's transmit queues
 * (dequeue, vring 2*qp+1) and into its receive queues (enqueue, vring
 * 2*qp), with the virtio-net header read on the way out (its offload
 * request, if CSUM was negotiated; net-offload.c) and written on the way
 * in ('num_buffers', and the caller's offload request). */

/* Bytes of virtio-net header: struct virtio_net_hdr_mrg_rxbuf with
 * VERSION_1 or MRG_RXBUF, otherwise struct virtio_net_hdr. */
#define VHU_NET_HDR_LEN_MRG 12
#define VHU_NET_HDR_LEN     10
#define VHU_NET_HDR_NUM_BUFFERS_OFS 10

static uint32_t
net_hdr_len(uint64_t features)
{
    return (features & (VHU_BIT(VHU_VIRTIO_F_VERSION_1)
                        | VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF))
            ? VHU_NET_HDR_LEN_MRG : VHU_NET_HDR_LEN);
}

/* Fills 'hdr' with the header of every frame we send: no offloads and
 * 'num_buffers' 1 (only its first bytes go out without mergeable buffers
 * and VERSION_1). */
static void
net_hdr_init(uint8_t hdr[VHU_NET_HDR_LEN_MRG])
{
    uint16_t one = 1;

    memset(hdr, 0, VHU_NET_HDR_LEN_MRG);
    memcpy(&hdr[VHU_NET_HDR_NUM_BUFFERS_OFS], &one, sizeof one);
}

/* True if ring 'vring' of 'dev' is published and not broken. */
static bool
vring_ready(const struct vhu_device *dev, unsigned int vring)
{
    struct vhu_vring *vr = &((struct vhu_device *) dev)->vrings[vring];

    return (atomic_load_explicit(&vr->live, memory_order_acquire)
            && !atomic_load_explicit(&vr->broken, memory_order_relaxed));
}

bool
vhu_rx_ready(const struct vhu_device *dev, unsigned int qp)
{
    return qp < dev->opts.max_queue_pairs && vring_ready(dev, 2 * qp + 1);
}

bool
vhu_tx_ready(const struct vhu_device *dev, unsigned int qp)
{
    return qp < dev->opts.max_queue_pairs && vring_ready(dev, 2 * qp);
}

/* True if guest physical range [gpa, gpa + len) is mapped, possibly across
 * several adjacent regions. */
static bool
guest_range_mapped(struct vhu_burst *b, uint64_t gpa, uint64_t len)
{
    while (len) {
        uint64_t contig;

        if (!vhu_mem_gpa_to_host(b->mem, &b->vr->mem_hint, gpa, &contig)) {
            return false;
        }
        if (contig >= len) {
            break;
        }
        gpa += contig;
        len -= contig;
    }
    return true;
}

/* Copies 'len' bytes of guest memory at 'gpa' to 'dst', region by region.
 * Returns false if some of it is not mapped. */
static bool
copy_from_guest(struct vhu_burst *b, uint8_t *dst, uint64_t gpa,
                uint64_t len)
{
    while (len) {
        uint64_t contig;
        const uint8_t *src = vhu_mem_gpa_to_host(b->mem, &b->vr->mem_hint,
                                                 gpa, &contig);
        uint64_t n = len < contig ? len : contig;

        if (!src) {
            return false;
        }
        memcpy(dst, src, n);
        dst += n;
        gpa += n;
        len -= n;
    }
    return true;
}

/* Dequeue (guest transmit). */

/* Walks the chain at 'head' without copying, storing its total length in
 * '*total'.  Returns false, breaking the ring, if the chain is invalid. */
static bool
tx_chain_len(struct vhu_burst *b, uint16_t head, uint64_t *total)
{
    struct vhu_chain c;
    struct vhu_seg s;
    int r;

    *total = 0;
    vhu_chain_start(b, &c, head);
    while ((r = vhu_chain_next(b, &c, &s)) > 0) {
        if (s.write) {
            vhu_burst_fail(b, "device-writable descriptor in a transmit "
                           "chain");
            return false;
        }
        if (!guest_range_mapped(b, s.gpa, s.len)) {
            vhu_burst_fail(b, "transmit buffer at 0x%"PRIx64" (length %"
                           PRIu32") not in mapped memory", s.gpa, s.len);
            return false;
        }
        *total += s.len;
    }
    return r == 0;
}

/* Copies the frame of the chain at 'head', after 'skip' bytes of header,
 * into 'data' ('len' bytes).  Returns false, breaking the ring, if the
 * chain changed under us into an invalid one (what was not copied is then
 * zeroed). */
static bool
tx_chain_copy(struct vhu_burst *b, uint16_t head, uint32_t skip,
              uint8_t *data, uint32_t len)
{
    uint32_t copied = 0;
    struct vhu_chain c;
    struct vhu_seg s;
    bool ok = true;
    int r = 0;

    vhu_chain_start(b, &c, head);
    while (copied < len && (r = vhu_chain_next(b, &c, &s)) > 0) {
        uint64_t gpa = s.gpa;
        uint32_t n = s.len;

        if (skip) {
            uint32_t k = n < skip ? n : skip;

            skip -= k;
            gpa += k;
            n -= k;
        }
        if (n > len - copied) {
            n = len - copied;
        }
        if (s.write || !copy_from_guest(b, data + copied, gpa, n)) {
            vhu_burst_fail(b, "transmit chain changed while being read");
            ok = false;
            break;
        }
        copied += n;
    }
    if (r < 0) {
        ok = false;
    }
    if (copied < len) {
        memset(data + copied, 0, len - copied);
    }
    return ok;
}

/* Heads are read this many at a time ahead of the copies, so that the
 * guest buffers' first cache lines, which the other side last wrote, are
 * on their way while earlier frames are copied. */
#define VHU_STAGE 32

/* Starts loading, with 'prefetch' (vhu_prefetch_write or
 * vhu_prefetch_read), the lines that the first 129 bytes of guest buffer
 * [p, p + len) ('len' > 0) touch: three at most, the header and the start
 * of the frame (the hardware prefetcher follows longer copies).  A line
 * may be prefetched twice, which costs less than a test.  No loop, and no
 * test of a flag for the kind of prefetch: GCC 12 drops prefetches from a
 * loop with nothing else in it, and from the arms of an if on a
 * constant. */
static inline __attribute__((__always_inline__)) void
prefetch_buffer(const uint8_t *p, uint32_t len,
                void (*prefetch)(const void *))
{
    uint32_t last = len <= 128 ? len - 1 : 128;
    uint32_t mid = last < 64 ? last : 64;

    prefetch(p);
    prefetch(p + mid);
    prefetch(p + last);
}

static inline int
min_int(int a, int b)
{
    return a < b ? a : b;
}

/* A head read ahead. */
struct stage {
    uint16_t head;
    uint32_t len;               /* Bytes at 'buf' (header included). */
    uint8_t *buf;               /* NULL if not a single descriptor. */
    uint64_t gpa;               /* Guest address of 'buf'. */
};

/* The last region hit in the memory table of burst 'b', held in locals
 * by stage_heads_*(): stores into their stage array could alias the
 * table and the ring for the compiler, which would reload them per head. */
struct region_view {
    uint64_t gpa, size;
    uint8_t *host;
};

static inline __attribute__((__always_inline__)) void
region_view_init(const struct vhu_burst *b, struct region_view *rv)
{
    const struct vhu_region *r = (b->vr->mem_hint < b->mem->n
                                  ? &b->mem->regions[b->vr->mem_hint]
                                  : NULL);

    rv->gpa = r ? r->gpa : 0;
    rv->size = r ? r->size : 0;
    rv->host = r ? r->host : NULL;
}

/* Returns our pointer to guest buffer [addr, addr + len), or NULL if it is
 * not within one region, trying 'rv' first and making it the region hit
 * otherwise. */
static inline __attribute__((__always_inline__)) uint8_t *
region_view_buf(struct vhu_burst *b, struct region_view *rv, uint64_t addr,
                uint32_t len)
{
    uint64_t ofs = addr - rv->gpa;
    uint8_t *buf;

    if (__builtin_expect(ofs < rv->size && len <= rv->size - ofs, 1)) {
        return rv->host + ofs;
    }
    buf = vhu_mem_gpa_range(b->mem, &b->vr->mem_hint, addr, len);
    if (buf) {
        const struct vhu_region *r = &b->mem->regions[b->vr->mem_hint];

        rv->gpa = r->gpa;
        rv->size = r->size;
        rv->host = r->host;
    }
    return buf;
}

/* Prefetches staged buffer 'buf' of 'len' bytes: for writing the header of
 * 'hlen' bytes and frame 'f', if nonnull, else for reading. */
static inline __attribute__((__always_inline__)) void
stage_prefetch(const uint8_t *buf, uint32_t len, uint32_t hlen,
               const struct vhu_frame *f)
{
    if (f) {
        uint32_t bytes = hlen + f->len;

        prefetch_buffer(buf, bytes < len ? bytes : len, vhu_prefetch_write);
    } else {
        prefetch_buffer(buf, len, vhu_prefetch_read);
    }
}

/* Reads the next 'n' heads from 'b' into 'st', with their buffers when
 * the chain is the common one: a single direct descriptor, device-writable
 * for a guest receive ring ('frames' nonnull) and device-readable for a
 * guest transmit ring, in one region (any other chain is left to the
 * general path, which walks and validates it).  The buffers' first lines
 * are prefetched: for a receive ring, for writing and only as many as the
 * next 'n' 'frames' will take after a header of 'hlen' bytes.  Returns how
 * many heads were read: fewer than 'n' if one was out of range, which
 * breaks the ring. */
static inline __attribute__((__always_inline__)) int
stage_heads_split(struct vhu_burst *b, struct stage *st, int n,
                  uint32_t hlen, const struct vhu_frame *frames)
{
    /* The ring's addresses, read once (see struct region_view). */
    struct vhu_vring *vr = b->vr;
    const uint16_t *avail_ring = vr->avail->ring;
    const struct vhu_desc *desc = vr->desc;
    uint16_t size = vr->size;
    uint16_t slot = vr->last_avail_idx + b->done;
    uint16_t want = frames ? VHU_DESC_F_WRITE : 0;
    struct region_view rv;

    region_view_init(b, &rv);
    for (int k = 0; k < n; k++) {
        uint16_t head = vhu_read_u16(&avail_ring[(uint16_t) (slot + k)
                                                 & (size - 1)]);
        struct vhu_desc d;

        if (__builtin_expect(head >= size, 0)) {
            vhu_burst_fail(b, "descriptor head %u out of range", head);
            return k;
        }
        st[k].head = head;
        vhu_read_desc(&desc[head], &d);
        st[k].len = d.len;
        st[k].gpa = d.addr;
        st[k].buf = NULL;
        if ((d.flags & (VHU_DESC_F_NEXT | VHU_DESC_F_INDIRECT
                        | VHU_DESC_F_WRITE)) != want || !d.len) {
            continue;
        }
        st[k].buf = region_view_buf(b, &rv, d.addr, d.len);
        if (st[k].buf) {
            stage_prefetch(st[k].buf, d.len, hlen,
                           frames ? &frames[k] : NULL);
        }
    }
    return n;
}

/* stage_heads() for a packed ring, whose chains vhu_burst_avail() found
 * with the head descriptor read; the last region's bounds are read once,
 * as in stage_heads_split(). */
static inline __attribute__((__always_inline__)) int
stage_heads_packed(struct vhu_burst *b, struct stage *st, int n,
                   uint32_t hlen, const struct vhu_frame *frames)
{
    const struct vhu_pchain *pk = &b->pk[b->done];
    uint16_t want = frames ? VHU_DESC_F_WRITE : 0;
    uint16_t done = b->done;
    struct region_view rv;

    region_view_init(b, &rv);
    for (int k = 0; k < n; k++, pk++) {
        uint64_t addr = pk->d.addr;
        uint32_t len = pk->d.len;

        st[k].head = done + k;
        st[k].len = len;
        st[k].gpa = addr;
        st[k].buf = NULL;
        if (pk->n_desc != 1
            || (pk->d.flags & (VHU_DESC_F_INDIRECT | VHU_DESC_F_WRITE))
               != want
            || !len) {
            continue;
        }
        st[k].buf = region_view_buf(b, &rv, addr, len);
        if (st[k].buf) {
            stage_prefetch(st[k].buf, len, hlen, frames ? &frames[k] : NULL);
        }
    }
    return n;
}

/* Reads the next 'n' heads (available) from 'b' into 'st', with the
 * buffer of each that is a single descriptor (see stage_heads_split()).
 * Returns how many heads were read: fewer than 'n' if the ring broke. */
static inline __attribute__((__always_inline__)) int
stage_heads(struct vhu_burst *b, struct stage *st, int n,
            uint32_t hlen, const struct vhu_frame *frames)
{
    return (__builtin_expect(b->packed, 0)
            ? stage_heads_packed(b, st, n, hlen, frames)
            : stage_heads_split(b, st, n, hlen, frames));
}

/* Reads the offload request of the frame of 'len' bytes at 'head' (whose
 * buffer 's' read ahead, if a single one) into 'ol'.  Returns 1 if it is
 * valid, 0 if not, -1 if the ring broke. */
static int
tx_read_offload(struct vhu_burst *b, const struct stage *s, uint32_t len,
                struct vhu_net_offload *ol)
{
    uint8_t hdr[VHU_NET_HDR_OFFLOAD_LEN];

    if (s->buf) {
        memcpy(hdr, s->buf, sizeof hdr);
    } else if (!tx_chain_copy(b, s->head, 0, hdr, sizeof hdr)) {
        return -1;
    }
    return vhu_net_hdr_read(hdr, b->features, len, ol);
}

/* Counters of a burst, added to the ring's statistics at its end. */
struct burst_counts {
    uint64_t good, bytes, errors, bad_ol;
};

/* Adds 'c' to the statistics of the ring of 'b'. */
static void
burst_counts_add(struct vhu_burst *b, const struct burst_counts *c)
{
    vhu_counter_add(&b->vr->stats.packets, c->good);
    vhu_counter_add(&b->vr->stats.bytes, c->bytes);
    if (c->errors) {
        vhu_counter_add(&b->vr->stats.errors, c->errors);
    }
    if (c->bad_ol) {
        vhu_counter_add(&b->vr->stats.bad_offloads, c->bad_ol);
    }
}

/* The frames of vhu_dequeue_burst_ol() from burst 'b' (begun), whose
 * guest sends offload requests if 'host_ol'.  Always inlined, so that the
 * common call, with constant 'host_ol' false and 'ols' NULL, loses the
 * tests of both. */
static inline __attribute__((__always_inline__)) int
dequeue_frames(struct vhu_burst *b, vhu_alloc_fn *alloc,
               vhu_free_fn *free_pkt, void *aux, void **pkts,
               struct vhu_net_offload *ols, int max, bool host_ol,
               struct burst_counts *c)
{
    uint32_t hlen = net_hdr_len(b->features);
    struct stage st[VHU_STAGE];
    bool stop = false;
    int n = 0;

    while (!stop && n < max) {
        int want = min_int(VHU_STAGE, max - n);
        int n_st;

        want = min_int(want, vhu_burst_avail(b, want));
        if (!want) {
            break;
        }
        n_st = stage_heads(b, st, want, 0, NULL);
        struct vhu_used_elem used[VHU_STAGE];
        int n_used = 0;

        stop = n_st < want;
        for (int k = 0; k < n_st; k++) {
            uint16_t head = st[k].head;
            uint64_t total = st[k].len;
            struct vhu_net_offload ol;
            uint64_t len;
            void *data;
            void *pkt;

            if (!st[k].buf && !tx_chain_len(b, head, &total)) {
                stop = true;
                break;
            }
            /* One test for both a chain shorter than the header (which
             * wraps around) and a frame too long. */
            len = total - hlen;
            if (len > VHU_MAX_FRAME_LEN) {
                /* Give the buffer back unused and count the bad frame. */
                c->errors++;
                used[n_used++] = (struct vhu_used_elem) { head, 0 };
                continue;
            }
            if (host_ol) {
                int r = tx_read_offload(b, &st[k], len, &ol);

                if (r < 0) {
                    stop = true;
                    break;
                }
                if (!r || (!ols && ol.gso_type)) {
                    /* Give the buffer back and count the bad request. */
                    c->bad_ol++;
                    used[n_used++] = (struct vhu_used_elem) { head, 0 };
                    continue;
                }
            }
            pkt = alloc(aux, len, &data);
            if (!pkt) {
                stop = true;
                break;
            }
            if (st[k].buf) {
                memcpy(data, st[k].buf + hlen, len);
            } else if (!tx_chain_copy(b, head, hlen, data, len)) {
                /* Never forward a frame copied in part. */
                free_pkt(aux, pkt);
                stop = true;
                break;
            }
            if (!host_ol) {
                if (ols) {
                    memset(&ols[n], 0, sizeof ols[n]);
                }
            } else if (ols) {
                ols[n] = ol;
            } else if (ol.flags) {
                vhu_net_csum_fixup(data, len, &ol);
            }
            pkts[n++] = pkt;
            used[n_used++] = (struct vhu_used_elem) { head, 0 };
            c->good++;
            c->bytes += len;
        }
        vhu_burst_used_n(b, b->done, used, n_used);
        vhu_burst_commit(b, n_used);
    }
    return n;
}

/* See vhost-engine.h.  The handles stored in 'pkts' are the caller's.
 * Without 'ols', a checksum request is completed here and a GSO frame is
 * dropped as a bad offload. */
int
vhu_dequeue_burst_ol(struct vhu_device *dev, unsigned int qp,
                     vhu_alloc_fn *alloc, vhu_free_fn *free_pkt, void *aux,
                     void **pkts, struct vhu_net_offload *ols, int max)
{
    struct burst_counts c = { 0, 0, 0, 0 };
    struct vhu_burst b;
    bool host_ol;
    int n;

    if (qp >= dev->opts.max_queue_pairs || max <= 0
        || !vhu_burst_begin(&b, dev, 2 * qp + 1)) {
        return 0;
    }
    host_ol = vhu_net_host_offloads(b.features);
    if (!host_ol && !ols) {
        n = dequeue_frames(&b, alloc, free_pkt, aux, pkts, NULL, max, false,
                           &c);
    } else {
        n = dequeue_frames(&b, alloc, free_pkt, aux, pkts, ols, max, host_ol,
                           &c);
    }
    vhu_burst_end(&b);
    burst_counts_add(&b, &c);
    return n;
}

int
vhu_dequeue_burst(struct vhu_device *dev, unsigned int qp,
                  vhu_alloc_fn *alloc, vhu_free_fn *free_pkt, void *aux,
                  void **pkts, int max)
{
    return vhu_dequeue_burst_ol(dev, qp, alloc, free_pkt, aux, pkts, NULL,
                                max);
}

/* Enqueue (guest receive). */

/* Streams a virtio-net header followed by a frame into guest buffers,
 * remembering where the header went so that 'num_buffers' can be patched
 * in once known. */
struct rx_writer {
    uint8_t hdr[VHU_NET_HDR_LEN_MRG];
    uint32_t hlen;
    const uint8_t *data;
    uint32_t pos, total;        /* Bytes written, to write (hlen + frame). */
    struct {
        uint8_t *host;
        uint64_t gpa;
        uint32_t len;
    } hdr_segs[VHU_NET_HDR_LEN_MRG];
    unsigned int n_hdr_segs;
};

static void
rx_writer_init(struct rx_writer *w, uint32_t hlen, const struct vhu_frame *f,
               const struct vhu_net_offload *ol)
{
    net_hdr_init(w->hdr);
    if (ol) {
        vhu_net_hdr_write(w->hdr, ol);
    }
    w->hlen = hlen;
    w->data = f->data;
    w->pos = 0;
    w->total = hlen + f->len;
    w->n_hdr_segs = 0;
}

/* Writes as much of the stream as fits into guest buffer [gpa, gpa +
 * len).  Returns the bytes written, or -1 if the buffer is not mapped. */
static int64_t
rx_fill(struct vhu_burst *b, struct rx_writer *w, uint64_t gpa, uint32_t len)
{
    int64_t written = 0;

    while (len && w->pos < w->total) {
        uint64_t contig, n;
        uint8_t *host = vhu_mem_gpa_to_host(b->mem, &b->vr->mem_hint, gpa,
                                            &contig);

        if (!host) {
            return -1;
        }
        n = len < contig ? len : contig;
        if (n > w->total - w->pos) {
            n = w->total - w->pos;
        }
        if (w->pos < w->hlen) {
            uint32_t h = n < w->hlen - w->pos ? n : w->hlen - w->pos;

            memcpy(host, &w->hdr[w->pos], h);
            w->hdr_segs[w->n_hdr_segs].host = host;
            w->hdr_segs[w->n_hdr_segs].gpa = gpa;
            w->hdr_segs[w->n_hdr_segs].len = h;
            w->n_hdr_segs++;
            memcpy(host + h, w->data, n - h);
        } else {
            memcpy(host, w->data + (w->pos - w->hlen), n);
        }
        if (b->log) {
            vhu_log_cache_mark(&b->log_cache, b->log, gpa, n);
        }
        w->pos += n;
        gpa += n;
        len -= n;
        written += n;
    }
    return written;
}

/* Writes 'nbufs' into the 'num_buffers' field of the header already
 * written by 'w'. */
static void
rx_patch_num_buffers(struct vhu_burst *b, struct rx_writer *w,
                     uint16_t nbufs)
{
    uint32_t pos = 0;
    uint8_t bytes[2];

    memcpy(bytes, &nbufs, sizeof bytes);
    if (w->n_hdr_segs
        && w->hdr_segs[0].len >= VHU_NET_HDR_NUM_BUFFERS_OFS + sizeof bytes) {
        /* The usual case: the whole header in the first buffer. */
        memcpy(w->hdr_segs[0].host + VHU_NET_HDR_NUM_BUFFERS_OFS, bytes,
               sizeof bytes);
        if (b->log) {
            vhu_log_cache_mark(&b->log_cache, b->log,
                               w->hdr_segs[0].gpa
                               + VHU_NET_HDR_NUM_BUFFERS_OFS, sizeof bytes);
        }
        return;
    }
    for (unsigned int i = 0; i < w->n_hdr_segs; i++) {
        for (uint32_t j = 0; j < w->hdr_segs[i].len; j++, pos++) {
            if (pos >= VHU_NET_HDR_NUM_BUFFERS_OFS) {
                w->hdr_segs[i].host[j]
                    = bytes[pos - VHU_NET_HDR_NUM_BUFFERS_OFS];
                if (b->log) {
                    vhu_log_cache_mark(&b->log_cache, b->log,
                                       w->hdr_segs[i].gpa + j, 1);
                }
            }
        }
    }
}

/* Fills the chain at 'head' from 'w' until the chain or the stream ends.
 * Stores the bytes written in '*written'.  Returns false, breaking the
 * ring, if the chain is invalid. */
static bool
rx_fill_chain(struct vhu_burst *b, struct rx_writer *w, uint16_t head,
              uint32_t *written)
{
    struct vhu_chain c;
    struct vhu_seg s;
    int r = 0;

    *written = 0;
    vhu_chain_start(b, &c, head);
    while (w->pos < w->total && (r = vhu_chain_next(b, &c, &s)) > 0) {
        int64_t n;

        if (!s.write) {
            vhu_burst_fail(b, "read-only descriptor in a receive chain");
            return false;
        }
        n = rx_fill(b, w, s.gpa, s.len);
        if (n < 0) {
            vhu_burst_fail(b, "receive buffer at 0x%"PRIx64" (length %"
                           PRIu32") not in mapped memory", s.gpa, s.len);
            return false;
        }
        *written += n;
    }
    return r >= 0;
}

/* Checks the chain at 'head' before anything is written into it: every
 * descriptor device-writable and mapped, up to 'need' bytes of capacity
 * (the rest of the chain is not looked at); stores the capacity found in
 * '*capp'.  Returns false, breaking the ring, if the chain is invalid. */
static bool
rx_check_chain(struct vhu_burst *b, uint16_t head, uint32_t need,
               uint64_t *capp)
{
    uint64_t cap = 0;
    struct vhu_chain c;
    struct vhu_seg s;
    int r = 0;

    vhu_chain_start(b, &c, head);
    while (cap < need && (r = vhu_chain_next(b, &c, &s)) > 0) {
        if (!s.write) {
            vhu_burst_fail(b, "read-only descriptor in a receive chain");
            return false;
        }
        if (!guest_range_mapped(b, s.gpa, s.len)) {
            vhu_burst_fail(b, "receive buffer at 0x%"PRIx64" (length %"
                           PRIu32") not in mapped memory", s.gpa, s.len);
            return false;
        }
        cap += s.len;
    }
    *capp = cap;
    return r >= 0;
}

/* Copies frame 'f' into one or (with mergeable buffers) more chains.
 * Returns 1 if it was copied, 0 if there is not enough room (nothing is
 * committed), -1 if the ring broke. */
static int
rx_one(struct vhu_burst *b, const struct vhu_frame *f,
       const struct vhu_net_offload *ol, uint32_t hlen, bool mergeable)
{
    struct rx_writer w;
    uint16_t nbufs = 0;

    rx_writer_init(&w, hlen, f, ol);
    while (w.pos < w.total) {
        uint32_t written;
        uint64_t cap;
        uint16_t head;

        if ((nbufs && !mergeable) || !vhu_burst_has(b, b->done + nbufs)) {
            return 0;
        }
        if (!vhu_burst_head(b, b->done + nbufs, &head)
            || !rx_check_chain(b, head, w.total - w.pos, &cap)) {
            return -1;
        }
        if (!mergeable && cap < w.total) {
            return 0;           /* Does not fit: leave the chain alone. */
        }
        if (!rx_fill_chain(b, &w, head, &written)) {
            return -1;
        }
        vhu_burst_used(b, b->done + nbufs, head, written);
        nbufs++;
    }
    if (mergeable) {
        rx_patch_num_buffers(b, &w, nbufs);
    }
    vhu_burst_commit(b, nbufs);
    return 1;
}

/* True if header ('hlen' bytes) and frame 'f' fit the single-descriptor
 * buffer read ahead in 's'. */
static inline bool
rx_fits_single(const struct stage *s, uint32_t hlen,
               const struct vhu_frame *f)
{
    return s->buf && s->len >= hlen + f->len;
}

/* Writes header 'hdr' ('hlen' bytes, 'num_buffers' 1) at 'dst'. */
static inline void
rx_write_header(uint8_t *dst, const uint8_t *hdr, uint32_t hlen)
{
    if (hlen == VHU_NET_HDR_LEN_MRG) {
        memcpy(dst, hdr, VHU_NET_HDR_LEN_MRG);  /* Two stores. */
    } else {
        memcpy(dst, hdr, VHU_NET_HDR_LEN);
    }
}

/* Returns the offload request of frame 'i' to write, or NULL if none:
 * 'ols' may be NULL, and most of its entries ask for nothing. */
static inline const struct vhu_net_offload *
rx_offload(const struct vhu_net_offload *ols, int i)
{
    return (ols && (ols[i].flags | ols[i].gso_type)) ? &ols[i] : NULL;
}

/* True if frame 'f', with request 'ol' (or NULL), cannot go to the guest
 * of features 'features' at all: longer than VHU_MAX_FRAME_LEN (counted
 * in '*n_errors') or with a request the guest cannot take ('*n_bad_ol'). */
static inline bool
rx_refused(const struct vhu_frame *f, const struct vhu_net_offload *ol,
           uint64_t features, uint64_t *n_errors, uint64_t *n_bad_ol)
{
    if (__builtin_expect(f->len > VHU_MAX_FRAME_LEN, 0)) {
        (*n_errors)++;
        return true;
    }
    if (ol && !vhu_net_hdr_allowed(ol, features, f->len)) {
        (*n_bad_ol)++;
        return true;
    }
    return false;
}

/* The frames of vhu_enqueue_burst_ol() into burst 'b' (begun).  Returns
 * how many it handled.  Always inlined, so that the common call, with
 * constant 'ols' NULL, loses the tests of the offload requests. */
static inline __attribute__((__always_inline__)) int
enqueue_frames(struct vhu_burst *b, const struct vhu_frame *frames,
               const struct vhu_net_offload *ols, int n,
               struct burst_counts *c)
{
    uint32_t hlen = net_hdr_len(b->features);
    bool mergeable = (b->features
                      & VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF)) != 0;
    uint8_t hdr[VHU_NET_HDR_LEN_MRG];
    struct stage st[VHU_STAGE];
    bool stop = false;
    int i = 0;

    net_hdr_init(hdr);

    /* Each round reads heads ahead for the frames left.  A frame that the
     * general path handles may take several heads, so the next round reads
     * again from there. */
    while (!stop && i < n) {
        int want = min_int(VHU_STAGE, n - i);
        struct vhu_used_elem used[VHU_STAGE];
        int frame_of[VHU_STAGE];
        int n_st;
        int m = 0;

        want = min_int(want, vhu_burst_avail(b, want));
        if (!want) {
            break;
        }
        n_st = stage_heads(b, st, want, hlen, &frames[i]);

        stop = n_st < want;

        /* First the headers of the frames that fit the buffers read ahead,
         * then the frames, as DPDK does: each header store needs a cache
         * line that the other side wrote last, and few stores between them
         * let more of those lines be on their way at once. */
        for (; i < n && m < n_st; i++) {
            const struct vhu_frame *f = &frames[i];
            const struct vhu_net_offload *ol = rx_offload(ols, i);

            if (rx_refused(f, ol, b->features, &c->errors, &c->bad_ol)) {
                continue;
            }
            if (!rx_fits_single(&st[m], hlen, f)) {
                break;
            }
            if (ol) {
                uint8_t ol_hdr[VHU_NET_HDR_LEN_MRG];

                memcpy(ol_hdr, hdr, sizeof ol_hdr);
                vhu_net_hdr_write(ol_hdr, ol);
                rx_write_header(st[m].buf, ol_hdr, hlen);
            } else {
                rx_write_header(st[m].buf, hdr, hlen);
            }
            frame_of[m++] = i;
        }
        for (int k = 0; k < m; k++) {
            const struct vhu_frame *f = &frames[frame_of[k]];
            uint32_t total = hlen + f->len;

            memcpy(st[k].buf + hlen, f->data, f->len);
            if (b->log) {
                vhu_log_cache_mark(&b->log_cache, b->log, st[k].gpa, total);
            }
            used[k] = (struct vhu_used_elem) { st[k].head, total };
            c->bytes += f->len;
        }
        vhu_burst_used_n(b, b->done, used, m);
        vhu_burst_commit(b, m);
        c->good += m;

        /* Frame 'i' did not fit its buffer read ahead: the general path
         * (several mergeable buffers, a chain), then read heads again. */
        if (i < n && m < n_st) {
            if (rx_one(b, &frames[i], rx_offload(ols, i), hlen,
                       mergeable) > 0) {
                c->good++;
                c->bytes += frames[i].len;
                i++;
            } else {
                stop = true;
            }
        }
    }
    /* Refused frames at the end count as handled too. */
    while (!stop && i < n && rx_refused(&frames[i], rx_offload(ols, i),
                                        b->features, &c->errors,
                                        &c->bad_ol)) {
        i++;
    }
    return i;
}

/* vhu_enqueue_burst_ol(), built twice (see below). */
static inline __attribute__((__always_inline__)) int
enqueue_burst(struct vhu_device *dev, unsigned int qp,
              const struct vhu_frame *frames,
              const struct vhu_net_offload *ols, int n)
{
    struct burst_counts c = { 0, 0, 0, 0 };
    struct vhu_burst b;
    int i;

    if (qp >= dev->opts.max_queue_pairs || n <= 0
        || !vhu_burst_begin(&b, dev, 2 * qp)) {
        return 0;
    }
    i = (ols ? enqueue_frames(&b, frames, ols, n, &c)
         : enqueue_frames(&b, frames, NULL, n, &c));
    vhu_burst_end(&b);
    burst_counts_add(&b, &c);
    return i;
}

/* enqueue_burst() in code that prefetches the receive buffers with
 * PREFETCHW (see prefetch.h): only where vhu_prefetchw_usable(). */
static int VHU_TARGET_PREFETCHW __attribute__((__noinline__))
enqueue_burst_prefetchw(struct vhu_device *dev, unsigned int qp,
                        const struct vhu_frame *frames,
                        const struct vhu_net_offload *ols, int n)
{
    return enqueue_burst(dev, qp, frames, ols, n);
}

/* enqueue_burst() for a CPU without PREFETCHW. */
static int __attribute__((__noinline__))
enqueue_burst_prefetch(struct vhu_device *dev, unsigned int qp,
                       const struct vhu_frame *frames,
                       const struct vhu_net_offload *ols, int n)
{
    return enqueue_burst(dev, qp, frames, ols, n);
}

/* See vhost-engine.h.  A frame that rx_refused() counts as handled in the
 * return value, so that the caller's "rest" is always a suffix of
 * 'frames'. */
int
vhu_enqueue_burst_ol(struct vhu_device *dev, unsigned int qp,
                     const struct vhu_frame *frames,
                     const struct vhu_net_offload *ols, int n)
{
    /* No __builtin_expect(): GCC would build the other one for size. */
    return (vhu_prefetchw_usable()
            ? enqueue_burst_prefetchw(dev, qp, frames, ols, n)
            : enqueue_burst_prefetch(dev, qp, frames, ols, n));
}

int
vhu_enqueue_burst(struct vhu_device *dev, unsigned int qp,
                  const struct vhu_frame *frames, int n)
{
    return vhu_enqueue_burst_ol(dev, qp, frames, NULL, n);
}

/* Counts 'n' frames the caller dropped for the guest's receive queue of
 * queue pair 'qp'. */
void
vhu_count_tx_drops(struct vhu_device *dev, unsigned int qp, uint64_t n)
{
    if (qp < dev->opts.max_queue_pairs) {
        vhu_counter_add(&dev->vrings[2 * qp].stats.dropped, n);
    }
}
