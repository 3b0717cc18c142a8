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

#define _GNU_SOURCE 1           /* memfd_create(). */
#include <vhu-config.h>

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "vhost-engine.h"

/* libFuzzer target: the vhost-user message stream, with fds.
 *
 * The input is a sequence of operations on one device, each starting with
 * an opcode byte 'op' (tests/fuzz/README.md has the full format):
 *
 *   op & 3 == 0  a message whose header the harness builds (request,
 *                flags, size and payload from the input), with up to
 *                op >> 5 fds;
 *   op & 3 == 1  raw bytes (any framing), with up to op >> 5 fds;
 *   op & 3 == 2  control: grace period, drain output, disconnect;
 *   op & 3 == 3  data path: dequeue and enqueue bursts on every queue.
 *
 * Each fd is described by one byte: a memfd of 1 to 64 pages, an
 * eventfd, a memfd of 0 to 63 bytes, or the read end of a pipe (which
 * cannot be mapped).  The engine owns every fd it is given; at the end the
 * device is disconnected and destroyed, and the process must have exactly
 * the fds it had before. */

/* Operations per input, to bound the time one input takes. */
#define MAX_OPS 128

/* The first byte of the first input decides the device's queue pairs. */
static struct vhu_device *
make_device(struct fuzz_input *in)
{
    struct vhu_device_options opts = {
        .name = "fuzz",
        .max_queue_pairs = 1 + fuzz_u8(in) % VHU_MAX_QUEUE_PAIRS,
        .min_mtu = 68,
        .max_mtu = 9000,
    };
    struct vhu_device *dev = vhu_device_create(&opts);

    if (!dev) {
        fuzz_fail("vhu_device_create failed");
    }
    return dev;
}

/* Returns a new fd as described by spec byte 's'. */
static int
make_fd(uint8_t s)
{
    int fd = -1;

    switch (s & 3) {
    case 0:
    case 2:
        fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
        if (fd >= 0 && ftruncate(fd, (s & 3) == 0 ? ((s >> 2) + 1) * 4096
                                                  : s >> 2) < 0) {
            fuzz_fail("ftruncate failed");
        }
        break;
    case 1:
        fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        break;
    case 3: {
        int p[2];

        if (!pipe(p)) {
            close(p[1]);
            fd = p[0];
        }
        break;
    }
    }
    if (fd < 0) {
        fuzz_fail("cannot create an fd for the input");
    }
    return fd;
}

/* Reads the fd specs for 'n' fds and creates them in 'fds'. */
static void
make_fds(struct fuzz_input *in, int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fds[i] = make_fd(fuzz_u8(in));
    }
}

/* Runs one dequeue and one enqueue burst on every queue pair that is
 * ready. */
static void
run_data_path(struct vhu_device *dev, unsigned int n_qp)
{
    static const uint8_t frame[1514];
    const struct vhu_frame frames[3] = {
        { frame, 60 }, { frame, sizeof frame }, { frame, 0 },
    };

    for (unsigned int qp = 0; qp < n_qp; qp++) {
        if (vhu_rx_ready(dev, qp)) {
            void *pkts[8];
            int n = vhu_dequeue_burst(dev, qp, fuzz_alloc, fuzz_free, NULL,
                                      pkts, 8);

            for (int i = 0; i < n; i++) {
                free(pkts[i]);
            }
        }
        if (vhu_tx_ready(dev, qp)) {
            vhu_enqueue_burst(dev, qp, frames, 3);
        }
    }
}

/* Decodes and feeds one message operation ('op' already read). */
static void
op_message(struct vhu_device *dev, struct fuzz_input *in, uint8_t op)
{
    uint8_t buf[sizeof(struct vhu_msg_header) + 512];
    struct vhu_msg_header hdr;
    int fds[8];
    size_t n_fds = op >> 5;
    uint8_t mode = fuzz_u8(in);
    size_t len, got, split;
    const uint8_t *payload;

    hdr.request = fuzz_u8(in);
    switch (mode & 3) {
    case 0:
        hdr.flags = VHU_VERSION;
        break;
    case 1:
        hdr.flags = VHU_VERSION | VHU_FLAG_NEED_REPLY;
        break;
    case 2:
        hdr.flags = fuzz_u8(in);
        break;
    default:
        hdr.flags = fuzz_u32(in);
        break;
    }
    len = fuzz_u8(in) + (mode & 8 ? 256 : 0);
    hdr.size = mode & 4 ? fuzz_u32(in) : len;
    split = mode & 16 ? fuzz_u8(in) : 0;
    make_fds(in, fds, n_fds);

    payload = fuzz_bytes(in, len, &got);
    memcpy(buf, &hdr, sizeof hdr);
    memcpy(buf + sizeof hdr, payload, got);
    memset(buf + sizeof hdr + got, 0, len - got);
    len += sizeof hdr;

    /* Optionally in two pieces, the fds with the first. */
    if (split && split < len) {
        vhu_device_input(dev, buf, split, fds, n_fds);
        vhu_device_input(dev, buf + split, len - split, NULL, 0);
    } else {
        vhu_device_input(dev, buf, len, fds, n_fds);
    }
}

/* Decodes and feeds one raw-bytes operation ('op' already read). */
static void
op_raw(struct vhu_device *dev, struct fuzz_input *in, uint8_t op)
{
    size_t n_fds = op >> 5;
    size_t len = fuzz_u8(in), got;
    const uint8_t *data;
    int fds[8];

    make_fds(in, fds, n_fds);
    data = fuzz_bytes(in, len, &got);
    vhu_device_input(dev, data, got, fds, n_fds);
}

/* Decodes one control operation. */
static void
op_control(struct vhu_device *dev, uint8_t op)
{
    if (op & 4 && vhu_device_wants_grace(dev)) {
        vhu_device_grace_done(dev);
    }
    if (op & 8) {
        size_t n;

        vhu_device_output(dev, &n);
        vhu_device_output_done(dev, op & 16 ? n : n / 2);
    }
    if (op & 32) {
        /* What the switch does when the connection ends (or breaks): the
         * device must be able to serve a new connection afterwards. */
        vhu_device_disconnect(dev);
    }
    if (op & 64) {
        uint8_t mac[6];
        struct vhu_vring_info info;
        struct vhu_vring_stats stats;

        vhu_device_take_rarp(dev, mac);
        vhu_device_n_queue_pairs(dev);
        vhu_device_is_running(dev);
        for (unsigned int i = 0; i < VHU_MAX_VRINGS + 1; i++) {
            vhu_device_vring_info(dev, i, &info);
            vhu_device_vring_stats(dev, i, &stats);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialized;
    struct fuzz_input in = { data, size };
    struct vhu_device *dev;
    unsigned int n_qp;
    int fds_before;

    if (!initialized) {
        fuzz_init();
        initialized = true;
    }
    fds_before = fuzz_count_fds();

    n_qp = 1 + (in.n ? in.p[0] : 0) % VHU_MAX_QUEUE_PAIRS;
    dev = make_device(&in);
    for (int i = 0; i < MAX_OPS && in.n; i++) {
        uint8_t op = fuzz_u8(&in);

        switch (op & 3) {
        case 0:
            op_message(dev, &in, op);
            break;
        case 1:
            op_raw(dev, &in, op);
            break;
        case 2:
            op_control(dev, op);
            break;
        case 3:
            run_data_path(dev, n_qp);
            break;
        }

        /* What the switch's control thread does after each read: a
         * broken device loses its connection. */
        if (vhu_device_is_broken(dev)) {
            vhu_device_disconnect(dev);
        }
    }
    fuzz_teardown(dev);

    if (fuzz_count_fds() != fds_before) {
        fuzz_fail("fd leak: %d fds open before the input, %d after",
                  fds_before, fuzz_count_fds());
    }
    return 0;
}
