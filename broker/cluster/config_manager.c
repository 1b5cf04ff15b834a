/* Dynamic configuration on the broker (see config_manager.h): one thread with a mailbox runs
 * change notifications, new-topic refreshes, DescribeConfigs and IncrementalAlterConfigs in
 * order. Responses are built with malloc'd strings, handed to st_await_done and freed; the loop
 * thread passes their error codes through st_reply_error when it sends them (finish_*).
 *
 * Invariant: m->per_broker and m->dflt hold only keys that passed st_dynamic_broker_check, and
 * the registry's topic defaults are the ones they resolve to (apply_layers after every change).
 * Both are touched by the thread only (and by start before the thread exists). */
#include "config_manager.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "await.h"
#include "config_describe.h"
#include "st_config_admin.h"
#include "st_controller.h"
#include "st_error.h"
#include "st_logger.h"
#include "st_mailbox.h"
#include "topic_config.h"

#define MSG_LEN 512
#define PARK_MS 30000
#define WRITE_ATTEMPTS 5
#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4
#define TIMED_OUT_MSG "the config thread did not answer in time (ZooKeeper unreachable?)"

struct st_config_manager {
    st_broker_t *b;
    st_mailbox_t *mb;
    pthread_t thread;
    atomic_bool stop;
    st_topic_overrides_t per_broker;   /* /config/brokers/<id> */
    st_topic_overrides_t dflt;         /* /config/brokers/<default> */
};

typedef enum job_kind { JOB_CHANGE, JOB_NEW_TOPIC, JOB_DESCRIBE, JOB_ALTER } job_kind_t;

typedef struct cfg_job {
    st_config_manager_t *m;
    job_kind_t kind;
    char *type, *name;                 /* CHANGE: entity; NEW_TOPIC: name */
    st_await_t *aw;
    Strand__DescribeConfigsRequest *describe;
    Strand__IncrementalAlterConfigsRequest *alter;
} cfg_job_t;

static void job_free(cfg_job_t *job)
{
    if (!job)
        return;
    if (job->describe)
        strand__describe_configs_request__free_unpacked(job->describe, NULL);
    if (job->alter)
        strand__incremental_alter_configs_request__free_unpacked(job->alter, NULL);
    free(job->type);
    free(job->name);
    free(job);
}

static st_cfg_layer_t layer(const st_topic_overrides_t *o)
{
    return (st_cfg_layer_t){ (const char *const *)o->keys, (const char *const *)o->values, o->n };
}

static st_zk_t *zk_of(st_config_manager_t *m) { return st_node_zk(m->b->node); }

/* "k=v,k=v" of a set of overrides, for the log. */
static void describe_overrides(const st_topic_overrides_t *o, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < o->n && used < len; i++) {
        int k = snprintf(buf + used, len - used, "%s%s=%s", i ? "," : "", o->keys[i],
                         o->values[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (!o->n)
        snprintf(buf, len, "(none)");
}

/* ---- dynamic broker layers ---------------------------------------------------------------- */

/* Reads one layer; false (logged, *ret untouched) when it cannot be read or one of its keys
 * does not validate. */
static bool read_layer(st_config_manager_t *m, const char *name, st_topic_overrides_t *ret)
{
    char msg[MSG_LEN], path[320];
    st_zpath_entity_config(path, sizeof(path), ST_ENTITY_BROKERS, name);
    st_topic_overrides_t o = { 0 };
    int code = st_config_admin_read(zk_of(m), ST_ENTITY_BROKERS, name, &o, NULL, msg,
                                    sizeof(msg));
    if (code != ST_ERR_NONE) {
        ST_ERROR("Invalid dynamic broker config %s; keeping the previous one", msg);
        return false;
    }
    for (size_t i = 0; i < o.n; i++) {
        char why[MSG_LEN];
        if (st_dynamic_broker_check(o.keys[i], o.values[i], why, sizeof(why)) < 0) {
            ST_ERROR("Invalid dynamic broker config in %s: %s; keeping the previous one", path,
                     why);
            st_topic_overrides_free(&o);
            return false;
        }
    }
    st_topic_overrides_free(ret);
    *ret = o;
    return true;
}

/* Topic defaults (and the controller's unclean default) from the static config and the layers. */
static void apply_layers(st_config_manager_t *m)
{
    st_cfg_layer_t per = layer(&m->per_broker), dflt = layer(&m->dflt);
    st_topic_config_t defaults;
    st_topic_config_broker_defaults(&m->b->cfg, &per, &dflt, &defaults);
    st_registry_set_defaults(m->b->reg, &defaults);
    if (m->b->node)
        st_node_set_unclean_leader_election(m->b->node, defaults.unclean_leader_election_enable);
}

static void load_layers(st_config_manager_t *m, bool log_them)
{
    char id[16], buf[1024];
    snprintf(id, sizeof(id), "%" PRId32, m->b->cfg.broker_id);
    bool a = read_layer(m, ST_CONFIG_ENTITY_DEFAULT, &m->dflt);
    bool c = read_layer(m, id, &m->per_broker);
    apply_layers(m);
    if (log_them && (a || c)) {
        describe_overrides(&m->dflt, buf, sizeof(buf));
        ST_INFO("Dynamic broker config (cluster default, /config/brokers/<default>): %s", buf);
        describe_overrides(&m->per_broker, buf, sizeof(buf));
        ST_INFO("Dynamic broker config (/config/brokers/%s): %s", id, buf);
    }
}

/* ---- change notifications ----------------------------------------------------------------- */

static void refresh_topic(st_config_manager_t *m, const char *topic, bool quiet)
{
    if (!st_registry_has_topic(m->b->reg, topic))
        return;   /* not hosted here: nothing to apply (a later LeaderAndIsr brings it) */
    char msg[MSG_LEN], path[320];
    st_zpath_topic_config(path, sizeof(path), topic);
    st_topic_overrides_t o = { 0 };
    int version = -1;
    int code = st_config_admin_read(zk_of(m), ST_ENTITY_TOPICS, topic, &o, &version, msg,
                                    sizeof(msg));
    if (code != ST_ERR_NONE) {
        ST_ERROR("Invalid topic config %s; keeping the previous configuration of topic %s", msg,
                 topic);
        return;
    }
    if (version < 0)
        return;   /* no znode (the topic is being deleted): nothing newer than what we have */
    int r = st_registry_set_topic_overrides(m->b->reg, topic, (const char *const *)o.keys,
                                            (const char *const *)o.values, o.n, msg, sizeof(msg));
    if (r == -EINVAL) {
        ST_ERROR("Invalid topic config in %s: %s; keeping the previous configuration of topic %s",
                 path, msg, topic);
    } else if (r == 0 && !quiet) {
        char buf[1024];
        describe_overrides(&o, buf, sizeof(buf));
        ST_INFO("Topic %s: configuration from %s applied to its partitions here: %s", topic, path,
                buf);
    }
    st_topic_overrides_free(&o);
}

static void run_change(cfg_job_t *job)
{
    st_config_manager_t *m = job->m;
    if (strcmp(job->type, ST_ENTITY_TOPICS) == 0) {
        refresh_topic(m, job->name, false);
    } else if (strcmp(job->type, ST_ENTITY_BROKERS) == 0) {
        char id[16];
        snprintf(id, sizeof(id), "%" PRId32, m->b->cfg.broker_id);
        if (strcmp(job->name, ST_CONFIG_ENTITY_DEFAULT) == 0 || strcmp(job->name, id) == 0)
            load_layers(m, true);
    }
}

/* ---- DescribeConfigs -------------------------------------------------------------------------- */

static int describe_one(st_config_manager_t *m, const Strand__DescribeConfigsRequest *req,
                        const Strand__DescribeConfigsResource *res, st_config_entries_t *ret,
                        char *msg, size_t msg_len)
{
    st_cfg_layer_t per = layer(&m->per_broker), dflt = layer(&m->dflt);
    st_config_view_t view = { &m->b->cfg, &per, &dflt };
    const char *name = res->resource_name ? res->resource_name : "";
    int r;
    if (res->resource_type == RESOURCE_TOPIC) {
        int code = st_config_admin_check_entity(ST_ENTITY_TOPICS, name, msg, msg_len);
        if (code != ST_ERR_NONE)
            return code;
        char path[320];
        st_zpath_topic(path, sizeof(path), name);
        r = st_zk_exists(zk_of(m), path, false, NULL);
        if (r == -ENOENT) {
            snprintf(msg, msg_len, "The topic '%s' does not exist.", name);
            return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        if (r < 0) {
            snprintf(msg, msg_len, "reading %s: %s", path, st_zk_strerror(r));
            return ST_ERR_UNKNOWN_SERVER_ERROR;
        }
        st_topic_overrides_t o = { 0 };
        code = st_config_admin_read(zk_of(m), ST_ENTITY_TOPICS, name, &o, NULL, msg, msg_len);
        if (code != ST_ERR_NONE)
            return code;
        st_cfg_layer_t ov = layer(&o);
        r = st_config_describe_topic(&view, &ov, res->configuration_keys,
                                     res->n_configuration_keys, req->include_synonyms,
                                     req->include_documentation, ret);
        st_topic_overrides_free(&o);
    } else if (res->resource_type == RESOURCE_BROKER) {
        char id[16];
        snprintf(id, sizeof(id), "%" PRId32, m->b->cfg.broker_id);
        if (*name && strcmp(name, id) != 0) {
            snprintf(msg, msg_len, "Unexpected broker id, expected %s or empty string, but "
                     "received %s", id, name);
            return ST_ERR_INVALID_REQUEST;
        }
        r = st_config_describe_broker(&view, !*name, res->configuration_keys,
                                      res->n_configuration_keys, req->include_synonyms,
                                      req->include_documentation, ret);
    } else {
        snprintf(msg, msg_len, "Unsupported resource type %" PRId32 " (2 TOPIC, 4 BROKER)",
                 res->resource_type);
        return ST_ERR_INVALID_REQUEST;
    }
    if (r < 0) {
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    return ST_ERR_NONE;
}

static void run_describe(cfg_job_t *job)
{
    const Strand__DescribeConfigsRequest *req = job->describe;
    size_t n = req->n_resources;
    Strand__DescribeConfigsResult *res = calloc(n ? n : 1, sizeof(*res));
    Strand__DescribeConfigsResult **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    st_config_entries_t *entries = calloc(n ? n : 1, sizeof(*entries));
    char (*msgs)[MSG_LEN] = calloc(n ? n : 1, MSG_LEN);
    if (!res || !ptrs || !entries || !msgs)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        const Strand__DescribeConfigsResource *r = req->resources[i];
        strand__describe_configs_result__init(&res[i]);
        ptrs[i] = &res[i];
        res[i].resource_type = r->resource_type;
        res[i].resource_name = r->resource_name;
        int code = describe_one(job->m, req, r, &entries[i], msgs[i], MSG_LEN);
        res[i].error_code = code;
        res[i].error_message = code == ST_ERR_NONE ? NULL : msgs[i];
        res[i].configs = entries[i].v;
        res[i].n_configs = entries[i].n;
    }
    Strand__DescribeConfigsResponse resp = STRAND__DESCRIBE_CONFIGS_RESPONSE__INIT;
    resp.n_results = n;
    resp.results = ptrs;
    st_await_done(job->aw, &resp.base);
    job->aw = NULL;
    for (size_t i = 0; i < n; i++)
        st_config_entries_free(&entries[i]);
    free(entries);
    free(res);
    free(ptrs);
    free(msgs);
}

/* ---- IncrementalAlterConfigs ------------------------------------------------------------------ */

/* The key is a list (APPEND / SUBTRACT allowed): cleanup.policy and its broker synonym. */
static bool list_key(const char *type, const char *key)
{
    const st_topic_cfg_def_t *d = strcmp(type, ST_ENTITY_TOPICS) == 0
                                      ? st_topic_config_find(key)
                                      : st_topic_config_for_synonym(key, NULL);
    return d && (d->cfg.type == ST_CFG_SET || d->cfg.type == ST_CFG_LIST);
}

/* Checks the keys of the request against the entity type, before anything is read. */
static int check_keys(const char *type, const Strand__AlterConfigsResource *res, char *msg,
                      size_t msg_len)
{
    for (size_t i = 0; i < res->n_configs; i++) {
        const char *key = res->configs[i]->name ? res->configs[i]->name : "";
        for (size_t j = 0; j < i; j++) {
            if (strcmp(key, res->configs[j]->name ? res->configs[j]->name : "") == 0) {
                snprintf(msg, msg_len, "Error due to duplicate config keys: %s", key);
                return ST_ERR_INVALID_REQUEST;
            }
        }
        int op = res->configs[i]->config_operation;
        if (op < ST_CONFIG_OP_SET || op > ST_CONFIG_OP_SUBTRACT) {
            snprintf(msg, msg_len, "Unknown config operation %d for config key: %s", op, key);
            return ST_ERR_INVALID_REQUEST;
        }
        if (op == ST_CONFIG_OP_DELETE)
            continue;   /* removing anything is fine, even a hand-written unknown key */
        if (strcmp(type, ST_ENTITY_TOPICS) == 0) {
            if (!st_topic_config_find(key)) {
                /* the table's own message, with its did-you-mean */
                st_topic_config_set(NULL, key, "", msg, msg_len);
                return ST_ERR_INVALID_CONFIG;
            }
        } else {
            char why[300];
            int r = st_dynamic_broker_check(key, NULL, why, sizeof(why));
            if (r == -EPERM || r == -ENOENT) {
                snprintf(msg, msg_len, "%s%s", why, r == -ENOENT ? " (unknown broker config)" : "");
                return r == -EPERM ? ST_ERR_INVALID_REQUEST : ST_ERR_INVALID_CONFIG;
            }
        }
    }
    return ST_ERR_NONE;
}

/* Validates every value of the resulting set and rewrites it canonically. */
static int check_values(const char *type, st_topic_overrides_t *o, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < o->n; i++) {
        char why[MSG_LEN];
        if (strcmp(type, ST_ENTITY_TOPICS) == 0) {
            st_topic_config_t tc;
            st_topic_config_defaults(&tc);
            int r = st_topic_config_set(&tc, o->keys[i], o->values[i], why, sizeof(why));
            if (r < 0) {
                snprintf(msg, msg_len, "%s", why);
                return ST_ERR_INVALID_CONFIG;
            }
            char canon[1024];
            st_topic_config_format(st_topic_config_find(o->keys[i]), &tc, canon, sizeof(canon));
            char *c = strdup(canon);
            if (!c)
                return ST_ERR_UNKNOWN_SERVER_ERROR;
            free(o->values[i]);
            o->values[i] = c;
        } else {
            int r = st_dynamic_broker_check(o->keys[i], o->values[i], why, sizeof(why));
            if (r < 0) {
                snprintf(msg, msg_len, "%s", why);
                return r == -EPERM ? ST_ERR_INVALID_REQUEST : ST_ERR_INVALID_CONFIG;
            }
        }
    }
    return ST_ERR_NONE;
}

static int alter_one(st_config_manager_t *m, const Strand__AlterConfigsResource *res,
                     bool validate_only, char *msg, size_t msg_len)
{
    const char *name = res->resource_name ? res->resource_name : "";
    const char *type;
    char entity[64];
    if (res->resource_type == RESOURCE_TOPIC) {
        type = ST_ENTITY_TOPICS;
        int code = st_config_admin_check_entity(type, name, msg, msg_len);
        if (code != ST_ERR_NONE)
            return code;
    } else if (res->resource_type == RESOURCE_BROKER) {
        type = ST_ENTITY_BROKERS;
        char id[16];
        snprintf(id, sizeof(id), "%" PRId32, m->b->cfg.broker_id);
        if (*name && strcmp(name, id) != 0) {
            snprintf(msg, msg_len, "Unexpected broker id, expected %s or empty string, but "
                     "received %s", id, name);
            return ST_ERR_INVALID_REQUEST;
        }
        snprintf(entity, sizeof(entity), "%s", *name ? name : ST_CONFIG_ENTITY_DEFAULT);
        name = entity;
    } else {
        snprintf(msg, msg_len, "Unsupported resource type %" PRId32 " (2 TOPIC, 4 BROKER)",
                 res->resource_type);
        return ST_ERR_INVALID_REQUEST;
    }
    int code = check_keys(type, res, msg, msg_len);
    if (code != ST_ERR_NONE)
        return code;
    for (int attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        st_topic_overrides_t o = { 0 };
        int version = -1;
        code = st_config_admin_read(zk_of(m), type, name, &o, &version, msg, msg_len);
        for (size_t i = 0; code == ST_ERR_NONE && i < res->n_configs; i++) {
            const Strand__AlterableConfig *c = res->configs[i];
            code = st_config_admin_apply(&o, c->name ? c->name : "",
                                         (st_config_op_t)c->config_operation,
                                         c->value_null ? NULL : (c->value ? c->value : ""),
                                         list_key(type, c->name ? c->name : ""), msg, msg_len);
        }
        if (code == ST_ERR_NONE)
            code = check_values(type, &o, msg, msg_len);
        if (code == ST_ERR_NONE && validate_only && strcmp(type, ST_ENTITY_TOPICS) == 0) {
            char path[320];
            st_zpath_topic(path, sizeof(path), name);
            if (st_zk_exists(zk_of(m), path, false, NULL) == -ENOENT) {
                snprintf(msg, msg_len, "Topic '%s' does not exist.", name);
                code = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            }
        }
        if (code == ST_ERR_NONE && !validate_only)
            code = st_config_admin_write(zk_of(m), type, name, &o, version, msg, msg_len);
        if (code == ST_ERR_NONE && !validate_only) {
            char buf[1024];
            describe_overrides(&o, buf, sizeof(buf));
            ST_INFO("Updated /config/%s/%s: %s", type, name, buf);
        }
        st_topic_overrides_free(&o);
        if (code != ST_ERR_INVALID_UPDATE_VERSION)
            return code;
    }
    return code;
}

static void run_alter(cfg_job_t *job)
{
    const Strand__IncrementalAlterConfigsRequest *req = job->alter;
    size_t n = req->n_resources;
    Strand__AlterConfigsResourceResponse *res = calloc(n ? n : 1, sizeof(*res));
    Strand__AlterConfigsResourceResponse **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    char (*msgs)[MSG_LEN] = calloc(n ? n : 1, MSG_LEN);
    if (!res || !ptrs || !msgs)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        const Strand__AlterConfigsResource *r = req->resources[i];
        strand__alter_configs_resource_response__init(&res[i]);
        ptrs[i] = &res[i];
        res[i].resource_type = r->resource_type;
        res[i].resource_name = r->resource_name;
        int code = alter_one(job->m, r, req->validate_only, msgs[i], MSG_LEN);
        res[i].error_code = code;
        res[i].error_message = code == ST_ERR_NONE ? NULL : msgs[i];
    }
    Strand__IncrementalAlterConfigsResponse resp = STRAND__INCREMENTAL_ALTER_CONFIGS_RESPONSE__INIT;
    resp.n_responses = n;
    resp.responses = ptrs;
    st_await_done(job->aw, &resp.base);
    job->aw = NULL;
    free(res);
    free(ptrs);
    free(msgs);
}

/* ---- the thread --------------------------------------------------------------------------- */

static void run_job(void *arg)
{
    cfg_job_t *job = arg;
    switch (job->kind) {
    case JOB_CHANGE: run_change(job); break;
    case JOB_NEW_TOPIC: refresh_topic(job->m, job->name, true); break;
    case JOB_DESCRIBE: run_describe(job); break;
    case JOB_ALTER: run_alter(job); break;
    }
    job_free(job);
}

static void discard_job(void *arg)
{
    cfg_job_t *job = arg;
    if (!job)
        return;
    if (job->aw)
        st_await_cancel(job->aw);
    job_free(job);
}

static void *manager_main(void *arg)
{
    st_config_manager_t *m = arg;
    while (!atomic_load(&m->stop))
        st_mailbox_wait(m->mb, 200);
    return NULL;
}

static int post(st_config_manager_t *m, cfg_job_t *job)
{
    job->m = m;
    if (st_mailbox_post(m->mb, run_job, job) < 0) {
        discard_job(job);
        return -ENOMEM;
    }
    return 0;
}

/* Replica-state thread: a topic became hosted here. */
static void on_new_topic(void *arg, const char *topic)
{
    st_config_manager_t *m = arg;
    cfg_job_t *job = calloc(1, sizeof(*job));
    if (!job)
        return;
    job->kind = JOB_NEW_TOPIC;
    job->name = strdup(topic);
    if (!job->name) {
        free(job);
        return;
    }
    post(m, job);
}

int st_config_manager_start(st_broker_t *b, st_config_manager_t **ret)
{
    st_config_manager_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->b = b;
    int r = st_mailbox_new(&m->mb);
    if (r < 0) {
        free(m);
        return r;
    }
    load_layers(m, true);
    r = -pthread_create(&m->thread, NULL, manager_main, m);
    if (r < 0) {
        st_mailbox_free(m->mb, NULL);
        st_topic_overrides_free(&m->per_broker);
        st_topic_overrides_free(&m->dflt);
        free(m);
        return r;
    }
    st_registry_set_new_topic_notify(b->reg, on_new_topic, m);
    atomic_store(&b->configs, m);
    *ret = m;
    return 0;
}

static void wake_noop(void *arg)
{
    (void)arg;
}

void st_config_manager_stop(st_config_manager_t *m)
{
    if (!m || atomic_load(&m->stop))
        return;
    atomic_store(&m->stop, true);
    st_mailbox_post(m->mb, wake_noop, NULL);
    pthread_join(m->thread, NULL);
}

void st_config_manager_free(st_config_manager_t *m)
{
    if (!m)
        return;
    st_config_manager_stop(m);
    atomic_store(&m->b->configs, NULL);
    st_mailbox_free(m->mb, discard_job);
    st_topic_overrides_free(&m->per_broker);
    st_topic_overrides_free(&m->dflt);
    free(m);
}

void st_config_manager_on_change(void *broker, const char *entity_type, const char *name)
{
    st_broker_t *b = broker;
    st_config_manager_t *m = atomic_load(&b->configs);
    if (!m)
        return;
    cfg_job_t *job = calloc(1, sizeof(*job));
    if (!job)
        return;
    job->kind = JOB_CHANGE;
    job->type = strdup(entity_type);
    job->name = strdup(name);
    if (!job->type || !job->name) {
        job_free(job);
        return;
    }
    post(m, job);
}

/* ---- loop side ---------------------------------------------------------------------------- */

static void finish_describe(st_request_t *req, ProtobufCMessage *msg)
{
    Strand__DescribeConfigsResponse *resp = (Strand__DescribeConfigsResponse *)msg;
    for (size_t i = 0; i < resp->n_results; i++)
        if (resp->results[i]->error_code)
            st_reply_error(req, resp->results[i]->error_code, NULL, "%s",
                           resp->results[i]->error_message ? resp->results[i]->error_message : "");
}

static void finish_alter(st_request_t *req, ProtobufCMessage *msg)
{
    Strand__IncrementalAlterConfigsResponse *resp = (Strand__IncrementalAlterConfigsResponse *)msg;
    for (size_t i = 0; i < resp->n_responses; i++)
        if (resp->responses[i]->error_code)
            st_reply_error(req, resp->responses[i]->error_code, NULL, "%s",
                           resp->responses[i]->error_message ? resp->responses[i]->error_message
                                                             : "");
}

static int submit(st_request_t *req, cfg_job_t *job, const ProtobufCMessage *expired,
                  st_await_finish_fn *finish)
{
    st_config_manager_t *m = atomic_load(&req->broker->configs);
    job->aw = m ? st_await_park(req, PARK_MS, expired, finish) : NULL;
    if (!job->aw) {
        job_free(job);
        return st_reply_fatal(req->conn, req, m ? "out of memory" : "no config manager");
    }
    post(m, job);   /* on failure the discard answers with the expiry body when it is due */
    return 0;
}

int st_config_manager_describe(st_request_t *req, Strand__DescribeConfigsRequest *msg)
{
    cfg_job_t *job = calloc(1, sizeof(*job));
    if (!job) {
        strand__describe_configs_request__free_unpacked(msg, NULL);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    job->kind = JOB_DESCRIBE;
    job->describe = msg;
    size_t n = msg->n_resources;
    Strand__DescribeConfigsResult *res = st_arena_calloc(req->arena, n + 1, sizeof(*res));
    Strand__DescribeConfigsResult **ptrs = st_arena_calloc(req->arena, n + 1, sizeof(*ptrs));
    if (!res || !ptrs) {
        job_free(job);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        strand__describe_configs_result__init(&res[i]);
        res[i].resource_type = msg->resources[i]->resource_type;
        res[i].resource_name = msg->resources[i]->resource_name;
        res[i].error_code = ST_ERR_REQUEST_TIMED_OUT;
        res[i].error_message = (char *)TIMED_OUT_MSG;
        ptrs[i] = &res[i];
    }
    Strand__DescribeConfigsResponse expired = STRAND__DESCRIBE_CONFIGS_RESPONSE__INIT;
    expired.n_results = n;
    expired.results = ptrs;
    return submit(req, job, &expired.base, finish_describe);
}

int st_config_manager_alter(st_request_t *req, Strand__IncrementalAlterConfigsRequest *msg)
{
    cfg_job_t *job = calloc(1, sizeof(*job));
    if (!job) {
        strand__incremental_alter_configs_request__free_unpacked(msg, NULL);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    job->kind = JOB_ALTER;
    job->alter = msg;
    size_t n = msg->n_resources;
    Strand__AlterConfigsResourceResponse *res = st_arena_calloc(req->arena, n + 1, sizeof(*res));
    Strand__AlterConfigsResourceResponse **ptrs = st_arena_calloc(req->arena, n + 1,
                                                                  sizeof(*ptrs));
    if (!res || !ptrs) {
        job_free(job);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        strand__alter_configs_resource_response__init(&res[i]);
        res[i].resource_type = msg->resources[i]->resource_type;
        res[i].resource_name = msg->resources[i]->resource_name;
        res[i].error_code = ST_ERR_REQUEST_TIMED_OUT;
        res[i].error_message = (char *)TIMED_OUT_MSG;
        ptrs[i] = &res[i];
    }
    Strand__IncrementalAlterConfigsResponse expired =
        STRAND__INCREMENTAL_ALTER_CONFIGS_RESPONSE__INIT;
    expired.n_responses = n;
    expired.responses = ptrs;
    return submit(req, job, &expired.base, finish_alter);
}
