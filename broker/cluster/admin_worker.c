/* Topic administration through ZooKeeper on one admin thread (see admin_worker.h).
 *
 * A job holds the decoded request (default allocator, owned by the job) and the st_await_t of
 * the parked request; the thread runs jobs in order from its mailbox, builds the response with
 * malloc'd strings, hands it to st_await_done and frees everything. The loop thread passes the
 * per-topic errors through st_reply_error (admin_finish) when it sends the answer. */
#include "admin_worker.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "await.h"
#include "metadata_cache.h"
#include "partition.h"
#include "st_controller.h"
#include "st_logger.h"
#include "st_mailbox.h"
#include "st_topic_admin.h"
#include "st_znode.h"
#include "topic_config.h"

#define ADMIN_WAIT_CAP_MS  (5 * 60 * 1000)
#define POLL_MS            10
#define MSG_LEN            512
#define TIMED_OUT_MSG      "the topic admin thread did not finish in time (ZooKeeper unreachable?)"
/* Partitions one CreateTopics (or CreatePartitions) request may add, over all its topics: each
 * partition is a log directory with open segment files on its replicas and controller work, so
 * an unbounded count (num_partitions = INT32_MAX) would exhaust memory and disk. Larger topics
 * are created in steps (CreatePartitions). */
#define MAX_NEW_PARTITIONS_PER_REQUEST 4096

struct st_admin_worker {
    st_broker_t *b;
    st_mailbox_t *mb;
    pthread_t thread;
    atomic_bool stop;
};

typedef enum job_kind { JOB_CREATE, JOB_DELETE, JOB_PARTITIONS, JOB_AUTO, JOB_INTERNAL } job_kind_t;

#define MAX_INTERNAL_CONFIGS 8

typedef struct admin_job {
    st_admin_worker_t *w;
    job_kind_t kind;
    st_await_t *aw;                          /* NULL for auto-creation */
    Strand__CreateTopicsRequest *create;
    Strand__DeleteTopicsRequest *del;
    Strand__CreatePartitionsRequest *parts;
    char *auto_topic;
    /* JOB_INTERNAL: partitions, replication factor (capped by the brokers), config overrides. */
    int32_t int_partitions, int_rf;
    char *int_keys[MAX_INTERNAL_CONFIGS], *int_values[MAX_INTERNAL_CONFIGS];
    size_t n_int_configs;
} admin_job_t;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void job_free(admin_job_t *job)
{
    if (job->create)
        strand__create_topics_request__free_unpacked(job->create, NULL);
    if (job->del)
        strand__delete_topics_request__free_unpacked(job->del, NULL);
    if (job->parts)
        strand__create_partitions_request__free_unpacked(job->parts, NULL);
    free(job->auto_topic);
    for (size_t i = 0; i < job->n_int_configs; i++) {
        free(job->int_keys[i]);
        free(job->int_values[i]);
    }
    free(job);
}

/* ---- waiting for the controller's metadata ---------------------------------------------- */

/* True when the cache shows `topic` with at least n partitions, each with a leader, and this
 * broker already leads (hosts, as leader) those the cache says it leads: a client that produces
 * here right after the answer finds the partition. */
static bool topic_ready(st_broker_t *b, const char *topic, int32_t n)
{
    st_md_snapshot_t *snap = st_metadata_cache_acquire(b->meta);
    const st_md_topic_t *t = st_md_snapshot_topic(snap, topic);
    bool ready = t && (int64_t)t->n_parts >= n;
    for (int32_t p = 0; ready && p < n; p++) {
        const st_md_partition_t *mp = st_md_topic_partition(t, p);
        ready = mp && mp->lisr.leader >= 0;
        if (ready && mp->lisr.leader == b->cfg.broker_id) {
            st_partition_t *part = st_registry_get(b->reg, topic, p);
            ready = part && st_partition_role(part) == ST_ROLE_LEADER;
            st_partition_unref(part);
        }
    }
    st_md_snapshot_release(snap);
    return ready;
}

static bool topic_gone(st_broker_t *b, const char *topic)
{
    st_md_snapshot_t *snap = st_metadata_cache_acquire(b->meta);
    bool gone = st_md_snapshot_topic(snap, topic) == NULL;
    st_md_snapshot_release(snap);
    return gone;
}

/* After topic_gone: the controller removed the topic's znodes (the name may be used again) and
 * this broker no longer hosts any partition of it (its logs are deleted). */
static bool topic_deleted(st_broker_t *b, const char *topic)
{
    if (st_registry_has_topic(b->reg, topic))
        return false;
    char path[512];
    st_zpath_topic(path, sizeof(path), topic);
    return st_zk_exists(st_node_zk(b->node), path, false, NULL) == -ENOENT;
}

/* Polls until done(arg) or the deadline. */
static bool wait_until(st_admin_worker_t *w, int64_t deadline, bool (*done)(void *), void *arg)
{
    for (;;) {
        if (done(arg))
            return true;
        if (mono_ms() >= deadline || atomic_load(&w->stop))
            return false;
        sleep_ms(POLL_MS);
    }
}

typedef struct ready_arg {
    st_broker_t *b;
    const char *topic;
    int32_t n;                        /* >= 0: partitions to be ready; -1 gone; -2 deleted */
} ready_arg_t;

static bool ready_cb(void *arg)
{
    ready_arg_t *a = arg;
    if (a->n == -1)
        return topic_gone(a->b, a->topic);
    if (a->n == -2)
        return topic_deleted(a->b, a->topic);
    return topic_ready(a->b, a->topic, a->n);
}

static int64_t deadline_for(int32_t timeout_ms)
{
    int64_t t = timeout_ms < 0 ? 0 : timeout_ms > ADMIN_WAIT_CAP_MS ? ADMIN_WAIT_CAP_MS : timeout_ms;
    return mono_ms() + t;
}

/* ---- duplicate names ---------------------------------------------------------------------- */

static const char *const *dup_names;

static int cmp_name_idx(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(dup_names[x] ? dup_names[x] : "", dup_names[y] ? dup_names[y] : "");
    return c ? c : (x > y) - (x < y);
}

/* Marks names given more than once: every occurrence (all) or all but the first. Sorting keeps
 * a request with 10,000 names cheap. Admin thread only (dup_names). -ENOMEM, dup untouched. */
static int mark_duplicates(char *const *names, size_t n, bool all, bool *dup)
{
    size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    dup_names = (const char *const *)names;
    qsort(idx, n, sizeof(*idx), cmp_name_idx);
    for (size_t i = 0; i < n;) {
        size_t end = i + 1;
        while (end < n && strcmp(names[idx[i]] ? names[idx[i]] : "",
                                 names[idx[end]] ? names[idx[end]] : "") == 0)
            end++;
        for (size_t k = i; end - i > 1 && k < end; k++)
            dup[idx[k]] = all || k > i;     /* idx ascending within a run: k == i is the first */
        i = end;
    }
    free(idx);
    return 0;
}

/* ---- CreateTopics ------------------------------------------------------------------------ */

/* Checks and creates one topic; fills code/msg and the counts. */
static int create_one(st_admin_worker_t *w, const Strand__CreateTopicsRequest *req,
                      const Strand__CreatableTopic *ct, const st_admin_broker_t *brokers,
                      size_t n_brokers, int32_t *budget, int32_t *ret_partitions,
                      int32_t *ret_rf, char *msg, size_t msg_len)
{
    const st_broker_config_t *cfg = &w->b->cfg;
    int32_t partitions = ct->num_partitions == -1 ? cfg->num_partitions : ct->num_partitions;
    int32_t rf = ct->replication_factor == -1 ? cfg->default_replication_factor
                                              : ct->replication_factor;
    int32_t *rows = NULL;
    int32_t rows_rf = 0;
    if (ct->n_assignments) {
        if (ct->num_partitions != -1 || ct->replication_factor != -1) {
            snprintf(msg, msg_len, "Topic '%s': give either assignments or num_partitions and "
                     "replication_factor (set them to -1), not both", ct->name);
            return ST_ERR_INVALID_REQUEST;
        }
        partitions = (int32_t)ct->n_assignments;
        rows_rf = (int32_t)ct->assignments[0]->n_broker_ids;
        rows = calloc((size_t)partitions * (size_t)(rows_rf ? rows_rf : 1), sizeof(int32_t));
        if (!rows) {
            snprintf(msg, msg_len, "out of memory");
            return ST_ERR_UNKNOWN_SERVER_ERROR;
        }
        bool *seen = calloc((size_t)partitions, sizeof(bool));
        int code = seen ? ST_ERR_NONE : ST_ERR_UNKNOWN_SERVER_ERROR;
        for (size_t i = 0; code == ST_ERR_NONE && i < ct->n_assignments; i++) {
            const Strand__CreatableReplicaAssignment *a = ct->assignments[i];
            if (a->partition < 0 || a->partition >= partitions || seen[a->partition]) {
                snprintf(msg, msg_len, "Topic '%s': assignment partitions must be 0..%" PRId32
                         ", each once (got %" PRId32 ")", ct->name, partitions - 1, a->partition);
                code = ST_ERR_INVALID_REPLICA_ASSIGNMENT;
            } else if ((int32_t)a->n_broker_ids != rows_rf) {
                snprintf(msg, msg_len, "Partition %" PRId32 " has different replication factor: "
                         "%zu replicas where partition %" PRId32 " has %" PRId32 ".", a->partition,
                         a->n_broker_ids, ct->assignments[0]->partition, rows_rf);
                code = ST_ERR_INVALID_REPLICA_ASSIGNMENT;
            } else {
                seen[a->partition] = true;
                if (rows_rf > 0)          /* an empty list has no array (NULL) */
                    memcpy(rows + (size_t)a->partition * (size_t)rows_rf, a->broker_ids,
                           (size_t)rows_rf * sizeof(int32_t));
            }
        }
        free(seen);
        if (code != ST_ERR_NONE) {
            free(rows);
            return code;
        }
        rf = rows_rf;
    }
    if (partitions > 0 && partitions > *budget) {
        free(rows);
        snprintf(msg, msg_len, "Topic '%s': %" PRId32 " partitions is more than this request may "
                 "still create (%" PRId32 " of at most %d per CreateTopics request)", ct->name,
                 partitions, *budget, MAX_NEW_PARTITIONS_PER_REQUEST);
        return ST_ERR_INVALID_PARTITIONS;
    }
    const char **keys = calloc(ct->n_configs + 1, sizeof(char *));
    const char **values = calloc(ct->n_configs + 1, sizeof(char *));
    if (!keys || !values) {
        free(keys);
        free(values);
        free(rows);
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    for (size_t i = 0; i < ct->n_configs; i++) {
        keys[i] = ct->configs[i]->name ? ct->configs[i]->name : "";
        values[i] = ct->configs[i]->value ? ct->configs[i]->value : "";
    }
    /* Topic configs: every key known, every value valid, none twice, before anything is
     * written (the topic table, st_topic_config.h). */
    char reason[400];
    if (st_topic_config_validate(keys, values, ct->n_configs, reason, sizeof(reason)) < 0) {
        free(keys);
        free(values);
        free(rows);
        snprintf(msg, msg_len, "Topic '%.64s': %s", ct->name, reason);
        return ST_ERR_INVALID_CONFIG;
    }
    st_topic_spec_t spec = {
        .name = ct->name,
        .n_partitions = partitions,
        .replication_factor = rf,
        .assignment = rows,
        .n_assignment_rf = rows_rf,
        .config_keys = keys,
        .config_values = values,
        .n_configs = ct->n_configs,
        .rack_aware = true,
        .validate_only = req->validate_only,
        .brokers = brokers,
        .n_brokers = n_brokers,
    };
    int code = st_topic_admin_create(st_node_zk(w->b->node), &spec, NULL, msg, msg_len);
    free(keys);
    free(values);
    free(rows);
    if (code == ST_ERR_NONE && !req->validate_only)
        *budget -= partitions;
    *ret_partitions = partitions;
    *ret_rf = rf;
    return code;
}

static void run_create(admin_job_t *job)
{
    st_admin_worker_t *w = job->w;
    const Strand__CreateTopicsRequest *req = job->create;
    size_t n = req->n_topics;
    Strand__CreatableTopicResult *res = calloc(n ? n : 1, sizeof(*res));
    Strand__CreatableTopicResult **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    char (*msgs)[MSG_LEN] = calloc(n ? n : 1, MSG_LEN);
    Strand__CreateTopicsResponse resp = STRAND__CREATE_TOPICS_RESPONSE__INIT;
    if (!res || !ptrs || !msgs) {
        n = 0;
    }
    int64_t deadline = deadline_for(req->timeout_ms);
    int32_t budget = MAX_NEW_PARTITIONS_PER_REQUEST;
    /* The registered brokers, read once for the whole request. */
    char brokers_msg[MSG_LEN] = "";
    st_admin_broker_t *brokers = NULL;
    size_t n_brokers = 0;
    int brokers_code = st_topic_admin_brokers(st_node_zk(w->b->node), &brokers, &n_brokers,
                                              brokers_msg, sizeof(brokers_msg));
    bool *dup = calloc(n ? n : 1, sizeof(bool));
    char **names = calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; names && i < n; i++)
        names[i] = req->topics[i]->name;
    if (!dup || !names || mark_duplicates(names, n, true, dup) < 0)
        brokers_code = ST_ERR_UNKNOWN_SERVER_ERROR;
    for (size_t i = 0; i < n; i++) {
        const Strand__CreatableTopic *ct = req->topics[i];
        strand__creatable_topic_result__init(&res[i]);
        ptrs[i] = &res[i];
        res[i].name = ct->name;
        res[i].num_partitions = -1;
        res[i].replication_factor = -1;
        int32_t partitions = -1, rf = -1;
        int code;
        if (brokers_code != ST_ERR_NONE) {
            snprintf(msgs[i], MSG_LEN, "%s", brokers_msg[0] ? brokers_msg : "out of memory");
            code = brokers_code;
        } else if (dup[i]) {
            snprintf(msgs[i], MSG_LEN, "Topic '%s' appears more than once in the request",
                     ct->name);
            code = ST_ERR_INVALID_REQUEST;
        } else {
            code = create_one(w, req, ct, brokers, n_brokers, &budget, &partitions, &rf, msgs[i],
                              MSG_LEN);
        }
        if (code == ST_ERR_NONE) {
            res[i].num_partitions = partitions;
            res[i].replication_factor = rf;
            if (!req->validate_only)
                ST_INFO("Created topic %s with %" PRId32 " partition(s), replication factor %"
                        PRId32 " (ZooKeeper /brokers/topics/%s)", ct->name, partitions, rf,
                        ct->name);
        }
        res[i].error_code = code;
        res[i].error_message = code == ST_ERR_NONE ? NULL : msgs[i];
    }
    free(brokers);
    free(dup);
    free(names);
    /* Wait for the controller to give every new partition a leader (as Kafka's delayed
     * CreateTopics does), until the request's timeout. */
    for (size_t i = 0; i < n && !req->validate_only; i++) {
        if (res[i].error_code != ST_ERR_NONE)
            continue;
        ready_arg_t a = { w->b, res[i].name, res[i].num_partitions };
        if (!wait_until(w, deadline, ready_cb, &a) && req->timeout_ms > 0) {
            snprintf(msgs[i], MSG_LEN, "Topic '%s' was created, but its partitions had no "
                     "leaders within %" PRId32 " ms", res[i].name, req->timeout_ms);
            res[i].error_code = ST_ERR_REQUEST_TIMED_OUT;
            res[i].error_message = msgs[i];
        }
    }
    resp.n_topics = n;
    resp.topics = ptrs;
    st_await_done(job->aw, &resp.base);
    free(res);
    free(ptrs);
    free(msgs);
}

/* ---- DeleteTopics ------------------------------------------------------------------------ */

static void run_delete(admin_job_t *job)
{
    st_admin_worker_t *w = job->w;
    const Strand__DeleteTopicsRequest *req = job->del;
    size_t n = req->n_topic_names;
    Strand__DeletableTopicResult *res = calloc(n ? n : 1, sizeof(*res));
    Strand__DeletableTopicResult **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    char (*msgs)[MSG_LEN] = calloc(n ? n : 1, MSG_LEN);
    if (!res || !ptrs || !msgs)
        n = 0;
    int64_t deadline = deadline_for(req->timeout_ms);
    /* A name given twice: the first occurrence deletes, the others are refused. */
    bool *dup = calloc(n ? n : 1, sizeof(bool));
    if (dup && mark_duplicates(req->topic_names, n, false, dup) < 0) {
        free(dup);
        dup = NULL;
    }
    st_md_snapshot_t *snap = st_metadata_cache_acquire(w->b->meta);
    for (size_t i = 0; i < n; i++) {
        const char *name = req->topic_names[i];
        strand__deletable_topic_result__init(&res[i]);
        ptrs[i] = &res[i];
        res[i].name = req->topic_names[i];
        int code;
        if (!w->b->cfg.delete_topic_enable) {
            snprintf(msgs[i], MSG_LEN, "Topic deletion is disabled (delete.topic.enable=false)");
            code = ST_ERR_TOPIC_DELETION_DISABLED;
        } else if (!st_topic_name_valid(name, msgs[i], MSG_LEN)) {
            code = ST_ERR_INVALID_TOPIC_EXCEPTION;
        } else if (!dup) {
            snprintf(msgs[i], MSG_LEN, "out of memory");
            code = ST_ERR_UNKNOWN_SERVER_ERROR;
        } else if (dup[i]) {
            snprintf(msgs[i], MSG_LEN, "Topic '%s' appears more than once in the request", name);
            code = ST_ERR_INVALID_REQUEST;
        } else if (!st_md_snapshot_topic(snap, name)) {
            /* Kafka's check: a topic the metadata does not know does not exist. */
            snprintf(msgs[i], MSG_LEN, "Topic '%s' does not exist", name);
            code = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        } else {
            code = st_topic_admin_delete(st_node_zk(w->b->node), name, msgs[i], MSG_LEN);
            if (code == ST_ERR_NONE)
                ST_INFO("Topic %s marked for deletion (/admin/delete_topics/%s)", name, name);
        }
        res[i].error_code = code;
        res[i].error_message = code == ST_ERR_NONE ? NULL : msgs[i];
    }
    st_md_snapshot_release(snap);
    free(dup);
    for (size_t i = 0; i < n; i++) {
        if (res[i].error_code != ST_ERR_NONE)
            continue;
        ready_arg_t a = { w->b, res[i].name, -1 };
        if (!wait_until(w, deadline, ready_cb, &a) && req->timeout_ms > 0) {
            snprintf(msgs[i], MSG_LEN, "Topic '%s' is marked for deletion but was not deleted "
                     "within %" PRId32 " ms", res[i].name, req->timeout_ms);
            res[i].error_code = ST_ERR_REQUEST_TIMED_OUT;
            res[i].error_message = msgs[i];
            continue;
        }
        /* Gone from the metadata is Kafka's answer; also wait (within the same timeout, without
         * failing on it) until the znodes and this broker's logs are gone, so that the client
         * can create the name again and finds nothing of the old topic here. */
        a.n = -2;
        wait_until(w, deadline, ready_cb, &a);
    }
    Strand__DeleteTopicsResponse resp = STRAND__DELETE_TOPICS_RESPONSE__INIT;
    resp.n_responses = n;
    resp.responses = ptrs;
    st_await_done(job->aw, &resp.base);
    free(res);
    free(ptrs);
    free(msgs);
}

/* ---- CreatePartitions -------------------------------------------------------------------- */

/* The topic's partition count as the metadata cache knows it (0 if unknown). */
static int32_t known_partitions(st_broker_t *b, const char *topic)
{
    st_md_snapshot_t *snap = st_metadata_cache_acquire(b->meta);
    const st_md_topic_t *t = st_md_snapshot_topic(snap, topic);
    int32_t n = t ? (int32_t)t->n_parts : 0;
    st_md_snapshot_release(snap);
    return n;
}

static void run_partitions(admin_job_t *job)
{
    st_admin_worker_t *w = job->w;
    const Strand__CreatePartitionsRequest *req = job->parts;
    size_t n = req->n_topics;
    Strand__CreatePartitionsTopicResult *res = calloc(n ? n : 1, sizeof(*res));
    Strand__CreatePartitionsTopicResult **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    char (*msgs)[MSG_LEN] = calloc(n ? n : 1, MSG_LEN);
    if (!res || !ptrs || !msgs)
        n = 0;
    int64_t deadline = deadline_for(req->timeout_ms);
    int32_t budget = MAX_NEW_PARTITIONS_PER_REQUEST;
    for (size_t i = 0; i < n; i++) {
        const Strand__CreatePartitionsTopic *t = req->topics[i];
        strand__create_partitions_topic_result__init(&res[i]);
        ptrs[i] = &res[i];
        res[i].name = t->name;
        int32_t *rows = NULL;
        size_t rf = t->n_assignments ? t->assignments[0]->n_broker_ids : 0;
        int code = ST_ERR_NONE;
        if (t->n_assignments) {
            rows = calloc(t->n_assignments * (rf ? rf : 1), sizeof(int32_t));
            for (size_t r = 0; rows && r < t->n_assignments && code == ST_ERR_NONE; r++) {
                if (t->assignments[r]->n_broker_ids != rf) {
                    snprintf(msgs[i], MSG_LEN, "Inconsistent replication factor between "
                             "partitions of the new assignment of %s", t->name);
                    code = ST_ERR_INVALID_REPLICA_ASSIGNMENT;
                } else if (rf > 0) {
                    memcpy(rows + r * rf, t->assignments[r]->broker_ids, rf * sizeof(int32_t));
                }
            }
            if (!rows) {
                snprintf(msgs[i], MSG_LEN, "out of memory");
                code = ST_ERR_UNKNOWN_SERVER_ERROR;
            }
        }
        if (code == ST_ERR_NONE && t->count > 0 &&
            t->count - known_partitions(w->b, t->name) > budget) {
            snprintf(msgs[i], MSG_LEN, "Topic '%s': growing to %" PRId32 " partitions adds more "
                     "than this request may still create (%" PRId32 " of at most %d per "
                     "request)", t->name, t->count, budget, MAX_NEW_PARTITIONS_PER_REQUEST);
            code = ST_ERR_INVALID_PARTITIONS;
        }
        if (code == ST_ERR_NONE)
            code = st_topic_admin_add_partitions(st_node_zk(w->b->node), t->name, t->count, rows,
                                                 t->n_assignments, rf, req->validate_only,
                                                 msgs[i], MSG_LEN);
        free(rows);
        if (code == ST_ERR_NONE && !req->validate_only) {
            budget -= t->count - known_partitions(w->b, t->name);
            ST_INFO("Increased the partition count of %s to %" PRId32, t->name, t->count);
            ready_arg_t a = { w->b, t->name, t->count };
            if (!wait_until(w, deadline, ready_cb, &a) && req->timeout_ms > 0) {
                snprintf(msgs[i], MSG_LEN, "Partitions of %s were added, but had no leaders "
                         "within %" PRId32 " ms", t->name, req->timeout_ms);
                code = ST_ERR_REQUEST_TIMED_OUT;
            }
        }
        res[i].error_code = code;
        res[i].error_message = code == ST_ERR_NONE ? NULL : msgs[i];
    }
    Strand__CreatePartitionsResponse resp = STRAND__CREATE_PARTITIONS_RESPONSE__INIT;
    resp.n_results = n;
    resp.results = ptrs;
    st_await_done(job->aw, &resp.base);
    free(res);
    free(ptrs);
    free(msgs);
}

/* ---- auto-creation ------------------------------------------------------------------------ */

static void run_auto(admin_job_t *job)
{
    st_admin_worker_t *w = job->w;
    const st_broker_config_t *cfg = &w->b->cfg;
    char msg[MSG_LEN];
    st_topic_spec_t spec = {
        .name = job->auto_topic,
        .n_partitions = cfg->num_partitions,
        .replication_factor = cfg->default_replication_factor,
        .rack_aware = true,
    };
    int code = st_topic_admin_create(st_node_zk(w->b->node), &spec, NULL, msg, sizeof(msg));
    if (code == ST_ERR_NONE)
        ST_INFO("Auto-created topic %s (%" PRId32 " partitions, replication factor %" PRId32 ")",
                job->auto_topic, cfg->num_partitions, cfg->default_replication_factor);
    else if (code != ST_ERR_TOPIC_ALREADY_EXISTS)
        ST_WARN("Auto-creating topic %s: %s (%s)", job->auto_topic, msg, st_error_name(code));
}

static void run_job(void *arg);

/* ---- internal topics ----------------------------------------------------------------------- */

static void run_internal(admin_job_t *job)
{
    st_admin_worker_t *w = job->w;
    char msg[MSG_LEN];
    st_admin_broker_t *brokers = NULL;
    size_t n_brokers = 0;
    int code = st_topic_admin_brokers(st_node_zk(w->b->node), &brokers, &n_brokers, msg,
                                      sizeof(msg));
    if (code != ST_ERR_NONE || n_brokers == 0) {
        ST_WARN("Creating internal topic %s: no registered brokers to place it on (%s)",
                job->auto_topic, code != ST_ERR_NONE ? msg : "none registered");
        free(brokers);
        return;
    }
    int32_t rf = job->int_rf;
    if ((size_t)rf > n_brokers)
        rf = (int32_t)n_brokers;
    st_topic_spec_t spec = {
        .name = job->auto_topic,
        .n_partitions = job->int_partitions,
        .replication_factor = rf,
        .config_keys = (const char *const *)job->int_keys,
        .config_values = (const char *const *)job->int_values,
        .n_configs = job->n_int_configs,
        .rack_aware = true,
        .brokers = brokers,
        .n_brokers = n_brokers,
    };
    code = st_topic_admin_create(st_node_zk(w->b->node), &spec, NULL, msg, sizeof(msg));
    free(brokers);
    if (code == ST_ERR_NONE)
        ST_INFO("Created internal topic %s (%" PRId32 " partitions, replication factor %" PRId32
                "%s)", job->auto_topic, job->int_partitions, rf,
                rf < job->int_rf ? ", capped by the live brokers" : "");
    else if (code != ST_ERR_TOPIC_ALREADY_EXISTS)
        ST_WARN("Creating internal topic %s: %s (%s)", job->auto_topic, msg, st_error_name(code));
}

void st_admin_worker_create_internal(st_broker_t *b, const char *topic, int32_t partitions,
                                     int32_t replication_factor, const char *const *config_keys,
                                     const char *const *config_values, size_t n_configs)
{
    if (!b->admin || n_configs > MAX_INTERNAL_CONFIGS)
        return;
    admin_job_t *job = calloc(1, sizeof(*job));
    if (!job)
        return;
    job->w = b->admin;
    job->kind = JOB_INTERNAL;
    job->auto_topic = strdup(topic);
    job->int_partitions = partitions;
    job->int_rf = replication_factor;
    bool ok = job->auto_topic != NULL;
    for (size_t i = 0; ok && i < n_configs; i++) {
        job->int_keys[i] = strdup(config_keys[i]);
        job->int_values[i] = strdup(config_values[i]);
        job->n_int_configs = i + 1;
        ok = job->int_keys[i] && job->int_values[i];
    }
    if (!ok || st_mailbox_post(b->admin->mb, run_job, job) < 0)
        job_free(job);
}

/* ---- the thread --------------------------------------------------------------------------- */

static void run_job(void *arg)
{
    admin_job_t *job = arg;
    switch (job->kind) {
    case JOB_CREATE: run_create(job); break;
    case JOB_DELETE: run_delete(job); break;
    case JOB_PARTITIONS: run_partitions(job); break;
    case JOB_AUTO: run_auto(job); break;
    case JOB_INTERNAL: run_internal(job); break;
    }
    job_free(job);
}

static void *worker_main(void *arg)
{
    st_admin_worker_t *w = arg;
    while (!atomic_load(&w->stop))
        st_mailbox_wait(w->mb, 200);
    return NULL;
}

/* Jobs left when the worker stops: their requests are answered by their expiry. */
static void discard_job(void *arg)
{
    admin_job_t *job = arg;
    if (!job)
        return;                       /* the stop's wake-up (st_admin_worker_stop) */
    if (job->aw)
        st_await_cancel(job->aw);
    job_free(job);
}

int st_admin_worker_start(st_broker_t *b, st_admin_worker_t **ret)
{
    st_admin_worker_t *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->b = b;
    int r = st_mailbox_new(&w->mb);
    if (r < 0) {
        free(w);
        return r;
    }
    r = -pthread_create(&w->thread, NULL, worker_main, w);
    if (r < 0) {
        st_mailbox_free(w->mb, NULL);
        free(w);
        return r;
    }
    *ret = w;
    return 0;
}

static void wake_noop(void *arg)
{
    (void)arg;
}

void st_admin_worker_stop(st_admin_worker_t *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    st_mailbox_post(w->mb, wake_noop, NULL);   /* no waiting out the thread's poll */
    pthread_join(w->thread, NULL);
    st_mailbox_free(w->mb, discard_job);
    free(w);
}

/* ---- loop side ---------------------------------------------------------------------------- */

/* Loop thread: every per-topic error of an admin answer through the one error path. */
static void finish_create(st_request_t *req, ProtobufCMessage *m)
{
    Strand__CreateTopicsResponse *resp = (Strand__CreateTopicsResponse *)m;
    for (size_t i = 0; i < resp->n_topics; i++)
        if (resp->topics[i]->error_code)
            st_reply_error(req, resp->topics[i]->error_code, NULL, "%s",
                           resp->topics[i]->error_message ? resp->topics[i]->error_message : "");
}

static void finish_delete(st_request_t *req, ProtobufCMessage *m)
{
    Strand__DeleteTopicsResponse *resp = (Strand__DeleteTopicsResponse *)m;
    for (size_t i = 0; i < resp->n_responses; i++)
        if (resp->responses[i]->error_code)
            st_reply_error(req, resp->responses[i]->error_code, NULL, "%s",
                           resp->responses[i]->error_message ? resp->responses[i]->error_message
                                                             : "");
}

static void finish_partitions(st_request_t *req, ProtobufCMessage *m)
{
    Strand__CreatePartitionsResponse *resp = (Strand__CreatePartitionsResponse *)m;
    for (size_t i = 0; i < resp->n_results; i++)
        if (resp->results[i]->error_code)
            st_reply_error(req, resp->results[i]->error_code, NULL, "%s",
                           resp->results[i]->error_message ? resp->results[i]->error_message : "");
}

/* The wait of a parked admin request: its own timeout plus time for the ZooKeeper writes. */
static int32_t park_ms(int32_t timeout_ms)
{
    int64_t t = (int64_t)(timeout_ms > 0 ? timeout_ms : 0) + 30000;   /* INT32_MAX + 30000 */
    return t > ADMIN_WAIT_CAP_MS ? ADMIN_WAIT_CAP_MS : (int32_t)t;
}

static int submit(st_request_t *req, admin_job_t *job, const ProtobufCMessage *expired,
                  int32_t timeout_ms, st_await_finish_fn *finish)
{
    st_admin_worker_t *w = req->broker->admin;
    job->w = w;
    job->aw = w ? st_await_park(req, park_ms(timeout_ms), expired, finish) : NULL;
    if (!job->aw) {
        job_free(job);
        return st_reply_fatal(req->conn, req, w ? "out of memory" : "no admin worker");
    }
    if (st_mailbox_post(w->mb, run_job, job) < 0) {
        st_await_done(job->aw, expired);   /* answers the timeout body at once */
        job->aw = NULL;
        job_free(job);
    }
    return 0;
}

int st_admin_worker_create_topics(st_request_t *req, Strand__CreateTopicsRequest *msg)
{
    admin_job_t *job = calloc(1, sizeof(*job));
    if (!job) {
        strand__create_topics_request__free_unpacked(msg, NULL);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    job->kind = JOB_CREATE;
    job->create = msg;
    size_t n = msg->n_topics;
    Strand__CreatableTopicResult *res = st_arena_calloc(req->arena, n + 1, sizeof(*res));
    Strand__CreatableTopicResult **ptrs = st_arena_calloc(req->arena, n + 1, sizeof(*ptrs));
    if (!res || !ptrs) {
        job_free(job);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        strand__creatable_topic_result__init(&res[i]);
        res[i].name = msg->topics[i]->name;
        res[i].error_code = ST_ERR_REQUEST_TIMED_OUT;
        res[i].error_message = (char *)TIMED_OUT_MSG;
        ptrs[i] = &res[i];
    }
    Strand__CreateTopicsResponse expired = STRAND__CREATE_TOPICS_RESPONSE__INIT;
    expired.n_topics = n;
    expired.topics = ptrs;
    return submit(req, job, &expired.base, msg->timeout_ms, finish_create);
}

int st_admin_worker_delete_topics(st_request_t *req, Strand__DeleteTopicsRequest *msg)
{
    admin_job_t *job = calloc(1, sizeof(*job));
    if (!job) {
        strand__delete_topics_request__free_unpacked(msg, NULL);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    job->kind = JOB_DELETE;
    job->del = msg;
    size_t n = msg->n_topic_names;
    Strand__DeletableTopicResult *res = st_arena_calloc(req->arena, n + 1, sizeof(*res));
    Strand__DeletableTopicResult **ptrs = st_arena_calloc(req->arena, n + 1, sizeof(*ptrs));
    if (!res || !ptrs) {
        job_free(job);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        strand__deletable_topic_result__init(&res[i]);
        res[i].name = msg->topic_names[i];
        res[i].error_code = ST_ERR_REQUEST_TIMED_OUT;
        res[i].error_message = (char *)TIMED_OUT_MSG;
        ptrs[i] = &res[i];
    }
    Strand__DeleteTopicsResponse expired = STRAND__DELETE_TOPICS_RESPONSE__INIT;
    expired.n_responses = n;
    expired.responses = ptrs;
    return submit(req, job, &expired.base, msg->timeout_ms, finish_delete);
}

int st_admin_worker_create_partitions(st_request_t *req, Strand__CreatePartitionsRequest *msg)
{
    admin_job_t *job = calloc(1, sizeof(*job));
    if (!job) {
        strand__create_partitions_request__free_unpacked(msg, NULL);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    job->kind = JOB_PARTITIONS;
    job->parts = msg;
    size_t n = msg->n_topics;
    Strand__CreatePartitionsTopicResult *res = st_arena_calloc(req->arena, n + 1, sizeof(*res));
    Strand__CreatePartitionsTopicResult **ptrs = st_arena_calloc(req->arena, n + 1, sizeof(*ptrs));
    if (!res || !ptrs) {
        job_free(job);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        strand__create_partitions_topic_result__init(&res[i]);
        res[i].name = msg->topics[i]->name;
        res[i].error_code = ST_ERR_REQUEST_TIMED_OUT;
        res[i].error_message = (char *)TIMED_OUT_MSG;
        ptrs[i] = &res[i];
    }
    Strand__CreatePartitionsResponse expired = STRAND__CREATE_PARTITIONS_RESPONSE__INIT;
    expired.n_results = n;
    expired.results = ptrs;
    return submit(req, job, &expired.base, msg->timeout_ms, finish_partitions);
}

void st_admin_worker_auto_create(st_broker_t *b, const char *topic)
{
    if (!b->admin)
        return;
    admin_job_t *job = calloc(1, sizeof(*job));
    if (!job)
        return;
    job->w = b->admin;
    job->kind = JOB_AUTO;
    job->auto_topic = strdup(topic);
    if (!job->auto_topic || st_mailbox_post(b->admin->mb, run_job, job) < 0)
        job_free(job);
}
