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

/* Hooks that turn Open vSwitch's vswitchd objects into our ovs-vswitchd. */

#include <config.h>

#include <errno.h>
#include <inttypes.h>

#include "dpif.h"
#include "netdev-vhost-user.h"
#include "ofproto/ofproto-provider.h"
#include "vhost-user-rx-mode.h"
#include "openvswitch/vlog.h"
#include "smap.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(vswitchd_hooks);

void __real_dpdk_init(const struct smap *ovs_other_config);
void __wrap_dpdk_init(const struct smap *ovs_other_config);
int __real_ofproto_vport_get_status(const struct ofproto *, ofp_port_t,
                                    char **errp);
bool __real_dpif_run(struct dpif *);
bool __wrap_dpif_run(struct dpif *);
int __real_dpif_port_add(struct dpif *, struct netdev *, odp_port_t *);
int __wrap_dpif_port_add(struct dpif *, struct netdev *, odp_port_t *);
int __real_dpif_port_del(struct dpif *, odp_port_t, bool);
int __wrap_dpif_port_del(struct dpif *, odp_port_t, bool);
void __real_dpif_close(struct dpif *);
void __wrap_dpif_close(struct dpif *);
int __wrap_ofproto_vport_get_status(const struct ofproto *, ofp_port_t,
                                    char **errp);

/* Registers our netdev classes before main() runs, so that they exist
 * before the bridge reads its first configuration. */
static void __attribute__((constructor))
register_vhost_user_classes(void)
{
    netdev_vhost_user_register();
}

/* bridge_run() calls dpdk_init() with the Open_vSwitch table's
 * other_config each time it runs; the link maps that call here (-Wl,--wrap).
 * OVS's own dpdk_init() (the stub of a build without DPDK) still runs. */
void
__wrap_dpdk_init(const struct smap *ovs_other_config)
{
    __real_dpdk_init(ovs_other_config);
    netdev_vhost_user_set_global_config(ovs_other_config);
}

/* bridge.c fills each Interface's error column from
 * ofproto_vport_get_status() on every status refresh (OVS uses it for patch
 * ports without a peer); the link maps that call here too, so that a
 * vhost-user port running without a bad option says so there. */
int
__wrap_ofproto_vport_get_status(const struct ofproto *ofproto,
                                ofp_port_t ofp_port, char **errp)
{
    int error = __real_ofproto_vport_get_status(ofproto, ofp_port, errp);

    if (!error || error == EOPNOTSUPP) {
        struct ofport *ofport = ofproto_get_port(ofproto, ofp_port);
        char *msg = ofport ? netdev_vhost_user_config_error(ofport->netdev)
                           : NULL;

        if (msg) {
            *errp = msg;
            error = EINVAL;
        }
    }
    return error;
}

/* dpif-netdev reloads PMD threads only from these calls (on the main
 * thread): reconfiguring the datapath when ports come and go or its
 * configuration changed (dpif_run(), dpif_port_add(), dpif_port_del()), and
 * stopping them when the datapath goes (dpif_close()).  A PMD thread reads
 * the reload request between iterations, so the threads that sleep on
 * vhost-user kicks are kept awake during these calls (vhost-user-rx-mode.h),
 * and whether ports of other PMD classes exist is checked before they may
 * sleep again. */
bool
__wrap_dpif_run(struct dpif *dpif)
{
    bool retval;

    vhost_rx_hold_begin();
    retval = __real_dpif_run(dpif);
    vhost_rx_hold_end();
    return retval;
}

int
__wrap_dpif_port_add(struct dpif *dpif, struct netdev *netdev,
                     odp_port_t *port_nop)
{
    int error;

    vhost_rx_hold_begin();
    error = __real_dpif_port_add(dpif, netdev, port_nop);
    if (!error) {
        char *key = xasprintf("%s/%"PRIu32, dpif_name(dpif),
                              odp_to_u32(*port_nop));

        vhost_rx_port_added(key, netdev);
        free(key);
    }
    vhost_rx_hold_end();
    return error;
}

int
__wrap_dpif_port_del(struct dpif *dpif, odp_port_t port_no, bool local_del)
{
    int error;

    vhost_rx_hold_begin();
    error = __real_dpif_port_del(dpif, port_no, local_del);
    if (!error) {
        char *key = xasprintf("%s/%"PRIu32, dpif_name(dpif),
                              odp_to_u32(port_no));

        vhost_rx_port_deleted(key);
        free(key);
    }
    vhost_rx_hold_end();
    return error;
}

void
__wrap_dpif_close(struct dpif *dpif)
{
    vhost_rx_hold_begin();
    __real_dpif_close(dpif);
    vhost_rx_hold_end();
}
