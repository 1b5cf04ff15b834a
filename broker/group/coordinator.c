/* The group coordinator (see coordinator.h): ownership of the __consumer_offsets partitions,
 * loading and unloading their groups, the coordinator thread (group timers, offsets retention,
 * ownership polling), the creation of __consumer_offsets, and the records it writes.
 *
 * Invariants (check_part, asserted after every ownership change):
 *   1. A NOT_OWNED or LOADING partition has no groups in the table.
 *   2. Every group in parts[p] has group->partition == p and is not Dead; ids are unique.
 *   3. load_gen of a partition grows at every change of status.
 *
 * Writing group metadata (Kafka's storeGroup): the record written for the leader's SyncGroup is
 * a pending store (pending_store_t) that the coordinator thread polls every 2 ms until the
 * offsets partition's high watermark passes it (acks=all, up to offsets.commit.timeout.ms); only
 * then does the group become Stable and the SyncGroups get their assignments
 * (st_group_store_done). Other group records (an emptied group, a static member's new id,
 * tombstones) are appended without waiting, as are offset tombstones. Committed offsets wait in
 * their own delayed operation (handle_offsets.c). */
#include "coordinator.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin_worker.h"
#include "await.h"
#include "metadata_cache.h"
#include "partition.h"
#include "st_batch.h"
#include "st_buf.h"
#include "st_error.h"
#include "st_logger.h"

#define POLL_MS              100
#define CREATE_RETRY_MS      5000
#define LOAD_READ_BYTES      (1 << 20)

typedef enum part_status { PART_NOT_OWNED = 0, PART_LOADING, PART_LOADED } part_status_t;

typedef struct offsets_part {
    part_status_t status;
    int32_t epoch;                    /* leader epoch when loading started */
    uint64_t load_gen;
    st_group_t **groups;
    size_t n, cap;
} offsets_part_t;

/* A group record written for a leader's SyncGroup, waiting to be replicated (Kafka's storeGroup
 * with acks=all): checked by the coordinator thread until the high watermark passes it. */
typedef struct pending_store {
    char *group_id;
    int32_t partition;
    uint64_t load_gen;
    int32_t generation;
    st_partition_t *part;             /* referenced */
    int32_t epoch;
    int64_t required;
    int64_t deadline;                 /* monotonic: offsets.commit.timeout.ms */
} pending_store_t;

struct st_coordinator {
    st_broker_t *b;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool started;
    atomic_bool stop;                 /* read without the lock by the loading code */
    bool kick;                        /* re-run the group timers now */
    bool poll_now;                    /* re-check ownership now (a request found us leading) */
    int32_t n_parts;
    offsets_part_t *parts;
    st_group_config_t gcfg;
    st_group_ops_t ops;
    int64_t create_requested;         /* monotonic ms of the last creation request, 0 never */
    pending_store_t *stores;          /* group records waiting for replication */
    size_t n_stores, cap_stores;
    int64_t next_retention;
};

int64_t st_coord_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t st_coord_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check_part(const st_coordinator_t *c, int32_t p)
{
    const offsets_part_t *op = &c->parts[p];
    if (op->status != PART_LOADED && op->n != 0) {
        ST_ERROR("__consumer_offsets-%" PRId32 ": %zu groups while not loaded", p, op->n);
        abort();
    }
    for (size_t i = 0; i < op->n; i++) {
        if (op->groups[i]->partition != p || op->groups[i]->state == ST_GROUP_DEAD) {
            ST_ERROR("__consumer_offsets-%" PRId32 ": group %s misplaced or dead", p,
                     op->groups[i]->id);
            abort();
        }
    }
}

/* ---- answering parked JoinGroup / SyncGroup (group ops; lock held) ---------------------------- */

static void join_done(void *arg, void *waiter, const st_group_join_result_t *res)
{
    (void)arg;
    Strand__JoinGroupResponse resp = STRAND__JOIN_GROUP_RESPONSE__INIT;
    resp.error_code = res->error;
    resp.generation_id = res->generation;
    resp.protocol_type = (char *)(res->protocol_type ? res->protocol_type : "");
    resp.protocol_name = (char *)(res->protocol_name ? res->protocol_name : "");
    resp.leader = (char *)(res->leader ? res->leader : "");
    resp.member_id = (char *)(res->member_id ? res->member_id : "");
    Strand__JoinGroupResponseMember *ms = NULL, **ptrs = NULL;
    if (res->n_members) {
        ms = calloc(res->n_members, sizeof(*ms));
        ptrs = calloc(res->n_members, sizeof(*ptrs));
    }
    if (ms && ptrs) {
        for (size_t i = 0; i < res->n_members; i++) {
            const st_group_member_t *m = res->members[i];
            strand__join_group_response_member__init(&ms[i]);
            ms[i].member_id = m->member_id;
            ms[i].group_instance_id = m->instance_id ? m->instance_id : "";
            /* The metadata for the chosen protocol. */
            for (size_t k = 0; k < m->n_protocols; k++)
                if (res->protocol_name && strcmp(m->protocols[k].name, res->protocol_name) == 0) {
                    ms[i].metadata.data = m->protocols[k].metadata;
                    ms[i].metadata.len = m->protocols[k].metadata_len;
                }
            ptrs[i] = &ms[i];
        }
        resp.members = ptrs;
        resp.n_members = res->n_members;
    } else if (res->n_members) {
        resp.error_code = ST_ERR_UNKNOWN_SERVER_ERROR;
        resp.generation_id = -1;
    }
    st_await_done(waiter, &resp.base);
    free(ms);
    free(ptrs);
}

static void sync_done(void *arg, void *waiter, int32_t error, const char *protocol_type,
                      const char *protocol_name, const uint8_t *assignment, size_t len)
{
    (void)arg;
    Strand__SyncGroupResponse resp = STRAND__SYNC_GROUP_RESPONSE__INIT;
    resp.error_code = error;
    resp.protocol_type = (char *)(protocol_type ? protocol_type : "");
    resp.protocol_name = (char *)(protocol_name ? protocol_name : "");
    resp.assignment.data = (uint8_t *)assignment;
    resp.assignment.len = assignment ? len : 0;
    st_await_done(waiter, &resp.base);
}

static void heartbeat_done(void *arg, void *waiter, int32_t error)
{
    (void)arg;
    Strand__HeartbeatResponse resp = STRAND__HEARTBEAT_RESPONSE__INIT;
    resp.error_code = error;
    st_await_done(waiter, &resp.base);
}

/* Kafka's error mapping for a failed group write (GroupMetadataManager.storeGroup). */
static int32_t store_error(int code)
{
    switch (code) {
    case ST_ERR_NOT_LEADER_OR_FOLLOWER: return ST_ERR_NOT_COORDINATOR;
    case ST_ERR_REQUEST_TIMED_OUT: return ST_ERR_REBALANCE_IN_PROGRESS;
    case ST_ERR_NOT_ENOUGH_REPLICAS:
    case ST_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND: return ST_ERR_COORDINATOR_NOT_AVAILABLE;
    default: return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
}

static int32_t append_error(int r)
{
    switch (r) {
    case -EPERM:
    case -ENOENT: return ST_ERR_NOT_COORDINATOR;
    case -ENOTCONN: return ST_ERR_COORDINATOR_NOT_AVAILABLE;
    default: return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
}

static int32_t write_group(st_coordinator_t *c, st_group_t *g, bool wait);

static int32_t store_op(void *arg, st_group_t *g, bool wait)
{
    return write_group(arg, g, wait);
}

/* ---- the table ------------------------------------------------------------------------------ */

static st_group_t *find_group(const offsets_part_t *op, const char *id)
{
    for (size_t i = 0; i < op->n; i++)
        if (strcmp(op->groups[i]->id, id) == 0)
            return op->groups[i];
    return NULL;
}

static int add_group(offsets_part_t *op, st_group_t *g)
{
    if (op->n == op->cap) {
        size_t cap = op->cap ? op->cap * 2 : 8;
        st_group_t **p = realloc(op->groups, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        op->groups = p;
        op->cap = cap;
    }
    op->groups[op->n++] = g;
    return 0;
}

static int32_t part_of(const st_coordinator_t *c, const char *group_id)
{
    return st_group_partition_for(group_id, c->n_parts);
}

int32_t st_coord_acquire(st_coordinator_t *c, const char *group_id, bool create,
                         st_group_t **ret_group, uint64_t *ret_load)
{
    if (!group_id || !*group_id)
        return ST_ERR_INVALID_GROUP_ID;
    int32_t p = part_of(c, group_id);
    pthread_mutex_lock(&c->lock);
    offsets_part_t *op = &c->parts[p];
    if (atomic_load(&c->stop)) {
        pthread_mutex_unlock(&c->lock);
        return ST_ERR_NOT_COORDINATOR;
    }
    if (op->status != PART_LOADED) {
        int32_t err = op->status == PART_LOADING ? ST_ERR_COORDINATOR_LOAD_IN_PROGRESS
                                                 : ST_ERR_NOT_COORDINATOR;
        bool loading_soon = op->status == PART_NOT_OWNED;
        pthread_mutex_unlock(&c->lock);
        if (loading_soon) {
            /* This broker may have just become leader: a load in progress is the right answer
             * then (the client retries here), not NOT_COORDINATOR (it would look elsewhere). */
            st_partition_t *part = st_registry_get(c->b->reg, ST_OFFSETS_TOPIC, p);
            if (part && st_partition_role(part) == ST_ROLE_LEADER) {
                err = ST_ERR_COORDINATOR_LOAD_IN_PROGRESS;
                pthread_mutex_lock(&c->lock);
                c->kick = true;
                c->poll_now = true;
                pthread_cond_signal(&c->cond);
                pthread_mutex_unlock(&c->lock);
            }
            st_partition_unref(part);
        }
        return err;
    }
    /* Exact leadership on every request: between two ownership polls this broker may have
     * lost the partition (or lost and regained it: a new term whose log must be reloaded). */
    st_partition_t *part = st_registry_get(c->b->reg, ST_OFFSETS_TOPIC, p);
    bool same_term = part && st_partition_acks_status(part, op->epoch, 0) !=
                                 ST_ERR_NOT_LEADER_OR_FOLLOWER;
    st_partition_unref(part);
    if (!same_term) {
        c->kick = true;
        c->poll_now = true;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        return ST_ERR_NOT_COORDINATOR;
    }
    st_group_t *g = find_group(op, group_id);
    if (!g && create) {
        g = st_group_new(group_id, &c->gcfg, &c->ops, c, st_coord_wall());
        if (!g || add_group(op, g) < 0) {
            st_group_free(g);
            pthread_mutex_unlock(&c->lock);
            return ST_ERR_UNKNOWN_SERVER_ERROR;
        }
        g->partition = p;
    }
    *ret_group = g;
    if (ret_load)
        *ret_load = op->load_gen;
    return ST_ERR_NONE;
}

void st_coord_release(st_coordinator_t *c)
{
    c->kick = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

bool st_coord_still_loaded(st_coordinator_t *c, const st_group_t *g, uint64_t load)
{
    const offsets_part_t *op = &c->parts[g->partition];
    return op->status == PART_LOADED && op->load_gen == load && find_group(op, g->id) == g;
}

void st_coord_forget(st_coordinator_t *c, st_group_t *g)
{
    offsets_part_t *op = &c->parts[g->partition];
    for (size_t i = 0; i < op->n; i++)
        if (op->groups[i] == g) {
            op->groups[i] = op->groups[--op->n];
            break;
        }
    st_group_free(g);
}

const st_group_config_t *st_coord_group_config(st_coordinator_t *c)
{
    return &c->gcfg;
}

int32_t st_coord_visit(st_coordinator_t *c, void (*fn)(void *arg, const st_group_t *g), void *arg)
{
    int32_t err = ST_ERR_NONE;
    pthread_mutex_lock(&c->lock);
    for (int32_t p = 0; p < c->n_parts; p++) {
        if (c->parts[p].status == PART_LOADING)
            err = ST_ERR_COORDINATOR_LOAD_IN_PROGRESS;
        for (size_t i = 0; i < c->parts[p].n; i++)
            fn(arg, c->parts[p].groups[i]);
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

/* ---- FindCoordinator and the creation of __consumer_offsets ---------------------------------- */

int32_t st_coord_find(st_coordinator_t *c, const char *group_id, int32_t *ret_node, char *msg,
                      size_t msg_len)
{
    int32_t p = part_of(c, group_id);
    st_md_snapshot_t *snap = st_metadata_cache_acquire(c->b->meta);
    const st_md_topic_t *t = st_md_snapshot_topic(snap, ST_OFFSETS_TOPIC);
    const st_md_partition_t *mp = t ? st_md_topic_partition(t, p) : NULL;
    int32_t leader = mp ? mp->lisr.leader : -1;
    st_md_snapshot_release(snap);
    if (!t) {
        int64_t now = st_coord_now();
        pthread_mutex_lock(&c->lock);
        bool ask = c->create_requested == 0 || now - c->create_requested >= CREATE_RETRY_MS;
        if (ask)
            c->create_requested = now;
        pthread_mutex_unlock(&c->lock);
        if (ask) {
            const st_broker_config_t *cfg = &c->b->cfg;
            char segment[32];
            snprintf(segment, sizeof(segment), "%" PRId32, cfg->offsets_topic_segment_bytes);
            const char *keys[] = { "cleanup.policy", "segment.bytes" };
            const char *values[] = { "compact", segment };
            st_admin_worker_create_internal(c->b, ST_OFFSETS_TOPIC,
                                            cfg->offsets_topic_num_partitions,
                                            cfg->offsets_topic_replication_factor, keys, values, 2);
        }
        snprintf(msg, msg_len, "%s does not exist yet (its creation was requested)",
                 ST_OFFSETS_TOPIC);
        return ST_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (leader < 0) {
        snprintf(msg, msg_len, "%s-%" PRId32 " (the coordinator partition of group '%s') has no "
                 "leader", ST_OFFSETS_TOPIC, p, group_id);
        return ST_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    *ret_node = leader;
    return ST_ERR_NONE;
}

/* ---- writes --------------------------------------------------------------------------------- */

int st_coord_append(st_coordinator_t *c, int32_t partition, const st_coord_record_t *recs,
                    size_t n, st_partition_t **ret_part, int32_t *ret_epoch,
                    int64_t *ret_required)
{
    if (n == 0)
        return -EINVAL;
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    if (!w)
        return -ENOMEM;
    int64_t ts = st_coord_wall();
    int r = 0;
    for (size_t i = 0; r == 0 && i < n; i++)
        r = st_batch_writer_add(w, ts, recs[i].key, (ssize_t)recs[i].key_len, recs[i].value,
                                recs[i].value ? (ssize_t)recs[i].value_len : -1, NULL, 0);
    const void *batch = NULL;
    size_t len = 0;
    if (r == 0)
        r = st_batch_writer_finish(w, &batch, &len);
    void *copy = r == 0 ? malloc(len) : NULL;     /* the append stamps it in place */
    if (r == 0 && !copy)
        r = -ENOMEM;
    if (r == 0)
        memcpy(copy, batch, len);
    st_batch_writer_free(w);
    if (r < 0) {
        free(copy);
        return r;
    }
    st_partition_t *part = st_registry_get(c->b->reg, ST_OFFSETS_TOPIC, partition);
    if (!part) {
        free(copy);
        return -EPERM;
    }
    st_log_append_info_t info;
    int32_t epoch = -1;
    r = st_partition_append(part, copy, len, -1, &info, NULL, &epoch);
    free(copy);
    if (r == 0 && ret_part) {
        *ret_part = part;
        *ret_epoch = epoch;
        *ret_required = info.last_offset + 1;
    } else {
        st_partition_unref(part);
    }
    return r;
}

/* Appends the group's record (a tombstone when Dead). With wait, registers it as a pending
 * store (answered through st_group_store_done by the coordinator thread). Lock held. */
static int32_t write_group(st_coordinator_t *c, st_group_t *g, bool wait)
{
    st_buf_t key = ST_BUF_INIT, value = ST_BUF_INIT;
    st_group_meta_value_t rec;
    bool tomb = g->state == ST_GROUP_DEAD;
    int r = st_offsets_encode_group_key(&key, g->id);
    if (r == 0 && !tomb) {
        r = st_group_to_record(g, &rec);
        if (r == 0) {
            r = st_offsets_encode_group_value(&value, &rec);
            free(rec.members);
        }
    }
    st_partition_t *part = NULL;
    int32_t epoch = -1;
    int64_t required = 0;
    if (r == 0) {
        st_coord_record_t one = { key.data, key.len, tomb ? NULL : value.data, value.len };
        r = st_coord_append(c, g->partition, &one, 1, wait ? &part : NULL, &epoch, &required);
    }
    st_buf_free(&key);
    st_buf_free(&value);
    if (r < 0) {
        ST_WARN("Group %s: writing its metadata (generation %" PRId32 ") to %s-%" PRId32 " "
                "failed: %s", g->id, g->generation, ST_OFFSETS_TOPIC, g->partition, strerror(-r));
        return append_error(r);
    }
    if (!wait)
        return ST_ERR_NONE;
    if (c->n_stores == c->cap_stores) {
        size_t cap = c->cap_stores ? c->cap_stores * 2 : 8;
        pending_store_t *p = realloc(c->stores, cap * sizeof(*p));
        if (!p) {
            st_partition_unref(part);
            return ST_ERR_UNKNOWN_SERVER_ERROR;
        }
        c->stores = p;
        c->cap_stores = cap;
    }
    pending_store_t *ps = &c->stores[c->n_stores];
    ps->group_id = strdup(g->id);
    if (!ps->group_id) {
        st_partition_unref(part);
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    ps->partition = g->partition;
    ps->load_gen = c->parts[g->partition].load_gen;
    ps->generation = g->generation;
    ps->part = part;
    ps->epoch = epoch;
    ps->required = required;
    ps->deadline = st_coord_now() + c->b->cfg.offsets_commit_timeout_ms;
    c->n_stores++;
    c->kick = true;
    pthread_cond_signal(&c->cond);
    return ST_ERR_NONE;
}

void st_coord_store_group(st_coordinator_t *c, st_group_t *g)
{
    write_group(c, g, false);
}

/* Settles the pending group writes that are replicated, failed or timed out (lock held).
 * Returns true while some are still pending. */
static bool check_stores(st_coordinator_t *c, int64_t now, int64_t wall, bool final)
{
    for (size_t i = 0; i < c->n_stores;) {
        pending_store_t *ps = &c->stores[i];
        int code = st_partition_acks_status(ps->part, ps->epoch, ps->required);
        if (code == -1 && !final && now < ps->deadline) {
            i++;
            continue;
        }
        if (code == -1)
            code = ST_ERR_REQUEST_TIMED_OUT;
        offsets_part_t *op = &c->parts[ps->partition];
        st_group_t *g = op->status == PART_LOADED && op->load_gen == ps->load_gen
                            ? find_group(op, ps->group_id) : NULL;
        if (g)
            st_group_store_done(g, ps->generation, code == ST_ERR_NONE ? ST_ERR_NONE
                                                                       : store_error(code),
                                now, wall);
        st_partition_unref(ps->part);
        free(ps->group_id);
        c->stores[i] = c->stores[--c->n_stores];
    }
    return c->n_stores > 0;
}

void st_coord_tombstone_offsets(st_coordinator_t *c, const st_group_t *g, const char *const *topics,
                                const int32_t *partitions, size_t n)
{
    if (n == 0)
        return;
    st_buf_t *keys = calloc(n, sizeof(*keys));
    st_coord_record_t *recs = calloc(n, sizeof(*recs));
    int r = keys && recs ? 0 : -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = st_offsets_encode_commit_key(&keys[i], g->id, topics[i], partitions[i]);
        recs[i].key = keys[i].data;
        recs[i].key_len = keys[i].len;
    }
    if (r == 0)
        r = st_coord_append(c, g->partition, recs, n, NULL, NULL, NULL);
    if (r < 0)
        ST_WARN("Group %s: writing %zu offset tombstones to %s-%" PRId32 " failed: %s", g->id, n,
                ST_OFFSETS_TOPIC, g->partition, strerror(-r));
    for (size_t i = 0; keys && i < n; i++)
        st_buf_free(&keys[i]);
    free(keys);
    free(recs);
}

/* ---- loading -------------------------------------------------------------------------------- */

typedef struct load_entry {
    st_group_t *g;                    /* holds the offsets */
    st_group_meta_value_t meta;
    bool has_meta;
} load_entry_t;

typedef struct load_ctx {
    st_coordinator_t *c;
    int32_t p;
    load_entry_t *e;
    size_t n, cap;
    size_t records, bad;
} load_ctx_t;

static load_entry_t *load_entry(load_ctx_t *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->e[i].g->id, id) == 0)
            return &l->e[i];
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        load_entry_t *p = realloc(l->e, cap * sizeof(*p));
        if (!p)
            return NULL;
        l->e = p;
        l->cap = cap;
    }
    load_entry_t *e = &l->e[l->n];
    memset(e, 0, sizeof(*e));
    e->g = st_group_new(id, &l->c->gcfg, &l->c->ops, l->c, st_coord_wall());
    if (!e->g)
        return NULL;
    e->g->partition = l->p;
    l->n++;
    return e;
}

static void load_record(load_ctx_t *l, const st_record_t *rec, int64_t offset)
{
    char why[200];
    st_offsets_key_t k;
    if (rec->key_len < 0 ||
        st_offsets_decode_key(rec->key, (size_t)rec->key_len, &k, why, sizeof(why)) < 0) {
        if (l->bad++ < 5)
            ST_WARN("%s-%" PRId32 ": skipping the record at offset %" PRId64 " whose key does not "
                    "decode: %s", ST_OFFSETS_TOPIC, l->p, offset,
                    rec->key_len < 0 ? "no key" : why);
        return;
    }
    load_entry_t *e = load_entry(l, k.group);
    if (!e) {
        st_offsets_key_free(&k);
        return;
    }
    l->records++;
    if (k.version <= ST_OFFSETS_KEY_COMMIT_V1) {
        st_offset_value_t v;
        if (rec->value_len < 0) {
            st_group_offset_remove(e->g, k.topic, k.partition);
        } else if (st_offsets_decode_commit_value(rec->value, (size_t)rec->value_len, &v, why,
                                                  sizeof(why)) == 0) {
            st_group_offset_put(e->g, k.topic, k.partition, v.offset, v.leader_epoch, v.metadata,
                                v.commit_timestamp);
            st_offset_value_free(&v);
        } else if (l->bad++ < 5) {
            ST_WARN("%s-%" PRId32 ": skipping the offset commit at offset %" PRId64 ": %s",
                    ST_OFFSETS_TOPIC, l->p, offset, why);
        }
    } else {
        if (e->has_meta)
            st_group_meta_value_free(&e->meta);
        e->has_meta = false;
        if (rec->value_len >= 0) {
            if (st_offsets_decode_group_value(rec->value, (size_t)rec->value_len, &e->meta, why,
                                              sizeof(why)) == 0)
                e->has_meta = true;
            else if (l->bad++ < 5)
                ST_WARN("%s-%" PRId32 ": skipping the group metadata at offset %" PRId64 ": %s",
                        ST_OFFSETS_TOPIC, l->p, offset, why);
        }
    }
    st_offsets_key_free(&k);
}

/* Reads the partition from its log start to its log end (no lock held). 0 or -errno. */
static int load_log(load_ctx_t *l, st_partition_t *part)
{
    st_partition_offsets_t offs;
    int r = st_partition_offsets(part, &offs);
    if (r < 0)
        return r;
    int64_t pos = offs.log_start, end = offs.log_end;
    uint8_t *buf = NULL;
    while (pos < end) {
        st_log_slice_t slice;
        r = st_partition_read(part, pos, LOAD_READ_BYTES, true, true, &slice, &offs);
        if (r < 0)
            break;
        if (slice.len == 0) {
            st_log_slice_release(&slice);
            break;
        }
        uint8_t *nb = realloc(buf, slice.len);
        if (!nb) {
            st_log_slice_release(&slice);
            r = -ENOMEM;
            break;
        }
        buf = nb;
        ssize_t got = pread(slice.fd, buf, slice.len, slice.pos);
        size_t len = slice.len;
        st_log_slice_release(&slice);
        if (got != (ssize_t)len) {
            r = got < 0 ? -errno : -EIO;
            break;
        }
        st_batch_reader_t rd;
        st_batch_reader_init(&rd, buf, len);
        st_batch_header_t hdr;
        int64_t before = pos;
        while ((r = st_batch_reader_next_batch(&rd, &hdr)) == 1) {
            pos = st_batch_last_offset(&hdr) + 1;
            if (hdr.attributes & ST_BATCH_ATTR_CONTROL)
                continue;
            st_record_t rec;
            while ((r = st_batch_reader_next_record(&rd, &rec)) == 1)
                load_record(l, &rec, rec.offset);
            if (r < 0)
                break;
        }
        st_batch_reader_destroy(&rd);
        if (r < 0)
            break;
        r = 0;
        if (pos == before)
            break;                        /* no whole batch: nothing more to read */
    }
    free(buf);
    return r;
}

static void unload_part(st_coordinator_t *c, int32_t p, const char *why)
{
    offsets_part_t *op = &c->parts[p];
    if (op->n)
        ST_INFO("Unloading %zu groups of %s-%" PRId32 " (%s)", op->n, ST_OFFSETS_TOPIC, p, why);
    int64_t wall = st_coord_wall();
    for (size_t i = 0; i < op->n; i++) {
        st_group_shutdown(op->groups[i], ST_ERR_NOT_COORDINATOR, wall);
        st_group_free(op->groups[i]);
    }
    op->n = 0;
    op->status = PART_NOT_OWNED;
    op->load_gen++;
    check_part(c, p);
}

/* Loads partition p (this broker leads it at `epoch`). Called on the coordinator thread with the
 * lock NOT held; status is LOADING with load generation gen. */
static void load_part(st_coordinator_t *c, int32_t p, st_partition_t *part, uint64_t gen)
{
    int64_t t0 = st_coord_now();
    load_ctx_t l = { .c = c, .p = p };
    int r = load_log(&l, part);
    int64_t now = st_coord_now();
    pthread_mutex_lock(&c->lock);
    offsets_part_t *op = &c->parts[p];
    bool current = op->status == PART_LOADING && op->load_gen == gen && !atomic_load(&c->stop);
    size_t n_groups = 0;
    for (size_t i = 0; i < l.n; i++) {
        load_entry_t *e = &l.e[i];
        bool keep = current && r == 0;
        if (keep && e->has_meta && st_group_load_record(e->g, &e->meta, now) < 0) {
            ST_WARN("Group %s: its metadata record in %s-%" PRId32 " is inconsistent; loading "
                    "its offsets only", e->g->id, ST_OFFSETS_TOPIC, p);
            st_group_t *fresh = st_group_new(e->g->id, &c->gcfg, &c->ops, c, st_coord_wall());
            for (size_t k = 0; fresh && k < e->g->n_offsets; k++) {
                const st_group_offset_t *o = &e->g->offsets[k];
                st_group_offset_put(fresh, o->topic, o->partition, o->offset, o->leader_epoch,
                                    o->metadata, o->commit_timestamp);
            }
            st_group_free(e->g);
            e->g = fresh;
            if (fresh)
                fresh->partition = p;
        }
        if (keep && e->g && (e->has_meta || e->g->n_offsets > 0) && add_group(op, e->g) == 0) {
            n_groups++;
        } else {
            st_group_free(e->g);
        }
        if (e->has_meta)
            st_group_meta_value_free(&e->meta);
    }
    free(l.e);
    if (current && r == 0) {
        op->status = PART_LOADED;
        op->load_gen++;
        ST_INFO("Finished loading offsets and group metadata from %s-%" PRId32 " in %" PRId64
                " milliseconds: %zu records, %zu groups", ST_OFFSETS_TOPIC, p, now - t0,
                l.records, n_groups);
    } else if (current) {
        ST_ERROR("Loading %s-%" PRId32 " failed: %s; retrying", ST_OFFSETS_TOPIC, p, strerror(-r));
        op->status = PART_NOT_OWNED;
        op->load_gen++;
    }
    check_part(c, p);
    pthread_mutex_unlock(&c->lock);
}

/* One pass over the offsets partitions: load those this broker now leads, unload the others.
 * Coordinator thread, lock NOT held. */
static void poll_ownership(st_coordinator_t *c)
{
    for (int32_t p = 0; p < c->n_parts && !atomic_load(&c->stop); p++) {
        st_partition_t *part = st_registry_get(c->b->reg, ST_OFFSETS_TOPIC, p);
        bool leading = part && st_partition_role(part) == ST_ROLE_LEADER;
        int32_t epoch = part ? st_partition_leader_epoch(part) : -1;
        pthread_mutex_lock(&c->lock);
        offsets_part_t *op = &c->parts[p];
        bool load = false;
        uint64_t gen = 0;
        if (leading) {
            bool same_term = op->status != PART_NOT_OWNED &&
                             st_partition_acks_status(part, op->epoch, 0) !=
                                 ST_ERR_NOT_LEADER_OR_FOLLOWER;
            if (!same_term) {
                if (op->status != PART_NOT_OWNED)
                    unload_part(c, p, "leadership lost and regained");
                op->status = PART_LOADING;
                op->epoch = epoch;
                gen = ++op->load_gen;
                load = true;
                ST_INFO("Loading group metadata and offsets from %s-%" PRId32 " (leader epoch %"
                        PRId32 ")", ST_OFFSETS_TOPIC, p, epoch);
            }
        } else if (op->status != PART_NOT_OWNED) {
            unload_part(c, p, "this broker no longer leads it");
        }
        pthread_mutex_unlock(&c->lock);
        if (load)
            load_part(c, p, part, gen);
        st_partition_unref(part);
    }
}

/* ---- retention and the thread ------------------------------------------------------------------ */

typedef struct expired_list {
    const char **topics;
    int32_t *parts;
    size_t n, cap;
} expired_list_t;

static void collect_expired(void *arg, const char *topic, int32_t partition)
{
    expired_list_t *x = arg;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        const char **t = realloc(x->topics, cap * sizeof(*t));
        int32_t *p = t ? realloc(x->parts, cap * sizeof(*p)) : NULL;
        if (t)
            x->topics = t;
        if (!t || !p)
            return;
        x->parts = p;
        x->cap = cap;
    }
    x->topics[x->n] = strdup(topic);
    if (x->topics[x->n])
        x->parts[x->n++] = partition;
}

/* Kafka's cleanupGroupMetadata: expired offsets of Empty groups get tombstones; an Empty group
 * left without offsets is removed (Dead, a group tombstone). Lock held. */
static void run_retention(st_coordinator_t *c, int64_t wall)
{
    int64_t retention = (int64_t)c->b->cfg.offsets_retention_minutes * 60000;
    size_t total = 0, removed = 0;
    for (int32_t p = 0; p < c->n_parts; p++) {
        offsets_part_t *op = &c->parts[p];
        for (size_t i = 0; i < op->n;) {
            st_group_t *g = op->groups[i];
            expired_list_t x = { 0 };
            st_group_expire_offsets(g, wall, retention, collect_expired, &x);
            st_coord_tombstone_offsets(c, g, x.topics, x.parts, x.n);
            total += x.n;
            for (size_t k = 0; k < x.n; k++)
                free((void *)x.topics[k]);
            free(x.topics);
            free(x.parts);
            if (g->state == ST_GROUP_EMPTY && g->n_offsets == 0 && g->n_pending == 0) {
                st_group_shutdown(g, ST_ERR_COORDINATOR_NOT_AVAILABLE, wall);
                if (g->generation > 0 || g->protocol_type)
                    st_coord_store_group(c, g);        /* tombstone */
                op->groups[i] = op->groups[--op->n];
                st_group_free(g);
                removed++;
            } else {
                i++;
            }
        }
    }
    if (total || removed)
        ST_INFO("Removed %zu expired offsets and %zu empty groups", total, removed);
}

static void *coordinator_main(void *arg)
{
    st_coordinator_t *c = arg;
    int64_t next_poll = 0;
    pthread_mutex_lock(&c->lock);
    while (!atomic_load(&c->stop)) {
        int64_t now = st_coord_now();
        if (now >= next_poll || c->poll_now) {
            c->poll_now = false;
            pthread_mutex_unlock(&c->lock);
            poll_ownership(c);
            pthread_mutex_lock(&c->lock);
            now = st_coord_now();
            if (now >= next_poll)
                next_poll = now + POLL_MS;
        }
        c->kick = false;
        int64_t wall = st_coord_wall();
        int64_t next = next_poll;
        /* Pending group writes: polled every 2 ms (the high watermark usually moves within a
         * follower fetch round trip). */
        if (check_stores(c, now, wall, false) && now + 2 < next)
            next = now + 2;
        for (int32_t p = 0; p < c->n_parts; p++)
            for (size_t i = 0; i < c->parts[p].n; i++) {
                int64_t d = st_group_tick(c->parts[p].groups[i], now, wall);
                if (d < next)
                    next = d;
            }
        if (now >= c->next_retention) {
            run_retention(c, wall);
            c->next_retention = now + c->b->cfg.offsets_retention_check_interval_ms;
        }
        if (c->kick || atomic_load(&c->stop))
            continue;
        int64_t wait = next - st_coord_now();
        if (wait <= 0)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cond, &c->lock, &ts);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int st_coordinator_start(st_broker_t *b, st_coordinator_t **ret)
{
    st_coordinator_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->b = b;
    c->n_parts = b->cfg.offsets_topic_num_partitions;
    c->parts = calloc((size_t)c->n_parts, sizeof(*c->parts));
    if (!c->parts) {
        free(c);
        return -ENOMEM;
    }
    c->gcfg.initial_rebalance_delay_ms = b->cfg.group_initial_rebalance_delay_ms;
    c->gcfg.min_session_timeout_ms = b->cfg.group_min_session_timeout_ms;
    c->gcfg.max_session_timeout_ms = b->cfg.group_max_session_timeout_ms;
    c->gcfg.max_size = b->cfg.group_max_size;
    c->gcfg.new_member_join_timeout_ms = 5 * 60 * 1000;
    c->ops.join_done = join_done;
    c->ops.sync_done = sync_done;
    c->ops.heartbeat_done = heartbeat_done;
    c->ops.store = store_op;
    c->next_retention = st_coord_now() + b->cfg.offsets_retention_check_interval_ms;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    int r = pthread_create(&c->thread, NULL, coordinator_main, c);
    if (r != 0) {
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c->parts);
        free(c);
        return -r;
    }
    c->started = true;
    *ret = c;
    return 0;
}

void st_coordinator_stop(st_coordinator_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    bool started = c->started;
    atomic_store(&c->stop, true);
    c->started = false;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (started)
        pthread_join(c->thread, NULL);
    pthread_mutex_lock(&c->lock);
    for (int32_t p = 0; p < c->n_parts; p++)
        unload_part(c, p, "the broker is stopping");
    check_stores(c, st_coord_now(), st_coord_wall(), true);
    pthread_mutex_unlock(&c->lock);
}

void st_coordinator_free(st_coordinator_t *c)
{
    if (!c)
        return;
    st_coordinator_stop(c);
    for (int32_t p = 0; p < c->n_parts; p++)
        free(c->parts[p].groups);
    free(c->stores);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c->parts);
    free(c);
}
