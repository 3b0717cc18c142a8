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

#include "vhost-user-qos.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "netdev-provider.h"
#include "openvswitch/vlog.h"
#include "smap.h"
#include "sset.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(vhost_user_qos);

#define EGRESS_POLICER "egress-policer"

void
vhost_qos_init(struct vhost_qos *qos)
{
    vhost_policer_init(&qos->policer);
    atomic_init(&qos->drops, 0);
    qos->type = "";
    qos->cir = qos->cbs = 0;
    qos->error = NULL;
}

void
vhost_qos_destroy(struct vhost_qos *qos)
{
    vhost_policer_destroy(&qos->policer);
    free(qos->error);
}

/* Turns QoS off, recording 'error' (NULL if none) as the reason. */
static void
vhost_qos_clear(struct vhost_qos *qos, char *error)
{
    if (*qos->type) {
        vhost_policer_set_bytes(&qos->policer, 0, 0);
        qos->type = "";
        qos->cir = qos->cbs = 0;
    }
    free(qos->error);
    qos->error = error;
}

/* Configures QoS 'type' ("" or NULL for none) with 'details'.  The bridge
 * calls this on every reconfiguration: an unchanged configuration keeps
 * its meter (and its tokens), and an error is logged only when it
 * changes. */
int
vhost_qos_set(struct vhost_qos *qos, const char *port, const char *type,
              const struct smap *details)
{
    char *error;
    int retval;

    if (!type || !*type) {
        vhost_qos_clear(qos, NULL);
        return 0;
    }

    if (!strcmp(type, EGRESS_POLICER)) {
        uint64_t cir = smap_get_ullong(details, "cir", 0);
        uint64_t cbs = smap_get_ullong(details, "cbs", 0);

        if (cir && cbs) {
            if (strcmp(qos->type, EGRESS_POLICER)
                || cir != qos->cir || cbs != qos->cbs) {
                vhost_policer_set_bytes(&qos->policer, cir, cbs);
                qos->type = EGRESS_POLICER;
                qos->cir = cir;
                qos->cbs = cbs;
                VLOG_INFO("%s: QoS %s, cir %"PRIu64" bytes/s, cbs %"PRIu64
                          " bytes", port, EGRESS_POLICER, cir, cbs);
            }
            free(qos->error);
            qos->error = NULL;
            return 0;
        }
        /* As OVS-DPDK, whose meter refuses a zero rate or bucket. */
        error = xasprintf("QoS %s needs other_config:cir and "
                          "other_config:cbs above 0 (got %"PRIu64" and %"
                          PRIu64")", EGRESS_POLICER, cir, cbs);
        retval = EINVAL;
    } else {
        error = xasprintf("QoS type %s is not supported (supported: %s)",
                          type, EGRESS_POLICER);
        retval = EOPNOTSUPP;
    }

    if (!qos->error || strcmp(qos->error, error)) {
        VLOG_WARN("%s: %s; the port has no QoS", port, error);
    }
    vhost_qos_clear(qos, error);
    return retval;
}

int
vhost_qos_get(const struct vhost_qos *qos, const char **typep,
              struct smap *details)
{
    *typep = qos->type;
    if (*qos->type) {
        smap_add_format(details, "cir", "%"PRIu64, qos->cir);
        smap_add_format(details, "cbs", "%"PRIu64, qos->cbs);
    }
    return 0;
}

void
vhost_qos_get_types(struct sset *types)
{
    sset_add(types, EGRESS_POLICER);
}

int
vhost_qos_get_capabilities(const char *type,
                           struct netdev_qos_capabilities *caps)
{
    if (strcmp(type, EGRESS_POLICER)) {
        return EOPNOTSUPP;
    }
    caps->n_queues = 0;
    return 0;
}

const char *
vhost_qos_error(const struct vhost_qos *qos)
{
    return qos->error;
}

uint64_t
vhost_qos_drops(const struct vhost_qos *qos)
{
    uint64_t n;

    atomic_read_relaxed(&((struct vhost_qos *) qos)->drops, &n);
    return n;
}
