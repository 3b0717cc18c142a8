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

#ifndef NETDEV_VHOST_USER_H
#define NETDEV_VHOST_USER_H 1

#include <stdbool.h>

struct smap;

/* Registers the vhost-user netdev classes ("vhostuser", "vhostuserclient"
 * and their OVS-DPDK aliases "dpdkvhostuser", "dpdkvhostuserclient"). */
void netdev_vhost_user_register(void);

/* Applies the Open_vSwitch table's other_config (vhost-sock-dir, ...).
 * Called by the main thread on every bridge run. */
void netdev_vhost_user_set_global_config(const struct smap *other_config);

/* Tells the port that its engine device changed state (connection, queues,
 * features, status).  Called by the control thread. */
struct netdev;
void netdev_vhost_user_state_changed(struct netdev *);

/* Called by the control thread on every run of the port's connection:
 * follows the guest's receive pairs with the transmit map.  Returns true
 * while it waits for an RCU grace period; the caller then starts one
 * unless one is under way, and passes 'grace_elapsed' true on the first
 * run after it elapsed. */
bool netdev_vhost_user_tx_run(struct netdev *, bool grace_elapsed);

/* Announces a change of the port's carrier (link_state) since the last
 * call, if there was one.  Called by the control thread on every wake-up,
 * so that no change goes unseen even if a change sequence number update
 * races with another thread's. */
void netdev_vhost_user_check_carrier(struct netdev *);

/* Control thread, on every run of the port's connection: waits for kicks
 * on the port's parked rings, and unparks the rings that were kicked (all
 * of them if 'all': the device changed).  park_run() returns true if it
 * unparked any (vhost-user-park.h). */
void netdev_vhost_user_park_wait(const struct netdev *);
bool netdev_vhost_user_park_run(struct netdev *, bool all);

/* True if 'netdev' is a vhost-user port (of any of the four types). */
bool netdev_is_vhost_user(const struct netdev *);

/* Returns what is wrong with the port's configuration (a bad option it runs
 * without), as a new string for the Interface's error column, or NULL if
 * nothing is or 'netdev' is not a vhost-user port. */
char *netdev_vhost_user_config_error(const struct netdev *);

/* Keeps a function out of line, so that the fast path that calls it only
 * now and then does not carry its set-up (saved registers, a stack
 * frame). */
#ifdef __GNUC__
#define VHOST_NOINLINE __attribute__((__noinline__))
#else
#define VHOST_NOINLINE
#endif

#endif /* netdev-vhost-user.h */
