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

#include "vhost-user-txq-map.h"

#include <string.h>

#include "coverage.h"
#include "openvswitch/dynamic-string.h"

COVERAGE_DEFINE(vhost_user_txq_map_drain);

/* Sets of queue pairs.  Written by one thread at a time (release stores);
 * read by any thread one word at a time (acquire loads), so that a reader
 * may see one word old and one new while the set changes: at worst a
 * sender picks a pair that was just disabled, whose frames the engine then
 * refuses (counted as drops), as with a pair disabled just after the
 * read. */

void
vhost_pair_map_init(struct vhost_pair_map *map)
{
    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        atomic_init(&map->words[i], 0);
    }
}

static uint64_t
vhost_pair_map_word(const struct vhost_pair_map *map, size_t i)
{
    uint64_t w;

    atomic_read_explicit(CONST_CAST(atomic_uint64_t *, &map->words[i]), &w,
                         memory_order_acquire);
    return w;
}

static void
vhost_pair_map_load(const struct vhost_pair_map *map,
                    uint64_t words[VHOST_MAP_WORDS])
{
    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        words[i] = vhost_pair_map_word(map, i);
    }
}

void
vhost_pair_map_store(struct vhost_pair_map *map,
                     const uint64_t words[VHOST_MAP_WORDS])
{
    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        atomic_store_explicit(&map->words[i], words[i],
                              memory_order_release);
    }
}

bool
vhost_pair_map_test(const struct vhost_pair_map *map, unsigned int qp)
{
    return (qp < VHU_MAX_QUEUE_PAIRS
            && (vhost_pair_map_word(map, qp / 64) >> (qp % 64)) & 1);
}

/* Adds pair 'qp' to 'map' (if 'on') or removes it, in one atomic step:
 * several threads may change different pairs of one map at once.  Returns
 * whether the pair was in the map before. */
bool
vhost_pair_map_set(struct vhost_pair_map *map, unsigned int qp, bool on)
{
    uint64_t bit = UINT64_C(1) << (qp % 64);
    uint64_t orig;

    ovs_assert(qp < VHU_MAX_QUEUE_PAIRS);
    if (on) {
        atomic_or_explicit(&map->words[qp / 64], bit, &orig,
                           memory_order_acq_rel);
    } else {
        atomic_and_explicit(&map->words[qp / 64], ~bit, &orig,
                            memory_order_acq_rel);
    }
    return orig & bit;
}

bool
vhost_pair_map_is_empty(const struct vhost_pair_map *map)
{
    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        if (vhost_pair_map_word(map, i)) {
            return false;
        }
    }
    return true;
}

unsigned int
vhost_pair_map_count(const struct vhost_pair_map *map)
{
    unsigned int n = 0;

    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        n += count_1bits(vhost_pair_map_word(map, i));
    }
    return n;
}

/* Returns the 'k'th pair (from 0) in 'map', or -1 if it has no more than
 * 'k' pairs.  Passing k modulo the count picks one of them. */
int
vhost_pair_map_nth(const struct vhost_pair_map *map, unsigned int k)
{
    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        uint64_t w = vhost_pair_map_word(map, i);
        unsigned int n = count_1bits(w);

        if (k < n) {
            for (; k > 0; k--) {
                w = zero_rightmost_1bit(w);
            }
            return i * 64 + rightmost_1bit_idx(w);
        }
        k -= n;
    }
    return -1;
}

/* Appends 'map' to 'ds' as one hexadecimal number. */
void
vhost_pair_map_format(struct ds *ds, const struct vhost_pair_map *map)
{
    bool started = false;

    ds_put_cstr(ds, "0x");
    for (size_t i = VHOST_MAP_WORDS; i-- > 0;) {
        uint64_t w = vhost_pair_map_word(map, i);

        if (started) {
            ds_put_format(ds, "%016"PRIx64, w);
        } else if (w || !i) {
            ds_put_format(ds, "%"PRIx64, w);
            started = true;
        }
    }
}

static bool
words_are_empty(const uint64_t words[VHOST_MAP_WORDS])
{
    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        if (words[i]) {
            return false;
        }
    }
    return true;
}

/* Stores in 'exclusive' the pairs of 'enabled' on which exactly one of the
 * transmit queue ids 0 to 'n_txq' - 1 lands.  Id q lands on the (q % n)th
 * of the n enabled pairs, so that the kth pair gets ids k, k + n, k + 2n,
 * ...: one if k < n_txq <= k + n. */
void
vhost_txq_map_exclusive_words(unsigned int n_txq,
                              const uint64_t enabled[VHOST_MAP_WORDS],
                              uint64_t exclusive[VHOST_MAP_WORDS])
{
    unsigned int n = 0, k = 0;

    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        n += count_1bits(enabled[i]);
        exclusive[i] = 0;
    }
    for (size_t i = 0; i < VHOST_MAP_WORDS; i++) {
        for (uint64_t w = enabled[i]; w; w = zero_rightmost_1bit(w), k++) {
            if (k < n_txq && n_txq <= k + n) {
                exclusive[i] |= w & -w;
            }
        }
    }
}

void
vhost_txq_map_init(struct vhost_txq_map *map, unsigned int n_txq)
{
    vhost_pair_map_init(&map->enabled);
    vhost_pair_map_init(&map->exclusive);
    ovs_mutex_init(&map->mutex);
    map->state = VHOST_TXQ_MAP_STABLE;
    map->n_txq = n_txq;
    map->lock_free = false;
}

void
vhost_txq_map_destroy(struct vhost_txq_map *map)
{
    ovs_mutex_destroy(&map->mutex);
}

static void
vhost_txq_map_withdraw(struct vhost_txq_map *map)
    OVS_REQUIRES(map->mutex)
{
    static const uint64_t none[VHOST_MAP_WORDS];

    vhost_pair_map_store(&map->exclusive, none);
}

/* Control thread: brings 'map' towards 'enabled', the pairs the guest has
 * enabled now, with exclusive pairs if 'lock_free'.  Returns true while
 * it waits for a grace period: the caller then starts one, unless one is
 * under way, and calls vhost_txq_map_grace_done() and this function again
 * when it has elapsed. */
bool
vhost_txq_map_sync(struct vhost_txq_map *map,
                   const uint64_t enabled[VHOST_MAP_WORDS], bool lock_free)
{
    uint64_t cur[VHOST_MAP_WORDS];
    bool waiting = false;

    ovs_mutex_lock(&map->mutex);
    if (lock_free != map->lock_free) {
        map->lock_free = lock_free;
        if (!lock_free) {
            vhost_txq_map_withdraw(map);
        }
        if (map->state == VHOST_TXQ_MAP_STABLE) {
            map->state = VHOST_TXQ_MAP_STALE;
        }
    }

    switch (map->state) {
    case VHOST_TXQ_MAP_DRAINING:
    case VHOST_TXQ_MAP_SETTLING:
        waiting = true;
        break;

    case VHOST_TXQ_MAP_STABLE:
    case VHOST_TXQ_MAP_STALE:
        vhost_pair_map_load(&map->enabled, cur);
        if (memcmp(cur, enabled, sizeof cur)) {
            if (!vhost_pair_map_is_empty(&map->exclusive)) {
                /* Step 1. */
                COVERAGE_INC(vhost_user_txq_map_drain);
                vhost_txq_map_withdraw(map);
                map->state = VHOST_TXQ_MAP_DRAINING;
                waiting = true;
                break;
            }
            /* Step 2. */
            vhost_pair_map_store(&map->enabled, enabled);
            map->state = VHOST_TXQ_MAP_STALE;
        }
        if (map->state == VHOST_TXQ_MAP_STALE) {
            uint64_t exclusive[VHOST_MAP_WORDS];

            vhost_txq_map_exclusive_words(map->n_txq, enabled, exclusive);
            if (map->lock_free && !words_are_empty(exclusive)) {
                map->state = VHOST_TXQ_MAP_SETTLING;
                waiting = true;
            } else {
                map->state = VHOST_TXQ_MAP_STABLE;
            }
        }
        break;
    }
    ovs_mutex_unlock(&map->mutex);
    return waiting;
}

/* Control thread: true if vhost_txq_map_sync() with 'lock_free' has
 * nothing to do, unless the enabled pairs or the number of txqs changed
 * since it last ran. */
bool
vhost_txq_map_settled(struct vhost_txq_map *map, bool lock_free)
{
    bool settled;

    ovs_mutex_lock(&map->mutex);
    settled = (map->state == VHOST_TXQ_MAP_STABLE
               && map->lock_free == lock_free);
    ovs_mutex_unlock(&map->mutex);
    return settled;
}

/* Control thread: a grace period asked for by vhost_txq_map_sync() has
 * elapsed. */
void
vhost_txq_map_grace_done(struct vhost_txq_map *map)
{
    ovs_mutex_lock(&map->mutex);
    if (map->state == VHOST_TXQ_MAP_DRAINING) {
        /* vhost_txq_map_sync() takes step 2. */
        map->state = VHOST_TXQ_MAP_STALE;
    } else if (map->state == VHOST_TXQ_MAP_SETTLING) {
        /* Step 3. */
        uint64_t enabled[VHOST_MAP_WORDS], exclusive[VHOST_MAP_WORDS];

        vhost_pair_map_load(&map->enabled, enabled);
        vhost_txq_map_exclusive_words(map->n_txq, enabled, exclusive);
        if (map->lock_free) {
            vhost_pair_map_store(&map->exclusive, exclusive);
        }
        map->state = VHOST_TXQ_MAP_STABLE;
    }
    ovs_mutex_unlock(&map->mutex);
}

/* Netdev reconfiguration, while no thread sends to the port: the port now
 * has 'n_txq' transmit queues. */
void
vhost_txq_map_set_n_txq(struct vhost_txq_map *map, unsigned int n_txq)
{
    ovs_mutex_lock(&map->mutex);
    if (n_txq != map->n_txq) {
        map->n_txq = n_txq;
        vhost_txq_map_withdraw(map);
        if (map->state != VHOST_TXQ_MAP_DRAINING) {
            map->state = VHOST_TXQ_MAP_STALE;
        }
    }
    ovs_mutex_unlock(&map->mutex);
}
