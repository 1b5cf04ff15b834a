/* Log dir failures on the controller (reference §2; Kafka's KafkaController.onBrokerLogDirFailure
 * and processLeaderAndIsrResponseReceived). Node thread only.
 *
 * A broker whose log dir fails takes it offline itself (broker/log, broker/replica) and writes
 * /log_dir_event_notification/log_dir_event_<seq> = {"version":1,"broker":<id>,"event":1}. Here:
 *   1. the child watch fires: the notifications are read and deleted (fenced), and the broker
 *      named gets a LeaderAndIsr for every replica it holds (Kafka: those replicas go
 *      OnlineReplica, which sends exactly that);
 *   2. its answer says KAFKA_STORAGE_ERROR for each replica on a failed dir: the replica is
 *      marked offline (ctl_part_t.dir_offline, Kafka's replicasOnOfflineDirs) and, for the
 *      newly offline ones, onReplicasBecomeOffline runs: partitions led there are elected
 *      elsewhere (offline strategy, which only picks online replicas: ctl_replica_online),
 *      then the replicas leave the ISRs (OfflineReplica).
 * Any LeaderAndIsr answer is used the same way (after a controller failover the LeaderAndIsr
 * sent to every replica finds the offline ones without a notification), and an answer of NONE
 * puts a replica back online. A broker that dies or starts again loses its marks: a restarted
 * broker loads its logs again and reports whatever is still broken.
 *
 * Invariant (ctl_part_t): dir_offline only has bits below replicas.n (and below 32: a replica
 * beyond the 32nd is never marked, Kafka-sized assignments have at most a handful). */
#include "st_ctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_error.h"
#include "st_logger.h"

#define MAX_MARKED 32

bool ctl_replica_online(st_node_t *n, const ctl_part_t *part, size_t idx)
{
    if (idx >= part->replicas.n || !ctl_live(n, part->replicas.v[idx]))
        return false;
    return idx >= MAX_MARKED || !(part->dir_offline & (1u << idx));
}

bool ctl_broker_replica_online(st_node_t *n, const ctl_part_t *part, int32_t broker)
{
    for (size_t i = 0; i < part->replicas.n; i++)
        if (part->replicas.v[i] == broker)
            return ctl_replica_online(n, part, i);
    return ctl_live(n, broker);   /* not an assigned replica: liveness is all there is */
}

void ctl_clear_offline_dirs(st_node_t *n, int32_t broker)
{
    size_t cleared = 0;
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++) {
            ctl_part_t *part = &t->parts[p];
            for (size_t r = 0; part->dir_offline && r < part->replicas.n && r < MAX_MARKED; r++)
                if (part->replicas.v[r] == broker && (part->dir_offline & (1u << r))) {
                    part->dir_offline &= ~(1u << r);
                    cleared++;
                }
        }
    }
    if (cleared)
        ST_INFO("Broker %" PRId32 ": forgetting %zu replica(s) on failed log dirs (it restarted or "
                "left; it reports what is still offline)", broker, cleared);
}

/* ---- notifications ------------------------------------------------------------------------- */

static void delete_notifications(st_node_t *n, char **names, size_t cnt)
{
    ctl_zop_t *ops = calloc(cnt ? cnt : 1, sizeof(*ops));
    if (!ops)
        return;
    for (size_t i = 0; i < cnt; i++) {
        ops[i].kind = ZOP_DELETE;
        ops[i].version = -1;
        snprintf(ops[i].path, sizeof(ops[i].path), "%s/%s", ST_ZPATH_LOG_DIR_EVENT, names[i]);
    }
    if (cnt)
        ctl_zk_fenced(n, ops, cnt);   /* a failure leaves them for the next controller */
    free(ops);
}

void ctl_log_dir_events_reset(st_node_t *n)
{
    char **names = NULL;
    size_t cnt = 0;
    if (st_zk_children(n->zk, ST_ZPATH_LOG_DIR_EVENT, true, &names, &cnt) < 0)
        return;
    if (cnt)
        ST_INFO("Controller failover: deleting %zu pending log dir event notification(s); the "
                "LeaderAndIsr sent to every replica finds the offline ones", cnt);
    delete_notifications(n, names, cnt);
    st_zk_free_strings(names, cnt);
}

/* Kafka's onBrokerLogDirFailure: every replica on the broker goes OnlineReplica again, which
 * sends it a LeaderAndIsr; its per-partition answers say which replicas are offline. */
static void on_broker_log_dir_failure(st_node_t *n, int32_t broker)
{
    size_t sent = 0;
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        if (t->deleting)
            continue;
        for (int32_t p = 0; p < t->n_parts; p++) {
            ctl_part_t *part = &t->parts[p];
            if (!part->has_lisr || part->lisr.leader < 0 ||
                !st_int_list_contains(&part->replicas, broker))
                continue;
            ctl_batch_leader_and_isr(n, broker, t, p, false);
            sent++;
        }
    }
    ST_INFO("Broker %" PRId32 " reported a failed log dir: LeaderAndIsr for its %zu replica(s) "
            "to learn which are offline", broker, sent);
}

void ctl_log_dir_event_change(st_node_t *n)
{
    char **names = NULL;
    size_t cnt = 0;
    int r = st_zk_children(n->zk, ST_ZPATH_LOG_DIR_EVENT, true, &names, &cnt);
    if (r < 0) {
        ST_WARN("Log dir events: cannot list %s: %s", ST_ZPATH_LOG_DIR_EVENT, st_zk_strerror(r));
        return;
    }
    if (cnt == 0) {
        st_zk_free_strings(names, cnt);
        return;
    }
    st_zk_read_t *reads = calloc(cnt, sizeof(*reads));
    char (*paths)[320] = calloc(cnt, sizeof(*paths));
    int32_t *brokers = calloc(cnt, sizeof(*brokers));
    size_t nb = 0;
    if (reads && paths && brokers) {
        for (size_t i = 0; i < cnt; i++) {
            snprintf(paths[i], sizeof(paths[i]), "%s/%s", ST_ZPATH_LOG_DIR_EVENT, names[i]);
            reads[i].path = paths[i];
        }
        st_zk_get_many(n->zk, reads, cnt);
        for (size_t i = 0; i < cnt; i++) {
            if (reads[i].rc < 0)
                continue;   /* gone already */
            int32_t broker = -1, event = 0;
            char err[256];
            if (st_znode_log_dir_event_decode(paths[i], reads[i].data, (size_t)reads[i].len,
                                              &broker, &event, err, sizeof(err)) < 0)
                ST_WARN("Log dir events: ignoring %s", err);
            else if (event != ST_LOG_DIR_EVENT_FAILURE)
                ST_WARN("Log dir events: %s: unknown event %" PRId32 " (only 1, LogDirFailure, "
                        "exists); ignored", paths[i], event);
            else
                brokers[nb++] = broker;
        }
        st_zk_reads_free(reads, cnt);
    }
    /* handled (or unreadable): deleted, fenced, as Kafka's deleteLogDirEventNotifications */
    delete_notifications(n, names, cnt);
    st_zk_free_strings(names, cnt);
    if (brokers)
        nb = st_assign_idset_normalize(brokers, nb);
    for (size_t i = 0; i < nb && !n->resign_pending; i++) {
        if (!ctl_live(n, brokers[i])) {
            ST_INFO("Log dir events: broker %" PRId32 " is not live any more; nothing to do",
                    brokers[i]);
            continue;
        }
        on_broker_log_dir_failure(n, brokers[i]);
    }
    free(reads);
    free(paths);
    free(brokers);
}

/* ---- LeaderAndIsr answers ---------------------------------------------------------------------- */

void ctl_on_leader_and_isr_response(st_node_t *n, int32_t broker, const ctl_tp_code_t *tps,
                                    size_t n_tps)
{
    if (!atomic_load(&n->active) || n->resign_pending || !ctl_live(n, broker))
        return;
    ctl_tpref_t *fresh = calloc(n_tps ? n_tps : 1, sizeof(*fresh));
    if (!fresh)
        return;
    size_t k = 0;
    char names[512];
    size_t used = 0;
    names[0] = '\0';
    for (size_t i = 0; i < n_tps; i++) {
        ctl_topic_t *t = ctl_topic(n, tps[i].topic);
        if (!t || tps[i].partition < 0 || tps[i].partition >= t->n_parts)
            continue;
        ctl_part_t *part = &t->parts[tps[i].partition];
        size_t idx = part->replicas.n;
        for (size_t r = 0; r < part->replicas.n; r++)
            if (part->replicas.v[r] == broker)
                idx = r;
        if (idx >= part->replicas.n || idx >= MAX_MARKED)
            continue;
        uint32_t bit = 1u << idx;
        if (tps[i].code == ST_ERR_KAFKA_STORAGE_ERROR && !(part->dir_offline & bit)) {
            part->dir_offline |= bit;
            fresh[k++] = (ctl_tpref_t){ t, tps[i].partition, 0 };
            if (used < sizeof(names) - 64) {
                int w = snprintf(names + used, sizeof(names) - used, "%s%s-%" PRId32,
                                 used ? "," : "", t->name, tps[i].partition);
                if (w > 0)
                    used += (size_t)w;
            }
        } else if (tps[i].code == ST_ERR_NONE && (part->dir_offline & bit)) {
            part->dir_offline &= ~bit;
            ST_INFO("Partition %s-%" PRId32 ": the replica on broker %" PRId32 " is online again",
                    t->name, tps[i].partition, broker);
        }
    }
    if (k > 0) {
        ST_INFO("Mark replicas %s%s on broker %" PRId32 " as offline (KAFKA_STORAGE_ERROR: a "
                "failed log dir); electing other leaders and removing them from the ISRs",
                names, used >= sizeof(names) - 64 ? ",..." : "", broker);
        /* Kafka's onReplicasBecomeOffline: partitions whose leader went offline are elected
         * (ctl_trigger_online sees their leader offline), then the replicas leave the ISRs */
        int r = ctl_trigger_online(n);
        if (r != CTL_DEPOSED && !n->resign_pending)
            ctl_replicas_offline(n, fresh, k, broker);
    }
    free(fresh);
}
