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

#ifndef VHU_NET_OFFLOAD_H
#define VHU_NET_OFFLOAD_H 1

/* The offload fields of the virtio-net header, for virtio-net.c. */

#include <stdbool.h>
#include <stdint.h>

#include "vhost-engine.h"

/* Bytes of the header that carry offloads (struct virtio_net_hdr without
 * 'num_buffers'). */
#define VHU_NET_HDR_OFFLOAD_LEN 10

/* True if 'features' let the guest send offload requests (CSUM). */
bool vhu_net_host_offloads(uint64_t features);

/* Reads the offload request of header 'hdr' of a frame of 'len' bytes
 * (after the header) that the guest sent, with 'features' negotiated,
 * into 'ol'.  Returns false if the request is invalid (see "Offloads" in
 * vhost-engine.h). */
bool vhu_net_hdr_read(const uint8_t hdr[VHU_NET_HDR_OFFLOAD_LEN],
                      uint64_t features, uint32_t len,
                      struct vhu_net_offload *ol);

/* True if a guest with 'features' negotiated may be given a frame of 'len'
 * bytes with request 'ol'. */
bool vhu_net_hdr_allowed(const struct vhu_net_offload *ol, uint64_t features,
                         uint32_t len);

/* Writes request 'ol' into the offload fields of header 'hdr'. */
void vhu_net_hdr_write(uint8_t hdr[VHU_NET_HDR_OFFLOAD_LEN],
                       const struct vhu_net_offload *ol);

#endif /* net-offload.h */
