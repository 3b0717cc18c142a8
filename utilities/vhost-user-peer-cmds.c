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

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The commands: send, recv, echo and bench, and the test frames they
 * generate and check.
 *
 * A test frame is an Ethernet frame with ethertype 0x88b5 (IEEE local
 * experimental) whose payload starts with the magic "VHUP", a 64-bit
 * sequence number and the frame's own length (both big-endian), followed by
 * a pattern: byte k of the frame is (seq + k) mod 256. */

#define PEER_ETHERTYPE 0x88b5
#define PEER_MAGIC "VHUP"
#define PEER_ETH_HLEN 14
#define PEER_HDR_END (PEER_ETH_HLEN + 4 + 8 + 2)

/* How long the back-end may leave frames on the transmit ring before
 * 'send' gives up, when no --duration bounds the run. */
#define PEER_STALL_TIMEOUT 10.0

/* How often to check that the back-end is still connected. */
#define PEER_CHECK_INTERVAL 0.01

/* Busy-poll iterations without progress before the peer starts napping. */
#define PEER_SPIN_LIMIT 1000

/* The state of one command's run. */
struct peer_run {
    struct peer *peer;
    const struct peer_options *opts;
    struct peer_stats stats;
    double start;
    double pace_start;          /* When frame 0 was due, under --rate. */
    double now;
    double last_progress;       /* Last frame received or sent. */
    double last_check;          /* Last peer_check_backend(). */
    uint64_t seq;               /* Next frame to generate. */
    unsigned int next_q;        /* Queue of the next frame to send. */
    unsigned int idle_loops;
    bool failed;
};

/* byte[i] = i mod 256, long enough to copy any frame's pattern from. */
static uint8_t peer_pattern[256 + PEER_MAX_FRAME];

static void
peer_pattern_init(void)
{
    for (size_t i = 0; i < sizeof peer_pattern; i++) {
        peer_pattern[i] = i;
    }
}

static void
put_be(uint8_t *p, uint64_t x, int n)
{
    for (int i = n - 1; i >= 0; i--, x >>= 8) {
        p[i] = x;
    }
}

static uint64_t
get_be(const uint8_t *p, int n)
{
    uint64_t x = 0;

    for (int i = 0; i < n; i++) {
        x = (x << 8) | p[i];
    }
    return x;
}

/* Writes test frame number 'seq' of 'len' bytes into 'frame'. */
static void
peer_make_frame(const struct peer_options *opts, uint8_t *frame,
                uint64_t seq, uint32_t len)
{
    memcpy(frame, opts->dst_mac, 6);
    memcpy(frame + 6, opts->mac, 6);
    put_be(frame + 12, PEER_ETHERTYPE, 2);
    memcpy(frame + 14, PEER_MAGIC, 4);
    put_be(frame + 18, seq, 8);
    put_be(frame + 26, len, 2);
    memcpy(frame + PEER_HDR_END, &peer_pattern[(seq & 0xff) + PEER_HDR_END],
           len - PEER_HDR_END);
}

enum peer_frame_kind {
    PEER_FRAME_GOOD,            /* A test frame, intact. */
    PEER_FRAME_BAD,             /* A test frame, damaged. */
    PEER_FRAME_OTHER,           /* Not a test frame. */
};

/* Classifies the received frame 'frame' of 'len' bytes. */
static enum peer_frame_kind
peer_check_frame(const uint8_t *frame, uint32_t len)
{
    if (len < PEER_HDR_END || get_be(frame + 12, 2) != PEER_ETHERTYPE
        || memcmp(frame + 14, PEER_MAGIC, 4)) {
        return PEER_FRAME_OTHER;
    }

    uint64_t seq = get_be(frame + 18, 8);
    if (get_be(frame + 26, 2) != len
        || memcmp(frame + PEER_HDR_END,
                  &peer_pattern[(seq & 0xff) + PEER_HDR_END],
                  len - PEER_HDR_END)) {
        return PEER_FRAME_BAD;
    }
    return PEER_FRAME_GOOD;
}

/* Counts received frame 'frame' of 'len' bytes in 'run'. */
static void
peer_count_rx(struct peer_run *run, const uint8_t *frame, uint32_t len)
{
    switch (peer_check_frame(frame, len)) {
    case PEER_FRAME_GOOD:
        run->stats.rx_frames++;
        run->stats.rx_bytes += len;
        break;
    case PEER_FRAME_BAD:
        run->stats.rx_frames++;
        run->stats.rx_bytes += len;
        if (!run->stats.rx_bad) {
            peer_error("received a damaged frame (%"PRIu32" bytes, "
                       "sequence %"PRIu64")", len,
                       len >= PEER_HDR_END ? get_be(frame + 18, 8) : 0);
        }
        run->stats.rx_bad++;
        break;
    case PEER_FRAME_OTHER:
        run->stats.rx_other++;
        break;
    }
}

/* Updates the clock and, now and then, checks the back-end.  Returns false
 * when the run must stop because of an error. */
static bool
peer_run_tick(struct peer_run *run)
{
    if (run->failed) {
        return false;
    }
    run->now = peer_now();
    if (run->now - run->last_check >= PEER_CHECK_INTERVAL) {
        run->last_check = run->now;
        if (peer_check_backend(run->peer)) {
            run->failed = true;
            return false;
        }
    }
    return true;
}

/* Returns true if --duration has elapsed. */
static bool
peer_run_expired(const struct peer_run *run)
{
    return (run->opts->duration > 0
            && run->now - run->start >= run->opts->duration);
}

/* Returns true if nothing arrived for --idle seconds. */
static bool
peer_run_idle(const struct peer_run *run)
{
    return (run->opts->idle > 0
            && run->now - run->last_progress >= run->opts->idle);
}

/* Marks progress. */
static void
peer_run_progress(struct peer_run *run)
{
    run->last_progress = run->now;
    run->idle_loops = 0;
}

/* Returns how many microseconds remain until the next frame is due under
 * --rate, or -1 without pacing. */
static long
peer_run_due_us(const struct peer_run *run)
{
    if (!run->opts->rate) {
        return -1;
    }

    double due = run->pace_start + run->seq / (double) run->opts->rate;
    return due > run->now ? (long) ((due - run->now) * 1e6) + 1 : 0;
}

/* Waits a little for the back-end to use one of the 'n' vrings 'vrs' (or
 * for the next frame to be due under --rate): sleeps on their call
 * eventfds with --notify=on, otherwise spins a while and then naps, so that
 * an idle peer does not hog a shared CPU. */
static void
peer_run_idle_wait(struct peer_run *run, struct peer_vring *const *vrs,
                   size_t n)
{
    if (run->opts->notify) {
        long timeout_us = 100 * 1000;
        long due_us = peer_run_due_us(run);

        if (due_us >= 0 && run->opts->command != PEER_CMD_RECV
            && due_us < timeout_us) {
            timeout_us = due_us;
        }
        if (peer_wait(run->peer, vrs, n, timeout_us)) {
            run->failed = true;
        }
    } else if (++run->idle_loops < PEER_SPIN_LIMIT) {
        __builtin_ia32_pause();
    } else {
        struct timespec nap = { 0, 20 * 1000 };

        nanosleep(&nap, NULL);
    }
}

/* Collects the vrings of one direction ('tx' or not) into 'vrs' and returns
 * how many. */
static size_t
peer_run_vrings(const struct peer_run *run, bool tx,
                struct peer_vring **vrs)
{
    for (unsigned int i = 0; i < run->peer->n_queues; i++) {
        struct peer_queue *q = &run->peer->queues[i];

        vrs[i] = tx ? &q->tx : &q->rx;
    }
    return run->peer->n_queues;
}

/* Takes back the transmit buffers of all queues.  Returns how many. */
static unsigned int
peer_run_reclaim(struct peer_run *run)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < run->peer->n_queues; i++) {
        n += peer_tx_reclaim(&run->peer->queues[i].tx);
    }
    run->stats.tx_done += n;
    return n;
}

/* Returns how many more frames the peer may send now under --count and
 * --rate, at most 'max'.  A sender that fell behind its --rate schedule
 * (because the ring was full or the CPU busy) catches up by one burst at
 * most, so that it never floods the back-end. */
static uint64_t
peer_run_tx_budget(struct peer_run *run, uint64_t max)
{
    const struct peer_options *opts = run->opts;
    uint64_t budget = max;

    if (opts->count) {
        uint64_t left = opts->count - run->seq;

        budget = left < budget ? left : budget;
    }
    if (opts->rate) {
        double due = (run->now - run->pace_start) * opts->rate + 1;

        if (due > run->seq + PEER_BURST) {
            run->pace_start = run->now - (double) run->seq / opts->rate;
            due = run->seq + 1;
        }

        uint64_t allowed = due > run->seq ? (uint64_t) due - run->seq : 0;
        budget = allowed < budget ? allowed : budget;
    }
    return budget;
}

/* Places up to 'budget' new test frames on the transmit rings, round robin
 * over the queues, and publishes them.  Stops early at a full ring, so that
 * the order over queues stays strict.  Returns how many it placed. */
static unsigned int
peer_run_tx_burst(struct peer_run *run, uint64_t budget)
{
    struct peer *peer = run->peer;
    uint32_t len = run->opts->frame_size;
    unsigned int n;

    for (n = 0; n < budget; n++) {
        struct peer_queue *q = &peer->queues[run->next_q];
        uint16_t id;
        uint8_t *frame = peer_tx_slot(peer, &q->tx, &id);

        if (!frame) {
            break;
        }
        peer_make_frame(run->opts, frame, run->seq++, len);
        peer_tx_put(peer, &q->tx, id, len);
        q->tx_frames++;
        run->stats.tx_frames++;
        run->stats.tx_bytes += len;
        run->next_q = (run->next_q + 1) % peer->n_active;
    }

    for (unsigned int i = 0; i < peer->n_queues; i++) {
        peer_publish(peer, &peer->queues[i].tx);
    }
    return n;
}

/* Receives and counts up to PEER_BURST frames from each queue.  Returns how
 * many frames it received. */
static unsigned int
peer_run_rx_burst(struct peer_run *run)
{
    struct peer *peer = run->peer;
    unsigned int total = 0;

    for (unsigned int i = 0; i < peer->n_queues; i++) {
        struct peer_queue *q = &peer->queues[i];

        for (unsigned int n = 0; n < PEER_BURST; n++) {
            uint8_t *frame;
            uint32_t len;
            int retval = peer_rx_next(peer, &q->rx, &frame, &len);

            if (!retval) {
                break;
            } else if (retval < 0) {
                run->stats.rx_errors++;
            } else {
                peer_count_rx(run, frame, len);
                q->rx_frames++;
            }
            total++;
        }
        peer_publish(peer, &q->rx);
    }
    return total;
}

/* The 'send' command: sends --count frames (or until --duration), waiting
 * for room on full rings, then waits until the back-end has consumed every
 * frame. */
static void
peer_cmd_send(struct peer_run *run)
{
    const struct peer_options *opts = run->opts;
    struct peer_vring *vrs[PEER_MAX_QUEUES];
    size_t n_vrs = peer_run_vrings(run, true, vrs);

    while (!peer_stop && peer_run_tick(run) && !peer_run_expired(run)) {
        if (peer_run_reclaim(run)) {
            peer_run_progress(run);
        }
        if (opts->count && run->seq >= opts->count
            && run->stats.tx_done == run->stats.tx_frames) {
            break;
        }
        if (!opts->duration
            && run->now - run->last_progress >= PEER_STALL_TIMEOUT) {
            peer_error("back-end consumed no frame for %g seconds",
                       PEER_STALL_TIMEOUT);
            run->failed = true;
            break;
        }

        uint64_t budget = peer_run_tx_budget(run, PEER_BURST);
        if (budget && peer_run_tx_burst(run, budget)) {
            peer_run_progress(run);
        } else {
            peer_run_idle_wait(run, vrs, n_vrs);
        }
    }
    peer_run_reclaim(run);

    printf("sent=%"PRIu64"\n", run->stats.tx_done);
    if (opts->count && run->stats.tx_done < opts->count) {
        if (!run->failed) {
            peer_error("only %"PRIu64" of %"PRIu64" frames were consumed "
                       "by the back-end", run->stats.tx_done, opts->count);
        }
        run->failed = true;
    }
}

/* The 'recv' command: counts and checks frames until --count arrived,
 * --duration elapsed or nothing arrived for --idle seconds. */
static void
peer_cmd_recv(struct peer_run *run)
{
    const struct peer_options *opts = run->opts;
    struct peer_vring *vrs[PEER_MAX_QUEUES];
    size_t n_vrs = peer_run_vrings(run, false, vrs);

    while (!peer_stop && peer_run_tick(run) && !peer_run_expired(run)
           && !peer_run_idle(run)
           && (!opts->count || run->stats.rx_frames < opts->count)) {
        if (peer_run_rx_burst(run)) {
            peer_run_progress(run);
        } else {
            peer_run_idle_wait(run, vrs, n_vrs);
        }
    }

    printf("received=%"PRIu64" bad=%"PRIu64" other=%"PRIu64"\n",
           run->stats.rx_frames, run->stats.rx_bad, run->stats.rx_other);
    if (run->stats.rx_errors) {
        peer_error("%"PRIu64" malformed used ring entries",
                   run->stats.rx_errors);
        run->failed = true;
    }
    if (run->stats.rx_bad) {
        run->failed = true;
    }
    if (opts->count && run->stats.rx_frames < opts->count) {
        if (!run->failed) {
            peer_error("received only %"PRIu64" of %"PRIu64" frames",
                       run->stats.rx_frames, opts->count);
        }
        run->failed = true;
    }
}

/* Reflects up to one burst of the frames received on queue 'q', with MAC
 * addresses swapped, never taking more than the transmit ring has room
 * for.  Returns how many frames it received. */
static unsigned int
peer_echo_queue(struct peer_run *run, struct peer_queue *q)
{
    struct peer *peer = run->peer;
    uint32_t room = q->tx.buf_size - peer->hdr_len;
    unsigned int n;

    run->stats.tx_done += peer_tx_reclaim(&q->tx);
    for (n = 0; n < PEER_BURST && q->tx.n_free; n++) {
        uint8_t *frame, *out;
        uint32_t len;
        uint16_t id;
        int retval = peer_rx_next(peer, &q->rx, &frame, &len);

        if (!retval) {
            break;
        } else if (retval < 0) {
            run->stats.rx_errors++;
            continue;
        }
        run->stats.rx_frames++;
        q->rx_frames++;
        if (len < 12 || len > room) {
            run->stats.rx_other++;
            continue;
        }
        out = peer_tx_slot(peer, &q->tx, &id);
        memcpy(out, frame + 6, 6);
        memcpy(out + 6, frame, 6);
        memcpy(out + 12, frame + 12, len - 12);
        peer_tx_put(peer, &q->tx, id, len);
        q->tx_frames++;
        run->stats.tx_frames++;
        run->stats.tx_bytes += len;
    }
    peer_publish(peer, &q->rx);
    peer_publish(peer, &q->tx);
    return n;
}

/* The 'echo' command: reflects every received frame back on its queue,
 * with MAC addresses swapped, until --count frames were echoed, --duration
 * elapsed or nothing arrived for --idle seconds. */
static void
peer_cmd_echo(struct peer_run *run)
{
    const struct peer_options *opts = run->opts;
    struct peer_vring *vrs[2 * PEER_MAX_QUEUES];
    size_t n_vrs = peer_run_vrings(run, false, vrs);

    n_vrs += peer_run_vrings(run, true, vrs + n_vrs);
    while (!peer_stop && peer_run_tick(run) && !peer_run_expired(run)
           && !peer_run_idle(run)
           && (!opts->count || run->stats.tx_frames < opts->count)) {
        unsigned int n = 0;

        for (unsigned int i = 0; i < run->peer->n_queues; i++) {
            n += peer_echo_queue(run, &run->peer->queues[i]);
        }
        if (n) {
            peer_run_progress(run);
        } else {
            peer_run_idle_wait(run, vrs, n_vrs);
        }
    }
    peer_run_reclaim(run);

    printf("echoed=%"PRIu64" dropped=%"PRIu64"\n",
           run->stats.tx_frames, run->stats.rx_other);
    if (run->stats.rx_errors) {
        peer_error("%"PRIu64" malformed used ring entries",
                   run->stats.rx_errors);
        run->failed = true;
    }
}

/* The 'bench' command: sends as fast as --rate allows and counts what comes
 * back, for --duration seconds (10 by default), then prints rates. */
static void
peer_cmd_bench(struct peer_run *run)
{
    struct peer_vring *vrs[2 * PEER_MAX_QUEUES];
    size_t n_vrs = peer_run_vrings(run, false, vrs);

    n_vrs += peer_run_vrings(run, true, vrs + n_vrs);
    while (!peer_stop && peer_run_tick(run) && !peer_run_expired(run)) {
        unsigned int n = peer_run_reclaim(run);
        uint64_t budget = peer_run_tx_budget(run, PEER_BURST);

        if (budget) {
            n += peer_run_tx_burst(run, budget);
        }
        n += peer_run_rx_burst(run);
        if (n) {
            peer_run_progress(run);
        } else {
            peer_run_idle_wait(run, vrs, n_vrs);
        }
    }

    double elapsed = peer_now() - run->start;
    const struct peer_stats *s = &run->stats;
    double tx_pps = s->tx_done / elapsed;
    double rx_pps = s->rx_frames / elapsed;

    printf("sent=%"PRIu64" received=%"PRIu64" bad=%"PRIu64" "
           "seconds=%.3f tx_pps=%.0f rx_pps=%.0f tx_mpps=%.3f rx_mpps=%.3f "
           "tx_gbps=%.3f rx_gbps=%.3f\n",
           s->tx_done, s->rx_frames, s->rx_bad, elapsed, tx_pps, rx_pps,
           tx_pps / 1e6, rx_pps / 1e6,
           s->tx_bytes * 8.0 / elapsed / 1e9,
           s->rx_bytes * 8.0 / elapsed / 1e9);
    if (s->rx_bad || s->rx_errors) {
        run->failed = true;
    }
}

static int
peer_compare_doubles(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;

    return a < b ? -1 : a > b;
}

/* Returns the frame with sequence number 'seq' from queue 0's receive ring
 * if it arrived (other frames are counted and dropped). */
static bool
peer_ping_reply(struct peer_run *run, uint64_t seq)
{
    struct peer_queue *q = &run->peer->queues[0];
    bool found = false;
    uint8_t *frame;
    uint32_t len;
    int retval;

    while ((retval = peer_rx_next(run->peer, &q->rx, &frame, &len))) {
        if (retval < 0) {
            run->stats.rx_errors++;
        } else if (peer_check_frame(frame, len) == PEER_FRAME_GOOD
                   && get_be(frame + 18, 8) == seq) {
            found = true;
        } else {
            run->stats.rx_other++;
        }
    }
    peer_publish(run->peer, &q->rx);
    return found;
}

/* How long 'ping' waits for a frame to come back before it counts it as
 * lost. */
#define PEER_PING_TIMEOUT 1.0

/* The 'ping' command: sends one frame at a time on queue 0 and waits until
 * it comes back (from an 'echo' peer, through the back-end), --count round
 * trips (1000 by default) at --rate per second at most, then prints the
 * round-trip times. */
static void
peer_cmd_ping(struct peer_run *run)
{
    const struct peer_options *opts = run->opts;
    struct peer_queue *q = &run->peer->queues[0];
    struct peer_vring *rx = &q->rx;
    uint64_t count = opts->count ? opts->count : 1000;
    double *rtts = calloc(count, sizeof *rtts);
    uint64_t n_done = 0, lost = 0;

    if (!rtts) {
        peer_error("out of memory");
        run->failed = true;
        return;
    }
    while (!peer_stop && n_done + lost < count && peer_run_tick(run)) {
        uint8_t *frame;
        uint16_t id;

        if (opts->rate && run->now < (run->start + (double) (n_done + lost)
                                      / opts->rate)) {
            struct timespec nap = { 0, 20 * 1000 };

            nanosleep(&nap, NULL);
            continue;
        }
        run->stats.tx_done += peer_tx_reclaim(&q->tx);
        frame = peer_tx_slot(run->peer, &q->tx, &id);
        if (!frame) {
            peer_error("transmit ring full: the back-end takes nothing");
            run->failed = true;
            break;
        }

        uint64_t seq = run->seq++;
        double sent_at = peer_now();

        peer_make_frame(opts, frame, seq, opts->frame_size);
        peer_tx_put(run->peer, &q->tx, id, opts->frame_size);
        peer_publish(run->peer, &q->tx);
        run->stats.tx_frames++;
        for (;;) {
            if (peer_ping_reply(run, seq)) {
                rtts[n_done++] = peer_now() - sent_at;
                break;
            }
            if (peer_stop || !peer_run_tick(run)) {
                break;
            }
            if (run->now - sent_at > PEER_PING_TIMEOUT) {
                lost++;
                break;
            }
            peer_run_idle_wait(run, &rx, 1);
        }
    }

    qsort(rtts, n_done, sizeof *rtts, peer_compare_doubles);
    printf("round_trips=%"PRIu64" lost=%"PRIu64, n_done, lost);
    if (n_done) {
        printf(" p50_us=%.1f p99_us=%.1f max_us=%.1f",
               rtts[(n_done - 1) / 2] * 1e6,
               rtts[(n_done - 1) * 99 / 100] * 1e6,
               rtts[n_done - 1] * 1e6);
    }
    printf("\n");
    free(rtts);
    if (lost || n_done < count || run->stats.rx_errors) {
        run->failed = true;
    }
}

/* Runs the command the options name on the started device 'peer'.  Prints
 * the command's result line.  Returns 0 on success, -1 on failure. */
int
peer_run_command(struct peer *peer)
{
    struct peer_run run = {
        .peer = peer,
        .opts = peer->opts,
    };

    peer_pattern_init();
    while (peer->opts->wait_signal && !peer_go && !peer_stop) {
        /* Connected and set up; the caller decides when traffic starts.
         * The back-end is checked meanwhile, so that a peer waiting for a
         * switch that went away does not wait forever. */
        struct timespec nap = { 0, 10 * 1000 * 1000 };

        nanosleep(&nap, NULL);
        if (peer_check_backend(peer)) {
            return -1;
        }
    }
    run.start = run.now = run.last_progress = run.last_check = peer_now();
    run.pace_start = run.start;

    switch (peer->opts->command) {
    case PEER_CMD_SEND:
        peer_cmd_send(&run);
        break;
    case PEER_CMD_RECV:
        peer_cmd_recv(&run);
        break;
    case PEER_CMD_ECHO:
        peer_cmd_echo(&run);
        break;
    case PEER_CMD_BENCH:
        peer_cmd_bench(&run);
        break;
    case PEER_CMD_PING:
        peer_cmd_ping(&run);
        break;
    }
    fflush(stdout);

    for (unsigned int i = 0; i < peer->n_queues; i++) {
        const struct peer_queue *q = &peer->queues[i];

        peer_info(peer->opts, "queue %u: sent %"PRIu64", received %"PRIu64,
                  i, q->tx_frames, q->rx_frames);
    }
    return run.failed ? -1 : 0;
}
