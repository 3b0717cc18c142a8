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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1           /* accept4(), ppoll(). */
#endif

/* vhost-user-loopback: a standalone vhost-user back-end that runs our
 * engine (datapath/libvhost-engine.la) on two sockets and loops them: what
 * the frontend on port 0 transmits on queue pair N is delivered to the
 * frontend on port 1 on queue pair N, and vice versa.
 *
 * One thread does everything.  The main loop alternates between the data
 * path (one pass over every queue pair of both ports) and the control path
 * (a ppoll() on the sockets).  While traffic flows, the control path runs
 * every CTL_EVERY passes with a zero timeout; after IDLE_SPINS empty passes
 * the ppoll() waits IDLE_NAP_NS, which doubles as the nap that keeps an
 * idle loopback from hogging a core.  Since the data path never runs
 * during a control step, every grace period the engine asks for has
 * already elapsed when it asks: vhu_device_grace_done() follows at once.
 *
 * Forwarding is lossless while both frontends run: frames that do not fit
 * in the receiving guest's ring stay pending, and nothing more is taken
 * from the sending ring until they went through.  Frames pending when the
 * receiving frontend goes away are dropped and counted. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost-engine.h"

#define PROGRAM_NAME "vhost-user-loopback"

#define ARRAY_SIZE(A) (sizeof (A) / sizeof (A)[0])
#define MIN(A, B) ((A) < (B) ? (A) : (B))

/* Frames moved per burst. */
#define BURST 32

/* Data path passes between two control steps while traffic flows. */
#define CTL_EVERY 256

/* After this many empty passes, each control step waits IDLE_NAP_NS. */
#define IDLE_SPINS 1000
#define IDLE_NAP_NS 50000

/* With no queue running at all, the control step waits this long. */
#define IDLE_WAIT_NS 100000000

/* A client retries connecting after this long, doubling up to the max. */
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 1000

/* Messages read from one frontend per control step. */
#define MAX_READS_PER_STEP 16

/* Packet buffers: pool slots hold frames up to POOL_BUF_SIZE bytes; larger
 * frames (jumbo, up to VHU_MAX_FRAME_LEN) get a heap buffer of their own. */
#define POOL_BUF_SIZE 2048

/* Exit statuses. */
#define EXIT_USAGE 2

/* One packet buffer. */
struct lb_buf {
    struct lb_buf *next;        /* In the free list. */
    uint32_t len;               /* Frame length. */
    bool heap;                  /* Not from the pool: free() it. */
    unsigned char data[];
};

/* A free-list pool of POOL_BUF_SIZE buffers.  It holds enough buffers for
 * every pending burst, so allocation fails only for a heap buffer. */
struct lb_pool {
    struct lb_buf *free;
    void *mem;
};

/* Frames taken from one port's queue pair, waiting for room in the other
 * port's guest receive ring. */
struct lb_pending {
    struct lb_buf *bufs[BURST];
    int n, next;                /* Count, and the first not yet sent. */
};

/* Per-queue-pair counters of one port, from the loopback's point of view:
 * "rx" is what the guest transmitted (we dequeued), "tx" what we delivered
 * to the guest. */
struct lb_counters {
    uint64_t rx_packets, rx_bytes;
    uint64_t tx_packets, tx_bytes;
    uint64_t tx_dropped;        /* Pending when the other side left. */
};

/* One side of the loop: a vhost-user socket and its engine device. */
struct lb_port {
    int index;                  /* 0 or 1. */
    char name[8];               /* "port0", "port1". */
    char *path;
    bool client;

    struct vhu_device *vdev;
    int listen_fd;              /* Server: listening socket. */
    int fd;                     /* Connection, -1 if none. */

    /* Client reconnection. */
    long long next_connect_ms;
    int backoff_ms;
    int last_connect_error;

    /* Message framing: read the header, then exactly its payload, so that
     * the fds of a message arrive with that message's bytes. */
    struct vhu_reader reader;

    uint64_t last_change_seq;
    bool running;               /* Last reported state. */
    uint64_t reported_features;
    unsigned int reported_n_qp;

    struct lb_pending pending[VHU_MAX_QUEUE_PAIRS];   /* To the other. */
    struct lb_counters counters[VHU_MAX_QUEUE_PAIRS];
};

/* Command line. */
static struct {
    unsigned int queues;
    double duration;            /* Seconds, 0 for no limit. */
    bool quiet;
    bool verbose;
} opts = { .queues = 1 };

static struct lb_port ports[2];
static struct lb_pool pool;

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stats_requested;

/* Logging. */

static void
lb_vlog(const char *prefix, const char *format, va_list args)
{
    fputs(PROGRAM_NAME ": ", stderr);
    if (prefix) {
        fputs(prefix, stderr);
    }
    vfprintf(stderr, format, args);
    putc('\n', stderr);
}

/* Prints an error on stderr, always. */
static void __attribute__((format(printf, 1, 2)))
lb_error(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    lb_vlog("error: ", format, args);
    va_end(args);
}

/* Prints a progress message on stderr, unless --quiet. */
static void __attribute__((format(printf, 1, 2)))
lb_info(const char *format, ...)
{
    va_list args;

    if (!opts.quiet) {
        va_start(args, format);
        lb_vlog(NULL, format, args);
        va_end(args);
    }
}

/* The engine's log hook: errors and warnings always, information unless
 * --quiet, debugging with --verbose.  Each line is already prefixed with
 * the device's name. */
static void
lb_engine_log(enum vhu_log_level level, const char *format, va_list args)
{
    switch (level) {
    case VHU_LOG_ERR:
        lb_vlog("engine error: ", format, args);
        break;
    case VHU_LOG_WARN:
        lb_vlog("engine warning: ", format, args);
        break;
    case VHU_LOG_INFO:
        if (!opts.quiet) {
            lb_vlog("engine: ", format, args);
        }
        break;
    case VHU_LOG_DBG:
    default:
        if (opts.verbose) {
            lb_vlog("engine: ", format, args);
        }
        break;
    }
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Packet pool. */

static bool
pool_init(size_t n)
{
    size_t size = sizeof(struct lb_buf) + POOL_BUF_SIZE;
    char *mem;

    /* Cache-line multiple, so that no two buffers share a line. */
    size = (size + 63) & ~(size_t) 63;
    if (posix_memalign((void **) &mem, 64, n * size)) {
        return false;
    }
    pool.mem = mem;
    pool.free = NULL;
    for (size_t i = 0; i < n; i++) {
        struct lb_buf *buf = (struct lb_buf *) (mem + i * size);

        buf->heap = false;
        buf->next = pool.free;
        pool.free = buf;
    }
    return true;
}

static void
pool_put(struct lb_buf *buf)
{
    if (buf->heap) {
        free(buf);
    } else {
        buf->next = pool.free;
        pool.free = buf;
    }
}

/* vhu_alloc_fn for vhu_dequeue_burst(): a pool buffer, or a heap buffer
 * for a frame larger than a pool slot.  Returns NULL (the frame stays in
 * the guest's ring) if none can be had. */
static void *
pool_alloc(void *aux, uint32_t len, void **data)
{
    struct lb_buf *buf;

    (void) aux;
    if (len <= POOL_BUF_SIZE && pool.free) {
        buf = pool.free;
        pool.free = buf->next;
    } else if (len > POOL_BUF_SIZE) {
        buf = malloc(sizeof *buf + len);
        if (!buf) {
            return NULL;
        }
        buf->heap = true;
    } else {
        return NULL;
    }
    buf->len = len;
    *data = buf->data;
    return buf;
}

/* vhu_free_fn for vhu_dequeue_burst(). */
static void
pool_free(void *aux, void *buf)
{
    (void) aux;
    pool_put(buf);
}

/* Data path. */

/* Drops every frame pending from 'src' to the other port (which went
 * away), counting them on the other port. */
static void
pending_drop(struct lb_port *src, unsigned int qp)
{
    struct lb_pending *p = &src->pending[qp];
    struct lb_port *dst = &ports[!src->index];

    if (p->next < p->n) {
        dst->counters[qp].tx_dropped += p->n - p->next;
    }
    for (int i = p->next; i < p->n; i++) {
        pool_put(p->bufs[i]);
    }
    p->n = p->next = 0;
}

/* Delivers what is pending on queue pair 'qp' from 'src' to the other
 * port's guest.  Returns the number of frames delivered. */
static int
pending_flush(struct lb_port *src, unsigned int qp)
{
    struct lb_pending *p = &src->pending[qp];
    struct lb_port *dst = &ports[!src->index];
    struct lb_counters *c = &dst->counters[qp];
    struct vhu_frame frames[BURST];
    int n = p->n - p->next;
    int sent;

    for (int i = 0; i < n; i++) {
        frames[i].data = p->bufs[p->next + i]->data;
        frames[i].len = p->bufs[p->next + i]->len;
    }
    sent = vhu_enqueue_burst(dst->vdev, qp, frames, n);
    for (int i = 0; i < sent; i++) {
        struct lb_buf *buf = p->bufs[p->next + i];

        c->tx_bytes += buf->len;
        pool_put(buf);
    }
    c->tx_packets += sent;
    p->next += sent;
    if (p->next == p->n) {
        p->n = p->next = 0;
    }
    return sent;
}

/* Moves one burst from 'src''s guest on queue pair 'qp' to the other
 * port's guest.  Returns the number of frames moved or dequeued. */
static int
forward(struct lb_port *src, unsigned int qp)
{
    struct lb_port *dst = &ports[!src->index];
    struct lb_pending *p = &src->pending[qp];
    struct lb_counters *c = &src->counters[qp];
    int work = 0;
    int n;

    if (!vhu_tx_ready(dst->vdev, qp)) {
        /* The receiver is not running: leave the frames in the sender's
         * ring, as a link that is down would. */
        if (p->n) {
            pending_drop(src, qp);
        }
        return 0;
    }
    if (p->n) {
        work = pending_flush(src, qp);
        if (p->n) {
            return work;
        }
    }
    if (!vhu_rx_ready(src->vdev, qp)) {
        return work;
    }
    n = vhu_dequeue_burst(src->vdev, qp, pool_alloc, pool_free, NULL,
                          (void **) p->bufs, BURST);
    if (!n) {
        return work;
    }
    for (int i = 0; i < n; i++) {
        c->rx_bytes += p->bufs[i]->len;
    }
    c->rx_packets += n;
    p->n = n;
    p->next = 0;
    return work + n + pending_flush(src, qp);
}

/* One pass over every queue pair in both directions.  Returns the number
 * of frames moved. */
static int
datapath_pass(void)
{
    int work = 0;

    for (unsigned int qp = 0; qp < opts.queues; qp++) {
        work += forward(&ports[0], qp);
        work += forward(&ports[1], qp);
    }
    return work;
}

/* True if any ring of either port is ready to move frames. */
static bool
datapath_active(void)
{
    for (int i = 0; i < 2; i++) {
        for (unsigned int qp = 0; qp < opts.queues; qp++) {
            if (vhu_rx_ready(ports[i].vdev, qp)
                || vhu_tx_ready(ports[i].vdev, qp)) {
                return true;
            }
        }
    }
    return false;
}

/* Control path. */

/* Fills 'addr' with 'path'.  Returns false if the path is too long. */
static bool
make_addr(struct sockaddr_un *addr, const char *path)
{
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr->sun_path) {
        return false;
    }
    strcpy(addr->sun_path, path);
    return true;
}

/* Creates port 'p''s listening socket.  A stale socket file (nobody
 * listening on it) is replaced.  Returns 0 or a positive errno value. */
static int
port_listen(struct lb_port *p)
{
    struct sockaddr_un addr;
    struct stat s;
    int fd;

    if (!make_addr(&addr, p->path)) {
        lb_error("%s: socket path too long: %s", p->name, p->path);
        return ENAMETOOLONG;
    }
    if (!lstat(p->path, &s)) {
        if (!S_ISSOCK(s.st_mode)) {
            lb_error("%s: %s exists and is not a socket", p->name, p->path);
            return EEXIST;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && !connect(fd, (struct sockaddr *) &addr,
                                sizeof addr)) {
            close(fd);
            lb_error("%s: another process listens on %s", p->name,
                     p->path);
            return EADDRINUSE;
        }
        if (fd >= 0) {
            close(fd);
        }
        unlink(p->path);
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int error = errno;

        lb_error("%s: socket: %s", p->name, strerror(error));
        return error;
    }
    if (bind(fd, (struct sockaddr *) &addr, sizeof addr)
        || listen(fd, 4)) {
        int error = errno;

        lb_error("%s: cannot listen on %s: %s", p->name, p->path,
                 strerror(error));
        close(fd);
        return error;
    }
    p->listen_fd = fd;
    lb_info("%s: listening on %s", p->name, p->path);
    return 0;
}

static void
port_connected(struct lb_port *p, int fd)
{
    p->fd = fd;
    vhu_reader_reset(&p->reader);
    p->backoff_ms = RECONNECT_MIN_MS;
    p->last_connect_error = 0;
    lb_info("%s: frontend connected on %s", p->name, p->path);
}

/* Client: tries to connect to the frontend's socket once; on failure,
 * schedules the next try. */
static void
port_try_connect(struct lb_port *p)
{
    struct sockaddr_un addr;
    int fd;

    make_addr(&addr, p->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 && !connect(fd, (struct sockaddr *) &addr, sizeof addr)) {
        port_connected(p, fd);
        return;
    }
    /* A UNIX stream socket connects at once or not at all. */
    int error = errno;
    if (fd >= 0) {
        close(fd);
    }
    if (error != p->last_connect_error) {
        lb_info("%s: connecting to %s: %s (will retry)", p->name, p->path,
                strerror(error));
        p->last_connect_error = error;
    }
    p->next_connect_ms = now_ms() + p->backoff_ms;
    p->backoff_ms = MIN(p->backoff_ms * 2, RECONNECT_MAX_MS);
}

static void
port_try_accept(struct lb_port *p)
{
    int fd = accept4(p->listen_fd, NULL, NULL,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd >= 0) {
        port_connected(p, fd);
    } else if (errno != EAGAIN && errno != EINTR) {
        lb_error("%s: accept on %s: %s", p->name, p->path, strerror(errno));
    }
}

/* Releases what the engine retired.  The data path runs in this thread and
 * never during a control step, so no burst can be in progress. */
static void
port_grace(struct lb_port *p)
{
    if (vhu_device_wants_grace(p->vdev)) {
        vhu_device_grace_done(p->vdev);
    }
}

static void
port_close(struct lb_port *p, const char *reason)
{
    lb_info("%s: frontend disconnected (%s)", p->name, reason);
    close(p->fd);
    p->fd = -1;
    vhu_reader_reset(&p->reader);
    vhu_device_disconnect(p->vdev);
    port_grace(p);
    for (unsigned int qp = 0; qp < VHU_MAX_QUEUE_PAIRS; qp++) {
        /* Frames on their way to this port.  (Frames from it still go
         * to the other port.) */
        pending_drop(&ports[!p->index], qp);
    }
    p->next_connect_ms = now_ms() + RECONNECT_MIN_MS;
}

/* Reads what the frontend sent, with any fds, and feeds it to the engine.
 * Returns 0, EOF when the frontend closed the connection, or a positive
 * errno value. */
static int
port_recv(struct lb_port *p)
{
    for (int i = 0; i < MAX_READS_PER_STEP; i++) {
        int fds[VHU_MSG_MAX_FDS];
        size_t n_fds;
        char buf[4096];
        ssize_t n;
        int error;

        n = vhu_reader_recv(&p->reader, p->fd, buf, sizeof buf, fds, &n_fds);
        if (n < 0) {
            if (n == -EAGAIN || n == -EINTR) {
                return 0;
            }
            if (n == -EPROTO) {
                lb_error("%s: frontend sent more than %d fds at once",
                         p->name, VHU_MSG_MAX_FDS);
            }
            return -n;
        } else if (!n) {
            return EOF;
        }

        error = vhu_device_input(p->vdev, buf, n, fds, n_fds);
        if (error) {
            return error;
        }
        /* The engine holds further input until the grace period ends,
         * which it has: see port_grace(). */
        port_grace(p);
    }
    return 0;
}

/* Sends the engine's replies.  Returns 0 or a positive errno value. */
static int
port_send(struct lb_port *p)
{
    for (;;) {
        size_t n;
        const void *data = vhu_device_output(p->vdev, &n);
        ssize_t sent;

        if (!n) {
            return 0;
        }
        sent = send(p->fd, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            return errno == EAGAIN || errno == EINTR ? 0 : errno;
        }
        vhu_device_output_done(p->vdev, sent);
    }
}

/* Logs changes in the frontend's state that matter to a user: the driver
 * starting and stopping, with the queue pairs and the features that shape
 * the data path. */
static void
port_report_state(struct lb_port *p)
{
    uint64_t seq = vhu_device_change_seq(p->vdev);
    uint64_t features;
    unsigned int n_qp;
    bool running;

    if (seq == p->last_change_seq) {
        return;
    }
    p->last_change_seq = seq;
    running = vhu_device_is_running(p->vdev);
    features = running ? vhu_device_features(p->vdev) : 0;
    n_qp = running ? vhu_device_n_queue_pairs(p->vdev) : 0;
    if (running == p->running && features == p->reported_features
        && n_qp == p->reported_n_qp) {
        return;
    }
    if (running) {
        lb_info("%s: ready: %u queue pair(s), mrg_rxbuf %s, event_idx %s, "
                "features 0x%" PRIx64, p->name, n_qp,
                features & VHU_BIT(VHU_VIRTIO_NET_F_MRG_RXBUF) ? "on" : "off",
                features & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX) ? "on"
                : "off", features);
        if (n_qp > opts.queues) {
            lb_info("%s: frontend set up %u queue pairs, only %u are "
                    "looped (--queues)", p->name, n_qp, opts.queues);
        }
    } else {
        lb_info("%s: stopped", p->name);
    }
    p->running = running;
    p->reported_features = features;
    p->reported_n_qp = n_qp;
}

/* Does everything port 'p' needs after the poll: accept or connect, read
 * and send control messages. */
static void
port_run(struct lb_port *p, short revents)
{
    if (p->fd < 0) {
        if (!p->client) {
            if (revents & POLLIN) {
                port_try_accept(p);
            }
        } else if (now_ms() >= p->next_connect_ms) {
            port_try_connect(p);
        }
    } else {
        int error = 0;

        if (revents & (POLLIN | POLLHUP | POLLERR)) {
            error = port_recv(p);
        }
        if (!error) {
            /* The guest's control queue, when the frontend hands it to us
             * (its kick fd is in the poll). */
            vhu_device_run_ctrl(p->vdev);
            error = port_send(p);
        }
        if (!error && vhu_device_is_broken(p->vdev)) {
            error = EPROTO;
        }
        if (error) {
            port_close(p, error == EOF ? "connection closed"
                       : error == EPROTO ? "protocol violation"
                       : strerror(error));
        }
    }
    port_report_state(p);
}

/* One control step: waits up to 'timeout_ns' for something on the
 * sockets, then serves both ports. */
static void
control_step(long long timeout_ns)
{
    struct pollfd pfds[4];
    struct timespec ts;
    long long now = now_ms();

    for (int i = 0; i < 2; i++) {
        struct lb_port *p = &ports[i];

        pfds[i].fd = -1;
        pfds[i].events = 0;
        pfds[i].revents = 0;
        pfds[2 + i].fd = p->fd >= 0 ? vhu_device_ctrl_kick_fd(p->vdev) : -1;
        pfds[2 + i].events = POLLIN;
        pfds[2 + i].revents = 0;
        if (p->fd >= 0) {
            size_t n;

            vhu_device_output(p->vdev, &n);
            pfds[i].fd = p->fd;
            pfds[i].events = POLLIN | (n ? POLLOUT : 0);
        } else if (!p->client) {
            pfds[i].fd = p->listen_fd;
            pfds[i].events = POLLIN;
        } else {
            long long wait_ns = (p->next_connect_ms - now) * 1000000;

            if (wait_ns < timeout_ns) {
                timeout_ns = wait_ns > 0 ? wait_ns : 0;
            }
        }
    }
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    if (ppoll(pfds, 4, &ts, NULL) < 0 && errno != EINTR) {
        lb_error("poll: %s", strerror(errno));
    }
    for (int i = 0; i < 2; i++) {
        port_run(&ports[i], pfds[i].revents);
    }
}

/* Counters. */

static void
print_counters(FILE *stream)
{
    for (int i = 0; i < 2; i++) {
        struct lb_counters sum = { 0 };

        for (unsigned int qp = 0; qp < opts.queues; qp++) {
            const struct lb_counters *c = &ports[i].counters[qp];

            sum.rx_packets += c->rx_packets;
            sum.rx_bytes += c->rx_bytes;
            sum.tx_packets += c->tx_packets;
            sum.tx_bytes += c->tx_bytes;
            sum.tx_dropped += c->tx_dropped;
        }
        fprintf(stream, "%s: rx_packets=%" PRIu64 " rx_bytes=%" PRIu64
                " tx_packets=%" PRIu64 " tx_bytes=%" PRIu64
                " tx_dropped=%" PRIu64 "\n", ports[i].name,
                sum.rx_packets, sum.rx_bytes, sum.tx_packets, sum.tx_bytes,
                sum.tx_dropped);
        if (opts.queues > 1) {
            for (unsigned int qp = 0; qp < opts.queues; qp++) {
                const struct lb_counters *c = &ports[i].counters[qp];

                fprintf(stream, "%s queue %u: rx_packets=%" PRIu64
                        " tx_packets=%" PRIu64 " tx_dropped=%" PRIu64 "\n",
                        ports[i].name, qp, c->rx_packets, c->tx_packets,
                        c->tx_dropped);
            }
        }
    }
    fflush(stream);
}

/* Command line and main loop. */

static void
usage(void)
{
    printf("%s: loops two vhost-user frontends through the ovs-vhostuser "
           "engine\n"
           "usage: %s [OPTIONS]\n"
           "  --socket0=PATH[,client]  port 0's socket (server unless "
           "\",client\")\n"
           "  --socket1=PATH[,client]  port 1's socket\n"
           "  --queues=N               queue pairs to offer and loop "
           "(1..%d, default 1)\n"
           "  --duration=SECONDS       exit after this long (default: "
           "until SIGINT/SIGTERM)\n"
           "  -q, --quiet              only errors and the final counters\n"
           "  -v, --verbose            the engine's debug messages too\n"
           "  -h, --help               this help\n"
           "SIGUSR1 prints the counters; they are printed at exit too.\n",
           PROGRAM_NAME, PROGRAM_NAME, VHU_MAX_QUEUE_PAIRS);
}

/* Parses "PATH[,client]" into port 'p'.  Returns false if it is invalid. */
static bool
parse_socket(struct lb_port *p, const char *arg)
{
    const char *comma = strrchr(arg, ',');

    p->client = false;
    if (comma && !strcmp(comma + 1, "client")) {
        p->client = true;
        p->path = strndup(arg, comma - arg);
    } else if (comma && !strcmp(comma + 1, "server")) {
        p->path = strndup(arg, comma - arg);
    } else {
        p->path = strdup(arg);
    }
    return p->path && p->path[0];
}

static int
parse_args(int argc, char *argv[])
{
    enum { OPT_SOCKET0 = 256, OPT_SOCKET1, OPT_QUEUES, OPT_DURATION };
    static const struct option long_options[] = {
        { "socket0", required_argument, NULL, OPT_SOCKET0 },
        { "socket1", required_argument, NULL, OPT_SOCKET1 },
        { "queues", required_argument, NULL, OPT_QUEUES },
        { "duration", required_argument, NULL, OPT_DURATION },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "qvh", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_SOCKET0:
        case OPT_SOCKET1:
            if (!parse_socket(&ports[c - OPT_SOCKET0], optarg)) {
                lb_error("invalid socket \"%s\"", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_QUEUES: {
            unsigned long n = strtoul(optarg, &end, 10);

            if (*end || !n || n > VHU_MAX_QUEUE_PAIRS) {
                lb_error("--queues must be 1 to %d", VHU_MAX_QUEUE_PAIRS);
                return EXIT_USAGE;
            }
            opts.queues = n;
            break;
        }
        case OPT_DURATION:
            opts.duration = strtod(optarg, &end);
            if (*end || opts.duration < 0) {
                lb_error("invalid --duration \"%s\"", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'q':
            opts.quiet = true;
            break;
        case 'v':
            opts.verbose = true;
            break;
        case 'h':
            usage();
            exit(EXIT_SUCCESS);
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        lb_error("unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    if (!ports[0].path || !ports[1].path) {
        lb_error("--socket0 and --socket1 are required (--help for help)");
        return EXIT_USAGE;
    }
    return 0;
}

static void
on_stop_signal(int signo)
{
    (void) signo;
    stop_requested = 1;
}

static void
on_stats_signal(int signo)
{
    (void) signo;
    stats_requested = 1;
}

static void
setup_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_stats_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* Creates both ports' devices and server sockets.  Returns 0 or an exit
 * status. */
static int
ports_init(void)
{
    for (int i = 0; i < 2; i++) {
        ports[i].fd = ports[i].listen_fd = -1;
    }
    for (int i = 0; i < 2; i++) {
        struct lb_port *p = &ports[i];
        struct vhu_device_options options = {
            .name = p->name,
            .max_queue_pairs = opts.queues,
            .min_mtu = 68,
            .max_mtu = VHU_MAX_FRAME_LEN - 14,
        };

        p->index = i;
        snprintf(p->name, sizeof p->name, "port%d", i);
        options.name = p->name;
        p->backoff_ms = RECONNECT_MIN_MS;
        p->next_connect_ms = 0;
        p->vdev = vhu_device_create(&options);
        if (!p->vdev) {
            lb_error("%s: cannot create the engine device", p->name);
            return EXIT_FAILURE;
        }
        p->last_change_seq = vhu_device_change_seq(p->vdev);
        if (!p->client && port_listen(p)) {
            return EXIT_FAILURE;
        }
    }
    return 0;
}

static void
ports_fini(void)
{
    for (int i = 0; i < 2; i++) {
        struct lb_port *p = &ports[i];

        if (p->fd >= 0) {
            port_close(p, "exiting");
        }
        if (p->listen_fd >= 0) {
            close(p->listen_fd);
            unlink(p->path);
        }
        if (p->vdev) {
            port_grace(p);
            vhu_device_destroy(p->vdev);
        }
        free(p->path);
    }
}

int
main(int argc, char *argv[])
{
    long long deadline_ms = LLONG_MAX;
    unsigned int idle = 0, passes = 0;
    int status;

    setvbuf(stderr, NULL, _IOLBF, 0);
    status = parse_args(argc, argv);
    if (status) {
        return status;
    }
    vhu_set_log_hook(lb_engine_log);
    setup_signals();

    /* Enough buffers for one pending burst per direction and queue pair. */
    if (!pool_init(2 * opts.queues * BURST)) {
        lb_error("out of memory");
        return EXIT_FAILURE;
    }
    status = ports_init();
    if (!status) {
        if (opts.duration > 0) {
            deadline_ms = now_ms() + (long long) (opts.duration * 1000);
        }
        lb_info("looping %s and %s, %u queue pair(s)", ports[0].path,
                ports[1].path, opts.queues);

        while (!stop_requested) {
            if (datapath_pass()) {
                idle = 0;
            } else if (idle < IDLE_SPINS) {
                idle++;
            }
            if (++passes >= CTL_EVERY || idle >= IDLE_SPINS) {
                passes = 0;
                control_step(idle < IDLE_SPINS ? 0
                             : datapath_active() ? IDLE_NAP_NS
                             : IDLE_WAIT_NS);
                if (now_ms() >= deadline_ms) {
                    break;
                }
            }
            if (stats_requested) {
                stats_requested = 0;
                print_counters(stdout);
            }
        }
        lb_info("exiting");
    }
    ports_fini();
    print_counters(stdout);
    free(pool.mem);
    return status;
}
