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

#ifndef VHOST_USER_TXQ_MAP_H
#define VHOST_USER_TXQ_MAP_H 1

/* Which of the guest's queue pairs a transmit queue of the port sends to,
 * and whether its sender may skip the pair's lock.
 *
 * dpif-netdev gives each thread that sends to the port a transmit queue id
 * ('qid', below the port's number of txqs); unless it says the queue is
 * shared ('concurrent_txq'), no other thread uses the same id at the same
 * time.  Ids are spread over the pairs the guest enabled, qid modulo their
 * number, so that several ids may land on one pair: their senders take the
 * pair's lock.  A pair on which only one id can land is "exclusive": its
 * one sender needs no lock.
 *
 * The map of enabled pairs changes when the guest enables or disables a
 * pair; the set of ids when dpif-netdev changes the number of txqs.
 * Either can make two ids share a pair that had one.  So that no sender
 * ever goes without the lock on a pair that another sender reaches, the
 * control thread changes the map in steps separated by RCU grace periods
 * (PMD threads quiesce between bursts, never inside one):
 *
 *   1. It withdraws every exclusive pair.  Senders lock from then on.
 *   2. After a grace period, no sender that read the old exclusive set is
 *      still running: it stores the new map of enabled pairs.
 *   3. After another grace period, every sender reads the new map: it
 *      publishes the pairs that are exclusive under it.
 *
 * Step 1 is skipped when no pair is exclusive, step 3 when none would be.
 * Withdrawing exclusive pairs without changing the map is safe at any time
 * (their senders are alone on them either way); so is the change of the
 * number of txqs, made while dpif-netdev's threads do not send to the port
 * (netdev reconfiguration), which withdraws them too.
 *
 * Senders read the map with acquire loads, which pair with the control
 * thread's release stores: together with the grace period's annotation
 * (vhost-user-tsan.h) ThreadSanitizer sees the order that RCU provides. */

#include <stdbool.h>
#include <stdint.h>

#include "ovs-atomic.h"
#include "ovs-thread.h"
#include "util.h"
#include "vhost-engine.h"

struct ds;

/* A set of queue pairs, bit N for pair N. */
#define VHOST_MAP_WORDS DIV_ROUND_UP(VHU_MAX_QUEUE_PAIRS, 64)
struct vhost_pair_map {
    atomic_uint64_t words[VHOST_MAP_WORDS];
};

void vhost_pair_map_init(struct vhost_pair_map *);
void vhost_pair_map_store(struct vhost_pair_map *,
                          const uint64_t words[VHOST_MAP_WORDS]);
bool vhost_pair_map_test(const struct vhost_pair_map *, unsigned int qp);
bool vhost_pair_map_set(struct vhost_pair_map *, unsigned int qp, bool on);
bool vhost_pair_map_is_empty(const struct vhost_pair_map *);
unsigned int vhost_pair_map_count(const struct vhost_pair_map *);
int vhost_pair_map_nth(const struct vhost_pair_map *, unsigned int k);
void vhost_pair_map_format(struct ds *, const struct vhost_pair_map *);

/* Where the control thread is in changing the map (see above). */
enum vhost_txq_map_state {
    VHOST_TXQ_MAP_STABLE,       /* 'exclusive' fits 'enabled'. */
    VHOST_TXQ_MAP_STALE,        /* 'exclusive' is empty, to be computed. */
    VHOST_TXQ_MAP_DRAINING,     /* Step 1 done, waiting for step 2. */
    VHOST_TXQ_MAP_SETTLING,     /* Step 2 done, waiting for step 3. */
};

struct vhost_txq_map {
    /* Read by senders. */
    struct vhost_pair_map enabled;      /* The guest receives on pair N. */
    struct vhost_pair_map exclusive;    /* One txq id lands on pair N. */

    /* The control side: the control thread and netdev reconfiguration. */
    struct ovs_mutex mutex;
    enum vhost_txq_map_state state OVS_GUARDED;
    unsigned int n_txq OVS_GUARDED;     /* The port's number of txqs. */
    bool lock_free OVS_GUARDED;         /* Exclusive pairs allowed. */
};

void vhost_txq_map_init(struct vhost_txq_map *, unsigned int n_txq);
void vhost_txq_map_destroy(struct vhost_txq_map *);

/* Returns the pair that transmit queue 'qid' sends to, or -1 if the guest
 * enabled none, and stores in '*exclusive' whether the sender may skip the
 * pair's lock ('concurrent' is dpif-netdev's 'concurrent_txq'). */
static inline int
vhost_txq_map_pick(const struct vhost_txq_map *map, int qid,
                   bool concurrent, bool *exclusive)
{
    unsigned int n = vhost_pair_map_count(&map->enabled);
    int qp = n ? vhost_pair_map_nth(&map->enabled, qid % n) : -1;

    *exclusive = (!concurrent && qp >= 0
                  && vhost_pair_map_test(&map->exclusive, qp));
    return qp;
}

bool vhost_txq_map_sync(struct vhost_txq_map *,
                        const uint64_t enabled[VHOST_MAP_WORDS],
                        bool lock_free);
bool vhost_txq_map_settled(struct vhost_txq_map *, bool lock_free);
void vhost_txq_map_grace_done(struct vhost_txq_map *);
void vhost_txq_map_set_n_txq(struct vhost_txq_map *, unsigned int n_txq);

void vhost_txq_map_exclusive_words(unsigned int n_txq,
                                   const uint64_t enabled[VHOST_MAP_WORDS],
                                   uint64_t exclusive[VHOST_MAP_WORDS]);

#endif /* vhost-user-txq-map.h */
