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

#ifndef VHOST_USER_TSAN_H
#define VHOST_USER_TSAN_H 1

/* ThreadSanitizer annotations for synchronization it cannot see.
 *
 * The control thread changes or frees what PMD threads use only after an
 * RCU grace period, which Open vSwitch's (uninstrumented) library
 * provides: every thread passed a quiescent point.  A thread that used a
 * port's engine state calls VHOST_TSAN_RELEASE(&vhost_tsan_rcu) when it is
 * done with it (the end of a burst), and the control thread calls
 * VHOST_TSAN_ACQUIRE(&vhost_tsan_rcu) when a grace period has elapsed:
 * what the first did happens before what the second does next, as RCU
 * guarantees.  Nothing in other builds. */

#if defined(__SANITIZE_THREAD__)
#define VHOST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VHOST_TSAN 1
#endif
#endif

#ifdef VHOST_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char vhost_tsan_rcu;
#define VHOST_TSAN_ACQUIRE(ADDR) __tsan_acquire(ADDR)
#define VHOST_TSAN_RELEASE(ADDR) __tsan_release(ADDR)
#else
#define VHOST_TSAN_ACQUIRE(ADDR) ((void) 0)
#define VHOST_TSAN_RELEASE(ADDR) ((void) 0)
#endif

#endif /* vhost-user-tsan.h */
