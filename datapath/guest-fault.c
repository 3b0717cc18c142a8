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
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

/* Frontend memory that disappears under us.
 *
 * A frontend can shrink (ftruncate) the file behind a memory region or a
 * dirty log it shared, or punch a hole in hugetlbfs memory that no free
 * huge page can fill: the next access to those pages, by a data-path
 * thread in the middle of a burst or by the control thread, raises SIGBUS,
 * whose default action kills the switch with every guest's network.
 *
 * Every mapping of frontend memory is registered here.  The process's
 * SIGBUS handler calls vhu_fault_recover() with the faulting address: if a
 * registered mapping holds it, the whole mapping is replaced, atomically
 * for the other threads (mremap() over it), by private anonymous memory,
 * and the faulting access is retried and completes on zeroes.  What the
 * data path then reads is garbage that its validation already handles.
 * The mapping is marked faulted, the control thread is woken through
 * vhu_fault_fd(), and vhu_device_check_faults() breaks the owning device
 * with a log line; the frontend gets a reset device, the switch and the
 * other ports go on.
 *
 * Unlike a recovery point (sigsetjmp()) around each access, this costs
 * nothing on the data path, covers every access (a memcpy() into a guest
 * buffer, the dirty log, the control thread's reads of ring indexes)
 * without exception, and never abandons a burst half-way through its ring
 * updates.
 *
 * The slots are read by the signal handler without a lock: each is a
 * sequence lock, written only under 'slots_mutex'. */

#define FAULT_SLOTS 4096

enum fault_state {
    FAULT_NONE,                 /* Mapped as the frontend shared it. */
    FAULT_REPLACING,            /* A handler is replacing the mapping. */
    FAULT_REPLACED,             /* Replaced by anonymous memory. */
    FAULT_FAILED,               /* Replacing failed: the fault is fatal. */
};

struct fault_slot {
    _Atomic unsigned int seq;   /* Odd while being written. */
    _Atomic uintptr_t start;    /* 0 if the slot is free. */
    _Atomic size_t len;
    _Atomic int state;          /* enum fault_state. */
};

static struct fault_slot slots[FAULT_SLOTS];
static _Atomic unsigned int n_slots_used; /* High-water mark. */
static pthread_mutex_t slots_mutex = PTHREAD_MUTEX_INITIALIZER;

/* The last address that this thread recovered from: the same address
 * faulting again right away means the replacement did not help, and the
 * fault is fatal rather than retried forever.  (Initial-exec TLS: safe in
 * a signal handler.) */
static __thread uintptr_t last_fault_addr
    __attribute__((tls_model("initial-exec")));

/* Mappings replaced so far, and the eventfd that tells. */
static _Atomic uint64_t n_faults;
static _Atomic int fault_eventfd = -1;

static void
slot_write(struct fault_slot *s, uintptr_t start, size_t len)
{
    unsigned int seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

    atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->start, start, memory_order_relaxed);
    atomic_store_explicit(&s->len, len, memory_order_relaxed);
    atomic_store_explicit(&s->state, FAULT_NONE, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* Registers the mapping [addr, addr + len) of frontend memory.  Returns
 * its slot, or -1 (after logging) if every slot is taken, in which case a
 * SIGBUS in it stays fatal. */
int
vhu_fault_register(const char *name, void *addr, size_t len)
{
    int slot = -1;

    pthread_mutex_lock(&slots_mutex);
    for (int i = 0; i < FAULT_SLOTS; i++) {
        struct fault_slot *s = &slots[i];

        if (!atomic_load_explicit(&s->start, memory_order_relaxed)) {
            slot_write(s, (uintptr_t) addr, len);
            if (i >= (int) atomic_load_explicit(&n_slots_used,
                                                memory_order_relaxed)) {
                atomic_store_explicit(&n_slots_used, i + 1,
                                      memory_order_release);
            }
            slot = i;
            break;
        }
    }
    pthread_mutex_unlock(&slots_mutex);

    if (slot < 0) {
        VHU_WARN("%s: more than %d mappings of guest memory: a frontend "
                 "that shrinks this one will crash the switch", name,
                 FAULT_SLOTS);
    }
    return slot;
}

/* Forgets slot 'slot' (-1 is allowed), before its mapping is unmapped. */
void
vhu_fault_unregister(int slot)
{
    if (slot >= 0 && slot < FAULT_SLOTS) {
        struct fault_slot *s = &slots[slot];

        /* A handler that is replacing the mapping finishes first. */
        while (atomic_load_explicit(&s->state, memory_order_acquire)
               == FAULT_REPLACING) {
            sched_yield();
        }
        pthread_mutex_lock(&slots_mutex);
        slot_write(s, 0, 0);
        pthread_mutex_unlock(&slots_mutex);
    }
}

/* True if the mapping in slot 'slot' (-1 is allowed) faulted and was
 * replaced. */
bool
vhu_fault_happened(int slot)
{
    return (slot >= 0 && slot < FAULT_SLOTS
            && atomic_load_explicit(&slots[slot].state, memory_order_acquire)
               != FAULT_NONE);
}

/* Replaces [start, start + len) by private anonymous memory, in one step
 * for other threads: a new mapping is prepared elsewhere and moved over
 * the old one.  The new mapping is made accessible only after munlock(),
 * so that mlockall(MCL_FUTURE) does not populate all of it.  Uses only
 * system calls: safe in a signal handler. */
static bool
replace_mapping(uintptr_t start, size_t len)
{
    void *p = mmap(NULL, len, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED) {
        return false;
    }
    (void) madvise(p, len, MADV_DONTDUMP);
    if (munlock(p, len) || mprotect(p, len, PROT_READ | PROT_WRITE)
        || mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
                  (void *) start) == MAP_FAILED) {
        munmap(p, len);
        return false;
    }
    return true;
}

/* Handles a fault (SIGBUS) at 'addr': if a registered mapping holds it,
 * makes the access retryable (see above) and returns true; otherwise
 * returns false and the fault is the caller's.  Async-signal-safe. */
bool
vhu_fault_recover(const void *addr)
{
    unsigned int n = atomic_load_explicit(&n_slots_used,
                                          memory_order_acquire);
    uintptr_t a = (uintptr_t) addr;

    for (unsigned int i = 0; i < n && i < FAULT_SLOTS; i++) {
        struct fault_slot *s = &slots[i];
        unsigned int seq = atomic_load_explicit(&s->seq,
                                                memory_order_acquire);
        uintptr_t start;
        size_t len;
        int state;

        if (seq & 1) {
            /* Being registered or unregistered: not in use. */
            continue;
        }
        start = atomic_load_explicit(&s->start, memory_order_relaxed);
        len = atomic_load_explicit(&s->len, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq
            || !start || a - start >= len) {
            continue;
        }

        state = FAULT_NONE;
        if (atomic_compare_exchange_strong(&s->state, &state,
                                           FAULT_REPLACING)) {
            int fd;

            if (atomic_load_explicit(&s->seq, memory_order_acquire)
                != seq) {
                /* Unregistered (and maybe reused) since we read it: not
                 * ours to replace. */
                atomic_store_explicit(&s->state, FAULT_NONE,
                                      memory_order_release);
                continue;
            }

            state = replace_mapping(start, len) ? FAULT_REPLACED
                                                : FAULT_FAILED;
            atomic_store_explicit(&s->state, state, memory_order_release);
            if (state == FAULT_FAILED) {
                return false;
            }
            last_fault_addr = a;
            atomic_fetch_add_explicit(&n_faults, 1, memory_order_release);
            fd = atomic_load_explicit(&fault_eventfd, memory_order_relaxed);
            if (fd >= 0) {
                uint64_t one = 1;
                ssize_t retval = write(fd, &one, sizeof one);

                (void) retval;
            }
            return true;
        }
        /* Another thread faulted first: wait until it is done. */
        while (state == FAULT_REPLACING) {
            sched_yield();
            state = atomic_load_explicit(&s->state, memory_order_acquire);
        }
        if (state != FAULT_REPLACED || last_fault_addr == a) {
            return false;
        }
        last_fault_addr = a;
        return true;
    }
    return false;
}

/* Returns how many mappings faulted so far. */
uint64_t
vhu_fault_count(void)
{
    return atomic_load_explicit(&n_faults, memory_order_acquire);
}

static pthread_once_t eventfd_once = PTHREAD_ONCE_INIT;

static void
create_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    if (fd < 0) {
        VHU_WARN("eventfd for guest memory faults failed (%s)",
                 strerror(errno));
    }
    atomic_store_explicit(&fault_eventfd, fd, memory_order_release);
}

/* Returns an fd that becomes readable when a mapping faults (see
 * vhu_fault_clear()), or -1 if it could not be created. */
int
vhu_fault_fd(void)
{
    pthread_once(&eventfd_once, create_eventfd);
    return atomic_load_explicit(&fault_eventfd, memory_order_acquire);
}

/* Makes vhu_fault_fd() unreadable again. */
void
vhu_fault_clear(void)
{
    int fd = vhu_fault_fd();

    if (fd >= 0) {
        uint64_t n;
        ssize_t retval = read(fd, &n, sizeof n);

        (void) retval;
    }
}
