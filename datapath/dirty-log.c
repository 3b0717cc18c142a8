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
#include "device-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Dirty page logging for live migration.
 *
 * With VHU_F_LOG_ALL negotiated, the frontend shares a bitmap (SET_LOG_BASE)
 * with one bit per VHU_LOG_PAGE_SIZE page of guest physical memory.  Every
 * byte the data path writes into guest memory sets its page's bit after the
 * write, with an atomic OR (QEMU clears bits concurrently): a burst gathers
 * the bits in a cache (struct vhu_log_cache) and sets them when it ends,
 * after a release fence.  The data path loads the log pointer once per
 * burst and passes NULL down when not logging, so logging costs nothing
 * when off.  SET_FEATURES that turns LOG_ALL on is acknowledged only after
 * a grace period, when no burst that began without logging is left. */

/* Largest log we map: enough for 2^47 bytes of guest memory. */
#define VHU_LOG_MAX_SIZE (UINT64_C(1) << 32)

/* Unmaps and frees 'log' (NULL is allowed). */
void
vhu_log_free(struct vhu_log_map *log)
{
    if (log) {
        vhu_fault_unregister(log->fault_slot);
        munmap(log->addr, log->len);
        free(log);
    }
}

/* Handles SET_LOG_BASE: maps 'fd' (which stays the caller's) as described
 * by 'l', publishes it and retires the previous log.  Returns 0, or an
 * errno value after logging why. */
int
vhu_log_set_base(struct vhu_device *dev, const struct vhu_log *l, int fd)
{
    uint64_t page, aligned_ofs, adj, map_len;
    struct vhu_log_map *log;
    struct stat st;
    long sys;
    void *addr;

    if (!l->mmap_size || l->mmap_size > VHU_LOG_MAX_SIZE
        || l->mmap_offset + l->mmap_size < l->mmap_offset) {
        VHU_ERR("%s: invalid dirty log (size 0x%"PRIx64", offset 0x%"PRIx64
                ")", dev->name, l->mmap_size, l->mmap_offset);
        return EINVAL;
    }
    if (fstat(fd, &st) < 0) {
        int error = errno;
        VHU_ERR("%s: dirty log fd: fstat failed (%s)", dev->name,
                strerror(error));
        return error;
    }
    if (S_ISREG(st.st_mode)
        && (uint64_t) st.st_size < l->mmap_offset + l->mmap_size) {
        VHU_ERR("%s: dirty log (offset 0x%"PRIx64", size 0x%"PRIx64") goes "
                "beyond the end of its file (0x%"PRIx64" bytes)", dev->name,
                l->mmap_offset, l->mmap_size, (uint64_t) st.st_size);
        return EINVAL;
    }

    sys = sysconf(_SC_PAGESIZE);
    page = sys > 0 ? sys : 4096;
    aligned_ofs = l->mmap_offset & ~(page - 1);
    adj = l->mmap_offset - aligned_ofs;
    map_len = l->mmap_size + adj;

    log = malloc(sizeof *log);
    if (!log) {
        return ENOMEM;
    }
    addr = vhu_mmap_guest(map_len, fd, aligned_ofs);
    if (addr == MAP_FAILED) {
        int error = errno;
        VHU_ERR("%s: mmap of dirty log failed (%s)", dev->name,
                strerror(error));
        free(log);
        return error;
    }
    log->addr = addr;
    log->len = map_len;
    log->fault_slot = vhu_fault_register(dev->name, addr, map_len);
    log->bitmap = (uint8_t *) addr + adj;
    log->size = l->mmap_size;

    vhu_device_retire_log(dev, atomic_exchange_explicit(
                              &dev->log, log, memory_order_acq_rel));
    VHU_INFO("%s: dirty log of 0x%"PRIx64" bytes", dev->name, log->size);
    return 0;
}

/* Sets the bits of 'cache' in 'log' and empties the cache.  The release
 * fence orders every write the bits stand for before them: the frontend
 * (QEMU reads and clears the bitmap with atomic exchanges while we run)
 * must not see a bit, copy the page, clear the bit, and only then see our
 * data. */
void
vhu_log_cache_flush(struct vhu_log_cache *cache,
                    const struct vhu_log_map *log)
{
    atomic_thread_fence(memory_order_release);
    for (unsigned int i = 0; i < cache->n; i++) {
        _Atomic uint8_t *byte = (_Atomic uint8_t *) &log->bitmap[
            cache->byte[i]];

        atomic_fetch_or_explicit(byte, cache->bits[i], memory_order_relaxed);
    }
    cache->n = 0;
}

/* Adds the pages of guest physical range [gpa, gpa + len) to 'cache', for
 * 'log'.  Pages beyond the end of the log are ignored (the frontend sized
 * it). */
void
vhu_log_cache_mark(struct vhu_log_cache *cache,
                   const struct vhu_log_map *log, uint64_t gpa, uint64_t len)
{
    uint64_t page, last;

    if (!len) {
        return;
    }
    page = gpa / VHU_LOG_PAGE_SIZE;
    last = (gpa + len - 1) / VHU_LOG_PAGE_SIZE;
    for (; page <= last && page / 8 < log->size; page++) {
        uint64_t byte = page / 8;
        uint8_t bit = 1u << (page % 8);
        unsigned int i;

        for (i = 0; i < cache->n; i++) {
            if (cache->byte[i] == byte) {
                break;
            }
        }
        if (i == cache->n) {
            if (cache->n == VHU_LOG_CACHE_SIZE) {
                vhu_log_cache_flush(cache, log);
                i = 0;
            }
            cache->byte[i] = byte;
            cache->bits[i] = 0;
            cache->n++;
        }
        cache->bits[i] |= bit;
    }
}

/* Marks the pages of guest physical range [gpa, gpa + len) dirty in 'log'
 * at once (the control thread's writes). */
void
vhu_log_mark(const struct vhu_log_map *log, uint64_t gpa, uint64_t len)
{
    struct vhu_log_cache cache = { .n = 0 };

    vhu_log_cache_mark(&cache, log, gpa, len);
    vhu_log_cache_flush(&cache, log);
}
