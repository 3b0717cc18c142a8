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

#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H 1

/* Helpers shared by the libFuzzer targets of the vhost-user engine: a
 * reader of the fuzzer's input, a silent log hook, fd accounting and a way
 * to feed whole messages to a device. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost-engine.h"

/* The fuzzer's input, consumed from the front.  Reading past the end
 * yields zeros, so every input decodes to something. */
struct fuzz_input {
    const uint8_t *p;
    size_t n;
};

uint8_t fuzz_u8(struct fuzz_input *);
uint16_t fuzz_u16(struct fuzz_input *);
uint32_t fuzz_u32(struct fuzz_input *);
uint64_t fuzz_u64(struct fuzz_input *);

/* Returns a pointer to the next 'n' bytes (fewer if the input ends, the
 * number stored in '*got') and consumes them. */
const uint8_t *fuzz_bytes(struct fuzz_input *, size_t n, size_t *got);

/* Once per process: installs a log hook that formats every line (so that
 * bad format arguments show up under the sanitizers) and prints nothing
 * unless the environment variable FUZZ_VERBOSE is set, and warms up the
 * sanitizers' symbolizer (see fuzz-common.c). */
void fuzz_init(void);

/* vhu_dequeue_burst() callbacks: malloc() exactly 'len' bytes, so that
 * AddressSanitizer sees any copy beyond them; free(). */
void *fuzz_alloc(void *aux, uint32_t len, void **data);
void fuzz_free(void *aux, void *pkt);

/* Returns the number of fds this process has open (from /proc/self/fd). */
int fuzz_count_fds(void);

/* Aborts with a message on stderr. */
void fuzz_fail(const char *format, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Feeds one message (header built here, 'size' bytes of 'payload') with
 * 'n_fds' fds to 'dev' in one call, then runs grace periods until the
 * engine wants none and drains its output.  The engine owns the fds. */
int fuzz_send_msg(struct vhu_device *, uint32_t request, uint32_t flags,
                  const void *payload, uint32_t size,
                  const int *fds, size_t n_fds);

/* Runs grace periods until 'dev' wants none (at most a few) and discards
 * its output. */
void fuzz_settle(struct vhu_device *);

/* Disconnects 'dev', completes the grace period and destroys it. */
void fuzz_teardown(struct vhu_device *);

#endif /* fuzz-common.h */
