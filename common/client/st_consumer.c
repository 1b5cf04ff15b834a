/* The manual-assignment consumer (strand_consumer_* in strand.h).
 *
 * Data path
 *   The I/O thread (consumer_tick) resolves positions that need it with ListOffsets, and keeps
 *   one Fetch in flight per broker for the partitions it leads that have at most
 *   MAX_QUEUED_AHEAD unread chunks queued. A FetchResponse is read into one buffer
 *   (st_client.c reads large frames straight into it); the response handler walks only the
 *   batch HEADERS of each partition's data to find the end of the last whole batch (a trailing
 *   partial batch is left for the next fetch), moves the partition's fetch position past it,
 *   and queues a chunk {partition, bytes, fetch offset} that references the shared buffer.
 *   strand_consumer_poll() pops chunks and decodes records in place with st_batch_reader,
 *   skipping records below the position (a fetch returns whole batches), so no record byte is
 *   copied after the socket read (LZ4 batches are decompressed into the reader's scratch).
 *
 * Partition states (st_cpart_t.state, st_consumer_int.h), and who moves them:
 *   RESET --consumer_tick sends ListOffsets--> RESETTING --lo_cb--> FETCH
 *   FETCH --fetch_cb: OFFSET_OUT_OF_RANGE, earliest/latest--> RESET
 *   FETCH --fetch_cb: OFFSET_OUT_OF_RANGE, none / corrupt data (poll)--> ERROR (until a seek)
 *   FETCH / RESETTING --fetch_cb / lo_cb: an error retrying cannot cure--> ERROR, reported once
 *   (retriable errors are retried after retry.backoff.ms, with a throttled log line, and never
 *   reach poll: Kafka's consumer does not surface them either)
 *   COMMITTED --cg_offsets_tick sends OffsetFetch--> COMMITTED_FETCHING --ofetch_cb: an offset
 *       was committed--> FETCH; none committed--> RESET (auto.offset.reset) or ERROR (none);
 *       a retriable error or the coordinator moved--> COMMITTED (st_consumer_offsets.c)
 *   any --assign/seek (app thread)--> FETCH, RESET or (STRAND_OFFSET_INVALID with a group)
 *       COMMITTED, epoch+1; --assign (dropped), a group revocation--> REMOVED
 *   REMOVED --a group assignment (app thread)--> COMMITTED (st_consumer_group.c)
 * Invariants (cpart_check): epoch changes whenever the position is moved by the application, and
 *   data tagged with an older epoch is discarded; FETCH implies fetch_pos >= 0; a partition
 *   has at most one fetch, one ListOffsets and one OffsetFetch in flight.
 *
 * Consumer groups: with group.id, c->grp holds the membership (st_consumer_group.h); its I/O
 * half runs from consumer_tick, its application half (rebalance callbacks, commits) at the start
 * of poll and whenever the I/O thread flags work for it while poll waits.
 *
 * Locks: c->lock guards partition state shared with the I/O thread, the chunk queue and the
 * group state; poll decodes outside it. Order: c->lock -> cl->lock. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_batch.h"
#include "st_client.h"
#include "st_consumer_group.h"
#include "st_consumer_int.h"
#include "st_logger.h"
#include "strand.h"

/* A partition is fetched again while at most this many of its chunks wait unread: the next
 * fetch is then in flight while the application still handles the previous response, and
 * memory stays bounded at (MAX_QUEUED_AHEAD + 2) responses per partition. */
#define MAX_QUEUED_AHEAD 1

typedef struct st_fbuf {
    uint8_t *buf;
    size_t cap;
    int refs;                   /* c->lock */
} st_fbuf_t;

struct st_chunk {
    struct st_chunk *next;
    st_cpart_t *part;
    uint32_t epoch;
    st_fbuf_t *fb;
    const uint8_t *data;
    size_t len;
    int64_t fetch_offset;
    int error;
    char errstr[256];
};

typedef struct fetch_ent {
    st_cpart_t *part;
    uint32_t epoch;
    int64_t offset;
} fetch_ent_t;

typedef struct st_fctx {
    struct strand_consumer *c;
    st_broker_t *broker;
    size_t n;
    fetch_ent_t ent[];
} st_fctx_t;

static bool cpart_check(const st_cpart_t *p)
{
    if (p->state == CP_FETCH && p->fetch_pos < 0)
        return false;
    if (p->queued < 0)
        return false;
    return true;
}

/* ---- chunks ------------------------------------------------------------------------------- */

static void fbuf_unref(strand_consumer_t *c, st_fbuf_t *fb)
{
    if (fb && --fb->refs == 0) {
        st_client_buf_put(&c->cl, fb->buf, fb->cap);
        free(fb);
    }
}

/* lock held */
static void chunk_free(strand_consumer_t *c, st_chunk_t *ch)
{
    fbuf_unref(c, ch->fb);
    free(ch);
}

/* lock held */
static void chunk_enqueue(strand_consumer_t *c, st_chunk_t *ch)
{
    ch->next = NULL;
    if (c->q_tail)
        c->q_tail->next = ch;
    else
        c->q_head = ch;
    c->q_tail = ch;
    ch->part->queued++;
}

/* lock held: an error for the application about part. */
static void queue_verror(strand_consumer_t *c, st_cpart_t *part, int err, const char *fmt,
                         va_list ap)
{
    st_chunk_t *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return;
    ch->part = part;
    ch->epoch = part->epoch;
    ch->error = err;
    ch->fetch_offset = part->fetch_pos;
    vsnprintf(ch->errstr, sizeof(ch->errstr), fmt, ap);
    chunk_enqueue(c, ch);
    pthread_cond_broadcast(&c->cond);
}

static void queue_error(strand_consumer_t *c, st_cpart_t *part, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void queue_error(strand_consumer_t *c, st_cpart_t *part, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    queue_verror(c, part, err, fmt, ap);
    va_end(ap);
}

void st_consumer_queue_error(strand_consumer_t *c, st_cpart_t *part, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    queue_verror(c, part, err, fmt, ap);
    va_end(ap);
}

/* ---- partitions --------------------------------------------------------------------------- */

static st_cpart_t *part_find(strand_consumer_t *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i]->partition == partition && strcmp(c->parts[i]->topic, topic) == 0)
            return c->parts[i];
    return NULL;
}

st_cpart_t *st_consumer_part_find(strand_consumer_t *c, const char *topic, int32_t partition)
{
    return part_find(c, topic, partition);
}

st_cpart_t *st_consumer_part_get(strand_consumer_t *c, const char *topic, int32_t partition)
{
    st_cpart_t *part = part_find(c, topic, partition);
    if (!part) {
        st_cpart_t **grown = realloc(c->parts, (c->n_parts + 1) * sizeof(*grown));
        if (!grown)
            return NULL;
        c->parts = grown;
        part = calloc(1, sizeof(*part));
        if (!part || !(part->topic = strdup(topic))) {
            free(part);
            return NULL;
        }
        part->partition = partition;
        part->state = CP_REMOVED;
        part->pos_epoch = part->reset_epoch = -1;
        c->parts[c->n_parts++] = part;
    }
    part->leader = st_client_md_leader(&c->cl, part->topic, part->partition);
    return part;
}

/* lock held: auto.offset.reset for a partition without a position (epoch already bumped). */
static void part_reset(strand_consumer_t *c, st_cpart_t *part, int64_t spec)
{
    part->position = part->fetch_pos = STRAND_OFFSET_INVALID;
    if (spec == 0) {
        part->state = CP_ERROR;
        queue_error(c, part, ST_ERR_OFFSET_OUT_OF_RANGE,
                    "Undefined offset with no reset policy for partitions: [%s-%d] (no "
                    "committed offset and auto.offset.reset=none)", part->topic, part->partition);
    } else {
        part->state = CP_RESET;
        part->reset_spec = spec;
    }
}

/* lock held: positions part at offset (>= 0, BEGINNING, END, INVALID); bumps its epoch. */
static void part_position(strand_consumer_t *c, st_cpart_t *part, int64_t offset)
{
    part->epoch++;
    part->max_bytes = c->cl.conf.max_partition_fetch_bytes;
    part->retry_at_ms = 0;
    part->reset_pending = false;
    part->pos_epoch = -1;
    if (offset >= 0) {
        part->state = CP_FETCH;
        part->position = part->fetch_pos = offset;
    } else if (offset == STRAND_OFFSET_INVALID && c->grp) {
        /* The group's committed offset first (cg_offsets_tick asks the coordinator). */
        part->state = CP_COMMITTED;
        part->position = part->fetch_pos = STRAND_OFFSET_INVALID;
    } else {
        part_reset(c, part, offset == STRAND_OFFSET_INVALID ? c->reset_mode : offset);
    }
    assert(cpart_check(part));
}

void st_consumer_part_position(strand_consumer_t *c, st_cpart_t *part, int64_t offset)
{
    part_position(c, part, offset);
}

void st_consumer_part_reset(strand_consumer_t *c, st_cpart_t *part)
{
    part->epoch++;
    part->max_bytes = c->cl.conf.max_partition_fetch_bytes;
    part->retry_at_ms = 0;
    part->reset_pending = false;
    part->pos_epoch = -1;
    part_reset(c, part, c->reset_mode);
    assert(cpart_check(part));
}

void st_consumer_part_remove(strand_consumer_t *c, st_cpart_t *part)
{
    (void)c;
    part->state = CP_REMOVED;
    part->epoch++;
    part->reset_pending = false;
}

static void consumer_on_metadata(st_client_t *cl)
{
    strand_consumer_t *c = cl->role_arg;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_parts; i++) {
        st_cpart_t *part = c->parts[i];
        if (part->state != CP_REMOVED)
            part->leader = st_client_md_leader(cl, part->topic, part->partition);
    }
    pthread_mutex_unlock(&c->lock);
    if (c->grp)
        st_cgroup_on_metadata(c);
}

/* ---- ListOffsets for resets (I/O thread) -------------------------------------------------- */

typedef struct lo_ctx {
    strand_consumer_t *c;
    size_t n;
    fetch_ent_t ent[];
} lo_ctx_t;

static void lo_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    strand_consumer_t *c = cl->role_arg;
    lo_ctx_t *ctx = req->arg;
    Strand__ListOffsetsResponse *lr = NULL;
    if (!err) {
        lr = strand__list_offsets_response__unpack(NULL, resp->view.body_len, resp->view.body);
        if (!lr) {
            err = ST_ERR_BAD_RESPONSE;
            errstr = "undecodable ListOffsets response";
        }
    }
    int64_t now = st_client_now_ms();
    bool refresh = err != 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < ctx->n; i++) {
        st_cpart_t *part = ctx->ent[i].part;
        if (part->epoch != ctx->ent[i].epoch || part->state != CP_RESETTING)
            continue;
        const Strand__ListOffsetsPartitionResponse *pr = NULL;
        for (size_t t = 0; lr && t < lr->n_topics && !pr; t++) {
            if (!lr->topics[t]->name || strcmp(lr->topics[t]->name, part->topic) != 0)
                continue;
            for (size_t k = 0; k < lr->topics[t]->n_partitions; k++)
                if (lr->topics[t]->partitions[k]->partition == part->partition)
                    pr = lr->topics[t]->partitions[k];
        }
        int perr = err ? err : pr ? pr->error_code : ST_ERR_BAD_RESPONSE;
        if (!perr && pr->offset < 0)
            perr = ST_ERR_OFFSET_NOT_AVAILABLE;
        if (perr) {
            if (!st_error_retriable(perr)) {
                part->state = CP_ERROR;
                queue_error(c, part, perr, "%s-%d: ListOffsets failed: %s: %s", part->topic,
                            part->partition, st_error_name(perr),
                            err ? errstr : st_error_desc(perr));
                continue;
            }
            part->state = CP_RESET;
            part->retry_at_ms = now + cl->conf.retry_backoff_ms;
            refresh = true;
            char key[128];
            snprintf(key, sizeof(key), "listoffsets node %d %d", req->target, perr);
            st_client_log(cl, STRAND_LOG_WARN, "strand.consumer", key,
                          "Error in ListOffsets for partition %s-%d from node %d: %s, retrying%s%s",
                          part->topic, part->partition, req->target, st_error_name(perr),
                          err ? ": " : "", err ? errstr : "");
            continue;
        }
        part->state = CP_FETCH;
        part->fetch_pos = part->reset_to = pr->offset;
        part->reset_epoch = -1;
        part->reset_pending = true;
        assert(cpart_check(part));
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (lr)
        strand__list_offsets_response__free_unpacked(lr, NULL);
    free(ctx);
    if (refresh)
        st_client_md_refresh(cl);
}

/* Builds a ListOffsetsRequest for the n entries (one topic-partition each). */
static st_req_t *lo_request(st_client_t *cl, const char *const *topics, const int32_t *partitions,
                            const int64_t *timestamps, size_t n, int32_t target, int timeout_ms,
                            st_req_cb_t *cb, void *arg)
{
    Strand__ListOffsetsTopic *lts = calloc(n ? n : 1, sizeof(*lts));
    Strand__ListOffsetsTopic **ltp = calloc(n ? n : 1, sizeof(*ltp));
    Strand__ListOffsetsPartition *lps = calloc(n ? n : 1, sizeof(*lps));
    Strand__ListOffsetsPartition **lpp = calloc(n ? n : 1, sizeof(*lpp));
    st_req_t *req = NULL;
    if (lts && ltp && lps && lpp) {
        size_t nt = 0;
        for (size_t i = 0; i < n; i++) {
            strand__list_offsets_partition__init(&lps[i]);
            lps[i].partition = partitions[i];
            lps[i].current_leader_epoch = -1;
            lps[i].timestamp = timestamps[i];
            lpp[i] = &lps[i];
        }
        /* Entries are grouped topic by topic: consecutive equal topics share one entry. */
        for (size_t i = 0; i < n; i++) {
            if (i == 0 || strcmp(topics[i], topics[i - 1]) != 0) {
                strand__list_offsets_topic__init(&lts[nt]);
                lts[nt].name = (char *)topics[i];
                lts[nt].partitions = &lpp[i];
                ltp[nt] = &lts[nt];
                nt++;
            }
            lts[nt - 1].n_partitions++;
        }
        Strand__ListOffsetsRequest lr = STRAND__LIST_OFFSETS_REQUEST__INIT;
        lr.replica_id = -1;
        lr.n_topics = nt;
        lr.topics = ltp;
        req = st_req_new(cl, STRAND__API_KEY__LIST_OFFSETS, &lr.base, 0, target, timeout_ms, cb, arg);
    }
    free(lts);
    free(ltp);
    free(lps);
    free(lpp);
    return req;
}

static int cmp_topic_part(const void *a, const void *b)
{
    const fetch_ent_t *x = a, *y = b;
    int r = strcmp(x->part->topic, y->part->topic);
    if (r)
        return r;
    return (x->part->partition > y->part->partition) - (x->part->partition < y->part->partition);
}

/* lock held: a ListOffsets request for the RESET partitions led by broker, or NULL. */
static st_req_t *build_resets(strand_consumer_t *c, st_broker_t *broker, int64_t now)
{
    st_req_t *req = NULL;
    size_t n = 0;
    for (size_t i = 0; i < c->n_parts; i++) {
        st_cpart_t *part = c->parts[i];
        if (part->state == CP_RESET && part->leader == broker->node_id && part->retry_at_ms <= now)
            n++;
    }
    if (!n)
        return NULL;
    lo_ctx_t *ctx = malloc(sizeof(*ctx) + n * sizeof(ctx->ent[0]));
    const char **topics = calloc(n, sizeof(*topics));
    int32_t *partitions = calloc(n, sizeof(*partitions));
    int64_t *stamps = calloc(n, sizeof(*stamps));
    if (ctx && topics && partitions && stamps) {
        ctx->c = c;
        ctx->n = 0;
        for (size_t i = 0; i < c->n_parts; i++) {
            st_cpart_t *part = c->parts[i];
            if (part->state == CP_RESET && part->leader == broker->node_id && part->retry_at_ms <= now)
                ctx->ent[ctx->n++] = (fetch_ent_t){ part, part->epoch, part->reset_spec };
        }
        qsort(ctx->ent, ctx->n, sizeof(ctx->ent[0]), cmp_topic_part);
        for (size_t i = 0; i < n; i++) {
            topics[i] = ctx->ent[i].part->topic;
            partitions[i] = ctx->ent[i].part->partition;
            stamps[i] = ctx->ent[i].offset;
        }
        req = lo_request(&c->cl, topics, partitions, stamps, n, broker->node_id, -1, lo_cb, ctx);
        if (req) {
            for (size_t i = 0; i < n; i++)
                ctx->ent[i].part->state = CP_RESETTING;
            ctx = NULL;
        }
    }
    free(ctx);
    free(topics);
    free(partitions);
    free(stamps);
    return req;
}

/* ---- Fetch (I/O thread) ------------------------------------------------------------------- */

/* Walks batch headers: returns the bytes of whole batches at data and the offset after the
 * last one in *ret_next (unchanged when there is no whole batch). */
static size_t whole_batches(const uint8_t *data, size_t len, int64_t *ret_next)
{
    size_t pos = 0;
    while (len - pos >= ST_BATCH_HEADER_SIZE) {
        st_batch_header_t hdr;
        if (st_batch_header_decode(data + pos, len - pos, &hdr) < 0 || hdr.batch_length < 0)
            break;
        size_t total = st_batch_total_size(&hdr);
        if (total > len - pos || total < ST_BATCH_HEADER_SIZE)
            break;
        *ret_next = st_batch_last_offset(&hdr) + 1;
        pos += total;
    }
    return pos;
}

/* Kafka's fetcher refreshes metadata on these (InvalidMetadataException, plus an unknown
 * leader epoch, OFFSET_NOT_AVAILABLE after an election, and a request that timed out). */
static bool err_needs_metadata(int err)
{
    return st_error_invalid_metadata(err) || err == ST_ERR_UNKNOWN_LEADER_EPOCH ||
           err == ST_ERR_OFFSET_NOT_AVAILABLE || err == ST_ERR_REQUEST_TIMED_OUT;
}

/* lock held: one partition's part of a fetch response. */
static void fetch_partition(strand_consumer_t *c, const fetch_ent_t *ent,
                            const Strand__FetchPartitionResponse *fp, const uint8_t *data,
                            st_fbuf_t *fb, int64_t now, bool *refresh)
{
    st_cpart_t *part = ent->part;
    int err = fp->error_code;
    if (err == ST_ERR_OFFSET_OUT_OF_RANGE) {
        if (c->reset_mode) {
            ST_DEBUG("consumer: %s-%d offset %" PRId64 " out of range, resetting to %s", part->topic,
                     part->partition, ent->offset, c->reset_mode == STRAND_OFFSET_BEGINNING
                     ? "earliest" : "latest");
            part->state = CP_RESET;
            part->reset_spec = c->reset_mode;
            part->epoch++;   /* chunks queued before the reset are dropped */
        } else {
            part->state = CP_ERROR;
            queue_error(c, part, err, "%s-%d: offset %" PRId64 " is out of range "
                        "(auto.offset.reset=none)", part->topic, part->partition, ent->offset);
        }
        return;
    }
    if (err) {
        if (!st_error_retriable(err)) {
            part->state = CP_ERROR;
            queue_error(c, part, err, "%s-%d: fetch failed: %s: %s", part->topic,
                        part->partition, st_error_name(err), st_error_desc(err));
            return;
        }
        part->retry_at_ms = now + c->cl.conf.retry_backoff_ms;
        if (err_needs_metadata(err))
            *refresh = true;
        char key[128];
        snprintf(key, sizeof(key), "fetch node %d %d", part->leader, err);
        st_client_log(&c->cl, STRAND_LOG_WARN, "strand.consumer", key,
                      "Error in fetch for partition %s-%d at offset %" PRId64 " from node %d: %s, "
                      "retrying", part->topic, part->partition, ent->offset, part->leader,
                      st_error_name(err));
        return;
    }
    if (fp->records_size == 0)
        return;
    int64_t next = part->fetch_pos;
    size_t whole = whole_batches(data, fp->records_size, &next);
    if (whole == 0) {
        /* Only a partial batch: the next batch is larger than the partition fetch size. */
        if (part->max_bytes < c->cl.conf.fetch_max_bytes) {
            int64_t grown = (int64_t)part->max_bytes * 2;
            part->max_bytes = grown > c->cl.conf.fetch_max_bytes ? c->cl.conf.fetch_max_bytes
                                                                 : (int32_t)grown;
        } else {
            part->state = CP_ERROR;
            queue_error(c, part, ST_ERR_MESSAGE_TOO_LARGE, "%s-%d: the batch at offset %" PRId64
                        " is larger than fetch.max.bytes (%d)", part->topic, part->partition,
                        part->fetch_pos, c->cl.conf.fetch_max_bytes);
        }
        return;
    }
    st_chunk_t *ch = calloc(1, sizeof(*ch));
    if (!ch) {
        part->retry_at_ms = now + c->cl.conf.retry_backoff_ms;
        return;
    }
    ch->part = part;
    ch->epoch = ent->epoch;
    ch->fb = fb;
    fb->refs++;
    ch->data = data;
    ch->len = whole;
    ch->fetch_offset = ent->offset;
    if (next > part->fetch_pos)
        part->fetch_pos = next;
    chunk_enqueue(c, ch);
}

static void fetch_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    strand_consumer_t *c = cl->role_arg;
    st_fctx_t *ctx = req->arg;
    ctx->broker->fetch_inflight = false;
    Strand__FetchResponse *fr = NULL;
    if (!err) {
        fr = strand__fetch_response__unpack(NULL, resp->view.body_len, resp->view.body);
        if (!fr) {
            err = ST_ERR_BAD_RESPONSE;
            errstr = "undecodable FetchResponse";
        } else if (fr->error_code) {
            err = fr->error_code;
            errstr = st_error_desc(err);
        }
    }
    int64_t now = st_client_now_ms();
    bool refresh = false;
    st_fbuf_t *fb = NULL;
    if (!err) {
        fb = calloc(1, sizeof(*fb));
        if (fb) {
            fb->buf = resp->buf;
            fb->cap = resp->cap;
            fb->refs = 1;   /* ours, dropped below */
            resp->buf = NULL;
        } else {
            err = ST_ERR_INVALID_ARG;
            errstr = "out of memory";
        }
    }
    pthread_mutex_lock(&c->lock);
    if (!err) {
        /* Tail data follows the partitions in message order. */
        size_t off = 0;
        for (size_t t = 0; t < fr->n_responses; t++) {
            const Strand__FetchTopicResponse *tr = fr->responses[t];
            for (size_t k = 0; k < tr->n_partitions; k++) {
                const Strand__FetchPartitionResponse *fp = tr->partitions[k];
                if (fp->records_size > resp->view.tail_len - off) {
                    ST_DEBUG("consumer: broker %s: fetch response records overrun the frame",
                             ctx->broker->addr);
                    goto done;
                }
                const uint8_t *data = resp->view.tail + off;
                off += fp->records_size;
                for (size_t i = 0; i < ctx->n; i++) {
                    fetch_ent_t *ent = &ctx->ent[i];
                    if (!ent->part || ent->part->partition != fp->partition || !tr->topic ||
                        strcmp(ent->part->topic, tr->topic) != 0)
                        continue;
                    ent->part->fetch_inflight = false;
                    if (ent->part->epoch == ent->epoch && ent->part->state == CP_FETCH &&
                        ent->part->fetch_pos == ent->offset)
                        fetch_partition(c, ent, fp, data, fb, now, &refresh);
                    ent->part = NULL;
                    break;
                }
            }
        }
    } else {
        ST_DEBUG("consumer: fetch from broker %s failed: %s", ctx->broker->addr, errstr);
        refresh = err_needs_metadata(err) || err == ST_ERR_BAD_RESPONSE;
    }
done:;
    /* The broker refused the whole request for good (an error code of its own that retrying
     * cannot cure, or an API it does not support): report it once per partition. A request
     * that got no usable response (lost connection, garbage) is retried. */
    bool fatal = err && !st_error_retriable(err) &&
                 ((fr && fr->error_code) || err == ST_ERR_UNSUPPORTED_VERSION);
    for (size_t i = 0; i < ctx->n; i++) {
        st_cpart_t *part = ctx->ent[i].part;
        if (!part)
            continue;
        part->fetch_inflight = false;
        if (fatal && part->epoch == ctx->ent[i].epoch && part->state == CP_FETCH) {
            part->state = CP_ERROR;
            queue_error(c, part, err, "%s-%d: fetch failed: %s: %s", part->topic,
                        part->partition, st_error_name(err), errstr);
        } else if (err) {
            part->retry_at_ms = now + cl->conf.retry_backoff_ms;
        }
    }
    if (fb)
        fbuf_unref(c, fb);
    /* A poll busy decoding finds the chunks without a wake-up. A waiting one is woken by
     * consumer_after_io, once the next fetch has been written: the wake-up (a system call and
     * an inter-processor interrupt) then does not delay the request. */
    if (c->waiting) {
        if (st_client_on_io_thread(cl))
            c->wake_app = true;
        else
            pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    if (fr)
        strand__fetch_response__free_unpacked(fr, NULL);
    free(ctx);
    if (refresh)
        st_client_md_refresh(cl);
}

/* lock held: one Fetch request to broker for every partition ready to fetch, or NULL. */
static st_req_t *build_fetch(strand_consumer_t *c, st_broker_t *broker, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_parts; i++) {
        st_cpart_t *part = c->parts[i];
        if (part->state == CP_FETCH && part->leader == broker->node_id && !part->fetch_inflight &&
            part->queued <= MAX_QUEUED_AHEAD && part->retry_at_ms <= now)
            n++;
    }
    if (!n)
        return NULL;
    st_fctx_t *ctx = malloc(sizeof(*ctx) + n * sizeof(ctx->ent[0]));
    Strand__FetchTopic *fts = calloc(n, sizeof(*fts));
    Strand__FetchTopic **ftp = calloc(n, sizeof(*ftp));
    Strand__FetchPartition *fps = calloc(n, sizeof(*fps));
    Strand__FetchPartition **fpp = calloc(n, sizeof(*fpp));
    st_req_t *req = NULL;
    if (ctx && fts && ftp && fps && fpp) {
        ctx->c = c;
        ctx->broker = broker;
        ctx->n = 0;
        for (size_t i = 0; i < c->n_parts; i++) {
            st_cpart_t *part = c->parts[i];
            if (part->state == CP_FETCH && part->leader == broker->node_id &&
                !part->fetch_inflight && part->queued <= MAX_QUEUED_AHEAD && part->retry_at_ms <= now)
                ctx->ent[ctx->n++] = (fetch_ent_t){ part, part->epoch, part->fetch_pos };
        }
        qsort(ctx->ent, n, sizeof(ctx->ent[0]), cmp_topic_part);
        size_t nt = 0;
        for (size_t i = 0; i < n; i++) {
            st_cpart_t *part = ctx->ent[i].part;
            strand__fetch_partition__init(&fps[i]);
            fps[i].partition = part->partition;
            fps[i].current_leader_epoch = -1;
            fps[i].fetch_offset = ctx->ent[i].offset;
            fps[i].log_start_offset = -1;
            fps[i].partition_max_bytes = part->max_bytes;
            fpp[i] = &fps[i];
            if (i == 0 || strcmp(part->topic, ctx->ent[i - 1].part->topic) != 0) {
                strand__fetch_topic__init(&fts[nt]);
                fts[nt].topic = part->topic;
                fts[nt].partitions = &fpp[i];
                ftp[nt] = &fts[nt];
                nt++;
            }
            fts[nt - 1].n_partitions++;
        }
        Strand__FetchRequest fr = STRAND__FETCH_REQUEST__INIT;
        fr.replica_id = -1;
        fr.max_wait_ms = c->cl.conf.fetch_max_wait_ms;
        fr.min_bytes = c->cl.conf.fetch_min_bytes;
        fr.max_bytes = c->cl.conf.fetch_max_bytes;
        fr.isolation_level = 0;
        fr.n_topics = nt;
        fr.topics = ftp;
        req = st_req_new(&c->cl, STRAND__API_KEY__FETCH, &fr.base, 0, broker->node_id,
                         c->cl.conf.request_timeout_ms + c->cl.conf.fetch_max_wait_ms, fetch_cb, ctx);
    }
    free(fts);
    free(ftp);
    free(fps);
    free(fpp);
    if (!req) {
        free(ctx);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        ctx->ent[i].part->fetch_inflight = true;
    broker->fetch_inflight = true;
    return req;
}

static void consumer_tick(st_client_t *cl, int64_t now)
{
    strand_consumer_t *c = cl->role_arg;
    bool need_md = false;
    st_req_t *reqs = NULL;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_parts; i++) {
        st_cpart_t *part = c->parts[i];
        if ((part->state == CP_FETCH || part->state == CP_RESET) &&
            (part->leader < 0 || !st_client_broker(cl, part->leader)))
            need_md = true;
    }
    for (size_t bi = 0; bi < cl->n_brokers; bi++) {
        st_broker_t *broker = cl->brokers[bi];
        if (broker->node_id < 0)
            continue;
        st_req_t *req = build_resets(c, broker, now);
        if (req) {
            req->next = reqs;
            reqs = req;
        }
        if (!broker->fetch_inflight && (req = build_fetch(c, broker, now))) {
            req->next = reqs;
            reqs = req;
        }
    }
    pthread_mutex_unlock(&c->lock);
    /* Sent without c->lock: a send may complete (and call back) synchronously. */
    while (reqs) {
        st_req_t *req = reqs;
        reqs = req->next;
        req->next = NULL;
        st_client_send(cl, req);
    }
    if (need_md)
        st_client_md_refresh(cl);
    if (c->grp)
        st_cgroup_tick(c, now);
}

static void consumer_after_io(st_client_t *cl)
{
    strand_consumer_t *c = cl->role_arg;
    pthread_mutex_lock(&c->lock);
    if (c->wake_app) {
        c->wake_app = false;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
}

static int64_t consumer_next_wakeup(st_client_t *cl, int64_t now)
{
    strand_consumer_t *c = cl->role_arg;
    int64_t next = INT64_MAX;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_parts; i++) {
        const st_cpart_t *part = c->parts[i];
        if ((part->state == CP_FETCH || part->state == CP_RESET) && part->retry_at_ms > now &&
            part->retry_at_ms < next)
            next = part->retry_at_ms;
    }
    pthread_mutex_unlock(&c->lock);
    if (c->grp) {
        int64_t g = st_cgroup_next_wakeup(c, now);
        if (g < next)
            next = g;
    }
    return next;
}

static const st_client_role_t consumer_role = {
    .name = "Consumer",
    .tick = consumer_tick,
    .after_io = consumer_after_io,
    .next_wakeup = consumer_next_wakeup,
    .on_metadata = consumer_on_metadata,
    .auto_create_topics = false,
};

/* ---- public API --------------------------------------------------------------------------- */

strand_consumer_t *strand_consumer_new(const strand_conf_t *conf, char *errstr, size_t errstr_size)
{
    strand_consumer_t *c = calloc(1, sizeof(*c));
    if (!c) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    /* The group settings are checked (and c->grp made) before connecting. */
    if (conf && st_cgroup_create(c, &conf->props, errstr, errstr_size) != 0) {
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
        return NULL;
    }
    if (st_client_init(&c->cl, conf, &consumer_role, c, errstr, errstr_size) != 0) {
        st_cgroup_free(c);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
        return NULL;
    }
    const char *reset = c->cl.conf.auto_offset_reset;
    c->reset_mode = strcmp(reset, "earliest") == 0 ? STRAND_OFFSET_BEGINNING
                  : strcmp(reset, "latest") == 0 ? STRAND_OFFSET_END : 0;
    c->rebalance_cb = conf->rebalance_cb;
    c->rebalance_opaque = conf->rebalance_opaque;
    return c;
}

/* App thread: drops the messages of the previous poll and the chunk being decoded. */
static void release_polled(strand_consumer_t *c, bool drop_cur)
{
    pthread_mutex_lock(&c->lock);
    while (c->done) {
        st_chunk_t *ch = c->done;
        c->done = ch->next;
        chunk_free(c, ch);
    }
    if (drop_cur && c->cur) {
        chunk_free(c, c->cur);
        c->cur = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (drop_cur && c->reader_live) {
        st_batch_reader_destroy(&c->reader);
        c->reader_live = false;
        c->in_batch = false;
    }
}

int strand_consumer_assign(strand_consumer_t *c, const strand_topic_partition_t *tps, size_t count)
{
    if (!c || (count && !tps))
        return ST_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    int mode = c->mode;
    if (mode != CM_SUBSCRIBED && c->grp)
        cg_auto_commit_locked(c, st_client_now_ms(), true);   /* Kafka's assign() does too */
    pthread_mutex_unlock(&c->lock);
    if (mode == CM_SUBSCRIBED || c->in_callback || c->closed)
        return ST_ERR_ILLEGAL_STATE;
    int64_t deadline = st_client_now_ms() + c->cl.conf.request_timeout_ms;
    for (size_t i = 0; i < count; i++) {
        if (!tps[i].topic || tps[i].partition < 0 ||
            (tps[i].offset < 0 && tps[i].offset != STRAND_OFFSET_BEGINNING &&
             tps[i].offset != STRAND_OFFSET_END && tps[i].offset != STRAND_OFFSET_INVALID))
            return ST_ERR_INVALID_ARG;
        int32_t n = 0;
        size_t errstr_size;
        char *errstr = st_client_last_errstr_buf(&errstr_size);
        int err = st_client_md_wait_topic(&c->cl, tps[i].topic, deadline, true, &n, errstr,
                                          errstr_size);
        if (err)
            return err;
        if (tps[i].partition >= n) {
            st_client_errstr(errstr, errstr_size, "topic '%s' has no partition %d (it has %d)",
                             tps[i].topic, tps[i].partition, n);
            return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    release_polled(c, true);
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_parts; i++) {
        c->parts[i]->state = CP_REMOVED;
        c->parts[i]->epoch++;
    }
    while (c->q_head) {
        st_chunk_t *ch = c->q_head;
        c->q_head = ch->next;
        ch->part->queued--;
        chunk_free(c, ch);
    }
    c->q_tail = NULL;
    int err = 0;
    for (size_t i = 0; i < count && !err; i++) {
        st_cpart_t *part = st_consumer_part_get(c, tps[i].topic, tps[i].partition);
        if (!part) {
            err = ST_ERR_INVALID_ARG;
            break;
        }
        part_position(c, part, tps[i].offset);
    }
    c->mode = count ? CM_ASSIGNED : CM_NONE;
    pthread_mutex_unlock(&c->lock);
    st_client_wake(&c->cl);
    return err;
}

int strand_consumer_seek(strand_consumer_t *c, const char *topic, int32_t partition, int64_t offset)
{
    if (!c || !topic || (offset < 0 && offset != STRAND_OFFSET_BEGINNING && offset != STRAND_OFFSET_END))
        return ST_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    st_cpart_t *part = part_find(c, topic, partition);
    if (!part || part->state == CP_REMOVED) {
        pthread_mutex_unlock(&c->lock);
        return ST_ERR_INVALID_ARG;
    }
    part_position(c, part, offset);
    bool drop_cur = c->cur && c->cur->part == part;
    pthread_mutex_unlock(&c->lock);
    if (drop_cur) {
        /* Messages of the last poll stay valid: park the chunk on the done list. */
        pthread_mutex_lock(&c->lock);
        c->cur->next = c->done;
        c->done = c->cur;
        c->cur = NULL;
        pthread_mutex_unlock(&c->lock);
        c->in_batch = false;
    }
    st_client_wake(&c->cl);
    return 0;
}

int strand_consumer_list_offsets(strand_consumer_t *c, strand_topic_partition_t *tps, size_t count,
                                 int timeout_ms)
{
    if (!c || (count && !tps))
        return ST_ERR_INVALID_ARG;
    int64_t deadline = st_client_now_ms() + (timeout_ms < 0 ? c->cl.conf.request_timeout_ms : timeout_ms);
    int32_t *leaders = calloc(count ? count : 1, sizeof(*leaders));
    bool *done = calloc(count ? count : 1, sizeof(*done));
    if (!leaders || !done) {
        free(leaders);
        free(done);
        return ST_ERR_INVALID_ARG;
    }
    int ret = 0;
    for (size_t i = 0; i < count; i++) {
        int32_t n = 0;
        tps[i].error = st_client_md_wait_topic(&c->cl, tps[i].topic, deadline, true, &n, NULL, 0);
        if (!tps[i].error && (tps[i].partition < 0 || tps[i].partition >= n))
            tps[i].error = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        leaders[i] = tps[i].error ? -1 : st_client_md_leader(&c->cl, tps[i].topic, tps[i].partition);
        if (!tps[i].error && leaders[i] < 0)
            tps[i].error = ST_ERR_LEADER_NOT_AVAILABLE;
        done[i] = tps[i].error != 0;
    }
    for (size_t i = 0; i < count && ret == 0; i++) {
        if (done[i])
            continue;
        /* Everything led by the same broker goes in one request. */
        size_t n = 0;
        const char **topics = calloc(count, sizeof(*topics));
        int32_t *parts = calloc(count, sizeof(*parts));
        int64_t *stamps = calloc(count, sizeof(*stamps));
        size_t *idx = calloc(count, sizeof(*idx));
        if (!topics || !parts || !stamps || !idx) {
            ret = ST_ERR_INVALID_ARG;
        } else {
            for (size_t j = i; j < count; j++) {
                if (!done[j] && leaders[j] == leaders[i]) {
                    idx[n] = j;
                    topics[n] = tps[j].topic;
                    parts[n] = tps[j].partition;
                    stamps[n] = tps[j].offset;
                    n++;
                }
            }
            /* Group by topic name so each topic appears once. */
            for (size_t a = 1; a < n; a++)
                for (size_t b = a; b > 0 && strcmp(topics[b - 1], topics[b]) > 0; b--) {
                    const char *ts = topics[b]; topics[b] = topics[b - 1]; topics[b - 1] = ts;
                    int32_t tp = parts[b]; parts[b] = parts[b - 1]; parts[b - 1] = tp;
                    int64_t st = stamps[b]; stamps[b] = stamps[b - 1]; stamps[b - 1] = st;
                    size_t ti = idx[b]; idx[b] = idx[b - 1]; idx[b - 1] = ti;
                }
            Strand__ListOffsetsTopic *lts = calloc(n, sizeof(*lts));
            Strand__ListOffsetsTopic **ltp = calloc(n, sizeof(*ltp));
            Strand__ListOffsetsPartition *lps = calloc(n, sizeof(*lps));
            Strand__ListOffsetsPartition **lpp = calloc(n, sizeof(*lpp));
            if (!lts || !ltp || !lps || !lpp) {
                ret = ST_ERR_INVALID_ARG;
            } else {
                size_t nt = 0;
                for (size_t k = 0; k < n; k++) {
                    strand__list_offsets_partition__init(&lps[k]);
                    lps[k].partition = parts[k];
                    lps[k].current_leader_epoch = -1;
                    lps[k].timestamp = stamps[k];
                    lpp[k] = &lps[k];
                    if (k == 0 || strcmp(topics[k], topics[k - 1]) != 0) {
                        strand__list_offsets_topic__init(&lts[nt]);
                        lts[nt].name = (char *)topics[k];
                        lts[nt].partitions = &lpp[k];
                        ltp[nt] = &lts[nt];
                        nt++;
                    }
                    lts[nt - 1].n_partitions++;
                }
                Strand__ListOffsetsRequest lr = STRAND__LIST_OFFSETS_REQUEST__INIT;
                lr.replica_id = -1;
                lr.n_topics = nt;
                lr.topics = ltp;
                int64_t left = deadline - st_client_now_ms();
                st_rframe_t resp = { 0 };
                int err = st_client_call(&c->cl, leaders[i], STRAND__API_KEY__LIST_OFFSETS, &lr.base,
                                         left > 0 ? (int)left : 1, &resp, NULL, 0);
                Strand__ListOffsetsResponse *lo = err ? NULL :
                    strand__list_offsets_response__unpack(NULL, resp.view.body_len, resp.view.body);
                if (!err && !lo)
                    err = ST_ERR_BAD_RESPONSE;
                /* The same partition may be asked about several times (different
                 * timestamps): answers are matched in order, each used once. */
                size_t n_answers = 0;
                for (size_t t = 0; lo && t < lo->n_topics; t++)
                    n_answers += lo->topics[t]->n_partitions;
                bool *used = calloc(n_answers + 1, sizeof(*used));
                if (!used && !err)
                    err = ST_ERR_INVALID_ARG;
                for (size_t k = 0; k < n; k++) {
                    strand_topic_partition_t *tp = &tps[idx[k]];
                    done[idx[k]] = true;
                    tp->error = err;
                    if (err)
                        continue;
                    const Strand__ListOffsetsPartitionResponse *pr = NULL;
                    size_t slot = 0;
                    for (size_t t = 0; t < lo->n_topics && !pr; t++) {
                        bool same = lo->topics[t]->name && strcmp(lo->topics[t]->name, tp->topic) == 0;
                        for (size_t q = 0; q < lo->topics[t]->n_partitions && !pr; q++, slot++) {
                            if (same && !used[slot] &&
                                lo->topics[t]->partitions[q]->partition == tp->partition) {
                                pr = lo->topics[t]->partitions[q];
                                used[slot] = true;
                            }
                        }
                    }
                    if (!pr) {
                        tp->error = ST_ERR_BAD_RESPONSE;
                    } else {
                        tp->error = pr->error_code;
                        if (!pr->error_code)
                            tp->offset = pr->offset;
                    }
                }
                free(used);
                if (lo)
                    strand__list_offsets_response__free_unpacked(lo, NULL);
                st_client_frame_release(&c->cl, &resp);
                if (err == ST_ERR_TRANSPORT || err == ST_ERR_TIMED_OUT || err == ST_ERR_DESTROYED)
                    ret = err;
            }
            free(lts);
            free(ltp);
            free(lps);
            free(lpp);
        }
        free(topics);
        free(parts);
        free(stamps);
        free(idx);
    }
    free(leaders);
    free(done);
    return ret;
}

int strand_consumer_seek_timestamp(strand_consumer_t *c, const char *topic, int32_t partition,
                                   int64_t timestamp_ms)
{
    if (!c || !topic || timestamp_ms < 0)
        return ST_ERR_INVALID_ARG;
    strand_topic_partition_t tp = { .topic = topic, .partition = partition, .offset = timestamp_ms };
    int err = strand_consumer_list_offsets(c, &tp, 1, -1);
    if (!err)
        err = tp.error;
    if (err)
        return err;
    return strand_consumer_seek(c, topic, partition, tp.offset >= 0 ? tp.offset : STRAND_OFFSET_END);
}

int strand_consumer_position(strand_consumer_t *c, const char *topic, int32_t partition,
                             int64_t *ret_offset)
{
    if (!c || !topic || !ret_offset)
        return ST_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    st_cpart_t *part = part_find(c, topic, partition);
    int err = ST_ERR_INVALID_ARG;
    if (part && part->state != CP_REMOVED) {
        if (part->reset_pending) {
            part->position = part->reset_to;
            part->pos_epoch = part->reset_epoch;
            part->reset_pending = false;
        }
        *ret_offset = part->state == CP_RESET || part->state == CP_RESETTING
                          ? STRAND_OFFSET_INVALID : part->position;
        err = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

int strand_consumer_partition_count(strand_consumer_t *c, const char *topic, int timeout_ms,
                                    int32_t *ret_count)
{
    if (!c || !topic || !ret_count)
        return ST_ERR_INVALID_ARG;
    int64_t deadline = st_client_now_ms() + (timeout_ms < 0 ? c->cl.conf.request_timeout_ms : timeout_ms);
    size_t errstr_size;
    char *errstr = st_client_last_errstr_buf(&errstr_size);
    return st_client_md_wait_topic(&c->cl, topic, deadline, true, ret_count, errstr, errstr_size);
}

int strand_message_header(const strand_message_t *msg, size_t *pos, strand_header_t *ret_header)
{
    if (!msg || !pos || !ret_header)
        return ST_ERR_INVALID_ARG;
    st_record_t rec = { .header_count = msg->header_count, .headers = msg->headers_raw,
                        .headers_len = msg->headers_len };
    st_record_header_t h;
    int r = st_record_header_next(&rec, pos, &h);
    if (r < 0)
        return ST_ERR_CORRUPT_MESSAGE;
    if (r == 0)
        return 0;
    ret_header->key = h.key;
    ret_header->key_len = h.key_len;
    ret_header->value = h.value;
    ret_header->value_len = h.value_len;
    return 1;
}

void st_consumer_apply_resets_locked(strand_consumer_t *c)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        st_cpart_t *part = c->parts[i];
        if (part->reset_pending) {
            part->position = part->reset_to;
            part->pos_epoch = part->reset_epoch;
            part->reset_pending = false;
        }
    }
}

/* App thread: takes over positions resolved by ListOffsets or OffsetFetch on the I/O thread. */
static void apply_resets(strand_consumer_t *c)
{
    pthread_mutex_lock(&c->lock);
    st_consumer_apply_resets_locked(c);
    pthread_mutex_unlock(&c->lock);
}

/* App thread: finishes the current chunk (it stays alive until the next poll). */
static void chunk_retire(strand_consumer_t *c)
{
    pthread_mutex_lock(&c->lock);
    c->cur->next = c->done;
    c->done = c->cur;
    c->cur = NULL;
    pthread_mutex_unlock(&c->lock);
    c->in_batch = false;
}

/* Decodes records from the current chunk into c->msgs. Returns false when the poll must stop
 * (records returned so far point into the reader's decompression buffer, which the next batch
 * would overwrite). */
static bool decode_chunk(strand_consumer_t *c, size_t max, size_t *count, bool *used_scratch)
{
    st_chunk_t *ch = c->cur;
    st_cpart_t *part = ch->part;
    while (*count < max) {
        if (!c->in_batch) {
            if (*used_scratch)
                return false;
            st_batch_header_t hdr;
            int r = st_batch_reader_next_batch(&c->reader, &hdr);
            if (r == 0) {
                chunk_retire(c);
                return true;
            }
            if (r < 0) {
                const st_batch_error_t *be = st_batch_reader_error(&c->reader);
                pthread_mutex_lock(&c->lock);
                if (part->epoch == ch->epoch) {
                    part->state = CP_ERROR;
                    queue_error(c, part, ST_ERR_CORRUPT_MESSAGE, "%s-%d: corrupt batch in fetch "
                                "response at byte %zu: %s", part->topic, part->partition,
                                be->offset, be->reason);
                }
                pthread_mutex_unlock(&c->lock);
                chunk_retire(c);
                return true;
            }
            c->in_batch = true;
            c->cur_compressed = st_batch_codec(&hdr) != ST_COMPRESSION_NONE;
            if (st_batch_last_offset(&hdr) < part->position) {
                c->in_batch = false;   /* wholly below the position */
                continue;
            }
        }
        st_record_t rec;
        int r = st_batch_reader_next_record(&c->reader, &rec);
        if (r == 0) {
            c->in_batch = false;
            continue;
        }
        if (r < 0) {
            const st_batch_error_t *be = st_batch_reader_error(&c->reader);
            pthread_mutex_lock(&c->lock);
            if (part->epoch == ch->epoch) {
                part->state = CP_ERROR;
                queue_error(c, part, ST_ERR_CORRUPT_MESSAGE, "%s-%d: corrupt record after offset %"
                            PRId64 ": %s", part->topic, part->partition, part->position, be->reason);
            }
            pthread_mutex_unlock(&c->lock);
            chunk_retire(c);
            return true;
        }
        if (rec.offset < part->position)
            continue;
        strand_message_t *m = &c->msgs[(*count)++];
        m->error = 0;
        m->errstr = "";
        m->topic = part->topic;
        m->partition = part->partition;
        m->offset = rec.offset;
        m->timestamp = rec.timestamp;
        m->timestamp_type = (c->reader.hdr.attributes & ST_BATCH_ATTR_LOG_APPEND_TIME) ? 1 : 0;
        m->key = rec.key_len < 0 ? NULL : rec.key;
        m->key_len = rec.key_len < 0 ? 0 : (size_t)rec.key_len;
        m->value = rec.value_len < 0 ? NULL : rec.value;
        m->value_len = rec.value_len < 0 ? 0 : (size_t)rec.value_len;
        m->header_count = rec.header_count;
        m->headers_raw = rec.headers;
        m->headers_len = rec.headers_len;
        part->position = rec.offset + 1;
        part->pos_epoch = c->reader.hdr.partition_leader_epoch;
        if (c->cur_compressed)
            *used_scratch = true;
    }
    return false;
}

int strand_consumer_poll(strand_consumer_t *c, int timeout_ms, const strand_message_t **ret_msgs,
                         size_t *ret_count)
{
    if (!c || !ret_msgs || !ret_count)
        return ST_ERR_INVALID_ARG;
    size_t max = (size_t)c->cl.conf.max_poll_records;
    if (c->msgs_cap < max) {
        strand_message_t *grown = realloc(c->msgs, max * sizeof(*grown));
        if (!grown)
            return ST_ERR_INVALID_ARG;
        c->msgs = grown;
        c->msgs_cap = max;
    }
    if (c->in_callback || c->closed)
        return ST_ERR_ILLEGAL_STATE;
    release_polled(c, false);
    if (c->grp) {
        int fatal = st_cgroup_app_step(c);
        if (fatal) {
            *ret_msgs = c->msgs;
            *ret_count = 0;
            return fatal;
        }
    }
    apply_resets(c);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : st_client_now_ms() + timeout_ms;
    size_t count = 0;
    bool used_scratch = false;
    for (;;) {
        if (c->cur) {
            pthread_mutex_lock(&c->lock);
            bool stale = c->cur->epoch != c->cur->part->epoch;
            pthread_mutex_unlock(&c->lock);
            if (stale) {
                chunk_retire(c);
                continue;
            }
            if (!decode_chunk(c, max, &count, &used_scratch))
                break;
            continue;
        }
        if (count >= max)
            break;
        pthread_mutex_lock(&c->lock);
        bool group_work = false;
        while (!c->q_head && count == 0) {
            int64_t now = st_client_now_ms();
            if (c->grp) {
                st_cgroup_polled_locked(c, now);
                if ((group_work = st_cgroup_app_pending_locked(c, now)))
                    break;
            }
            if (now >= deadline)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait = deadline - now > 1000 ? 1000 : deadline - now;
            ts.tv_nsec += wait * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            c->waiting++;
            pthread_cond_timedwait(&c->cond, &c->lock, &ts);
            c->waiting--;
        }
        if (group_work) {
            /* The group needs the application thread (a new assignment, a revocation before a
             * rejoin, commit callbacks): do it, then look for records again. */
            pthread_mutex_unlock(&c->lock);
            int fatal = st_cgroup_app_step(c);
            if (fatal) {
                *ret_msgs = c->msgs;
                *ret_count = 0;
                return fatal;
            }
            apply_resets(c);
            continue;
        }
        st_chunk_t *ch = c->q_head;
        if (!ch) {
            pthread_mutex_unlock(&c->lock);
            break;
        }
        c->q_head = ch->next;
        if (!c->q_head)
            c->q_tail = NULL;
        ch->next = NULL;
        /* The I/O thread is woken only if this pop makes the partition fetchable again (it
         * had too many chunks queued): a wake-up per response costs a context switch. */
        bool unblocked = ch->part->queued-- == MAX_QUEUED_AHEAD + 1;
        bool stale = ch->epoch != ch->part->epoch;
        if (ch->part->reset_pending) {
            ch->part->position = ch->part->reset_to;
            ch->part->pos_epoch = ch->part->reset_epoch;
            ch->part->reset_pending = false;
        }
        pthread_mutex_unlock(&c->lock);
        if (unblocked)
            st_client_wake(&c->cl);
        if (stale) {
            pthread_mutex_lock(&c->lock);
            chunk_free(c, ch);
            pthread_mutex_unlock(&c->lock);
            continue;
        }
        if (ch->error) {
            strand_message_t *m = &c->msgs[count++];
            memset(m, 0, sizeof(*m));
            m->error = ch->error;
            m->errstr = ch->errstr;
            m->topic = ch->part->topic;
            m->partition = ch->part->partition;
            m->offset = ch->fetch_offset;
            m->timestamp = -1;
            pthread_mutex_lock(&c->lock);
            ch->next = c->done;
            c->done = ch;
            pthread_mutex_unlock(&c->lock);
            continue;
        }
        if (used_scratch)
            break;   /* re-initialising the reader would free the scratch in use */
        if (c->reader_live)
            st_batch_reader_destroy(&c->reader);
        st_batch_reader_init(&c->reader, ch->data, ch->len);
        c->reader_live = true;
        c->in_batch = false;
        c->cur = ch;
    }
    *ret_msgs = c->msgs;
    *ret_count = count;
    return 0;
}

void strand_consumer_destroy(strand_consumer_t *c)
{
    if (!c)
        return;
    if (!c->closed)
        strand_consumer_close(c, -1);
    st_client_stop(&c->cl);
    release_polled(c, true);
    pthread_mutex_lock(&c->lock);
    while (c->q_head) {
        st_chunk_t *ch = c->q_head;
        c->q_head = ch->next;
        chunk_free(c, ch);
    }
    pthread_mutex_unlock(&c->lock);
    st_client_destroy(&c->cl);
    for (size_t i = 0; i < c->n_parts; i++) {
        free(c->parts[i]->topic);
        free(c->parts[i]);
    }
    free(c->parts);
    free(c->msgs);
    st_cgroup_free(c);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}
