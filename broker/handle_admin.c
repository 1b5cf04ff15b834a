/* CreateTopics (19), DeleteTopics (20) and CreatePartitions (37), plus Metadata's
 * auto-creation. In cluster mode they are ZooKeeper writes made by the admin worker
 * (cluster/admin_worker.c) while the request stays parked; in single-broker mode they act on
 * this broker's registry directly, checked against the one live broker. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "admin_worker.h"
#include "request.h"
#include "st_logger.h"
#include "topic_config.h"

/* Partitions one CreateTopics request may create, over all its topics: each partition is a log
 * directory with open segment files, created inline on the connection's loop thread, so an
 * unbounded count (num_partitions = INT32_MAX) would pin the thread and exhaust memory and disk.
 * Larger topics are created in steps (or grown, once partition growth exists). */
#define MAX_NEW_PARTITIONS_PER_REQUEST 4096

/* Checks a replication factor against the live brokers. Returns an st_error_t code. */
static int32_t check_replication(st_request_t *req, const char *name, int32_t rf, char **ret_msg)
{
    size_t brokers = st_metadata_cache_broker_count(req->broker->meta);
    if (rf < 1)
        return st_reply_error(req, ST_ERR_INVALID_REPLICATION_FACTOR, ret_msg,
                              "Topic '%s': replication factor must be larger than 0 (got %" PRId32 ")",
                              name, rf);
    if ((size_t)rf > brokers)
        return st_reply_error(req, ST_ERR_INVALID_REPLICATION_FACTOR, ret_msg,
                              "Topic '%s': replication factor %" PRId32 " is larger than the number "
                              "of available brokers (%zu)", name, rf, brokers);
    return ST_ERR_NONE;
}

/* Validates explicit assignments: partitions 0..n-1 once each, every replica list exactly this
 * broker (single broker). Returns an st_error_t code and the partition count. */
static int32_t check_assignments(st_request_t *req, const Strand__CreatableTopic *ct,
                                 int32_t *ret_partitions, char **ret_msg)
{
    size_t n = ct->n_assignments;
    int32_t self = req->broker->cfg.broker_id;
    bool *seen = st_arena_calloc(req->arena, n, sizeof(bool));
    if (!seen)
        return st_reply_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, ret_msg, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const Strand__CreatableReplicaAssignment *a = ct->assignments[i];
        if (a->partition < 0 || (size_t)a->partition >= n || seen[a->partition])
            return st_reply_error(req, ST_ERR_INVALID_REPLICA_ASSIGNMENT, ret_msg,
                                  "Topic '%s': assignment partitions must be 0..%zu, each once "
                                  "(got %" PRId32 ")", ct->name, n - 1, a->partition);
        seen[a->partition] = true;
        if (a->n_broker_ids != 1 || a->broker_ids[0] != self)
            return st_reply_error(req, ST_ERR_INVALID_REPLICA_ASSIGNMENT, ret_msg,
                                  "Topic '%s' partition %" PRId32 ": replicas must be [%" PRId32 "] "
                                  "(the only live broker)", ct->name, a->partition, self);
    }
    *ret_partitions = (int32_t)n;
    return ST_ERR_NONE;
}

static int32_t create_one(st_request_t *req, const Strand__CreateTopicsRequest *msg,
                          const Strand__CreatableTopic *ct, int32_t *budget,
                          int32_t *ret_partitions, int32_t *ret_rf, char **ret_msg)
{
    const st_broker_config_t *cfg = &req->broker->cfg;
    int32_t partitions = ct->num_partitions == -1 ? cfg->num_partitions : ct->num_partitions;
    int32_t rf = ct->replication_factor == -1 ? cfg->default_replication_factor
                                              : ct->replication_factor;
    int32_t code;
    if (ct->n_assignments) {
        if (ct->num_partitions != -1 || ct->replication_factor != -1)
            return st_reply_error(req, ST_ERR_INVALID_REQUEST, ret_msg,
                                  "Topic '%s': give either assignments or num_partitions and "
                                  "replication_factor (set them to -1), not both", ct->name);
        code = check_assignments(req, ct, &partitions, ret_msg);
        if (code != ST_ERR_NONE)
            return code;
        rf = 1;
    }
    code = check_replication(req, ct->name, rf, ret_msg);
    if (code != ST_ERR_NONE)
        return code;
    if (partitions > 0 && partitions > *budget)
        return st_reply_error(req, ST_ERR_INVALID_PARTITIONS, ret_msg,
                              "Topic '%s': %" PRId32 " partitions is more than this request may "
                              "still create (%" PRId32 " of at most %d per CreateTopics request)",
                              ct->name, partitions, *budget, MAX_NEW_PARTITIONS_PER_REQUEST);
    const char **names = st_arena_calloc(req->arena, ct->n_configs + 1, sizeof(char *));
    const char **values = st_arena_calloc(req->arena, ct->n_configs + 1, sizeof(char *));
    if (!names || !values)
        return st_reply_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, ret_msg, "out of memory");
    for (size_t i = 0; i < ct->n_configs; i++) {
        names[i] = ct->configs[i]->name;
        values[i] = ct->configs[i]->value;
    }
    char reason[512];
    code = st_registry_create_topic(req->broker->reg, ct->name, partitions, names, values,
                                    ct->n_configs, msg->validate_only, reason, sizeof(reason));
    if (code != ST_ERR_NONE)
        return st_reply_error(req, code, ret_msg, "%s", reason);
    if (!msg->validate_only)
        *budget -= partitions;
    *ret_partitions = partitions;
    *ret_rf = rf;
    return ST_ERR_NONE;
}

int st_handle_create_topics(st_request_t *req)
{
    if (st_broker_cluster_mode(req->broker)) {
        Strand__CreateTopicsRequest *m = strand__create_topics_request__unpack(NULL, req->body_len,
                                                                              req->body);
        if (!m)
            return st_reply_fatal(req->conn, req, "CreateTopicsRequest body of %zu bytes does "
                                  "not decode (invalid protobuf)", req->body_len);
        return st_admin_worker_create_topics(req, m);
    }
    Strand__CreateTopicsRequest *msg = strand__create_topics_request__unpack(&req->arena->pb,
                                                                            req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "CreateTopicsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    size_t n = msg->n_topics;
    Strand__CreatableTopicResult *res = st_arena_calloc(req->arena, n, sizeof(*res));
    Strand__CreatableTopicResult **ptrs = st_arena_calloc(req->arena, n, sizeof(*ptrs));
    if (n && (!res || !ptrs))
        return st_reply_fatal(req->conn, req, "out of memory");
    int32_t budget = MAX_NEW_PARTITIONS_PER_REQUEST;
    for (size_t i = 0; i < n; i++) {
        const Strand__CreatableTopic *ct = msg->topics[i];
        strand__creatable_topic_result__init(&res[i]);
        ptrs[i] = &res[i];
        res[i].name = ct->name;
        res[i].num_partitions = -1;
        res[i].replication_factor = -1;
        char *emsg = NULL;
        bool duplicate = false;
        for (size_t j = 0; j < n; j++)
            if (j != i && strcmp(msg->topics[j]->name, ct->name) == 0)
                duplicate = true;
        int32_t partitions = -1, rf = -1;
        if (duplicate)
            res[i].error_code = st_reply_error(req, ST_ERR_INVALID_REQUEST, &emsg,
                                               "Topic '%s' appears more than once in the request",
                                               ct->name);
        else
            res[i].error_code = create_one(req, msg, ct, &budget, &partitions, &rf, &emsg);
        if (res[i].error_code == ST_ERR_NONE) {
            res[i].num_partitions = partitions;
            res[i].replication_factor = rf;
        }
        res[i].error_message = emsg;
    }
    Strand__CreateTopicsResponse resp = STRAND__CREATE_TOPICS_RESPONSE__INIT;
    resp.topics = ptrs;
    resp.n_topics = n;
    return st_request_respond(req, &resp.base, NULL, 0);
}

int st_handle_delete_topics(st_request_t *req)
{
    if (st_broker_cluster_mode(req->broker)) {
        Strand__DeleteTopicsRequest *m = strand__delete_topics_request__unpack(NULL, req->body_len,
                                                                              req->body);
        if (!m)
            return st_reply_fatal(req->conn, req, "DeleteTopicsRequest body of %zu bytes does "
                                  "not decode (invalid protobuf)", req->body_len);
        return st_admin_worker_delete_topics(req, m);
    }
    Strand__DeleteTopicsRequest *msg = strand__delete_topics_request__unpack(&req->arena->pb,
                                                                            req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "DeleteTopicsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    size_t n = msg->n_topic_names;
    Strand__DeletableTopicResult *res = st_arena_calloc(req->arena, n, sizeof(*res));
    Strand__DeletableTopicResult **ptrs = st_arena_calloc(req->arena, n, sizeof(*ptrs));
    if (n && (!res || !ptrs))
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = msg->topic_names[i];
        strand__deletable_topic_result__init(&res[i]);
        ptrs[i] = &res[i];
        res[i].name = msg->topic_names[i];
        char *emsg = NULL;
        char reason[512];
        if (!req->broker->cfg.delete_topic_enable) {
            res[i].error_code = st_reply_error(req, ST_ERR_TOPIC_DELETION_DISABLED, &emsg,
                                               "Topic deletion is disabled (delete.topic.enable=false)");
        } else if (!st_topic_name_valid(name, reason, sizeof(reason))) {
            res[i].error_code = st_reply_error(req, ST_ERR_INVALID_TOPIC_EXCEPTION, &emsg,
                                               "'%s': %s", name, reason);
        } else {
            int32_t code = st_registry_delete_topic(req->broker->reg, name, reason, sizeof(reason));
            res[i].error_code = code == ST_ERR_NONE ? code
                                                    : st_reply_error(req, code, &emsg, "%s", reason);
        }
        res[i].error_message = emsg;
    }
    Strand__DeleteTopicsResponse resp = STRAND__DELETE_TOPICS_RESPONSE__INIT;
    resp.responses = ptrs;
    resp.n_responses = n;
    return st_request_respond(req, &resp.base, NULL, 0);
}

int st_admin_auto_create(st_request_t *req, const char *topic, char **ret_msg)
{
    const st_broker_config_t *cfg = &req->broker->cfg;
    int32_t code = check_replication(req, topic, cfg->default_replication_factor, ret_msg);
    if (code != ST_ERR_NONE)
        return code;
    char reason[512];
    code = st_registry_create_topic(req->broker->reg, topic, cfg->num_partitions, NULL, NULL, 0,
                                    false, reason, sizeof(reason));
    if (code == ST_ERR_NONE)
        st_logger_write(ST_LEVEL_INFO, "Auto-created topic %s (%" PRId32 " partitions) for a "
                        "Metadata request from %s", topic, cfg->num_partitions,
                        st_conn_peer(req->conn));
    else if (code != ST_ERR_TOPIC_ALREADY_EXISTS)
        return st_reply_error(req, code, ret_msg, "%s", reason);
    return code;
}

int st_handle_create_partitions(st_request_t *req)
{
    Strand__CreatePartitionsRequest *msg = strand__create_partitions_request__unpack(NULL,
                                                                                    req->body_len,
                                                                                    req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "CreatePartitionsRequest body of %zu bytes does "
                              "not decode (invalid protobuf)", req->body_len);
    if (st_broker_cluster_mode(req->broker))
        return st_admin_worker_create_partitions(req, msg);
    /* Single-broker mode: a partition count is fixed at creation. */
    size_t n = msg->n_topics;
    Strand__CreatePartitionsTopicResult *res = st_arena_calloc(req->arena, n + 1, sizeof(*res));
    Strand__CreatePartitionsTopicResult **ptrs = st_arena_calloc(req->arena, n + 1, sizeof(*ptrs));
    if (!res || !ptrs) {
        strand__create_partitions_request__free_unpacked(msg, NULL);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char *emsg = NULL;
        strand__create_partitions_topic_result__init(&res[i]);
        res[i].name = st_arena_strdup(req->arena, msg->topics[i]->name ? msg->topics[i]->name : "");
        res[i].error_code = st_reply_error(req, ST_ERR_INVALID_REQUEST, &emsg, "adding partitions "
                                           "to %s needs cluster mode (zookeeper.connect)",
                                           res[i].name);
        res[i].error_message = emsg;
        ptrs[i] = &res[i];
    }
    strand__create_partitions_request__free_unpacked(msg, NULL);
    Strand__CreatePartitionsResponse resp = STRAND__CREATE_PARTITIONS_RESPONSE__INIT;
    resp.n_results = n;
    resp.results = ptrs;
    return st_request_respond(req, &resp.base, NULL, 0);
}
