/* The controller's ZooKeeper reads and writes: every controller write is a multi that first
 * checks /controller_epoch's version (Kafka's KAFKA-6082 fencing), up to 500 ops per multi and
 * all multis of a call in flight together; loads of brokers (with czxids), topics, configs and
 * partition states are pipelined too (KAFKA-5501: the async API, a countdown on libzookeeper_mt's
 * completion thread, the node thread waiting on a condition), so a failover over N partitions
 * costs a handful of round trips, not N. Each event still re-reads what it acts on (KAFKA-5642).
 * Node thread only. A hand-edited znode that fails to decode is logged with its path and
 * skipped. */
#include "st_ctl.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "st_logger.h"

#define ZK_CHUNK 499   /* ops per multi besides the epoch check */

void ctl_zops_free(ctl_zop_t *ops, size_t n_ops)
{
    for (size_t i = 0; i < n_ops; i++) {
        free(ops[i].data);
        ops[i].data = NULL;
    }
}

typedef char ctl_path_t[320];

int ctl_zk_fenced(st_node_t *n, ctl_zop_t *ops, size_t n_ops)
{
    if (n->resign_pending)
        return CTL_DEPOSED;   /* deposed earlier in this event: not one more write */
    size_t todo = 0;
    for (size_t i = 0; i < n_ops; i++)
        todo += !ops[i].done;
    if (!todo)
        return 0;
    size_t n_chunks = (todo + ZK_CHUNK - 1) / ZK_CHUNK, n_zops = todo + n_chunks;
    zoo_op_t *zops = calloc(n_zops, sizeof(*zops));
    zoo_op_result_t *res = calloc(n_zops, sizeof(*res));
    size_t *opi = calloc(n_zops, sizeof(*opi));          /* zop -> op (SIZE_MAX: the check) */
    char (*created)[8] = calloc(n_zops, 8);
    st_zk_multi_t *m = calloc(n_chunks, sizeof(*m));
    if (!zops || !res || !opi || !created || !m) {
        free(zops); free(res); free(opi); free(created); free(m);
        return -ENOMEM;
    }
    size_t k = 0, i = 0;
    for (size_t c = 0; c < n_chunks; c++) {
        size_t first = k;
        opi[k] = SIZE_MAX;
        zoo_check_op_init(&zops[k++], ST_ZPATH_CONTROLLER_EPOCH, n->epoch_zkversion);
        for (; i < n_ops && k - first <= ZK_CHUNK; i++) {
            ctl_zop_t *op = &ops[i];
            if (op->done)
                continue;
            op->err = 0;
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
            opi[k++] = i;
        }
        m[c] = (st_zk_multi_t){ .ops = &zops[first], .results = &res[first],
                                .n_ops = (int)(k - first) };
    }
    assert(k == n_zops);
    st_zk_multi_many(n->zk, m, n_chunks);
    int ret = 0;
    size_t base = 0;
    for (size_t c = 0; c < n_chunks; base += (size_t)m[c].n_ops, c++) {
        if (m[c].rc == 0) {
            for (int j = 1; j < m[c].n_ops; j++)
                ops[opi[base + (size_t)j]].done = true;
            continue;
        }
        if ((m[c].failed == 0 && (m[c].rc == -ESTALE || m[c].rc == -ENOENT)) ||
            m[c].rc == -ESHUTDOWN) {
            if (!n->resign_pending) {
                if (m[c].rc == -ESHUTDOWN)
                    ST_WARN("Controller write failed: the ZooKeeper session is gone; resigning");
                else
                    ST_WARN("Controller epoch zkVersion check fails (expected zkVersion %d): "
                            "another controller was elected; resigning", n->epoch_zkversion);
                ctl_deposed(n);
            }
            ret = CTL_DEPOSED;
            continue;
        }
        if (m[c].failed > 0)
            ops[opi[base + (size_t)m[c].failed]].err = m[c].rc;
        if (ret == 0)
            ret = m[c].rc;
    }
    free(zops); free(res); free(opi); free(created); free(m);
    return ret;
}

/* Applies one read of a state znode to part. */
static void apply_state(ctl_part_t *part, const char *path, const st_zk_read_t *rd)
{
    if (rd->rc == -ENOENT) {
        st_lisr_free(&part->lisr);
        part->lisr.leader = ST_LEADER_NONE;
        part->has_lisr = false;
        return;
    }
    st_lisr_t l;
    char err[512];
    if (st_znode_lisr_decode(path, rd->data, rd->data ? (size_t)rd->len : 0, &l, err,
                             sizeof(err)) < 0) {
        /* A garbage state znode: treat the partition as having no leader; the next election
         * overwrites it (with its current version). */
        ST_ERROR("Ignoring partition state: %s", err);
        st_lisr_free(&part->lisr);
        memset(&part->lisr, 0, sizeof(part->lisr));
        part->lisr.leader = ST_LEADER_NONE;
        part->lisr.zk_version = rd->stat.version;
        part->has_lisr = true;
        return;
    }
    l.zk_version = rd->stat.version;
    st_lisr_free(&part->lisr);
    part->lisr = l;
    part->has_lisr = true;
}

int ctl_zk_read_states(st_node_t *n, ctl_tpref_t *refs, size_t count)
{
    if (!count)
        return 0;
    ctl_path_t *paths = malloc(count * sizeof(*paths));
    st_zk_read_t *reads = calloc(count, sizeof(*reads));
    if (!paths || !reads) {
        free(paths);
        free(reads);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        st_zpath_partition_state(paths[i], sizeof(paths[i]), refs[i].t->name, refs[i].p);
        reads[i].path = paths[i];
    }
    st_zk_get_many(n->zk, reads, count);
    int ret = 0;
    for (size_t i = 0; i < count; i++) {
        if (reads[i].rc == 0 || reads[i].rc == -ENOENT)
            apply_state(&refs[i].t->parts[refs[i].p], paths[i], &reads[i]);
        else if (ret == 0)
            ret = reads[i].rc;
    }
    st_zk_reads_free(reads, count);
    free(reads);
    free(paths);
    return ret;
}

int ctl_zk_read_state(st_node_t *n, ctl_topic_t *t, int32_t p)
{
    ctl_tpref_t ref = { t, p, 0 };
    return ctl_zk_read_states(n, &ref, 1);
}

void ctl_brokers_free(ctl_broker_t *b, size_t n)
{
    for (size_t i = 0; b && i < n; i++)
        st_broker_reg_free(&b[i].reg);
    free(b);
}

/* What a Strand broker accepts of a live broker in UpdateMetadata (broker/api/
 * handle_update_metadata.c and the metadata cache, where one unacceptable broker refuses the
 * whole request): endpoints speaking PLAINTEXT or SSL, listener names under 32 bytes, hosts under
 * 256, each listener once, a rack under 64 bytes. A registration written by hand or by a broker
 * of another kind is trimmed to that, each dropped part logged with its path; with no endpoint
 * left the broker is ignored. */
static bool usable_registration(const char *path, st_broker_reg_t *reg)
{
    size_t k = 0;
    for (size_t i = 0; i < reg->n_endpoints; i++) {
        st_endpoint_t *ep = &reg->endpoints[i];
        const char *proto = ep->security_protocol ? ep->security_protocol : "";
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            dup |= strcasecmp(reg->endpoints[j].listener, ep->listener) == 0;
        const char *why = strcasecmp(proto, "PLAINTEXT") != 0 && strcasecmp(proto, "SSL") != 0
                              ? "a security protocol Strand brokers do not speak"
                          : strlen(ep->listener) >= 32 ? "a listener name of 32 bytes or more"
                          : strlen(ep->host) >= 256    ? "a host name of 256 bytes or more"
                          : dup                        ? "a listener named twice"
                                                       : NULL;
        if (why) {
            ST_WARN("%s: leaving out endpoint %s://%s:%d (%s): %s", path, ep->listener, ep->host,
                    ep->port, proto, why);
            st_endpoint_free(ep);
            continue;
        }
        reg->endpoints[k++] = *ep;
    }
    reg->n_endpoints = k;
    if (reg->rack && strlen(reg->rack) >= 64) {
        ST_WARN("%s: ignoring a rack name of 64 bytes or more", path);
        free(reg->rack);
        reg->rack = NULL;
    }
    if (k == 0) {
        ST_ERROR("Ignoring broker registration: %s: no endpoint Strand brokers can use", path);
        return false;
    }
    return true;
}

int ctl_zk_load_brokers(st_node_t *n, bool watch, ctl_broker_t **ret, size_t *ret_n)
{
    char **names = NULL;
    size_t cnt = 0;
    int r = st_zk_children(n->zk, ST_ZPATH_BROKERS_IDS, watch, &names, &cnt);
    if (r < 0)
        return r;
    ctl_broker_t *b = calloc(cnt ? cnt : 1, sizeof(*b));
    ctl_path_t *paths = malloc((cnt ? cnt : 1) * sizeof(*paths));
    st_zk_read_t *reads = calloc(cnt ? cnt : 1, sizeof(*reads));
    if (!b || !paths || !reads) {
        free(b); free(paths); free(reads);
        st_zk_free_strings(names, cnt);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cnt; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/%s", ST_ZPATH_BROKERS_IDS, names[i]);
        reads[i].path = paths[i];
    }
    st_zk_get_many(n->zk, reads, cnt);
    size_t nb = 0;
    r = 0;
    for (size_t i = 0; i < cnt && r == 0; i++) {
        if (reads[i].rc == -ENOENT)
            continue;   /* gone meanwhile: the child watch tells us again */
        if (reads[i].rc < 0) {
            r = reads[i].rc;
            break;
        }
        char err[512];
        if (st_znode_broker_decode(paths[i], reads[i].data,
                                   reads[i].data ? (size_t)reads[i].len : 0, &b[nb].reg, err,
                                   sizeof(err)) < 0) {
            ST_ERROR("Ignoring broker registration: %s", err);
            continue;
        }
        if (!usable_registration(paths[i], &b[nb].reg)) {
            st_broker_reg_free(&b[nb].reg);
            continue;
        }
        b[nb++].epoch = reads[i].stat.czxid;
    }
    st_zk_reads_free(reads, cnt);
    free(reads);
    free(paths);
    st_zk_free_strings(names, cnt);
    if (r < 0) {
        ctl_brokers_free(b, nb);
        return r;
    }
    *ret = b;
    *ret_n = nb;
    return 0;
}

void ctl_topic_free(ctl_topic_t *t)
{
    if (!t)
        return;
    for (int32_t p = 0; t->parts && p < t->n_parts; p++) {
        st_int_list_free(&t->parts[p].replicas);
        st_lisr_free(&t->parts[p].lisr);
        free(t->parts[p].rstate);
    }
    free(t->parts);
    st_topic_overrides_free(&t->cfg);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

/* A topic from its decoded assignment (stolen) and config read. */
static int build_topic(const char *name, st_topic_assignment_t *ta, const char *cfg_path,
                       const st_zk_read_t *cfg, ctl_topic_t *ret)
{
    ctl_topic_t t = { 0 };
    t.name = strdup(name);
    t.parts = calloc(ta->n_partitions ? (size_t)ta->n_partitions : 1, sizeof(*t.parts));
    if (!t.name || !t.parts) {
        free(t.name);
        free(t.parts);
        return -ENOMEM;
    }
    t.n_parts = ta->n_partitions;
    for (int32_t p = 0; p < t.n_parts; p++) {
        t.parts[p].replicas = ta->replicas[p];    /* steal */
        ta->replicas[p].v = NULL;
        ta->replicas[p].n = 0;
        t.parts[p].rstate = calloc(t.parts[p].replicas.n ? t.parts[p].replicas.n : 1, 1);
        t.parts[p].lisr.leader = ST_LEADER_NONE;
        if (!t.parts[p].rstate) {
            ctl_topic_free(&t);
            return -ENOMEM;
        }
    }
    if (cfg->rc == 0) {
        char err[512];
        if (st_znode_topic_config_decode(cfg_path, cfg->data, cfg->data ? (size_t)cfg->len : 0,
                                         &t.cfg, err, sizeof(err)) < 0)
            ST_ERROR("Ignoring topic config: %s", err);
    }
    *ret = t;
    return 0;
}

int ctl_zk_load_topics(st_node_t *n, char *const *names, size_t cnt, bool with_states,
                       ctl_topic_t **ret, size_t *ret_n)
{
    ctl_path_t *paths = malloc((2 * cnt + 1) * sizeof(*paths));
    st_zk_read_t *reads = calloc(2 * cnt + 1, sizeof(*reads));
    size_t *which = calloc(cnt + 1, sizeof(*which));   /* read pair -> names index */
    ctl_topic_t *topics = calloc(cnt + 1, sizeof(*topics));
    if (!paths || !reads || !which || !topics) {
        free(paths); free(reads); free(which); free(topics);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (st_zpath_topic(paths[2 * k], sizeof(paths[0]), names[i]) < 0 ||
            st_zpath_topic_config(paths[2 * k + 1], sizeof(paths[0]), names[i]) < 0) {
            ST_ERROR("Ignoring topic '%s': not a valid znode name", names[i]);
            continue;
        }
        reads[2 * k] = (st_zk_read_t){ .path = paths[2 * k], .watch = true };
        reads[2 * k + 1] = (st_zk_read_t){ .path = paths[2 * k + 1] };
        which[k++] = i;
    }
    st_zk_get_many(n->zk, reads, 2 * k);
    int r = 0;
    size_t nt = 0, total = 0;
    for (size_t j = 0; j < k && r == 0; j++) {
        st_zk_read_t *rd = &reads[2 * j], *cfg = &reads[2 * j + 1];
        if (rd->rc == -ENOENT)
            continue;   /* deleted meanwhile */
        if (rd->rc < 0 || (cfg->rc < 0 && cfg->rc != -ENOENT)) {
            r = rd->rc < 0 ? rd->rc : cfg->rc;
            break;
        }
        st_topic_assignment_t ta;
        char err[512];
        if (st_znode_topic_decode(rd->path, rd->data, rd->data ? (size_t)rd->len : 0, &ta, err,
                                  sizeof(err)) < 0) {
            ST_ERROR("Ignoring topic: %s", err);
            continue;
        }
        r = build_topic(names[which[j]], &ta, cfg->path, cfg, &topics[nt]);
        st_topic_assignment_free(&ta);
        if (r == 0)
            total += (size_t)topics[nt++].n_parts;
    }
    st_zk_reads_free(reads, 2 * k);
    free(reads);
    free(paths);
    free(which);
    if (r == 0 && with_states && total) {
        ctl_tpref_t *refs = malloc(total * sizeof(*refs));
        size_t q = 0;
        for (size_t i = 0; refs && i < nt; i++)
            for (int32_t p = 0; p < topics[i].n_parts; p++)
                refs[q++] = (ctl_tpref_t){ &topics[i], p, 0 };
        r = refs ? ctl_zk_read_states(n, refs, total) : -ENOMEM;
        free(refs);
    }
    if (r < 0) {
        for (size_t i = 0; i < nt; i++)
            ctl_topic_free(&topics[i]);
        free(topics);
        return r;
    }
    *ret = topics;
    *ret_n = nt;
    return 0;
}
