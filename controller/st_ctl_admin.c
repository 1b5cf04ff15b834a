/* Controller admin work (reference §2.6-2.8, §2.12): topic deletion, the
 * /admin/preferred_replica_election znode, auto leader rebalance, and the broker->controller
 * requests ElectLeaders, ControlledShutdown and AlterIsr. Node thread.
 *
 * AlterIsr replaces /isr_change_notification: the controller is the only writer of partition
 * state znodes and answers with the new zk_version, so a leader never gets stuck retrying a
 * write with a stale znode version (Kafka's KAFKA-2729, fixed by KIP-497). */
#include "st_ctl.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "st_error.h"
#include "st_logger.h"

/* ---- topic deletion ------------------------------------------------------------------------- */

/* The fenced deletes of a topic's znodes, children first: every partition's children (listed
 * in one pipelined batch, so nothing is left for a NOTEMPTY), the partitions, the topic, its
 * config and the marker. Returns the op count or -errno. */
static int delete_ops(st_node_t *n, const char *name, ctl_zop_t **ret)
{
    char base[320], path[320];
    snprintf(base, sizeof(base), "/brokers/topics/%s/partitions", name);
    char **parts = NULL;
    size_t np = 0;
    int r = st_zk_children(n->zk, base, false, &parts, &np);
    if (r < 0 && r != -ENOENT)
        return r;
    typedef char path_t[320];
    path_t *paths = calloc(np + 1, sizeof(*paths));
    st_zk_read_t *reads = calloc(np + 1, sizeof(*reads));
    if (!paths || !reads) {
        free(paths); free(reads);
        st_zk_free_strings(parts, np);
        return -ENOMEM;
    }
    for (size_t i = 0; i < np; i++) {
        if (snprintf(paths[i], sizeof(paths[i]), "%s/%s", base, parts[i]) >= (int)sizeof(paths[i]))
            paths[i][0] = '\0';   /* cannot happen: names are short */
        reads[i].path = paths[i];
    }
    st_zk_children_many(n->zk, reads, np);
    size_t cap = np + 8;
    for (size_t i = 0; i < np; i++)
        cap += reads[i].rc == 0 ? reads[i].n_names : 0;
    ctl_zop_t *ops = calloc(cap, sizeof(*ops));
    size_t k = 0;
    for (size_t i = 0; ops && i < np; i++) {
        for (size_t c = 0; reads[i].rc == 0 && c < reads[i].n_names; c++) {
            ops[k] = (ctl_zop_t){ .kind = ZOP_DELETE, .version = -1 };
            snprintf(ops[k++].path, sizeof(ops[0].path), "%s/%s", paths[i], reads[i].names[c]);
        }
        if (reads[i].rc == 0) {
            ops[k] = (ctl_zop_t){ .kind = ZOP_DELETE, .version = -1 };
            snprintf(ops[k++].path, sizeof(ops[0].path), "%s", paths[i]);
        }
    }
    st_zk_reads_free(reads, np);
    free(reads);
    free(paths);
    st_zk_free_strings(parts, np);
    if (!ops)
        return -ENOMEM;
    if (r == 0) {
        ops[k] = (ctl_zop_t){ .kind = ZOP_DELETE, .version = -1 };
        snprintf(ops[k++].path, sizeof(ops[0].path), "%s", base);
    }
    ops[k] = (ctl_zop_t){ .kind = ZOP_DELETE, .version = -1 };
    st_zpath_topic(ops[k++].path, sizeof(ops[0].path), name);
    st_zpath_topic_config(path, sizeof(path), name);
    if (st_zk_exists(n->zk, path, false, NULL) == 0) {
        ops[k] = (ctl_zop_t){ .kind = ZOP_DELETE, .version = -1 };
        snprintf(ops[k++].path, sizeof(ops[0].path), "%s", path);
    }
    ops[k] = (ctl_zop_t){ .kind = ZOP_DELETE, .version = -1 };
    st_zpath_delete_topic(ops[k++].path, sizeof(ops[0].path), name);
    *ret = ops;
    return (int)k;
}

static void delete_topic(st_node_t *n, const char *name)
{
    ctl_topic_t *t = ctl_topic(n, name);
    if (!t) {
        /* nothing to delete but the marker (and leftovers) */
        ctl_zop_t op = { .kind = ZOP_DELETE, .version = -1 };
        st_zpath_delete_topic(op.path, sizeof(op.path), name);
        ctl_zk_fenced(n, &op, 1);
        return;
    }
    ST_INFO("Deleting topic %s (%d partitions)", name, t->n_parts);
    t->deleting = true;
    for (int32_t p = 0; p < t->n_parts; p++) {
        ctl_part_t *part = &t->parts[p];
        if (part->state != PS_OFFLINE && part->state != PS_NONEXISTENT) {
            if (part->state == PS_NEW)
                part->state = PS_OFFLINE;   /* never created: straight to deletion */
            else
                ctl_part_set_state(t, p, PS_OFFLINE);
        }
        for (size_t r = 0; r < part->replicas.n; r++) {
            ctl_replica_set_state(t, p, r, RS_DELETION_STARTED);
            ctl_batch_stop_replica(n, part->replicas.v[r], name, p, true, ST_LEADER_DURING_DELETE);
        }
        ctl_batch_update_metadata_deleted(n, name, p);
    }
    ctl_zop_t *ops = NULL;
    int k = delete_ops(n, name, &ops);
    int r = k < 0 ? k : ctl_zk_fenced(n, ops, (size_t)k);
    free(ops);
    if (r == CTL_DEPOSED)
        return;
    if (r < 0) {
        ST_WARN("Topic %s: deleting its znodes failed (%s); a later event retries",
                name, st_zk_strerror(r));
        return;
    }
    /* replicas: DeletionStarted -> DeletionSuccessful -> NonExistent; partitions -> NonExistent */
    for (int32_t p = 0; p < t->n_parts; p++) {
        for (size_t rr = 0; rr < t->parts[p].replicas.n; rr++) {
            ctl_replica_set_state(t, p, rr, RS_DELETION_SUCCESSFUL);
            ctl_replica_set_state(t, p, rr, RS_NONEXISTENT);
        }
        ctl_part_set_state(t, p, PS_NONEXISTENT);
    }
    ST_INFO("Deletion of topic %s completed", name);
    ctl_topic_remove(n, (size_t)(t - n->topics));
}

void ctl_delete_topics_change(st_node_t *n)
{
    char **names = NULL;
    size_t cnt = 0;
    if (st_zk_children(n->zk, ST_ZPATH_DELETE_TOPICS, true, &names, &cnt) < 0)
        return;
    for (size_t i = 0; i < cnt && !n->resign_pending; i++)
        delete_topic(n, names[i]);
    st_zk_free_strings(names, cnt);
}

/* ---- preferred election --------------------------------------------------------------------- */

void ctl_preferred_znode(st_node_t *n)
{
    char *data = NULL;
    int len = 0;
    struct Stat st;
    int r = st_zk_get(n->zk, ST_ZPATH_PREFERRED_ELECTION, true, &data, &len, &st);
    if (r == -ENOENT) {
        st_zk_exists(n->zk, ST_ZPATH_PREFERRED_ELECTION, true, NULL);
        return;
    }
    if (r < 0)
        return;
    st_tp_list_t tps = { 0 };
    char err[512];
    r = st_znode_tp_list_decode(ST_ZPATH_PREFERRED_ELECTION, data, data ? (size_t)len : 0, &tps,
                                err, sizeof(err));
    free(data);
    if (r < 0)
        ST_ERROR("Ignoring the preferred replica election request: %s", err);
    ctl_tpref_t *refs = calloc(tps.n + 1, sizeof(*refs));
    size_t k = 0;
    for (size_t i = 0; refs && i < tps.n; i++) {
        ctl_topic_t *t = ctl_topic(n, tps.v[i].topic);
        if (!t || tps.v[i].partition >= t->n_parts || t->deleting) {
            ST_WARN("Skipping preferred replica election for partition %s-%d: it does not exist",
                    tps.v[i].topic, tps.v[i].partition);
            continue;
        }
        refs[k++] = (ctl_tpref_t){ t, tps.v[i].partition, 0 };
    }
    if (k)
        ctl_elect_partitions(n, refs, k, ELECT_PREFERRED);
    for (size_t i = 0; i < k; i++)
        if (refs[i].err && refs[i].err != ST_ERR_ELECTION_NOT_NEEDED)
            ST_WARN("Failed to elect leader for partition %s-%d under strategy "
                    "PreferredReplicaPartitionLeaderElectionStrategy: %s", refs[i].t->name,
                    refs[i].p, st_error_name(refs[i].err));
    free(refs);
    st_tp_list_free(&tps);
    if (!n->resign_pending) {
        ctl_zop_t op = { .kind = ZOP_DELETE, .version = -1 };
        snprintf(op.path, sizeof(op.path), "%s", ST_ZPATH_PREFERRED_ELECTION);
        ctl_zk_fenced(n, &op, 1);
        st_zk_exists(n->zk, ST_ZPATH_PREFERRED_ELECTION, true, NULL);   /* re-arm */
    }
}

/* ---- auto rebalance -------------------------------------------------------------------------- */

void ctl_auto_rebalance(st_node_t *n)
{
    n->next_rebalance_ms = ctl_now_ms() + (int64_t)n->cfg.leader_imbalance_check_interval_seconds * 1000;
    size_t total = ctl_partition_count(n), k = 0;
    st_assign_partition_t *parts = calloc(total + 1, sizeof(*parts));
    ctl_tpref_t *refs = calloc(total + 1, sizeof(*refs));
    ctl_cluster_t cl;
    if (!parts || !refs || ctl_cluster_build(n, &cl) < 0) {
        free(parts);
        free(refs);
        return;
    }
    /* Kafka leaves out topics being deleted and partitions without a leader-and-ISR state */
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = 0; !t->deleting && p < t->n_parts; p++) {
            if (!t->parts[p].has_lisr || !t->parts[p].replicas.n)
                continue;
            parts[k] = ctl_assign_part(&t->parts[p]);
            refs[k++] = (ctl_tpref_t){ t, p, 0 };
        }
    }
    st_assign_imbalance_t *imb = NULL;
    size_t n_imb = 0;
    if (st_assign_leader_imbalance(parts, k, &imb, &n_imb) == 0) {
        for (size_t b = 0; b < n_imb; b++) {
            bool over = st_assign_imbalance_exceeds(&imb[b], n->cfg.leader_imbalance_per_broker_percentage);
            if (over)
                ST_INFO("Leader imbalance of broker %d is %zu/%zu (over %d%%): moving leadership "
                        "back to it where it is in the ISR", imb[b].broker, imb[b].n_not_led,
                        imb[b].n_preferred, n->cfg.leader_imbalance_per_broker_percentage);
            else
                ST_DEBUG("Leader imbalance of broker %d is %zu/%zu", imb[b].broker,
                         imb[b].n_not_led, imb[b].n_preferred);
        }
        free(imb);
    }
    size_t *idx = NULL, n_idx = 0;
    if (st_assign_rebalance_candidates(parts, k, n->cfg.leader_imbalance_per_broker_percentage,
                                       &cl.c, &idx, &n_idx) == 0 && n_idx) {
        for (size_t j = 0; j < n_idx; j++)
            refs[j] = refs[idx[j]];   /* idx ascending: j <= idx[j], nothing is overwritten early */
        ctl_elect_partitions(n, refs, n_idx, ELECT_PREFERRED);
        for (size_t j = 0; j < n_idx; j++)
            if (refs[j].err)
                ST_WARN("Auto rebalance: partition %s-%d: %s", refs[j].t->name, refs[j].p,
                        st_error_name(refs[j].err));
    }
    free(idx);
    ctl_cluster_free(&cl);
    free(parts);
    free(refs);
}

/* ---- ElectLeaders ----------------------------------------------------------------------------- */

typedef struct el_names {
    const char **names;
    const size_t *first;        /* group -> the request index that opened it */
} el_names_t;

static bool group_eq(const void *ctx, size_t pos, const void *key)
{
    const el_names_t *g = ctx;
    return strcmp(g->names[g->first[pos]], key) == 0;
}

static void elect_leaders(st_node_t *n, ctl_submit_t *s)
{
    Strand__ElectLeadersRequest *req = (Strand__ElectLeadersRequest *)s->req;
    bool unclean = req->election_type == 1;
    size_t total = req->all_partitions ? ctl_partition_count(n) : 0;
    for (size_t i = 0; !req->all_partitions && i < req->n_topic_partitions; i++)
        total += req->topic_partitions[i]->n_partitions;
    const char **names = calloc(total + 1, sizeof(*names));
    int32_t *pids = calloc(total + 1, sizeof(*pids));
    int *errs = calloc(total + 1, sizeof(*errs));
    ctl_tpref_t *run = calloc(total + 1, sizeof(*run));
    size_t *map = calloc(total + 1, sizeof(*map));
    size_t *group = calloc(total + 1, sizeof(*group));       /* request index -> topic group */
    size_t *first = calloc(total + 1, sizeof(*first));       /* group -> first request index */
    size_t *count = calloc(total + 1, sizeof(*count));       /* group -> partitions */
    Strand__ElectLeadersTopicResult *trs = calloc(total + 1, sizeof(*trs));
    Strand__ElectLeadersTopicResult **tr = calloc(total + 1, sizeof(*tr));
    Strand__ElectLeadersPartitionResult *prs = calloc(total + 1, sizeof(*prs));
    Strand__ElectLeadersPartitionResult **prp = calloc(total + 1, sizeof(*prp));
    char (*msgs)[200] = calloc(total + 1, 200);
    Strand__ElectLeadersResponse resp = STRAND__ELECT_LEADERS_RESPONSE__INIT;
    ctl_index_t ix = { 0 };
    size_t cnt = 0, nrun = 0, ngroups = 0;
    if (!names || !pids || !errs || !run || !map || !group || !first || !count || !trs || !tr ||
        !prs || !prp || !msgs) {
        resp.error_code = ST_ERR_UNKNOWN_SERVER_ERROR;
        goto answer;
    }
    if (req->all_partitions) {
        for (size_t i = 0; i < n->n_topics; i++)
            for (int32_t p = 0; !n->topics[i].deleting && p < n->topics[i].n_parts; p++) {
                names[cnt] = n->topics[i].name;
                pids[cnt++] = p;
            }
    } else {
        for (size_t i = 0; i < req->n_topic_partitions; i++)
            for (size_t j = 0; j < req->topic_partitions[i]->n_partitions; j++) {
                names[cnt] = req->topic_partitions[i]->topic;
                pids[cnt++] = req->topic_partitions[i]->partitions[j];
            }
    }
    /* which partitions qualify (Kafka: preferred skips partitions led by their preferred
     * replica; unclean applies only to partitions whose leader is gone) */
    for (size_t i = 0; i < cnt; i++) {
        ctl_topic_t *t = ctl_topic(n, names[i]);
        if (!t || pids[i] < 0 || pids[i] >= t->n_parts || t->deleting) {
            errs[i] = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        ctl_part_t *part = &t->parts[pids[i]];
        if (unclean && part->has_lisr && ctl_live_not_shutting(n, part->lisr.leader)) {
            errs[i] = ST_ERR_ELECTION_NOT_NEEDED;
            continue;
        }
        if (!unclean && part->has_lisr && part->replicas.n &&
            part->lisr.leader == part->replicas.v[0]) {
            errs[i] = ST_ERR_ELECTION_NOT_NEEDED;
            continue;
        }
        map[nrun] = i;
        run[nrun++] = (ctl_tpref_t){ t, pids[i], 0 };
    }
    if (nrun)
        ctl_elect_partitions(n, run, nrun, unclean ? ELECT_UNCLEAN : ELECT_PREFERRED);
    for (size_t k = 0; k < nrun; k++)
        errs[map[k]] = run[k].err;
    /* the response: one topic result per distinct name (hashed), in order of first mention,
     * each with its partitions in request order */
    el_names_t g = { names, first };
    for (size_t i = 0; i < cnt; i++) {
        uint64_t h = ctl_hash_str(names[i]);
        size_t gi = ctl_index_find(&ix, h, group_eq, &g, names[i]);
        if (gi == SIZE_MAX) {
            gi = ngroups++;
            first[gi] = i;
            if (ctl_index_add(&ix, h, gi) < 0) {
                resp.error_code = ST_ERR_UNKNOWN_SERVER_ERROR;
                goto answer;
            }
        }
        group[i] = gi;
        count[gi]++;
    }
    size_t off = 0;
    for (size_t gi = 0; gi < ngroups; gi++) {
        Strand__ElectLeadersTopicResult *t = &trs[gi];
        strand__elect_leaders_topic_result__init(t);
        t->topic = (char *)names[first[gi]];
        t->partition_result = prp + off;
        off += count[gi];
        tr[gi] = t;
    }
    for (size_t i = 0; i < cnt; i++) {
        Strand__ElectLeadersTopicResult *t = tr[group[i]];
        Strand__ElectLeadersPartitionResult *pr = &prs[i];
        strand__elect_leaders_partition_result__init(pr);
        pr->partition_id = pids[i];
        pr->error_code = errs[i];
        if (errs[i] == ST_ERR_PREFERRED_LEADER_NOT_AVAILABLE ||
            errs[i] == ST_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE)
            snprintf(msgs[i], 200, "Failed to elect leader for partition %s-%d under strategy %s",
                     names[i], pids[i], unclean ? "OfflinePartitionLeaderElectionStrategy"
                                                : "PreferredReplicaPartitionLeaderElectionStrategy");
        pr->error_message = msgs[i];
        t->partition_result[t->n_partition_result++] = pr;
    }
    resp.replica_election_results = tr;
    resp.n_replica_election_results = ngroups;
    if (n->resign_pending)
        resp.error_code = ST_ERR_NOT_CONTROLLER;
answer:
    ((st_node_elect_done_fn *)s->done)(s->arg, &resp);
    ctl_index_clear(&ix);
    free(names); free(pids); free(errs); free(run); free(map); free(group); free(first);
    free(count); free(trs); free(tr); free(prs); free(prp); free(msgs);
}

/* ---- ControlledShutdown ---------------------------------------------------------------------- */

static void controlled_shutdown(st_node_t *n, ctl_submit_t *s)
{
    Strand__ControlledShutdownRequest *req = (Strand__ControlledShutdownRequest *)s->req;
    Strand__ControlledShutdownResponse resp = STRAND__CONTROLLED_SHUTDOWN_RESPONSE__INIT;
    ctl_broker_t *b = ctl_broker(n, req->broker_id);
    char msg[200] = "";
    if (!b) {
        resp.error_code = ST_ERR_BROKER_NOT_AVAILABLE;
        snprintf(msg, sizeof(msg), "broker %d is not registered", req->broker_id);
    } else if (req->broker_epoch < b->epoch) {
        resp.error_code = ST_ERR_STALE_BROKER_EPOCH;
        snprintf(msg, sizeof(msg), "broker epoch %lld is older than %lld",
                 (long long)req->broker_epoch, (long long)b->epoch);
    }
    resp.error_message = msg;
    if (resp.error_code) {
        ((st_node_shutdown_done_fn *)s->done)(s->arg, &resp);
        return;
    }
    int32_t id = req->broker_id;
    b->shutting_down = true;
    ST_INFO("Controlled shutdown of broker %d", id);
    size_t total = ctl_partition_count(n);
    ctl_tpref_t *led = calloc(total + 1, sizeof(*led));
    ctl_tpref_t *followed = calloc(total + 1, sizeof(*followed));
    size_t nl = 0, nf = 0;
    for (size_t i = 0; led && followed && i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = 0; !t->deleting && p < t->n_parts; p++) {
            ctl_part_t *part = &t->parts[p];
            if (part->replicas.n < 2 || !part->has_lisr || part->lisr.leader < 0 ||
                !st_int_list_contains(&part->replicas, id))
                continue;
            if (part->lisr.leader == id)
                led[nl++] = (ctl_tpref_t){ t, p, 0 };
            else
                followed[nf++] = (ctl_tpref_t){ t, p, 0 };
        }
    }
    if (nl)
        ctl_elect_partitions(n, led, nl, ELECT_CONTROLLED_SHUTDOWN);
    for (size_t i = 0; i < nf && !n->resign_pending; i++)
        ctl_batch_stop_replica(n, id, followed[i].t->name, followed[i].p, false,
                               followed[i].t->parts[followed[i].p].lisr.leader_epoch);
    if (nf && !n->resign_pending)
        ctl_replicas_offline(n, followed, nf, id);
    /* remaining: partitions (RF > 1) it still leads */
    Strand__TopicPartition *tps = calloc(total + 1, sizeof(*tps));
    Strand__TopicPartition **tpp = calloc(total + 1, sizeof(*tpp));
    for (size_t i = 0; tps && tpp && i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++) {
            ctl_part_t *part = &t->parts[p];
            if (part->replicas.n > 1 && part->has_lisr && part->lisr.leader == id) {
                Strand__TopicPartition *tp = &tps[resp.n_remaining_partitions];
                strand__topic_partition__init(tp);
                tp->topic = t->name;
                tp->partition = p;
                tpp[resp.n_remaining_partitions++] = tp;
            }
        }
    }
    resp.remaining_partitions = tpp;
    if (n->resign_pending)
        resp.error_code = ST_ERR_NOT_CONTROLLER;
    ((st_node_shutdown_done_fn *)s->done)(s->arg, &resp);
    free(tps); free(tpp); free(led); free(followed);
}

/* ---- AlterIsr --------------------------------------------------------------------------------- */

/* The proposed ISR is a set of the partition's assigned replicas. */
static bool isr_within_replicas(const ctl_part_t *part, const Strand__AlterIsrPartition *rp)
{
    for (size_t i = 0; i < rp->n_new_isr; i++) {
        if (!st_int_list_contains(&part->replicas, rp->new_isr[i]))
            return false;
        for (size_t j = 0; j < i; j++)
            if (rp->new_isr[j] == rp->new_isr[i])
                return false;
    }
    return true;
}

static void alter_isr(st_node_t *n, ctl_submit_t *s)
{
    Strand__AlterIsrRequest *req = (Strand__AlterIsrRequest *)s->req;
    Strand__AlterIsrResponse resp = STRAND__ALTER_ISR_RESPONSE__INIT;
    ctl_broker_t *b = ctl_broker(n, req->broker_id);
    if (!b || req->broker_epoch < b->epoch) {
        resp.error_code = b ? ST_ERR_STALE_BROKER_EPOCH : ST_ERR_BROKER_NOT_AVAILABLE;
        ((st_node_alter_isr_done_fn *)s->done)(s->arg, &resp);
        return;
    }
    size_t total = 0, np = 0, k = 0;
    for (size_t i = 0; i < req->n_topics; i++)
        total += req->topics[i]->n_partitions;
    Strand__AlterIsrTopicResponse *trs = calloc(req->n_topics + 1, sizeof(*trs));
    Strand__AlterIsrTopicResponse **trp = calloc(req->n_topics + 1, sizeof(*trp));
    Strand__AlterIsrPartitionResponse *prs = calloc(total + 1, sizeof(*prs));
    Strand__AlterIsrPartitionResponse **prp = calloc(total + 1, sizeof(*prp));
    ctl_zop_t *ops = calloc(total + 1, sizeof(*ops));
    ctl_tpref_t *refs = calloc(total + 1, sizeof(*refs));
    size_t *opidx = calloc(total + 1, sizeof(*opidx));
    Strand__AlterIsrPartition **oprq = calloc(total + 1, sizeof(*oprq));   /* op -> request */
    bool *failed = calloc(total + 1, sizeof(*failed));                      /* op rejected */
    if (!trs || !trp || !prs || !prp || !ops || !refs || !opidx || !oprq || !failed) {
        resp.error_code = ST_ERR_UNKNOWN_SERVER_ERROR;
        ((st_node_alter_isr_done_fn *)s->done)(s->arg, &resp);
        goto out;
    }
    for (size_t i = 0; i < req->n_topics; i++) {
        Strand__AlterIsrTopic *rt = req->topics[i];
        strand__alter_isr_topic_response__init(&trs[i]);
        trs[i].name = rt->name;
        trs[i].partitions = prp + np;
        trp[i] = &trs[i];
        ctl_topic_t *t = ctl_topic(n, rt->name);
        for (size_t j = 0; j < rt->n_partitions; j++, np++) {
            Strand__AlterIsrPartition *rp = rt->partitions[j];
            Strand__AlterIsrPartitionResponse *pr = &prs[np];
            strand__alter_isr_partition_response__init(pr);
            prp[np] = pr;
            trs[i].n_partitions++;
            pr->partition = rp->partition;
            refs[np] = (ctl_tpref_t){ t, rp->partition, 0 };
            if (!t || rp->partition < 0 || rp->partition >= t->n_parts || t->deleting ||
                !t->parts[rp->partition].has_lisr) {
                pr->error_code = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            ctl_part_t *part = &t->parts[rp->partition];
            if (part->lisr.leader != req->broker_id) {
                pr->error_code = ST_ERR_NOT_LEADER_OR_FOLLOWER;
            } else if (rp->leader_epoch < part->lisr.leader_epoch) {
                pr->error_code = ST_ERR_FENCED_LEADER_EPOCH;
            } else if (rp->leader_epoch > part->lisr.leader_epoch ||
                       rp->current_isr_version != part->lisr.zk_version) {
                pr->error_code = ST_ERR_INVALID_UPDATE_VERSION;
            } else if (rp->n_new_isr == 0 ||
                       !st_int_list_contains(&(st_int_list_t){ rp->new_isr, rp->n_new_isr },
                                             req->broker_id)) {
                pr->error_code = ST_ERR_INVALID_REQUEST;
            } else if (!isr_within_replicas(part, rp)) {
                /* A duplicate would count one replica twice towards min.insync.replicas; a
                 * broker outside the assignment (or -5) is no replica at all. */
                ST_WARN("AlterIsr from broker %d for %s-%d refused: the new ISR has a duplicate "
                        "or a broker that is not one of the partition's replicas",
                        req->broker_id, t->name, rp->partition);
                pr->error_code = ST_ERR_INVALID_REQUEST;
            }
            if (pr->error_code) {
                pr->leader_id = part->lisr.leader;
                pr->leader_epoch = part->lisr.leader_epoch;
                pr->current_isr_version = part->lisr.zk_version;
                continue;
            }
            /* The state znode names the controller that wrote it (Kafka's processAlterIsr writes
             * controllerContext.epoch): keeping the previous writer's epoch would make this
             * write look like one from a deposed controller. */
            st_lisr_t nl = { .leader = part->lisr.leader, .leader_epoch = part->lisr.leader_epoch,
                             .controller_epoch = n->epoch,
                             .isr = { rp->new_isr, rp->n_new_isr } };
            ops[k].kind = ZOP_SET;
            st_zpath_partition_state(ops[k].path, sizeof(ops[k].path), t->name, rp->partition);
            ops[k].data = st_znode_lisr_encode(&nl);
            ops[k].version = part->lisr.zk_version;
            oprq[k] = rp;
            opidx[k++] = np;
        }
    }
    /* A multi that fails on one partition (BADVERSION) rolls back the others it carried:
     * retry those, not the one that failed. */
    int r = 0;
    for (int attempt = 0; k && attempt < 3; attempt++) {
        r = ctl_zk_fenced(n, ops, k);
        if (r == 0 || r == CTL_DEPOSED)
            break;
        bool again = false;
        for (size_t j = 0; j < k; j++) {
            if (!ops[j].done && ops[j].err) {
                failed[j] = true;
                ops[j].done = true;   /* not written: skipped by the retry */
            } else if (!ops[j].done) {
                again = true;
            }
        }
        if (!again)
            break;
    }
    for (size_t j = 0; j < k; j++) {
        Strand__AlterIsrPartitionResponse *pr = prs + opidx[j];
        ctl_tpref_t *ref = &refs[opidx[j]];
        ctl_part_t *part = &ref->t->parts[ref->p];
        if (ops[j].done && !failed[j]) {
            Strand__AlterIsrPartition *rp = oprq[j];
            st_int_list_t nisr = { 0 };
            if (st_int_list_copy(&nisr, &(st_int_list_t){ rp->new_isr, rp->n_new_isr }) == 0) {
                st_int_list_free(&part->lisr.isr);
                part->lisr.isr = nisr;
            } else {
                ctl_zk_read_state(n, ref->t, ref->p);   /* the cache follows ZooKeeper (P4) */
            }
            part->lisr.zk_version = ops[j].stat.version;
            part->lisr.controller_epoch = n->epoch;
            assert(ctl_part_check(ref->t, ref->p));
            ctl_batch_update_metadata(n, ref->t, ref->p);
        } else {
            pr->error_code = failed[j] ? ST_ERR_INVALID_UPDATE_VERSION
                             : r == CTL_DEPOSED ? ST_ERR_NOT_CONTROLLER
                                                : ST_ERR_UNKNOWN_SERVER_ERROR;
            if (ops[j].err == -ESTALE || ops[j].err == -ENOENT)
                ctl_zk_read_state(n, ref->t, ref->p);   /* answer with what is there now */
        }
    }
    /* The answers point into the cache only once every write and re-read above is done: a
     * partition listed twice is re-read for its second entry, which frees the ISR an answer
     * filled for the first would point to. */
    for (size_t j = 0; j < k; j++) {
        Strand__AlterIsrPartitionResponse *pr = prs + opidx[j];
        ctl_part_t *part = &refs[opidx[j]].t->parts[refs[opidx[j]].p];
        pr->leader_id = part->lisr.leader;
        pr->leader_epoch = part->lisr.leader_epoch;
        pr->isr = part->lisr.isr.v;
        pr->n_isr = part->lisr.isr.n;
        pr->current_isr_version = part->lisr.zk_version;
    }
    resp.topics = trp;
    resp.n_topics = req->n_topics;
    ((st_node_alter_isr_done_fn *)s->done)(s->arg, &resp);
out:
    ctl_zops_free(ops, k);
    free(trs); free(trp); free(prs); free(prp); free(ops); free(refs); free(opidx); free(oprq);
    free(failed);
}

/* ---- submissions -------------------------------------------------------------------------------- */

void ctl_submit_run(st_node_t *n, ctl_submit_t *s)
{
    switch (s->kind) {
    case STRAND__API_KEY__ELECT_LEADERS: elect_leaders(n, s); break;
    case STRAND__API_KEY__CONTROLLED_SHUTDOWN: controlled_shutdown(n, s); break;
    case STRAND__API_KEY__ALTER_ISR: alter_isr(n, s); break;
    default: ctl_submit_not_controller(s); break;
    }
}

void ctl_submit_not_controller(ctl_submit_t *s)
{
    switch (s->kind) {
    case STRAND__API_KEY__ELECT_LEADERS: {
        Strand__ElectLeadersResponse r = STRAND__ELECT_LEADERS_RESPONSE__INIT;
        r.error_code = ST_ERR_NOT_CONTROLLER;
        ((st_node_elect_done_fn *)s->done)(s->arg, &r);
        break;
    }
    case STRAND__API_KEY__CONTROLLED_SHUTDOWN: {
        Strand__ControlledShutdownResponse r = STRAND__CONTROLLED_SHUTDOWN_RESPONSE__INIT;
        r.error_code = ST_ERR_NOT_CONTROLLER;
        ((st_node_shutdown_done_fn *)s->done)(s->arg, &r);
        break;
    }
    case STRAND__API_KEY__ALTER_ISR: {
        Strand__AlterIsrResponse r = STRAND__ALTER_ISR_RESPONSE__INIT;
        r.error_code = ST_ERR_NOT_CONTROLLER;
        ((st_node_alter_isr_done_fn *)s->done)(s->arg, &r);
        break;
    }
    }
}

void ctl_submit_free(ctl_submit_t *s)
{
    if (!s)
        return;
    if (s->req)
        protobuf_c_message_free_unpacked(s->req, NULL);
    free(s);
}
