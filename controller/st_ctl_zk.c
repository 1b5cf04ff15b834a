/* The controller's ZooKeeper reads and writes: every controller write is a multi that first
 * checks /controller_epoch's version (Kafka's KAFKA-6082 fencing), batched up to 500 ops per
 * round trip; loads of brokers (with czxids), topics, configs and partition states. Node thread
 * only. A hand-edited znode that fails to decode is logged with its path and skipped. */
#include "st_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_logger.h"

#define ZK_CHUNK 499   /* ops per multi besides the epoch check */

void ctl_zops_free(ctl_zop_t *ops, size_t n_ops)
{
    for (size_t i = 0; i < n_ops; i++) {
        free(ops[i].data);
        ops[i].data = NULL;
    }
}

int ctl_zk_fenced(st_node_t *n, ctl_zop_t *ops, size_t n_ops)
{
    zoo_op_t *zops = calloc(ZK_CHUNK + 1, sizeof(*zops));
    zoo_op_result_t *res = calloc(ZK_CHUNK + 1, sizeof(*res));
    char (*created)[8] = calloc(ZK_CHUNK + 1, 8);
    if (!zops || !res || !created) {
        free(zops); free(res); free(created);
        return -ENOMEM;
    }
    int ret = 0;
    size_t i = 0;
    while (i < n_ops && ret == 0) {
        size_t k = 0;
        zoo_check_op_init(&zops[k++], ST_ZPATH_CONTROLLER_EPOCH, n->epoch_zkversion);
        size_t first = i;
        for (; i < n_ops && k <= ZK_CHUNK; i++) {
            ctl_zop_t *op = &ops[i];
            if (op->done)
                continue;
            int dlen = op->data ? (int)strlen(op->data) : -1;
            switch (op->kind) {
            case ZOP_CREATE:
                zoo_create_op_init(&zops[k], op->path, op->data, dlen, &ZOO_OPEN_ACL_UNSAFE, 0,
                                   created[k], sizeof(created[k]));
                break;
            case ZOP_SET:
                zoo_set_op_init(&zops[k], op->path, op->data, dlen, op->version, &op->stat);
                break;
            case ZOP_DELETE:
                zoo_delete_op_init(&zops[k], op->path, op->version);
                break;
            }
            k++;
        }
        if (k == 1)
            break;
        int failed = -1;
        int r = st_zk_multi(n->zk, (int)k, zops, res, &failed);
        if (r == 0) {
            for (size_t j = first; j < i; j++)
                ops[j].done = true;
            continue;
        }
        if (failed == 0 && (r == -ESTALE || r == -ENOENT)) {
            ST_WARN("Controller epoch zkVersion check fails (expected zkVersion %d): another "
                    "controller was elected; resigning", n->epoch_zkversion);
            n->resign_pending = true;
            ret = -ESTALE;
            break;
        }
        if (failed > 0) {
            /* map the multi index back to the op (skipping done ones, as when building) */
            size_t idx = 1;
            for (size_t j = first; j < i; j++) {
                if (ops[j].done)
                    continue;
                if ((int)idx == failed) {
                    ops[j].err = r;
                    break;
                }
                idx++;
            }
        } else if (r == -ESHUTDOWN) {
            n->resign_pending = true;
        }
        ret = r;
    }
    free(zops);
    free(res);
    free(created);
    return ret;
}

int ctl_zk_read_state(st_node_t *n, ctl_topic_t *t, int32_t p)
{
    char path[320];
    st_zpath_partition_state(path, sizeof(path), t->name, p);
    char *data = NULL;
    int len = 0;
    struct Stat st;
    ctl_part_t *part = &t->parts[p];
    int r = st_zk_get(n->zk, path, false, &data, &len, &st);
    if (r == -ENOENT) {
        st_lisr_free(&part->lisr);
        part->has_lisr = false;
        return 0;
    }
    if (r < 0)
        return r;
    st_lisr_t l;
    char err[512];
    r = st_znode_lisr_decode(path, data, data ? (size_t)len : 0, &l, err, sizeof(err));
    free(data);
    if (r < 0) {
        /* A garbage state znode: treat the partition as having no leader; the next election
         * overwrites it (with its current version). */
        ST_ERROR("Ignoring partition state: %s", err);
        st_lisr_free(&part->lisr);
        memset(&part->lisr, 0, sizeof(part->lisr));
        part->lisr.leader = ST_LEADER_NONE;
        part->lisr.zk_version = st.version;
        part->has_lisr = true;
        return 0;
    }
    l.zk_version = st.version;
    st_lisr_free(&part->lisr);
    part->lisr = l;
    part->has_lisr = true;
    return 0;
}

void ctl_brokers_free(ctl_broker_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        st_broker_reg_free(&b[i].reg);
    free(b);
}

int ctl_zk_load_brokers(st_node_t *n, bool watch, ctl_broker_t **ret, size_t *ret_n)
{
    char **names = NULL;
    size_t cnt = 0;
    int r = st_zk_children(n->zk, ST_ZPATH_BROKERS_IDS, watch, &names, &cnt);
    if (r < 0)
        return r;
    ctl_broker_t *b = calloc(cnt ? cnt : 1, sizeof(*b));
    if (!b) {
        st_zk_free_strings(names, cnt);
        return -ENOMEM;
    }
    size_t nb = 0;
    for (size_t i = 0; i < cnt; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", ST_ZPATH_BROKERS_IDS, names[i]);
        char *data = NULL;
        int len = 0;
        struct Stat st;
        r = st_zk_get(n->zk, path, false, &data, &len, &st);
        if (r == -ENOENT)
            continue;
        if (r < 0) {
            free(data);
            ctl_brokers_free(b, nb);
            st_zk_free_strings(names, cnt);
            return r;
        }
        char err[512];
        if (st_znode_broker_decode(path, data, data ? (size_t)len : 0, &b[nb].reg, err,
                                   sizeof(err)) < 0) {
            ST_ERROR("Ignoring broker registration: %s", err);
            free(data);
            continue;
        }
        free(data);
        b[nb].epoch = st.czxid;
        nb++;
    }
    st_zk_free_strings(names, cnt);
    *ret = b;
    *ret_n = nb;
    return 0;
}

void ctl_topic_free(ctl_topic_t *t)
{
    if (!t)
        return;
    for (int32_t p = 0; p < t->n_parts; p++) {
        st_int_list_free(&t->parts[p].replicas);
        st_lisr_free(&t->parts[p].lisr);
        free(t->parts[p].rstate);
    }
    free(t->parts);
    st_topic_overrides_free(&t->cfg);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

int ctl_zk_load_topic(st_node_t *n, const char *name, bool with_states, ctl_topic_t *ret)
{
    char path[320];
    if (st_zpath_topic(path, sizeof(path), name) < 0)
        return -EINVAL;
    char *data = NULL;
    int len = 0;
    int r = st_zk_get(n->zk, path, true, &data, &len, NULL);
    if (r < 0)
        return r;
    st_topic_assignment_t ta;
    char err[512];
    r = st_znode_topic_decode(path, data, data ? (size_t)len : 0, &ta, err, sizeof(err));
    free(data);
    if (r < 0) {
        ST_ERROR("Ignoring topic: %s", err);
        return r;
    }
    ctl_topic_t t = { 0 };
    t.name = strdup(name);
    t.parts = calloc((size_t)ta.n_partitions, sizeof(*t.parts));
    if (!t.name || !t.parts) {
        free(t.name);
        free(t.parts);
        st_topic_assignment_free(&ta);
        return -ENOMEM;
    }
    t.n_parts = ta.n_partitions;
    for (int32_t p = 0; p < t.n_parts; p++) {
        t.parts[p].replicas = ta.replicas[p];    /* steal */
        ta.replicas[p].v = NULL;
        ta.replicas[p].n = 0;
        t.parts[p].rstate = calloc(t.parts[p].replicas.n, 1);
        t.parts[p].lisr.leader = ST_LEADER_NONE;
    }
    st_topic_assignment_free(&ta);
    if (st_zpath_topic_config(path, sizeof(path), name) == 0 &&
        st_zk_get(n->zk, path, false, &data, &len, NULL) == 0) {
        if (st_znode_topic_config_decode(path, data, data ? (size_t)len : 0, &t.cfg, err,
                                         sizeof(err)) < 0)
            ST_ERROR("Ignoring topic config: %s", err);
        free(data);
    }
    for (int32_t p = 0; with_states && p < t.n_parts; p++) {
        r = ctl_zk_read_state(n, &t, p);
        if (r < 0) {
            ctl_topic_free(&t);
            return r;
        }
    }
    *ret = t;
    return 0;
}
