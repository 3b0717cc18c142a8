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

#ifndef VHOST_USER_CTL_H
#define VHOST_USER_CTL_H 1

/* The vhost-user control plane: one thread, "vhost_ctl", that listens on or
 * connects to every port's socket, reads the frontends' messages, feeds them
 * to each port's engine device and sends the replies.  It never runs on a
 * PMD thread and never blocks the main thread.
 *
 * When the engine retires something that PMD threads may still be using
 * (a ring stopped by GET_VRING_BASE, a replaced memory table, a
 * disconnection), the control thread waits for an RCU grace period, without
 * blocking, before telling the engine (vhu_device_grace_done()): PMD threads
 * quiesce between bursts, so after the grace period none of them can still
 * touch what was retired. */

#include <stdbool.h>
#include <stdint.h>

struct netdev;
struct vhu_device;

struct vhost_user_conn;

/* Creates the connection of 'netdev', whose engine device is 'vdev', and
 * hands it to the control thread.  A server ('client' false) listens on
 * 'path' right away (a stale socket file there is replaced); a client
 * connects to 'path' and keeps retrying while the server is absent.
 * Returns 0 and stores the connection in '*connp', or returns a positive
 * errno value and stores an explanation in '*errp' (the caller frees it).
 *
 * 'netdev' and 'vdev' must outlive the connection. */
int vhost_user_conn_create(struct netdev *netdev, struct vhu_device *vdev,
                           const char *path, bool client,
                           struct vhost_user_conn **connp, char **errp);

/* Takes 'conn' away from the control thread, closes its sockets, removes a
 * server's socket file and disconnects the engine device.  The caller must
 * make sure no PMD thread uses the device before destroying it. */
void vhost_user_conn_destroy(struct vhost_user_conn *);

/* Any thread: makes the control thread run its connections once more. */
void vhost_ctl_wake(void);

/* State, for status and statistics.  Thread-safe. */
bool vhost_user_conn_is_connected(const struct vhost_user_conn *);
uint64_t vhost_user_conn_n_connects(const struct vhost_user_conn *);

#endif /* vhost-user-ctl.h */
