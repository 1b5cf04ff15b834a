/* Controller election and failover (reference §2.1-2.3): the /controller + /controller_epoch
 * multi, resignation, onControllerFailover (watches, context load, UpdateMetadata to all, the
 * state machines' startup, "Ready to serve"), broker changes (new / dead / bounced by czxid),
 * topic creation and partition additions, and the dispatch of ZooKeeper events. Node thread. */
#include "st_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

ctl_topic_t *ctl_topic(st_node_t *n, const char *name)
{
    for (size_t i = 0; i < n->n_topics; i++)
        if (strcmp(n->topics[i].name, name) == 0)
            return &n->topics[i];
    return NULL;
}

bool ctl_topic_unclean(st_node_t *n, const ctl_topic_t *t)
{
    const char *v = st_topic_overrides_get(&t->cfg, "unclean.leader.election.enable");
    if (v)
        return strcmp(v, "true") == 0;
    return n->cfg.unclean_leader_election_enable;
}

static int add_topic(st_node_t *n, ctl_topic_t *t)
{
    ctl_topic_t *grown = realloc(n->topics, (n->n_topics + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    n->topics = grown;
    n->topics[n->n_topics++] = *t;
    return 0;
}

static void free_context(st_node_t *n)
{
    for (size_t i = 0; i < n->n_topics; i++)
        ctl_topic_free(&n->topics[i]);
    free(n->topics);
    n->topics = NULL;
    n->n_topics = 0;
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
    if (!atomic_load(&n->stand) || atomic_load(&n->stop))
        return;
    int32_t cur = read_controller(n);
    if (cur >= 0) {
        struct Stat cst;
        if (cur == n->broker_id && !atomic_load(&n->active) &&
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
    if (atomic_load(&n->active))
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
    atomic_store(&n->active, true);
    note_controller(n, n->broker_id, n->epoch);
    ST_INFO("Broker %d won the controller election with epoch %d (epoch zkVersion %d)",
            n->broker_id, n->epoch, n->epoch_zkversion);
    read_controller(n);   /* re-arm the /controller watch */
    failover(n);
}

void ctl_resign(st_node_t *n, const char *why)
{
    if (!atomic_load(&n->active))
        return;
    ST_INFO("Resigning as controller (epoch %d): %s", n->epoch, why);
    atomic_store(&n->active, false);
    ctl_batch_discard(n);
    ctl_channel_close(n);
    free_context(n);
    n->next_rebalance_ms = 0;
    n->resign_pending = false;
    if (atomic_load(&n->controller_id) == n->broker_id)
        note_controller(n, -1, -1);
}

/* ---- failover ------------------------------------------------------------------------------- */

static int load_topics(st_node_t *n)
{
    char **names = NULL;
    size_t cnt = 0;
    int r = st_zk_children(n->zk, ST_ZPATH_BROKERS_TOPICS, true, &names, &cnt);
    if (r < 0)
        return r;
    for (size_t i = 0; i < cnt; i++) {
        ctl_topic_t t;
        if (ctl_zk_load_topic(n, names[i], true, &t) < 0)
            continue;
        if (add_topic(n, &t) < 0)
            ctl_topic_free(&t);
    }
    st_zk_free_strings(names, cnt);
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

static bool id_in(const int32_t *ids, size_t n, int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void failover(st_node_t *n)
{
    int64_t t0 = ctl_now_ms();
    /* watches: /brokers/ids, /brokers/topics, /admin/delete_topics (children, set by the loads),
     * /admin/preferred_replica_election (exists), /isr_change_notification (children) */
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
    /* replica state machine startup: LeaderAndIsr to every live replica of led partitions;
     * dead replicas leave the ISR */
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++) {
            ctl_part_t *part = &t->parts[p];
            if (!part->has_lisr || part->lisr.leader < 0)
                continue;
            for (size_t k = 0; k < part->replicas.n; k++)
                if (ctl_live(n, part->replicas.v[k]))
                    ctl_batch_leader_and_isr(n, part->replicas.v[k], t, p, false);
        }
    }
    /* dead replicas -> OfflineReplica (Kafka's replicaStateMachine.startup): every dead broker
     * named as a leader or ISR member leaves the ISRs (never below one member) and its
     * leaderships become -1, before the partition state machine elects. Handled per dead
     * broker, as on_broker_failure does, so that an ISR naming two dead brokers loses both and
     * a partition whose last ISR member is dead shows no leader rather than the dead one. */
    size_t total = 0;
    for (size_t i = 0; i < n->n_topics; i++)
        total += (size_t)n->topics[i].n_parts;
    ctl_tpref_t *refs = calloc(total ? total : 1, sizeof(*refs));
    int32_t done[64];                 /* each dead broker once, even if a write keeps failing */
    size_t n_done = 0;
    for (bool more = refs != NULL; more && !n->resign_pending && n_done < 64;) {
        int32_t dead = -1;
        for (size_t i = 0; i < n->n_topics && dead < 0; i++)
            for (int32_t p = 0; p < n->topics[i].n_parts && dead < 0; p++) {
                const ctl_part_t *part = &n->topics[i].parts[p];
                if (!part->has_lisr)
                    continue;
                if (part->lisr.leader >= 0 && !ctl_live(n, part->lisr.leader) &&
                    !id_in(done, n_done, part->lisr.leader))
                    dead = part->lisr.leader;
                for (size_t k = 0; k < part->lisr.isr.n && dead < 0; k++)
                    if (!ctl_live(n, part->lisr.isr.v[k]) && part->lisr.isr.n > 1 &&
                        !id_in(done, n_done, part->lisr.isr.v[k]))
                        dead = part->lisr.isr.v[k];
            }
        more = dead >= 0;
        if (!more)
            break;
        done[n_done++] = dead;
        size_t k = 0;
        for (size_t i = 0; i < n->n_topics; i++)
            for (int32_t p = 0; p < n->topics[i].n_parts; p++)
                if (n->topics[i].parts[p].has_lisr)
                    refs[k++] = (ctl_tpref_t){ &n->topics[i], p, 0 };
        if (ctl_replicas_offline(n, refs, k, dead) < 0)
            break;
    }
    free(refs);
    /* partition state machine startup */
    if (!n->resign_pending)
        ctl_trigger_online(n);
    if (n->resign_pending)
        return;
    atomic_store(&n->controller_epoch, n->epoch);
    ST_INFO("Ready to serve as the new controller with epoch %d (%zu brokers, %zu topics, "
            "failover took %" PRId64 " ms)", n->epoch, n->n_brokers, n->n_topics,
            ctl_now_ms() - t0);
    ctl_delete_topics_change(n);
    ctl_preferred_znode(n);
    if (n->cfg.auto_leader_rebalance_enable)
        n->next_rebalance_ms = ctl_now_ms() + n->cfg.auto_rebalance_first_check_ms;
}

/* ---- broker changes ------------------------------------------------------------------------- */

static void on_broker_failure(st_node_t *n, int32_t id)
{
    /* every partition with a replica on the dead broker */
    size_t total = 0;
    for (size_t i = 0; i < n->n_topics; i++)
        total += (size_t)n->topics[i].n_parts;
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
    if (r != -ESTALE && !n->resign_pending)
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

/* Brings the partitions of t numbered from `from` online (New -> Online). */
static void online_new_partitions(st_node_t *n, ctl_topic_t *t, int32_t from)
{
    ctl_tpref_t *refs = calloc((size_t)(t->n_parts - from) + 1, sizeof(*refs));
    if (!refs)
        return;
    size_t k = 0;
    for (int32_t p = from; p < t->n_parts; p++) {
        if (t->parts[p].has_lisr)
            continue;
        t->parts[p].state = PS_NONEXISTENT;
        ctl_part_set_state(t, p, PS_NEW);
        for (size_t r = 0; r < t->parts[p].replicas.n; r++)
            ctl_replica_set_state(t, p, r, RS_NEW);
        refs[k++] = (ctl_tpref_t){ t, p, 0 };
    }
    if (k)
        ctl_create_partitions(n, refs, k);
    free(refs);
}

void ctl_topics_change(st_node_t *n)
{
    char **names = NULL;
    size_t cnt = 0;
    int r = st_zk_children(n->zk, ST_ZPATH_BROKERS_TOPICS, true, &names, &cnt);
    if (r < 0)
        return;
    for (size_t i = 0; i < cnt && !n->resign_pending; i++) {
        if (ctl_topic(n, names[i]))
            continue;
        ctl_topic_t t;
        if (ctl_zk_load_topic(n, names[i], true, &t) < 0)
            continue;
        ctl_part_init_states(n, &t);
        if (add_topic(n, &t) < 0) {
            ctl_topic_free(&t);
            continue;
        }
        ctl_topic_t *nt = &n->topics[n->n_topics - 1];
        ST_INFO("New topic %s with %d partitions", nt->name, nt->n_parts);
        online_new_partitions(n, nt, 0);
        /* partitions that already had state (a topic re-seen) */
        for (int32_t p = 0; p < nt->n_parts; p++)
            if (nt->parts[p].state == PS_ONLINE)
                ctl_batch_update_metadata(n, nt, p);
    }
    /* topics gone from ZooKeeper without deletion through us */
    for (size_t i = 0; i < n->n_topics;) {
        bool present = false;
        for (size_t j = 0; j < cnt; j++)
            present |= strcmp(names[j], n->topics[i].name) == 0;
        if (present) {
            i++;
            continue;
        }
        ctl_topic_free(&n->topics[i]);
        n->topics[i] = n->topics[--n->n_topics];
    }
    st_zk_free_strings(names, cnt);
}

/* /brokers/topics/<t> changed: new partitions (the admin wrote a larger map). */
void ctl_topic_change(st_node_t *n, const char *name)
{
    ctl_topic_t *t = ctl_topic(n, name);
    if (!t)
        return;
    ctl_topic_t fresh;
    if (ctl_zk_load_topic(n, name, false, &fresh) < 0)
        return;
    if (fresh.n_parts <= t->n_parts) {
        ctl_topic_free(&fresh);
        return;
    }
    int32_t from = t->n_parts;
    ctl_part_t *parts = realloc(t->parts, (size_t)fresh.n_parts * sizeof(*parts));
    if (!parts) {
        ctl_topic_free(&fresh);
        return;
    }
    t->parts = parts;
    for (int32_t p = from; p < fresh.n_parts; p++) {
        t->parts[p] = fresh.parts[p];
        memset(&fresh.parts[p], 0, sizeof(fresh.parts[p]));
        ctl_zk_read_state(n, t, p);
    }
    t->n_parts = fresh.n_parts;
    ctl_topic_free(&fresh);
    ST_INFO("Topic %s: partitions %d..%d added", name, from, t->n_parts - 1);
    online_new_partitions(n, t, from);
}

/* ---- event dispatch ------------------------------------------------------------------------------ */

void ctl_on_zk_event(st_node_t *n, st_zk_event_type_t type, const char *path)
{
    if (strcmp(path, ST_ZPATH_CONTROLLER) == 0) {
        (void)type;   /* whatever fired, look at what is there now */
        int32_t id = read_controller(n);
        if (id == n->broker_id && atomic_load(&n->active))
            return;   /* a stale event about our own /controller */
        if (atomic_load(&n->active))
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
}
