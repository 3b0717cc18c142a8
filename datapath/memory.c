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
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* The memory table.
 *
 * A table is immutable once published: SET_MEM_TABLE, ADD_MEM_REG and
 * REM_MEM_REG build a new one (sharing the mappings of the regions that
 * stay, by reference count), publish it and retire the old one, which is
 * freed after a grace period.  The data path translates guest physical
 * addresses (descriptors) through the table it loaded at the start of its
 * burst; ring addresses (frontend user addresses) are translated by the
 * control thread when a ring is published. */

/* Drops a reference to 'm', unmapping it with the last one. */
static void
mapping_unref(struct vhu_mapping *m)
{
    if (m && --m->refcnt == 0) {
        vhu_fault_unregister(m->fault_slot);
        munmap(m->addr, m->len);
        free(m);
    }
}

/* Frees 'mem' (NULL is allowed) and drops its regions' mappings. */
void
vhu_mem_free(struct vhu_mem *mem)
{
    if (mem) {
        for (unsigned int i = 0; i < mem->n; i++) {
            mapping_unref(mem->regions[i].mapping);
        }
        free(mem);
    }
}

/* Returns a new table with the same regions as 'mem' (or an empty one if
 * 'mem' is NULL), or NULL if out of memory.  The caller owns it. */
struct vhu_mem *
vhu_mem_clone(const struct vhu_mem *mem)
{
    struct vhu_mem *clone = calloc(1, sizeof *clone);

    if (clone && mem) {
        *clone = *mem;
        for (unsigned int i = 0; i < clone->n; i++) {
            clone->regions[i].mapping->refcnt++;
        }
    }
    return clone;
}

/* True if [a, a + as) and [b, b + bs) overlap (neither wraps). */
static bool
ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
    return a < b + bs && b < a + as;
}

/* Maps 'len' bytes of the frontend's file 'fd' from 'offset', shared and
 * read-write, like mmap(), but never locked into memory: a process that
 * called mlockall(MCL_FUTURE) (Open vSwitch's --mlockall, which Debian's
 * ovs-ctl uses) would otherwise fault in and pin all of a guest's memory
 * the moment it is mapped.  The mapping starts inaccessible, which the
 * kernel does not populate, is unlocked, and only then made accessible.
 * It is left out of core dumps (MADV_DONTDUMP): a core of the switch
 * would otherwise hold every guest's memory.  Returns MAP_FAILED with
 * errno set on failure. */
void *
vhu_mmap_guest(size_t len, int fd, off_t offset)
{
    void *addr = mmap(NULL, len, PROT_NONE, MAP_SHARED, fd, offset);

    if (addr != MAP_FAILED
        && (munlock(addr, len)
            || mprotect(addr, len, PROT_READ | PROT_WRITE))) {
        int error = errno;

        munmap(addr, len);
        errno = error;
        addr = MAP_FAILED;
    }
    if (addr != MAP_FAILED) {
        /* Only an older kernel refuses it: then the core is larger. */
        (void) madvise(addr, len, MADV_DONTDUMP);
    }
    return addr;
}

/* Returns the page size to align mmap() offsets to for 'st': the file's
 * block size (the huge page size on hugetlbfs) if it is a power of two at
 * least as large as the system's page size, otherwise the system's. */
static uint64_t
mapping_alignment(const struct stat *st)
{
    long sys = sysconf(_SC_PAGESIZE);
    uint64_t page = sys > 0 ? sys : 4096;
    uint64_t blk = st->st_blksize;

    if (blk > page && !(blk & (blk - 1))) {
        page = blk;
    }
    return page;
}

/* Validates 'r' against the regions already in 'mem', maps it from 'fd'
 * (which stays the caller's) and appends it to 'mem'.  Returns 0, or an
 * errno value after logging why. */
int
vhu_mem_add_region(struct vhu_device *dev, struct vhu_mem *mem,
                   const struct vhu_mem_region *r, int fd)
{
    struct vhu_mapping *m;
    struct vhu_region *reg;
    uint64_t align, aligned_ofs, adj, map_len;
    struct stat st;
    void *addr;
    int seals;

    if (mem->n >= VHU_MAX_MEM_REGIONS) {
        VHU_ERR("%s: too many memory regions (max %d)", dev->name,
                VHU_MAX_MEM_REGIONS);
        return E2BIG;
    }
    if (!r->memory_size) {
        VHU_ERR("%s: memory region with size 0", dev->name);
        return EINVAL;
    }
    if (r->guest_phys_addr + r->memory_size < r->guest_phys_addr
        || r->userspace_addr + r->memory_size < r->userspace_addr
        || r->mmap_offset + r->memory_size < r->mmap_offset
        || r->memory_size > SIZE_MAX / 2) {
        VHU_ERR("%s: memory region at guest address 0x%"PRIx64" with size "
                "0x%"PRIx64" wraps around", dev->name, r->guest_phys_addr,
                r->memory_size);
        return EINVAL;
    }
    for (unsigned int i = 0; i < mem->n; i++) {
        const struct vhu_region *o = &mem->regions[i];

        if (ranges_overlap(r->guest_phys_addr, r->memory_size,
                           o->gpa, o->size)
            || ranges_overlap(r->userspace_addr, r->memory_size,
                              o->uva, o->size)) {
            VHU_ERR("%s: memory region at guest address 0x%"PRIx64
                    " overlaps region at 0x%"PRIx64, dev->name,
                    r->guest_phys_addr, o->gpa);
            return EINVAL;
        }
    }

    if (fstat(fd, &st) < 0) {
        int error = errno;
        VHU_ERR("%s: memory region fd: fstat failed (%s)", dev->name,
                strerror(error));
        return error;
    }
    if (S_ISREG(st.st_mode)
        && (uint64_t) st.st_size < r->mmap_offset + r->memory_size) {
        VHU_ERR("%s: memory region (offset 0x%"PRIx64", size 0x%"PRIx64") "
                "goes beyond the end of its file (0x%"PRIx64" bytes)",
                dev->name, r->mmap_offset, r->memory_size,
                (uint64_t) st.st_size);
        return EINVAL;
    }

    /* mmap() offsets must be multiples of the file's page size (huge pages
     * on hugetlbfs): map from the aligned-down offset and keep the
     * adjustment. */
    align = mapping_alignment(&st);
    aligned_ofs = r->mmap_offset & ~(align - 1);
    adj = r->mmap_offset - aligned_ofs;
    map_len = (r->memory_size + adj + align - 1) & ~(align - 1);
    if (map_len < r->memory_size || map_len > SIZE_MAX / 2) {
        VHU_ERR("%s: memory region too large", dev->name);
        return EINVAL;
    }

    m = malloc(sizeof *m);
    if (!m) {
        return ENOMEM;
    }
    addr = vhu_mmap_guest(map_len, fd, aligned_ofs);
    if (addr == MAP_FAILED) {
        int error = errno;
        VHU_ERR("%s: mmap of memory region (size 0x%"PRIx64", offset "
                "0x%"PRIx64") failed (%s)", dev->name, map_len, aligned_ofs,
                strerror(error));
        free(m);
        return error;
    }
    m->refcnt = 1;
    m->addr = addr;
    m->len = map_len;
    m->fault_slot = vhu_fault_register(dev->name, addr, map_len);

    reg = &mem->regions[mem->n++];
    reg->gpa = r->guest_phys_addr;
    reg->uva = r->userspace_addr;
    reg->size = r->memory_size;
    reg->host = (uint8_t *) addr + adj;
    reg->mapping = m;

    /* A memfd sealed against shrinking cannot raise SIGBUS by truncation
     * (guest-fault.c recovers if it does). */
    seals = fcntl(fd, F_GET_SEALS);
    VHU_INFO("%s: memory region %u: guest 0x%"PRIx64", user 0x%"PRIx64
             ", size 0x%"PRIx64", mmap offset 0x%"PRIx64"%s", dev->name,
             mem->n - 1, reg->gpa, reg->uva, reg->size, r->mmap_offset,
             seals >= 0 && seals & F_SEAL_SHRINK ? ", sealed" : "");
    return 0;
}

/* True if 'mem' (NULL is allowed) has a region with the guest address,
 * user address and size of 'r'. */
bool
vhu_mem_has_region(const struct vhu_mem *mem, const struct vhu_mem_region *r)
{
    for (unsigned int i = 0; mem && i < mem->n; i++) {
        const struct vhu_region *reg = &mem->regions[i];

        if (reg->gpa == r->guest_phys_addr && reg->uva == r->userspace_addr
            && reg->size == r->memory_size) {
            return true;
        }
    }
    return false;
}

/* Removes from 'mem' the region with the guest address, user address and
 * size of 'r' and drops its mapping.  Returns false if there is none. */
bool
vhu_mem_remove_region(struct vhu_mem *mem, const struct vhu_mem_region *r)
{
    for (unsigned int i = 0; i < mem->n; i++) {
        struct vhu_region *reg = &mem->regions[i];

        if (reg->gpa == r->guest_phys_addr && reg->uva == r->userspace_addr
            && reg->size == r->memory_size) {
            mapping_unref(reg->mapping);
            memmove(reg, reg + 1, (mem->n - i - 1) * sizeof *reg);
            mem->n--;
            return true;
        }
    }
    return false;
}

/* Translates guest physical address 'gpa' through 'mem'.  Returns our
 * pointer to it and stores in '*contig' how many bytes from there are
 * mapped contiguously, or returns NULL if 'gpa' is not mapped.  '*hint' is
 * the caller's last-hit cache (any value is safe). */
uint8_t *
vhu_mem_gpa_to_host(const struct vhu_mem *mem, unsigned int *hint,
                    uint64_t gpa, uint64_t *contig)
{
    const struct vhu_region *r;
    unsigned int i = *hint;

    if (i < mem->n) {
        r = &mem->regions[i];
        if (gpa - r->gpa < r->size) {
            goto found;
        }
    }
    for (i = 0; i < mem->n; i++) {
        r = &mem->regions[i];
        if (gpa - r->gpa < r->size) {
            *hint = i;
            goto found;
        }
    }
    return NULL;

found:
    *contig = r->size - (gpa - r->gpa);
    return r->host + (gpa - r->gpa);
}

/* Returns our pointer to guest physical range [gpa, gpa + len) if it lies
 * within one region, otherwise NULL. */
void *
vhu_mem_gpa_range(const struct vhu_mem *mem, unsigned int *hint,
                  uint64_t gpa, uint64_t len)
{
    uint64_t contig;
    uint8_t *p = vhu_mem_gpa_to_host(mem, hint, gpa, &contig);

    return p && len <= contig ? p : NULL;
}

/* Returns the region of 'mem' (which may be NULL) that holds the
 * frontend's user address range [uva, uva + len), or NULL. */
static const struct vhu_region *
uva_region(const struct vhu_mem *mem, uint64_t uva, uint64_t len)
{
    for (unsigned int i = 0; mem && i < mem->n; i++) {
        const struct vhu_region *r = &mem->regions[i];
        uint64_t ofs = uva - r->uva;

        if (ofs < r->size && len <= r->size - ofs) {
            return r;
        }
    }
    return NULL;
}

/* Returns our pointer to the frontend's user address range [uva, uva +
 * len) if it lies within one region, otherwise NULL. */
void *
vhu_mem_uva_range(const struct vhu_mem *mem, uint64_t uva, uint64_t len)
{
    const struct vhu_region *r = uva_region(mem, uva, len);

    return r ? r->host + (uva - r->uva) : NULL;
}

/* Stores in '*gpa' the guest physical address of frontend address 'uva'.
 * Returns false if no region of 'mem' maps it. */
bool
vhu_mem_uva_to_gpa(const struct vhu_mem *mem, uint64_t uva, uint64_t *gpa)
{
    const struct vhu_region *r = uva_region(mem, uva, 1);

    if (r) {
        *gpa = r->gpa + (uva - r->uva);
    }
    return r != NULL;
}
