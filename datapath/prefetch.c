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
#include "prefetch.h"

#if defined(__x86_64__) && !defined(__PRFCHW__)
#include <cpuid.h>

bool vhu_cpu_has_prefetchw;

/* Runs when the program (or the library) is loaded, before any thread
 * can prefetch. */
static void __attribute__((__constructor__))
detect_prefetchw(void)
{
    unsigned int eax, ebx, ecx, edx;

    vhu_cpu_has_prefetchw = (__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx)
                             && (ecx & bit_PRFCHW));
}
#endif
