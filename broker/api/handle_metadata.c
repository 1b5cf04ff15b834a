/* Metadata (3): the brokers (with the advertised endpoint of the listener the request came in
 * on; brokers without that listener are left out, as in Kafka), cluster id, controller, and the
 * requested topics (all_topics: every topic) with leader, leader epoch, replicas, ISR and
 * offline replicas per partition.
 *
 * Everything comes from one snapshot of the metadata cache (the controller's UpdateMetadata),
 * never from the partitions this broker hosts: until the controller has spoken the answer has no
 * brokers, controller -1 and no topics, and clients retry. A partition without a leader, or
 * whose leader is not a live broker, is LEADER_NOT_AVAILABLE (leader -1); one whose leader lacks
 * this listener is LISTENER_NOT_FOUND. Unknown topics are UNKNOWN_TOPIC_OR_PARTITION, or, when
 * both auto.create.topics.enable and the request's allow_auto_topic_creation say so, queued for
 * creation through ZooKeeper (admin worker) and answered LEADER_NOT_AVAILABLE, as Kafka does
 * while a just-created topic has no leaders yet: the client retries. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "admin_worker.h"
#include "request.h"
#include "topic_config.h"

/* Topics one Metadata request may auto-create: each is a few ZooKeeper writes on the admin
 * worker and then work for the controller, so a request naming 10,000 unknown topics must not
 * turn into 10,000 topic creations. Beyond it the topic is reported unknown (the client retries,
 * as it does for LEADER_NOT_AVAILABLE). */
#define MAX_AUTO_CREATE_PER_REQUEST 64

typedef struct md_ctx {
    st_request_t *req;
    Strand__BrokerMetadata **brokers;
    size_t n_brokers, cap_brokers;
    Strand__TopicMetadata **topics;
    size_t n_topics, cap_topics;
    bool oom;
} md_ctx_t;

static void add_broker(void *arg, int32_t id, const char *host, int port, const char *rack)
{
    md_ctx_t *ctx = arg;
    if (ctx->n_brokers == ctx->cap_brokers) {
        ctx->oom = true;
        return;
    }
    Strand__BrokerMetadata *b = st_arena_calloc(ctx->req->arena, 1, sizeof(*b));
    char *h = st_arena_strdup(ctx->req->arena, host);
    char *r = st_arena_strdup(ctx->req->arena, rack ? rack : "");
    if (!b || !h || !r) {
        ctx->oom = true;
        return;
    }
    strand__broker_metadata__init(b);
    b->node_id = id;
    b->host = h;
    b->port = port;
    b->rack = r;
    ctx->brokers[ctx->n_brokers++] = b;
}

static int grow_topics(md_ctx_t *ctx, size_t need)
{
    if (ctx->n_topics + need <= ctx->cap_topics)
        return 0;
    size_t ncap = ctx->cap_topics ? ctx->cap_topics : 16;
    while (ncap < ctx->n_topics + need)
        ncap *= 2;
    Strand__TopicMetadata **n = st_arena_alloc(ctx->req->arena, ncap * sizeof(*n));
    if (!n)
        return -ENOMEM;
    if (ctx->n_topics)
        memcpy(n, ctx->topics, ctx->n_topics * sizeof(*n));
    ctx->topics = n;
    ctx->cap_topics = ncap;
    return 0;
}

static Strand__TopicMetadata *new_topic(md_ctx_t *ctx, const char *name, int32_t error_code)
{
    Strand__TopicMetadata *t = st_arena_calloc(ctx->req->arena, 1, sizeof(*t));
    char *n = st_arena_strdup(ctx->req->arena, name);
    if (!t || !n || grow_topics(ctx, 1) < 0) {
        ctx->oom = true;
        return NULL;
    }
    strand__topic_metadata__init(t);
    t->name = n;
    t->error_code = error_code;
    t->is_internal = strncmp(name, "__", 2) == 0;
    ctx->topics[ctx->n_topics++] = t;
    return t;
}

static int32_t *copy_ids(st_arena_t *arena, const int32_t *ids, size_t n)
{
    int32_t *out = st_arena_alloc(arena, (n ? n : 1) * sizeof(int32_t));
    if (out && n)
        memcpy(out, ids, n * sizeof(int32_t));
    return out;
}

/* Auto-creation of a missing topic: queued for the admin worker, which writes the assignment
 * to ZooKeeper. Returns the error code for the topic: LEADER_NOT_AVAILABLE, as Kafka answers
 * while a just-created topic has no leaders yet, so that clients keep retrying. */
static int32_t auto_create_topic(st_request_t *req, const char *name)
{
    st_admin_worker_auto_create(req->broker, name);
    return st_reply_error(req, ST_ERR_LEADER_NOT_AVAILABLE, NULL,
                          "topic '%s' does not exist yet: auto-creation queued (ZooKeeper)", name);
}

static void add_topic(md_ctx_t *ctx, const st_md_snapshot_t *snap, const st_md_topic_t *mt,
                              const char *listener)
{
    Strand__TopicMetadata *t = new_topic(ctx, mt->name, ST_ERR_NONE);
    if (!t)
        return;
    st_arena_t *arena = ctx->req->arena;
    Strand__PartitionMetadata *pm = st_arena_calloc(arena, mt->n_parts, sizeof(*pm));
    Strand__PartitionMetadata **pptrs = st_arena_calloc(arena, mt->n_parts, sizeof(*pptrs));
    if (!pm || !pptrs) {
        ctx->oom = true;
        return;
    }
    for (size_t i = 0; i < mt->n_parts; i++) {
        const st_md_partition_t *p = &mt->parts[i];
        strand__partition_metadata__init(&pm[i]);
        pm[i].partition = p->partition;
        pm[i].leader = p->lisr.leader;
        pm[i].leader_epoch = p->lisr.leader_epoch;
        pm[i].replicas = copy_ids(arena, p->replicas.v, p->replicas.n);
        pm[i].n_replicas = p->replicas.n;
        pm[i].isr = copy_ids(arena, p->lisr.isr.v, p->lisr.isr.n);
        pm[i].n_isr = p->lisr.isr.n;
        pm[i].offline_replicas = copy_ids(arena, p->offline.v, p->offline.n);
        pm[i].n_offline_replicas = p->offline.n;
        if (!pm[i].replicas || !pm[i].isr || !pm[i].offline_replicas) {
            ctx->oom = true;
            return;
        }
        const st_broker_endpoint_t *lb =
            p->lisr.leader >= 0 ? st_md_snapshot_broker(snap, p->lisr.leader) : NULL;
        if (!lb) {
            pm[i].leader = -1;
            pm[i].error_code = ST_ERR_LEADER_NOT_AVAILABLE;
        } else if (!st_md_broker_endpoint(lb, listener)) {
            pm[i].error_code = ST_ERR_LISTENER_NOT_FOUND;
        } else {
            pm[i].error_code = ST_ERR_NONE;
        }
        pptrs[i] = &pm[i];
    }
    t->partitions = pptrs;
    t->n_partitions = mt->n_parts;
    t->min_insync_replicas = st_registry_topic_min_insync_replicas(ctx->req->broker->reg, mt->name);
}

static void add_topics(md_ctx_t *ctx, const st_md_snapshot_t *snap,
                       const Strand__MetadataRequest *msg)
{
    st_request_t *req = ctx->req;
    const char *listener = st_conn_listener(req->conn)->cfg.name;
    if (msg->all_topics) {
        for (size_t i = 0; i < snap->n_topics && !ctx->oom; i++)
            add_topic(ctx, snap, &snap->topics[i], listener);
        return;
    }
    bool may_create = msg->allow_auto_topic_creation && req->broker->cfg.auto_create_topics_enable;
    int auto_created = 0;
    for (size_t i = 0; i < msg->n_topics && !ctx->oom; i++) {
        const char *name = msg->topics[i];
        char reason[256];
        if (!st_topic_name_valid(name, reason, sizeof(reason))) {
            new_topic(ctx, name, st_reply_error(req, ST_ERR_INVALID_TOPIC_EXCEPTION, NULL,
                                                "'%s': %s", name, reason));
            continue;
        }
        const st_md_topic_t *mt = st_md_snapshot_topic(snap, name);
        if (mt) {
            add_topic(ctx, snap, mt, listener);
        } else if (may_create && auto_created >= MAX_AUTO_CREATE_PER_REQUEST) {
            new_topic(ctx, name, st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                                "topic '%s' does not exist and this request "
                                                "already auto-created %d topics (the limit)",
                                                name, MAX_AUTO_CREATE_PER_REQUEST));
        } else if (may_create) {
            auto_created++;
            new_topic(ctx, name, auto_create_topic(req, name));
        } else {
            new_topic(ctx, name, st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                                "topic '%s' does not exist", name));
        }
    }
}

int st_handle_metadata(st_request_t *req)
{
    Strand__MetadataRequest *msg = strand__metadata_request__unpack(&req->arena->pb, req->body_len,
                                                                   req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "MetadataRequest body of %zu bytes does not decode "
                              "(invalid protobuf)", req->body_len);
    st_broker_t *b = req->broker;
    st_md_snapshot_t *snap = st_metadata_cache_acquire(b->meta);
    md_ctx_t ctx = { .req = req };
    ctx.cap_brokers = snap->n_brokers + 1;
    ctx.brokers = st_arena_calloc(req->arena, ctx.cap_brokers, sizeof(*ctx.brokers));
    if (!ctx.brokers) {
        st_md_snapshot_release(snap);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    const char *listener = st_conn_listener(req->conn)->cfg.name;
    for (size_t i = 0; i < snap->n_brokers; i++) {
        const st_listener_cfg_t *ep = st_md_broker_endpoint(&snap->brokers[i], listener);
        if (ep)
            add_broker(&ctx, snap->brokers[i].id, ep->host, ep->port, snap->brokers[i].rack);
    }
    add_topics(&ctx, snap, msg);
    if (ctx.oom) {
        st_md_snapshot_release(snap);
        return st_reply_fatal(req->conn, req, "out of memory building the metadata response");
    }
    Strand__MetadataResponse resp = STRAND__METADATA_RESPONSE__INIT;
    resp.brokers = ctx.brokers;
    resp.n_brokers = ctx.n_brokers;
    resp.cluster_id = snap->cluster_id;
    resp.controller_id = snap->controller_id;
    resp.topics = ctx.topics;
    resp.n_topics = ctx.n_topics;
    int r = st_request_respond(req, &resp.base, NULL, 0);
    st_md_snapshot_release(snap);
    return r;
}
