/* Metadata (3): the brokers (this one, with the advertised endpoint of the listener the request
 * came in on), cluster id, controller, and the requested topics (all_topics: every topic) with
 * leader, leader epoch, replicas and ISR per partition. Unknown topics are auto-created when
 * both auto.create.topics.enable and the request's allow_auto_topic_creation say so. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

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

int st_handle_metadata(st_request_t *req)
{
    Strand__MetadataRequest *msg = strand__metadata_request__unpack(&req->arena->pb, req->body_len,
                                                                   req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "MetadataRequest body of %zu bytes does not decode "
                              "(invalid protobuf)", req->body_len);
    st_broker_t *b = req->broker;
    md_ctx_t ctx = { .req = req };
    ctx.cap_brokers = st_metadata_cache_broker_count(b->meta) + 1;
    ctx.brokers = st_arena_calloc(req->arena, ctx.cap_brokers, sizeof(*ctx.brokers));
    if (!ctx.brokers)
        return st_reply_fatal(req->conn, req, "out of memory");
    st_metadata_cache_visit_brokers(b->meta, st_conn_listener(req->conn)->cfg.name, add_broker, &ctx);

    if (msg->all_topics) {
        st_registry_visit(b->reg, NULL, add_topic, &ctx);
    } else {
        int auto_created = 0;
        for (size_t i = 0; i < msg->n_topics && !ctx.oom; i++) {
            const char *name = msg->topics[i];
            char reason[256];
            if (!st_topic_name_valid(name, reason, sizeof(reason))) {
                new_topic(&ctx, name, st_reply_error(req, ST_ERR_INVALID_TOPIC_EXCEPTION, NULL,
                                                     "'%s': %s", name, reason));
                continue;
            }
            if (st_registry_visit(b->reg, name, add_topic, &ctx) == 0)
                continue;
            if (msg->allow_auto_topic_creation && b->cfg.auto_create_topics_enable &&
                auto_created >= MAX_AUTO_CREATE_PER_REQUEST) {
                new_topic(&ctx, name, st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
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
                    st_registry_visit(b->reg, name, add_topic, &ctx) == 0)
                    continue;
                new_topic(&ctx, name, code == ST_ERR_NONE ? ST_ERR_LEADER_NOT_AVAILABLE : code);
                continue;
            }
            new_topic(&ctx, name, st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                                 "topic '%s' does not exist", name));
        }
    }
    if (ctx.oom)
        return st_reply_fatal(req->conn, req, "out of memory building the metadata response");

    char cluster_id[64];
    st_metadata_cache_cluster_id(b->meta, cluster_id, sizeof(cluster_id));
    Strand__MetadataResponse resp = STRAND__METADATA_RESPONSE__INIT;
    resp.brokers = ctx.brokers;
    resp.n_brokers = ctx.n_brokers;
    resp.cluster_id = cluster_id;
    resp.controller_id = st_metadata_cache_controller(b->meta);
    resp.topics = ctx.topics;
    resp.n_topics = ctx.n_topics;
    return st_request_respond(req, &resp.base, NULL, 0);
}
