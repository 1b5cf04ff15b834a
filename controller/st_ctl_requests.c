/* Builds the protobuf requests of one controller batch (reference §2.9): per broker one
 * LeaderAndIsr (partition states from the controller's cache, live_leaders with the leaders'
 * endpoints, topic configs), one UpdateMetadata to every live broker (all live brokers with all
 * endpoints, the changed partition states with offline replicas; full state to new brokers),
 * one StopReplica; queued in that order. Node thread; everything is freed after packing. */
#include "st_ctl.h"

#include <stdlib.h>
#include <string.h>

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
        if (!ctl_live(n, part->replicas.v[i]))
            s->offline_replicas[s->n_offline_replicas++] = part->replicas.v[i];
    return s;
}

static bool seen_before(const batch_item_t *v, size_t upto, const batch_item_t *it)
{
    for (size_t j = 0; j < upto; j++)
        if (v[j].api == it->api && v[j].broker == it->broker && v[j].p == it->p &&
            v[j].deleted == it->deleted && strcmp(v[j].topic, it->topic) == 0)
            return true;
    return false;
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

static void send_leader_and_isr(st_node_t *n, ctl_batch_t *b, ctl_channel_t *ch,
                                ctl_enqueue_fn *enq, int32_t broker)
{
    arena_t a = { 0 };
    ctl_broker_t *dst = ctl_broker(n, broker);
    if (!dst)
        return;
    Strand__LeaderAndIsrRequest req = STRAND__LEADER_AND_ISR_REQUEST__INIT;
    req.controller_id = n->broker_id;
    req.controller_epoch = n->epoch;
    req.broker_epoch = dst->epoch;
    req.topics = a_alloc(&a, b->n * sizeof(*req.topics));
    req.live_leaders = a_alloc(&a, (n->n_brokers + 1) * sizeof(*req.live_leaders));
    int32_t *leaders = a_alloc(&a, (n->n_brokers + 1) * sizeof(int32_t));
    size_t n_leaders = 0;
    for (size_t i = 0; !a.oom && i < b->n; i++) {
        batch_item_t *it = &b->v[i];
        if (it->api != STRAND__API_KEY__LEADER_AND_ISR || it->broker != broker ||
            seen_before(b->v, i, it))
            continue;
        ctl_topic_t *t = ctl_topic(n, it->topic);
        if (!t || it->p >= t->n_parts || !t->parts[it->p].has_lisr)
            continue;
        ctl_part_t *part = &t->parts[it->p];
        Strand__LeaderAndIsrTopicState *ts = NULL;
        for (size_t k = 0; k < req.n_topics; k++)
            if (strcmp(req.topics[k]->topic, t->name) == 0)
                ts = req.topics[k];
        if (!ts) {
            ts = a_alloc(&a, sizeof(*ts));
            if (!ts)
                break;
            strand__leader_and_isr_topic_state__init(ts);
            ts->topic = t->name;
            ts->partitions = a_alloc(&a, (size_t)t->n_parts * sizeof(*ts->partitions));
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
        if (!known && lb && leaders && n_leaders < n->n_brokers) {
            leaders[n_leaders++] = part->lisr.leader;
            Strand__UpdateMetadataBroker *bm = broker_msg(&a, lb);
            if (bm && req.live_leaders)
                req.live_leaders[req.n_live_leaders++] = bm;
        }
    }
    if (!a.oom && req.n_topics)
        enq(ch, broker, STRAND__API_KEY__LEADER_AND_ISR, &req.base);
    a_free(&a);
}

static void send_update_metadata(st_node_t *n, ctl_batch_t *b, ctl_channel_t *ch,
                                 ctl_enqueue_fn *enq)
{
    arena_t a = { 0 };
    Strand__UpdateMetadataRequest req = STRAND__UPDATE_METADATA_REQUEST__INIT;
    req.controller_id = n->broker_id;
    req.controller_epoch = n->epoch;
    fill_live_brokers(&a, n, &req);
    req.partition_states = a_alloc(&a, b->n * sizeof(*req.partition_states));
    for (size_t i = 0; req.partition_states && i < b->n; i++) {
        batch_item_t *it = &b->v[i];
        if (it->api != STRAND__API_KEY__UPDATE_METADATA || seen_before(b->v, i, it))
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
        size_t total = 0;
        for (size_t t = 0; t < n->n_topics; t++)
            total += (size_t)n->topics[t].n_parts;
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

static void send_stop_replica(st_node_t *n, ctl_batch_t *b, ctl_channel_t *ch,
                              ctl_enqueue_fn *enq, int32_t broker)
{
    ctl_broker_t *dst = ctl_broker(n, broker);
    if (!dst)
        return;   /* dropped for dead brokers, as Kafka does */
    arena_t a = { 0 };
    Strand__StopReplicaRequest req = STRAND__STOP_REPLICA_REQUEST__INIT;
    req.controller_id = n->broker_id;
    req.controller_epoch = n->epoch;
    req.broker_epoch = dst->epoch;
    req.topics = a_alloc(&a, b->n * sizeof(*req.topics));
    for (size_t i = 0; req.topics && !a.oom && i < b->n; i++) {
        batch_item_t *it = &b->v[i];
        if (it->api != STRAND__API_KEY__STOP_REPLICA || it->broker != broker ||
            seen_before(b->v, i, it))
            continue;
        Strand__StopReplicaTopicState *ts = NULL;
        for (size_t k = 0; k < req.n_topics; k++)
            if (strcmp(req.topics[k]->topic, it->topic) == 0)
                ts = req.topics[k];
        if (!ts) {
            ts = a_alloc(&a, sizeof(*ts));
            if (!ts)
                break;
            strand__stop_replica_topic_state__init(ts);
            ts->topic = it->topic;
            ts->partitions = a_alloc(&a, b->n * sizeof(*ts->partitions));
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
    a_free(&a);
}

void ctl_build_and_send(st_node_t *n, ctl_batch_t *b, ctl_channel_t *ch, ctl_enqueue_fn *enq)
{
    for (size_t i = 0; i < n->n_brokers; i++)
        send_leader_and_isr(n, b, ch, enq, n->brokers[i].reg.id);
    send_update_metadata(n, b, ch, enq);
    for (size_t i = 0; i < n->n_brokers; i++)
        send_stop_replica(n, b, ch, enq, n->brokers[i].reg.id);
}
