/* The controller-to-broker channel (reference §2.9): requests collected during one event in a
 * batch (one LeaderAndIsr, one UpdateMetadata and one StopReplica per broker, sent in that
 * order), each carrying the controller id and epoch and the broker epoch the controller knows;
 * then one FIFO queue per broker, one request in flight at a time, retried every 100 ms after a
 * transport failure until it succeeds or the broker leaves the cluster.
 *
 * Transport: the client core (common/client) with no bootstrap, so plain TCP and TLS work the
 * same. Threads: the queues and batch belong to the node thread; the client's I/O thread runs
 * the role tick (applies broker address upserts under chan->lock) and request callbacks, which
 * only post a reply to the node mailbox. Replies carry the channel generation so that a reply
 * for a closed channel is ignored.
 *
 * Invariants (chan_check, asserted after every change to a queue):
 *   Q1. inflight => head != NULL: the request in flight is the head of its queue, and it
 *       leaves the queue only when its answer arrives (so requests to one broker stay in order);
 *   Q2. inflight => retry_at == 0: a queue is either waiting for an answer or for its retry;
 *   Q3. one queue per broker id, and after ctl_channel_sync_brokers only for live brokers
 *       (a broker that left loses its queue: Kafka drops requests to dead brokers);
 *   Q4. nothing is queued by a deposed controller (the batch refuses items while
 *       resign_pending, and ctl_batch_send sends nothing). */
#include "st_ctl.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_client.h"
#include "st_error.h"
#include "st_logger.h"
#include "strand.h"

typedef struct chan_msg {
    struct chan_msg *next;
    int32_t api;
    uint8_t *buf;               /* packed body */
    size_t len;
} chan_msg_t;

typedef struct chan_broker {
    int32_t id;
    char host[256];
    int port;
    chan_msg_t *head, *tail;
    bool inflight;
    int64_t retry_at;           /* 0: send when ready */
    uint64_t seq;               /* bumped per send: stale replies are ignored */
} chan_broker_t;

typedef struct chan_upsert {
    int32_t id;
    char host[256];
    int port;
} chan_upsert_t;

struct ctl_channel {
    st_node_t *n;
    st_client_t cl;
    bool started;
    uint64_t gen;
    chan_broker_t *b;
    size_t nb;
    pthread_mutex_t lock;       /* ups (node thread -> I/O thread) */
    chan_upsert_t *ups;
    size_t n_ups;
};

static uint64_t chan_gen_counter;

/* ---- the client role (I/O thread) ------------------------------------------------------------ */

static void role_tick(st_client_t *cl, int64_t now_ms)
{
    (void)now_ms;
    ctl_channel_t *ch = cl->role_arg;
    pthread_mutex_lock(&ch->lock);
    for (size_t i = 0; i < ch->n_ups; i++)
        st_client_broker_upsert(cl, ch->ups[i].id, ch->ups[i].host, ch->ups[i].port);
    ch->n_ups = 0;
    pthread_mutex_unlock(&ch->lock);
}

static const st_client_role_t chan_role = { .tick = role_tick, .no_bootstrap = true };

typedef struct chan_reply {
    st_node_t *n;
    uint64_t gen;
    uint64_t seq;
    int32_t broker;
    int32_t api;
    int err;                    /* transport error (ST_ERR_*) or 0 */
    int32_t resp_err;           /* the response's error_code */
    char errstr[200];
    /* LeaderAndIsr answers naming KAFKA_STORAGE_ERROR: every partition's code (st_ctl_logdir.c
     * learns the replicas on failed log dirs from them); NULL otherwise */
    ctl_tp_code_t *tps;
    size_t n_tps;
} chan_reply_t;

static void reply_free(chan_reply_t *rep)
{
    for (size_t i = 0; i < rep->n_tps; i++)
        free(rep->tps[i].topic);
    free(rep->tps);
    free(rep);
}

static void reply_run(void *arg)
{
    chan_reply_t *rep = arg;
    if (!atomic_load(&rep->n->stop)) {
        ctl_channel_on_reply(rep->n, rep);
        if (rep->n_tps) {
            ctl_on_leader_and_isr_response(rep->n, rep->broker, rep->tps, rep->n_tps);
            ctl_end_event(rep->n);   /* sends what the elections queued */
        }
    }
    reply_free(rep);
}

/* I/O thread: copies the per-partition codes of a LeaderAndIsr answer that names a failed log
 * dir (KAFKA_STORAGE_ERROR); the common answer (none) copies nothing. */
static void copy_storage_errors(chan_reply_t *rep, const Strand__LeaderAndIsrResponse *resp)
{
    bool any = false;
    for (size_t i = 0; i < resp->n_partition_errors && !any; i++)
        any = resp->partition_errors[i]->error_code == ST_ERR_KAFKA_STORAGE_ERROR;
    if (!any || resp->error_code != ST_ERR_NONE)
        return;
    rep->tps = calloc(resp->n_partition_errors, sizeof(*rep->tps));
    for (size_t i = 0; rep->tps && i < resp->n_partition_errors; i++) {
        const Strand__PartitionError *pe = resp->partition_errors[i];
        char *topic = strdup(pe->topic ? pe->topic : "");
        if (!topic)
            break;
        rep->tps[rep->n_tps++] = (ctl_tp_code_t){ topic, pe->partition, pe->error_code };
    }
}

/* I/O thread: post only. */
static void req_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    (void)cl;
    chan_reply_t *rep = req->arg;
    rep->err = err;
    snprintf(rep->errstr, sizeof(rep->errstr), "%s", errstr ? errstr : "");
    if (!err && resp) {
        ProtobufCMessage *m = NULL;
        const ProtobufCMessageDescriptor *d =
            rep->api == STRAND__API_KEY__LEADER_AND_ISR ? &strand__leader_and_isr_response__descriptor
            : rep->api == STRAND__API_KEY__UPDATE_METADATA ? &strand__update_metadata_response__descriptor
                                                           : &strand__stop_replica_response__descriptor;
        m = protobuf_c_message_unpack(d, NULL, resp->view.body_len, resp->view.body);
        if (!m) {
            rep->err = ST_ERR_BAD_RESPONSE;
        } else {
            /* error_code is field 1 of all three responses */
            rep->resp_err = *(const int32_t *)((const char *)m + d->fields[0].offset);
            if (rep->api == STRAND__API_KEY__LEADER_AND_ISR)
                copy_storage_errors(rep, (const Strand__LeaderAndIsrResponse *)m);
            protobuf_c_message_free_unpacked(m, NULL);
        }
    }
    if (st_mailbox_post(rep->n->mb, reply_run, rep) < 0)
        reply_free(rep);
}

/* ---- queues (node thread) --------------------------------------------------------------------- */

static chan_broker_t *chan_broker(ctl_channel_t *ch, int32_t id)
{
    for (size_t i = 0; i < ch->nb; i++)
        if (ch->b[i].id == id)
            return &ch->b[i];
    return NULL;
}

static bool chan_check(const ctl_channel_t *ch, bool synced)
{
    for (size_t i = 0; i < ch->nb; i++) {
        const chan_broker_t *b = &ch->b[i];
        if (b->inflight && (!b->head || b->retry_at))
            return false;                                       /* Q1, Q2 */
        for (size_t j = i + 1; j < ch->nb; j++)
            if (ch->b[j].id == b->id)
                return false;                                   /* Q3 */
        if (synced && !ctl_live(ch->n, b->id))
            return false;                                       /* Q3 */
    }
    return true;
}

static void msg_free_list(chan_msg_t *m)
{
    while (m) {
        chan_msg_t *next = m->next;
        free(m->buf);
        free(m);
        m = next;
    }
}

static const ProtobufCMessageDescriptor *req_desc(int32_t api)
{
    switch (api) {
    case STRAND__API_KEY__LEADER_AND_ISR: return &strand__leader_and_isr_request__descriptor;
    case STRAND__API_KEY__UPDATE_METADATA: return &strand__update_metadata_request__descriptor;
    default: return &strand__stop_replica_request__descriptor;
    }
}

static void send_head(ctl_channel_t *ch, chan_broker_t *b)
{
    chan_msg_t *m = b->head;
    if (!m || b->inflight)
        return;
    ProtobufCMessage *body = protobuf_c_message_unpack(req_desc(m->api), NULL, m->len, m->buf);
    chan_reply_t *rep = calloc(1, sizeof(*rep));
    if (!body || !rep) {
        if (body)
            protobuf_c_message_free_unpacked(body, NULL);
        free(rep);
        b->retry_at = ctl_now_ms() + ch->n->cfg.channel_retry_backoff_ms;
        return;
    }
    rep->n = ch->n;
    rep->gen = ch->gen;
    rep->seq = ++b->seq;
    rep->broker = b->id;
    rep->api = m->api;
    st_req_t *req = st_req_new(&ch->cl, m->api, body, 0, b->id, 30000, req_cb, rep);
    protobuf_c_message_free_unpacked(body, NULL);
    if (!req) {
        free(rep);
        b->retry_at = ctl_now_ms() + ch->n->cfg.channel_retry_backoff_ms;
        return;
    }
    b->inflight = true;
    b->retry_at = 0;
    st_client_submit(&ch->cl, req);
    assert(chan_check(ch, false));
}

void ctl_channel_on_reply(st_node_t *n, void *arg)
{
    chan_reply_t *rep = arg;
    ctl_channel_t *ch = n->chan;
    if (!ch || rep->gen != ch->gen)
        return;
    chan_broker_t *b = chan_broker(ch, rep->broker);
    if (!b || rep->seq != b->seq)
        return;
    b->inflight = false;
    if (rep->err) {
        ST_DEBUG("Controller channel: request %d to broker %d failed (%s): retrying",
                 rep->api, rep->broker, rep->errstr);
        b->retry_at = ctl_now_ms() + n->cfg.channel_retry_backoff_ms;
        return;
    }
    if (rep->resp_err)
        ST_WARN("Controller channel: broker %d answered request %d with %s", rep->broker,
                rep->api, st_error_name(rep->resp_err));
    chan_msg_t *m = b->head;
    b->head = m->next;
    if (!b->head)
        b->tail = NULL;
    m->next = NULL;
    msg_free_list(m);
    send_head(ch, b);
    assert(chan_check(ch, false));
}

int64_t ctl_channel_tick(st_node_t *n, int64_t now_ms)
{
    ctl_channel_t *ch = n->chan;
    int64_t next = INT64_MAX;
    for (size_t i = 0; ch && i < ch->nb; i++) {
        chan_broker_t *b = &ch->b[i];
        if (!b->head || b->inflight)
            continue;
        if (b->retry_at <= now_ms)
            send_head(ch, b);
        if (!b->inflight && b->retry_at && b->retry_at < next)
            next = b->retry_at;
    }
    return next;
}

size_t ctl_channel_pending(st_node_t *n)
{
    size_t c = 0;
    for (size_t i = 0; n->chan && i < n->chan->nb; i++)
        for (chan_msg_t *m = n->chan->b[i].head; m; m = m->next)
            c++;
    return c;
}

static void enqueue(ctl_channel_t *ch, int32_t broker, int32_t api, const ProtobufCMessage *msg)
{
    chan_broker_t *b = chan_broker(ch, broker);
    if (!b)
        return;
    chan_msg_t *m = calloc(1, sizeof(*m));
    size_t len = protobuf_c_message_get_packed_size(msg);
    if (m)
        m->buf = malloc(len ? len : 1);
    if (!m || !m->buf) {
        free(m);
        ST_ERROR("Controller channel: out of memory queueing a request to broker %d", broker);
        return;
    }
    protobuf_c_message_pack(msg, m->buf);
    m->len = len;
    m->api = api;
    if (b->tail)
        b->tail->next = m;
    else
        b->head = m;
    b->tail = m;
    send_head(ch, b);
}

/* The address of broker b's inter-broker listener. */
static const st_endpoint_t *channel_endpoint(st_node_t *n, const ctl_broker_t *b)
{
    const char *name = n->cfg.inter_broker_listener;
    if (!name && n->cfg.n_listeners)
        name = n->cfg.listeners[0].name;
    const st_endpoint_t *ep = name ? st_broker_reg_endpoint(&b->reg, name) : NULL;
    if (!ep && b->reg.n_endpoints)
        ep = &b->reg.endpoints[0];
    return ep;
}

void ctl_channel_sync_brokers(st_node_t *n)
{
    ctl_channel_t *ch = n->chan;
    if (!ch)
        return;
    /* drop queues of brokers that left */
    for (size_t i = 0; i < ch->nb;) {
        if (ctl_live(n, ch->b[i].id)) {
            i++;
            continue;
        }
        msg_free_list(ch->b[i].head);
        ch->b[i] = ch->b[--ch->nb];
    }
    chan_broker_t *grown = realloc(ch->b, (n->n_brokers + 1) * sizeof(*grown));
    if (!grown)
        return;
    ch->b = grown;
    pthread_mutex_lock(&ch->lock);
    chan_upsert_t *ups = realloc(ch->ups, (ch->n_ups + n->n_brokers + 1) * sizeof(*ups));
    if (ups)
        ch->ups = ups;
    for (size_t i = 0; i < n->n_brokers; i++) {
        const st_endpoint_t *ep = channel_endpoint(n, &n->brokers[i]);
        if (!ep)
            continue;
        chan_broker_t *b = chan_broker(ch, n->brokers[i].reg.id);
        bool moved = b && (strcmp(b->host, ep->host) != 0 || b->port != ep->port);
        if (!b) {
            b = &ch->b[ch->nb++];
            memset(b, 0, sizeof(*b));
            b->id = n->brokers[i].reg.id;
        }
        if (!b->host[0] || moved) {
            snprintf(b->host, sizeof(b->host), "%s", ep->host);
            b->port = ep->port;
            if (ups) {
                chan_upsert_t *u = &ch->ups[ch->n_ups++];
                u->id = b->id;
                snprintf(u->host, sizeof(u->host), "%s", ep->host);
                u->port = ep->port;
            }
        }
    }
    pthread_mutex_unlock(&ch->lock);
    st_client_wake(&ch->cl);
    assert(chan_check(ch, true));
}

int ctl_channel_open(st_node_t *n)
{
    ctl_channel_t *ch = calloc(1, sizeof(*ch));
    ctl_batch_t *batch = calloc(1, sizeof(*batch));
    strand_conf_t *conf = strand_conf_new();
    if (!ch || !batch || !conf) {
        free(ch); free(batch);
        if (conf)
            strand_conf_destroy(conf);
        return -ENOMEM;
    }
    char err[512];
    const char *proto = NULL;
    for (size_t i = 0; i < n->cfg.n_listeners; i++)
        if (!n->cfg.inter_broker_listener ||
            strcmp(n->cfg.listeners[i].name, n->cfg.inter_broker_listener) == 0) {
            proto = n->cfg.listeners[i].security_protocol;
            break;
        }
    char idbuf[64];
    snprintf(idbuf, sizeof(idbuf), "controller-%d", n->broker_id);
    strand_conf_set(conf, "client.id", idbuf, err, sizeof(err));
    if (proto && strand_conf_set(conf, "security.protocol", proto, err, sizeof(err)) != 0)
        ST_WARN("Controller channel: %s", err);
    for (size_t i = 0; n->cfg.channel_conf && n->cfg.channel_conf[i]; i++)
        if (strand_conf_set_kv(conf, n->cfg.channel_conf[i], err, sizeof(err)) != 0) {
            ST_ERROR("Controller channel: %s", err);
            strand_conf_destroy(conf);
            free(ch); free(batch);
            return -EINVAL;
        }
    pthread_mutex_init(&ch->lock, NULL);
    ch->n = n;
    ch->gen = ++chan_gen_counter;
    int r = st_client_init(&ch->cl, conf, &chan_role, ch, err, sizeof(err));
    strand_conf_destroy(conf);
    if (r != 0) {
        ST_ERROR("Controller channel: %s", err);
        pthread_mutex_destroy(&ch->lock);
        free(ch); free(batch);
        return -EINVAL;
    }
    ch->started = true;
    n->chan = ch;
    n->batch = batch;
    ctl_channel_sync_brokers(n);
    return 0;
}

void ctl_channel_close(st_node_t *n)
{
    ctl_channel_t *ch = n->chan;
    if (!ch)
        return;
    n->chan = NULL;   /* replies posted from here on are ignored (no channel) */
    if (ch->started) {
        st_client_stop(&ch->cl);
        st_client_destroy(&ch->cl);
    }
    for (size_t i = 0; i < ch->nb; i++)
        msg_free_list(ch->b[i].head);
    free(ch->b);
    free(ch->ups);
    pthread_mutex_destroy(&ch->lock);
    free(ch);
    free(n->batch ? n->batch->v : NULL);
    if (n->batch)
        free(n->batch->um_full);
    free(n->batch);
    n->batch = NULL;
}

/* ---- the batch ------------------------------------------------------------------------------- */

static void batch_add(st_node_t *n, batch_item_t it)
{
    ctl_batch_t *b = n->batch;
    if (!b || n->resign_pending)
        return;   /* a deposed controller queues nothing */
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        batch_item_t *v = realloc(b->v, cap * sizeof(*v));
        if (!v)
            return;
        b->v = v;
        b->cap = cap;
    }
    it.topic = it.topic ? strdup(it.topic) : NULL;
    b->v[b->n++] = it;
}

void ctl_batch_leader_and_isr(st_node_t *n, int32_t broker, ctl_topic_t *t, int32_t p, bool is_new)
{
    batch_add(n, (batch_item_t){ .broker = broker, .api = STRAND__API_KEY__LEADER_AND_ISR,
                                 .topic = t->name, .p = p, .flag = is_new });
}

void ctl_batch_update_metadata(st_node_t *n, ctl_topic_t *t, int32_t p)
{
    batch_add(n, (batch_item_t){ .broker = -1, .api = STRAND__API_KEY__UPDATE_METADATA,
                                 .topic = t->name, .p = p });
}

void ctl_batch_update_metadata_deleted(st_node_t *n, const char *topic, int32_t p)
{
    batch_add(n, (batch_item_t){ .broker = -1, .api = STRAND__API_KEY__UPDATE_METADATA,
                                 .topic = (char *)topic, .p = p, .deleted = true });
}

void ctl_batch_update_metadata_empty(st_node_t *n)
{
    if (n->batch && !n->resign_pending)
        n->batch->um_empty = true;
}

void ctl_batch_update_metadata_full(st_node_t *n, int32_t broker)
{
    ctl_batch_t *b = n->batch;
    if (!b || n->resign_pending)
        return;
    int32_t *v = realloc(b->um_full, (b->n_um_full + 1) * sizeof(*v));
    if (!v)
        return;
    v[b->n_um_full++] = broker;
    b->um_full = v;
}

void ctl_batch_stop_replica(st_node_t *n, int32_t broker, const char *topic, int32_t p,
                            bool delete_partition, int32_t leader_epoch)
{
    batch_add(n, (batch_item_t){ .broker = broker, .api = STRAND__API_KEY__STOP_REPLICA,
                                 .topic = (char *)topic, .p = p, .flag = delete_partition,
                                 .epoch = leader_epoch });
}

void ctl_batch_discard(st_node_t *n)
{
    ctl_batch_t *b = n->batch;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i].topic);
    b->n = 0;
    b->um_empty = false;
    b->n_um_full = 0;
}


void ctl_batch_send(st_node_t *n)
{
    ctl_batch_t *b = n->batch;
    if (!b || !n->chan || n->resign_pending)
        return;
    if (b->n == 0 && !b->um_empty && b->n_um_full == 0)
        return;
    ctl_build_and_send(n, b, n->chan, enqueue);
    ctl_batch_discard(n);
}

