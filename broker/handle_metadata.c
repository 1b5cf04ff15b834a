/* Metadata (3): the brokers (with the advertised endpoint of the listener the request came in
 * on; brokers without that listener are left out, as in Kafka), cluster id, controller, and the
 * requested topics (all_topics: every topic) with leader, leader epoch, replicas, ISR and
 * offline replicas per partition.
 *
 * Single-broker mode: topics come from this broker's registry; unknown topics are auto-created
 * when both auto.create.topics.enable and the request's allow_auto_topic_creation say so.
 * Cluster mode (zookeeper.connect set): everything comes from one snapshot of the metadata cache
 * (the controller's UpdateMetadata), never from the partitions this broker hosts. A partition
 * without a leader, or whose leader is not a live broker, is LEADER_NOT_AVAILABLE (leader -1);
 * one whose leader lacks this listener is LISTENER_NOT_FOUND. Unknown topics are
 * UNKNOWN_TOPIC_OR_PARTITION, or go to cluster_auto_create_topic (which creates nothing yet). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "admin_worker.h"
#include "request.h"
#include "topic_config.h"

#define MAX_REPLICAS 16
/* Topics one Metadata request may auto-create: each is created inline on the loop thread, so a
 * request naming 10,000 unknown topics must not turn into 10,000 topic creations. Beyond it the
 * topic is reported unknown (the client retries, as it does for LEADER_NOT_AVAILABLE). */
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

/* Registry visitor: runs under the registry's read lock. */
static void add_topic(void *arg, const char *name, int32_t n_partitions,
                      st_partition_t *const *parts)
{
    md_ctx_t *ctx = arg;
    Strand__TopicMetadata *t = new_topic(ctx, name, ST_ERR_NONE);
    if (!t)
        return;
    st_arena_t *arena = ctx->req->arena;
    Strand__PartitionMetadata *pm = st_arena_calloc(arena, (size_t)n_partitions, sizeof(*pm));
    Strand__PartitionMetadata **pptrs = st_arena_calloc(arena, (size_t)n_partitions, sizeof(*pptrs));
    if (!pm || !pptrs) {
        ctx->oom = true;
        return;
    }
    for (int32_t i = 0; i < n_partitions; i++) {
        int32_t replicas[MAX_REPLICAS], isr[MAX_REPLICAS];
        size_t n_replicas = MAX_REPLICAS, n_isr = MAX_REPLICAS;
        strand__partition_metadata__init(&pm[i]);
        pm[i].partition = i;
        pm[i].leader = st_partition_leader(parts[i], replicas, &n_replicas, isr, &n_isr);
        pm[i].leader_epoch = st_partition_leader_epoch(parts[i]);
        pm[i].replicas = copy_ids(arena, replicas, n_replicas);
        pm[i].n_replicas = n_replicas;
        pm[i].isr = copy_ids(arena, isr, n_isr);
        pm[i].n_isr = n_isr;
        if (!pm[i].replicas || !pm[i].isr) {
            ctx->oom = true;
            return;
        }
        pm[i].error_code = pm[i].leader < 0 ? ST_ERR_LEADER_NOT_AVAILABLE : ST_ERR_NONE;
        pptrs[i] = &pm[i];
    }
    t->partitions = pptrs;
    t->n_partitions = (size_t)n_partitions;
}

/* ---- cluster mode: from the metadata cache ------------------------------------------------- */

/* Auto-creation of a missing topic in cluster mode: it will write the assignment to ZooKeeper
 * (topic admin through ZooKeeper); until then nothing is created. Returns the error code for the
 * topic: LEADER_NOT_AVAILABLE, as Kafka answers while a just-created topic has no leaders yet,
 * so that clients keep retrying. */
static int32_t cluster_auto_create_topic(st_request_t *req, const char *name)
{
    st_admin_worker_auto_create(req->broker, name);
    return st_reply_error(req, ST_ERR_LEADER_NOT_AVAILABLE, NULL,
                          "topic '%s' does not exist yet: auto-creation queued (ZooKeeper)", name);
}

static void cluster_add_topic(md_ctx_t *ctx, const st_md_snapshot_t *snap, const st_md_topic_t *mt,
                              const char *listener, int32_t min_isr)
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
        pm[i].leader = p->leader;
        pm[i].leader_epoch = p->leader_epoch;
        pm[i].replicas = copy_ids(arena, p->replicas, p->n_replicas);
        pm[i].n_replicas = p->n_replicas;
        pm[i].isr = copy_ids(arena, p->isr, p->n_isr);
        pm[i].n_isr = p->n_isr;
        pm[i].offline_replicas = copy_ids(arena, p->offline, p->n_offline);
        pm[i].n_offline_replicas = p->n_offline;
        if (!pm[i].replicas || !pm[i].isr || !pm[i].offline_replicas) {
            ctx->oom = true;
            return;
        }
        const st_broker_endpoint_t *lb = p->leader >= 0 ? st_md_snapshot_broker(snap, p->leader)
                                                        : NULL;
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
    t->min_insync_replicas = min_isr;
}

static void cluster_topics(md_ctx_t *ctx, const st_md_snapshot_t *snap,
                           const Strand__MetadataRequest *msg)
{
    st_request_t *req = ctx->req;
    const char *listener = st_conn_listener(req->conn)->cfg.name;
    int32_t min_isr = req->broker->cfg.min_insync_replicas;
    if (msg->all_topics) {
        for (size_t i = 0; i < snap->n_topics && !ctx->oom; i++)
            cluster_add_topic(ctx, snap, &snap->topics[i], listener, min_isr);
        return;
    }
    for (size_t i = 0; i < msg->n_topics && !ctx->oom; i++) {
        const char *name = msg->topics[i];
        char reason[256];
        if (!st_topic_name_valid(name, reason, sizeof(reason))) {
            new_topic(ctx, name, st_reply_error(req, ST_ERR_INVALID_TOPIC_EXCEPTION, NULL,
                                                "'%s': %s", name, reason));
            continue;
        }
        const st_md_topic_t *mt = st_md_snapshot_topic(snap, name);
        if (mt)
            cluster_add_topic(ctx, snap, mt, listener, min_isr);
        else if (msg->allow_auto_topic_creation && req->broker->cfg.auto_create_topics_enable)
            new_topic(ctx, name, cluster_auto_create_topic(req, name));
        else
            new_topic(ctx, name, st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                                "topic '%s' does not exist", name));
    }
}

/* ---- single-broker mode: from the registry ------------------------------------------------- */

static void single_topics(md_ctx_t *ctx, const Strand__MetadataRequest *msg)
{
    st_request_t *req = ctx->req;
    st_broker_t *b = req->broker;
    if (msg->all_topics) {
        st_registry_visit(b->reg, NULL, add_topic, ctx);
    } else {
        int auto_created = 0;
        for (size_t i = 0; i < msg->n_topics && !ctx->oom; i++) {
            const char *name = msg->topics[i];
            char reason[256];
            if (!st_topic_name_valid(name, reason, sizeof(reason))) {
                new_topic(ctx, name, st_reply_error(req, ST_ERR_INVALID_TOPIC_EXCEPTION, NULL,
                                                     "'%s': %s", name, reason));
                continue;
            }
            if (st_registry_visit(b->reg, name, add_topic, ctx) == 0)
                continue;
            if (msg->allow_auto_topic_creation && b->cfg.auto_create_topics_enable &&
                auto_created >= MAX_AUTO_CREATE_PER_REQUEST) {
                new_topic(ctx, name, st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                                     "topic '%s' does not exist and this request "
                                                     "already auto-created %d topics (the limit)",
                                                     name, MAX_AUTO_CREATE_PER_REQUEST));
                continue;
            }
            if (msg->allow_auto_topic_creation && b->cfg.auto_create_topics_enable) {
                auto_created++;
                char *emsg = NULL;
                int32_t code = st_admin_auto_create(req, name, &emsg);
                if ((code == ST_ERR_NONE || code == ST_ERR_TOPIC_ALREADY_EXISTS) &&
                    st_registry_visit(b->reg, name, add_topic, ctx) == 0)
                    continue;
                new_topic(ctx, name, code == ST_ERR_NONE ? ST_ERR_LEADER_NOT_AVAILABLE : code);
                continue;
            }
            new_topic(ctx, name, st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                                 "topic '%s' does not exist", name));
        }
    }
    /* The min.insync.replicas hint, after the visits (the registry lock is not re-entrant). */
    for (size_t i = 0; i < ctx->n_topics; i++)
        if (ctx->topics[i]->error_code == ST_ERR_NONE)
            ctx->topics[i]->min_insync_replicas =
                st_registry_topic_min_insync_replicas(b->reg, ctx->topics[i]->name);
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
    if (st_broker_cluster_mode(b))
        cluster_topics(&ctx, snap, msg);
    else
        single_topics(&ctx, msg);
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
