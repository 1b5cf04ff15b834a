/* Topic/partition registry over the log manager: the partitions this broker hosts (each one
 * because a LeaderAndIsr named it), lookups for the request path, high watermark and
 * parked-fetch watchers. The topics and their assignments live in ZooKeeper; this registry holds
 * only the hosted part of them (see partition.h).
 *
 * Partition invariants (checked by check_partition() at every transition, under the lock):
 *   P1. deleted == (log == NULL).
 *   P2. while not deleted: log_start <= high_watermark <= log_end.
 *   P3. leader == this broker  =>  leader_epoch >= 0, and this broker is in replicas and isr.
 *   P4. refs >= 1 while the partition is reachable; waiters[i] >= 0 and total_waiters equals
 *       their sum (between watch/unwatch pairs).
 * Registry invariants (under the lock):
 *   R1. every topic in the map has n_partitions >= 1 slots; a non-NULL slot i holds partition i
 *       of that topic (NULL: not hosted here), the map holds one reference on each, and a topic
 *       with no hosted partition left is removed from the map. */
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
    int n_loops;
    void (*wake)(void *arg, int loop);
    void *wake_arg;
    void (*isr_notify)(void *arg, st_partition_t *part);
    void *isr_notify_arg;
};

/* ---- partitions ------------------------------------------------------------------------ */

/* A new hosted partition starts without a role (ST_ROLE_NONE) and with HW = initial_hw clamped
 * into [log start, log end]; the LeaderAndIsr that hosts it gives it one. */
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
    part->role = ST_ROLE_NONE;
    part->leader = -1;
    part->leader_epoch = -1;
    int64_t hw = initial_hw < start ? start : initial_hw > end ? end : initial_hw;
    atomic_init(&part->high_watermark, hw);
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
        if (!topic->parts[i])
            continue;                 /* not hosted here */
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

void st_registry_set_wake(st_registry_t *reg, void (*fn)(void *arg, int loop), void *arg)
{
    reg->wake = fn;
    reg->wake_arg = arg;
}

int32_t st_registry_broker_id(const st_registry_t *reg) { return reg->cfg->broker_id; }

/* ---- start-up ---------------------------------------------------------------------------- */

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

    /* The registry starts empty: a partition is hosted here only once a LeaderAndIsr names it
     * (logs already on disk are reused then; see st_registry_host_partition). */
    *ret_reg = reg;
    return 0;
}

/* ---- hosted partitions --------------------------------------------------------------------- */

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
            /* readers of t->cfg on the network threads (st_registry_topic_min_insync_replicas)
             * hold reg->lock shared: the copy is made under it exclusively (TSan data race) */
            pthread_rwlock_wrlock(&reg->lock);
            t->cfg = cfg;
            pthread_rwlock_unlock(&reg->lock);
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
        __atomic_store_n(&part->role, ST_ROLE_NONE, __ATOMIC_RELAXED);   /* read lock-free */
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
