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

#ifndef VHU_PREFETCH_H
#define VHU_PREFETCH_H 1

#include <stdbool.h>

/* Prefetches of guest memory.
 *
 * A guest buffer that the device is about to write was last written by
 * the driver's CPU (a receive buffer's header line, for one).  A read
 * prefetch brings such a line in shared, and the store that follows must
 * then wait for a second trip through the other core to take it over;
 * stores retire in order, so a burst of them waits for those trips one
 * after the other.  PREFETCHW takes the line over at once.
 *
 * GCC and Clang emit PREFETCHW for __builtin_prefetch()'s write hint only
 * in code built for a target that has it (-mprfchw, an -march that
 * implies it, or a function with VHU_TARGET_PREFETCHW), and a read
 * prefetch otherwise: Debian's generic x86-64 build would never use it.
 * So on x86-64 the caller builds its burst twice from the same code, once
 * in a function with VHU_TARGET_PREFETCHW, and calls that one where the
 * CPU says it has PREFETCHW (CPUID 0x80000001, ECX bit 8: every AMD64 CPU,
 * and Intel since Broadwell).  The two differ in that instruction only:
 * callgrind, whose CPU has no PREFETCHW, counts the other, and counts what
 * the CPUs with it run. */

#if defined(__x86_64__) && !defined(__PRFCHW__)
#define VHU_TARGET_PREFETCHW __attribute__((__target__("prfchw")))
extern bool vhu_cpu_has_prefetchw;

/* True if a function with VHU_TARGET_PREFETCHW may run on this CPU. */
static inline bool
vhu_prefetchw_usable(void)
{
    return vhu_cpu_has_prefetchw;
}
#else
/* Nothing to choose: vhu_prefetch_write() prefetches for writing in every
 * function, or its hint means nothing on this target. */
#define VHU_TARGET_PREFETCHW
static inline bool
vhu_prefetchw_usable(void)
{
    return true;
}
#endif

/* Prefetches the line of 'p' for writing where the target allows (see
 * above), else for reading. */
static inline void
vhu_prefetch_write(const void *p)
{
    __builtin_prefetch(p, 1);
}

/* Prefetches the line of 'p' for reading. */
static inline void
vhu_prefetch_read(const void *p)
{
    __builtin_prefetch(p, 0);
}

#endif /* prefetch.h */
