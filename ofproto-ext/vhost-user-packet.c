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

void *
vhost_packet_alloc(void *cache_, uint32_t len, void **data)
{
    struct vhost_packet_cache *cache = cache_;
    int c = len_class(len);
    struct dp_packet *packet;
    size_t room;

    if (c >= 0) {
        room = class_room[c];
        packet = (cache && cache->n[c]
                  ? cache->packets[c][--cache->n[c]]
                  : block_alloc(HEAD + room));
    } else {
        room = HEADROOM + len;
        packet = block_alloc(HEAD + room);
    }
    /* 'room' holds HEADROOM + 'len': place the frame directly rather than
     * through dp_packet_reserve() and dp_packet_put_uninit(), which check
     * for room twice. */
    dp_packet_use_stub(packet, (char *) packet + HEAD, room);
    dp_packet_set_data(packet, (char *) packet + HEAD + HEADROOM);
    dp_packet_set_size(packet, len);
    *data = dp_packet_data(packet);
    return packet;
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
