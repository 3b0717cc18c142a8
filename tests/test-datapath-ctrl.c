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
#include "test-datapath.h"

#include <inttypes.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tests of the offered feature set and of the virtio-net control queue. */

#define F_BASE (VHU_BIT(VHU_VIRTIO_F_VERSION_1) \
                | VHU_BIT(VHU_F_PROTOCOL_FEATURES))
#define PF_BASE (VHU_BIT(VHU_PROTOCOL_F_REPLY_ACK) \
                 | VHU_BIT(VHU_PROTOCOL_F_MQ))
#define NET(F) VHU_BIT(VHU_VIRTIO_NET_F_##F)

/* The virtio 1.2 spec's list (5.1.3.1), written out here independently of
 * the engine's table: feature, and the features of which it needs one. */
static const struct {
    const char *name;
    uint64_t feature;
    uint64_t any_of;
} spec_requirements[] = {
    { "GUEST_TSO4", NET(GUEST_TSO4), NET(GUEST_CSUM) },
    { "GUEST_TSO6", NET(GUEST_TSO6), NET(GUEST_CSUM) },
    { "GUEST_ECN", NET(GUEST_ECN), NET(GUEST_TSO4) | NET(GUEST_TSO6) },
    { "GUEST_UFO", NET(GUEST_UFO), NET(GUEST_CSUM) },
    { "GUEST_USO4", NET(GUEST_USO4), NET(GUEST_CSUM) },
    { "GUEST_USO6", NET(GUEST_USO6), NET(GUEST_CSUM) },
    { "HOST_TSO4", NET(HOST_TSO4), NET(CSUM) },
    { "HOST_TSO6", NET(HOST_TSO6), NET(CSUM) },
    { "HOST_ECN", NET(HOST_ECN), NET(HOST_TSO4) | NET(HOST_TSO6) },
    { "HOST_UFO", NET(HOST_UFO), NET(CSUM) },
    { "HOST_USO", NET(HOST_USO), NET(CSUM) },
    { "CTRL_RX", NET(CTRL_RX), NET(CTRL_VQ) },
    { "CTRL_VLAN", NET(CTRL_VLAN), NET(CTRL_VQ) },
    { "GUEST_ANNOUNCE", NET(GUEST_ANNOUNCE), NET(CTRL_VQ) },
    { "MQ", NET(MQ), NET(CTRL_VQ) },
    { "CTRL_MAC_ADDR", NET(CTRL_MAC_ADDR), NET(CTRL_VQ) },
    { "NOTF_COAL", NET(NOTF_COAL), NET(CTRL_VQ) },
    { "VQ_NOTF_COAL", NET(VQ_NOTF_COAL), NET(CTRL_VQ) },
    { "RSS", NET(RSS), NET(CTRL_VQ) },
    { "CTRL_RX_EXTRA", NET(CTRL_RX_EXTRA), NET(CTRL_RX) },
    { "RSC_EXT", NET(RSC_EXT), NET(HOST_TSO4) | NET(HOST_TSO6) },
};
#define N_SPEC_REQUIREMENTS \
    (sizeof spec_requirements / sizeof *spec_requirements)

/* Returns the name of a requirement that 'features' violates, or NULL. */
static const char *
violated(uint64_t features)
{
    for (size_t i = 0; i < N_SPEC_REQUIREMENTS; i++) {
        if (features & spec_requirements[i].feature
            && !(features & spec_requirements[i].any_of)) {
            return spec_requirements[i].name;
        }
    }
    return NULL;
}

/* Returns what a device created with 'disabled' offers in GET_FEATURES. */
static uint64_t
offered_with(uint64_t disabled)
{
    struct vhu_device_options opts = {
        .name = "x", .max_queue_pairs = 2, .max_mtu = 1500,
        .features_disabled = disabled,
    };
    struct vhu_msg_header hdr = {
        .request = VHU_REQ_GET_FEATURES, .flags = VHU_VERSION,
    };
    struct vhu_device *dev = vhu_device_create(&opts);
    const uint8_t *out;
    uint64_t features;
    size_t n;

    CHECK(dev, "device creation failed");
    CHECK(!vhu_device_input(dev, &hdr, sizeof hdr, NULL, 0), "input");
    out = vhu_device_output(dev, &n);
    CHECK(n == sizeof hdr + 8, "reply of %zu bytes", n);
    memcpy(&features, out + sizeof hdr, sizeof features);
    vhu_device_destroy(dev);
    return features;
}

/* Whatever features an operator disables, what the device offers is a set
 * that a driver following the spec accepts, and only what was disabled,
 * or needs what was, is missing. */
static void
test_feature_requirements(void)
{
    uint64_t all = offered_with(0);
    uint64_t bits[64];
    unsigned int n_bits = 0;

    CHECK(!violated(all), "offered 0x%"PRIx64" violates %s", all,
          violated(all));
    CHECK(all & NET(CTRL_VQ) && all & NET(MQ) && all & NET(GUEST_ANNOUNCE),
          "offered 0x%"PRIx64" lacks the control queue or MQ", all);
    for (int b = 0; b < 64; b++) {
        if (all & VHU_BIT(b)) {
            bits[n_bits++] = VHU_BIT(b);
        }
    }
    CHECK(n_bits <= 16, "%u bits offered: too many subsets to try", n_bits);

    for (uint32_t subset = 0; subset < (UINT32_C(1) << n_bits); subset++) {
        uint64_t disabled = 0, offered, lost;

        for (unsigned int k = 0; k < n_bits; k++) {
            if (subset & (UINT32_C(1) << k)) {
                disabled |= bits[k];
            }
        }
        offered = offered_with(disabled);
        CHECK(!violated(offered), "with 0x%"PRIx64" disabled, offered 0x%"
              PRIx64" violates the requirement of %s", disabled, offered,
              violated(offered));
        CHECK(!(offered & disabled), "disabled 0x%"PRIx64" still offered",
              offered & disabled);
        /* Each bit lost beyond those disabled is one whose requirement is
         * gone. */
        lost = all & ~disabled & ~offered;
        for (size_t i = 0; i < N_SPEC_REQUIREMENTS; i++) {
            if (lost & spec_requirements[i].feature) {
                CHECK(!(offered & spec_requirements[i].any_of),
                      "%s dropped with its requirement offered",
                      spec_requirements[i].name);
                lost &= ~spec_requirements[i].feature;
            }
        }
        CHECK(!lost, "with 0x%"PRIx64" disabled, 0x%"PRIx64" lost for no "
              "reason", disabled, lost);
    }

    /* The engine's trimming on its own, for the offload bits it does not
     * offer yet: every combination comes out consistent and maximal. */
    uint64_t offload[] = {
        NET(CSUM), NET(GUEST_CSUM), NET(GUEST_TSO4), NET(GUEST_TSO6),
        NET(GUEST_ECN), NET(GUEST_UFO), NET(HOST_TSO4), NET(HOST_TSO6),
        NET(HOST_ECN), NET(HOST_UFO), NET(CTRL_VQ), NET(CTRL_RX),
        NET(CTRL_RX_EXTRA), NET(MQ),
    };
    size_t n_offload = sizeof offload / sizeof *offload;

    for (uint32_t subset = 0; subset < (UINT32_C(1) << n_offload);
         subset++) {
        uint64_t in = 0, out;

        for (size_t k = 0; k < n_offload; k++) {
            if (subset & (UINT32_C(1) << k)) {
                in |= offload[k];
            }
        }
        out = vhu_net_features_consistent(in);
        CHECK(!violated(out) && !(out & ~in), "0x%"PRIx64" -> 0x%"PRIx64,
              in, out);
        CHECK(violated(in) || out == in, "consistent 0x%"PRIx64" changed",
              in);
    }

    /* Turning the control queue off takes MQ and GUEST_ANNOUNCE with it. */
    CHECK(offered_with(NET(CTRL_VQ)) == (all & ~(NET(CTRL_VQ) | NET(MQ)
                                                 | NET(GUEST_ANNOUNCE))),
          "without CTRL_VQ: 0x%"PRIx64, offered_with(NET(CTRL_VQ)));
}

/* The control queue of the test devices: at most 5 queue pairs, of which
 * the configuration space announces 2 (room for the control queue in 5
 * virtqueues), so the frontend numbers it 4 with MQ and 2 without. */
#define CTRL_SIZE 16
#define CMD_GPA   (BUF_BASE + 0x10000)
#define ACK_GPA   (BUF_BASE + 0x11000)

/* Sets up a device whose frontend hands it the control queue. */
static void
ctrl_setup(struct fe *fe, uint64_t extra_features, bool start_ctrl)
{
    struct fe_opts opts = {
        .features = F_BASE | NET(CTRL_VQ) | NET(MQ) | extra_features,
        .protocol_features = PF_BASE,
        .n_qp = 2,
        .max_qp = 5,
    };

    fe_setup(fe, &opts);
    if (start_ctrl) {
        fe_setup_vring(fe, 4, CTRL_SIZE);
        fe_grace(fe);
    }
    CHECK(!vhu_device_is_broken(fe->dev), "broken after set-up");
}

static bool
vring_enabled(struct fe *fe, unsigned int vring)
{
    struct vhu_vring_info info;

    vhu_device_vring_info(fe->dev, vring, &info);
    return info.enabled;
}

static bool
ctrl_broken(struct fe *fe)
{
    struct vhu_vring_info info;

    vhu_device_vring_info(fe->dev, VHU_CTRL_VRING, &info);
    return info.broken;
}

/* Posts a command on frontend vring 'i' as Linux's virtio_net does: the
 * class and command in one device-readable descriptor, the data in
 * 'n_data_desc' more (0 to 2, the data split between them), and the ack
 * in a device-writable one (preset to 0xff).  Kicks.  Returns the head. */
static uint16_t
post_command(struct fe *fe, unsigned int i, uint8_t class, uint8_t cmd,
             const void *data, uint32_t len, unsigned int n_data_desc)
{
    struct fe_vring *v = &fe->vrings[i];
    struct vring_desc *desc = fe_gpa(fe, v->desc_gpa);
    uint8_t *buf = fe_gpa(fe, CMD_GPA);
    uint16_t head = v->next_desc;
    uint64_t gpas[4];
    uint32_t lens[4];
    unsigned int n = 0;

    buf[0] = class;
    buf[1] = cmd;
    memcpy(buf + 2, data, len);
    gpas[n] = CMD_GPA;
    lens[n++] = 2;
    if (n_data_desc == 1 || (n_data_desc == 2 && len < 2)) {
        gpas[n] = CMD_GPA + 2;
        lens[n++] = len;
    } else if (n_data_desc == 2) {
        gpas[n] = CMD_GPA + 2;
        lens[n++] = 1;
        gpas[n] = CMD_GPA + 3;
        lens[n++] = len - 1;
    } else {
        lens[0] += len;
    }
    *(uint8_t *) fe_gpa(fe, ACK_GPA) = 0xff;
    gpas[n] = ACK_GPA;
    lens[n++] = 1;

    for (unsigned int k = 0; k < n; k++) {
        uint16_t d = (v->next_desc + k) % v->size;

        desc[d].addr = gpas[k];
        desc[d].len = lens[k];
        desc[d].flags = ((k + 1 == n ? VRING_DESC_F_WRITE : 0)
                         | (k + 1 < n ? VRING_DESC_F_NEXT : 0));
        desc[d].next = (d + 1) % v->size;
    }
    v->next_desc = (v->next_desc + n) % v->size;
    /* A driver that wants to hear of every answer (EVENT_IDX's
     * used_event). */
    ((struct vring_avail *) fe_gpa(fe, v->avail_gpa))->ring[v->size]
        = v->used_seen;
    fe_publish(fe, i, head);
    CHECK(write(v->kick_fd, &(uint64_t) { 1 }, 8) == 8, "kick");
    return head;
}

static uint8_t
ack_byte(struct fe *fe)
{
    return *(volatile uint8_t *) fe_gpa(fe, ACK_GPA);
}

/* Runs the control queue (and a grace period if one is wanted: fewer
 * pairs wait for it) and checks that command 'head' got 'ack'. */
static void
expect_ack(struct fe *fe, unsigned int i, uint16_t head, uint8_t ack)
{
    uint32_t id, len;

    vhu_device_run_ctrl(fe->dev);
    fe_grace(fe);
    CHECK(fe_get_used(fe, i, &id, &len), "command not answered");
    CHECK(id == head && len == 1, "used id %"PRIu32" len %"PRIu32
          " (expected %u, 1)", id, len, head);
    CHECK(ack_byte(fe) == ack, "ack %u, expected %u", ack_byte(fe), ack);
    CHECK(fe_read_call(fe, i) >= 1, "driver not called");
}

static void
set_pairs(struct fe *fe, uint16_t pairs, uint8_t ack)
{
    uint8_t data[2] = { pairs & 0xff, pairs >> 8 };

    expect_ack(fe, 4, post_command(fe, 4, VHU_NET_CTRL_MQ,
                                   VHU_NET_CTRL_MQ_VQ_PAIRS_SET, data, 2, 1),
               ack);
}

/* Transmits one frame on queue pair 'qp' and returns how many the device
 * dequeues there. */
static int
tx_one(struct fe *fe, unsigned int qp)
{
    struct test_pkt *pkts[4];
    uint8_t frame[60];
    int n;

    memset(frame, 0x5a, sizeof frame);
    fe_tx_frame(fe, 2 * qp + 1, frame, sizeof frame, BUF_BASE + qp * 0x1000,
                12);
    n = fe_dequeue(fe, qp, pkts, 4);
    for (int k = 0; k < n; k++) {
        free(pkts[k]);
    }
    return n;
}

/* VQ_PAIRS_SET: one pair until the driver asks for more; more pairs run
 * at once; fewer stop before the ack. */
static void
run_pairs(uint64_t extra_features)
{
    struct fe fe;
    uint64_t n;

    ctrl_setup(&fe, extra_features, true);
    CHECK(vhu_device_ctrl_kick_fd(fe.dev) >= 0, "no control kick fd");
    CHECK(vhu_device_ctrl_pairs(fe.dev) == 1, "%u pairs before any "
          "command", vhu_device_ctrl_pairs(fe.dev));
    CHECK(vring_enabled(&fe, 0) && vring_enabled(&fe, 1), "pair 0 off");
    CHECK(!vring_enabled(&fe, 2) && !vring_enabled(&fe, 3),
          "pair 1 runs before VQ_PAIRS_SET");
    CHECK(tx_one(&fe, 1) == 0, "frame dequeued on pair 1 before "
          "VQ_PAIRS_SET");

    set_pairs(&fe, 2, VHU_NET_OK);
    /* The kick was consumed. */
    CHECK(read(fe.vrings[4].kick_fd, &n, sizeof n) < 0, "kick left unread");
    CHECK(vhu_device_ctrl_pairs(fe.dev) == 2, "pairs %u",
          vhu_device_ctrl_pairs(fe.dev));
    CHECK(vring_enabled(&fe, 2) && vring_enabled(&fe, 3), "pair 1 off");
    CHECK(tx_one(&fe, 1) == 2, "pair 1 does not run after VQ_PAIRS_SET");

    if (extra_features & VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX)) {
        /* The next kick is asked for (avail_event). */
        struct vring_used *used = fe_gpa(&fe, fe.vrings[4].used_gpa);
        uint16_t avail_event = *(uint16_t *) &used->ring[CTRL_SIZE];

        CHECK(avail_event == 1, "avail_event %u", avail_event);
    } else {
        struct vring_used *used = fe_gpa(&fe, fe.vrings[4].used_gpa);

        CHECK(!(used->flags & VRING_USED_F_NO_NOTIFY),
              "kicks of the control queue suppressed");
    }

    /* Back to one pair: the answer waits until pair 1 stopped. */
    uint8_t one[2] = { 1, 0 };
    uint16_t head = post_command(&fe, 4, VHU_NET_CTRL_MQ,
                                 VHU_NET_CTRL_MQ_VQ_PAIRS_SET, one, 2, 1);
    uint32_t id, len;

    vhu_device_run_ctrl(fe.dev);
    CHECK(vhu_device_wants_grace(fe.dev), "no grace period for pair 1");
    CHECK(!fe_get_used(&fe, 4, &id, &len) && ack_byte(&fe) == 0xff,
          "answered before pair 1 stopped");
    fe_grace(&fe);
    CHECK(fe_get_used(&fe, 4, &id, &len) && id == head && len == 1,
          "not answered after the grace period");
    CHECK(ack_byte(&fe) == VHU_NET_OK, "ack %u", ack_byte(&fe));
    CHECK(!vring_enabled(&fe, 2) && vring_enabled(&fe, 0), "pairs");
    CHECK(tx_one(&fe, 1) == 0, "pair 1 runs after VQ_PAIRS_SET 1");

    /* The driver starts again without a reset (crosvm stops and restarts
     * the rings): one pair until it asks again. */
    {
        uint32_t request, size;
        struct vhu_vring_state state;

        set_pairs(&fe, 2, VHU_NET_OK);
        CHECK(!fe_send_state(&fe, VHU_REQ_GET_VRING_BASE, 4, 0), "GET");
        fe_grace(&fe);
        CHECK(fe_recv(&fe, &request, &state, &size), "GET_VRING_BASE");
        CHECK(vring_enabled(&fe, 2), "pair 1 stopped with the control "
              "queue");
        fe_setup_vring(&fe, 4, CTRL_SIZE);
        fe_grace(&fe);
        CHECK(vhu_device_ctrl_pairs(fe.dev) == 1, "pairs %u after the "
              "control queue restarted", vhu_device_ctrl_pairs(fe.dev));
        CHECK(!vring_enabled(&fe, 2), "pair 1 runs for a new driver");
        set_pairs(&fe, 2, VHU_NET_OK);

        /* The same driver resumed (the ring restarted where it was, as
         * after a suspend): its pairs stay. */
        CHECK(!fe_send_state(&fe, VHU_REQ_GET_VRING_BASE, 4, 0), "GET");
        fe_grace(&fe);
        CHECK(fe_recv(&fe, &request, &state, &size) && state.num == 1,
              "GET_VRING_BASE %u", state.num);
        CHECK(!fe_send_state(&fe, VHU_REQ_SET_VRING_BASE, 4, state.num),
              "BASE");
        CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_KICK, 0, &(uint64_t) { 4 },
                       8, (int[]) { dup(fe.vrings[4].kick_fd) }, 1),
              "KICK");
        fe_grace(&fe);
        CHECK(vhu_device_ctrl_pairs(fe.dev) == 2, "pairs %u after a resume",
              vhu_device_ctrl_pairs(fe.dev));
        CHECK(vring_enabled(&fe, 2), "pair 1 stopped by a resume");
    }

    /* A device reset (SET_STATUS 0) goes back to one pair. */
    set_pairs(&fe, 2, VHU_NET_OK);
    CHECK(vring_enabled(&fe, 2), "pair 1 off");
    CHECK(!fe_send_u64(&fe, VHU_REQ_SET_STATUS, 0), "SET_STATUS");
    fe_grace(&fe);
    CHECK(!vring_enabled(&fe, 2), "pair 1 runs after a reset");
    CHECK(!vhu_device_is_broken(fe.dev) && !ctrl_broken(&fe), "broken");
    fe_destroy(&fe);
}

static void
test_ctrl_pairs(void)
{
    run_pairs(0);
}

static void
test_ctrl_pairs_event_idx(void)
{
    run_pairs(VHU_BIT(VHU_VIRTIO_RING_F_EVENT_IDX));
}

/* Commands the engine does not take get VIRTIO_NET_ERR; the queue goes
 * on. */
static void
test_ctrl_refused(void)
{
    uint8_t mac_table[100];
    struct fe fe;

    ctrl_setup(&fe, NET(GUEST_ANNOUNCE), true);
    set_pairs(&fe, 0, VHU_NET_ERR);
    set_pairs(&fe, 3, VHU_NET_ERR);     /* More than the device has. */
    expect_ack(&fe, 4, post_command(&fe, 4, VHU_NET_CTRL_MQ,
                                    VHU_NET_CTRL_MQ_VQ_PAIRS_SET,
                                    "\x02\x00\x00", 3, 1), VHU_NET_ERR);
    expect_ack(&fe, 4, post_command(&fe, 4, VHU_NET_CTRL_MQ,
                                    VHU_NET_CTRL_MQ_VQ_PAIRS_SET,
                                    "\x02", 1, 1), VHU_NET_ERR);
    CHECK(vhu_device_ctrl_pairs(fe.dev) == 1, "pairs changed");

    /* Promiscuous mode (CTRL_RX, not offered). */
    expect_ack(&fe, 4, post_command(&fe, 4, VHU_NET_CTRL_RX, 0, "\x01", 1,
                                    1), VHU_NET_ERR);
    /* A MAC table (not offered), longer than any command the engine
     * reads, in two data descriptors. */
    memset(mac_table, 0, sizeof mac_table);
    expect_ack(&fe, 4, post_command(&fe, 4, VHU_NET_CTRL_MAC, 0, mac_table,
                                    sizeof mac_table, 2), VHU_NET_ERR);
    expect_ack(&fe, 4, post_command(&fe, 4, 200, 7, NULL, 0, 0),
               VHU_NET_ERR);
    /* ANNOUNCE_ACK, with GUEST_ANNOUNCE negotiated. */
    expect_ack(&fe, 4, post_command(&fe, 4, VHU_NET_CTRL_ANNOUNCE,
                                    VHU_NET_CTRL_ANNOUNCE_ACK, NULL, 0, 0),
               VHU_NET_OK);
    /* The data split over two descriptors, and in the same one as the
     * header. */
    uint8_t two[2] = { 2, 0 };

    expect_ack(&fe, 4, post_command(&fe, 4, VHU_NET_CTRL_MQ,
                                    VHU_NET_CTRL_MQ_VQ_PAIRS_SET, two, 2, 2),
               VHU_NET_OK);
    CHECK(vhu_device_ctrl_pairs(fe.dev) == 2, "pairs");
    set_pairs(&fe, 1, VHU_NET_OK);
    expect_ack(&fe, 4, post_command(&fe, 4, VHU_NET_CTRL_MQ,
                                    VHU_NET_CTRL_MQ_VQ_PAIRS_SET, two, 2, 0),
               VHU_NET_OK);
    CHECK(!ctrl_broken(&fe) && !vhu_device_is_broken(fe.dev), "broken");
    fe_destroy(&fe);
}

/* A kick fd that is always readable but no eventfd (a pipe whose writer
 * is gone) stops the control queue, and the caller stops polling it: it
 * would wake the control thread forever. */
static void
test_ctrl_bad_kick_fd(void)
{
    int pipefd[2];
    struct fe fe;

    ctrl_setup(&fe, 0, true);
    CHECK(!pipe(pipefd), "pipe");
    close(pipefd[1]);
    CHECK(!fe_send(&fe, VHU_REQ_SET_VRING_KICK, 0, &(uint64_t) { 4 }, 8,
                   &pipefd[0], 1), "KICK");
    fe_grace(&fe);              /* Runs the control queue too. */
    vhu_device_run_ctrl(fe.dev);
    CHECK(ctrl_broken(&fe), "control queue not stopped");
    CHECK(vhu_device_ctrl_kick_fd(fe.dev) < 0, "kick fd still polled");
    CHECK(!vhu_device_is_broken(fe.dev) && tx_one(&fe, 0) == 1,
          "the data path stopped");
    fe_destroy(&fe);
}

/* Writes one raw descriptor of frontend vring 'i'. */
static void
put_desc(struct fe *fe, unsigned int i, uint16_t d, uint64_t gpa,
         uint32_t len, uint16_t flags)
{
    struct vring_desc *desc = fe_gpa(fe, fe->vrings[i].desc_gpa);

    desc[d].addr = gpa;
    desc[d].len = len;
    desc[d].flags = flags;
    desc[d].next = d + 1;
}

/* Invalid command chains stop the control queue, not the device: the
 * data path goes on, and restarting the ring brings the queue back. */
static void
test_ctrl_invalid(void)
{
    static const struct {
        const char *what;
        uint64_t gpa0;
        uint32_t len0;
        uint16_t flags0;
        uint64_t gpa1;
        uint32_t len1;
        uint16_t flags1;
    } cases[] = {
        { "no ack byte", CMD_GPA, 4, VRING_DESC_F_NEXT,
          CMD_GPA + 4, 2, 0 },
        { "readable after the ack", ACK_GPA, 1,
          VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, CMD_GPA, 4, 0 },
        { "one byte of command", CMD_GPA, 1, VRING_DESC_F_NEXT,
          ACK_GPA, 1, VRING_DESC_F_WRITE },
        { "command outside guest memory", GUEST_SIZE - 2, 4,
          VRING_DESC_F_NEXT, ACK_GPA, 1, VRING_DESC_F_WRITE },
        { "ack outside guest memory", CMD_GPA, 4, VRING_DESC_F_NEXT,
          GUEST_SIZE + 0x1000, 1, VRING_DESC_F_WRITE },
    };

    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct fe fe;
        uint32_t id, len;

        ctrl_setup(&fe, 0, true);
        memcpy(fe_gpa(&fe, CMD_GPA), "\x04\x00\x02\x00", 4);
        put_desc(&fe, 4, 0, cases[c].gpa0, cases[c].len0, cases[c].flags0);
        put_desc(&fe, 4, 1, cases[c].gpa1, cases[c].len1, cases[c].flags1);
        fe_publish(&fe, 4, 0);
        vhu_device_run_ctrl(fe.dev);
        CHECK(ctrl_broken(&fe), "%s: control queue not stopped",
              cases[c].what);
        CHECK(!fe_get_used(&fe, 4, &id, &len), "%s: answered",
              cases[c].what);
        CHECK(vhu_device_ctrl_pairs(fe.dev) == 1, "%s: pairs changed",
              cases[c].what);
        CHECK(!vhu_device_is_broken(fe.dev), "%s: device broken",
              cases[c].what);
        CHECK(tx_one(&fe, 0) == 1, "%s: pair 0 stopped", cases[c].what);

        /* The driver resets the queue (the frontend stops and restarts
         * the ring): it works again. */
        uint32_t request, size;
        struct vhu_vring_state state;

        CHECK(!fe_send_state(&fe, VHU_REQ_GET_VRING_BASE, 4, 0), "GET");
        fe_grace(&fe);
        CHECK(fe_recv(&fe, &request, &state, &size)
              && request == VHU_REQ_GET_VRING_BASE && state.index == 4,
              "%s: GET_VRING_BASE not answered", cases[c].what);
        fe_setup_vring(&fe, 4, CTRL_SIZE);
        fe_grace(&fe);
        CHECK(!ctrl_broken(&fe), "%s: still stopped", cases[c].what);
        set_pairs(&fe, 2, VHU_NET_OK);
        fe_destroy(&fe);
    }
}

/* Where the control queue is: after max_virtqueue_pairs pairs with MQ,
 * after the first pair without; and nowhere without CTRL_VQ (QEMU keeps
 * it).  A frontend that negotiates it but never starts the ring keeps it
 * too: every pair it enables runs. */
static void
test_ctrl_index(void)
{
    struct fe_opts opts = {
        .features = F_BASE | NET(CTRL_VQ),
        .protocol_features = PF_BASE,
        .n_qp = 1,
    };
    struct fe fe;

    /* Without MQ: index 2, and VQ_PAIRS_SET refused. */
    fe_setup(&fe, &opts);
    fe_setup_vring(&fe, 2, CTRL_SIZE);
    fe_grace(&fe);
    CHECK(!vhu_device_is_broken(fe.dev), "index 2 refused");
    CHECK(vhu_device_ctrl_kick_fd(fe.dev) >= 0, "no control queue at 2");
    {
        struct vhu_vring_info info;

        vhu_device_vring_info(fe.dev, VHU_CTRL_VRING, &info);
        CHECK(info.configured && info.started, "index 2 is not the control "
              "queue");
        vhu_device_vring_info(fe.dev, 2, &info);
        CHECK(!info.configured, "index 2 taken as a data ring");
    }
    expect_ack(&fe, 2, post_command(&fe, 2, VHU_NET_CTRL_MQ,
                                    VHU_NET_CTRL_MQ_VQ_PAIRS_SET,
                                    "\x01\x00", 2, 1), VHU_NET_ERR);
    CHECK(tx_one(&fe, 0) == 1, "pair 0 stopped");
    fe_destroy(&fe);

    /* QEMU: MQ without CTRL_VQ; index 4 is out of range. */
    opts.features = F_BASE | NET(MQ);
    opts.n_qp = 2;
    fe_setup(&fe, &opts);
    CHECK(vhu_device_ctrl_kick_fd(fe.dev) < 0, "control queue without "
          "CTRL_VQ");
    CHECK(vhu_device_ctrl_pairs(fe.dev) == 0, "pairs reported");
    CHECK(vring_enabled(&fe, 2) && tx_one(&fe, 1) == 1, "pair 1 off");
    CHECK(fe_send_state(&fe, VHU_REQ_SET_VRING_NUM, 4, CTRL_SIZE),
          "index 4 accepted without CTRL_VQ");
    CHECK(vhu_device_is_broken(fe.dev), "not broken");
    fe_destroy(&fe);

    /* CTRL_VQ negotiated, the ring never started: not limited. */
    ctrl_setup(&fe, 0, false);
    CHECK(vhu_device_ctrl_kick_fd(fe.dev) < 0, "kick fd of no ring");
    CHECK(vring_enabled(&fe, 2) && tx_one(&fe, 1) == 1, "pair 1 off");
    fe_destroy(&fe);
}

/* GET_CONFIG: the configuration space a frontend that passes the device
 * through (crosvm) shows the guest. */
static void
test_get_config(void)
{
    struct vhu_config req;
    uint32_t request, size;
    struct fe fe;

    ctrl_setup(&fe, 0, false);
    memset(&req, 0, sizeof req);
    req.offset = 0;
    req.size = 24;
    CHECK(!fe_send(&fe, VHU_REQ_GET_CONFIG, 0, &req, 12 + 24, NULL, 0),
          "GET_CONFIG");
    memset(&req, 0xaa, sizeof req);
    CHECK(fe_recv(&fe, &request, &req, &size) && size == 12 + 24
          && req.size == 24, "reply of %"PRIu32" bytes", size);

    struct vhu_net_config cfg;

    memcpy(&cfg, req.data, sizeof cfg);
    CHECK(cfg.status == 1, "status %u", cfg.status);
    CHECK(cfg.max_virtqueue_pairs == 2, "max_virtqueue_pairs %u",
          cfg.max_virtqueue_pairs);
    CHECK(cfg.mtu == 1500, "mtu %u", cfg.mtu);
    CHECK(2 * cfg.max_virtqueue_pairs + 1 <= fe_get_u64(&fe,
                                                        VHU_REQ_GET_QUEUE_NUM),
          "control queue beyond GET_QUEUE_NUM virtqueues");

    /* The port's MTU, as the caller sets it. */
    vhu_device_set_config_mtu(fe.dev, 9000);
    memset(&req, 0, sizeof req);
    req.offset = 10;
    req.size = 2;
    CHECK(!fe_send(&fe, VHU_REQ_GET_CONFIG, 0, &req, 12 + 2, NULL, 0),
          "GET_CONFIG");
    CHECK(fe_recv(&fe, &request, &req, &size) && size == 14
          && (req.data[0] | req.data[1] << 8) == 9000, "mtu not 9000");

    /* Two bytes at offset 8, as a guest's config read of one field. */
    memset(&req, 0, sizeof req);
    req.offset = 8;
    req.size = 2;
    CHECK(!fe_send(&fe, VHU_REQ_GET_CONFIG, 0, &req, 12 + 2, NULL, 0),
          "GET_CONFIG");
    CHECK(fe_recv(&fe, &request, &req, &size) && size == 14
          && req.data[0] == 2 && req.data[1] == 0, "field read");

    /* Beyond the space: an empty reply, the device goes on. */
    memset(&req, 0, sizeof req);
    req.offset = 20;
    req.size = 8;
    CHECK(!fe_send(&fe, VHU_REQ_GET_CONFIG, 0, &req, 12 + 8, NULL, 0),
          "GET_CONFIG");
    CHECK(fe_recv(&fe, &request, &req, &size) && size == 12
          && req.size == 0, "out of range: size %"PRIu32, size);
    CHECK(!vhu_device_is_broken(fe.dev), "broken");

    /* A size that disagrees with the payload breaks the device. */
    req.offset = 0;
    req.size = 100;
    fe_send(&fe, VHU_REQ_GET_CONFIG, 0, &req, 12 + 4, NULL, 0);
    fe_expect_broken(&fe);
    fe_destroy(&fe);
}

/* Cloud Hypervisor negotiates CTRL_VQ, serves the control queue itself and
 * may use every virtqueue GET_QUEUE_NUM allows: the control queue's index
 * is then a data queue, and nothing is limited. */
static void
test_ctrl_index_taken(void)
{
    struct fe_opts opts = {
        .features = F_BASE | NET(CTRL_VQ) | NET(MQ),
        .protocol_features = PF_BASE,
        .max_qp = 5,
    };
    struct fe fe;

    fe_setup(&fe, &opts);
    /* SET_VRING_NUM for every queue first, as Cloud Hypervisor does. */
    for (unsigned int i = 0; i < 6; i++) {
        CHECK(!fe_send_state(&fe, VHU_REQ_SET_VRING_NUM, i, 256), "NUM");
    }
    for (unsigned int i = 0; i < 6; i++) {
        fe_setup_vring(&fe, i, 256);
    }
    fe_grace(&fe);
    CHECK(!vhu_device_is_broken(fe.dev), "broken");
    CHECK(vhu_device_ctrl_kick_fd(fe.dev) < 0, "control queue served");
    CHECK(vhu_device_ctrl_pairs(fe.dev) == 0, "pairs limited");
    for (unsigned int qp = 0; qp < 3; qp++) {
        CHECK(vring_enabled(&fe, 2 * qp) && vring_enabled(&fe, 2 * qp + 1),
              "pair %u off", qp);
        CHECK(tx_one(&fe, qp) == 1, "pair %u does not run", qp);
    }
    fe_destroy(&fe);
}

const struct test ctrl_tests[] = {
    { "get-config", test_get_config },
    { "ctrl-index-taken", test_ctrl_index_taken },
    { "feature-requirements", test_feature_requirements },
    { "ctrl-pairs", test_ctrl_pairs },
    { "ctrl-pairs-event-idx", test_ctrl_pairs_event_idx },
    { "ctrl-refused", test_ctrl_refused },
    { "ctrl-invalid", test_ctrl_invalid },
    { "ctrl-bad-kick-fd", test_ctrl_bad_kick_fd },
    { "ctrl-index", test_ctrl_index },
    { NULL, NULL },
};
