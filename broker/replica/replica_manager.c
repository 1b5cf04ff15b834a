/* The replica manager: the replica-state thread that applies LeaderAndIsr / StopReplica in
 * arrival order, the fetchers it starts and stops, the replication background tasks (ISR
 * expiry every replica.lag.time.max.ms / 2, high-watermark checkpoint every
 * replica.high.watermark.checkpoint.interval.ms), and the AlterIsr sender thread.
 *
 * Threads:
 *   - loop threads call st_replica_manager_submit_*: they only post a job to the mailbox and
 *     park the request (a delayed operation whose try_complete waits for job->done);
 *   - the replica-state thread (rm->thread) runs the jobs and the periodic tasks; it alone
 *     changes roles and the fetcher set, holding rm->state_lock (the "replica-state mutex" of
 *     DESIGN.md's lock order: replica-state mutex -> registry -> partition -> log);
 *   - the AlterIsr thread (rm->isr_thread) sends the leaders' ISR proposals to the controller
 *     (blocking st_channel call, NO lock held), retrying every 500 ms while any is pending.
 *
 * Log dir failures (Kafka's ReplicaManager.handleLogDirFailure): the log manager reports a
 * failed log dir from whichever thread met the error (rm_dir_failed records it and wakes the
 * replica-state thread); on the replica-state thread its partitions leave the fetchers and their roles
 * (st_partition_set_offline), the controller is told through
 * /log_dir_event_notification (retried every second until ZooKeeper takes it), and when no
 * log dir is left online the broker shuts down with exit code 1, as Kafka does. A
 * LeaderAndIsr or StopReplica for an offline partition answers KAFKA_STORAGE_ERROR: that is
 * how the controller learns which replicas to move away from.
 *
 * Fencing (reference section 2.9, through broker/cluster/fencing.h): broker_epoch != -1 and <
 * ours -> STALE_BROKER_EPOCH; controller_epoch < the highest seen -> STALE_CONTROLLER_EPOCH
 * (else recorded); per
 * partition leader_epoch <= current -> STALE_CONTROLLER_EPOCH (ignored), broker not in
 * replicas -> UNKNOWN_TOPIC_OR_PARTITION. StopReplica with leader_epoch -2 (topic deletion)
 * overrides the epoch check. */
#include "replica_manager.h"

#include "fencing.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel.h"
#include "fetcher.h"
#include "net.h"
#include "partition.h"
#include "request.h"
#include "st_checkpoint.h"
#include "st_controller.h"
#include "st_logger.h"
#include "st_mailbox.h"

#define ISR_RETRY_MS 500

typedef struct hw_entry {
    char *topic;
    int32_t partition;
    int64_t hw;
} hw_entry_t;

struct st_replica_manager {
    st_broker_t *b;
    st_mailbox_t *mb;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t state_lock;       /* the replica-state mutex */
    st_fetcher_t **fetchers;          /* replica-state thread only */
    size_t n_fetchers, cap_fetchers;
    hw_entry_t *hws;                  /* loaded checkpoint (replica-state thread only) */
    size_t n_hws;
    /* AlterIsr sender */
    pthread_t isr_thread;
    pthread_mutex_t isr_lock;
    pthread_cond_t isr_cond;
    st_partition_t **isr_pending;     /* referenced */
    size_t n_isr_pending, cap_isr_pending;
    bool isr_stop;
    /* where the AlterIsr channel is connected (AlterIsr thread only) */
    int32_t isr_ch_controller;
    char isr_ch_host[256];
    int isr_ch_port;
    /* log dir failures: failed dirs reported and not handled yet (dir_lock, a leaf lock: the
     * report comes from any thread under any lock) */
    pthread_mutex_t dir_lock;
    size_t *failed_dirs;
    size_t n_failed_dirs, cap_failed_dirs;
    /* replica-state thread only */
    bool log_dir_event_pending;       /* the controller is still to be told */
    int64_t log_dir_event_retry_ms;
};

typedef struct rm_result {
    char *topic;
    int32_t partition;
    int32_t error_code;
} rm_result_t;

typedef struct rm_job {
    st_delayed_t op;                  /* first: the parked operation */
    st_replica_manager_t *rm;
    st_request_t req;                 /* header fields for the response */
    int loop;
    atomic_int refs;                  /* the loop's and the replica-state thread's */
    atomic_bool done;
    Strand__LeaderAndIsrRequest *lai;
    Strand__StopReplicaRequest *stop;
    int32_t error_code;
    rm_result_t *results;
    size_t n_results;
} rm_job_t;

static void job_unref(rm_job_t *job)
{
    if (atomic_fetch_sub(&job->refs, 1) != 1)
        return;
    for (size_t i = 0; i < job->n_results; i++)
        free(job->results[i].topic);
    free(job->results);
    if (job->lai)
        strand__leader_and_isr_request__free_unpacked(job->lai, NULL);
    if (job->stop)
        strand__stop_replica_request__free_unpacked(job->stop, NULL);
    free(job);
}

static void add_result(rm_job_t *job, const char *topic, int32_t partition, int32_t code)
{
    rm_result_t *r = &job->results[job->n_results++];
    r->topic = strdup(topic);
    r->partition = partition;
    r->error_code = code;
}

/* ---- HW checkpoint ------------------------------------------------------------------------ */

static void load_hw_checkpoints(st_replica_manager_t *rm)
{
    const st_broker_config_t *cfg = &rm->b->cfg;
    for (size_t d = 0; d < cfg->n_dirs; d++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/replication-offset-checkpoint", cfg->dirs[d]);
        st_offset_checkpoint_entry_t *e = NULL;
        size_t n = 0;
        if (st_offset_checkpoint_read(path, &e, &n) < 0)
            continue;
        hw_entry_t *nh = realloc(rm->hws, (rm->n_hws + n + 1) * sizeof(*nh));
        if (nh) {
            rm->hws = nh;
            for (size_t i = 0; i < n; i++)
                rm->hws[rm->n_hws++] = (hw_entry_t){ strdup(e[i].topic), e[i].partition,
                                                     e[i].offset };
        }
        st_offset_checkpoint_free(e, n);
    }
}

static int64_t checkpointed_hw(st_replica_manager_t *rm, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < rm->n_hws; i++)
        if (rm->hws[i].partition == partition && rm->hws[i].topic &&
            strcmp(rm->hws[i].topic, topic) == 0)
            return rm->hws[i].hw;
    return 0;
}

int st_replica_manager_checkpoint_hw(st_replica_manager_t *rm)
{
    const st_broker_config_t *cfg = &rm->b->cfg;
    st_partition_t **parts = NULL;
    size_t n = st_registry_snapshot(rm->b->reg, &parts);
    int ret = 0;
    for (size_t d = 0; d < cfg->n_dirs; d++) {
        /* the log manager's dirs are cfg->dirs, in order; nothing is written to a failed one */
        if (st_log_manager_dir_offline(rm->b->mgr, d))
            continue;
        st_offset_checkpoint_entry_t *e = calloc(n ? n : 1, sizeof(*e));
        if (!e) {
            ret = -ENOMEM;
            break;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            st_log_t *log = st_log_manager_get(rm->b->mgr, st_partition_topic(parts[i]),
                                               st_partition_id(parts[i]));
            if (!log || st_partition_deleted(parts[i]))
                continue;
            const char *dir = st_log_dir(log);
            size_t dl = strlen(cfg->dirs[d]);
            if (strncmp(dir, cfg->dirs[d], dl) != 0 || (dir[dl] != '/' && dir[dl] != '\0'))
                continue;
            e[k++] = (st_offset_checkpoint_entry_t){ (char *)st_partition_topic(parts[i]),
                                                     st_partition_id(parts[i]),
                                                     st_partition_high_watermark(parts[i]) };
        }
        char path[4200];
        snprintf(path, sizeof(path), "%s/replication-offset-checkpoint", cfg->dirs[d]);
        int r = st_offset_checkpoint_write(path, e, k);
        if (r < 0) {
            char what[4300];
            snprintf(what, sizeof(what), "writing %s", path);
            if (st_log_is_io_error(r))
                st_log_manager_fail_dir(rm->b->mgr, d, r, what);   /* logged there */
            else
                ST_ERROR("Error while %s: %s", what, strerror(-r));
            ret = r;
        }
        free(e);
    }
    for (size_t i = 0; i < n; i++)
        st_partition_unref(parts[i]);
    free(parts);
    return ret;
}

/* ---- fetchers (replica-state thread) ------------------------------------------------------ */

static void remove_from_fetchers(st_replica_manager_t *rm, st_partition_t *part)
{
    for (size_t i = 0; i < rm->n_fetchers; i++)
        st_fetcher_remove(rm->fetchers[i], part);
}

static st_fetcher_t *fetcher_for(st_replica_manager_t *rm, int32_t leader, int index)
{
    for (size_t i = 0; i < rm->n_fetchers; i++)
        if (st_fetcher_leader(rm->fetchers[i]) == leader &&
            st_fetcher_index(rm->fetchers[i]) == index)
            return rm->fetchers[i];
    if (rm->n_fetchers == rm->cap_fetchers) {
        size_t cap = rm->cap_fetchers ? rm->cap_fetchers * 2 : 8;
        st_fetcher_t **n = realloc(rm->fetchers, cap * sizeof(*n));
        if (!n)
            return NULL;
        rm->fetchers = n;
        rm->cap_fetchers = cap;
    }
    st_fetcher_t *f = NULL;
    if (st_fetcher_new(rm->b, leader, index, &f) < 0)
        return NULL;
    rm->fetchers[rm->n_fetchers++] = f;
    return f;
}

/* The leader's endpoint for our inter-broker listener from live_leaders: same listener name,
 * else same security protocol, else the first. */
static bool leader_endpoint(st_replica_manager_t *rm, const Strand__LeaderAndIsrRequest *msg,
                            int32_t leader, char *host, size_t hlen, int *port)
{
    const st_broker_config_t *cfg = &rm->b->cfg;
    const st_listener_cfg_t *ib = &cfg->listener_list[cfg->inter_broker_listener];
    const char *proto = ib->protocol == ST_PROTO_SSL ? "SSL" : "PLAINTEXT";
    for (size_t i = 0; i < msg->n_live_leaders; i++) {
        const Strand__UpdateMetadataBroker *lb = msg->live_leaders[i];
        if (lb->id != leader || lb->n_endpoints == 0)
            continue;
        const Strand__UpdateMetadataEndpoint *best = lb->endpoints[0];
        for (size_t j = 0; j < lb->n_endpoints; j++)
            if (lb->endpoints[j]->security_protocol &&
                strcasecmp(lb->endpoints[j]->security_protocol, proto) == 0)
                best = lb->endpoints[j];
        for (size_t j = 0; j < lb->n_endpoints; j++)
            if (lb->endpoints[j]->listener && strcasecmp(lb->endpoints[j]->listener, ib->name) == 0)
                best = lb->endpoints[j];
        snprintf(host, hlen, "%s", best->host ? best->host : "");
        *port = best->port;
        return true;
    }
    return false;
}

/* ---- LeaderAndIsr (replica-state thread, state_lock held) -------------------------------- */

static uint32_t hash_tp(const char *topic, int32_t partition)
{
    uint32_t h = 2166136261u;
    for (const char *p = topic; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (h ^ (uint32_t)partition) * 16777619u;
}

static int32_t apply_partition(st_replica_manager_t *rm, const Strand__LeaderAndIsrRequest *msg,
                               const Strand__LeaderAndIsrTopicState *ts,
                               const Strand__LeaderAndIsrPartitionState *ps)
{
    const st_broker_config_t *cfg = &rm->b->cfg;
    int32_t self = cfg->broker_id;
    bool in_replicas = false;
    for (size_t i = 0; i < ps->n_replicas; i++)
        in_replicas |= ps->replicas[i] == self;
    if (!in_replicas)
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (ps->n_replicas > ST_MAX_REPLICAS || ps->n_isr > ST_MAX_REPLICAS || ps->leader < 0 ||
        ps->leader_epoch < 0)
        return ST_ERR_INVALID_REQUEST;
    st_partition_t *existing = st_registry_get(rm->b->reg, ts->topic, ps->partition);
    if (existing && st_partition_offline(existing)) {
        /* before the epoch check: the controller asks again at the same epoch after a log dir
         * event, and this answer is how it learns the replica is offline */
        st_partition_unref(existing);
        return ST_ERR_KAFKA_STORAGE_ERROR;
    }
    if (existing) {
        int32_t cur = st_partition_leader_epoch(existing);
        bool has_role = st_partition_role(existing) != ST_ROLE_NONE;
        st_partition_unref(existing);
        if (has_role && ps->leader_epoch <= cur) {
            ST_INFO("%s-%" PRId32 ": ignoring LeaderAndIsr at leader epoch %" PRId32 " from "
                    "controller %" PRId32 " (current epoch %" PRId32 ")", ts->topic,
                    ps->partition, ps->leader_epoch, msg->controller_id, cur);
            return ST_ERR_STALE_CONTROLLER_EPOCH;
        }
    }
    const char **names = calloc(ts->n_configs + 1, sizeof(char *));
    const char **values = calloc(ts->n_configs + 1, sizeof(char *));
    if (!names || !values) {
        free(names);
        free(values);
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    for (size_t i = 0; i < ts->n_configs; i++) {
        names[i] = ts->configs[i]->name;
        values[i] = ts->configs[i]->value;
    }
    st_partition_t *part = NULL;
    int r = st_registry_host_partition(rm->b->reg, ts->topic, ps->partition, names, values,
                                       ts->n_configs, checkpointed_hw(rm, ts->topic, ps->partition),
                                       &part);
    free(names);
    free(values);
    if (r == -EIO) {
        ST_INFO("%s-%" PRId32 ": its log is in a failed log dir: answering KAFKA_STORAGE_ERROR",
                ts->topic, ps->partition);
        return ST_ERR_KAFKA_STORAGE_ERROR;
    }
    if (r < 0) {
        ST_ERROR("%s-%" PRId32 ": cannot host the partition: %s", ts->topic, ps->partition,
                 strerror(-r));
        return r == -EINVAL ? ST_ERR_INVALID_REQUEST : ST_ERR_KAFKA_STORAGE_ERROR;
    }
    st_partition_state_t st;
    memset(&st, 0, sizeof(st));
    st.controller_epoch = ps->controller_epoch;
    st.leader = ps->leader;
    st.leader_epoch = ps->leader_epoch;
    st.zk_version = ps->zk_version;
    st.n_isr = ps->n_isr;
    if (ps->n_isr)                    /* an empty list comes as NULL: no memcpy from it */
        memcpy(st.isr, ps->isr, ps->n_isr * sizeof(int32_t));
    st.n_replicas = ps->n_replicas;
    memcpy(st.replicas, ps->replicas, ps->n_replicas * sizeof(int32_t));

    remove_from_fetchers(rm, part);
    int32_t code = ST_ERR_NONE;
    if (ps->leader == self) {
        r = st_partition_make_leader(part, &st, st_now_ms());
        if (r < 0)
            code = r == -EINVAL ? ST_ERR_INVALID_REQUEST : ST_ERR_KAFKA_STORAGE_ERROR;
    } else {
        r = st_partition_make_follower(part, &st);
        if (r == 0) {
            st_partition_truncate_to_hw(part);   /* only when the epoch cache is empty */
            char host[256];
            int port = 0;
            if (!leader_endpoint(rm, msg, ps->leader, host, sizeof(host), &port)) {
                ST_WARN("%s-%" PRId32 ": LeaderAndIsr names leader %" PRId32 " but not its "
                        "endpoint in live_leaders: not fetching", ts->topic, ps->partition,
                        ps->leader);
            } else {
                int index = (int)(hash_tp(ts->topic, ps->partition) %
                                  (uint32_t)cfg->num_replica_fetchers);
                st_fetcher_t *f = fetcher_for(rm, ps->leader, index);
                if (f) {
                    st_fetcher_set_endpoint(f, host, port);
                    st_fetcher_add(f, part, ps->leader_epoch);
                }
            }
        } else {
            code = r == -EINVAL ? ST_ERR_INVALID_REQUEST : ST_ERR_KAFKA_STORAGE_ERROR;
        }
    }
    st_partition_unref(part);
    return code;
}

static void run_leader_and_isr(rm_job_t *job)
{
    st_replica_manager_t *rm = job->rm;
    Strand__LeaderAndIsrRequest *msg = job->lai;
    size_t n = 0;
    for (size_t t = 0; t < msg->n_topics; t++)
        n += msg->topics[t]->n_partitions;
    job->results = calloc(n ? n : 1, sizeof(*job->results));
    if (!job->results) {
        job->error_code = ST_ERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    pthread_mutex_lock(&rm->state_lock);
    if (st_broker_epoch_check(rm->b, msg->broker_epoch) != ST_ERR_NONE) {
        ST_WARN("LeaderAndIsr from controller %" PRId32 " carries broker epoch %" PRId64 " < ours "
                "(%" PRId64 "): ignored", msg->controller_id, msg->broker_epoch,
                st_broker_epoch_get(rm->b));
        job->error_code = ST_ERR_STALE_BROKER_EPOCH;
    } else if (st_controller_epoch_check(rm->b, msg->controller_epoch) != ST_ERR_NONE) {
        ST_WARN("LeaderAndIsr from controller %" PRId32 " at controller epoch %" PRId32 " < %"
                PRId32 " (already seen): ignored", msg->controller_id, msg->controller_epoch,
                st_controller_epoch_seen(rm->b));
        job->error_code = ST_ERR_STALE_CONTROLLER_EPOCH;
    } else {
        for (size_t t = 0; t < msg->n_topics; t++) {
            const Strand__LeaderAndIsrTopicState *ts = msg->topics[t];
            for (size_t p = 0; p < ts->n_partitions; p++)
                add_result(job, ts->topic ? ts->topic : "", ts->partitions[p]->partition,
                           ts->topic ? apply_partition(rm, msg, ts, ts->partitions[p])
                                     : ST_ERR_INVALID_REQUEST);
        }
    }
    pthread_mutex_unlock(&rm->state_lock);
}

static void run_stop_replica(rm_job_t *job)
{
    st_replica_manager_t *rm = job->rm;
    Strand__StopReplicaRequest *msg = job->stop;
    size_t n = 0;
    for (size_t t = 0; t < msg->n_topics; t++)
        n += msg->topics[t]->n_partitions;
    job->results = calloc(n ? n : 1, sizeof(*job->results));
    if (!job->results) {
        job->error_code = ST_ERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    pthread_mutex_lock(&rm->state_lock);
    if (st_broker_epoch_check(rm->b, msg->broker_epoch) != ST_ERR_NONE) {
        job->error_code = ST_ERR_STALE_BROKER_EPOCH;
    } else if (st_controller_epoch_check(rm->b, msg->controller_epoch) != ST_ERR_NONE) {
        job->error_code = ST_ERR_STALE_CONTROLLER_EPOCH;
    } else {
        for (size_t t = 0; t < msg->n_topics; t++) {
            const Strand__StopReplicaTopicState *ts = msg->topics[t];
            const char *topic = ts->topic ? ts->topic : "";
            for (size_t p = 0; p < ts->n_partitions; p++) {
                const Strand__StopReplicaPartitionState *ps = ts->partitions[p];
                st_partition_t *part = st_registry_get(rm->b->reg, topic, ps->partition);
                int32_t code = ST_ERR_NONE;
                if (!part) {
                    code = ps->delete_partition &&
                                   st_log_manager_delete(rm->b->mgr, topic, ps->partition) == 0
                               ? ST_ERR_NONE : ST_ERR_NONE;   /* nothing hosted: done */
                } else if (st_partition_offline(part)) {
                    code = ST_ERR_KAFKA_STORAGE_ERROR;   /* as Kafka: HostedPartition.Offline */
                } else if (ps->leader_epoch != -2 && ps->leader_epoch >= 0 &&
                           ps->leader_epoch < st_partition_leader_epoch(part)) {
                    code = ST_ERR_FENCED_LEADER_EPOCH;
                } else {
                    remove_from_fetchers(rm, part);
                    st_registry_drop_partition(rm->b->reg, topic, ps->partition,
                                               ps->delete_partition);
                    ST_INFO("%s-%" PRId32 ": stopped replica%s (controller %" PRId32 ", epoch %"
                            PRId32 ")", topic, ps->partition,
                            ps->delete_partition ? " and deleted its log" : "",
                            msg->controller_id, msg->controller_epoch);
                }
                st_partition_unref(part);
                add_result(job, topic, ps->partition, code);
            }
        }
    }
    pthread_mutex_unlock(&rm->state_lock);
}

static void run_job(void *arg)
{
    rm_job_t *job = arg;
    if (job->lai)
        run_leader_and_isr(job);
    else
        run_stop_replica(job);
    atomic_store(&job->done, true);
    st_net_wake_loop(job->rm->b->net, job->loop);
    job_unref(job);
}

static void discard_job(void *arg)
{
    rm_job_t *job = arg;
    if (!job)
        return;                       /* the stop's wake-up (st_replica_manager_stop) */
    job->error_code = ST_ERR_REQUEST_TIMED_OUT;
    atomic_store(&job->done, true);
    job_unref(job);
}

/* ---- the parked request (loop thread) ---------------------------------------------------- */

/* Answers with code and results: the job's own once it is done, or (expiry while the
 * replica-state thread may still be filling them) a bare timeout that reads none of them. */
static int job_respond_with(rm_job_t *job, int32_t code, const rm_result_t *results,
                            size_t n_results)
{
    st_request_t *req = &job->req;
    Strand__PartitionError *pe = st_arena_calloc(req->arena, n_results, sizeof(*pe));
    Strand__PartitionError **pp = st_arena_calloc(req->arena, n_results, sizeof(*pp));
    if (n_results && (!pe || !pp))
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t i = 0; i < n_results; i++) {
        strand__partition_error__init(&pe[i]);
        pe[i].topic = st_arena_strdup(req->arena, results[i].topic ? results[i].topic : "");
        pe[i].partition = results[i].partition;
        pe[i].error_code = results[i].error_code;
        pp[i] = &pe[i];
    }
    if (code != ST_ERR_NONE)
        code = st_reply_error(req, code, NULL, "%s from controller refused",
                              st_api_name(req->api_key));
    int r;
    if (job->lai) {
        Strand__LeaderAndIsrResponse resp = STRAND__LEADER_AND_ISR_RESPONSE__INIT;
        resp.error_code = code;
        resp.n_partition_errors = n_results;
        resp.partition_errors = pp;
        r = st_request_respond(req, &resp.base, NULL, 0);
    } else {
        Strand__StopReplicaResponse resp = STRAND__STOP_REPLICA_RESPONSE__INIT;
        resp.error_code = code;
        resp.n_partition_errors = n_results;
        resp.partition_errors = pp;
        r = st_request_respond(req, &resp.base, NULL, 0);
    }
    return r < 0 ? r : 1;
}

/* Only once job->done: the replica-state thread no longer writes the job. */
static int job_respond(rm_job_t *job)
{
    return job_respond_with(job, job->error_code, job->results, job->n_results);
}

static int job_try_complete(st_delayed_t *op)
{
    rm_job_t *job = (rm_job_t *)op;
    if (!atomic_load(&job->done))
        return 0;
    int r = job_respond(job);
    job_unref(job);
    return r;
}

static int job_on_expire(st_delayed_t *op)
{
    rm_job_t *job = (rm_job_t *)op;
    int r;
    if (atomic_load(&job->done)) {
        r = job_respond(job);
    } else {
        /* Still queued or running: the controller retries; the work will still happen. The
         * replica-state thread may be writing error_code/results right now: none is touched. */
        r = job_respond_with(job, ST_ERR_REQUEST_TIMED_OUT, NULL, 0);
    }
    job_unref(job);
    return r;
}

static void job_abort(st_delayed_t *op)
{
    job_unref((rm_job_t *)op);
}

static const st_delayed_ops_t job_ops = {
    .name = "controller-request",
    .try_complete = job_try_complete,
    .on_expire = job_on_expire,
    .abort = job_abort,
};

static int submit(st_request_t *req, Strand__LeaderAndIsrRequest *lai, Strand__StopReplicaRequest *stop)
{
    st_replica_manager_t *rm = req->broker->rm;
    rm_job_t *job = calloc(1, sizeof(*job));
    if (!job || !rm) {
        free(job);
        if (lai)
            strand__leader_and_isr_request__free_unpacked(lai, NULL);
        if (stop)
            strand__stop_replica_request__free_unpacked(stop, NULL);
        return st_reply_fatal(req->conn, req, rm ? "out of memory" : "no replica manager");
    }
    job->op.ops = &job_ops;
    job->rm = rm;
    job->req = *req;
    job->req.body = NULL;
    job->req.tail = NULL;
    job->loop = st_conn_loop(req->conn)->index;
    job->lai = lai;
    job->stop = stop;
    atomic_init(&job->refs, 2);
    if (st_mailbox_post(rm->mb, run_job, job) < 0) {
        atomic_store(&job->refs, 1);
        job_unref(job);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    st_conn_park(req->conn, &job->op, req->broker->cfg.replica_socket_timeout_ms);
    return 0;
}

int st_replica_manager_submit_leader_and_isr(st_request_t *req, Strand__LeaderAndIsrRequest *msg)
{
    return submit(req, msg, NULL);
}

int st_replica_manager_submit_stop_replica(st_request_t *req, Strand__StopReplicaRequest *msg)
{
    return submit(req, NULL, msg);
}

/* ---- AlterIsr ------------------------------------------------------------------------------ */

static void isr_notify(void *arg, st_partition_t *part)
{
    st_replica_manager_t *rm = arg;
    pthread_mutex_lock(&rm->isr_lock);
    bool found = false;
    for (size_t i = 0; i < rm->n_isr_pending; i++)
        found |= rm->isr_pending[i] == part;
    if (!found) {
        if (rm->n_isr_pending == rm->cap_isr_pending) {
            size_t cap = rm->cap_isr_pending ? rm->cap_isr_pending * 2 : 16;
            st_partition_t **n = realloc(rm->isr_pending, cap * sizeof(*n));
            if (n) {
                rm->isr_pending = n;
                rm->cap_isr_pending = cap;
            }
        }
        if (rm->n_isr_pending < rm->cap_isr_pending) {
            st_partition_ref(part);
            rm->isr_pending[rm->n_isr_pending++] = part;
        }
    }
    pthread_cond_signal(&rm->isr_cond);
    pthread_mutex_unlock(&rm->isr_lock);
}

/* Sends one AlterIsr for parts (no lock held). Returns true if every partition got an answer. */
static bool send_alter_isr(st_replica_manager_t *rm, st_partition_t **parts, size_t n,
                           st_channel_t **ch)
{
    const st_broker_config_t *cfg = &rm->b->cfg;
    int32_t controller = st_metadata_cache_controller(rm->b->meta);
    char host[256];
    int port = 0;
    const char *listener = cfg->listener_list[cfg->inter_broker_listener].name;
    if (controller < 0 || st_metadata_cache_broker_endpoint(rm->b->meta, controller, listener,
                                                            host, sizeof(host), &port) < 0) {
        ST_DEBUG("AlterIsr: no controller known yet; retrying in %d ms", ISR_RETRY_MS);
        return false;
    }
    Strand__AlterIsrTopic *topics = calloc(n, sizeof(*topics));
    Strand__AlterIsrTopic **tptrs = calloc(n, sizeof(*tptrs));
    Strand__AlterIsrPartition *ps = calloc(n, sizeof(*ps));
    Strand__AlterIsrPartition **pptrs = calloc(n, sizeof(*pptrs));
    int32_t (*isrs)[ST_MAX_REPLICAS] = calloc(n, sizeof(*isrs));
    size_t k = 0;
    for (size_t i = 0; topics && tptrs && ps && pptrs && isrs && i < n; i++) {
        size_t n_isr = 0;
        int32_t epoch, version;
        if (!st_partition_isr_proposal(parts[i], isrs[k], &n_isr, &epoch, &version))
            continue;
        strand__alter_isr_partition__init(&ps[k]);
        ps[k].partition = st_partition_id(parts[i]);
        ps[k].leader_epoch = epoch;
        ps[k].new_isr = isrs[k];
        ps[k].n_new_isr = n_isr;
        ps[k].current_isr_version = version;
        pptrs[k] = &ps[k];
        strand__alter_isr_topic__init(&topics[k]);
        topics[k].name = (char *)st_partition_topic(parts[i]);
        topics[k].n_partitions = 1;
        topics[k].partitions = &pptrs[k];
        tptrs[k] = &topics[k];
        k++;
    }
    bool ok = k == 0;
    if (k > 0) {
        char err[256] = "";
        int r = 0;
        if (*ch && (rm->isr_ch_controller != controller || rm->isr_ch_port != port ||
                    strcmp(rm->isr_ch_host, host) != 0)) {
            /* The controller moved: the open channel still goes to the old one, which would
             * answer NOT_CONTROLLER for ever (the connection itself stays healthy). */
            ST_INFO("AlterIsr: the controller is now %" PRId32 " at %s:%d (was %" PRId32 ")",
                    controller, host, port, rm->isr_ch_controller);
            st_channel_close(*ch);
            *ch = NULL;
        }
        if (!*ch) {
            rm->isr_ch_controller = controller;
            snprintf(rm->isr_ch_host, sizeof(rm->isr_ch_host), "%s", host);
            rm->isr_ch_port = port;
            st_channel_conf_t cc;
            st_channel_conf_inter_broker(cfg, "alter-isr", &cc);
            r = st_channel_open(&cc, host, port, cfg->replica_socket_timeout_ms, ch, err,
                                sizeof(err));
        }
        Strand__AlterIsrRequest req = STRAND__ALTER_ISR_REQUEST__INIT;
        req.broker_id = cfg->broker_id;
        req.broker_epoch = st_broker_epoch_get(rm->b);
        req.n_topics = k;
        req.topics = tptrs;
        st_buf_t frame = ST_BUF_INIT;
        st_frame_view_t view;
        Strand__AlterIsrResponse *resp = NULL;
        if (r == 0)
            r = st_channel_call(*ch, STRAND__API_KEY__ALTER_ISR, 0, &req.base,
                                cfg->replica_socket_timeout_ms, &frame, &view);
        if (r == 0) {
            resp = strand__alter_isr_response__unpack(NULL, view.body_len, view.body);
            if (!resp)
                r = -EBADMSG;
        }
        /* retried every 500 ms while the controller cannot be reached: counted, not repeated */
        static st_log_limit_t limit = ST_LOG_LIMIT_INIT(10000);
        if (r < 0) {
            st_logger_write_limited(&limit, ST_LEVEL_WARN, NULL,
                                    "AlterIsr to controller %" PRId32 " at %s:%d failed: %s%s%s; "
                                    "retrying", controller, host, port, strerror(-r),
                                    err[0] ? ": " : "", err);
            st_channel_close(*ch);
            *ch = NULL;
        } else if (resp->error_code != ST_ERR_NONE) {
            st_logger_write_limited(&limit, ST_LEVEL_WARN, NULL,
                                    "AlterIsr: controller %" PRId32 " answered %s; retrying",
                                    controller, st_error_name(resp->error_code));
            if (resp->error_code == ST_ERR_NOT_CONTROLLER) {
                st_channel_close(*ch);   /* reconnect to whoever the metadata names next */
                *ch = NULL;
            }
        } else {
            ok = true;
            for (size_t t = 0; t < resp->n_topics; t++) {
                const Strand__AlterIsrTopicResponse *tr = resp->topics[t];
                for (size_t p = 0; p < tr->n_partitions; p++) {
                    const Strand__AlterIsrPartitionResponse *pr = tr->partitions[p];
                    st_partition_t *part = st_registry_get(rm->b->reg, tr->name ? tr->name : "",
                                                           pr->partition);
                    if (!part)
                        continue;
                    bool retry = pr->error_code != ST_ERR_NONE &&
                                 pr->error_code != ST_ERR_FENCED_LEADER_EPOCH &&
                                 pr->error_code != ST_ERR_INVALID_UPDATE_VERSION &&
                                 pr->error_code != ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                    st_partition_isr_result(part, pr->error_code, pr->leader_epoch, pr->isr,
                                            pr->n_isr, pr->current_isr_version, retry);
                    if (retry)
                        ok = false;
                    st_partition_unref(part);
                }
            }
        }
        if (resp)
            strand__alter_isr_response__free_unpacked(resp, NULL);
        st_buf_free(&frame);
    }
    free(topics);
    free(tptrs);
    free(ps);
    free(pptrs);
    free(isrs);
    return ok;
}

static void *isr_main(void *arg)
{
    st_replica_manager_t *rm = arg;
    pthread_setname_np(pthread_self(), "alter-isr");
    st_channel_t *ch = NULL;
    pthread_mutex_lock(&rm->isr_lock);
    while (!rm->isr_stop) {
        if (rm->n_isr_pending == 0) {
            pthread_cond_wait(&rm->isr_cond, &rm->isr_lock);
            continue;
        }
        st_partition_t **parts = rm->isr_pending;
        size_t n = rm->n_isr_pending;
        rm->isr_pending = NULL;
        rm->n_isr_pending = rm->cap_isr_pending = 0;
        pthread_mutex_unlock(&rm->isr_lock);
        bool ok = send_alter_isr(rm, parts, n, &ch);
        for (size_t i = 0; i < n; i++) {
            int32_t isr[ST_MAX_REPLICAS], e, v;
            size_t ni;
            if (!ok && st_partition_isr_proposal(parts[i], isr, &ni, &e, &v))
                isr_notify(rm, parts[i]);       /* keep it for the retry */
            st_partition_unref(parts[i]);
        }
        free(parts);
        pthread_mutex_lock(&rm->isr_lock);
        if (!ok && !rm->isr_stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += ISR_RETRY_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&rm->isr_cond, &rm->isr_lock, &ts);
        }
    }
    pthread_mutex_unlock(&rm->isr_lock);
    st_channel_close(ch);
    return NULL;
}

/* ---- log dir failures --------------------------------------------------------------------- */

/* Replica-state thread: tells the controller (ZooKeeper round trip, no lock held). */
static void notify_log_dir_event(st_replica_manager_t *rm)
{
    if (!rm->log_dir_event_pending || !rm->b->node)
        return;
    char path[256] = "";
    int r = st_node_notify_log_dir_failure(rm->b->node, path, sizeof(path));
    if (r == 0) {
        rm->log_dir_event_pending = false;
        ST_INFO("Told the controller of the failed log dir (%s)", path);
    } else {
        rm->log_dir_event_retry_ms = st_now_ms() + 1000;
        static st_log_limit_t limit = ST_LOG_LIMIT_INIT(10000);
        st_logger_write_limited(&limit, ST_LEVEL_WARN, NULL,
                                "Cannot write the log dir event notification to ZooKeeper (%s); "
                                "retrying every second", strerror(-r));
    }
}

/* Replica-state thread (Kafka's handleLogDirFailure) for log dir `dir`. */
static void handle_dir_failure(st_replica_manager_t *rm, size_t dir)
{
    st_broker_t *b = rm->b;
    const char *dir_path = st_log_manager_dir_path(b->mgr, dir);
    pthread_mutex_lock(&rm->state_lock);
    st_partition_t **parts = NULL;
    size_t n = st_registry_snapshot(b->reg, &parts), k = 0;
    char names[512];
    size_t used = 0;
    names[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        st_log_t *log = st_log_manager_get(b->mgr, st_partition_topic(parts[i]),
                                           st_partition_id(parts[i]));
        if (log && st_log_manager_dir_of(b->mgr, st_log_dir(log)) == (int)dir) {
            remove_from_fetchers(rm, parts[i]);
            st_partition_set_offline(parts[i], dir_path);
            k++;
            if (used < sizeof(names) - 64) {
                int w = snprintf(names + used, sizeof(names) - used, "%s%s-%" PRId32,
                                 used ? ", " : "", st_partition_topic(parts[i]),
                                 st_partition_id(parts[i]));
                if (w > 0)
                    used += (size_t)w;
            }
        }
        st_partition_unref(parts[i]);
    }
    free(parts);
    pthread_mutex_unlock(&rm->state_lock);
    size_t online = st_log_manager_online_dir_count(b->mgr);
    ST_ERROR("Handled the failure of log dir %s: %zu hosted partition(s) offline (%s%s), their "
             "fetchers stopped; %zu of %zu log dir(s) online", dir_path, k, k ? names : "none",
             used >= sizeof(names) - 64 ? ", ..." : "", online, st_log_manager_dir_count(b->mgr));
    if (online == 0) {
        char dirs[1024];
        size_t u = 0;
        dirs[0] = '\0';
        for (size_t d = 0; d < st_log_manager_dir_count(b->mgr) && u < sizeof(dirs) - 1; d++) {
            int w = snprintf(dirs + u, sizeof(dirs) - u, "%s%s", d ? ", " : "",
                             st_log_manager_dir_path(b->mgr, d));
            if (w > 0)
                u += (size_t)w;
        }
        ST_ERROR("Shutdown broker %" PRId32 " because all log dirs in %s have failed",
                 b->cfg.broker_id, dirs);
        st_broker_request_shutdown(b, 1);
    } else {
        rm->log_dir_event_pending = true;
        notify_log_dir_event(rm);
    }
}

/* Replica-state thread: the dirs reported since the last call. */
static void handle_dir_failures(st_replica_manager_t *rm)
{
    pthread_mutex_lock(&rm->dir_lock);
    size_t *dirs = rm->failed_dirs, n = rm->n_failed_dirs;
    rm->failed_dirs = NULL;
    rm->n_failed_dirs = rm->cap_failed_dirs = 0;
    pthread_mutex_unlock(&rm->dir_lock);
    for (size_t i = 0; i < n; i++)
        handle_dir_failure(rm, dirs[i]);
    free(dirs);
}

static void wake_noop(void *arg)
{
    (void)arg;
}

/* The log manager's handler: any thread, possibly under log and manager locks: record the dir
 * and wake the replica-state thread (which handles it after its next wait). */
static void rm_dir_failed(void *arg, size_t dir, const char *path)
{
    st_replica_manager_t *rm = arg;
    pthread_mutex_lock(&rm->dir_lock);
    if (rm->n_failed_dirs == rm->cap_failed_dirs) {
        size_t cap = rm->cap_failed_dirs ? rm->cap_failed_dirs * 2 : 4;
        size_t *nd = realloc(rm->failed_dirs, cap * sizeof(*nd));
        if (nd) {
            rm->failed_dirs = nd;
            rm->cap_failed_dirs = cap;
        }
    }
    bool queued = rm->n_failed_dirs < rm->cap_failed_dirs;
    if (queued)
        rm->failed_dirs[rm->n_failed_dirs++] = dir;
    pthread_mutex_unlock(&rm->dir_lock);
    if (!queued || st_mailbox_post(rm->mb, wake_noop, NULL) < 0) {
        ST_ERROR("Out of memory handling the failure of log dir %s: stopping the broker", path);
        st_broker_request_shutdown(rm->b, 1);
    }
}

/* ---- the replica-state thread --------------------------------------------------------------- */

static void shrink_isrs(st_replica_manager_t *rm)
{
    st_partition_t **parts = NULL;
    size_t n = st_registry_snapshot(rm->b->reg, &parts);
    int64_t now = st_now_ms();
    for (size_t i = 0; i < n; i++) {
        st_partition_maybe_shrink_isr(parts[i], now);
        st_partition_unref(parts[i]);
    }
    free(parts);
}

static void *rm_main(void *arg)
{
    st_replica_manager_t *rm = arg;
    pthread_setname_np(pthread_self(), "replica-state");
    const st_broker_config_t *cfg = &rm->b->cfg;
    int64_t isr_every = cfg->replica_lag_time_max_ms / 2 > 0 ? cfg->replica_lag_time_max_ms / 2 : 1;
    int64_t now = st_now_ms();
    int64_t next_isr = now + isr_every;
    int64_t next_hw = now + cfg->replica_high_watermark_checkpoint_interval_ms;
    while (!atomic_load(&rm->stop)) {
        now = st_now_ms();
        int64_t next = next_isr < next_hw ? next_isr : next_hw;
        int64_t wait = next - now;
        st_mailbox_wait(rm->mb, wait > 0 ? (int)(wait > 1000 ? 1000 : wait) : 0);
        handle_dir_failures(rm);
        now = st_now_ms();
        if (now >= next_isr) {
            shrink_isrs(rm);
            next_isr = now + isr_every;
        }
        if (now >= next_hw) {
            st_replica_manager_checkpoint_hw(rm);
            next_hw = now + cfg->replica_high_watermark_checkpoint_interval_ms;
        }
        if (rm->log_dir_event_pending && now >= rm->log_dir_event_retry_ms)
            notify_log_dir_event(rm);
    }
    return NULL;
}

int st_replica_manager_start(st_broker_t *b, st_replica_manager_t **ret)
{
    st_replica_manager_t *rm = calloc(1, sizeof(*rm));
    if (!rm)
        return -ENOMEM;
    rm->b = b;
    pthread_mutex_init(&rm->state_lock, NULL);
    pthread_mutex_init(&rm->isr_lock, NULL);
    pthread_mutex_init(&rm->dir_lock, NULL);
    pthread_cond_init(&rm->isr_cond, NULL);
    int r = st_mailbox_new(&rm->mb);
    if (r < 0) {
        free(rm);
        return r;
    }
    load_hw_checkpoints(rm);
    st_registry_set_isr_notify(b->reg, isr_notify, rm);
    st_log_manager_set_dir_failure_handler(b->mgr, rm_dir_failed, rm);
    r = pthread_create(&rm->thread, NULL, rm_main, rm);
    if (r != 0) {
        st_mailbox_free(rm->mb, NULL);
        free(rm);
        return -r;
    }
    r = pthread_create(&rm->isr_thread, NULL, isr_main, rm);
    if (r != 0) {
        atomic_store(&rm->stop, true);
        pthread_join(rm->thread, NULL);
        st_mailbox_free(rm->mb, NULL);
        free(rm);
        return -r;
    }
    *ret = rm;
    return 0;
}

void st_replica_manager_stop(st_replica_manager_t *rm)
{
    if (!rm)
        return;
    /* from here on a failed log dir is only recorded (the close skips it) */
    st_log_manager_set_dir_failure_handler(rm->b->mgr, NULL, NULL);
    atomic_store(&rm->stop, true);
    st_mailbox_post(rm->mb, wake_noop, NULL);   /* no waiting out the thread's 1 s poll */
    pthread_join(rm->thread, NULL);
    pthread_mutex_lock(&rm->isr_lock);
    rm->isr_stop = true;
    pthread_cond_signal(&rm->isr_cond);
    pthread_mutex_unlock(&rm->isr_lock);
    pthread_join(rm->isr_thread, NULL);
    for (size_t i = 0; i < rm->n_isr_pending; i++)
        st_partition_unref(rm->isr_pending[i]);
    free(rm->isr_pending);
    for (size_t i = 0; i < rm->n_fetchers; i++)
        st_fetcher_stop(rm->fetchers[i]);   /* all at once: no long poll waits for another */
    for (size_t i = 0; i < rm->n_fetchers; i++)
        st_fetcher_free(rm->fetchers[i]);
    free(rm->fetchers);
    st_registry_set_isr_notify(rm->b->reg, NULL, NULL);
    st_replica_manager_checkpoint_hw(rm);
    st_mailbox_free(rm->mb, discard_job);
    for (size_t i = 0; i < rm->n_hws; i++)
        free(rm->hws[i].topic);
    free(rm->hws);
    pthread_mutex_destroy(&rm->state_lock);
    pthread_mutex_destroy(&rm->isr_lock);
    pthread_mutex_destroy(&rm->dir_lock);
    pthread_cond_destroy(&rm->isr_cond);
    free(rm->failed_dirs);
    free(rm);
}

