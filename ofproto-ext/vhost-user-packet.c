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

#include "vhost-user-packet.h"

#include "dp-packet.h"
#include "netdev-vhost-user.h"
#include "ovs-thread.h"
#include "util.h"

/* Room in front of a frame for headers that actions push (VLAN, MPLS,
 * tunnel encapsulation). */
#define HEADROOM 128

/* Where the data of our packets starts: right after the struct. */
#define HEAD ROUND_UP(sizeof(struct dp_packet), CACHE_LINE_SIZE)

/* The two standard sizes of the room after the struct. */
enum { N_CLASSES = 2 };
static const uint32_t class_room[N_CLASSES] = {
    HEADROOM + 320,             /* Small frames: HEAD + room <= 1032. */
    HEADROOM + 1536,            /* Up to 1518 bytes and a VLAN tag. */
};

/* Packets kept per class and thread. */
#define CACHE_MAX 256

struct vhost_packet_cache {
    size_t n[N_CLASSES];
    struct dp_packet *packets[N_CLASSES][CACHE_MAX];
};

static ovsthread_key_t cache_key;

/* This thread's cache, as a plain thread-local pointer: the key above only
 * frees it when the thread exits. */
DEFINE_STATIC_PER_THREAD_DATA(struct vhost_packet_cache *, thread_cache,
                              NULL);

static void
cache_destroy(void *cache_)
{
    struct vhost_packet_cache *cache = cache_;

    for (int c = 0; c < N_CLASSES; c++) {
        for (size_t i = 0; i < cache->n[c]; i++) {
            free(cache->packets[c][i]);
        }
    }
    free(cache);
}

struct vhost_packet_cache *
vhost_packet_cache_get(void)
{
    static struct ovsthread_once once = OVSTHREAD_ONCE_INITIALIZER;
    struct vhost_packet_cache **cachep = thread_cache_get();

    if (OVS_LIKELY(*cachep)) {
        return *cachep;
    }
    if (ovsthread_once_start(&once)) {
        ovsthread_key_create(&cache_key, cache_destroy);
        ovsthread_once_done(&once);
    }
    *cachep = xzalloc(sizeof **cachep);
    ovsthread_setspecific(cache_key, *cachep);
    return *cachep;
}

/* Returns the class of a frame of 'len' bytes, or -1 for none. */
static int
len_class(uint32_t len)
{
    for (int c = 0; c < N_CLASSES; c++) {
        if (HEADROOM + len <= class_room[c]) {
            return c;
        }
    }
    return -1;
}

/* Returns the class of 'packet' if vhost_packet_alloc() made it in a
 * standard size and nothing changed its memory since, otherwise -1. */
static int
packet_class(const struct dp_packet *packet)
{
    if (packet->source == DPBUF_STUB
        && dp_packet_base(packet) == (const char *) packet + HEAD) {
        for (int c = 0; c < N_CLASSES; c++) {
            if (dp_packet_get_allocated(packet) == class_room[c]) {
                return c;
            }
        }
    }
    return -1;
}

/* Returns a new block of 'size' bytes for a packet, aligned to a cache
 * line so that the frame (HEAD + HEADROOM bytes in) starts on one too.
 * free(), which dp_packet_delete() calls, releases it. */
static struct dp_packet *
block_alloc(size_t size)
{
    void *block;

    if (posix_memalign(&block, CACHE_LINE_SIZE, size)) {
        out_of_memory();
    }
    return block;
}

void
vhost_packet_free(void *cache OVS_UNUSED, void *packet)
{
    dp_packet_delete(packet);
}

/* Readies 'packet', which came back from the send path (vhost_packet_
 * release_batch()) with its memory untouched, for a new frame: clears what
 * its last trip through the datapath may have set.  Not its metadata
 * ('md'): dpif-netdev initializes that of every packet it receives from a
 * port, as netdev-dpdk's receive relies upon too, and a packet dropped
 * before (QoS, an administratively down port) never reads it. */
static inline void
packet_recycle(struct dp_packet *packet)
{
    dp_packet_reset_offsets(packet);
    dp_packet_reset_cutlen(packet);
    dp_packet_reset_offload(packet);
    packet->packet_type = htonl(PT_ETH);
}

/* Places a frame of 'len' bytes in 'packet', whose room holds HEADROOM +
 * 'len': directly, rather than through dp_packet_reserve() and
 * dp_packet_put_uninit(), which check for room twice.  Returns 'packet'
 * and stores in '*data' where the frame goes. */
static inline void *
packet_place(struct dp_packet *packet, uint32_t len, void **data)
{
    dp_packet_set_data(packet, (char *) packet + HEAD + HEADROOM);
    dp_packet_set_size(packet, len);
    *data = dp_packet_data(packet);
    return packet;
}

/* vhost_packet_alloc() for a packet that the cache cannot give: a new
 * block, of class 'c' or (-1) of the exact size. */
static void * VHOST_NOINLINE
packet_alloc_new(uint32_t len, int c, void **data)
{
    size_t room = c >= 0 ? class_room[c] : HEADROOM + len;
    struct dp_packet *packet = block_alloc(HEAD + room);

    dp_packet_use_stub(packet, (char *) packet + HEAD, room);
    return packet_place(packet, len, data);
}

void *
vhost_packet_alloc(void *cache_, uint32_t len, void **data)
{
    struct vhost_packet_cache *cache = cache_;
    int c = len_class(len);

    if (OVS_LIKELY(c >= 0 && cache && cache->n[c])) {
        struct dp_packet *packet = cache->packets[c][--cache->n[c]];

        packet_recycle(packet);
        return packet_place(packet, len, data);
    }
    return packet_alloc_new(len, c, data);
}

void
vhost_packet_release_batch(struct vhost_packet_cache *cache,
                           struct dp_packet_batch *batch)
{
    struct dp_packet *packet;

    DP_PACKET_BATCH_FOR_EACH (i, packet, batch) {
        int c = packet_class(packet);

        if (c >= 0 && cache->n[c] < CACHE_MAX) {
            cache->packets[c][cache->n[c]++] = packet;
        } else {
            dp_packet_delete(packet);
        }
    }
    dp_packet_batch_init(batch);
}
