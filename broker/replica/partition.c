/* Topic/partition registry over the log manager: lookups for the request path, topic creation
 * and deletion, single-broker leadership state, high watermark and parked-fetch watchers.
 *
 * Partition invariants (checked by check_partition() at every transition, under the lock):
 *   P1. deleted == (log == NULL).
 *   P2. while not deleted: log_start <= high_watermark <= log_end.
 *   P3. leader == this broker  =>  leader_epoch >= 0, and this broker is in replicas and isr.
 *   P4. refs >= 1 while the partition is reachable; waiters[i] >= 0 and total_waiters equals
 *       their sum (between watch/unwatch pairs).
 * Registry invariants (under the lock):
 *   R1. every topic in the map has n_partitions >= 1 partitions, parts[i]->id == i, and the
 *       map holds one reference on each.
 *   R2. the topic store file lists exactly the topics in the map (plus topics being deleted). */
#include "partition_int.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_error.h"
#include "st_logger.h"
#include "topic_config.h"
#include "topic_store.h"

typedef struct st_topic {
    char *name;
    int32_t n_partitions;
    st_partition_t **parts;
    st_topic_config_t cfg;
    size_t n_configs;
    char **config_names;
    char **config_values;
    struct st_topic *next;            /* hash chain */
} st_topic_t;

struct st_registry {
    pthread_rwlock_t lock;
    pthread_mutex_t admin;
    st_topic_t **buckets;
    size_t n_buckets;
    size_t n_topics;
    st_log_manager_t *mgr;
    const st_broker_config_t *cfg;
    st_topic_config_t defaults;
    char cluster_id[64];
    int n_loops;
    void (*wake)(void *arg, int loop);
    void *wake_arg;
    bool cluster;                     /* zookeeper.connect set: no topic store, hosted partitions */
    void (*isr_notify)(void *arg, st_partition_t *part);
    void *isr_notify_arg;
};

/* ---- partitions ------------------------------------------------------------------------ */

/* Single-broker mode: the partition starts as leader (replicas = ISR = [self]) at the latest
 * epoch of its log, HW = log end. Cluster mode: it starts without a role (ST_ROLE_NONE) and HW
 * = initial_hw clamped into [log start, log end]; a LeaderAndIsr gives it one. */
static st_partition_t *partition_new(st_registry_t *reg, const char *topic, int32_t id,
                                     st_log_t *log, const st_topic_config_t *tcfg,
                                     int64_t initial_hw)
{
    st_partition_t *part = calloc(1, sizeof(*part) + (size_t)reg->n_loops * sizeof(atomic_int));
    if (!part)
        return NULL;
    part->topic = strdup(topic);
    if (!part->topic) {
        free(part);
        return NULL;
    }
    pthread_rwlock_init(&part->lock, NULL);
    part->id = id;
    part->log = log;
    part->reg = reg;
    part->n_loops = reg->n_loops;
    int32_t self = reg->cfg->broker_id;
    part->self = self;
    part->lag_ms = reg->cfg->replica_lag_time_max_ms;
    part->controller_epoch = -1;
    part->zk_version = -1;
    int64_t start = st_log_start_offset(log), end = st_log_end_offset(log);
    if (reg->cluster) {
        part->role = ST_ROLE_NONE;
        part->leader = -1;
        part->leader_epoch = -1;
        int64_t hw = initial_hw < start ? start : initial_hw > end ? end : initial_hw;
        atomic_init(&part->high_watermark, hw);
    } else {
        part->role = ST_ROLE_LEADER;
        part->leader = self;
        int32_t epoch = st_log_latest_epoch(log);
        part->leader_epoch = epoch > 0 ? epoch : 0;
        part->replicas[0] = self;
        part->n_replicas = 1;
        part->isr[0] = self;
        part->n_isr = 1;
        part->leader_epoch_start = end;
        atomic_init(&part->high_watermark, end);
    }
    atomic_init(&part->max_message_bytes, tcfg->max_message_bytes);
    atomic_init(&part->min_insync, tcfg->min_insync_replicas);
    atomic_init(&part->refs, 1);
    pthread_rwlock_wrlock(&part->lock);
    st_partition_check(part);
    pthread_rwlock_unlock(&part->lock);
    return part;
}

void st_partition_ref(st_partition_t *part)
{
    atomic_fetch_add_explicit(&part->refs, 1, memory_order_relaxed);
}

void st_partition_unref(st_partition_t *part)
{
    if (!part)
        return;
    if (atomic_fetch_sub_explicit(&part->refs, 1, memory_order_acq_rel) != 1)
        return;
    assert(atomic_load(&part->total_waiters) == 0);
    pthread_rwlock_destroy(&part->lock);
    free(part->topic);
    free(part);
}

const char *st_partition_topic(const st_partition_t *part) { return part->topic; }
int32_t st_partition_id(const st_partition_t *part) { return part->id; }
bool st_partition_deleted(const st_partition_t *part) { return atomic_load(&part->deleted); }
int32_t st_partition_max_message_bytes(const st_partition_t *part)
{
    return atomic_load_explicit(&part->max_message_bytes, memory_order_relaxed);
}
int32_t st_partition_min_insync(const st_partition_t *part)
{
    return atomic_load_explicit(&part->min_insync, memory_order_relaxed);
}
int64_t st_partition_high_watermark(const st_partition_t *part)
{
    return atomic_load(&part->high_watermark);
}
int32_t st_partition_leader_epoch(const st_partition_t *part)
{
    return __atomic_load_n(&part->leader_epoch, __ATOMIC_RELAXED);
}
st_replica_role_t st_partition_role(const st_partition_t *part)
{
    return __atomic_load_n(&part->role, __ATOMIC_RELAXED);
}

int32_t st_partition_leader(st_partition_t *part, int32_t *ret_replicas, size_t *inout_n_replicas,
                            int32_t *ret_isr, size_t *inout_n_isr)
{
    pthread_rwlock_rdlock(&part->lock);
    int32_t leader = part->leader;
    size_t n = part->n_replicas < *inout_n_replicas ? part->n_replicas : *inout_n_replicas;
    memcpy(ret_replicas, part->replicas, n * sizeof(int32_t));
    *inout_n_replicas = n;
    n = part->n_isr < *inout_n_isr ? part->n_isr : *inout_n_isr;
    memcpy(ret_isr, part->isr, n * sizeof(int32_t));
    *inout_n_isr = n;
    pthread_rwlock_unlock(&part->lock);
    return leader;
}

void st_partition_wake(st_partition_t *part)
{
    if (atomic_load(&part->total_waiters) == 0)
        return;
    st_registry_t *reg = part->reg;
    for (int i = 0; i < part->n_loops; i++)
        if (atomic_load(&part->waiters[i]) > 0 && reg->wake)
            reg->wake(reg->wake_arg, i);
}

void st_partition_notify_isr(st_partition_t *part)
{
    st_registry_t *reg = part->reg;
    if (reg->isr_notify)
        reg->isr_notify(reg->isr_notify_arg, part);
}

void st_partition_watch(st_partition_t *part, int loop)
{
    assert(loop >= 0 && loop < part->n_loops);
    atomic_fetch_add(&part->waiters[loop], 1);
    atomic_fetch_add(&part->total_waiters, 1);
}

void st_partition_unwatch(st_partition_t *part, int loop)
{
    assert(loop >= 0 && loop < part->n_loops);
    int before = atomic_fetch_sub(&part->waiters[loop], 1);
    assert(before >= 1);
    (void)before;
    atomic_fetch_sub(&part->total_waiters, 1);
}

void st_partition_advance_hw(st_partition_t *part, int64_t hw)
{
    int64_t cur = atomic_load(&part->high_watermark);
    while (cur < hw && !atomic_compare_exchange_weak(&part->high_watermark, &cur, hw))
        ;
}

static void fill_offsets(st_partition_t *part, st_partition_offsets_t *ret)
{
    ret->log_start = st_log_start_offset(part->log);
    ret->log_end = st_log_end_offset(part->log);
    ret->high_watermark = atomic_load(&part->high_watermark);
    ret->leader_epoch = part->leader_epoch;
}

int st_partition_read(st_partition_t *part, int64_t offset, size_t max_bytes, bool min_one_batch,
                      bool to_log_end, st_log_slice_t *ret_slice, st_partition_offsets_t *ret_offsets)
{
    pthread_rwlock_rdlock(&part->lock);
    if (!part->log) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    if (part->role != ST_ROLE_LEADER) {
        fill_offsets(part, ret_offsets);
        pthread_rwlock_unlock(&part->lock);
        return -EPERM;
    }
    int64_t hw = atomic_load(&part->high_watermark);
    int r;
    if (offset == hw && !to_log_end) {
        /* The common "caught up" case: nothing to position. */
        memset(ret_slice, 0, sizeof(*ret_slice));
        ret_slice->fd = -1;
        ret_slice->first_offset = offset;
        r = 0;
    } else {
        r = st_log_read(part->log, offset, max_bytes, to_log_end ? INT64_MAX : hw, min_one_batch,
                        ret_slice);
    }
    fill_offsets(part, ret_offsets);
    pthread_rwlock_unlock(&part->lock);
    return r;
}

int st_partition_offsets(st_partition_t *part, st_partition_offsets_t *ret_offsets)
{
    pthread_rwlock_rdlock(&part->lock);
    if (!part->log) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    fill_offsets(part, ret_offsets);
    int r = part->role == ST_ROLE_LEADER ? 0 : -EPERM;
    pthread_rwlock_unlock(&part->lock);
    return r;
}

int st_partition_offset_for_timestamp(st_partition_t *part, int64_t timestamp, int64_t *ret_offset,
                                      int64_t *ret_timestamp)
{
    pthread_rwlock_rdlock(&part->lock);
    if (!part->log) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    int r = part->role == ST_ROLE_LEADER
                ? st_log_offset_for_timestamp(part->log, timestamp, ret_offset, ret_timestamp)
                : -EPERM;
    pthread_rwlock_unlock(&part->lock);
    return r;
}

/* Deletes the partition's log; the partition lives on (flagged) until its last reference. */
static void partition_delete(st_registry_t *reg, st_partition_t *part)
{
    pthread_rwlock_wrlock(&part->lock);
    if (part->log) {
        int r = st_log_manager_delete(reg->mgr, part->topic, part->id);
        if (r < 0)
            ST_ERROR("Deleting the log of %s-%" PRId32 ": %s", part->topic, part->id, strerror(-r));
        part->log = NULL;
        atomic_store(&part->deleted, true);
    }
    st_partition_check(part);
    pthread_rwlock_unlock(&part->lock);
    st_partition_wake(part);
}

/* ---- topics ----------------------------------------------------------------------------- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static st_topic_t *find_topic(st_registry_t *reg, const char *name)
{
    st_topic_t *t = reg->buckets[hash_name(name) & (reg->n_buckets - 1)];
    while (t && strcmp(t->name, name) != 0)
        t = t->next;
    return t;
}

/* R1 for one topic. */
static void check_topic(const st_registry_t *reg, const st_topic_t *topic)
{
    assert(topic->n_partitions >= 1);
    for (int32_t i = 0; i < topic->n_partitions; i++) {
        if (reg->cluster && !topic->parts[i])
            continue;                 /* R1': not hosted here */
        assert(topic->parts[i] != NULL);
        assert(topic->parts[i]->id == i);
        assert(strcmp(topic->parts[i]->topic, topic->name) == 0);
    }
    (void)topic;
    (void)reg;
}

/* Under the exclusive lock. */
static int insert_topic(st_registry_t *reg, st_topic_t *topic)
{
    check_topic(reg, topic);
    if (reg->n_topics + 1 > reg->n_buckets) {
        size_t nb = reg->n_buckets * 2;
        st_topic_t **nbk = calloc(nb, sizeof(*nbk));
        if (!nbk)
            return -ENOMEM;
        for (size_t i = 0; i < reg->n_buckets; i++) {
            st_topic_t *t = reg->buckets[i];
            while (t) {
                st_topic_t *next = t->next;
                size_t b = hash_name(t->name) & (nb - 1);
                t->next = nbk[b];
                nbk[b] = t;
                t = next;
            }
        }
        free(reg->buckets);
        reg->buckets = nbk;
        reg->n_buckets = nb;
    }
    size_t b = hash_name(topic->name) & (reg->n_buckets - 1);
    topic->next = reg->buckets[b];
    reg->buckets[b] = topic;
    reg->n_topics++;
    return 0;
}

/* Under the exclusive lock. */
static void remove_topic(st_registry_t *reg, st_topic_t *topic)
{
    st_topic_t **pp = &reg->buckets[hash_name(topic->name) & (reg->n_buckets - 1)];
    while (*pp && *pp != topic)
        pp = &(*pp)->next;
    assert(*pp == topic);
    *pp = topic->next;
    reg->n_topics--;
}

static void topic_free(st_topic_t *topic)
{
    if (!topic)
        return;
    for (int32_t i = 0; topic->parts && i < topic->n_partitions; i++)
        if (topic->parts[i])
            st_partition_unref(topic->parts[i]);
    free(topic->parts);
    for (size_t i = 0; i < topic->n_configs; i++) {
        free(topic->config_names[i]);
        free(topic->config_values[i]);
    }
    free(topic->config_names);
    free(topic->config_values);
    free(topic->name);
    free(topic);
}

/* Builds a topic object with resolved config (no logs yet). Returns an st_error_t code. */
static int topic_build(st_registry_t *reg, const char *name, int32_t n_partitions,
                       const char *const *names, const char *const *values, size_t n_configs,
                       st_topic_t **ret, char *msg, size_t msg_len)
{
    st_topic_t *t = calloc(1, sizeof(*t));
    if (!t)
        goto nomem;
    t->name = strdup(name);
    t->n_partitions = n_partitions;
    t->parts = calloc((size_t)n_partitions, sizeof(*t->parts));
    t->cfg = reg->defaults;
    if (n_configs) {
        t->config_names = calloc(n_configs, sizeof(char *));
        t->config_values = calloc(n_configs, sizeof(char *));
    }
    if (!t->name || !t->parts || (n_configs && (!t->config_names || !t->config_values)))
        goto nomem;
    for (size_t i = 0; i < n_configs; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[i], names[j]) == 0) {
                snprintf(msg, msg_len, "Config %s is given twice", names[i]);
                topic_free(t);
                return ST_ERR_INVALID_CONFIG;
            }
        }
        if (st_topic_config_set(&t->cfg, names[i], values[i], msg, msg_len) < 0) {
            topic_free(t);
            return ST_ERR_INVALID_CONFIG;
        }
        t->config_names[i] = strdup(names[i]);
        t->config_values[i] = strdup(values[i] ? values[i] : "");
        t->n_configs++;
        if (!t->config_names[i] || !t->config_values[i])
            goto nomem;
    }
    *ret = t;
    return ST_ERR_NONE;
nomem:
    snprintf(msg, msg_len, "Out of memory");
    topic_free(t);
    return ST_ERR_UNKNOWN_SERVER_ERROR;
}

/* Opens (or creates) every partition log of t. -errno with the failing partition logged. */
static int topic_open_logs(st_registry_t *reg, st_topic_t *t, bool must_create)
{
    for (int32_t i = 0; i < t->n_partitions; i++) {
        if (t->parts[i])
            continue;
        st_log_t *log = must_create ? NULL : st_log_manager_get(reg->mgr, t->name, i);
        if (log) {
            st_log_set_config(log, &t->cfg.log);
        } else {
            int r = st_log_manager_create(reg->mgr, t->name, i, &t->cfg.log, &log);
            if (r == -EEXIST) {
                log = st_log_manager_get(reg->mgr, t->name, i);
                if (log)
                    st_log_set_config(log, &t->cfg.log);
                r = log ? 0 : -EEXIST;
            }
            if (r < 0) {
                ST_ERROR("Creating the log of %s-%" PRId32 ": %s", t->name, i, strerror(-r));
                return r;
            }
        }
        t->parts[i] = partition_new(reg, t->name, i, log, &t->cfg, -1);
        if (!t->parts[i])
            return -ENOMEM;
    }
    return 0;
}

/* Writes the store from the map (+ optionally one topic marked as being deleted). Under admin. */
static int save_store(st_registry_t *reg, const st_topic_t *extra, bool extra_deleting)
{
    if (reg->cluster)
        return 0;                     /* the topics live in ZooKeeper */
    size_t n = reg->n_topics + (extra ? 1 : 0);
    st_stored_topic_t *st = calloc(n ? n : 1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    size_t k = 0;
    for (size_t b = 0; b < reg->n_buckets; b++) {
        for (st_topic_t *t = reg->buckets[b]; t; t = t->next) {
            if (t == extra)
                continue;
            st[k++] = (st_stored_topic_t){ t->name, t->n_partitions, t->n_configs,
                                           t->config_names, t->config_values, false };
        }
    }
    if (extra)
        st[k++] = (st_stored_topic_t){ extra->name, extra->n_partitions, extra->n_configs,
                                       extra->config_names, extra->config_values, extra_deleting };
    int r = st_topic_store_save(reg->cfg->dirs[0], reg->cluster_id, st, k);
    free(st);   /* the strings belong to the topics */
    return r;
}

/* Two names that differ only by '.' vs '_' collide in metric names (Kafka refuses them). */
static const st_topic_t *colliding_topic(st_registry_t *reg, const char *name)
{
    if (!strpbrk(name, "._"))
        return NULL;
    for (size_t b = 0; b < reg->n_buckets; b++)
        for (st_topic_t *t = reg->buckets[b]; t; t = t->next)
            if (st_topic_names_collide(t->name, name))
                return t;
    return NULL;
}

int st_registry_create_topic(st_registry_t *reg, const char *name, int32_t n_partitions,
                             const char *const *config_names, const char *const *config_values,
                             size_t n_configs, bool validate_only, char *msg, size_t msg_len)
{
    if (!st_topic_name_valid(name, msg, msg_len))
        return ST_ERR_INVALID_TOPIC_EXCEPTION;
    if (n_partitions < 1) {
        snprintf(msg, msg_len, "Number of partitions must be at least 1 (got %" PRId32 ")",
                 n_partitions);
        return ST_ERR_INVALID_PARTITIONS;
    }
    st_topic_t *t = NULL;
    int code = topic_build(reg, name, n_partitions, config_names, config_values, n_configs, &t,
                           msg, msg_len);
    if (code != ST_ERR_NONE)
        return code;

    pthread_mutex_lock(&reg->admin);
    const st_topic_t *collide;
    if (find_topic(reg, name)) {
        snprintf(msg, msg_len, "Topic '%s' already exists", name);
        code = ST_ERR_TOPIC_ALREADY_EXISTS;
    } else if ((collide = colliding_topic(reg, name)) != NULL) {
        snprintf(msg, msg_len, "Topic '%s' collides with existing topic '%s' ('.' and '_' are "
                 "interchangeable in metric names)", name, collide->name);
        code = ST_ERR_INVALID_TOPIC_EXCEPTION;
    } else if (!validate_only) {
        int r = save_store(reg, t, false);
        if (r == 0)
            r = topic_open_logs(reg, t, true);
        if (r == 0) {
            pthread_rwlock_wrlock(&reg->lock);
            r = insert_topic(reg, t);
            pthread_rwlock_unlock(&reg->lock);
        }
        if (r < 0) {
            for (int32_t i = 0; i < t->n_partitions; i++)
                if (t->parts[i])
                    partition_delete(reg, t->parts[i]);
            save_store(reg, NULL, false);
            snprintf(msg, msg_len, "Could not create the topic's logs: %s", strerror(-r));
            code = ST_ERR_KAFKA_STORAGE_ERROR;
        } else {
            ST_INFO("Created topic %s with %" PRId32 " partition(s)%s", name, n_partitions,
                    n_configs ? " and config overrides" : "");
            t = NULL;   /* owned by the map */
        }
    }
    pthread_mutex_unlock(&reg->admin);
    topic_free(t);
    return code;
}

int st_registry_delete_topic(st_registry_t *reg, const char *name, char *msg, size_t msg_len)
{
    pthread_mutex_lock(&reg->admin);
    st_topic_t *t = find_topic(reg, name);
    if (!t) {
        pthread_mutex_unlock(&reg->admin);
        snprintf(msg, msg_len, "Topic '%s' does not exist", name);
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    pthread_rwlock_wrlock(&reg->lock);
    remove_topic(reg, t);
    pthread_rwlock_unlock(&reg->lock);
    /* Record the deletion first so a crash in the middle finishes it at the next start. */
    save_store(reg, t, true);
    for (int32_t i = 0; i < t->n_partitions; i++)
        if (t->parts[i])
            partition_delete(reg, t->parts[i]);
    save_store(reg, NULL, false);
    pthread_mutex_unlock(&reg->admin);
    ST_INFO("Deleted topic %s (%" PRId32 " partition(s))", name, t->n_partitions);
    topic_free(t);
    return ST_ERR_NONE;
}

st_partition_t *st_registry_get(st_registry_t *reg, const char *topic, int32_t partition)
{
    st_partition_t *part = NULL;
    pthread_rwlock_rdlock(&reg->lock);
    st_topic_t *t = find_topic(reg, topic);
    if (t && partition >= 0 && partition < t->n_partitions && t->parts[partition]) {
        part = t->parts[partition];
        st_partition_ref(part);
    }
    pthread_rwlock_unlock(&reg->lock);
    return part;
}

bool st_registry_has_topic(st_registry_t *reg, const char *topic)
{
    pthread_rwlock_rdlock(&reg->lock);
    bool found = find_topic(reg, topic) != NULL;
    pthread_rwlock_unlock(&reg->lock);
    return found;
}

int32_t st_registry_topic_min_insync_replicas(st_registry_t *reg, const char *topic)
{
    pthread_rwlock_rdlock(&reg->lock);
    const st_topic_t *t = find_topic(reg, topic);
    int32_t v = t ? t->cfg.min_insync_replicas : reg->defaults.min_insync_replicas;
    pthread_rwlock_unlock(&reg->lock);
    return v;
}

/* In cluster mode a topic may have partitions this broker does not host (NULL slots): the
 * visitors (Metadata in single-broker mode) see only topics whose every partition is here;
 * cluster-mode Metadata answers from the metadata cache instead. */
static bool topic_complete(const st_topic_t *t)
{
    for (int32_t i = 0; i < t->n_partitions; i++)
        if (!t->parts[i])
            return false;
    return true;
}

int st_registry_visit(st_registry_t *reg, const char *name, st_topic_visit_fn fn, void *arg)
{
    int r = 0;
    pthread_rwlock_rdlock(&reg->lock);
    if (name) {
        st_topic_t *t = find_topic(reg, name);
        if (t && topic_complete(t))
            fn(arg, t->name, t->n_partitions, t->parts);
        else
            r = -ENOENT;
    } else {
        for (size_t b = 0; b < reg->n_buckets; b++)
            for (st_topic_t *t = reg->buckets[b]; t; t = t->next)
                if (topic_complete(t))
                    fn(arg, t->name, t->n_partitions, t->parts);
    }
    pthread_rwlock_unlock(&reg->lock);
    return r;
}

void st_registry_set_wake(st_registry_t *reg, void (*fn)(void *arg, int loop), void *arg)
{
    reg->wake = fn;
    reg->wake_arg = arg;
}

const char *st_registry_cluster_id(const st_registry_t *reg) { return reg->cluster_id; }
int32_t st_registry_broker_id(const st_registry_t *reg) { return reg->cfg->broker_id; }

/* ---- start-up ---------------------------------------------------------------------------- */

typedef struct found_log {
    char *topic;
    int32_t partition;
} found_log_t;

typedef struct found_logs {
    found_log_t *items;
    size_t n, cap;
    bool oom;
} found_logs_t;

static void collect_log(st_log_t *log, void *arg)
{
    found_logs_t *f = arg;
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 64;
        found_log_t *n = realloc(f->items, ncap * sizeof(*n));
        if (!n) {
            f->oom = true;
            return;
        }
        f->items = n;
        f->cap = ncap;
    }
    f->items[f->n].topic = strdup(st_log_topic(log));
    f->items[f->n].partition = st_log_partition(log);
    if (!f->items[f->n].topic) {
        f->oom = true;
        return;
    }
    f->n++;
}

/* Adds the stored topics, then adopts unknown partition directories. Single-threaded. */
static int load_topics(st_registry_t *reg, st_stored_topic_t *stored, size_t n_stored,
                       bool *ret_changed)
{
    char msg[512];
    found_logs_t found = { 0 };
    st_log_manager_foreach(reg->mgr, collect_log, &found);
    int r = found.oom ? -ENOMEM : 0;

    for (size_t i = 0; r == 0 && i < n_stored; i++) {
        st_stored_topic_t *s = &stored[i];
        if (s->deleting) {
            ST_WARN("Finishing the interrupted deletion of topic %s", s->name);
            for (size_t j = 0; j < found.n; j++)
                if (found.items[j].topic && strcmp(found.items[j].topic, s->name) == 0)
                    st_log_manager_delete(reg->mgr, s->name, found.items[j].partition);
            *ret_changed = true;
            continue;
        }
        /* Partitions on disk beyond the stored count extend the topic. */
        int32_t n_parts = s->partitions;
        for (size_t j = 0; j < found.n; j++)
            if (strcmp(found.items[j].topic, s->name) == 0 && found.items[j].partition >= n_parts)
                n_parts = found.items[j].partition + 1;
        st_topic_t *t = NULL;
        int code = topic_build(reg, s->name, n_parts, (const char *const *)s->config_names,
                               (const char *const *)s->config_values, s->n_configs, &t, msg,
                               sizeof(msg));
        if (code != ST_ERR_NONE) {
            ST_WARN("Topic %s: stored config ignored: %s", s->name, msg);
            code = topic_build(reg, s->name, n_parts, NULL, NULL, 0, &t, msg, sizeof(msg));
            if (code != ST_ERR_NONE) {
                r = -ENOMEM;
                break;
            }
            *ret_changed = true;
        }
        if (n_parts != s->partitions)
            *ret_changed = true;
        r = topic_open_logs(reg, t, false);
        if (r == 0)
            r = insert_topic(reg, t);
        if (r < 0)
            topic_free(t);
    }
    for (size_t j = 0; r == 0 && j < found.n; j++) {
        const char *name = found.items[j].topic;
        if (find_topic(reg, name))
            continue;
        bool deleted = false;
        for (size_t i = 0; i < n_stored; i++)
            if (stored[i].deleting && strcmp(stored[i].name, name) == 0)
                deleted = true;
        if (deleted)
            continue;
        int32_t n_parts = 0;
        for (size_t k = 0; k < found.n; k++)
            if (strcmp(found.items[k].topic, name) == 0 && found.items[k].partition >= n_parts)
                n_parts = found.items[k].partition + 1;
        ST_WARN("Found partition directories of topic %s that the topic store does not list: "
                "adopting it with %" PRId32 " partition(s) and the default config", name, n_parts);
        st_topic_t *t = NULL;
        if (topic_build(reg, name, n_parts, NULL, NULL, 0, &t, msg, sizeof(msg)) != ST_ERR_NONE) {
            r = -ENOMEM;
            break;
        }
        r = topic_open_logs(reg, t, false);
        if (r == 0)
            r = insert_topic(reg, t);
        if (r < 0)
            topic_free(t);
        *ret_changed = true;
    }
    for (size_t j = 0; j < found.n; j++)
        free(found.items[j].topic);
    free(found.items);
    return r;
}

int st_registry_open(const st_broker_config_t *cfg, st_log_manager_t *mgr, int n_loops,
                     st_registry_t **ret_reg)
{
    st_registry_t *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return -ENOMEM;
    pthread_rwlock_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->admin, NULL);
    reg->n_buckets = 256;
    reg->buckets = calloc(reg->n_buckets, sizeof(*reg->buckets));
    if (!reg->buckets) {
        free(reg);
        return -ENOMEM;
    }
    reg->mgr = mgr;
    reg->cfg = cfg;
    reg->n_loops = n_loops;
    st_broker_config_log_defaults(cfg, &reg->defaults.log);
    reg->defaults.max_message_bytes = cfg->message_max_bytes;
    reg->defaults.min_insync_replicas = cfg->min_insync_replicas;

    reg->cluster = st_broker_config_cluster_mode(cfg);
    if (reg->cluster) {
        /* Cluster mode: no topic store; the registry starts empty and a partition is hosted
         * here only once a LeaderAndIsr names it. The cluster id comes from ZooKeeper. */
        *ret_reg = reg;
        return 0;
    }
    char *cluster_id = NULL;
    st_stored_topic_t *stored = NULL;
    size_t n_stored = 0;
    int r = st_topic_store_load(cfg->dirs[0], &cluster_id, &stored, &n_stored);
    if (r < 0) {
        st_registry_close(reg);
        return r;
    }
    bool changed = false;
    if (cluster_id) {
        snprintf(reg->cluster_id, sizeof(reg->cluster_id), "%s", cluster_id);
        free(cluster_id);
    } else {
        r = st_cluster_id_generate(reg->cluster_id, sizeof(reg->cluster_id));
        changed = true;
        if (r == 0)
            ST_INFO("Generated cluster id %s", reg->cluster_id);
    }
    if (r == 0)
        r = load_topics(reg, stored, n_stored, &changed);
    st_stored_topics_free(stored, n_stored);
    if (r == 0 && changed)
        r = save_store(reg, NULL, false);
    if (r < 0) {
        st_registry_close(reg);
        return r;
    }
    *ret_reg = reg;
    return 0;
}

/* ---- hosted partitions (cluster mode) ------------------------------------------------------- */

int st_registry_host_partition(st_registry_t *reg, const char *topic, int32_t partition,
                               const char *const *config_names, const char *const *config_values,
                               size_t n_configs, int64_t initial_hw, st_partition_t **ret_part)
{
    char msg[256];
    if (partition < 0 || partition >= 1 << 20)
        return -EINVAL;
    if (!st_topic_name_valid(topic, msg, sizeof(msg)))
        return -EINVAL;
    pthread_mutex_lock(&reg->admin);
    st_topic_t *t = find_topic(reg, topic);
    int r = 0;
    if (!t) {
        int code = topic_build(reg, topic, partition + 1, config_names, config_values, n_configs,
                               &t, msg, sizeof(msg));
        if (code != ST_ERR_NONE) {
            ST_WARN("Topic %s: config from the controller ignored: %s", topic, msg);
            code = topic_build(reg, topic, partition + 1, NULL, NULL, 0, &t, msg, sizeof(msg));
        }
        if (code != ST_ERR_NONE) {
            pthread_mutex_unlock(&reg->admin);
            return -ENOMEM;
        }
        pthread_rwlock_wrlock(&reg->lock);
        r = insert_topic(reg, t);
        pthread_rwlock_unlock(&reg->lock);
        if (r < 0) {
            topic_free(t);
            pthread_mutex_unlock(&reg->admin);
            return r;
        }
    } else if (n_configs) {
        /* Apply changed overrides to the topic (and its open logs). */
        st_topic_config_t cfg = reg->defaults;
        bool ok = true;
        for (size_t i = 0; i < n_configs && ok; i++)
            ok = st_topic_config_set(&cfg, config_names[i], config_values[i], msg,
                                     sizeof(msg)) == 0;
        if (ok) {
            t->cfg = cfg;
            for (int32_t i = 0; i < t->n_partitions; i++) {
                if (!t->parts[i])
                    continue;
                pthread_rwlock_rdlock(&t->parts[i]->lock);
                if (t->parts[i]->log)
                    st_log_set_config(t->parts[i]->log, &cfg.log);
                pthread_rwlock_unlock(&t->parts[i]->lock);
                atomic_store(&t->parts[i]->max_message_bytes, cfg.max_message_bytes);
                atomic_store(&t->parts[i]->min_insync, cfg.min_insync_replicas);
            }
        } else {
            ST_WARN("Topic %s: config from the controller ignored: %s", topic, msg);
        }
    }
    if (partition >= t->n_partitions) {
        st_partition_t **np = calloc((size_t)partition + 1, sizeof(*np));
        if (!np) {
            pthread_mutex_unlock(&reg->admin);
            return -ENOMEM;
        }
        pthread_rwlock_wrlock(&reg->lock);
        memcpy(np, t->parts, (size_t)t->n_partitions * sizeof(*np));
        free(t->parts);
        t->parts = np;
        t->n_partitions = partition + 1;
        pthread_rwlock_unlock(&reg->lock);
    }
    st_partition_t *part = t->parts[partition];
    if (!part) {
        st_log_t *log = st_log_manager_get(reg->mgr, topic, partition);
        if (log) {
            st_log_set_config(log, &t->cfg.log);
        } else {
            r = st_log_manager_create(reg->mgr, topic, partition, &t->cfg.log, &log);
            if (r < 0) {
                ST_ERROR("Creating the log of %s-%" PRId32 ": %s", topic, partition, strerror(-r));
                pthread_mutex_unlock(&reg->admin);
                return r;
            }
        }
        part = partition_new(reg, topic, partition, log, &t->cfg, initial_hw);
        if (!part) {
            pthread_mutex_unlock(&reg->admin);
            return -ENOMEM;
        }
        pthread_rwlock_wrlock(&reg->lock);
        t->parts[partition] = part;
        check_topic(reg, t);
        pthread_rwlock_unlock(&reg->lock);
    }
    st_partition_ref(part);
    pthread_mutex_unlock(&reg->admin);
    *ret_part = part;
    return 0;
}

int st_registry_drop_partition(st_registry_t *reg, const char *topic, int32_t partition,
                               bool delete_log)
{
    pthread_mutex_lock(&reg->admin);
    st_topic_t *t = find_topic(reg, topic);
    if (!t || partition < 0 || partition >= t->n_partitions || !t->parts[partition]) {
        pthread_mutex_unlock(&reg->admin);
        return -ENOENT;
    }
    pthread_rwlock_wrlock(&reg->lock);
    st_partition_t *part = t->parts[partition];
    t->parts[partition] = NULL;
    bool empty = true;
    for (int32_t i = 0; i < t->n_partitions; i++)
        if (t->parts[i])
            empty = false;
    if (empty)
        remove_topic(reg, t);
    pthread_rwlock_unlock(&reg->lock);
    if (delete_log) {
        partition_delete(reg, part);
    } else {
        pthread_rwlock_wrlock(&part->lock);
        part->role = ST_ROLE_NONE;
        part->isr_pending = false;
        st_partition_check(part);
        pthread_rwlock_unlock(&part->lock);
        st_partition_wake(part);
    }
    st_partition_unref(part);
    if (empty)
        topic_free(t);
    pthread_mutex_unlock(&reg->admin);
    return 0;
}

size_t st_registry_snapshot(st_registry_t *reg, st_partition_t ***ret_parts)
{
    pthread_rwlock_rdlock(&reg->lock);
    size_t n = 0, k = 0;
    for (size_t b = 0; b < reg->n_buckets; b++)
        for (st_topic_t *t = reg->buckets[b]; t; t = t->next)
            for (int32_t i = 0; i < t->n_partitions; i++)
                n += t->parts[i] != NULL;
    st_partition_t **parts = calloc(n ? n : 1, sizeof(*parts));
    for (size_t b = 0; parts && b < reg->n_buckets; b++)
        for (st_topic_t *t = reg->buckets[b]; t; t = t->next)
            for (int32_t i = 0; i < t->n_partitions; i++)
                if (t->parts[i]) {
                    st_partition_ref(t->parts[i]);
                    parts[k++] = t->parts[i];
                }
    pthread_rwlock_unlock(&reg->lock);
    *ret_parts = parts;
    return parts ? k : 0;
}

void st_registry_set_isr_notify(st_registry_t *reg, void (*fn)(void *arg, st_partition_t *part),
                                void *arg)
{
    reg->isr_notify = fn;
    reg->isr_notify_arg = arg;
}

bool st_registry_cluster_mode(const st_registry_t *reg) { return reg->cluster; }

void st_registry_close(st_registry_t *reg)
{
    if (!reg)
        return;
    for (size_t b = 0; b < reg->n_buckets; b++) {
        st_topic_t *t = reg->buckets[b];
        while (t) {
            st_topic_t *next = t->next;
            topic_free(t);
            t = next;
        }
    }
    free(reg->buckets);
    pthread_rwlock_destroy(&reg->lock);
    pthread_mutex_destroy(&reg->admin);
    free(reg);
}
