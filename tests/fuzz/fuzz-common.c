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
#include "fuzz-common.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t
fuzz_u8(struct fuzz_input *in)
{
    uint8_t v = 0;

    if (in->n) {
        v = *in->p++;
        in->n--;
    }
    return v;
}

uint16_t
fuzz_u16(struct fuzz_input *in)
{
    uint16_t lo = fuzz_u8(in);

    return lo | (uint16_t) fuzz_u8(in) << 8;
}

uint32_t
fuzz_u32(struct fuzz_input *in)
{
    uint32_t lo = fuzz_u16(in);

    return lo | (uint32_t) fuzz_u16(in) << 16;
}

uint64_t
fuzz_u64(struct fuzz_input *in)
{
    uint64_t lo = fuzz_u32(in);

    return lo | (uint64_t) fuzz_u32(in) << 32;
}

const uint8_t *
fuzz_bytes(struct fuzz_input *in, size_t n, size_t *got)
{
    const uint8_t *p = in->p;

    *got = n < in->n ? n : in->n;
    in->p += *got;
    in->n -= *got;
    return p;
}

static bool verbose;

/* Formats the line, to exercise the engine's format arguments, and prints
 * it only in verbose mode. */
static void
fuzz_log(enum vhu_log_level level, const char *format, va_list args)
{
    char line[512];

    vsnprintf(line, sizeof line, format, args);
    if (verbose) {
        fprintf(stderr, "engine[%d]: %s\n", (int) level, line);
    }
}

void *
fuzz_alloc(void *aux, uint32_t len, void **data)
{
    void *p = malloc(len ? len : 1);

    (void) aux;
    *data = p;
    return p;
}

void
fuzz_free(void *aux, void *pkt)
{
    (void) aux;
    free(pkt);
}

void
fuzz_init(void)
{
    static const struct vhu_device_options opts = {
        .name = "warm-up", .max_queue_pairs = 1, .max_mtu = 9000,
    };
    struct vhu_device *dev;
    size_t n;

    verbose = getenv("FUZZ_VERBOSE") != NULL;
    vhu_set_log_hook(fuzz_log);

    /* Matching a suppression in ubsan.supp symbolizes the report, which
     * starts llvm-symbolizer with two pipes that stay open.  Trigger that
     * once now, so that the fd accounting of each input does not count
     * them as a leak. */
    dev = vhu_device_create(&opts);
    if (!dev) {
        fuzz_fail("vhu_device_create failed");
    }
    vhu_device_output(dev, &n);
    vhu_device_destroy(dev);
}

int
fuzz_count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (!dir) {
        fuzz_fail("opendir /proc/self/fd failed");
    }
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] != '.') {
            n++;
        }
    }
    closedir(dir);
    return n - 1;               /* The directory's own fd. */
}

void
fuzz_fail(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    fputs("fuzz: ", stderr);
    vfprintf(stderr, format, args);
    putc('\n', stderr);
    va_end(args);
    abort();
}

void
fuzz_settle(struct vhu_device *dev)
{
    size_t n;

    /* A grace period can release input that asks for another one; a
     * bounded number of rounds is enough, as each one handles at least
     * one message. */
    for (int i = 0; i < 64 && vhu_device_wants_grace(dev); i++) {
        vhu_device_grace_done(dev);
    }
    vhu_device_output(dev, &n);
    vhu_device_output_done(dev, n);
}

int
fuzz_send_msg(struct vhu_device *dev, uint32_t request, uint32_t flags,
              const void *payload, uint32_t size, const int *fds,
              size_t n_fds)
{
    uint8_t buf[sizeof(struct vhu_msg_header) + 512];
    struct vhu_msg_header hdr = {
        .request = request,
        .flags = flags,
        .size = size,
    };
    int error;

    if (size > sizeof buf - sizeof hdr) {
        fuzz_fail("message payload too large for the harness");
    }
    memcpy(buf, &hdr, sizeof hdr);
    if (size) {
        memcpy(buf + sizeof hdr, payload, size);
    }
    error = vhu_device_input(dev, buf, sizeof hdr + size, fds, n_fds);
    fuzz_settle(dev);
    return error;
}

void
fuzz_teardown(struct vhu_device *dev)
{
    vhu_device_disconnect(dev);
    fuzz_settle(dev);
    if (vhu_device_wants_grace(dev)) {
        fuzz_fail("grace period still wanted after disconnect");
    }
    vhu_device_destroy(dev);
}
