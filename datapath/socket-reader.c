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
#include "vhost-engine.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reading vhost-user messages from a stream socket for the engine's
 * callers: one read never spans two messages, because a stream socket's
 * recvmsg() returns data up to and including the first segment that
 * carries fds, so reading across a message boundary would hand the next
 * message's fds over with this one's bytes. */

/* Returns how many bytes the next read may take: the rest of the header,
 * then the rest of the payload, at most 'max'. */
static size_t
reader_want(const struct vhu_reader *r, size_t max)
{
    size_t n = (r->header_len < sizeof r->header
                ? sizeof r->header - r->header_len
                : r->payload_left);
    return n < max ? n : max;
}

/* Accounts for 'n' bytes read into 'data'. */
static void
reader_track(struct vhu_reader *r, const char *data, size_t n)
{
    if (r->header_len < sizeof r->header) {
        memcpy((char *) &r->header + r->header_len, data, n);
        r->header_len += n;
        if (r->header_len == sizeof r->header) {
            r->payload_left = r->header.size;
        }
    } else {
        r->payload_left -= n;
    }
    if (r->header_len == sizeof r->header && !r->payload_left) {
        r->header_len = 0;
    }
}

static void
close_all(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        close(fds[i]);
    }
}

void
vhu_reader_reset(struct vhu_reader *r)
{
    memset(r, 0, sizeof *r);
}

ssize_t
vhu_reader_recv(struct vhu_reader *r, int sock, void *buf, size_t size,
                int fds[VHU_MSG_MAX_FDS], size_t *n_fds)
{
    union {
        struct cmsghdr cm;
        char buf[CMSG_SPACE(sizeof(int) * VHU_MSG_MAX_FDS)];
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = reader_want(r, size) };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = &control,
        .msg_controllen = sizeof control,
    };
    bool too_many = false;
    ssize_t n;

    *n_fds = 0;
    n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
        return -errno;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm;
         cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            size_t len = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

            for (size_t i = 0; i < len; i++) {
                int fd;

                memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
                if (*n_fds < VHU_MSG_MAX_FDS) {
                    fds[(*n_fds)++] = fd;
                } else {
                    close(fd);
                    too_many = true;
                }
            }
        }
    }
    if (too_many || msg.msg_flags & MSG_CTRUNC || !n) {
        /* More fds than any message may carry (the kernel dropped those
         * that did not fit), or EOF with fds. */
        close_all(fds, *n_fds);
        *n_fds = 0;
        return n ? -EPROTO : 0;
    }
    reader_track(r, buf, n);
    return n;
}
