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


#ifndef VHOST_USER_PACKET_H
#define VHOST_USER_PACKET_H 1

/* Packet memory of the vhost-user data path.
 *
 * A packet received from a guest is one allocation: the struct dp_packet,
 * headroom for headers that actions push, and the frame, which the single
 * free() of OVS's dp_packet_delete() releases wherever the packet ends.
 * Blocks come in two sizes (frames up to 320 bytes, which glibc's
 * per-thread cache serves, and up to a VLAN-tagged 1500-byte frame) and
 * exact sizes beyond.  Packets of the two standard sizes that the send
 * path has copied into a guest go back to a per-thread cache, and the next
 * receive on that thread takes them from there instead of malloc(). */

#include <stdint.h>

struct dp_packet_batch;
struct vhost_packet_cache;

/* Returns this thread's cache (created on first use, freed with the
 * thread). */
struct vhost_packet_cache *vhost_packet_cache_get(void);

/* A vhu_alloc_fn for vhu_dequeue_burst(), with 'cache' (this thread's, or
 * NULL) as its 'aux': returns a packet ready for 'len' bytes of frame and
 * stores in '*data' where they go. */
void *vhost_packet_alloc(void *cache, uint32_t len, void **data);

/* A vhu_free_fn for vhu_dequeue_burst(). */
void vhost_packet_free(void *cache, void *packet);

/* Frees every packet of 'batch' and empties it, keeping in 'cache' the
 * packets that vhost_packet_alloc() made in a standard size. */
void vhost_packet_release_batch(struct vhost_packet_cache *,
                                struct dp_packet_batch *);

#endif /* vhost-user-packet.h */
