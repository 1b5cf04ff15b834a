/* Controller election and failover (reference §2.1-2.3): the /controller + /controller_epoch
 * multi, resignation, onControllerFailover (watches, context load, UpdateMetadata to all, the
 * state machines' startup, "Ready to serve"), broker changes (new / dead / bounced by czxid),
 * topic creation and partition additions, and the dispatch of ZooKeeper events. Node thread.
 *
 * The office (who performs each transition):
 *   out of office --ctl_elect (our multi won: epoch + 1)--> in office --failover--> ready
 *   in office --ctl_resign (deposed at the end of an event, /controller gone or taken, session
 *               expired, candidacy withdrawn, stopping, failover failed)--> out of office
 * Context invariants (ctl_context_check, asserted at the end of every event in office):
 *   C1. out of office, the context is empty (no brokers, topics, index, channel or batch);
 *       ctl_resign frees all of it, so nothing of an old term leaks into the next.
 *   C2. topic_ix indexes exactly n->topics: one entry per topic, found at its own position
 *       (ctl_topic_add / ctl_topic_remove keep it so; a swap-remove moves one entry).
 *   C3. broker ids are unique; a bounced broker (larger czxid) replaces its old entry.
 *   C4. every write of this term carries epoch_zkversion, the /controller_epoch version our
 *       winning multi produced (st_ctl_zk.c), and every request the epoch (st_ctl_requests.c). */
#include "st_ctl.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "st_error.h"
#include "st_logger.h"

/* ---- context lookups ------------------------------------------------------------------------ */

ctl_broker_t *ctl_broker(st_node_t *n, int32_t id)
{
    for (size_t i = 0; i < n->n_brokers; i++)
        if (n->brokers[i].reg.id == id)
            return &n->brokers[i];
    return NULL;
}

bool ctl_live(st_node_t *n, int32_t id) { return id >= 0 && ctl_broker(n, id) != NULL; }

bool ctl_live_not_shutting(st_node_t *n, int32_t id)
{
    ctl_broker_t *b = id >= 0 ? ctl_broker(n, id) : NULL;
    return b && !b->shutting_down;
}

static bool topic_eq(const void *ctx, size_t pos, const void *key)
{
    return strcmp(((const st_node_t *)ctx)->topics[pos].name, key) == 0;
}

ctl_topic_t *ctl_topic(st_node_t *n, const char *name)
{
    size_t i = ctl_index_find(&n->topic_ix, ctl_hash_str(name), topic_eq, n, name);
    return i == SIZE_MAX ? NULL : &n->topics[i];
}

bool ctl_topic_unclean(st_node_t *n, const ctl_topic_t *t)
{
    const char *v = st_topic_overrides_get(&t->cfg, "unclean.leader.election.enable");
    if (v)
        return strcasecmp(v, "true") == 0;
    return atomic_load(&n->unclean_default);
}

int ctl_topic_add(st_node_t *n, ctl_topic_t *t)
{
    assert(!ctl_topic(n, t->name) && "a topic is cached once");
    ctl_topic_t *grown = realloc(n->topics, (n->n_topics + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    n->topics = grown;
    if (ctl_index_add(&n->topic_ix, ctl_hash_str(t->name), n->n_topics) < 0)
        return -ENOMEM;
    n->topics[n->n_topics++] = *t;
    memset(t, 0, sizeof(*t));
    return 0;
}

void ctl_topic_remove(st_node_t *n, size_t i)
{
    assert(i < n->n_topics);
    ctl_index_remove(&n->topic_ix, ctl_hash_str(n->topics[i].name), i);
    ctl_topic_free(&n->topics[i]);
    size_t last = --n->n_topics;
    if (i != last) {
        ctl_index_move(&n->topic_ix, ctl_hash_str(n->topics[last].name), last, i);
        n->topics[i] = n->topics[last];
    }
}

bool ctl_context_check(st_node_t *n)
{
    if (!n->in_office)
        return !n->topics && !n->n_topics && !n->brokers && !n->n_brokers && !n->topic_ix.n &&
               !n->chan && !n->batch;                                          /* C1 */
    if (n->topic_ix.n != n->n_topics)
        return false;                                                          /* C2 */
    for (size_t i = 0; i < n->n_topics; i++)
        if (ctl_topic(n, n->topics[i].name) != &n->topics[i])
            return false;                                                      /* C2 */
    for (size_t i = 0; i < n->n_brokers; i++)
        for (size_t j = i + 1; j < n->n_brokers; j++)
            if (n->brokers[i].reg.id == n->brokers[j].reg.id)
                return false;                                                  /* C3 */
    return true;
}

size_t ctl_partition_count(const st_node_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < n->n_topics; i++)
        total += (size_t)n->topics[i].n_parts;
    return total;
}

static void free_context(st_node_t *n)
{
    for (size_t i = 0; i < n->n_topics; i++)
        ctl_topic_free(&n->topics[i]);
    free(n->topics);
    n->topics = NULL;
    n->n_topics = 0;
    ctl_index_clear(&n->topic_ix);
    ctl_brokers_free(n->brokers, n->n_brokers);
    n->brokers = NULL;
    n->n_brokers = 0;
}

/* ---- election -------------------------------------------------------------------------------- */

static void note_controller(st_node_t *n, int32_t id, int32_t epoch)
{
    int32_t old = atomic_exchange(&n->controller_id, id);
    if (epoch >= 0)
        atomic_store(&n->controller_epoch, epoch);
    if (old != id && n->cfg.on_controller_change)
        n->cfg.on_controller_change(n->cfg.cb_arg, id, atomic_load(&n->controller_epoch));
}

/* Reads /controller with a watch; returns its broker id or -1 (absent or garbage). */
static int32_t read_controller(st_node_t *n)
{
    char *data = NULL;
    int len = 0;
    int r = st_zk_get(n->zk, ST_ZPATH_CONTROLLER, true, &data, &len, NULL);
    if (r == -ENOENT) {
        st_zk_exists(n->zk, ST_ZPATH_CONTROLLER, true, NULL);   /* watch its creation */
        return -1;
    }
    if (r < 0)
        return -1;
    int32_t id = -1;
    char err[256];
    if (st_znode_controller_decode(ST_ZPATH_CONTROLLER, data, data ? (size_t)len : 0, &id, err,
                                   sizeof(err)) < 0) {
        ST_ERROR("%s", err);
        id = -1;
    }
    free(data);
    return id;
}

static void failover(st_node_t *n);

void ctl_elect(st_node_t *n)
{
    if (!atomic_load(&n->stand) || atomic_load(&n->stop) || n->session != SESSION_REGISTERED)
        return;   /* unregistered: session_register stands again once it is done (N4) */
    int32_t cur = read_controller(n);
    if (cur >= 0) {
        struct Stat cst;
        if (cur == n->broker_id && !n->in_office &&
            st_zk_exists(n->zk, ST_ZPATH_CONTROLLER, false, &cst) == 0 &&
            cst.ephemeralOwner == st_zk_session_id(n->zk)) {
            /* ours but we resigned: give it up so that a fresh election takes place */
            st_zk_delete(n->zk, ST_ZPATH_CONTROLLER, cst.version);
            cur = read_controller(n);
        }
        if (cur >= 0) {
            note_controller(n, cur, -1);
            return;
        }
    }
    if (n->in_office)
        return;
    /* 1. read /controller_epoch (create it with 0 when absent) */
    char *data = NULL;
    int len = 0;
    struct Stat st;
    int r = st_zk_get(n->zk, ST_ZPATH_CONTROLLER_EPOCH, false, &data, &len, &st);
    if (r == -ENOENT) {
        r = st_zk_create(n->zk, ST_ZPATH_CONTROLLER_EPOCH, "0", 1, 0, NULL, 0);
        if (r == 0 || r == -EEXIST)
            r = st_zk_get(n->zk, ST_ZPATH_CONTROLLER_EPOCH, false, &data, &len, &st);
    }
    if (r < 0) {
        ST_WARN("Controller election: cannot read %s: %s", ST_ZPATH_CONTROLLER_EPOCH,
                st_zk_strerror(r));
        return;
    }
    int32_t epoch = 0;
    char err[256];
    if (st_znode_controller_epoch_decode(ST_ZPATH_CONTROLLER_EPOCH, data,
                                         data ? (size_t)len : 0, &epoch, err, sizeof(err)) < 0) {
        /* A garbage epoch: take its version as a floor so the epoch still moves forward. */
        ST_ERROR("%s; using %d", err, st.version);
        epoch = st.version;
    }
    free(data);
    /* 2. the multi: create ephemeral /controller, set /controller_epoch at its version */
    char *cjson = st_znode_controller_encode(n->broker_id, ctl_wall_ms());
    char *ejson = st_znode_controller_epoch_encode(epoch + 1);
    if (!cjson || !ejson) {
        free(cjson);
        free(ejson);
        return;
    }
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    char created[64];
    struct Stat est;
    zoo_create_op_init(&ops[0], ST_ZPATH_CONTROLLER, cjson, (int)strlen(cjson),
                       &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, created, sizeof(created));
    zoo_set_op_init(&ops[1], ST_ZPATH_CONTROLLER_EPOCH, ejson, (int)strlen(ejson), st.version,
                    &est);
    r = st_zk_multi(n->zk, 2, ops, res, NULL);
    free(cjson);
    free(ejson);
    if (r < 0) {
        /* 3. lost (NODEEXISTS or BADVERSION): learn who won */
        int32_t winner = read_controller(n);
        if (winner >= 0)
            note_controller(n, winner, -1);
        ST_DEBUG("Controller election lost (%s); controller is %d", st_zk_strerror(r), winner);
        return;
    }
    n->epoch = epoch + 1;
    n->epoch_zkversion = est.version;
    n->in_office = true;
    n->resign_pending = false;
    atomic_store(&n->active, true);
    assert(ctl_node_check(n));
    note_controller(n, n->broker_id, n->epoch);
    ST_INFO("Broker %d won the controller election with epoch %d (epoch zkVersion %d)",
            n->broker_id, n->epoch, n->epoch_zkversion);
    read_controller(n);   /* re-arm the /controller watch */
    failover(n);
}

void ctl_resign(st_node_t *n, const char *why)
{
    if (!n->in_office)
        return;
    ST_INFO("Resigning as controller (epoch %d): %s", n->epoch, why);
    atomic_store(&n->active, false);
    ctl_batch_discard(n);
    ctl_channel_close(n);
    free_context(n);
    n->next_rebalance_ms = 0;
    n->resign_pending = false;
    n->in_office = false;
    if (atomic_load(&n->controller_id) == n->broker_id)
        note_controller(n, -1, -1);
    assert(ctl_node_check(n));
    assert(ctl_context_check(n));
}

/* ---- failover ------------------------------------------------------------------------------- */

/* Loads every topic (assignments, configs, states: three pipelined round trips) and marks the
 * ones queued for deletion. */
static int load_topics(st_node_t *n)
{
    char **names = NULL;
    size_t cnt = 0;
    int r = st_zk_children(n->zk, ST_ZPATH_BROKERS_TOPICS, true, &names, &cnt);
    if (r < 0)
        return r;
    ctl_topic_t *topics = NULL;
    size_t nt = 0;
    r = ctl_zk_load_topics(n, names, cnt, true, &topics, &nt);
    st_zk_free_strings(names, cnt);
    if (r < 0)
        return r;
    for (size_t i = 0; i < nt; i++)
        if (ctl_topic_add(n, &topics[i]) < 0)
            ctl_topic_free(&topics[i]);
    free(topics);
    /* topics queued for deletion */
    r = st_zk_children(n->zk, ST_ZPATH_DELETE_TOPICS, true, &names, &cnt);
    if (r == 0) {
        for (size_t i = 0; i < cnt; i++) {
            ctl_topic_t *t = ctl_topic(n, names[i]);
            if (t)
                t->deleting = true;
        }
        st_zk_free_strings(names, cnt);
    }
    return 0;
}

/* Replica state machine startup, second half (Kafka's replicaStateMachine.startup): every dead
 * broker named in a partition (assigned replica, leader or ISR member) goes OfflineReplica: it
 * leaves the ISRs (never below one member) and its leaderships become -1, before the partition
 * state machine elects -- so an ISR naming two dead brokers loses both, and a partition whose
 * last ISR member is dead shows no leader rather than the dead one. One batch of pipelined
 * writes per dead broker, not one write per partition. */
static bool names_broker(const ctl_part_t *part, int32_t id)
{
    if (part->has_lisr && (part->lisr.leader == id || st_int_list_contains(&part->lisr.isr, id)))
        return true;
    return st_int_list_contains(&part->replicas, id);
}

static void remove_dead_replicas(st_node_t *n)
{
    size_t total = ctl_partition_count(n), nd = 0, cap = 64;
    int32_t *dead = malloc(cap * sizeof(*dead));
    ctl_tpref_t *refs = malloc((total + 1) * sizeof(*refs));
    if (!dead || !refs) {
        free(dead);
        free(refs);
        return;
    }
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++) {
            ctl_part_t *part = &t->parts[p];
            for (size_t k = 0; k < part->replicas.n; k++) {
                if (ctl_live(n, part->replicas.v[k]))
                    continue;
                if (nd == cap) {
                    int32_t *g = realloc(dead, 2 * cap * sizeof(*g));
                    if (!g)
                        break;
                    dead = g;
                    cap *= 2;
                }
                dead[nd++] = part->replicas.v[k];
            }
            if (nd > 32 * 1024)        /* bound the scratch: duplicates go on normalising */
                nd = st_assign_idset_normalize(dead, nd);
        }
    }
    nd = st_assign_idset_normalize(dead, nd);
    for (size_t d = 0; d < nd && !n->resign_pending; d++) {
        size_t k = 0;
        for (size_t i = 0; i < n->n_topics; i++) {
            ctl_topic_t *t = &n->topics[i];
            for (int32_t p = 0; p < t->n_parts; p++)
                if (names_broker(&t->parts[p], dead[d]))
                    refs[k++] = (ctl_tpref_t){ t, p, 0 };
        }
        if (k && ctl_replicas_offline(n, refs, k, dead[d]) < 0)
            break;
    }
    free(dead);
    free(refs);
}

static void failover(st_node_t *n)
{
    int64_t t0 = ctl_now_ms();
    /* watches: /brokers/ids, /brokers/topics, /admin/delete_topics (children, set by the loads),
     * /admin/preferred_replica_election (exists), /isr_change_notification and
     * /log_dir_event_notification (children) */
    int r = ctl_zk_load_brokers(n, true, &n->brokers, &n->n_brokers);
    if (r == 0)
        r = load_topics(n);
    if (r < 0) {
        ST_ERROR("Controller failover: cannot load the cluster from ZooKeeper: %s",
                 st_zk_strerror(r));
        ctl_resign(n, "failover failed");
        st_zk_delete(n->zk, ST_ZPATH_CONTROLLER, -1);
        return;
    }
    int64_t t_load = ctl_now_ms();
    char **names = NULL;
    size_t cnt = 0;
    if (st_zk_children(n->zk, ST_ZPATH_ISR_CHANGE, true, &names, &cnt) == 0) {
        /* Strand uses AlterIsr; stale notifications are deleted (fenced), as Kafka does. */
        ctl_zop_t *ops = calloc(cnt ? cnt : 1, sizeof(*ops));
        for (size_t i = 0; ops && i < cnt; i++) {
            ops[i].kind = ZOP_DELETE;
            ops[i].version = -1;
            snprintf(ops[i].path, sizeof(ops[i].path), "%s/%s", ST_ZPATH_ISR_CHANGE, names[i]);
        }
        if (ops && cnt)
            ctl_zk_fenced(n, ops, cnt);
        free(ops);
        st_zk_free_strings(names, cnt);
    }
    ctl_log_dir_events_reset(n);   /* and the child watch on /log_dir_event_notification */
    for (size_t i = 0; i < n->n_topics; i++)
        ctl_part_init_states(n, &n->topics[i]);
    r = ctl_channel_open(n);
    if (r < 0) {
        ST_ERROR("Controller failover: cannot start the controller channel: %s", strerror(-r));
        ctl_resign(n, "failover failed");
        return;
    }
    /* brokers learn the live-broker list before any LeaderAndIsr */
    ctl_batch_update_metadata_empty(n);
    ctl_batch_send(n);
    /* replica state machine startup: LeaderAndIsr to every live replica of led partitions,
     * each with UpdateMetadata of the partition to every live broker (Kafka's
     * addLeaderAndIsrRequestForBrokers does both: brokers that restarted with the controller,
     * a whole cluster after a full stop, learn the partitions here); dead replicas leave the
     * ISR */
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++) {
            ctl_part_t *part = &t->parts[p];
            if (!part->has_lisr || part->lisr.leader < 0)
                continue;
            bool any = false;
            for (size_t k = 0; k < part->replicas.n; k++)
                if (ctl_live(n, part->replicas.v[k])) {
                    ctl_batch_leader_and_isr(n, part->replicas.v[k], t, p, false);
                    any = true;
                }
            if (any)
                ctl_batch_update_metadata(n, t, p);
        }
    }
    remove_dead_replicas(n);
    /* partition state machine startup */
    if (!n->resign_pending)
        ctl_trigger_online(n);
    if (n->resign_pending)
        return;
    int64_t t_req = ctl_now_ms();
    ctl_batch_send(n);
    atomic_store(&n->controller_epoch, n->epoch);
    int64_t t_end = ctl_now_ms();
    ST_INFO("Ready to serve as the new controller with epoch %d (%zu brokers, %zu topics, %zu "
            "partitions, failover took %" PRId64 " ms: load %" PRId64 " ms, elections %" PRId64
            " ms, requests %" PRId64 " ms)", n->epoch, n->n_brokers, n->n_topics,
            ctl_partition_count(n), t_end - t0, t_load - t0, t_req - t_load, t_end - t_req);
    ctl_delete_topics_change(n);
    ctl_preferred_znode(n);
    if (n->cfg.auto_leader_rebalance_enable)
        n->next_rebalance_ms = ctl_now_ms() + n->cfg.auto_rebalance_first_check_ms;
}

/* ---- broker changes ------------------------------------------------------------------------- */

static void on_broker_failure(st_node_t *n, int32_t id)
{
    ctl_clear_offline_dirs(n, id);
    /* every partition with a replica on the dead broker */
    size_t total = ctl_partition_count(n);
    ctl_tpref_t *refs = calloc(total ? total : 1, sizeof(*refs));
    if (!refs)
        return;
    size_t k = 0;
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++)
            if (st_int_list_contains(&t->parts[p].replicas, id))
                refs[k++] = (ctl_tpref_t){ t, p, 0 };
    }
    /* 1+2: partitions it led go Offline, then are elected (one batch of writes) */
    int r = ctl_trigger_online(n);
    /* 3: its replicas go Offline: ISR shrink where it is still there */
    if (r != CTL_DEPOSED && !n->resign_pending)
        ctl_replicas_offline(n, refs, k, id);
    free(refs);
}

void ctl_broker_change(st_node_t *n)
{
    ctl_broker_t *fresh = NULL;
    size_t nf = 0;
    int r = ctl_zk_load_brokers(n, true, &fresh, &nf);
    if (r < 0) {
        ST_WARN("Broker change: cannot read %s: %s", ST_ZPATH_BROKERS_IDS, st_zk_strerror(r));
        return;
    }
    ctl_broker_t *old = n->brokers;
    size_t nold = n->n_brokers;
    int32_t *dead = calloc(nold + nf + 1, sizeof(*dead));
    int32_t *born = calloc(nold + nf + 1, sizeof(*born));
    size_t nd = 0, nb = 0;
    for (size_t i = 0; i < nold; i++) {
        bool found = false;
        for (size_t j = 0; j < nf; j++) {
            if (fresh[j].reg.id != old[i].reg.id)
                continue;
            found = true;
            fresh[j].shutting_down = old[i].shutting_down;
            if (fresh[j].epoch > old[i].epoch) {   /* bounced */
                ST_INFO("Broker %d bounced: registered again with broker epoch %" PRId64 " (was %"
                        PRId64 "); handled as a failure and a startup", old[i].reg.id,
                        fresh[j].epoch, old[i].epoch);
                fresh[j].shutting_down = false;
                dead[nd++] = old[i].reg.id;
                born[nb++] = old[i].reg.id;
            }
        }
        if (!found)
            dead[nd++] = old[i].reg.id;
    }
    for (size_t j = 0; j < nf; j++) {
        bool known = false;
        for (size_t i = 0; i < nold; i++)
            known |= old[i].reg.id == fresh[j].reg.id;
        if (!known)
            born[nb++] = fresh[j].reg.id;
    }
    for (size_t i = 0; i < nd; i++)
        ST_INFO("Broker %d %s", dead[i], ctl_live(n, dead[i]) ? "failed" : "is gone");
    /* dead (and bounced) first: the context without them */
    if (nd) {
        /* remove the dead ones now; bounced ones come back below */
        ctl_broker_t *mid = calloc(nold ? nold : 1, sizeof(*mid));
        size_t nm = 0;
        for (size_t i = 0; mid && i < nold; i++) {
            bool d = false;
            for (size_t j = 0; j < nd; j++)
                d |= dead[j] == old[i].reg.id;
            if (d)
                st_broker_reg_free(&old[i].reg);
            else
                mid[nm++] = old[i];
        }
        free(old);
        n->brokers = mid;
        n->n_brokers = nm;
        ctl_channel_sync_brokers(n);
        for (size_t i = 0; i < nd && !n->resign_pending; i++)
            on_broker_failure(n, dead[i]);
        if (!n->resign_pending)
            ctl_batch_update_metadata_empty(n);   /* the new live-broker list to everyone */
    }
    ctl_brokers_free(n->brokers, n->n_brokers);
    n->brokers = fresh;
    n->n_brokers = nf;
    if (n->resign_pending) {
        free(dead);
        free(born);
        return;
    }
    ctl_channel_sync_brokers(n);
    if (nb) {
        /* onBrokerStartup: the others learn of it, it learns everything, its replicas come
         * online (LeaderAndIsr), and partitions without a leader get one */
        ctl_batch_update_metadata_empty(n);
        for (size_t i = 0; i < nb; i++) {
            ST_INFO("Broker %d started (broker epoch %" PRId64 ")", born[i],
                    ctl_broker(n, born[i]) ? ctl_broker(n, born[i])->epoch : -1);
            ctl_clear_offline_dirs(n, born[i]);
            ctl_batch_update_metadata_full(n, born[i]);
            for (size_t t = 0; t < n->n_topics; t++) {
                ctl_topic_t *topic = &n->topics[t];
                if (topic->deleting)
                    continue;
                for (int32_t p = 0; p < topic->n_parts; p++) {
                    ctl_part_t *part = &topic->parts[p];
                    for (size_t r = 0; r < part->replicas.n; r++) {
                        if (part->replicas.v[r] != born[i])
                            continue;
                        if (part->has_lisr)
                            ctl_replica_set_state(topic, p, r, RS_ONLINE);
                        if (part->has_lisr && part->lisr.leader >= 0)
                            ctl_batch_leader_and_isr(n, born[i], topic, p, false);
                    }
                }
            }
        }
        ctl_trigger_online(n);
    }
    free(dead);
    free(born);
}

/* ---- topics ------------------------------------------------------------------------------------ */

/* Partitions of topics [first_topic, end_topic) numbered from `from` (of the first topic only;
 * 0 for the others) that have no state yet: New -> Online, all in one pipelined batch. */
static void online_new_partitions(st_node_t *n, size_t first_topic, size_t end_topic, int32_t from)
{
    size_t total = 0;
    for (size_t i = first_topic; i < end_topic; i++)
        total += (size_t)n->topics[i].n_parts;
    ctl_tpref_t *refs = calloc(total + 1, sizeof(*refs));
    if (!refs)
        return;
    size_t k = 0;
    for (size_t i = first_topic; i < end_topic; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = i == first_topic ? from : 0; p < t->n_parts; p++) {
            if (t->parts[p].has_lisr)
                continue;
            t->parts[p].state = PS_NONEXISTENT;
            ctl_part_set_state(t, p, PS_NEW);
            for (size_t r = 0; r < t->parts[p].replicas.n; r++)
                ctl_replica_set_state(t, p, r, RS_NEW);
            refs[k++] = (ctl_tpref_t){ t, p, 0 };
        }
    }
    if (k)
        ctl_create_partitions(n, refs, k);
    free(refs);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ctl_topics_change(st_node_t *n)
{
    char **names = NULL;
    size_t cnt = 0;
    int r = st_zk_children(n->zk, ST_ZPATH_BROKERS_TOPICS, true, &names, &cnt);
    if (r < 0)
        return;
    /* topics gone from ZooKeeper without deletion through us (names are sorted) */
    for (size_t i = 0; i < n->n_topics;) {
        const char *key = n->topics[i].name;
        if (bsearch(&key, names, cnt, sizeof(char *), cmp_name))
            i++;
        else
            ctl_topic_remove(n, i);
    }
    /* new ones, loaded together */
    char **fresh_names = calloc(cnt + 1, sizeof(*fresh_names));
    size_t nf = 0;
    for (size_t i = 0; fresh_names && i < cnt; i++)
        if (!ctl_topic(n, names[i]))
            fresh_names[nf++] = names[i];
    ctl_topic_t *fresh = NULL;
    size_t nt = 0;
    if (nf && ctl_zk_load_topics(n, fresh_names, nf, true, &fresh, &nt) == 0) {
        size_t first = n->n_topics;
        for (size_t i = 0; i < nt; i++) {
            ctl_part_init_states(n, &fresh[i]);
            ST_INFO("New topic %s with %d partitions", fresh[i].name, fresh[i].n_parts);
            if (ctl_topic_add(n, &fresh[i]) < 0)
                ctl_topic_free(&fresh[i]);
        }
        free(fresh);
        online_new_partitions(n, first, n->n_topics, 0);
        /* partitions that already had state (a topic re-seen) */
        for (size_t i = first; i < n->n_topics; i++)
            for (int32_t p = 0; p < n->topics[i].n_parts; p++)
                if (n->topics[i].parts[p].state == PS_ONLINE)
                    ctl_batch_update_metadata(n, &n->topics[i], p);
    }
    free(fresh_names);
    st_zk_free_strings(names, cnt);
}

/* /brokers/topics/<t> changed: new partitions (the admin wrote a larger map). A topic we do not
 * know (its znode was empty or garbage when it appeared, the data came after) is loaded as new. */
void ctl_topic_change(st_node_t *n, const char *name)
{
    ctl_topic_t *t = ctl_topic(n, name);
    if (!t) {
        ctl_topics_change(n);
        return;
    }
    ctl_topic_t *fresh = NULL;
    size_t nt = 0;
    char *names[1] = { (char *)name };
    if (ctl_zk_load_topics(n, names, 1, false, &fresh, &nt) < 0)
        return;
    if (nt != 1 || fresh[0].n_parts <= t->n_parts) {
        for (size_t i = 0; i < nt; i++)
            ctl_topic_free(&fresh[i]);
        free(fresh);
        return;
    }
    int32_t from = t->n_parts, to = fresh[0].n_parts;
    ctl_part_t *parts = realloc(t->parts, (size_t)to * sizeof(*parts));
    ctl_tpref_t *refs = calloc((size_t)(to - from), sizeof(*refs));
    if (!parts || !refs) {
        if (parts)
            t->parts = parts;
        free(refs);
        ctl_topic_free(&fresh[0]);
        free(fresh);
        return;
    }
    t->parts = parts;
    for (int32_t p = from; p < to; p++) {
        t->parts[p] = fresh[0].parts[p];
        memset(&fresh[0].parts[p], 0, sizeof(fresh[0].parts[p]));
        refs[p - from] = (ctl_tpref_t){ t, p, 0 };
    }
    t->n_parts = to;
    ctl_topic_free(&fresh[0]);
    free(fresh);
    ctl_zk_read_states(n, refs, (size_t)(to - from));
    free(refs);
    ST_INFO("Topic %s: partitions %d..%d added", name, from, to - 1);
    for (int32_t p = from; p < to; p++) {
        if (!t->parts[p].has_lisr)
            continue;
        ctl_part_init_state(n, t, p);   /* state written already (a previous controller) */
        ctl_batch_update_metadata(n, t, p);
    }
    size_t ti = (size_t)(t - n->topics);
    online_new_partitions(n, ti, ti + 1, from);
}

/* ---- event dispatch ------------------------------------------------------------------------------ */

void ctl_on_zk_event(st_node_t *n, st_zk_event_type_t type, const char *path)
{
    if (strcmp(path, ST_ZPATH_CONTROLLER) == 0) {
        (void)type;   /* whatever fired, look at what is there now */
        int32_t id = read_controller(n);
        if (id == n->broker_id && n->in_office)
            return;   /* a stale event about our own /controller */
        if (n->in_office)
            ctl_resign(n, id < 0 ? "/controller was deleted" : "another broker is controller");
        if (id >= 0 && id != n->broker_id)
            note_controller(n, id, -1);
        else
            ctl_elect(n);
        return;
    }
    if (type == ST_ZK_EV_CONNECTED) {
        if (atomic_load(&n->controller_id) < 0)
            ctl_elect(n);
        return;
    }
    if (strcmp(path, ST_ZPATH_CONFIG_CHANGES) == 0) {   /* every broker, controller or not */
        ctl_config_changes(n, false);
        return;
    }
    if (!atomic_load(&n->active))
        return;
    if (strcmp(path, ST_ZPATH_BROKERS_IDS) == 0)
        ctl_broker_change(n);
    else if (strcmp(path, ST_ZPATH_BROKERS_TOPICS) == 0)
        ctl_topics_change(n);
    else if (strcmp(path, ST_ZPATH_DELETE_TOPICS) == 0)
        ctl_delete_topics_change(n);
    else if (strcmp(path, ST_ZPATH_PREFERRED_ELECTION) == 0)
        ctl_preferred_znode(n);
    else if (strcmp(path, ST_ZPATH_LOG_DIR_EVENT) == 0)
        ctl_log_dir_event_change(n);
    else if (strcmp(path, ST_ZPATH_ISR_CHANGE) == 0) {
        char **names = NULL;   /* AlterIsr replaced these: just re-arm the watch */
        size_t cnt = 0;
        if (st_zk_children(n->zk, ST_ZPATH_ISR_CHANGE, true, &names, &cnt) == 0)
            st_zk_free_strings(names, cnt);
    }
    else if (strncmp(path, ST_ZPATH_BROKERS_TOPICS "/", strlen(ST_ZPATH_BROKERS_TOPICS) + 1) == 0 &&
             !strchr(path + strlen(ST_ZPATH_BROKERS_TOPICS) + 1, '/'))
        ctl_topic_change(n, path + strlen(ST_ZPATH_BROKERS_TOPICS) + 1);
}

void ctl_end_event(st_node_t *n)
{
    if (n->resign_pending) {
        ctl_resign(n, "deposed: the controller epoch moved on");
        atomic_store(&n->controller_id, -1);
        /* Kafka's triggerControllerMove: if /controller is still our own ephemeral, remove it
         * so that a fresh election (with a fresh epoch) takes place */
        struct Stat st;
        if (st_zk_exists(n->zk, ST_ZPATH_CONTROLLER, false, &st) == 0 &&
            st.ephemeralOwner == st_zk_session_id(n->zk))
            st_zk_delete(n->zk, ST_ZPATH_CONTROLLER, st.version);
        ctl_elect(n);   /* learn the new controller (and re-arm the watch) */
        return;
    }
    if (atomic_load(&n->active))
        ctl_batch_send(n);
    assert(ctl_context_check(n));
}
