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
 * Leader and ISR computations are st_assign's (Kafka's PartitionLeaderElectionAlgorithms, the
 * new-partition rule and ReplicaStateMachine's ISR shrink, invariants E1-E3 asserted there);
 * this file only feeds them the cache and writes what they return, fenced and conditional on
 * each znode's version (P4), re-reading and retrying what another writer changed.
 * Writes of one call are pipelined (ctl_zk_fenced), and so are the re-reads. */
#include "st_ctl.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
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
void ctl_part_init_state(st_node_t *n, ctl_topic_t *t, int32_t p)
{
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

void ctl_part_init_states(st_node_t *n, ctl_topic_t *t)
{
    for (int32_t p = 0; p < t->n_parts; p++)
        ctl_part_init_state(n, t, p);
}

/* ---- st_assign's view of the cache ----------------------------------------------------------- */

int ctl_cluster_build(const st_node_t *n, ctl_cluster_t *ret)
{
    int32_t *live = malloc((n->n_brokers + 1) * sizeof(*live));
    int32_t *shut = malloc((n->n_brokers + 1) * sizeof(*shut));
    if (!live || !shut) {
        free(live);
        free(shut);
        return -ENOMEM;
    }
    size_t nl = 0, ns = 0;
    for (size_t i = 0; i < n->n_brokers; i++) {
        live[nl++] = n->brokers[i].reg.id;
        if (n->brokers[i].shutting_down)
            shut[ns++] = n->brokers[i].reg.id;
    }
    nl = st_assign_idset_normalize(live, nl);
    ns = st_assign_idset_normalize(shut, ns);
    *ret = (ctl_cluster_t){ .c = { .live = { live, nl }, .shutting_down = { shut, ns } },
                            .live = live, .shutting = shut };
    return 0;
}

void ctl_cluster_free(ctl_cluster_t *c)
{
    free(c->live);
    free(c->shutting);
    memset(c, 0, sizeof(*c));
}

st_assign_partition_t ctl_assign_part(const ctl_part_t *part)
{
    return (st_assign_partition_t){ .replicas = part->replicas.v, .n_replicas = part->replicas.n,
                                    .isr = part->has_lisr ? part->lisr.isr.v : NULL,
                                    .n_isr = part->has_lisr ? part->lisr.isr.n : 0,
                                    .leader = part->has_lisr ? part->lisr.leader
                                                             : ST_ASSIGN_NO_LEADER };
}

/* An election's ISR as an owned list (isr_buf is handed over). */
static st_int_list_t take_isr(int32_t *isr_buf, const st_assign_election_t *el)
{
    return (st_int_list_t){ .v = isr_buf, .n = el->isr_len };
}

/* ---- announcing and caching what was written ---------------------------------------------------- */

static void format_list(const st_int_list_t *l, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < l->n && off + 12 < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%d", i ? "," : "", l->v[i]);
}

/* Queues LeaderAndIsr to the online replicas (live, and not on a failed log dir: Kafka sends
 * none to those) and UpdateMetadata to everyone. */
static void announce(st_node_t *n, ctl_topic_t *t, int32_t p, bool is_new)
{
    ctl_part_t *part = &t->parts[p];
    for (size_t i = 0; i < part->replicas.n; i++)
        if (ctl_replica_online(n, part, i))
            ctl_batch_leader_and_isr(n, part->replicas.v[i], t, p, is_new);
    ctl_batch_update_metadata(n, t, p);
}

/* The state a cached leader-and-ISR implies (Online needs an online leader in the ISR: P2). */
static ctl_pstate_t implied_state(st_node_t *n, const ctl_part_t *part)
{
    return part->has_lisr && part->lisr.leader >= 0 &&
                   ctl_broker_replica_online(n, part, part->lisr.leader) &&
                   st_int_list_contains(&part->lisr.isr, part->lisr.leader) &&
                   st_int_list_contains(&part->replicas, part->lisr.leader)
               ? PS_ONLINE : PS_OFFLINE;
}

/* After a re-read: the partition's state follows what ZooKeeper holds now. */
static void refresh_state(st_node_t *n, ctl_topic_t *t, int32_t p)
{
    ctl_part_t *part = &t->parts[p];
    if (part->state == PS_NEW && !part->has_lisr)
        return;
    ctl_part_set_state(t, p, implied_state(n, part));
}

/* Applies a written state to the cache and logs a leader change. */
static void apply_written(st_node_t *n, ctl_topic_t *t, int32_t p, st_lisr_t *nl, int version,
                          const char *why)
{
    ctl_part_t *part = &t->parts[p];
    int32_t old = part->has_lisr ? part->lisr.leader : -1;
    assert(nl->isr.n >= 1 && "P5: an ISR is never written empty");
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
    ctl_part_set_state(t, p, implied_state(n, part));
}

/* ---- computing new states ------------------------------------------------------------------- */

/* The new state of ref under strategy (gone >= 0: replica `gone` leaves the ISR instead).
 * 0 with *out filled, or an ST_ERR_* code. */
static int compute(st_node_t *n, const ctl_cluster_t *cl, ctl_tpref_t *ref,
                   ctl_strategy_t strategy, int32_t gone, st_lisr_t *out)
{
    ctl_part_t *part = &ref->t->parts[ref->p];
    if (!part->has_lisr)
        return ST_ERR_LEADER_NOT_AVAILABLE;
    if (part->lisr.controller_epoch > n->epoch) {
        ST_WARN("Partition %s-%d: state written by controller epoch %d, newer than ours (%d)",
                ref->t->name, ref->p, part->lisr.controller_epoch, n->epoch);
        return ST_ERR_STALE_CONTROLLER_EPOCH;
    }
    st_assign_partition_t ap = ctl_assign_part(part);
    size_t cap = part->lisr.isr.n + part->replicas.n + 1;
    int32_t *buf = malloc(cap * sizeof(*buf));
    if (!buf)
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    /* Replicas on a failed log dir are not online (Kafka's isReplicaOnline): the elections
     * see this partition's cluster without their brokers. */
    st_assign_cluster_t pc = cl->c;
    int32_t *live = NULL;
    if (part->dir_offline) {
        live = malloc((cl->c.live.len + 1) * sizeof(*live));
        if (!live) {
            free(buf);
            return ST_ERR_UNKNOWN_SERVER_ERROR;
        }
        size_t m = 0;
        for (size_t i = 0; i < cl->c.live.len; i++)
            if (ctl_broker_replica_online(n, part, cl->c.live.ids[i]))
                live[m++] = cl->c.live.ids[i];
        pc.live = (st_assign_idset_t){ live, m };
    }
    const st_assign_cluster_t *pcl = &pc;
    st_assign_election_t el;
    int rc;
    int err = 0;
    if (gone >= 0) {
        rc = st_assign_remove_from_isr(&ap, gone, buf, cap, &el);
    } else {
        switch (strategy) {
        case ELECT_OFFLINE:
        case ELECT_UNCLEAN:
            rc = st_assign_elect_offline(&ap, pcl,
                                         strategy == ELECT_UNCLEAN || ctl_topic_unclean(n, ref->t),
                                         buf, cap, &el);
            if (rc == 0 && el.leader == ST_ASSIGN_NO_LEADER)
                err = ST_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
            else if (rc == 0 && el.unclean)
                ST_WARN("Unclean leader election for partition %s-%d: broker %d was not in the "
                        "ISR; data may be lost", ref->t->name, ref->p, el.leader);
            break;
        case ELECT_PREFERRED:
            rc = st_assign_elect_preferred(&ap, pcl, buf, cap, &el);
            if (rc == 0 && el.leader == ST_ASSIGN_NO_LEADER)
                err = ST_ERR_PREFERRED_LEADER_NOT_AVAILABLE;
            else if (rc == 0 && el.leader == part->lisr.leader)
                err = ST_ERR_ELECTION_NOT_NEEDED;
            break;
        case ELECT_CONTROLLED_SHUTDOWN:
            rc = st_assign_elect_controlled_shutdown(&ap, pcl, buf, cap, &el);
            if (rc == 0 && el.leader == ST_ASSIGN_NO_LEADER)
                err = ST_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
            break;
        default:
            rc = -EINVAL;
        }
    }
    free(live);
    if (rc < 0 || err) {
        free(buf);
        return rc < 0 ? ST_ERR_UNKNOWN_SERVER_ERROR : err;
    }
    out->leader = el.leader;
    out->leader_epoch = part->lisr.leader_epoch + 1;
    out->controller_epoch = n->epoch;
    out->isr = take_isr(buf, &el);
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

/* ---- the write pipeline ---------------------------------------------------------------------- */

/* The shared write loop: computes every pending partition's new state, writes them all (fenced,
 * conditional on the cached version), applies the successes, re-reads the partitions another
 * writer changed (BADVERSION / NONODE) in one pipelined batch and goes round again. */
static int write_loop(st_node_t *n, ctl_tpref_t *refs, size_t count, ctl_strategy_t strategy,
                      int32_t gone)
{
    ctl_zop_t *ops = calloc(count ? count : 1, sizeof(*ops));
    st_lisr_t *nls = calloc(count ? count : 1, sizeof(*nls));
    bool *pending = calloc(count ? count : 1, 1);
    ctl_tpref_t *stale = calloc(count ? count : 1, sizeof(*stale));
    ctl_cluster_t cl;
    if (!ops || !nls || !pending || !stale || ctl_cluster_build(n, &cl) < 0) {
        free(ops); free(nls); free(pending); free(stale);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++)
        pending[i] = true;
    int ret = 0;
    for (int attempt = 0; attempt < 5 && ret != CTL_DEPOSED; attempt++) {
        size_t k = 0;
        for (size_t i = 0; i < count; i++) {
            if (!pending[i])
                continue;
            ctl_tpref_t *ref = &refs[i];
            ctl_part_t *part = &ref->t->parts[ref->p];
            st_lisr_t nl = { 0 };
            int e = compute(n, &cl, ref, strategy, gone, &nl);
            if (e) {
                ref->err = e;
                pending[i] = false;
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
        size_t ns = 0;
        for (size_t j = 0; j < k; j++) {
            size_t i = (size_t)ops[j].tag;
            if (ops[j].done) {
                apply_written(n, refs[i].t, refs[i].p, &nls[i], ops[j].stat.version,
                              gone >= 0 ? "replica offline" : strategy_name(strategy));
                announce(n, refs[i].t, refs[i].p, false);
                refs[i].err = 0;
                pending[i] = false;
            } else if (ops[j].err == -ESTALE || ops[j].err == -ENOENT) {
                stale[ns++] = refs[i];   /* someone else wrote it: re-read, try again */
            }
        }
        ctl_zops_free(ops, k);
        if (r == CTL_DEPOSED) {
            ret = CTL_DEPOSED;
            break;
        }
        if (ns && ctl_zk_read_states(n, stale, ns) == 0)
            for (size_t j = 0; j < ns; j++)
                refresh_state(n, stale[j].t, stale[j].p);
    }
    for (size_t i = 0; i < count; i++) {
        if (pending[i])
            refs[i].err = ret == CTL_DEPOSED ? ST_ERR_NOT_CONTROLLER : ST_ERR_UNKNOWN_SERVER_ERROR;
        st_lisr_free(&nls[i]);
    }
    ctl_cluster_free(&cl);
    free(ops);
    free(nls);
    free(pending);
    free(stale);
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

/* ---- new partitions --------------------------------------------------------------------------- */

typedef struct topic_kids {
    const ctl_topic_t *t;
    char path[320];
    st_zk_read_t rd;            /* children of /brokers/topics/<t>/partitions */
} topic_kids_t;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool kid_exists(const topic_kids_t *k, int32_t p)
{
    char name[16];
    const char *key = name;
    snprintf(name, sizeof(name), "%d", p);
    return k->rd.rc == 0 &&
           bsearch(&key, k->rd.names, k->rd.n_names, sizeof(char *), cmp_name) != NULL;
}

static bool kid_eq(const void *ctx, size_t pos, const void *key)
{
    return ((const topic_kids_t *)ctx)[pos].t == key;
}

/* Builds the fenced creates for refs[i] with pending[i]: the missing parents (listed first, in
 * one pipelined batch) and the state znode holding nls[i]. Every create is fenced, parents
 * included: a deposed controller writes nothing. Returns the op count (0 on OOM). */
static size_t create_ops(st_node_t *n, ctl_tpref_t *refs, size_t count, const bool *pending,
                         st_lisr_t *nls, ctl_zop_t *ops)
{
    topic_kids_t *kids = calloc(count + 1, sizeof(*kids));
    size_t *kid_of = calloc(count + 1, sizeof(*kid_of));
    st_zk_read_t *reads = calloc(count + 1, sizeof(*reads));
    bool *parent_queued = calloc(count + 1, 1);
    ctl_index_t ix = { 0 };
    size_t nk = 0, k = 0;
    bool ok = kids && kid_of && reads && parent_queued;
    for (size_t i = 0; ok && i < count; i++) {
        if (!pending[i])
            continue;
        uint64_t h = ctl_hash_mix(0, (uint64_t)(uintptr_t)refs[i].t);
        size_t j = ctl_index_find(&ix, h, kid_eq, kids, refs[i].t);
        if (j == SIZE_MAX) {
            j = nk++;
            kids[j].t = refs[i].t;
            snprintf(kids[j].path, sizeof(kids[j].path), "/brokers/topics/%s/partitions",
                     refs[i].t->name);
            ok = ctl_index_add(&ix, h, j) == 0;
        }
        kid_of[i] = j;
    }
    if (ok) {
        for (size_t j = 0; j < nk; j++)
            reads[j].path = kids[j].path;
        st_zk_children_many(n->zk, reads, nk);
        for (size_t j = 0; j < nk; j++)
            kids[j].rd = reads[j];
    }
    for (size_t i = 0; ok && i < count; i++) {
        if (!pending[i])
            continue;
        topic_kids_t *tk = &kids[kid_of[i]];
        if (tk->rd.rc == -ENOENT && !parent_queued[kid_of[i]]) {
            parent_queued[kid_of[i]] = true;
            ops[k] = (ctl_zop_t){ .kind = ZOP_CREATE, .tag = -1 };
            snprintf(ops[k++].path, sizeof(ops[0].path), "%s", tk->path);
        }
        if (!kid_exists(tk, refs[i].p)) {
            ops[k] = (ctl_zop_t){ .kind = ZOP_CREATE, .tag = -1 };
            int len = snprintf(ops[k].path, sizeof(ops[0].path), "/brokers/topics/%s/partitions/%d",
                               refs[i].t->name, refs[i].p);
            (void)len;   /* topic names are at most 249 characters: it fits */
            k++;
        }
        ops[k] = (ctl_zop_t){ .kind = ZOP_CREATE, .tag = (int)i,
                              .data = st_znode_lisr_encode(&nls[i]) };
        st_zpath_partition_state(ops[k++].path, sizeof(ops[0].path), refs[i].t->name, refs[i].p);
    }
    for (size_t j = 0; kids && j < nk; j++)
        st_zk_reads_free(&kids[j].rd, 1);
    ctl_index_clear(&ix);
    free(parent_queued);
    free(kids);
    free(kid_of);
    free(reads);
    return k;
}

int ctl_create_partitions(st_node_t *n, ctl_tpref_t *refs, size_t count)
{
    ctl_zop_t *ops = calloc(3 * count + 1, sizeof(*ops));
    st_lisr_t *nls = calloc(count ? count : 1, sizeof(*nls));
    bool *pending = calloc(count ? count : 1, 1);
    ctl_tpref_t *adopt = calloc(count ? count : 1, sizeof(*adopt));
    size_t *adopt_of = calloc(count ? count : 1, sizeof(*adopt_of));
    ctl_cluster_t cl;
    if (!ops || !nls || !pending || !adopt || !adopt_of || ctl_cluster_build(n, &cl) < 0) {
        free(ops); free(nls); free(pending); free(adopt); free(adopt_of);
        return -ENOMEM;
    }
    /* NewPartition -> OnlinePartition: leader = first online replica, ISR = online replicas */
    for (size_t i = 0; i < count; i++) {
        ctl_part_t *part = &refs[i].t->parts[refs[i].p];
        st_assign_partition_t ap = ctl_assign_part(part);
        size_t cap = part->replicas.n + 1;
        int32_t *buf = malloc(cap * sizeof(*buf));
        st_assign_election_t el;
        if (!buf || st_assign_elect_new(&ap, &cl.c, buf, cap, &el) < 0) {
            free(buf);
            refs[i].err = ST_ERR_UNKNOWN_SERVER_ERROR;
            continue;
        }
        if (el.leader == ST_ASSIGN_NO_LEADER) {
            ST_ERROR("Partition %s-%d: none of its replicas is online: it stays new (offline)",
                     refs[i].t->name, refs[i].p);
            refs[i].err = ST_ERR_LEADER_NOT_AVAILABLE;
            free(buf);
            continue;
        }
        nls[i] = (st_lisr_t){ .leader = el.leader, .leader_epoch = 0,
                              .controller_epoch = n->epoch, .isr = take_isr(buf, &el) };
        pending[i] = true;
    }
    int ret = 0;
    for (int attempt = 0; attempt < 3 && ret == 0; attempt++) {
        size_t k = create_ops(n, refs, count, pending, nls, ops);
        if (k == 0)
            break;
        int r = ctl_zk_fenced(n, ops, k);
        size_t na = 0;
        for (size_t j = 0; j < k; j++) {
            if (ops[j].tag < 0)
                continue;
            size_t i = (size_t)ops[j].tag;
            ctl_topic_t *t = refs[i].t;
            if (ops[j].done) {
                apply_written(n, t, refs[i].p, &nls[i], 0, "new partition");
                ctl_part_t *part = &t->parts[refs[i].p];
                for (size_t rr = 0; rr < part->replicas.n; rr++)
                    ctl_replica_set_state(t, refs[i].p, rr, ctl_live(n, part->replicas.v[rr])
                                                                ? RS_ONLINE : RS_OFFLINE);
                announce(n, t, refs[i].p, true);
                refs[i].err = 0;
                pending[i] = false;
            } else if (ops[j].err == -EEXIST) {
                refs[i].err = ST_ERR_UNKNOWN_SERVER_ERROR;   /* until adopted below */
                adopt_of[na] = i;        /* created by an earlier controller: adopt it */
                adopt[na++] = refs[i];
                pending[i] = false;
            }
        }
        ctl_zops_free(ops, k);
        if (r == CTL_DEPOSED) {
            ret = CTL_DEPOSED;
            break;
        }
        if (na && ctl_zk_read_states(n, adopt, na) == 0) {
            for (size_t j = 0; j < na; j++) {
                ctl_topic_t *t = adopt[j].t;
                ctl_part_t *part = &t->parts[adopt[j].p];
                if (!part->has_lisr)
                    continue;   /* gone again: the next event sees it as new */
                ctl_part_set_state(t, adopt[j].p, implied_state(n, part));
                announce(n, t, adopt[j].p, false);
                refs[adopt_of[j]].err = 0;
            }
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (pending[i])
            refs[i].err = ret == CTL_DEPOSED ? ST_ERR_NOT_CONTROLLER : ST_ERR_UNKNOWN_SERVER_ERROR;
        st_lisr_free(&nls[i]);
    }
    ctl_cluster_free(&cl);
    free(ops);
    free(nls);
    free(pending);
    free(adopt);
    free(adopt_of);
    return ret;
}

int ctl_trigger_online(st_node_t *n)
{
    size_t total = ctl_partition_count(n);
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
            if (part->state == PS_ONLINE &&
                !ctl_broker_replica_online(n, part, part->lisr.leader))
                ctl_part_set_state(t, p, PS_OFFLINE);
            if (part->state == PS_NEW)
                news[nn++] = (ctl_tpref_t){ t, p, 0 };
            else if (part->state == PS_OFFLINE)
                offs[no++] = (ctl_tpref_t){ t, p, 0 };
        }
    }
    int r = nn ? ctl_create_partitions(n, news, nn) : 0;
    if (r != CTL_DEPOSED && no)
        r = ctl_elect_partitions(n, offs, no, ELECT_OFFLINE);
    free(news);
    free(offs);
    return r;
}
