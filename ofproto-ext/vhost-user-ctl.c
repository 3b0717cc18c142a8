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

#include <config.h>

#include "vhost-user-ctl.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coverage.h"
#include "fatal-signal.h"
#include "hash.h"
#include "openvswitch/hmap.h"
#include "netdev-provider.h"
#include "netdev-vhost-user.h"
#include "openvswitch/list.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "ovs-atomic.h"
#include "ovs-rcu.h"
#include "ovs-thread.h"
#include "seq.h"
#include "socket-util.h"
#include "timeval.h"
#include "util.h"
#include "vhost-engine.h"
#include "vhost-user-tsan.h"

VLOG_DEFINE_THIS_MODULE(vhost_user_ctl);

#ifdef VHOST_TSAN
char vhost_tsan_rcu;            /* See vhost-user-tsan.h. */
#endif

COVERAGE_DEFINE(vhost_user_connect);
COVERAGE_DEFINE(vhost_user_disconnect);
COVERAGE_DEFINE(vhost_user_grace);

/* A client retries connecting after this long, doubling up to the max. */
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 1000

/* How often the control thread checks the ports' carrier at the least. */
#define CARRIER_CHECK_MS 1000

/* When a state change is announced again, in ms after the change and then
 * after each repeat.  The first repeat is for PMD threads (see
 * vhost_conn_run()); the later ones for the bridge, which may create the
 * port's interface only after a client port's frontend connected, and
 * refreshes an interface's status only on the next change. */
static const int rebump_delays[] = { 200, 1000, 4000 };

/* Reads from one frontend per wake-up, so that a chatty one cannot starve
 * the others. */
#define MAX_READS_PER_RUN 16

/* An RCU grace period that the control thread waits for without blocking:
 * the RCU thread marks it elapsed and wakes the control thread. */
struct vhost_grace {
    struct vhost_user_conn *conn;    /* Set at creation. */
    bool pending;                    /* Control thread only. */
    atomic_bool elapsed;             /* Written by the RCU thread. */
};

struct vhost_user_conn {
    struct ovs_list node;            /* In 'conns', under 'conns_mutex'. */
    struct ovs_refcount ref;         /* The owner's + pending grace's. */

    /* Set at creation; valid while the connection is in 'conns'. */
    struct netdev *netdev;
    struct vhu_device *vdev;
    char *name;
    char *path;
    bool client;

    /* Control thread only (or the owner after taking it out of 'conns'). */
    int listen_fd;                   /* Server: listening socket. */
    int fd;                          /* Connection, -1 if none. */
    long long int next_connect;      /* Client: when to try again. */
    int backoff_ms;                  /* Client: current retry interval. */
    int last_connect_error;          /* Client: last errno logged. */
    uint64_t last_change_seq;        /* vhu_device_change_seq() seen. */
    struct vhu_reader reader;        /* Message framing of 'fd'. */
    struct vhost_grace grace;        /* The engine's grace periods. */
    bool retired_during_grace;       /* Needs one more grace period. */
    struct vhost_grace tx_grace;     /* The transmit map's. */
    int n_rebumps;                   /* Repeats of the last change so far. */
    long long int rebump_at;         /* When to repeat a state change, or
                                      * LLONG_MAX. */

    /* For any thread. */
    atomic_bool connected;
    atomic_uint64_t n_connects;
};

/* Log lines that a frontend can cause are rate-limited per port, so that
 * a noisy port cannot hide another port's lines: one limit for errors and
 * warnings, one for informational lines (so that a flood of connections
 * does not hide the port's own errors either). */
struct port_limits {
    struct hmap_node node;           /* In 'port_log_limits'. */
    char *port;
    struct vlog_rate_limit errors;   /* ERR and WARN. */
    struct vlog_rate_limit info;     /* INFO. */
};

static struct ovs_mutex port_log_mutex = OVS_MUTEX_INITIALIZER;
static struct hmap port_log_limits OVS_GUARDED_BY(port_log_mutex)
    = HMAP_INITIALIZER(&port_log_limits);

static struct ovs_mutex conns_mutex = OVS_MUTEX_INITIALIZER;
static struct ovs_list conns OVS_GUARDED_BY(conns_mutex)
    = OVS_LIST_INITIALIZER(&conns);

/* Wakes the control thread when 'conns' changes or a grace period ends. */
static struct seq *ctl_seq;

static void *vhost_ctl_main(void *);
static void vhost_engine_log(enum vhu_log_level, const char *format,
                             va_list);

/* Starts the control thread the first time a connection is created. */
static void
vhost_ctl_start(void)
{
    static struct ovsthread_once once = OVSTHREAD_ONCE_INITIALIZER;

    if (ovsthread_once_start(&once)) {
        ctl_seq = seq_create();
        vhu_set_log_hook(vhost_engine_log);
        ovs_thread_create("vhost_ctl", vhost_ctl_main, NULL);
        ovsthread_once_done(&once);
    }
}

void
vhost_ctl_wake(void)
{
    vhost_ctl_start();
    seq_change(ctl_seq);
}

/* Returns true if a line at 'level' about port 'port' (its first 'len'
 * bytes) is to be dropped: not enabled, or over the port's rate limit.
 * Debug lines are not rate-limited.  The limits of a port name stay for
 * the life of the process. */
static bool
port_log_should_drop(const char *port, size_t len, enum vlog_level level)
{
    uint32_t hash = hash_bytes(port, len, 0);
    struct port_limits *limits;
    bool drop;

    if (level == VLL_DBG) {
        return !vlog_is_enabled(&this_module, level);
    }

    ovs_mutex_lock(&port_log_mutex);
    HMAP_FOR_EACH_WITH_HASH (limits, node, hash, &port_log_limits) {
        if (!strncmp(limits->port, port, len) && !limits->port[len]) {
            break;
        }
    }
    if (!limits) {
        limits = xmalloc(sizeof *limits);
        limits->port = xmemdup0(port, len);
        limits->errors = limits->info
            = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(60, 120);
        hmap_insert(&port_log_limits, &limits->node, hash);
    }
    drop = vlog_should_drop(&this_module, level,
                            level == VLL_INFO ? &limits->info
                                              : &limits->errors);
    ovs_mutex_unlock(&port_log_mutex);
    return drop;
}

/* Logs a line about the port of 'conn' at 'level', rate-limited per
 * port. */
static void OVS_PRINTF_FORMAT(3, 4)
vhost_conn_log(const struct vhost_user_conn *conn, enum vlog_level level,
               const char *format, ...)
{
    if (!port_log_should_drop(conn->name, strlen(conn->name), level)) {
        va_list args;

        va_start(args, format);
        vlog_valist(&this_module, level, format, args);
        va_end(args);
    }
}

/* Sends the engine's log lines to this module's log, rate-limited per port
 * (the engine starts each line with the device's name, the port's). */
static void
vhost_engine_log(enum vhu_log_level level, const char *format, va_list args)
{
    enum vlog_level vll;
    char *line;

    switch (level) {
    case VHU_LOG_ERR:
        vll = VLL_ERR;
        break;
    case VHU_LOG_WARN:
        vll = VLL_WARN;
        break;
    case VHU_LOG_INFO:
        vll = VLL_INFO;
        break;
    case VHU_LOG_DBG:
    default:
        vll = VLL_DBG;
        break;
    }
    if (!vlog_is_enabled(&this_module, vll)) {
        return;
    }
    line = xvasprintf(format, args);
    if (!port_log_should_drop(line, strcspn(line, ":"), vll)) {
        vlog(&this_module, vll, "%s", line);
    }
    free(line);
}

static void
vhost_conn_unref(struct vhost_user_conn *conn)
{
    if (ovs_refcount_unref(&conn->ref) == 1) {
        free(conn->name);
        free(conn->path);
        free(conn);
    }
}

/* Returns 0 if a server may bind 'path': nothing is there, or a stale
 * socket that nobody listens on any more (left by a crash), which the bind
 * replaces.  Otherwise returns a positive errno value and an explanation in
 * '*errp'. */
static int
check_server_path(const char *path, char **errp)
{
    struct stat s;
    int fd;

    if (lstat(path, &s)) {
        if (errno == ENOENT) {
            return 0;
        }
        *errp = xasprintf("cannot use vhost-user socket %s: %s",
                          path, ovs_strerror(errno));
        return errno;
    }
    if (!S_ISSOCK(s.st_mode)) {
        *errp = xasprintf("cannot create vhost-user socket %s: "
                          "a file that is not a socket is in the way", path);
        return EEXIST;
    }
    fd = make_unix_socket(SOCK_STREAM, true, NULL, path);
    if (fd >= 0) {
        close(fd);
        *errp = xasprintf("cannot create vhost-user socket %s: "
                          "another process listens on it", path);
        return EADDRINUSE;
    }
    return 0;
}

int
vhost_user_conn_create(struct netdev *netdev, struct vhu_device *vdev,
                       const char *path, bool client,
                       struct vhost_user_conn **connp, char **errp)
{
    struct vhost_user_conn *conn;
    int listen_fd = -1;

    *connp = NULL;
    if (!client) {
        int error = check_server_path(path, errp);

        if (error) {
            return error;
        }
        listen_fd = make_unix_socket(SOCK_STREAM, true, path, NULL);
        if (listen_fd < 0) {
            *errp = xasprintf("cannot create vhost-user socket %s: %s",
                              path, ovs_strerror(-listen_fd));
            return -listen_fd;
        }
        /* Frontends that run as another user in the switch's group (such
         * as libvirt's QEMU) must be able to connect. */
        if (chmod(path, 0660)) {
            VLOG_WARN("%s: chmod 0660 %s: %s", netdev_get_name(netdev),
                      path, ovs_strerror(errno));
        }
        if (listen(listen_fd, 8)) {
            int error2 = errno;

            *errp = xasprintf("cannot listen on vhost-user socket %s: %s",
                              path, ovs_strerror(error2));
            close(listen_fd);
            fatal_signal_unlink_file_now(path);
            return error2;
        }
        VLOG_INFO("%s: vhost-user server socket %s created",
                  netdev_get_name(netdev), path);
    }

    conn = xzalloc(sizeof *conn);
    ovs_refcount_init(&conn->ref);
    conn->netdev = netdev;
    conn->vdev = vdev;
    conn->name = xstrdup(netdev_get_name(netdev));
    conn->path = xstrdup(path);
    conn->client = client;
    conn->listen_fd = listen_fd;
    conn->fd = -1;
    conn->next_connect = LLONG_MIN;
    conn->backoff_ms = RECONNECT_MIN_MS;
    conn->last_change_seq = vhu_device_change_seq(vdev);
    conn->rebump_at = LLONG_MAX;
    conn->grace.conn = conn;
    atomic_init(&conn->grace.elapsed, false);
    conn->tx_grace.conn = conn;
    atomic_init(&conn->tx_grace.elapsed, false);
    atomic_init(&conn->connected, false);
    atomic_init(&conn->n_connects, 0);

    vhost_ctl_start();
    ovs_mutex_lock(&conns_mutex);
    ovs_list_push_back(&conns, &conn->node);
    ovs_mutex_unlock(&conns_mutex);
    seq_change(ctl_seq);

    *connp = conn;
    return 0;
}

void
vhost_user_conn_destroy(struct vhost_user_conn *conn)
{
    if (!conn) {
        return;
    }

    ovs_mutex_lock(&conns_mutex);
    ovs_list_remove(&conn->node);
    ovs_mutex_unlock(&conns_mutex);

    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
        atomic_store(&conn->connected, false);
    }
    vhu_device_disconnect(conn->vdev);
    if (conn->listen_fd >= 0) {
        close(conn->listen_fd);
        fatal_signal_unlink_file_now(conn->path);
        VLOG_INFO("%s: vhost-user server socket %s removed",
                  conn->name, conn->path);
    }
    vhost_conn_unref(conn);
}

bool
vhost_user_conn_is_connected(const struct vhost_user_conn *conn)
{
    bool connected;

    atomic_read(&CONST_CAST(struct vhost_user_conn *, conn)->connected,
                &connected);
    return connected;
}

uint64_t
vhost_user_conn_n_connects(const struct vhost_user_conn *conn)
{
    uint64_t n;

    atomic_read(&CONST_CAST(struct vhost_user_conn *, conn)->n_connects,
                &n);
    return n;
}

/* Control thread. */

/* The RCU thread calls this once every thread has quiesced since
 * vhost_grace_start() asked for it. */
static void
vhost_grace_elapsed(struct vhost_grace *g)
{
    atomic_store(&g->elapsed, true);
    seq_change(ctl_seq);
    vhost_conn_unref(g->conn);
}

static void
vhost_grace_start(struct vhost_grace *g)
{
    COVERAGE_INC(vhost_user_grace);
    g->pending = true;
    atomic_store(&g->elapsed, false);
    ovs_refcount_ref(&g->conn->ref);
    ovsrcu_postpone(vhost_grace_elapsed, g);
}

/* Returns true, once, when the grace period started on 'g' has elapsed:
 * what PMD threads did before then happened before what the caller does
 * next. */
static bool
vhost_grace_take(struct vhost_grace *g)
{
    bool elapsed;

    if (!g->pending) {
        return false;
    }
    atomic_read(&g->elapsed, &elapsed);
    if (elapsed) {
        VHOST_TSAN_ACQUIRE(&vhost_tsan_rcu);
        g->pending = false;
    }
    return elapsed;
}

static void
vhost_conn_start_grace(struct vhost_user_conn *conn)
{
    conn->retired_during_grace = false;
    vhost_grace_start(&conn->grace);
}

/* Runs the port's transmit map (see netdev_vhost_user_tx_run()), with
 * grace periods apart from the engine's, so that they never hold the
 * frontend's messages. */
static void
vhost_conn_run_tx_map(struct vhost_user_conn *conn)
{
    bool elapsed = vhost_grace_take(&conn->tx_grace);

    if (netdev_vhost_user_tx_run(conn->netdev, elapsed)
        && !conn->tx_grace.pending) {
        vhost_grace_start(&conn->tx_grace);
    }
}

static void
vhost_conn_connected(struct vhost_user_conn *conn, int fd)
{
    COVERAGE_INC(vhost_user_connect);
    conn->fd = fd;
    conn->backoff_ms = RECONNECT_MIN_MS;
    conn->last_connect_error = 0;
    atomic_store(&conn->connected, true);
    atomic_add_relaxed(&conn->n_connects, 1, &(uint64_t) { 0 });
    vhost_conn_log(conn, VLL_INFO, "%s: vhost-user frontend connected on %s",
                   conn->name, conn->path);
    netdev_vhost_user_state_changed(conn->netdev);
    /* netdev_change_seq_changed() wakes the main thread before it bumps
     * the port's own sequence number, so the main thread may refresh the
     * Interface's status before the bump and then not again: the socket's
     * new state (status:socket_status) would stay unannounced while the
     * frontend changes nothing in the device.  Announce it again later, as
     * for changes of the device. */
    conn->n_rebumps = 0;
    conn->rebump_at = time_msec() + rebump_delays[0];
}

/* Closes the connection to the frontend and resets the engine device; a
 * client tries to connect again. */
static void
vhost_conn_close(struct vhost_user_conn *conn, const char *reason)
{
    COVERAGE_INC(vhost_user_disconnect);
    vhost_conn_log(conn, VLL_INFO, "%s: vhost-user frontend disconnected (%s)",
                   conn->name, reason);
    close(conn->fd);
    conn->fd = -1;
    vhu_reader_reset(&conn->reader);
    atomic_store(&conn->connected, false);
    vhu_device_disconnect(conn->vdev);
    if (conn->grace.pending) {
        conn->retired_during_grace = true;
    }
    conn->next_connect = time_msec() + RECONNECT_MIN_MS;
    netdev_vhost_user_state_changed(conn->netdev);
}

static void
vhost_conn_try_connect(struct vhost_user_conn *conn)
{
    int fd = make_unix_socket(SOCK_STREAM, true, NULL, conn->path);

    if (fd >= 0) {
        /* A stream UNIX socket connects at once or not at all. */
        vhost_conn_connected(conn, fd);
        return;
    }
    if (-fd != conn->last_connect_error) {
        vhost_conn_log(conn, VLL_INFO,
                       "%s: connecting to vhost-user server %s: %s "
                       "(will retry)", conn->name, conn->path,
                       ovs_strerror(-fd));
        conn->last_connect_error = -fd;
    }
    conn->next_connect = time_msec() + conn->backoff_ms;
    conn->backoff_ms = MIN(conn->backoff_ms * 2, RECONNECT_MAX_MS);
}

/* Returns true if the frontend connected on 'fd' has closed its end (what
 * it sent before may still be unread). */
static bool
vhost_conn_peer_closed(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

    return (poll(&pfd, 1, 0) > 0
            && pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Accepts a frontend's connection on the server socket of 'conn'.  While
 * a frontend is connected, a second one is accepted only to be closed at
 * once, with a log line, rather than left waiting in the backlog; but a
 * frontend that reconnects before we noticed its old connection close
 * takes its place. */
static void
vhost_conn_try_accept(struct vhost_user_conn *conn)
{
    int fd = accept4(conn->listen_fd, NULL, NULL,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd >= 0) {
        if (conn->fd >= 0 && vhost_conn_peer_closed(conn->fd)) {
            vhost_conn_close(conn, "connection closed");
        }
        if (conn->fd >= 0) {
            vhost_conn_log(conn, VLL_WARN, "%s: refusing a second frontend "
                           "on %s: one is connected", conn->name, conn->path);
            close(fd);
        } else {
            vhost_conn_connected(conn, fd);
        }
    } else if (errno != EAGAIN && errno != EINTR) {
        vhost_conn_log(conn, VLL_WARN, "%s: accept on %s: %s", conn->name,
                       conn->path, ovs_strerror(errno));
    }
}

/* Returns true if replies wait to be sent on 'conn'.  Until they are sent
 * we read nothing more from it, as a backend that blocks on its writes
 * would, so that a frontend that never reads its replies cannot make them
 * pile up. */
static bool
vhost_conn_has_output(const struct vhost_user_conn *conn)
{
    size_t n;

    vhu_device_output(conn->vdev, &n);
    return n > 0;
}

/* Reads what the frontend sent, with any fds, and feeds it to the engine.
 * Returns 0, EOF when the frontend closed the connection, or a positive
 * errno value. */
static int
vhost_conn_recv(struct vhost_user_conn *conn)
{
    for (int i = 0; i < MAX_READS_PER_RUN; i++) {
        int fds[VHU_MSG_MAX_FDS];
        size_t n_fds;
        char buf[4096];
        ssize_t n;
        int error;

        n = vhu_reader_recv(&conn->reader, conn->fd, buf, sizeof buf,
                            fds, &n_fds);
        if (n < 0) {
            if (n == -EAGAIN || n == -EINTR) {
                return 0;
            }
            if (n == -EPROTO) {
                vhost_conn_log(conn, VLL_WARN,
                               "%s: frontend sent more than %d fds at once",
                               conn->name, VHU_MSG_MAX_FDS);
            }
            return -n;
        } else if (!n) {
            return EOF;
        }

        error = vhu_device_input(conn->vdev, buf, n, fds, n_fds);
        if (error) {
            return error;
        }
        if (vhu_device_wants_grace(conn->vdev)) {
            /* The engine holds further input until the grace period. */
            break;
        }
        if (vhost_conn_has_output(conn)) {
            /* Back-pressure: read on once the replies are sent. */
            break;
        }
    }
    return 0;
}

/* Sends the engine's replies.  Returns 0 or a positive errno value. */
static int
vhost_conn_send(struct vhost_user_conn *conn)
{
    for (;;) {
        size_t n;
        const void *data = vhu_device_output(conn->vdev, &n);
        ssize_t sent;

        if (!n) {
            return 0;
        }
        sent = send(conn->fd, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            return errno == EAGAIN || errno == EINTR ? 0 : errno;
        }
        vhu_device_output_done(conn->vdev, sent);
    }
}

static void
vhost_conn_run(struct vhost_user_conn *conn)
{
    bool changed;
    uint64_t seq;

    if (vhost_grace_take(&conn->grace)) {
        if (conn->retired_during_grace) {
            /* Something was retired after this grace period began: PMD
             * threads may have used it since.  Wait for another one. */
            vhost_conn_start_grace(conn);
        } else {
            vhu_device_grace_done(conn->vdev);
        }
    }

    if (conn->client && conn->fd < 0 && time_msec() >= conn->next_connect) {
        vhost_conn_try_connect(conn);
    }

    if (conn->fd >= 0) {
        int error = 0;

        error = vhost_conn_send(conn);
        if (!error && !conn->grace.pending
            && !vhost_conn_has_output(conn)) {
            error = vhost_conn_recv(conn);
            if (!error) {
                error = vhost_conn_send(conn);
            }
        }
        if (!error && !conn->grace.pending
            && vhu_device_run_ctrl(conn->vdev)) {
            /* More control commands than one call answers. */
            poll_immediate_wake();
        }
        if (!error && vhu_device_check_faults(conn->vdev)) {
            error = EFAULT;
        }
        if (!error && vhu_device_is_broken(conn->vdev)) {
            error = EPROTO;
        }
        if (error) {
            vhost_conn_close(conn, error == EOF ? "connection closed"
                             : error == EPROTO ? "protocol violation"
                             : error == EFAULT ? "guest memory fault"
                             : ovs_strerror(error));
        }
    }

    /* After the connection above, so that a frontend that closed it and
     * connected again is seen closing first. */
    if (!conn->client) {
        vhost_conn_try_accept(conn);
    }

    if (!conn->grace.pending && vhu_device_wants_grace(conn->vdev)) {
        vhost_conn_start_grace(conn);
    }

    /* Unparked rings are announced like a change of the device, which
     * unparks them all. */
    seq = vhu_device_change_seq(conn->vdev);
    changed = seq != conn->last_change_seq;
    changed = netdev_vhost_user_park_run(conn->netdev, changed) || changed;
    if (changed) {
        conn->last_change_seq = seq;
        netdev_vhost_user_state_changed(conn->netdev);
        /* A PMD thread that reloads reads rxq_enabled before the port's
         * change sequence number; a change that falls between the two
         * reads would go unseen until the next one.  Announce it again a
         * little later, and then again (see rebump_delays). */
        conn->n_rebumps = 0;
        conn->rebump_at = time_msec() + rebump_delays[0];
    } else if (time_msec() >= conn->rebump_at) {
        conn->n_rebumps++;
        conn->rebump_at = (conn->n_rebumps < ARRAY_SIZE(rebump_delays)
                           ? time_msec() + rebump_delays[conn->n_rebumps]
                           : LLONG_MAX);
        netdev_vhost_user_state_changed(conn->netdev);
    }
    vhost_conn_run_tx_map(conn);
    netdev_vhost_user_check_carrier(conn->netdev);
}

static void
vhost_conn_wait(const struct vhost_user_conn *conn)
{
    if (conn->rebump_at != LLONG_MAX) {
        poll_timer_wait_until(conn->rebump_at);
    }
    if (conn->fd >= 0) {
        short int events = (vhost_conn_has_output(conn) ? POLLOUT
                            : conn->grace.pending ? 0
                            : POLLIN);

        if (events) {
            poll_fd_wait(conn->fd, events);
        }
        netdev_vhost_user_park_wait(conn->netdev);
        if (!conn->grace.pending) {
            int kick_fd = vhu_device_ctrl_kick_fd(conn->vdev);

            if (kick_fd >= 0) {
                /* The guest's driver posted a control command. */
                poll_fd_wait(kick_fd, POLLIN);
            }
        }
    } else if (conn->client) {
        poll_timer_wait_until(conn->next_connect);
    }
    if (!conn->client) {
        poll_fd_wait(conn->listen_fd, POLLIN);
    }
}

static void *
vhost_ctl_main(void *arg OVS_UNUSED)
{
    for (;;) {
        uint64_t seq = seq_read(ctl_seq);
        struct vhost_user_conn *conn;
        int fault_fd = vhu_fault_fd();

        /* A frontend's memory faulted: vhost_conn_run() finds which. */
        vhu_fault_clear();

        ovs_mutex_lock(&conns_mutex);
        LIST_FOR_EACH (conn, node, &conns) {
            vhost_conn_run(conn);
            vhost_conn_wait(conn);
        }
        ovs_mutex_unlock(&conns_mutex);

        seq_wait(ctl_seq, seq);
        if (fault_fd >= 0) {
            poll_fd_wait(fault_fd, POLLIN);
        }
        /* Now and then, even when nothing happens, so that a carrier
         * change never stays unannounced for long. */
        poll_timer_wait(CARRIER_CHECK_MS);
        poll_block();
    }
    return NULL;
}
