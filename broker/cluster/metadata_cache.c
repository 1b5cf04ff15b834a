/* The metadata cache (see metadata_cache.h): immutable reference-counted snapshots of the
 * cluster -- brokers, controller, every partition's leadership -- built by one writer from
 * UpdateMetadata and swapped in atomically for readers. */
#include "metadata_cache.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

/* Always-on assertion (the checker must run in release builds too). */
#define MD_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "metadata cache invariant violated: %s (%s:%d)\n", #cond, __FILE__,    \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct st_metadata_cache {
    pthread_mutex_t swap;              /* guards `current` (load + ref, store) */
    pthread_mutex_t writer;            /* serialises writers */
    st_md_snapshot_t *current;
};

/* ---- snapshot memory ----------------------------------------------------------------------- */

static void free_partition(st_md_partition_t *p)
{
    st_int_list_free(&p->replicas);
    st_lisr_free(&p->lisr);
    st_int_list_free(&p->offline);
}

static void free_brokers(st_broker_endpoint_t *brokers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(brokers[i].listeners);
    free(brokers);
}

static void free_topic(st_md_topic_t *t)
{
    for (size_t i = 0; i < t->n_parts; i++)
        free_partition(&t->parts[i]);
    free(t->parts);
    free(t->name);
}

static void snapshot_free(st_md_snapshot_t *snap)
{
    free_brokers(snap->brokers, snap->n_brokers);
    for (size_t i = 0; i < snap->n_topics; i++)
        free_topic(&snap->topics[i]);
    free(snap->topics);
    free(snap);
}

void st_md_snapshot_release(st_md_snapshot_t *snap)
{
    if (snap && atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(snap);
}

static int32_t *dup_ids(const int32_t *ids, size_t n)
{
    int32_t *out = malloc((n ? n : 1) * sizeof(*out));
    if (out && n)
        memcpy(out, ids, n * sizeof(*out));
    return out;
}

static int copy_partition(st_md_partition_t *dst, const st_md_partition_t *src)
{
    *dst = *src;
    dst->replicas.v = dup_ids(src->replicas.v, src->replicas.n);
    dst->lisr.isr.v = dup_ids(src->lisr.isr.v, src->lisr.isr.n);
    dst->offline.v = dup_ids(src->offline.v, src->offline.n);
    if (!dst->replicas.v || !dst->lisr.isr.v || !dst->offline.v) {
        free_partition(dst);
        memset(dst, 0, sizeof(*dst));
        return -ENOMEM;
    }
    return 0;
}

static int copy_brokers(const st_broker_endpoint_t *src, size_t n, st_broker_endpoint_t **ret)
{
    st_broker_endpoint_t *copy = calloc(n ? n : 1, sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        copy[i] = src[i];
        copy[i].listeners = malloc((src[i].n_listeners ? src[i].n_listeners : 1) *
                                   sizeof(st_listener_cfg_t));
        if (!copy[i].listeners) {
            free_brokers(copy, i);
            return -ENOMEM;
        }
        memcpy(copy[i].listeners, src[i].listeners, src[i].n_listeners * sizeof(st_listener_cfg_t));
    }
    *ret = copy;
    return 0;
}

static int cmp_broker(const void *a, const void *b)
{
    const st_broker_endpoint_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* ---- the checker --------------------------------------------------------------------------- */

static bool ids_valid(const st_int_list_t *ids)
{
    for (size_t i = 0; i < ids->n; i++) {
        if (ids->v[i] < 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (ids->v[i] == ids->v[j])
                return false;
    }
    return true;
}

void st_md_snapshot_check(const st_md_snapshot_t *snap)
{
    MD_ASSERT(snap && atomic_load(&snap->refs) >= 1);
    for (size_t i = 0; i < snap->n_brokers; i++) {
        const st_broker_endpoint_t *b = &snap->brokers[i];
        MD_ASSERT(b->id >= 0);
        MD_ASSERT(i == 0 || snap->brokers[i - 1].id < b->id);                   /* 1 */
        MD_ASSERT(b->n_listeners >= 1);
        for (size_t j = 0; j < b->n_listeners; j++) {
            MD_ASSERT(b->listeners[j].port >= 0 && b->listeners[j].port <= 65535);
            for (size_t k = 0; k < j; k++)
                MD_ASSERT(strcmp(b->listeners[j].name, b->listeners[k].name) != 0);
        }
    }
    for (size_t i = 0; i < snap->n_topics; i++) {
        const st_md_topic_t *t = &snap->topics[i];
        MD_ASSERT(t->name && t->name[0]);                                        /* 2 */
        MD_ASSERT(i == 0 || strcmp(snap->topics[i - 1].name, t->name) < 0);
        MD_ASSERT(t->n_parts >= 1);
        for (size_t j = 0; j < t->n_parts; j++) {
            const st_md_partition_t *p = &t->parts[j];
            MD_ASSERT(p->partition >= 0);                                        /* 3 */
            MD_ASSERT(j == 0 || t->parts[j - 1].partition < p->partition);
            MD_ASSERT(p->lisr.leader >= ST_MD_LEADER_NONE);                      /* 4 */
            MD_ASSERT(ids_valid(&p->replicas));
            MD_ASSERT(ids_valid(&p->lisr.isr));
            MD_ASSERT(ids_valid(&p->offline));
        }
    }
}

/* ---- readers ------------------------------------------------------------------------------- */

st_md_snapshot_t *st_metadata_cache_acquire(st_metadata_cache_t *cache)
{
    pthread_mutex_lock(&cache->swap);
    st_md_snapshot_t *snap = cache->current;
    atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&cache->swap);
    return snap;
}

static int cmp_topic_key(const void *key, const void *elem)
{
    return strcmp(key, ((const st_md_topic_t *)elem)->name);
}

const st_md_topic_t *st_md_snapshot_topic(const st_md_snapshot_t *snap, const char *name)
{
    if (!snap->n_topics)
        return NULL;
    return bsearch(name, snap->topics, snap->n_topics, sizeof(st_md_topic_t), cmp_topic_key);
}

static int cmp_part_key(const void *key, const void *elem)
{
    int32_t k = *(const int32_t *)key, p = ((const st_md_partition_t *)elem)->partition;
    return (k > p) - (k < p);
}

const st_md_partition_t *st_md_topic_partition(const st_md_topic_t *topic, int32_t partition)
{
    if (!topic->n_parts)
        return NULL;
    return bsearch(&partition, topic->parts, topic->n_parts, sizeof(st_md_partition_t),
                   cmp_part_key);
}

static int cmp_broker_key(const void *key, const void *elem)
{
    int32_t k = *(const int32_t *)key, id = ((const st_broker_endpoint_t *)elem)->id;
    return (k > id) - (k < id);
}

const st_broker_endpoint_t *st_md_snapshot_broker(const st_md_snapshot_t *snap, int32_t id)
{
    if (!snap->n_brokers)
        return NULL;
    return bsearch(&id, snap->brokers, snap->n_brokers, sizeof(st_broker_endpoint_t),
                   cmp_broker_key);
}

const st_listener_cfg_t *st_md_broker_endpoint(const st_broker_endpoint_t *broker,
                                               const char *listener_name)
{
    for (size_t i = 0; i < broker->n_listeners; i++)
        if (strcmp(broker->listeners[i].name, listener_name) == 0)
            return &broker->listeners[i];
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int st_metadata_cache_new(const char *cluster_id, st_metadata_cache_t **ret)
{
    st_metadata_cache_t *cache = calloc(1, sizeof(*cache));
    st_md_snapshot_t *snap = calloc(1, sizeof(*snap));
    if (!cache || !snap) {
        free(cache);
        free(snap);
        return -ENOMEM;
    }
    atomic_init(&snap->refs, 1);
    snprintf(snap->cluster_id, sizeof(snap->cluster_id), "%s", cluster_id);
    snap->controller_id = -1;
    snap->controller_epoch = -1;
    pthread_mutex_init(&cache->swap, NULL);
    pthread_mutex_init(&cache->writer, NULL);
    cache->current = snap;
    st_md_snapshot_check(snap);
    *ret = cache;
    return 0;
}

void st_metadata_cache_free(st_metadata_cache_t *cache)
{
    if (!cache)
        return;
    st_md_snapshot_release(cache->current);
    pthread_mutex_destroy(&cache->swap);
    pthread_mutex_destroy(&cache->writer);
    free(cache);
}

/* Publishes next (refs 1, owned by the cache). Writer lock held. */
static void publish(st_metadata_cache_t *cache, st_md_snapshot_t *next)
{
    st_md_snapshot_check(next);
    pthread_mutex_lock(&cache->swap);
    st_md_snapshot_t *old = cache->current;
    MD_ASSERT(next->controller_epoch >= old->controller_epoch);                  /* 5 */
    MD_ASSERT(next->version == old->version + 1);
    cache->current = next;
    pthread_mutex_unlock(&cache->swap);
    st_md_snapshot_release(old);
}

/* A new snapshot sharing nothing with cur: header fields, deep copies of the brokers (unless
 * skip_brokers) and topics. Writer lock held. */
static st_md_snapshot_t *clone_snapshot(const st_md_snapshot_t *cur, bool skip_brokers,
                                        bool skip_topics)
{
    st_md_snapshot_t *next = calloc(1, sizeof(*next));
    if (!next)
        return NULL;
    atomic_init(&next->refs, 1);
    next->version = cur->version + 1;
    memcpy(next->cluster_id, cur->cluster_id, sizeof(next->cluster_id));
    next->controller_id = cur->controller_id;
    next->controller_epoch = cur->controller_epoch;
    if (!skip_brokers) {
        if (copy_brokers(cur->brokers, cur->n_brokers, &next->brokers) < 0)
            goto oom;
        next->n_brokers = cur->n_brokers;
    }
    if (!skip_topics && cur->n_topics) {
        next->topics = calloc(cur->n_topics, sizeof(*next->topics));
        if (!next->topics)
            goto oom;
        for (size_t i = 0; i < cur->n_topics; i++) {
            const st_md_topic_t *src = &cur->topics[i];
            st_md_topic_t *dst = &next->topics[i];
            dst->name = strdup(src->name);
            dst->parts = calloc(src->n_parts, sizeof(*dst->parts));
            next->n_topics = i + 1;
            if (!dst->name || !dst->parts)
                goto oom;
            for (size_t j = 0; j < src->n_parts; j++) {
                if (copy_partition(&dst->parts[j], &src->parts[j]) < 0)
                    goto oom;
                dst->n_parts = j + 1;
            }
        }
    }
    return next;
oom:
    snapshot_free(next);
    return NULL;
}

/* ---- the writer ---------------------------------------------------------------------------- */

static int why_fmt(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_fmt(char *why, size_t len, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int validate_brokers(const st_broker_endpoint_t *brokers, size_t n, char *why, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        const st_broker_endpoint_t *b = &brokers[i];
        if (b->id < 0)
            return why_fmt(why, len, "broker id %d is negative", (int)b->id);
        for (size_t j = 0; j < i; j++)
            if (brokers[j].id == b->id)
                return why_fmt(why, len, "broker %d is listed twice", (int)b->id);
        if (b->n_listeners == 0)
            return why_fmt(why, len, "broker %d has no endpoint", (int)b->id);
        for (size_t j = 0; j < b->n_listeners; j++) {
            if (b->listeners[j].port < 0 || b->listeners[j].port > 65535)
                return why_fmt(why, len, "broker %d: port %d out of range", (int)b->id,
                               b->listeners[j].port);
            for (size_t k = 0; k < j; k++)
                if (strcmp(b->listeners[j].name, b->listeners[k].name) == 0)
                    return why_fmt(why, len, "broker %d: listener %s listed twice", (int)b->id,
                                   b->listeners[j].name);
        }
    }
    return 0;
}

static int validate_partition(const st_md_partition_update_t *u, char *why, size_t len)
{
    const st_md_partition_t *p = &u->state;
    if (!u->topic || !u->topic[0])
        return why_fmt(why, len, "a partition state has no topic name");
    if (p->partition < 0)
        return why_fmt(why, len, "%s: partition %d is negative", u->topic, (int)p->partition);
    if (p->lisr.leader < ST_MD_LEADER_DURING_DELETE)
        return why_fmt(why, len, "%s-%d: leader %d is invalid", u->topic, (int)p->partition,
                       (int)p->lisr.leader);
    if (!ids_valid(&p->replicas) || !ids_valid(&p->lisr.isr) || !ids_valid(&p->offline))
        return why_fmt(why, len, "%s-%d: replicas, isr and offline_replicas must hold distinct "
                       "non-negative broker ids", u->topic, (int)p->partition);
    return 0;
}

static const st_md_partition_update_t *sort_base;

static int cmp_update_idx(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const st_md_partition_update_t *x = &sort_base[i], *y = &sort_base[j];
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    if (x->state.partition != y->state.partition)
        return (x->state.partition > y->state.partition) - (x->state.partition < y->state.partition);
    return (i > j) - (i < j);          /* stable: the later state of a partition wins */
}

/* Grows a topic array by one (zeroed) entry. */
static st_md_topic_t *push_topic(st_md_topic_t **topics, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        st_md_topic_t *grown = realloc(*topics, ncap * sizeof(*grown));
        if (!grown)
            return NULL;
        *topics = grown;
        *cap = ncap;
    }
    memset(&(*topics)[*n], 0, sizeof(st_md_topic_t));
    return &(*topics)[(*n)++];
}

/* Builds topic `name` of the next snapshot from cur_topic (may be NULL) and the sorted updates
 * idx[0..n). An empty result (every partition deleted) is left with n_parts 0. */
static int merge_topic(st_md_topic_t *dst, const char *name, const st_md_topic_t *cur_topic,
                       const st_md_partition_update_t *ups, const size_t *idx, size_t n)
{
    size_t cap = (cur_topic ? cur_topic->n_parts : 0) + n;
    dst->name = strdup(name);
    dst->parts = calloc(cap ? cap : 1, sizeof(*dst->parts));
    if (!dst->name || !dst->parts)
        return -ENOMEM;
    size_t ci = 0, ui = 0, n_cur = cur_topic ? cur_topic->n_parts : 0;
    while (ci < n_cur || ui < n) {
        /* the last update of this partition index */
        size_t ue = ui;
        while (ue + 1 < n && ups[idx[ue + 1]].state.partition == ups[idx[ui]].state.partition)
            ue++;
        int32_t up = ui < n ? ups[idx[ui]].state.partition : INT32_MAX;
        int32_t cp = ci < n_cur ? cur_topic->parts[ci].partition : INT32_MAX;
        const st_md_partition_t *src;
        if (ci < n_cur && (ui >= n || cp < up)) {
            src = &cur_topic->parts[ci++];
        } else {
            src = &ups[idx[ue]].state;
            if (ci < n_cur && cp == up)
                ci++;                        /* replaced */
            ui = ue + 1;
            if (src->lisr.leader == ST_MD_LEADER_DURING_DELETE)
                continue;
        }
        if (copy_partition(&dst->parts[dst->n_parts], src) < 0)
            return -ENOMEM;
        dst->n_parts++;
    }
    return 0;
}

int st_metadata_cache_apply(st_metadata_cache_t *cache, const st_md_update_t *update, char *why,
                            size_t why_len)
{
    if (update->replace_brokers) {
        int r = validate_brokers(update->brokers, update->n_brokers, why, why_len);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < update->n_partitions; i++) {
        int r = validate_partition(&update->partitions[i], why, why_len);
        if (r < 0)
            return r;
    }
    size_t *idx = malloc((update->n_partitions ? update->n_partitions : 1) * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < update->n_partitions; i++)
        idx[i] = i;

    pthread_mutex_lock(&cache->writer);
    const st_md_snapshot_t *cur = cache->current;   /* only writers store it: no swap lock */
    if (update->controller_epoch < cur->controller_epoch) {
        why_fmt(why, why_len, "controller epoch %d is older than %d", (int)update->controller_epoch,
                (int)cur->controller_epoch);
        pthread_mutex_unlock(&cache->writer);
        free(idx);
        return -ESTALE;
    }
    int r = -ENOMEM;
    st_md_topic_t *topics = NULL;
    size_t n_topics = 0, cap_topics = 0;
    st_md_snapshot_t *next = clone_snapshot(cur, update->replace_brokers, true);
    if (!next)
        goto out;
    next->controller_id = update->controller_id;
    next->controller_epoch = update->controller_epoch;
    if (update->replace_brokers) {
        if (copy_brokers(update->brokers, update->n_brokers, &next->brokers) < 0)
            goto out;
        next->n_brokers = update->n_brokers;
        qsort(next->brokers, next->n_brokers, sizeof(*next->brokers), cmp_broker);
    }
    /* Merge the current topics (sorted) with the updates sorted by (topic, partition). */
    sort_base = update->partitions;
    qsort(idx, update->n_partitions, sizeof(*idx), cmp_update_idx);
    sort_base = NULL;
    size_t ti = 0, ui = 0;
    while (ti < cur->n_topics || ui < update->n_partitions) {
        const char *uname = ui < update->n_partitions ? update->partitions[idx[ui]].topic : NULL;
        const st_md_topic_t *ct = ti < cur->n_topics ? &cur->topics[ti] : NULL;
        int c = !ct ? 1 : !uname ? -1 : strcmp(ct->name, uname);
        size_t ue = ui;
        if (c >= 0)
            while (ue < update->n_partitions && strcmp(update->partitions[idx[ue]].topic, uname) == 0)
                ue++;
        st_md_topic_t *dst = push_topic(&topics, &n_topics, &cap_topics);
        if (!dst)
            goto out;
        if (merge_topic(dst, c <= 0 ? ct->name : uname, c <= 0 ? ct : NULL, update->partitions,
                        idx + ui, c >= 0 ? ue - ui : 0) < 0)
            goto out;
        if (dst->n_parts == 0) {             /* every partition deleted: the topic goes */
            free_topic(dst);
            n_topics--;
        }
        if (c <= 0)
            ti++;
        if (c >= 0)
            ui = ue;
    }
    next->topics = topics;
    next->n_topics = n_topics;
    topics = NULL;
    n_topics = 0;
    publish(cache, next);
    next = NULL;
    r = 0;
out:
    pthread_mutex_unlock(&cache->writer);
    for (size_t i = 0; i < n_topics; i++)
        free_topic(&topics[i]);
    free(topics);
    if (next)
        snapshot_free(next);
    free(idx);
    return r;
}

/* ---- getters and the cluster id ------------------------------------------------------------ */

void st_metadata_cache_set_cluster_id(st_metadata_cache_t *cache, const char *cluster_id)
{
    pthread_mutex_lock(&cache->writer);
    st_md_snapshot_t *next = clone_snapshot(cache->current, false, false);
    if (next) {
        snprintf(next->cluster_id, sizeof(next->cluster_id), "%s", cluster_id);
        publish(cache, next);
    }
    pthread_mutex_unlock(&cache->writer);
}

int32_t st_metadata_cache_controller(st_metadata_cache_t *cache)
{
    st_md_snapshot_t *snap = st_metadata_cache_acquire(cache);
    int32_t id = snap->controller_id;
    st_md_snapshot_release(snap);
    return id;
}

void st_metadata_cache_cluster_id(st_metadata_cache_t *cache, char *out, size_t len)
{
    st_md_snapshot_t *snap = st_metadata_cache_acquire(cache);
    snprintf(out, len, "%s", snap->cluster_id);
    st_md_snapshot_release(snap);
}

void st_metadata_cache_visit_brokers(st_metadata_cache_t *cache, const char *listener_name,
                                     void (*fn)(void *arg, int32_t id, const char *host, int port,
                                                const char *rack),
                                     void *arg)
{
    st_md_snapshot_t *snap = st_metadata_cache_acquire(cache);
    for (size_t i = 0; i < snap->n_brokers; i++) {
        const st_listener_cfg_t *ep = st_md_broker_endpoint(&snap->brokers[i], listener_name);
        if (ep)
            fn(arg, snap->brokers[i].id, ep->host, ep->port, snap->brokers[i].rack);
    }
    st_md_snapshot_release(snap);
}

int st_metadata_cache_broker_endpoint(st_metadata_cache_t *cache, int32_t id,
                                      const char *listener_name, char *host, size_t host_len,
                                      int *ret_port)
{
    st_md_snapshot_t *snap = st_metadata_cache_acquire(cache);
    const st_broker_endpoint_t *b = st_md_snapshot_broker(snap, id);
    const st_listener_cfg_t *l = b ? st_md_broker_endpoint(b, listener_name) : NULL;
    if (l) {
        snprintf(host, host_len, "%s", l->host);
        *ret_port = l->port;
    }
    st_md_snapshot_release(snap);
    return l ? 0 : -ENOENT;
}
