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

#include "netdev-vhost-user.h"
#include "ofproto/ofproto-provider.h"
#include "openvswitch/vlog.h"
#include "smap.h"

VLOG_DEFINE_THIS_MODULE(vswitchd_hooks);

void __real_dpdk_init(const struct smap *ovs_other_config);
void __wrap_dpdk_init(const struct smap *ovs_other_config);
int __real_ofproto_vport_get_status(const struct ofproto *, ofp_port_t,
                                    char **errp);
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
