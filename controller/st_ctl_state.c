/* The partition and replica state machines and the leader-election pipeline (reference §2.4,
 * §2.5). Node thread only.
 *
 * Partition states and transitions (ctl_part_set_state asserts the arrow is legal):
 *   NonExistent --(topic znode seen)--> New --ctl_create_partitions--> Online
 *   Online/Offline --ctl_elect_partitions--> Online        Online --(leader lost)--> Offline
 *   New/Online/Offline --(topic deleted)--> Offline --> NonExistent
 * Invariants (ctl_part_check, asserted at every transition):
 *   P1 New: no state znode is cached (has_lisr false).
 *   P2 Online: has_lisr, leader >= 0, leader is in the ISR and in the assignment.
 *   P3 every state but New/NonExistent has has_lisr or was loaded without a state znode that
 *      the controller could not decode (then leader is -1: Offline).
 *   P4 the cached zk_version is the dataVersion the controller last read or wrote, so every
 *      write is conditional on it and on /controller_epoch's version (fencing).
 *   P5 the ISR is never written empty: a dying last member stays (KAFKA-5083).
 * Replica states (one per assignment entry): NonExistent -> New -> Online <-> Offline ->
 *   DeletionStarted -> DeletionSuccessful -> NonExistent; deletion states only while the topic
 *   is being deleted (R1), Online only for a live broker at the time of the transition (R2).
 *
 * Election strategies are Kafka's PartitionLeaderElectionAlgorithms (ctl_rule_*), pure
 * functions; they move to controller/st_assign.c when that lands. */
#include "st_ctl.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_error.h"
#include "st_logger.h"

const char *ctl_pstate_name(ctl_pstate_t s)
{
    switch (s) {
    case PS_NONEXISTENT: return "NonExistentPartition";
    case PS_NEW: return "NewPartition";
    case PS_ONLINE: return "OnlinePartition";
    case PS_OFFLINE: return "OfflinePartition";
    }
    return "?";
}

bool ctl_part_check(const ctl_topic_t *t, int32_t p)
{
    const ctl_part_t *part = &t->parts[p];
    switch (part->state) {
    case PS_NEW:
        return !part->has_lisr;
    case PS_ONLINE:
        return part->has_lisr && part->lisr.leader >= 0 &&
               st_int_list_contains(&part->lisr.isr, part->lisr.leader) &&
               st_int_list_contains(&part->replicas, part->lisr.leader);
    case PS_OFFLINE:
    case PS_NONEXISTENT:
        break;
    }
    if (part->has_lisr && part->lisr.isr.n == 0 && part->lisr.leader >= 0)
        return false;
    for (size_t i = 0; i < part->replicas.n; i++)
        if (part->rstate[i] >= RS_DELETION_STARTED && !t->deleting)
            return false;
    return true;
}

void ctl_part_set_state(ctl_topic_t *t, int32_t p, ctl_pstate_t st)
{
    ctl_pstate_t from = t->parts[p].state;
    bool legal;
    switch (st) {
    case PS_NEW: legal = from == PS_NONEXISTENT || from == PS_NEW; break;
    case PS_ONLINE: legal = from != PS_NONEXISTENT; break;
    case PS_OFFLINE: legal = from != PS_NONEXISTENT; break;
    case PS_NONEXISTENT: legal = from == PS_OFFLINE || from == PS_NONEXISTENT; break;
    default: legal = false;
    }
    assert(legal && "illegal partition state transition");
    (void)legal;
    t->parts[p].state = st;
    assert(ctl_part_check(t, p));
}

void ctl_replica_set_state(ctl_topic_t *t, int32_t p, size_t idx, ctl_rstate_t st)
{
    ctl_rstate_t from = (ctl_rstate_t)t->parts[p].rstate[idx];
    bool legal;
    switch (st) {
    case RS_NEW: legal = from == RS_NONEXISTENT || from == RS_NEW; break;
    case RS_ONLINE:
    case RS_OFFLINE: legal = from == RS_NEW || from == RS_ONLINE || from == RS_OFFLINE ||
                             from == RS_NONEXISTENT; break;
    case RS_DELETION_STARTED: legal = t->deleting && from != RS_DELETION_SUCCESSFUL; break;
    case RS_DELETION_SUCCESSFUL: legal = from == RS_DELETION_STARTED; break;
    case RS_NONEXISTENT: legal = from == RS_DELETION_SUCCESSFUL || from == RS_NONEXISTENT; break;
    default: legal = false;
    }
    assert(legal && "illegal replica state transition");
    (void)legal;
    t->parts[p].rstate[idx] = (uint8_t)st;
    assert(ctl_part_check(t, p));
}

/* Failover / new topic: Online if the leader is live and in the ISR, Offline if it has state
 * but no usable leader, New if no state znode. Replicas Online if live else Offline. */
void ctl_part_init_states(st_node_t *n, ctl_topic_t *t)
{
    for (int32_t p = 0; p < t->n_parts; p++) {
        ctl_part_t *part = &t->parts[p];
        if (!part->has_lisr)
            part->state = PS_NEW;
        else if (part->lisr.leader >= 0 && ctl_live(n, part->lisr.leader) &&
                 st_int_list_contains(&part->lisr.isr, part->lisr.leader) &&
                 st_int_list_contains(&part->replicas, part->lisr.leader))
            part->state = PS_ONLINE;
        else
            part->state = PS_OFFLINE;
        for (size_t i = 0; i < part->replicas.n; i++)
            part->rstate[i] = (uint8_t)(!part->has_lisr ? RS_NEW
                                        : ctl_live(n, part->replicas.v[i]) ? RS_ONLINE
                                                                             : RS_OFFLINE);
        assert(ctl_part_check(t, p));
    }
}

/* ---- pure rules --------------------------------------------------------------------------- */

static int list_push(st_int_list_t *l, int32_t x)
{
    int32_t *v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    v[l->n++] = x;
    l->v = v;
    return 0;
}

int32_t ctl_rule_offline(const st_int_list_t *replicas, const st_int_list_t *isr,
                         bool (*live)(void *, int32_t), void *ctx, bool unclean,
                         st_int_list_t *out_isr)
{
    st_int_list_t nisr = { 0 };
    for (size_t i = 0; i < replicas->n; i++) {
        int32_t r = replicas->v[i];
        if (live(ctx, r) && st_int_list_contains(isr, r)) {
            for (size_t j = 0; j < isr->n; j++)
                if (live(ctx, isr->v[j]) && list_push(&nisr, isr->v[j]) < 0) {
                    st_int_list_free(&nisr);
                    return -1;
                }
            *out_isr = nisr;
            return r;
        }
    }
    if (!unclean)
        return -1;
    for (size_t i = 0; i < replicas->n; i++) {
        if (live(ctx, replicas->v[i])) {
            if (list_push(&nisr, replicas->v[i]) < 0)
                return -1;
            *out_isr = nisr;
            return replicas->v[i];
        }
    }
    return -1;
}

int32_t ctl_rule_preferred(const st_int_list_t *replicas, const st_int_list_t *isr,
                           bool (*live)(void *, int32_t), void *ctx)
{
    if (replicas->n == 0)
        return -1;
    int32_t pref = replicas->v[0];
    return live(ctx, pref) && st_int_list_contains(isr, pref) ? pref : -1;
}

int32_t ctl_rule_controlled_shutdown(const st_int_list_t *replicas, const st_int_list_t *isr,
                                     bool (*live)(void *, int32_t),
                                     bool (*shutting)(void *, int32_t), void *ctx,
                                     st_int_list_t *out_isr)
{
    int32_t leader = -1;
    for (size_t i = 0; i < replicas->n && leader < 0; i++) {
        int32_t r = replicas->v[i];
        if (live(ctx, r) && !shutting(ctx, r) && st_int_list_contains(isr, r))
            leader = r;
    }
    if (leader < 0)
        return -1;
    st_int_list_t nisr = { 0 };
    for (size_t j = 0; j < isr->n; j++)
        if (!shutting(ctx, isr->v[j]) && list_push(&nisr, isr->v[j]) < 0) {
            st_int_list_free(&nisr);
            return -1;
        }
    *out_isr = nisr;
    return leader;
}

int ctl_rule_isr_remove(const st_int_list_t *isr, int32_t gone, st_int_list_t *out_isr)
{
    if (isr->n <= 1)
        return st_int_list_copy(out_isr, isr);
    st_int_list_t nisr = { 0 };
    for (size_t j = 0; j < isr->n; j++)
        if (isr->v[j] != gone && list_push(&nisr, isr->v[j]) < 0) {
            st_int_list_free(&nisr);
            return -ENOMEM;
        }
    *out_isr = nisr;
    return 0;
}

/* ---- the write pipeline -------------------------------------------------------------------- */

static bool live_cb(void *ctx, int32_t id) { return ctl_live_not_shutting(ctx, id); }
static bool any_live_cb(void *ctx, int32_t id) { return ctl_live(ctx, id); }
static bool shutting_cb(void *ctx, int32_t id)
{
    ctl_broker_t *b = ctl_broker(ctx, id);
    return b && b->shutting_down;
}

static void format_list(const st_int_list_t *l, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < l->n && off + 12 < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%d", i ? "," : "", l->v[i]);
}

/* Queues LeaderAndIsr to the live replicas and UpdateMetadata to everyone. */
static void announce(st_node_t *n, ctl_topic_t *t, int32_t p, bool is_new)
{
    ctl_part_t *part = &t->parts[p];
    for (size_t i = 0; i < part->replicas.n; i++)
        if (ctl_live(n, part->replicas.v[i]))
            ctl_batch_leader_and_isr(n, part->replicas.v[i], t, p, is_new);
    ctl_batch_update_metadata(n, t, p);
}

/* Applies a written state to the cache and logs a leader change. */
static void apply_written(st_node_t *n, ctl_topic_t *t, int32_t p, st_lisr_t *nl, int version,
                          const char *why)
{
    ctl_part_t *part = &t->parts[p];
    int32_t old = part->has_lisr ? part->lisr.leader : -1;
    nl->zk_version = version;
    st_lisr_free(&part->lisr);
    part->lisr = *nl;
    memset(nl, 0, sizeof(*nl));
    part->has_lisr = true;
    char isr[256];
    format_list(&part->lisr.isr, isr, sizeof(isr));
    if (old != part->lisr.leader)
        ST_INFO("Partition %s-%d: leader %d -> %d (leader epoch %d, ISR [%s], %s)", t->name, p,
                old, part->lisr.leader, part->lisr.leader_epoch, isr, why);
    else
        ST_DEBUG("Partition %s-%d: leader %d, leader epoch %d, ISR [%s] (%s)", t->name, p,
                 part->lisr.leader, part->lisr.leader_epoch, isr, why);
    ctl_pstate_t st = part->lisr.leader >= 0 && ctl_live(n, part->lisr.leader) &&
                              st_int_list_contains(&part->lisr.isr, part->lisr.leader)
                          ? PS_ONLINE : PS_OFFLINE;
    ctl_part_set_state(t, p, st);
}

/* Computes the new state of ref under strategy; 0 with *out filled, or an ST_ERR_* code. */
static int compute(st_node_t *n, ctl_tpref_t *ref, ctl_strategy_t strategy, int32_t gone,
                   st_lisr_t *out)
{
    ctl_part_t *part = &ref->t->parts[ref->p];
    if (!part->has_lisr)
        return ST_ERR_LEADER_NOT_AVAILABLE;
    if (part->lisr.controller_epoch > n->epoch) {
        ST_WARN("Partition %s-%d: state written by controller epoch %d, newer than ours (%d)",
                ref->t->name, ref->p, part->lisr.controller_epoch, n->epoch);
        return ST_ERR_STALE_CONTROLLER_EPOCH;
    }
    st_int_list_t nisr = { 0 };
    int32_t leader = -1;
    switch (strategy) {
    case ELECT_OFFLINE:
    case ELECT_UNCLEAN:
        leader = ctl_rule_offline(&part->replicas, &part->lisr.isr, live_cb, n,
                                  strategy == ELECT_UNCLEAN || ctl_topic_unclean(n, ref->t), &nisr);
        if (leader < 0)
            return ST_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
        if (!st_int_list_contains(&part->lisr.isr, leader))
            ST_WARN("Unclean leader election for partition %s-%d: broker %d was not in the ISR; "
                    "data may be lost", ref->t->name, ref->p, leader);
        break;
    case ELECT_PREFERRED:
        leader = ctl_rule_preferred(&part->replicas, &part->lisr.isr, live_cb, n);
        if (leader < 0)
            return ST_ERR_PREFERRED_LEADER_NOT_AVAILABLE;
        if (leader == part->lisr.leader)
            return ST_ERR_ELECTION_NOT_NEEDED;
        if (st_int_list_copy(&nisr, &part->lisr.isr) < 0)
            return ST_ERR_UNKNOWN_SERVER_ERROR;
        break;
    case ELECT_CONTROLLED_SHUTDOWN:
        leader = ctl_rule_controlled_shutdown(&part->replicas, &part->lisr.isr, any_live_cb,
                                              shutting_cb, n, &nisr);
        if (leader < 0)
            return ST_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
        break;
    }
    (void)gone;
    out->leader = leader;
    out->leader_epoch = part->lisr.leader_epoch + 1;
    out->controller_epoch = n->epoch;
    out->isr = nisr;
    return 0;
}

static const char *strategy_name(ctl_strategy_t s)
{
    switch (s) {
    case ELECT_OFFLINE: return "offline partition election";
    case ELECT_UNCLEAN: return "unclean election";
    case ELECT_PREFERRED: return "preferred replica election";
    case ELECT_CONTROLLED_SHUTDOWN: return "controlled shutdown election";
    }
    return "?";
}

/* The shared write loop: ops[i].tag indexes refs; new states in nls[i]. */
static int write_loop(st_node_t *n, ctl_tpref_t *refs, size_t count, ctl_strategy_t strategy,
                      int32_t gone)
{
    ctl_zop_t *ops = calloc(count ? count : 1, sizeof(*ops));
    st_lisr_t *nls = calloc(count ? count : 1, sizeof(*nls));
    bool *pending = calloc(count ? count : 1, 1);
    if (!ops || !nls || !pending) {
        free(ops); free(nls); free(pending);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++)
        pending[i] = true;
    int ret = 0;
    for (int attempt = 0; attempt < 5 && ret != -ESTALE; attempt++) {
        size_t k = 0;
        for (size_t i = 0; i < count; i++) {
            if (!pending[i])
                continue;
            ctl_tpref_t *ref = &refs[i];
            ctl_part_t *part = &ref->t->parts[ref->p];
            st_lisr_t nl = { 0 };
            int e;
            if (gone >= 0) {   /* replica offline: ISR shrink, leader -1 if it led */
                e = part->has_lisr ? 0 : ST_ERR_LEADER_NOT_AVAILABLE;
                if (e == 0 && ctl_rule_isr_remove(&part->lisr.isr, gone, &nl.isr) < 0)
                    e = ST_ERR_UNKNOWN_SERVER_ERROR;
                nl.leader = part->lisr.leader == gone ? ST_LEADER_NONE : part->lisr.leader;
                nl.leader_epoch = part->lisr.leader_epoch + 1;
                nl.controller_epoch = n->epoch;
            } else {
                e = compute(n, ref, strategy, gone, &nl);
            }
            if (e) {
                ref->err = e;
                pending[i] = false;
                st_lisr_free(&nl);
                continue;
            }
            ctl_zop_t *op = &ops[k++];
            memset(op, 0, sizeof(*op));
            op->kind = ZOP_SET;
            st_zpath_partition_state(op->path, sizeof(op->path), ref->t->name, ref->p);
            op->data = st_znode_lisr_encode(&nl);
            op->version = part->lisr.zk_version;
            op->tag = (int)i;
            st_lisr_free(&nls[i]);
            nls[i] = nl;
        }
        if (k == 0)
            break;
        int r = ctl_zk_fenced(n, ops, k);
        for (size_t j = 0; j < k; j++) {
            size_t i = (size_t)ops[j].tag;
            if (ops[j].done) {
                apply_written(n, refs[i].t, refs[i].p, &nls[i], ops[j].stat.version,
                              gone >= 0 ? "replica offline" : strategy_name(strategy));
                announce(n, refs[i].t, refs[i].p, false);
                refs[i].err = 0;
                pending[i] = false;
            } else if (ops[j].err == -ESTALE || ops[j].err == -ENOENT) {
                /* someone else wrote it: re-read and try again */
                ctl_zk_read_state(n, refs[i].t, refs[i].p);
            }
        }
        ctl_zops_free(ops, k);
        if (r == -ESTALE || r == -ESHUTDOWN) {
            ret = -ESTALE;
            break;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (pending[i])
            refs[i].err = ret == -ESTALE ? ST_ERR_NOT_CONTROLLER : ST_ERR_UNKNOWN_SERVER_ERROR;
        st_lisr_free(&nls[i]);
    }
    free(ops);
    free(nls);
    free(pending);
    return ret;
}

int ctl_elect_partitions(st_node_t *n, ctl_tpref_t *refs, size_t count, ctl_strategy_t strategy)
{
    return write_loop(n, refs, count, strategy, -1);
}

int ctl_replicas_offline(st_node_t *n, ctl_tpref_t *refs, size_t count, int32_t broker)
{
    /* only partitions whose ISR or leadership the broker is part of need a write */
    ctl_tpref_t *w = calloc(count ? count : 1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        ctl_part_t *part = &refs[i].t->parts[refs[i].p];
        for (size_t r = 0; r < part->replicas.n; r++)
            if (part->replicas.v[r] == broker && part->rstate[r] != RS_OFFLINE &&
                part->rstate[r] < RS_DELETION_STARTED)
                ctl_replica_set_state(refs[i].t, refs[i].p, r, RS_OFFLINE);
        if (part->has_lisr && (part->lisr.leader == broker ||
                               (st_int_list_contains(&part->lisr.isr, broker) && part->lisr.isr.n > 1)))
            w[k++] = refs[i];
    }
    int r = write_loop(n, w, k, ELECT_OFFLINE, broker);
    free(w);
    return r;
}

int ctl_create_partitions(st_node_t *n, ctl_tpref_t *refs, size_t count)
{
    ctl_zop_t *ops = calloc(count ? count : 1, sizeof(*ops));
    st_lisr_t *nls = calloc(count ? count : 1, sizeof(*nls));
    if (!ops || !nls) {
        free(ops); free(nls);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        ctl_tpref_t *ref = &refs[i];
        ctl_part_t *part = &ref->t->parts[ref->p];
        st_lisr_t nl = { .leader = -1, .leader_epoch = 0, .controller_epoch = n->epoch };
        for (size_t r = 0; r < part->replicas.n; r++) {
            int32_t b = part->replicas.v[r];
            if (!ctl_live(n, b))
                continue;
            if (nl.leader < 0 && !ctl_broker(n, b)->shutting_down)
                nl.leader = b;
            int32_t *v = realloc(nl.isr.v, (nl.isr.n + 1) * sizeof(*v));
            if (v) {
                v[nl.isr.n++] = b;
                nl.isr.v = v;
            }
        }
        if (nl.leader < 0) {
            ST_ERROR("Partition %s-%d: none of its replicas is alive: it stays new (offline)",
                     ref->t->name, ref->p);
            ref->err = ST_ERR_LEADER_NOT_AVAILABLE;
            st_lisr_free(&nl);
            continue;
        }
        char path[320];
        snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d", ref->t->name, ref->p);
        st_zk_ensure_path(n->zk, path);
        ctl_zop_t *op = &ops[k++];
        op->kind = ZOP_CREATE;
        st_zpath_partition_state(op->path, sizeof(op->path), ref->t->name, ref->p);
        op->data = st_znode_lisr_encode(&nl);
        op->tag = (int)i;
        nls[i] = nl;
    }
    int ret = 0;
    for (int attempt = 0; attempt < 3 && k; attempt++) {
        int r = ctl_zk_fenced(n, ops, k);
        if (r == -ESTALE || r == -ESHUTDOWN) {
            ret = -ESTALE;
            break;
        }
        bool again = false;
        for (size_t j = 0; j < k; j++) {
            ctl_zop_t *op = &ops[j];
            if (op->err == -EEXIST && !op->done) {
                /* already created (a previous controller): adopt it */
                size_t i = (size_t)op->tag;
                op->done = true;
                op->err = 0;
                ctl_zk_read_state(n, refs[i].t, refs[i].p);
                ctl_part_t *part = &refs[i].t->parts[refs[i].p];
                ctl_part_set_state(refs[i].t, refs[i].p,
                                   part->has_lisr && part->lisr.leader >= 0 &&
                                           ctl_live(n, part->lisr.leader) &&
                                           st_int_list_contains(&part->lisr.isr, part->lisr.leader)
                                       ? PS_ONLINE : PS_OFFLINE);
                announce(n, refs[i].t, refs[i].p, false);
                st_lisr_free(&nls[i]);
                nls[i].isr.n = 0;
                nls[i].leader = -3;   /* handled */
                again = true;
            }
        }
        if (!again)
            break;
    }
    for (size_t j = 0; j < k; j++) {
        size_t i = (size_t)ops[j].tag;
        if (nls[i].leader == -3)
            continue;
        if (ops[j].done) {
            ctl_topic_t *t = refs[i].t;
            apply_written(n, t, refs[i].p, &nls[i], 0, "new partition");
            ctl_part_t *part = &t->parts[refs[i].p];
            for (size_t r = 0; r < part->replicas.n; r++)
                ctl_replica_set_state(t, refs[i].p, r,
                                      ctl_live(n, part->replicas.v[r]) ? RS_ONLINE : RS_OFFLINE);
            announce(n, t, refs[i].p, true);
            refs[i].err = 0;
        } else {
            refs[i].err = ret == -ESTALE ? ST_ERR_NOT_CONTROLLER : ST_ERR_UNKNOWN_SERVER_ERROR;
        }
        st_lisr_free(&nls[i]);
    }
    ctl_zops_free(ops, k);
    free(ops);
    free(nls);
    return ret;
}

int ctl_trigger_online(st_node_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < n->n_topics; i++)
        total += (size_t)n->topics[i].n_parts;
    ctl_tpref_t *news = calloc(total ? total : 1, sizeof(*news));
    ctl_tpref_t *offs = calloc(total ? total : 1, sizeof(*offs));
    if (!news || !offs) {
        free(news); free(offs);
        return -ENOMEM;
    }
    size_t nn = 0, no = 0;
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        if (t->deleting)
            continue;
        for (int32_t p = 0; p < t->n_parts; p++) {
            ctl_part_t *part = &t->parts[p];
            if (part->state == PS_ONLINE && !ctl_live(n, part->lisr.leader))
                ctl_part_set_state(t, p, PS_OFFLINE);
            if (part->state == PS_NEW)
                news[nn++] = (ctl_tpref_t){ t, p, 0 };
            else if (part->state == PS_OFFLINE)
                offs[no++] = (ctl_tpref_t){ t, p, 0 };
        }
    }
    int r = nn ? ctl_create_partitions(n, news, nn) : 0;
    if (r != -ESTALE && no)
        r = ctl_elect_partitions(n, offs, no, ELECT_OFFLINE);
    free(news);
    free(offs);
    return r;
}
