/* Produce (0): validates every batch of each partition's records (size against
 * max.message.bytes, then st_batch_validate: magic, lengths, CRC, codec, then the client-batch
 * rules of check_client_batch: offset range = record count, and for uncompressed batches the
 * record length prefixes add up to the records section), applies the topic's rules
 * (apply_topic_rules: message.timestamp.difference.max.ms, compression.type re-encoding,
 * LogAppendTime stamping), appends them straight from the receive buffer (st_log_append stamps
 * offsets and the leader epoch in place) or from the re-encoded copy, and answers per
 * partition. Records are never decoded: only their length prefixes are read (a codec change
 * compresses or decompresses the records section as a whole).
 *
 * Only the leader appends: a follower or a partition without a role answers
 * NOT_LEADER_OR_FOLLOWER.
 *
 * acks: 1 answers after the local append. -1 (all) first checks the ISR against
 * min.insync.replicas (NOT_ENOUGH_REPLICAS, nothing appended), appends, then parks as a
 * delayed operation (produce_wait below, watching its partitions) until the high watermark
 * reaches each partition's last offset + 1 (NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND if the
 * ISR shrank below min.insync by then), leadership is lost (NOT_LEADER_OR_FOLLOWER) or
 * timeout_ms passes (REQUEST_TIMED_OUT). 0 sends no response at all, and, as Kafka does, closes the connection when any
 * partition failed so that the producer notices; anything else gets INVALID_REQUIRED_ACKS for
 * every partition and nothing is appended. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"
#include "st_batch.h"
#include "st_buf.h"
#include "st_logger.h"
#include "st_varint.h"

#define LZ4_FRAME_MAGIC 0x184D2204u   /* little-endian at the start of an LZ4 frame */

static uint32_t lz4_magic(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The produce-only rules st_batch_validate leaves out (it also serves recovery and compacted
 * batches, where offsets may have gaps): as Kafka's broker does for client batches, the offset
 * range must match the record count exactly, and an uncompressed batch must hold exactly
 * recordCount records -- each a length varint and that many bytes -- so that a consumer can
 * decode what the broker acknowledged. Only the length prefixes are read (no record decoding).
 * An LZ4 batch must at least start with an LZ4 frame. NULL if fine, else the reason. */
static const char *check_client_batch(const uint8_t *batch, const st_batch_header_t *hdr,
                                      char *why, size_t why_len)
{
    if (hdr->record_count < 1) {
        snprintf(why, why_len, "recordCount is %" PRId32 " (a produced batch holds at least one "
                 "record)", hdr->record_count);
        return why;
    }
    if ((int64_t)hdr->last_offset_delta != (int64_t)hdr->record_count - 1) {
        snprintf(why, why_len, "lastOffsetDelta %" PRId32 " does not match recordCount %" PRId32
                 " (must be recordCount - 1)", hdr->last_offset_delta, hdr->record_count);
        return why;
    }
    size_t end = st_batch_total_size(hdr);
    size_t pos = ST_BATCH_HEADER_SIZE;
    if (st_batch_codec(hdr) == ST_COMPRESSION_LZ4) {
        if (end - pos < 4 || lz4_magic(batch + pos) != LZ4_FRAME_MAGIC) {
            snprintf(why, why_len, "the LZ4 attribute is set but the records section does not "
                     "start with an LZ4 frame");
            return why;
        }
        return NULL;
    }
    if (st_batch_codec(hdr) != ST_COMPRESSION_NONE)
        return NULL;                       /* refused by st_batch_validate already */
    int64_t n = 0;
    while (pos < end) {
        int32_t rec_len;
        int used = st_varint_decode32(batch + pos, end - pos, &rec_len);
        if (used < 0 || rec_len < 0 || (size_t)rec_len > end - pos - (size_t)used) {
            snprintf(why, why_len, "record %" PRId64 " at byte %zu has an invalid length", n, pos);
            return why;
        }
        pos += (size_t)used + (size_t)rec_len;
        n++;
        if (n > hdr->record_count)
            break;
    }
    if (n != hdr->record_count) {
        snprintf(why, why_len, "recordCount is %" PRId32 " but the records section holds %s%" PRId64
                 " records", hdr->record_count, n > hdr->record_count ? "more than " : "",
                 n > hdr->record_count ? (int64_t)hdr->record_count : n);
        return why;
    }
    return NULL;
}

/* Checks the batches of one partition. Returns an st_error_t code (message via reply_error). */
static int32_t validate_batches(st_request_t *req, const char *topic, int32_t partition,
                                const uint8_t *data, size_t len, int32_t max_batch, char **ret_msg)
{
    if (len == 0)
        return st_reply_error(req, ST_ERR_CORRUPT_MESSAGE, ret_msg,
                              "%s-%" PRId32 ": no record batch in the request", topic, partition);
    size_t off = 0;
    while (off < len) {
        size_t left = len - off;
        if (left < ST_BATCH_LOG_OVERHEAD)
            return st_reply_error(req, ST_ERR_CORRUPT_MESSAGE, ret_msg,
                                  "%s-%" PRId32 ": %zu stray bytes after the batches at byte %zu",
                                  topic, partition, left, off);
        int32_t batch_length = (int32_t)st_be32(data + off + 8);
        if (batch_length >= 0) {
            uint64_t total = (uint64_t)ST_BATCH_LOG_OVERHEAD + (uint64_t)batch_length;
            if (total <= left && total > (uint64_t)max_batch)
                return st_reply_error(req, ST_ERR_MESSAGE_TOO_LARGE, ret_msg,
                                      "%s-%" PRId32 ": the batch at byte %zu is %" PRIu64 " bytes, "
                                      "over max.message.bytes (%" PRId32 ")", topic, partition, off,
                                      total, max_batch);
        }
        st_batch_header_t hdr;
        st_batch_error_t err;
        memset(&err, 0, sizeof(err));
        int r = st_batch_validate(data + off, left, &hdr, &err);
        if (r == -EAGAIN)
            return st_reply_error(req, ST_ERR_CORRUPT_MESSAGE, ret_msg,
                                  "%s-%" PRId32 ": the batch at byte %zu claims %" PRId64 " bytes "
                                  "but only %zu remain in records_size", topic, partition, off,
                                  (int64_t)ST_BATCH_LOG_OVERHEAD + batch_length, left);
        if (r == -ENOTSUP)
            return st_reply_error(req, ST_ERR_UNSUPPORTED_COMPRESSION_TYPE, ret_msg,
                                  "%s-%" PRId32 ": batch at byte %zu: %s", topic, partition,
                                  off + err.offset, err.reason);
        if (r < 0)
            return st_reply_error(req, ST_ERR_CORRUPT_MESSAGE, ret_msg,
                                  "%s-%" PRId32 ": batch at byte %zu: %s", topic, partition,
                                  off + err.offset, err.reason[0] ? err.reason : "invalid batch");
        char why[160];
        const char *bad = check_client_batch(data + off, &hdr, why, sizeof(why));
        if (bad)
            return st_reply_error(req, ST_ERR_CORRUPT_MESSAGE, ret_msg,
                                  "%s-%" PRId32 ": batch at byte %zu: %s", topic, partition, off,
                                  bad);
        off += st_batch_total_size(&hdr);
    }
    return ST_ERR_NONE;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The topic's rules on validated batches, as Kafka's LogValidator applies them on the leader:
 * message.timestamp.difference.max.ms (CreateTime: the batch's first and largest timestamps
 * within that distance of now, else INVALID_TIMESTAMP), compression.type (uncompressed / lz4:
 * batches in another codec are re-encoded into a new buffer, *ret_owned, then checked again),
 * message.timestamp.type=LogAppendTime (every batch stamped with now, *ret_append_time). *data
 * and *len may be replaced by the re-encoded buffer. An st_error_t code. */
static int32_t apply_topic_rules(st_request_t *req, const char *topic, int32_t partition,
                                 const st_partition_produce_cfg_t *pc, uint8_t **data, size_t *len,
                                 uint8_t **ret_owned, int64_t *ret_append_time, char **ret_msg)
{
    int64_t now = wall_ms();
    bool append_time = pc->timestamp_type == ST_TIMESTAMP_LOG_APPEND_TIME;
    int want = pc->compression == ST_TOPIC_COMPRESSION_LZ4 ? ST_COMPRESSION_LZ4
               : pc->compression == ST_TOPIC_COMPRESSION_UNCOMPRESSED ? ST_COMPRESSION_NONE
                                                                      : -1;
    bool convert = false;
    for (size_t off = 0; off < *len;) {
        st_batch_header_t hdr;
        st_batch_header_decode(*data + off, *len - off, &hdr);
        if (!append_time && pc->timestamp_max_diff_ms < INT64_MAX) {
            int64_t ts[2] = { hdr.base_timestamp, hdr.max_timestamp };
            for (int i = 0; i < 2; i++) {
                int64_t d = ts[i] > now ? ts[i] - now : now - ts[i];
                if (d > pc->timestamp_max_diff_ms)
                    return st_reply_error(req, ST_ERR_INVALID_TIMESTAMP, ret_msg,
                                          "%s-%" PRId32 ": timestamp %" PRId64 " of the batch at "
                                          "byte %zu is out of range: it should be within [%" PRId64
                                          ", %" PRId64 "] (message.timestamp.difference.max.ms=%"
                                          PRId64 ")", topic, partition, ts[i], off,
                                          now - pc->timestamp_max_diff_ms,
                                          now + pc->timestamp_max_diff_ms,
                                          pc->timestamp_max_diff_ms);
            }
        }
        if (want >= 0 && st_batch_codec(&hdr) != want)
            convert = true;
        off += st_batch_total_size(&hdr);
    }
    if (convert) {
        st_buf_t out = ST_BUF_INIT;
        for (size_t off = 0; off < *len;) {
            st_batch_header_t hdr;
            st_batch_header_decode(*data + off, *len - off, &hdr);
            uint8_t *one = NULL;
            size_t one_len = 0;
            char why[160] = "";
            int r = st_batch_convert(*data + off, st_batch_total_size(&hdr), (st_compression_t)want,
                                     &one, &one_len, why, sizeof(why));
            if (r == 0 && st_buf_append(&out, one, one_len) < 0)
                r = -ENOMEM;
            free(one);
            if (r < 0) {
                st_buf_free(&out);
                return st_reply_error(req, r == -EBADMSG ? ST_ERR_CORRUPT_MESSAGE
                                                         : ST_ERR_UNKNOWN_SERVER_ERROR, ret_msg,
                                      "%s-%" PRId32 ": re-encoding the batch at byte %zu as %s "
                                      "(compression.type): %s", topic, partition, off,
                                      st_compression_name(want), why[0] ? why : strerror(-r));
            }
            off += st_batch_total_size(&hdr);
        }
        *ret_owned = out.data;
        *data = out.data;
        *len = out.len;
        int32_t code = validate_batches(req, topic, partition, *data, *len,
                                        pc->max_message_bytes, ret_msg);
        if (code != ST_ERR_NONE)
            return code;
    }
    if (append_time) {
        for (size_t off = 0; off < *len;) {
            st_batch_set_log_append_time(*data + off, now);
            off += ST_BATCH_LOG_OVERHEAD + st_be32(*data + off + 8);
        }
        *ret_append_time = now;
    }
    return ST_ERR_NONE;
}

/* acks=all: what each appended partition waits for. */
typedef struct produce_wait {
    st_delayed_t op;                  /* first: the parked operation (delayed.h) */
    st_request_t req;
    Strand__ProduceResponse resp;
    size_t n;
    Strand__ProducePartitionResponse **prs;   /* response entries still waiting */
    st_partition_t **parts;           /* referenced, watched */
    int32_t *epochs;                  /* leader epoch of the append */
    int64_t *required;                /* HW needed: last offset + 1 */
    bool watching;
} produce_wait_t;

static void produce_partition(st_request_t *req, const char *topic, int32_t partition,
                              uint8_t *data, size_t len, int32_t acks,
                              Strand__ProducePartitionResponse *resp, produce_wait_t *wait)
{
    char *msg = NULL;
    resp->partition = partition;
    resp->base_offset = -1;
    resp->log_append_time_ms = -1;
    resp->log_start_offset = -1;
    st_partition_t *part = st_registry_get(req->broker->reg, topic, partition);
    if (!part) {
        resp->error_code = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, &msg,
                                          "%s-%" PRId32 " does not exist", topic, partition);
        resp->error_message = msg;
        return;
    }
    st_partition_produce_cfg_t pc;
    st_partition_produce_cfg(part, &pc);
    int32_t code = validate_batches(req, topic, partition, data, len, pc.max_message_bytes, &msg);
    uint8_t *owned = NULL;
    int64_t append_time = -1;
    if (code == ST_ERR_NONE)
        code = apply_topic_rules(req, topic, partition, &pc, &data, &len, &owned, &append_time,
                                 &msg);
    if (code == ST_ERR_NONE) {
        st_log_append_info_t info;
        int64_t log_start = -1;
        int32_t epoch = -1;
        int r = st_partition_append(part, data, len, acks, &info, &log_start, &epoch);
        if (r == 0) {
            resp->base_offset = info.first_offset;
            resp->log_start_offset = log_start;
            resp->log_append_time_ms = append_time;
            if (wait) {
                size_t i = wait->n++;
                wait->prs[i] = resp;
                st_partition_ref(part);
                wait->parts[i] = part;
                wait->epochs[i] = epoch;
                wait->required[i] = info.last_offset + 1;
            }
        } else if (r == -EPERM) {
            code = st_reply_error(req, ST_ERR_NOT_LEADER_OR_FOLLOWER, &msg,
                                  "%s-%" PRId32 ": this broker is not the leader", topic, partition);
        } else if (r == -ENOTCONN) {
            size_t n_isr = ST_MAX_REPLICAS, n_rep = ST_MAX_REPLICAS;
            int32_t isr[ST_MAX_REPLICAS], rep[ST_MAX_REPLICAS];
            st_partition_leader(part, rep, &n_rep, isr, &n_isr);
            code = st_reply_error(req, ST_ERR_NOT_ENOUGH_REPLICAS, &msg,
                                  "The size of the current ISR (%zu) is insufficient to satisfy "
                                  "the min.isr requirement of %" PRId32 " for partition %s-%" PRId32,
                                  n_isr, st_partition_min_insync(part), topic, partition);
        } else if (r == -ENOENT) {
            code = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, &msg,
                                  "%s-%" PRId32 " was deleted", topic, partition);
        } else if (r == -E2BIG) {
            st_topic_config_t tc;
            st_registry_topic_config(req->broker->reg, topic, &tc);
            code = st_reply_error(req, ST_ERR_RECORD_LIST_TOO_LARGE, &msg,
                                  "Message batch size is over %" PRId32 " bytes in append to "
                                  "partition %s-%" PRId32 " which exceeds the maximum configured "
                                  "segment size of %" PRId32 " (segment.bytes).",
                                  tc.segment_bytes, topic, partition, tc.segment_bytes);
        } else {
            code = st_reply_error(req, ST_ERR_KAFKA_STORAGE_ERROR, &msg,
                                  "appending %zu bytes to %s-%" PRId32 ": %s", len, topic,
                                  partition, strerror(-r));
        }
    }
    free(owned);
    st_partition_unref(part);
    resp->error_code = code;
    resp->error_message = msg;
}

/* The partitions are the operation's keys (delayed.h). */
static st_delayed_keys_t keys_of(produce_wait_t *w)
{
    return (st_delayed_keys_t){ w->parts, w->n, st_conn_loop(w->req.conn)->index, w->watching };
}

static void wait_set_watch(produce_wait_t *w, bool on)
{
    st_delayed_keys_t keys = keys_of(w);
    st_delayed_watch(&keys, on);
    w->watching = keys.watching;
}

static void wait_release(produce_wait_t *w)
{
    st_delayed_keys_t keys = keys_of(w);
    st_delayed_release(&keys);
    w->watching = keys.watching;
}

/* 1 when every partition is settled (then responds), 0 still waiting. */
static int produce_check(produce_wait_t *w, bool final)
{
    bool pending = false;
    for (size_t i = 0; i < w->n; i++) {
        if (!w->parts[i])
            continue;
        int code = st_partition_acks_status(w->parts[i], w->epochs[i], w->required[i]);
        if (code == -1 && !final) {
            pending = true;
            continue;
        }
        char *msg = NULL;
        const char *topic = st_partition_topic(w->parts[i]);
        int32_t id = st_partition_id(w->parts[i]);
        if (code == -1)
            code = st_reply_error(&w->req, ST_ERR_REQUEST_TIMED_OUT, &msg, "%s-%" PRId32 ": the "
                                  "ISR did not reach offset %" PRId64 " in time", topic, id,
                                  w->required[i]);
        else if (code == ST_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND)
            code = st_reply_error(&w->req, code, &msg, "%s-%" PRId32 ": the ISR shrank below "
                                  "min.insync.replicas (%" PRId32 ") after the append", topic, id,
                                  st_partition_min_insync(w->parts[i]));
        else if (code == ST_ERR_NOT_LEADER_OR_FOLLOWER)
            code = st_reply_error(&w->req, code, &msg, "%s-%" PRId32 ": leadership moved while "
                                  "waiting for the ISR", topic, id);
        if (code != ST_ERR_NONE) {
            w->prs[i]->error_code = code;
            w->prs[i]->error_message = msg;
        }
        if (w->watching)
            st_partition_unwatch(w->parts[i], st_conn_loop(w->req.conn)->index);
        st_partition_unref(w->parts[i]);
        w->parts[i] = NULL;
    }
    if (pending)
        return 0;
    w->watching = false;
    int r = st_request_respond(&w->req, &w->resp.base, NULL, 0);
    return r < 0 ? r : 1;
}

static int produce_try_complete(st_delayed_t *op) { return produce_check((produce_wait_t *)op, false); }
static int produce_on_expire(st_delayed_t *op) { return produce_check((produce_wait_t *)op, true); }
static void produce_abort(st_delayed_t *op) { wait_release((produce_wait_t *)op); }

static const st_delayed_ops_t produce_ops = {
    .name = "produce",
    .try_complete = produce_try_complete,
    .on_expire = produce_on_expire,
    .abort = produce_abort,
};

int st_handle_produce(st_request_t *req)
{
    Strand__ProduceRequest *msg = strand__produce_request__unpack(&req->arena->pb, req->body_len,
                                                                 req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "ProduceRequest body of %zu bytes does not decode "
                              "(invalid protobuf)", req->body_len);
    uint64_t sum = 0;
    size_t n_parts = 0;
    for (size_t t = 0; t < msg->n_topics; t++) {
        for (size_t p = 0; p < msg->topics[t]->n_partitions; p++)
            sum += msg->topics[t]->partitions[p]->records_size;
        n_parts += msg->topics[t]->n_partitions;
    }
    if (sum != req->tail_len)
        return st_reply_fatal(req->conn, req, "ProduceRequest records_size values sum to %" PRIu64
                              " bytes but the frame carries %zu bytes of record data", sum,
                              req->tail_len);
    bool acks_ok = msg->acks == 0 || msg->acks == 1 || msg->acks == -1;

    Strand__ProduceResponse resp = STRAND__PRODUCE_RESPONSE__INIT;
    Strand__ProduceTopicResponse *topics = st_arena_calloc(req->arena, msg->n_topics, sizeof(*topics));
    Strand__ProduceTopicResponse **tptrs = st_arena_calloc(req->arena, msg->n_topics, sizeof(*tptrs));
    Strand__ProducePartitionResponse *parts = st_arena_calloc(req->arena, n_parts, sizeof(*parts));
    Strand__ProducePartitionResponse **pptrs = st_arena_calloc(req->arena, n_parts, sizeof(*pptrs));
    if ((msg->n_topics && (!topics || !tptrs)) || (n_parts && (!parts || !pptrs)))
        return st_reply_fatal(req->conn, req, "out of memory");

    produce_wait_t *wait = NULL;
    if (msg->acks == -1 && n_parts) {
        wait = st_arena_calloc(req->arena, 1, sizeof(*wait));
        if (wait) {
            wait->prs = st_arena_calloc(req->arena, n_parts, sizeof(*wait->prs));
            wait->parts = st_arena_calloc(req->arena, n_parts, sizeof(*wait->parts));
            wait->epochs = st_arena_calloc(req->arena, n_parts, sizeof(*wait->epochs));
            wait->required = st_arena_calloc(req->arena, n_parts, sizeof(*wait->required));
        }
        if (!wait || !wait->prs || !wait->parts || !wait->epochs || !wait->required)
            return st_reply_fatal(req->conn, req, "out of memory");
    }
    size_t pos = 0, k = 0;
    int32_t first_error = ST_ERR_NONE;
    const char *first_error_msg = NULL;
    for (size_t t = 0; t < msg->n_topics; t++) {
        Strand__ProduceTopicData *td = msg->topics[t];
        strand__produce_topic_response__init(&topics[t]);
        topics[t].name = td->name;
        topics[t].n_partitions = td->n_partitions;
        topics[t].partitions = &pptrs[k];
        tptrs[t] = &topics[t];
        for (size_t p = 0; p < td->n_partitions; p++, k++) {
            Strand__ProducePartitionData *pd = td->partitions[p];
            Strand__ProducePartitionResponse *pr = &parts[k];
            strand__produce_partition_response__init(pr);
            pptrs[k] = pr;
            if (!acks_ok) {
                char *emsg = NULL;
                pr->partition = pd->partition;
                pr->base_offset = pr->log_append_time_ms = pr->log_start_offset = -1;
                pr->error_code = st_reply_error(req, ST_ERR_INVALID_REQUIRED_ACKS, &emsg,
                                                "acks=%" PRId32 " (accepted: 0, 1, -1)", msg->acks);
                pr->error_message = emsg;
            } else {
                produce_partition(req, td->name, pd->partition, req->tail + pos, pd->records_size,
                                  msg->acks, pr, wait);
            }
            pos += pd->records_size;
            if (pr->error_code != ST_ERR_NONE && first_error == ST_ERR_NONE) {
                first_error = pr->error_code;
                first_error_msg = pr->error_message;
            }
        }
    }
    if (msg->acks == 0) {
        if (first_error != ST_ERR_NONE) {
            /* Already counted by st_reply_error; not a protocol violation, so INFO. */
            ST_INFO("Closing connection from %s (client '%s'): acks=0 Produce (correlation id %"
                    PRId32 ") failed with %s (%s); closing tells the producer", st_conn_peer(req->conn),
                    req->client_id, req->correlation_id, st_error_name(first_error),
                    first_error_msg ? first_error_msg : "");
            return -ECONNABORTED;
        }
        return 0;
    }
    resp.n_responses = msg->n_topics;
    resp.responses = tptrs;
    if (!wait || wait->n == 0)
        return st_request_respond(req, &resp.base, NULL, 0);
    /* acks=all: watch first, then check, then park (an HW move in between wakes us). */
    wait->op.ops = &produce_ops;
    wait->req = *req;
    wait->req.body = NULL;
    wait->req.tail = NULL;
    wait->resp = resp;
    wait_set_watch(wait, true);
    int r = produce_check(wait, false);
    if (r != 0)
        return r < 0 ? r : 0;
    int32_t timeout = msg->timeout_ms > 0 ? msg->timeout_ms : 30000;
    st_conn_park(req->conn, &wait->op, timeout);
    return 0;
}
