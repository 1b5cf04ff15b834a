/* Builds the protobuf requests of one controller batch (reference §2.9): per broker one
 * LeaderAndIsr (partition states from the controller's cache, live_leaders with the leaders'
 * endpoints, topic configs), one UpdateMetadata to every live broker (all live brokers with all
 * endpoints, the changed partition states with offline replicas; full state to new brokers),
 * one StopReplica; queued in that order. Node thread; everything is freed after packing.
 *
 * Linear in the batch: one hashed pass drops duplicate items (the same partition queued twice
 * in an event), one counting pass buckets the items by destination broker, and each request
 * groups its partitions by topic through a hash of topic names -- no scan of the batch per
 * item, which made 10,000-partition failovers quadratic. */
#include "st_ctl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

#include "st_logger.h"
#include "strand.pb-c.h"

/* A trivial arena: every allocation is freed at the end of the build. */
typedef struct arena {
    void **v;
    size_t n, cap;
    bool oom;
} arena_t;

static void *a_alloc(arena_t *a, size_t size)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        void **v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            a->oom = true;
            return NULL;
        }
        a->v = v;
        a->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        a->oom = true;
        return NULL;
    }
    a->v[a->n++] = p;
    return p;
}

static void a_free(arena_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

static int32_t *a_ints(arena_t *a, const st_int_list_t *l)
{
    int32_t *v = a_alloc(a, l->n * sizeof(*v));
    if (v && l->n)
        memcpy(v, l->v, l->n * sizeof(*v));
    return v;
}

static Strand__UpdateMetadataBroker *broker_msg(arena_t *a, const ctl_broker_t *b)
{
    Strand__UpdateMetadataBroker *m = a_alloc(a, sizeof(*m));
    if (!m)
        return NULL;
    strand__update_metadata_broker__init(m);
    m->id = b->reg.id;
    m->rack = b->reg.rack ? b->reg.rack : "";
    m->n_endpoints = b->reg.n_endpoints;
    m->endpoints = a_alloc(a, b->reg.n_endpoints * sizeof(*m->endpoints));
    for (size_t i = 0; m->endpoints && i < b->reg.n_endpoints; i++) {
        Strand__UpdateMetadataEndpoint *e = a_alloc(a, sizeof(*e));
        if (!e) {
            m->n_endpoints = i;
            break;
        }
        strand__update_metadata_endpoint__init(e);
        e->port = b->reg.endpoints[i].port;
        e->host = b->reg.endpoints[i].host;
        e->listener = b->reg.endpoints[i].listener;
        e->security_protocol = b->reg.endpoints[i].security_protocol;
        m->endpoints[i] = e;
    }
    if (!m->endpoints)
        m->n_endpoints = 0;
    return m;
}

static Strand__UpdateMetadataPartitionState *um_state(arena_t *a, st_node_t *n,
                                                      const batch_item_t *it)
{
    Strand__UpdateMetadataPartitionState *s = a_alloc(a, sizeof(*s));
    if (!s)
        return NULL;
    strand__update_metadata_partition_state__init(s);
    s->topic = it->topic;
    s->partition = it->p;
    s->controller_epoch = n->epoch;
    ctl_topic_t *t = it->deleted ? NULL : ctl_topic(n, it->topic);
    if (!t || it->p >= t->n_parts) {
        s->leader = ST_LEADER_DURING_DELETE;
        return s;
    }
    ctl_part_t *part = &t->parts[it->p];
    s->leader = t->deleting ? ST_LEADER_DURING_DELETE
                : part->has_lisr ? part->lisr.leader : ST_LEADER_NONE;
    if (part->has_lisr) {
        s->controller_epoch = part->lisr.controller_epoch;
        s->leader_epoch = part->lisr.leader_epoch;
        s->n_isr = part->lisr.isr.n;
        s->isr = a_ints(a, &part->lisr.isr);
        s->zk_version = part->lisr.zk_version;
    }
    s->n_replicas = part->replicas.n;
    s->replicas = a_ints(a, &part->replicas);
    s->offline_replicas = a_alloc(a, part->replicas.n * sizeof(int32_t));
    for (size_t i = 0; s->offline_replicas && i < part->replicas.n; i++)
        if (!ctl_replica_online(n, part, i))
            s->offline_replicas[s->n_offline_replicas++] = part->replicas.v[i];
    return s;
}

static void fill_live_brokers(arena_t *a, st_node_t *n, Strand__UpdateMetadataRequest *req)
{
    req->live_brokers = a_alloc(a, n->n_brokers * sizeof(*req->live_brokers));
    for (size_t i = 0; req->live_brokers && i < n->n_brokers; i++) {
        Strand__UpdateMetadataBroker *bm = broker_msg(a, &n->brokers[i]);
        if (bm)
            req->live_brokers[req->n_live_brokers++] = bm;
    }
}

/* ---- the plan: duplicates and per-broker buckets, computed once per batch ------------------- */

typedef struct plan {
    const batch_item_t *v;
    size_t n;
    bool *dup;                  /* item repeats an earlier one */
    int32_t *ids;               /* live broker ids, sorted */
    size_t n_ids;
    size_t *start;              /* bucket b: order[start[b] .. start[b + 1]) */
    size_t *order;              /* item indices (broker-addressed, not dup) by broker, in order */
} plan_t;

static uint64_t item_hash(const batch_item_t *it)
{
    uint64_t h = ctl_hash_str(it->topic ? it->topic : "");
    h = ctl_hash_mix(h, (uint64_t)(uint32_t)it->api);
    h = ctl_hash_mix(h, (uint64_t)(uint32_t)it->broker);
    h = ctl_hash_mix(h, (uint64_t)(uint32_t)it->p);
    return ctl_hash_mix(h, it->deleted);
}

static bool item_eq(const void *ctx, size_t pos, const void *key)
{
    const batch_item_t *a = &((const batch_item_t *)ctx)[pos], *b = key;
    return a->api == b->api && a->broker == b->broker && a->p == b->p &&
           a->deleted == b->deleted && strcmp(a->topic, b->topic) == 0;
}

static int cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static ssize_t bucket_of(const plan_t *pl, int32_t broker)
{
    const int32_t *hit = bsearch(&broker, pl->ids, pl->n_ids, sizeof(*pl->ids), cmp_id);
    return hit ? hit - pl->ids : -1;
}

static void plan_free(plan_t *pl)
{
    free(pl->dup);
    free(pl->ids);
    free(pl->start);
    free(pl->order);
}

static int plan_build(st_node_t *n, const ctl_batch_t *b, plan_t *pl)
{
    memset(pl, 0, sizeof(*pl));
    pl->v = b->v;
    pl->n = b->n;
    pl->dup = calloc(b->n + 1, sizeof(*pl->dup));
    pl->ids = malloc((n->n_brokers + 1) * sizeof(*pl->ids));
    pl->start = calloc(n->n_brokers + 2, sizeof(*pl->start));
    pl->order = malloc((b->n + 1) * sizeof(*pl->order));
    ctl_index_t seen = { 0 };
    if (!pl->dup || !pl->ids || !pl->start || !pl->order) {
        plan_free(pl);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n->n_brokers; i++)
        pl->ids[i] = n->brokers[i].reg.id;
    pl->n_ids = n->n_brokers;
    qsort(pl->ids, pl->n_ids, sizeof(*pl->ids), cmp_id);
    for (size_t i = 0; i < b->n; i++) {
        uint64_t h = item_hash(&b->v[i]);
        if (ctl_index_find(&seen, h, item_eq, b->v, &b->v[i]) != SIZE_MAX)
            pl->dup[i] = true;
        else if (ctl_index_add(&seen, h, i) < 0) {
            ctl_index_clear(&seen);
            plan_free(pl);
            return -ENOMEM;
        }
    }
    ctl_index_clear(&seen);
    /* counting sort of the broker-addressed items by destination (stable: batch order kept) */
    for (size_t i = 0; i < b->n; i++) {
        ssize_t k = b->v[i].broker >= 0 && !pl->dup[i] ? bucket_of(pl, b->v[i].broker) : -1;
        if (k >= 0)
            pl->start[k + 1]++;
    }
    for (size_t k = 0; k < pl->n_ids; k++)
        pl->start[k + 1] += pl->start[k];
    size_t *fill = calloc(pl->n_ids + 1, sizeof(*fill));
    if (!fill) {
        plan_free(pl);
        return -ENOMEM;
    }
    for (size_t i = 0; i < b->n; i++) {
        ssize_t k = b->v[i].broker >= 0 && !pl->dup[i] ? bucket_of(pl, b->v[i].broker) : -1;
        if (k >= 0)
            pl->order[pl->start[k] + fill[k]++] = i;
    }
    free(fill);
    return 0;
}

/* Topic groups of one request: topic name -> group, with the partition count of each. */
typedef struct groups {
    ctl_index_t ix;
    const char **names;         /* group -> topic */
    size_t *count;
    size_t n;
} groups_t;

static bool group_eq(const void *ctx, size_t pos, const void *key)
{
    return strcmp(((const groups_t *)ctx)->names[pos], key) == 0;
}

/* The group of `topic`, added when new; SIZE_MAX on OOM. names/count have room for every item. */
static size_t group_of(groups_t *g, const char *topic)
{
    uint64_t h = ctl_hash_str(topic);
    size_t i = ctl_index_find(&g->ix, h, group_eq, g, topic);
    if (i != SIZE_MAX)
        return i;
    if (ctl_index_add(&g->ix, h, g->n) < 0)
        return SIZE_MAX;
    g->names[g->n] = topic;
    g->count[g->n] = 0;
    return g->n++;
}

static int groups_init(groups_t *g, size_t cap)
{
    memset(g, 0, sizeof(*g));
    g->names = calloc(cap + 1, sizeof(*g->names));
    g->count = calloc(cap + 1, sizeof(*g->count));
    return g->names && g->count ? 0 : -ENOMEM;
}

static void groups_free(groups_t *g)
{
    ctl_index_clear(&g->ix);
    free(g->names);
    free(g->count);
}

/* ---- LeaderAndIsr ---------------------------------------------------------------------------- */

static void send_leader_and_isr(st_node_t *n, const plan_t *pl, ctl_channel_t *ch,
                                ctl_enqueue_fn *enq, size_t bucket)
{
    int32_t broker = pl->ids[bucket];
    ctl_broker_t *dst = ctl_broker(n, broker);
    size_t from = pl->start[bucket], to = pl->start[bucket + 1];
    if (!dst || from == to)
        return;
    arena_t a = { 0 };
    groups_t g;
    Strand__LeaderAndIsrRequest req = STRAND__LEADER_AND_ISR_REQUEST__INIT;
    req.controller_id = n->broker_id;
    req.controller_epoch = n->epoch;
    req.broker_epoch = dst->epoch;
    size_t cap = to - from;
    Strand__LeaderAndIsrTopicState **ts_of = a_alloc(&a, cap * sizeof(*ts_of));   /* group -> */
    req.topics = a_alloc(&a, cap * sizeof(*req.topics));
    req.live_leaders = a_alloc(&a, (n->n_brokers + 1) * sizeof(*req.live_leaders));
    int32_t *leaders = a_alloc(&a, (n->n_brokers + 1) * sizeof(int32_t));
    size_t n_leaders = 0;
    if (groups_init(&g, cap) < 0 || a.oom)
        goto out;
    /* pass 1: the topics and how many partitions each */
    for (size_t o = from; o < to; o++) {
        const batch_item_t *it = &pl->v[pl->order[o]];
        if (it->api != STRAND__API_KEY__LEADER_AND_ISR)
            continue;
        ctl_topic_t *t = ctl_topic(n, it->topic);
        if (!t || it->p >= t->n_parts || !t->parts[it->p].has_lisr)
            continue;
        size_t gi = group_of(&g, t->name);
        if (gi == SIZE_MAX)
            goto out;
        g.count[gi]++;
    }
    /* pass 2: the states */
    for (size_t o = from; o < to && !a.oom; o++) {
        const batch_item_t *it = &pl->v[pl->order[o]];
        if (it->api != STRAND__API_KEY__LEADER_AND_ISR)
            continue;
        ctl_topic_t *t = ctl_topic(n, it->topic);
        if (!t || it->p >= t->n_parts || !t->parts[it->p].has_lisr)
            continue;
        ctl_part_t *part = &t->parts[it->p];
        size_t gi = group_of(&g, t->name);
        Strand__LeaderAndIsrTopicState *ts = ts_of[gi];
        if (!ts) {
            ts = ts_of[gi] = a_alloc(&a, sizeof(*ts));
            if (!ts)
                break;
            strand__leader_and_isr_topic_state__init(ts);
            ts->topic = t->name;
            ts->partitions = a_alloc(&a, g.count[gi] * sizeof(*ts->partitions));
            ts->configs = a_alloc(&a, t->cfg.n * sizeof(*ts->configs));
            for (size_t c = 0; ts->configs && c < t->cfg.n; c++) {
                Strand__TopicConfigEntry *e = a_alloc(&a, sizeof(*e));
                if (!e)
                    break;
                strand__topic_config_entry__init(e);
                e->name = t->cfg.keys[c];
                e->value = t->cfg.values[c];
                ts->configs[ts->n_configs++] = e;
            }
            req.topics[req.n_topics++] = ts;
        }
        Strand__LeaderAndIsrPartitionState *ps = a_alloc(&a, sizeof(*ps));
        if (!ps || !ts->partitions)
            break;
        strand__leader_and_isr_partition_state__init(ps);
        ps->partition = it->p;
        ps->controller_epoch = part->lisr.controller_epoch;
        ps->leader = part->lisr.leader;
        ps->leader_epoch = part->lisr.leader_epoch;
        ps->n_isr = part->lisr.isr.n;
        ps->isr = a_ints(&a, &part->lisr.isr);
        ps->zk_version = part->lisr.zk_version;
        ps->n_replicas = part->replicas.n;
        ps->replicas = a_ints(&a, &part->replicas);
        ps->is_new = it->flag;
        ts->partitions[ts->n_partitions++] = ps;
        bool known = false;
        for (size_t k = 0; k < n_leaders; k++)
            known |= leaders[k] == part->lisr.leader;
        ctl_broker_t *lb = ctl_broker(n, part->lisr.leader);
        if (!known && lb && n_leaders < n->n_brokers) {
            leaders[n_leaders++] = part->lisr.leader;
            Strand__UpdateMetadataBroker *bm = broker_msg(&a, lb);
            if (bm)
                req.live_leaders[req.n_live_leaders++] = bm;
        }
    }
    if (!a.oom && req.n_topics)
        enq(ch, broker, STRAND__API_KEY__LEADER_AND_ISR, &req.base);
out:
    if (a.oom)
        ST_ERROR("Controller: out of memory building LeaderAndIsr for broker %d", broker);
    groups_free(&g);
    a_free(&a);
}

/* ---- UpdateMetadata --------------------------------------------------------------------------- */

static void send_update_metadata(st_node_t *n, const ctl_batch_t *b, const plan_t *pl,
                                 ctl_channel_t *ch, ctl_enqueue_fn *enq)
{
    arena_t a = { 0 };
    Strand__UpdateMetadataRequest req = STRAND__UPDATE_METADATA_REQUEST__INIT;
    req.controller_id = n->broker_id;
    req.controller_epoch = n->epoch;
    fill_live_brokers(&a, n, &req);
    req.partition_states = a_alloc(&a, b->n * sizeof(*req.partition_states));
    for (size_t i = 0; req.partition_states && i < b->n; i++) {
        const batch_item_t *it = &b->v[i];
        if (it->api != STRAND__API_KEY__UPDATE_METADATA || pl->dup[i])
            continue;
        Strand__UpdateMetadataPartitionState *s = um_state(&a, n, it);
        if (s)
            req.partition_states[req.n_partition_states++] = s;
    }
    if (!a.oom && (req.n_partition_states || b->um_empty)) {
        for (size_t i = 0; i < n->n_brokers; i++) {
            req.broker_epoch = n->brokers[i].epoch;
            enq(ch, n->brokers[i].reg.id, STRAND__API_KEY__UPDATE_METADATA, &req.base);
        }
    }
    a_free(&a);
    /* full state to new brokers */
    for (size_t f = 0; f < b->n_um_full; f++) {
        ctl_broker_t *dst = ctl_broker(n, b->um_full[f]);
        if (!dst)
            continue;
        arena_t fa = { 0 };
        Strand__UpdateMetadataRequest full = STRAND__UPDATE_METADATA_REQUEST__INIT;
        full.controller_id = n->broker_id;
        full.controller_epoch = n->epoch;
        full.broker_epoch = dst->epoch;
        fill_live_brokers(&fa, n, &full);
        size_t total = ctl_partition_count(n);
        full.partition_states = a_alloc(&fa, total * sizeof(*full.partition_states));
        for (size_t t = 0; full.partition_states && t < n->n_topics; t++)
            for (int32_t p = 0; p < n->topics[t].n_parts; p++) {
                batch_item_t it = { .topic = n->topics[t].name, .p = p };
                Strand__UpdateMetadataPartitionState *s = um_state(&fa, n, &it);
                if (s)
                    full.partition_states[full.n_partition_states++] = s;
            }
        if (!fa.oom)
            enq(ch, dst->reg.id, STRAND__API_KEY__UPDATE_METADATA, &full.base);
        a_free(&fa);
    }
}

/* ---- StopReplica ------------------------------------------------------------------------------ */

static void send_stop_replica(st_node_t *n, const plan_t *pl, ctl_channel_t *ch,
                              ctl_enqueue_fn *enq, size_t bucket)
{
    int32_t broker = pl->ids[bucket];
    ctl_broker_t *dst = ctl_broker(n, broker);
    size_t from = pl->start[bucket], to = pl->start[bucket + 1];
    if (!dst || from == to)
        return;   /* dropped for dead brokers, as Kafka does */
    arena_t a = { 0 };
    groups_t g;
    Strand__StopReplicaRequest req = STRAND__STOP_REPLICA_REQUEST__INIT;
    req.controller_id = n->broker_id;
    req.controller_epoch = n->epoch;
    req.broker_epoch = dst->epoch;
    size_t cap = to - from;
    Strand__StopReplicaTopicState **ts_of = a_alloc(&a, cap * sizeof(*ts_of));
    req.topics = a_alloc(&a, cap * sizeof(*req.topics));
    if (groups_init(&g, cap) < 0 || a.oom)
        goto out;
    for (size_t o = from; o < to; o++) {
        const batch_item_t *it = &pl->v[pl->order[o]];
        if (it->api != STRAND__API_KEY__STOP_REPLICA)
            continue;
        size_t gi = group_of(&g, it->topic);
        if (gi == SIZE_MAX)
            goto out;
        g.count[gi]++;
    }
    for (size_t o = from; o < to && !a.oom; o++) {
        const batch_item_t *it = &pl->v[pl->order[o]];
        if (it->api != STRAND__API_KEY__STOP_REPLICA)
            continue;
        size_t gi = group_of(&g, it->topic);
        Strand__StopReplicaTopicState *ts = ts_of[gi];
        if (!ts) {
            ts = ts_of[gi] = a_alloc(&a, sizeof(*ts));
            if (!ts)
                break;
            strand__stop_replica_topic_state__init(ts);
            ts->topic = it->topic;
            ts->partitions = a_alloc(&a, g.count[gi] * sizeof(*ts->partitions));
            req.topics[req.n_topics++] = ts;
        }
        Strand__StopReplicaPartitionState *ps = a_alloc(&a, sizeof(*ps));
        if (!ps || !ts->partitions)
            break;
        strand__stop_replica_partition_state__init(ps);
        ps->partition = it->p;
        ps->leader_epoch = it->epoch;
        ps->delete_partition = it->flag;
        ts->partitions[ts->n_partitions++] = ps;
    }
    if (!a.oom && req.n_topics)
        enq(ch, broker, STRAND__API_KEY__STOP_REPLICA, &req.base);
out:
    if (a.oom)
        ST_ERROR("Controller: out of memory building StopReplica for broker %d", broker);
    groups_free(&g);
    a_free(&a);
}

void ctl_build_and_send(st_node_t *n, ctl_batch_t *b, ctl_channel_t *ch, ctl_enqueue_fn *enq)
{
    plan_t pl;
    if (plan_build(n, b, &pl) < 0) {
        ST_ERROR("Controller: out of memory planning the requests of a batch of %zu items", b->n);
        return;
    }
    for (size_t k = 0; k < pl.n_ids; k++)
        send_leader_and_isr(n, &pl, ch, enq, k);
    send_update_metadata(n, b, &pl, ch, enq);
    for (size_t k = 0; k < pl.n_ids; k++)
        send_stop_replica(n, &pl, ch, enq, k);
    plan_free(&pl);
}
