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
#include "vhost-user-peer.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* vhost-user-peer's command line and main program. */

volatile sig_atomic_t peer_stop;

/* Exit status for a bad command line. */
#define PEER_EXIT_USAGE 2

/* peer_parse_args() result after --help. */
#define PEER_DONE (-1)

static void
peer_vlog(const char *format, va_list args)
{
    fputs(PEER_NAME ": ", stderr);
    vfprintf(stderr, format, args);
    putc('\n', stderr);
}

/* Prints an error message on stderr (always, even with --quiet). */
void
peer_error(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    peer_vlog(format, args);
    va_end(args);
}

/* Prints a progress message on stderr, unless --quiet. */
void
peer_info(const struct peer_options *opts, const char *format, ...)
{
    if (opts->verbosity >= 1) {
        va_list args;

        va_start(args, format);
        peer_vlog(format, args);
        va_end(args);
    }
}

/* Prints a debugging message on stderr, with -v only. */
void
peer_debug(const struct peer_options *opts, const char *format, ...)
{
    if (opts->verbosity >= 2) {
        va_list args;

        va_start(args, format);
        peer_vlog(format, args);
        va_end(args);
    }
}

/* Returns the monotonic time in seconds. */
double
peer_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
peer_usage(void)
{
    printf("%s: userspace virtio-net frontend over vhost-user\n"
           "usage: %s [OPTIONS] COMMAND\n"
           "\nCommands:\n"
           "  send     send test frames (--count, --duration, --rate)\n"
           "  recv     receive and check test frames\n"
           "  echo     reflect received frames, MAC addresses swapped\n"
           "  bench    send and receive at once, print rates\n"
           "  ping     send one frame at a time to an echo peer, print "
           "round-trip\n"
           "           times (--count round trips, --rate per second)\n"
           "\nConnection:\n"
           "  --socket=PATH            vhost-user socket (required)\n"
           "  --server                 listen on PATH instead of connecting\n"
           "  --connect-timeout=SECS   retry connecting, or wait for a\n"
           "                           connection, this long (default 10;\n"
           "                           0 with --server: forever)\n"
           "\nDevice:\n"
           "  --queues=N               queue pairs (default 1)\n"
           "  --ring-size=N            descriptors per ring, a power of 2\n"
           "                           (default 256)\n"
           "  --mrg-rxbuf=on|off|auto  mergeable receive buffers (auto)\n"
           "  --event-idx=on|off|auto  VIRTIO_RING_F_EVENT_IDX (auto)\n"
           "  --indirect=on|off        indirect descriptors on transmit "
           "(off)\n"
           "  --tso=on|off|auto|tx     checksum and TCP segmentation "
           "offloads (off):\n"
           "                           send TCP test frames with partial "
           "checksums\n"
           "                           and TSO, receive offloaded frames "
           "(needs\n"
           "                           mergeable buffers); tx: send side "
           "only\n"
           "  --notify=on|off          kick/call eventfds instead of "
           "polling (off)\n"
           "  --mem=MB                 guest memory size (default: what "
           "the rings need)\n"
           "  --enable-queues=N        enable only the first N queue "
           "pairs\n"
           "  --mtu=N                  tell the back-end the MTU "
           "(NET_SET_MTU)\n"
           "  --announce               ask the back-end to announce --mac "
           "(SEND_RARP)\n"
           "  --frontend=NAME          replay the message order of qemu "
           "(default),\n"
           "                           qemu-6.2, qemu-7.2, qemu-8.0, "
           "qemu-8.1,\n"
           "                           qemu-9.2, cloud-hypervisor or "
           "crosvm\n"
           "\nTraffic:\n"
           "  --frame-size=BYTES       frame size, 60..%d (default 64; "
           "TCP test\n"
           "                           frames: at least %d)\n"
           "  --mss=BYTES              TCP payload per segment of TSO "
           "frames (%d)\n"
           "  --count=N                frames to send or receive (0: no "
           "limit)\n"
           "  --duration=SECS          stop after this long (0: no limit;\n"
           "                           bench: default 10)\n"
           "  --idle=SECS              recv, echo: stop after this long "
           "without frames\n"
           "  --bytes=N                recv: TCP payload bytes to receive "
           "(0: no limit)\n"
           "  --rate=PPS               pace transmission (0: as fast as "
           "possible)\n"
           "  --mac=MAC                source MAC (default "
           "52:54:00:00:00:01)\n"
           "  --dst-mac=MAC            destination MAC (default "
           "52:54:00:00:00:02)\n"
           "  --wait-signal            start the command on SIGUSR1\n"
           "\nOther:\n"
           "  -q, --quiet              print only errors and the result "
           "line\n"
           "  -v, --verbose            print each vhost-user message\n"
           "  -h, --help               print this help\n",
           PEER_NAME, PEER_NAME, PEER_MAX_FRAME, PEER_TCP_MIN_FRAME,
           PEER_DEFAULT_MSS);
}

/* Parses an unsigned integer option in [min, max].  Returns true on
 * success. */
static bool
peer_parse_uint(const char *name, const char *arg, uint64_t min,
                uint64_t max, uint64_t *value)
{
    char *end;

    errno = 0;
    unsigned long long x = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || x < min || x > max) {
        peer_error("--%s=%s: expected an integer between %"PRIu64" and "
                   "%"PRIu64, name, arg, min, max);
        return false;
    }
    *value = x;
    return true;
}

static bool
peer_parse_seconds(const char *name, const char *arg, double *value)
{
    char *end;

    errno = 0;
    double x = strtod(arg, &end);
    if (errno || end == arg || *end || x < 0) {
        peer_error("--%s=%s: expected a number of seconds", name, arg);
        return false;
    }
    *value = x;
    return true;
}

static bool
peer_parse_switch(const char *name, const char *arg, bool allow_auto,
                  enum peer_switch *value)
{
    if (!strcmp(arg, "on")) {
        *value = PEER_ON;
    } else if (!strcmp(arg, "off")) {
        *value = PEER_OFF;
    } else if (allow_auto && !strcmp(arg, "auto")) {
        *value = PEER_AUTO;
    } else {
        peer_error("--%s=%s: expected on or off%s", name, arg,
                   allow_auto ? " or auto" : "");
        return false;
    }
    return true;
}

static bool
peer_parse_mac(const char *name, const char *arg, uint8_t mac[6])
{
    unsigned int b[6];
    char extra;

    if (sscanf(arg, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5], &extra) != 6) {
        peer_error("--%s=%s: expected a MAC address", name, arg);
        return false;
    }
    for (int i = 0; i < 6; i++) {
        if (b[i] > 0xff) {
            peer_error("--%s=%s: expected a MAC address", name, arg);
            return false;
        }
        mac[i] = b[i];
    }
    return true;
}

static bool
peer_parse_command(const char *arg, enum peer_command *command)
{
    static const struct {
        const char *name;
        enum peer_command command;
    } commands[] = {
        { "send", PEER_CMD_SEND },
        { "recv", PEER_CMD_RECV },
        { "echo", PEER_CMD_ECHO },
        { "bench", PEER_CMD_BENCH },
        { "ping", PEER_CMD_PING },
    };

    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(arg, commands[i].name)) {
            *command = commands[i].command;
            return true;
        }
    }
    peer_error("unknown command \"%s\" (use send, recv, echo, bench or "
               "ping)",
               arg);
    return false;
}

enum {
    OPT_SOCKET = UCHAR_MAX + 1,
    OPT_SERVER,
    OPT_CONNECT_TIMEOUT,
    OPT_QUEUES,
    OPT_RING_SIZE,
    OPT_MRG_RXBUF,
    OPT_EVENT_IDX,
    OPT_INDIRECT,
    OPT_NOTIFY,
    OPT_FRAME_SIZE,
    OPT_COUNT,
    OPT_DURATION,
    OPT_IDLE,
    OPT_MAC,
    OPT_DST_MAC,
    OPT_RATE,
    OPT_MEM,
    OPT_ENABLE_QUEUES,
    OPT_ANNOUNCE,
    OPT_MTU,
    OPT_FRONTEND,
    OPT_WAIT_SIGNAL,
    OPT_TSO,
    OPT_MSS,
    OPT_BYTES,
};

/* Parses one option 'c' with argument 'arg' into 'opts'.  Returns true on
 * success. */
static bool
peer_parse_option(int c, const char *name, const char *arg,
                  struct peer_options *opts)
{
    enum peer_switch sw;
    uint64_t x;

    switch (c) {
    case OPT_SOCKET:
        opts->socket_path = arg;
        return true;
    case OPT_WAIT_SIGNAL:
        opts->wait_signal = true;
        return true;
    case OPT_SERVER:
        opts->server = true;
        return true;
    case OPT_CONNECT_TIMEOUT:
        return peer_parse_seconds(name, arg, &opts->connect_timeout);
    case OPT_QUEUES:
        if (!peer_parse_uint(name, arg, 1, PEER_MAX_QUEUES, &x)) {
            return false;
        }
        opts->queues = x;
        return true;
    case OPT_RING_SIZE:
        if (!peer_parse_uint(name, arg, 2, PEER_MAX_RING_SIZE, &x)) {
            return false;
        }
        if (x & (x - 1)) {
            peer_error("--%s=%s: a split ring's size must be a power of 2",
                       name, arg);
            return false;
        }
        opts->ring_size = x;
        return true;
    case OPT_MRG_RXBUF:
        return peer_parse_switch(name, arg, true, &opts->mrg_rxbuf);
    case OPT_EVENT_IDX:
        return peer_parse_switch(name, arg, true, &opts->event_idx);
    case OPT_INDIRECT:
        return peer_parse_switch(name, arg, true, &opts->indirect);
    case OPT_TSO:
        if (!strcmp(arg, "on")) {
            opts->tso = PEER_TSO_ON;
        } else if (!strcmp(arg, "off")) {
            opts->tso = PEER_TSO_OFF;
        } else if (!strcmp(arg, "auto")) {
            opts->tso = PEER_TSO_AUTO;
        } else if (!strcmp(arg, "tx")) {
            opts->tso = PEER_TSO_TX;
        } else {
            peer_error("--%s=%s: expected on, off, auto or tx", name, arg);
            return false;
        }
        opts->tso_fields = true;
        return true;
    case OPT_MSS:
        if (!peer_parse_uint(name, arg, 64, 65535, &x)) {
            return false;
        }
        opts->mss = x;
        return true;
    case OPT_BYTES:
        return peer_parse_uint(name, arg, 0, UINT64_MAX, &opts->bytes);
    case OPT_NOTIFY:
        if (!peer_parse_switch(name, arg, false, &sw)) {
            return false;
        }
        opts->notify = sw == PEER_ON;
        return true;
    case OPT_FRAME_SIZE:
        if (!peer_parse_uint(name, arg, 60, PEER_MAX_FRAME, &x)) {
            return false;
        }
        opts->frame_size = x;
        return true;
    case OPT_COUNT:
        return peer_parse_uint(name, arg, 0, UINT64_MAX, &opts->count);
    case OPT_DURATION:
        return peer_parse_seconds(name, arg, &opts->duration);
    case OPT_IDLE:
        return peer_parse_seconds(name, arg, &opts->idle);
    case OPT_MAC:
        return peer_parse_mac(name, arg, opts->mac);
    case OPT_DST_MAC:
        return peer_parse_mac(name, arg, opts->dst_mac);
    case OPT_RATE:
        return peer_parse_uint(name, arg, 0, UINT32_MAX, &opts->rate);
    case OPT_MEM:
        if (!peer_parse_uint(name, arg, 1, 1 << 20, &x)) {
            return false;
        }
        opts->mem_mb = x;
        return true;
    case OPT_ENABLE_QUEUES:
        if (!peer_parse_uint(name, arg, 1, PEER_MAX_QUEUES, &x)) {
            return false;
        }
        opts->enable_queues = x;
        return true;
    case OPT_ANNOUNCE:
        opts->announce = true;
        return true;
    case OPT_MTU:
        if (!peer_parse_uint(name, arg, 1, 65535, &x)) {
            return false;
        }
        opts->mtu = x;
        return true;
    case OPT_FRONTEND:
        if (!strcmp(arg, "qemu")) {
            opts->frontend = PEER_FE_QEMU;
        } else if (!strcmp(arg, "qemu-6.2") || !strcmp(arg, "qemu-7.2")) {
            opts->frontend = PEER_FE_QEMU_6_2;
        } else if (!strcmp(arg, "qemu-8.0")) {
            opts->frontend = PEER_FE_QEMU_8_0;
        } else if (!strcmp(arg, "qemu-8.1") || !strcmp(arg, "qemu-9.2")) {
            opts->frontend = PEER_FE_QEMU_8_1;
        } else if (!strcmp(arg, "cloud-hypervisor")) {
            opts->frontend = PEER_FE_CLOUD_HYPERVISOR;
        } else if (!strcmp(arg, "crosvm")) {
            opts->frontend = PEER_FE_CROSVM;
        } else {
            peer_error("--%s=%s: unknown frontend (qemu, qemu-6.2, "
                       "qemu-7.2, qemu-8.0, qemu-8.1, qemu-9.2, "
                       "cloud-hypervisor, crosvm)", name, arg);
            return false;
        }
        return true;
    case 'q':
        opts->verbosity = 0;
        return true;
    case 'v':
        opts->verbosity = 2;
        return true;
    default:
        return false;
    }
}

/* Parses the command line into 'opts'.  Returns 0 to go on, PEER_DONE after
 * --help, or an exit status for a bad command line. */
static int
peer_parse_args(int argc, char *argv[], struct peer_options *opts)
{
    static const struct option long_options[] = {
        { "socket", required_argument, NULL, OPT_SOCKET },
        { "server", no_argument, NULL, OPT_SERVER },
        { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
        { "queues", required_argument, NULL, OPT_QUEUES },
        { "ring-size", required_argument, NULL, OPT_RING_SIZE },
        { "mrg-rxbuf", required_argument, NULL, OPT_MRG_RXBUF },
        { "event-idx", required_argument, NULL, OPT_EVENT_IDX },
        { "indirect", required_argument, NULL, OPT_INDIRECT },
        { "tso", required_argument, NULL, OPT_TSO },
        { "mss", required_argument, NULL, OPT_MSS },
        { "bytes", required_argument, NULL, OPT_BYTES },
        { "notify", required_argument, NULL, OPT_NOTIFY },
        { "frame-size", required_argument, NULL, OPT_FRAME_SIZE },
        { "count", required_argument, NULL, OPT_COUNT },
        { "duration", required_argument, NULL, OPT_DURATION },
        { "idle", required_argument, NULL, OPT_IDLE },
        { "mac", required_argument, NULL, OPT_MAC },
        { "dst-mac", required_argument, NULL, OPT_DST_MAC },
        { "rate", required_argument, NULL, OPT_RATE },
        { "mem", required_argument, NULL, OPT_MEM },
        { "enable-queues", required_argument, NULL, OPT_ENABLE_QUEUES },
        { "announce", no_argument, NULL, OPT_ANNOUNCE },
        { "mtu", required_argument, NULL, OPT_MTU },
        { "frontend", required_argument, NULL, OPT_FRONTEND },
        { "wait-signal", no_argument, NULL, OPT_WAIT_SIGNAL },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };

    *opts = (struct peer_options) {
        .connect_timeout = 10,
        .queues = 1,
        .ring_size = 256,
        .mrg_rxbuf = PEER_AUTO,
        .event_idx = PEER_AUTO,
        .indirect = PEER_AUTO,
        .frame_size = 64,
        .mss = PEER_DEFAULT_MSS,
        .mac = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 },
        .dst_mac = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 },
        .verbosity = 1,
    };

    for (;;) {
        int index = -1;
        int c = getopt_long(argc, argv, "qvh", long_options, &index);

        if (c == -1) {
            break;
        } else if (c == 'h') {
            peer_usage();
            return PEER_DONE;
        } else if (c == '?') {
            return PEER_EXIT_USAGE;
        }

        const char *name = index >= 0 ? long_options[index].name : "";
        if (!peer_parse_option(c, name, optarg, opts)) {
            return PEER_EXIT_USAGE;
        }
    }

    if (optind != argc - 1) {
        peer_error("exactly one command expected (try --help)");
        return PEER_EXIT_USAGE;
    }
    if (!peer_parse_command(argv[optind], &opts->command)) {
        return PEER_EXIT_USAGE;
    }
    if (!opts->socket_path) {
        peer_error("--socket is required");
        return PEER_EXIT_USAGE;
    }
    if (opts->command == PEER_CMD_BENCH && !opts->duration) {
        opts->duration = 10;
    }
    return 0;
}

volatile sig_atomic_t peer_go;

static void
peer_signal_handler(int signo)
{
    if (signo == SIGUSR1) {
        peer_go = 1;
    } else {
        peer_stop = 1;
    }
}

/* Makes SIGINT and SIGTERM stop the command (which then prints its result
 * and tears the device down), and ignores SIGPIPE. */
static void
peer_install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = peer_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char *argv[])
{
    struct peer_options opts;
    struct peer peer;
    int status = peer_parse_args(argc, argv, &opts);

    if (status) {
        return status == PEER_DONE ? EXIT_SUCCESS : status;
    }

    peer_install_signals();
    if (peer_connect(&peer, &opts)) {
        peer_close(&peer);
        return EXIT_FAILURE;
    }

    status = EXIT_FAILURE;
    if (!peer_start(&peer)) {
        if (!peer_run_command(&peer)) {
            status = EXIT_SUCCESS;
        }
        peer_stop_device(&peer);
    }
    peer_close(&peer);
    return status;
}
