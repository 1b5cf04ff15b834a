/* Fetch (1) and its purgatory. A fetch positions a read on every requested partition
 * (st_log_read via st_partition_read: whole batches, one segment, never past the high
 * watermark for consumers) and answers with the encoded FetchResponse followed by the slices,
 * which conn.c sends with sendfile(2): record data never passes through user space.
 *
 * Limits: partition_max_bytes per partition and max_bytes in total, except that the first
 * partition with data returns at least one whole batch (KIP-74). partition_max_bytes <= 0
 * means 1 MiB and max_bytes <= 0 means 50 MiB (Kafka's consumer defaults), because proto3 sends
 * 0 for an unset field.
 *
 * Long poll: if fewer than min_bytes are available, no partition has an error and max_wait_ms
 * > 0, the fetch parks on its connection (st_conn_park): it registers as a watcher on each
 * partition (st_partition_watch, BEFORE re-checking, so an append between the check and the
 * registration still wakes it), and is re-checked when a producer advances one of them (the
 * owning loop is woken) or answered with what there is when its timer fires.
 *
 * The wait state lives in the connection's arena, which is not reset while a fetch is parked. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "net.h"
#include "inter_broker.h"
#include "request.h"
#include "st_logger.h"

#define DEFAULT_PARTITION_MAX_BYTES (1024 * 1024)
#define DEFAULT_MAX_BYTES           (50 * 1024 * 1024)
#define MAX_WAIT_CAP_MS             (30 * 60 * 1000)

typedef struct st_fetch_wait {
    st_delayed_t op;                  /* first: the parked operation (delayed.h) */
    st_request_t req;                 /* header fields; body/tail no longer valid once parked */
    Strand__FetchRequest *msg;
    bool follower;
    bool watching;
    size_t n;                         /* partitions, in request order */
    Strand__FetchPartition **fps;     /* the request's partitions, flattened */
    st_partition_t **parts;           /* referenced; NULL when unknown */
    int32_t *static_error;            /* errors known before reading (unknown, fenced, ...) */
    char **static_msg;
    st_log_slice_t *slices;
    st_partition_offsets_t *offs;
    int *read_result;
    Strand__EpochEndOffset **diverging;   /* followers: set when the follower's log diverges */
} st_fetch_wait_t;

/* O(1): a walk over the topics here made every evaluation quadratic in the partitions of a
 * follower's fetch (1,000 partitions: 500,000 steps per wake-up). */
static Strand__FetchPartition *request_partition(const st_fetch_wait_t *w, size_t i)
{
    return i < w->n ? w->fps[i] : NULL;
}

static void release_slices(st_fetch_wait_t *w)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->slices[i].len || w->slices[i].seg)
            st_log_slice_release(&w->slices[i]);
    memset(w->slices, 0, w->n * sizeof(*w->slices));
}

/* The partitions are the operation's keys (delayed.h). */
static st_delayed_keys_t keys_of(st_fetch_wait_t *w)
{
    return (st_delayed_keys_t){ w->parts, w->n, st_conn_loop(w->req.conn)->index, w->watching };
}

static void set_watch(st_fetch_wait_t *w, bool on)
{
    st_delayed_keys_t keys = keys_of(w);
    st_delayed_watch(&keys, on);
    w->watching = keys.watching;
}

static void finish(st_fetch_wait_t *w)
{
    st_delayed_keys_t keys = keys_of(w);
    st_delayed_release(&keys);
    w->watching = keys.watching;
}

static void fetch_abort(st_delayed_t *op)
{
    st_fetch_wait_t *w = (st_fetch_wait_t *)op;
    release_slices(w);
    finish(w);
}

/* Builds and queues the response from the positioned slices (ownership passes to the conn). */
static int respond(st_fetch_wait_t *w)
{
    st_request_t *req = &w->req;
    Strand__FetchRequest *msg = w->msg;
    Strand__FetchResponse resp = STRAND__FETCH_RESPONSE__INIT;
    Strand__FetchTopicResponse *topics = st_arena_calloc(req->arena, msg->n_topics, sizeof(*topics));
    Strand__FetchTopicResponse **tptrs = st_arena_calloc(req->arena, msg->n_topics, sizeof(*tptrs));
    Strand__FetchPartitionResponse *parts = st_arena_calloc(req->arena, w->n, sizeof(*parts));
    Strand__FetchPartitionResponse **pptrs = st_arena_calloc(req->arena, w->n, sizeof(*pptrs));
    if ((msg->n_topics && (!topics || !tptrs)) || (w->n && (!parts || !pptrs))) {
        release_slices(w);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    size_t k = 0;
    for (size_t t = 0; t < msg->n_topics; t++) {
        Strand__FetchTopic *ft = msg->topics[t];
        strand__fetch_topic_response__init(&topics[t]);
        topics[t].topic = ft->topic;
        topics[t].n_partitions = ft->n_partitions;
        topics[t].partitions = &pptrs[k];
        tptrs[t] = &topics[t];
        for (size_t p = 0; p < ft->n_partitions; p++, k++) {
            Strand__FetchPartition *fp = ft->partitions[p];
            Strand__FetchPartitionResponse *pr = &parts[k];
            strand__fetch_partition_response__init(pr);
            pptrs[k] = pr;
            pr->partition = fp->partition;
            pr->high_watermark = pr->last_stable_offset = pr->log_start_offset = -1;
            if (w->static_error[k] != ST_ERR_NONE) {
                /* Counted and logged when it was found. */
                pr->error_code = w->static_error[k];
                continue;
            }
            if (w->diverging[k]) {
                pr->diverging_epoch = w->diverging[k];   /* offs[k] filled when found */
                pr->high_watermark = w->offs[k].high_watermark;
                pr->log_start_offset = w->offs[k].log_start;
                pr->current_leader_epoch = w->offs[k].leader_epoch;
                continue;
            }
            const st_partition_offsets_t *o = &w->offs[k];
            int r = w->read_result[k];
            if (r == -ENOENT) {
                pr->error_code = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                                "%s-%" PRId32 " was deleted", ft->topic,
                                                fp->partition);
                continue;
            }
            pr->high_watermark = o->high_watermark;
            pr->last_stable_offset = o->high_watermark;
            pr->log_start_offset = o->log_start;
            pr->current_leader_epoch = o->leader_epoch;
            if (r == -EPERM) {
                pr->error_code = st_reply_error(req, ST_ERR_NOT_LEADER_OR_FOLLOWER, NULL,
                                                "%s-%" PRId32 ": this broker is not the leader",
                                                ft->topic, fp->partition);
            } else if (r == -ERANGE) {
                pr->error_code = st_reply_error(req, ST_ERR_OFFSET_OUT_OF_RANGE, NULL,
                                                "%s-%" PRId32 ": fetch offset %" PRId64 " is outside "
                                                "[%" PRId64 ", %" PRId64 "]", ft->topic,
                                                fp->partition, fp->fetch_offset, o->log_start,
                                                o->log_end);
            } else if (r < 0) {
                pr->error_code = st_reply_error(req, ST_ERR_KAFKA_STORAGE_ERROR, NULL,
                                                "reading %s-%" PRId32 " at offset %" PRId64 ": %s",
                                                ft->topic, fp->partition, fp->fetch_offset,
                                                strerror(-r));
            } else {
                pr->records_size = (uint32_t)w->slices[k].len;
            }
        }
    }
    resp.n_responses = msg->n_topics;
    resp.responses = tptrs;
    int r = st_conn_queue_response(req->conn, req->correlation_id, &resp.base, w->slices, w->n);
    memset(w->slices, 0, w->n * sizeof(*w->slices));   /* owned by the connection now */
    if (r < 0)
        return st_reply_fatal(req->conn, req, "cannot queue the fetch response: %s", strerror(-r));
    return 0;
}

/* Positions every read. Returns 1 if the fetch should be answered now (enough bytes, an error,
 * or final) -- slices stay positioned for respond() -- else 0 with the slices released. */
static int evaluate(st_fetch_wait_t *w, bool final)
{
    size_t max_bytes = w->msg->max_bytes > 0 ? (size_t)w->msg->max_bytes : DEFAULT_MAX_BYTES;
    size_t total = 0;
    bool error = false;
    for (size_t i = 0; i < w->n; i++) {
        w->read_result[i] = 0;
        memset(&w->slices[i], 0, sizeof(w->slices[i]));
        w->slices[i].fd = -1;
        if (w->static_error[i] != ST_ERR_NONE || w->diverging[i]) {
            error = true;
            continue;
        }
        Strand__FetchPartition *fp = request_partition(w, i);
        size_t pmax = fp->partition_max_bytes > 0 ? (size_t)fp->partition_max_bytes
                                                  : DEFAULT_PARTITION_MAX_BYTES;
        size_t room = total < max_bytes ? max_bytes - total : 0;
        size_t limit = pmax < room ? pmax : room;
        bool min_one = total == 0;
        int r = st_partition_read(w->parts[i], fp->fetch_offset, limit, min_one, w->follower,
                                  &w->slices[i], &w->offs[i]);
        w->read_result[i] = r;
        if (r < 0) {
            memset(&w->slices[i], 0, sizeof(w->slices[i]));
            error = true;
            continue;
        }
        total += w->slices[i].len;
    }
    int64_t min_bytes = w->msg->min_bytes;
    if (final || error || (int64_t)total >= min_bytes || (min_bytes <= 0))
        return 1;
    release_slices(w);
    return 0;
}

/* Cheap test before a full evaluation: did any watched partition move past its fetch offset? */
static bool has_news(const st_fetch_wait_t *w)
{
    if (w->follower)
        return true;
    for (size_t i = 0; i < w->n; i++) {
        if (!w->parts[i])
            continue;
        if (st_partition_deleted(w->parts[i]) ||
            st_partition_high_watermark(w->parts[i]) > request_partition(w, i)->fetch_offset)
            return true;
    }
    return false;
}

static int recheck(st_fetch_wait_t *w, bool final)
{
    if (!final && !has_news(w))
        return 0;
    if (!evaluate(w, final))
        return 0;
    finish(w);
    int r = respond(w);
    return r < 0 ? r : 1;
}

static int fetch_try_complete(st_delayed_t *op) { return recheck((st_fetch_wait_t *)op, false); }
static int fetch_on_expire(st_delayed_t *op) { return recheck((st_fetch_wait_t *)op, true); }

static const st_delayed_ops_t fetch_ops = {
    .name = "fetch",
    .try_complete = fetch_try_complete,
    .on_expire = fetch_on_expire,
    .abort = fetch_abort,
};

/* Leader side of a follower's fetch (reference section 3.1): updates the follower's state
 * (LEO, lastCaughtUp, ISR expansion, HW) or finds its log diverging (KIP-595). */
static void follower_fetch(st_request_t *req, st_fetch_wait_t *w, size_t k, const char *topic,
                           const Strand__FetchPartition *fp)
{
    int32_t div_epoch = -1;
    int64_t div_end = -1;
    int r = st_partition_follower_fetch(w->parts[k], w->msg->replica_id, fp->fetch_offset,
                                        fp->last_fetched_epoch, st_now_ms(), &div_epoch, &div_end);
    if (r == -EPERM) {
        w->static_error[k] = st_reply_error(req, ST_ERR_NOT_LEADER_OR_FOLLOWER, NULL,
                                            "%s-%" PRId32 ": this broker is not the leader", topic,
                                            fp->partition);
    } else if (r == -ENOENT) {
        w->static_error[k] = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                            "%s-%" PRId32 ": broker %" PRId32 " is not a replica",
                                            topic, fp->partition, w->msg->replica_id);
    } else if (r == 1) {
        Strand__EpochEndOffset *eo = st_arena_calloc(req->arena, 1, sizeof(*eo));
        if (!eo) {
            w->static_error[k] = ST_ERR_UNKNOWN_SERVER_ERROR;
            return;
        }
        strand__epoch_end_offset__init(eo);
        eo->partition = fp->partition;
        eo->leader_epoch = div_epoch;
        eo->end_offset = div_end;
        w->diverging[k] = eo;
        st_partition_offsets(w->parts[k], &w->offs[k]);
        ST_INFO("%s-%" PRId32 ": follower %" PRId32 " diverges (last fetched epoch %" PRId32
                " at offset %" PRId64 "): our epoch %" PRId32 " ends at %" PRId64, topic,
                fp->partition, w->msg->replica_id, fp->last_fetched_epoch, fp->fetch_offset,
                div_epoch, div_end);
    }
}

int st_handle_fetch(st_request_t *req)
{
    Strand__FetchRequest *msg = strand__fetch_request__unpack(&req->arena->pb, req->body_len,
                                                             req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "FetchRequest body of %zu bytes does not decode "
                              "(invalid protobuf)", req->body_len);
    st_fetch_wait_t *w = st_arena_calloc(req->arena, 1, sizeof(*w));
    if (!w)
        return st_reply_fatal(req->conn, req, "out of memory");
    w->op.ops = &fetch_ops;
    w->req = *req;
    w->req.body = NULL;
    w->req.tail = NULL;
    w->msg = msg;
    w->follower = msg->replica_id >= 0;
    for (size_t t = 0; t < msg->n_topics; t++)
        w->n += msg->topics[t]->n_partitions;
    w->fps = st_arena_calloc(req->arena, w->n, sizeof(*w->fps));
    w->parts = st_arena_calloc(req->arena, w->n, sizeof(*w->parts));
    w->static_error = st_arena_calloc(req->arena, w->n, sizeof(*w->static_error));
    w->slices = st_arena_calloc(req->arena, w->n, sizeof(*w->slices));
    w->offs = st_arena_calloc(req->arena, w->n, sizeof(*w->offs));
    w->read_result = st_arena_calloc(req->arena, w->n, sizeof(*w->read_result));
    w->diverging = st_arena_calloc(req->arena, w->n, sizeof(*w->diverging));
    if (w->n && (!w->fps || !w->parts || !w->static_error || !w->slices || !w->offs ||
                 !w->read_result || !w->diverging))
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t t = 0, k = 0; t < msg->n_topics; t++)
        for (size_t p = 0; p < msg->topics[t]->n_partitions; p++)
            w->fps[k++] = msg->topics[t]->partitions[p];

    bool authorized = !w->follower || st_request_is_inter_broker(req, NULL, 0);
    size_t k = 0;
    for (size_t t = 0; t < msg->n_topics; t++) {
        Strand__FetchTopic *ft = msg->topics[t];
        for (size_t p = 0; p < ft->n_partitions; p++, k++) {
            Strand__FetchPartition *fp = ft->partitions[p];
            st_partition_t *part = st_registry_get(req->broker->reg, ft->topic, fp->partition);
            if (!part) {
                w->static_error[k] = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                                    "%s-%" PRId32 " does not exist", ft->topic,
                                                    fp->partition);
                continue;
            }
            w->parts[k] = part;
            int32_t epoch = st_partition_leader_epoch(part);
            if (fp->current_leader_epoch >= 0 && fp->current_leader_epoch < epoch)
                w->static_error[k] = st_reply_error(req, ST_ERR_FENCED_LEADER_EPOCH, NULL,
                                                    "%s-%" PRId32 ": leader epoch %" PRId32 " < %" PRId32,
                                                    ft->topic, fp->partition,
                                                    fp->current_leader_epoch, epoch);
            else if (fp->current_leader_epoch > epoch)
                w->static_error[k] = st_reply_error(req, ST_ERR_UNKNOWN_LEADER_EPOCH, NULL,
                                                    "%s-%" PRId32 ": leader epoch %" PRId32 " > %" PRId32,
                                                    ft->topic, fp->partition,
                                                    fp->current_leader_epoch, epoch);
            else if (fp->fetch_offset < 0)
                w->static_error[k] = st_reply_error(req, ST_ERR_OFFSET_OUT_OF_RANGE, NULL,
                                                    "%s-%" PRId32 ": negative fetch offset %" PRId64,
                                                    ft->topic, fp->partition, fp->fetch_offset);
            else if (w->follower && !authorized)
                w->static_error[k] = st_reply_error(req, ST_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL,
                                                    "follower fetch (replica %" PRId32 ") is "
                                                    "accepted only on the inter-broker listener",
                                                    msg->replica_id);
            else if (w->follower)
                follower_fetch(req, w, k, ft->topic, fp);
        }
    }

    bool may_wait = msg->max_wait_ms > 0;
    if (evaluate(w, !may_wait)) {
        finish(w);
        return respond(w);
    }
    /* Watch first, then look again: an append in between is either seen now or wakes us. */
    set_watch(w, true);
    if (evaluate(w, false)) {
        finish(w);
        return respond(w);
    }
    int32_t wait_ms = msg->max_wait_ms > MAX_WAIT_CAP_MS ? MAX_WAIT_CAP_MS : msg->max_wait_ms;
    st_conn_park(req->conn, &w->op, wait_ms);
    return 0;
}
