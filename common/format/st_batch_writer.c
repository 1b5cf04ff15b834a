/* RecordBatch v2 writer: builds one Kafka-compatible batch at a time (see st_batch.h for the
 * layout).
 *
 * Records are encoded straight into one growable buffer, behind 61 bytes reserved for the batch
 * header, so an uncompressed batch is finished in place: fill the header, one CRC pass. With LZ4
 * the records section is compressed on finish into a second buffer (header + one LZ4 frame).
 * Both buffers grow geometrically and are kept across reset, so a reused writer allocates
 * nothing in steady state.
 *
 * Invariants (checked by writer_check at every transition):
 *   1. ST_BATCH_HEADER_SIZE <= len <= cap, and buf != NULL.
 *   2. count records are encoded in buf[61, len); count == 0 iff len == 61.
 *   3. len - 12 <= INT32_MAX (the batch fits a batchLength).
 *   4. While count > 0: base_timestamp is the first record's timestamp and max_timestamp the
 *      largest one added (timestamps need not be in order; deltas may be negative).
 *   5. Offset deltas strictly increase: last_delta is the last record's (-1 when count == 0)
 *      and last_delta >= count - 1 (st_batch_writer_add_at may leave gaps).
 *
 * Not thread-safe: one writer per thread (or under the caller's lock). Standalone: knows nothing
 * of logs, brokers or networks. */
#include "st_batch.h"
#include "st_compression.h"
#include "st_crc32c.h"
#include "st_varint.h"
#include "st_buf.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define WRITER_INITIAL_CAP 4096

struct st_batch_writer {
    st_compression_t codec;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    /* header space + uncompressed records */
    uint8_t *buf;
    size_t len;
    size_t cap;
    int32_t count;
    int32_t last_delta;      /* offsetDelta of the last record added, -1 when none */
    int16_t flags;           /* extra attribute bits (set_rewrite), cleared by reset */
    int32_t last_delta_override; /* lastOffsetDelta to write if larger (set_rewrite), or -1 */
    int64_t base_timestamp;
    int64_t max_timestamp;
    /* LZ4: header + compressed records, built by finish */
    uint8_t *out;
    size_t out_cap;
    void *lz4_cctx;
};

static bool writer_check(const st_batch_writer_t *w)
{
    assert(w->buf != NULL);
    assert(w->len >= ST_BATCH_HEADER_SIZE && w->len <= w->cap);
    assert(w->count >= 0);
    assert((w->count == 0) == (w->len == ST_BATCH_HEADER_SIZE));
    assert(w->count == 0 ? w->last_delta == -1 : w->last_delta >= w->count - 1);
    assert(w->len - ST_BATCH_LOG_OVERHEAD <= INT32_MAX);
    return true;
}

st_batch_writer_t *st_batch_writer_new(st_compression_t codec)
{
    st_batch_writer_t *w;

    if (codec != ST_COMPRESSION_NONE && codec != ST_COMPRESSION_LZ4) {
        errno = ENOTSUP;
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->buf = malloc(WRITER_INITIAL_CAP);
    if (w->buf == NULL) {
        free(w);
        errno = ENOMEM;
        return NULL;
    }
    w->cap = WRITER_INITIAL_CAP;
    w->codec = codec;
    w->producer_id = ST_NO_PRODUCER_ID;
    w->producer_epoch = ST_NO_PRODUCER_EPOCH;
    w->base_sequence = ST_NO_SEQUENCE;
    st_batch_writer_reset(w);
    return w;
}

void st_batch_writer_free(st_batch_writer_t *w)
{
    if (w == NULL)
        return;
    st_compression_lz4_cctx_free(w->lz4_cctx);
    free(w->out);
    free(w->buf);
    free(w);
}

void st_batch_writer_reset(st_batch_writer_t *w)
{
    w->len = ST_BATCH_HEADER_SIZE;
    w->count = 0;
    w->last_delta = -1;
    w->flags = 0;
    w->last_delta_override = -1;
    w->base_timestamp = 0;
    w->max_timestamp = 0;
    assert(writer_check(w));
}

void st_batch_writer_set_producer(st_batch_writer_t *w, int64_t producer_id, int16_t producer_epoch,
                                  int32_t base_sequence)
{
    w->producer_id = producer_id;
    w->producer_epoch = producer_epoch;
    w->base_sequence = base_sequence;
}

size_t st_batch_writer_count(const st_batch_writer_t *w)
{
    return (size_t)w->count;
}

size_t st_batch_writer_size(const st_batch_writer_t *w)
{
    return w->len;
}

/* Grows a buffer to hold at least `need` bytes, at least doubling. */
static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    size_t new_cap = *cap ? *cap : WRITER_INITIAL_CAP;
    uint8_t *p;

    while (new_cap < need)
        new_cap = new_cap > SIZE_MAX / 2 ? need : new_cap * 2;
    p = realloc(*buf, new_cap);
    if (p == NULL)
        return -ENOMEM;
    *buf = p;
    *cap = new_cap;
    return 0;
}

/* Encoded size of a length-prefixed field (length -1 = null, no bytes). */
static inline size_t field_size(ssize_t len)
{
    return len < 0 ? 1 : st_varint_size32((int32_t)len) + (size_t)len;
}

static inline uint8_t *put_field(uint8_t *p, const void *data, ssize_t len)
{
    if (len < 0) {
        *p++ = 0x01;  /* zigzag(-1) */
        return p;
    }
    p += st_varint_encode32(p, (int32_t)len);
    if (len > 0) {
        memcpy(p, data, (size_t)len);
        p += len;
    }
    return p;
}

static int add_record(st_batch_writer_t *w, int32_t offset_delta, int64_t timestamp_ms,
                      const void *key, ssize_t key_len, const void *value, ssize_t value_len,
                      const st_record_header_t *headers, size_t header_count)
{
    const size_t limit = (size_t)INT32_MAX;  /* every length field is an int32 */
    int64_t base_ts = w->count == 0 ? timestamp_ms : w->base_timestamp;
    int64_t ts_delta = (int64_t)((uint64_t)timestamp_ms - (uint64_t)base_ts);
    size_t body, total;
    uint8_t *p;

    if ((key_len > 0 && key == NULL) || (value_len > 0 && value == NULL) ||
        (header_count > 0 && headers == NULL))
        return -EINVAL;
    if (key_len < 0)
        key_len = -1;
    if (value_len < 0)
        value_len = -1;
    if (key_len >= (ssize_t)limit || value_len >= (ssize_t)limit || header_count > limit ||
        w->count == INT32_MAX)
        return -E2BIG;

    body = 1 + st_varint_size64(ts_delta) + st_varint_size32(offset_delta) + field_size(key_len) +
           field_size(value_len) + st_varint_size32((int32_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        const st_record_header_t *h = &headers[i];
        if (h->key_len > 0 && h->key == NULL)
            return -EINVAL;
        if (h->key_len >= limit || (h->value != NULL && h->value_len >= limit))
            return -E2BIG;
        body += field_size((ssize_t)h->key_len) + field_size(h->value ? (ssize_t)h->value_len : -1);
        if (body > limit)
            return -E2BIG;
    }
    if (body > limit)
        return -E2BIG;
    total = st_varint_size32((int32_t)body) + body;
    if (total > limit - (w->len - ST_BATCH_LOG_OVERHEAD))
        return -E2BIG;
    if (w->len + total > w->cap && grow(&w->buf, &w->cap, w->len + total) < 0)
        return -ENOMEM;

    p = w->buf + w->len;
    p += st_varint_encode32(p, (int32_t)body);
    *p++ = 0;  /* record attributes: unused in v2 */
    p += st_varint_encode64(p, ts_delta);
    p += st_varint_encode32(p, offset_delta);
    p = put_field(p, key, key_len);
    p = put_field(p, value, value_len);
    p += st_varint_encode32(p, (int32_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        const st_record_header_t *h = &headers[i];
        p = put_field(p, h->key, (ssize_t)h->key_len);
        p = put_field(p, h->value, h->value ? (ssize_t)h->value_len : -1);
    }
    assert((size_t)(p - (w->buf + w->len)) == total);

    if (w->count == 0) {
        w->base_timestamp = timestamp_ms;
        w->max_timestamp = timestamp_ms;
    } else if (timestamp_ms > w->max_timestamp) {
        w->max_timestamp = timestamp_ms;
    }
    w->len += total;
    w->count++;
    w->last_delta = offset_delta;
    assert(writer_check(w));
    return 0;
}

int st_batch_writer_add(st_batch_writer_t *w, int64_t timestamp_ms,
                        const void *key, ssize_t key_len, const void *value, ssize_t value_len,
                        const st_record_header_t *headers, size_t header_count)
{
    if (w->last_delta == INT32_MAX)
        return -E2BIG;
    return add_record(w, w->last_delta + 1, timestamp_ms, key, key_len, value, value_len,
                      headers, header_count);
}

int st_batch_writer_add_at(st_batch_writer_t *w, int32_t offset_delta, int64_t timestamp_ms,
                           const void *key, ssize_t key_len, const void *value, ssize_t value_len,
                           const st_record_header_t *headers, size_t header_count)
{
    if (offset_delta <= w->last_delta)
        return -EINVAL;
    return add_record(w, offset_delta, timestamp_ms, key, key_len, value, value_len, headers,
                      header_count);
}

int st_batch_writer_set_rewrite(st_batch_writer_t *w, int16_t flags, int32_t last_offset_delta)
{
    if ((flags & ~(ST_BATCH_ATTR_LOG_APPEND_TIME | ST_BATCH_ATTR_TRANSACTIONAL)) != 0 ||
        last_offset_delta < -1)
        return -EINVAL;
    w->flags = flags;
    w->last_delta_override = last_offset_delta;
    return 0;
}

static void put_header(uint8_t *b, const st_batch_writer_t *w, size_t total)
{
    int32_t last_delta = w->last_delta_override > w->last_delta ? w->last_delta_override
                                                                : w->last_delta;

    st_put_be64(b + 0, 0);                                      /* baseOffset */
    st_put_be32(b + 8, (uint32_t)(total - ST_BATCH_LOG_OVERHEAD)); /* batchLength */
    st_put_be32(b + 12, (uint32_t)-1);                          /* partitionLeaderEpoch */
    b[16] = ST_BATCH_MAGIC;
    st_put_be16(b + 21, (uint16_t)(w->codec | w->flags));       /* attributes */
    st_put_be32(b + 23, (uint32_t)last_delta);                  /* lastOffsetDelta */
    st_put_be64(b + 27, (uint64_t)w->base_timestamp);
    st_put_be64(b + 35, (uint64_t)w->max_timestamp);
    st_put_be64(b + 43, (uint64_t)w->producer_id);
    st_put_be16(b + 51, (uint16_t)w->producer_epoch);
    st_put_be32(b + 53, (uint32_t)w->base_sequence);
    st_put_be32(b + 57, (uint32_t)w->count);
    st_put_be32(b + ST_BATCH_CRC_OFFSET,
                st_crc32c(0, b + ST_BATCH_ATTR_OFFSET, total - ST_BATCH_ATTR_OFFSET));
}

int st_batch_writer_finish(st_batch_writer_t *w, const void **ret_buf, size_t *ret_len)
{
    uint8_t *batch;
    size_t total;

    assert(writer_check(w));
    if (w->count == 0)
        return -ENODATA;
    if (w->codec == ST_COMPRESSION_LZ4) {
        size_t records_len = w->len - ST_BATCH_HEADER_SIZE;
        size_t need = ST_BATCH_HEADER_SIZE + st_compression_lz4_bound(records_len);
        size_t clen;
        int ret;

        if (need > w->out_cap && grow(&w->out, &w->out_cap, need) < 0)
            return -ENOMEM;
        ret = st_compression_lz4_compress(&w->lz4_cctx, w->out + ST_BATCH_HEADER_SIZE,
                                          w->out_cap - ST_BATCH_HEADER_SIZE,
                                          w->buf + ST_BATCH_HEADER_SIZE, records_len, &clen,
                                          NULL, 0);
        if (ret < 0)
            return ret;
        total = ST_BATCH_HEADER_SIZE + clen;
        if (total - ST_BATCH_LOG_OVERHEAD > INT32_MAX)
            return -E2BIG;
        batch = w->out;
    } else {
        total = w->len;
        batch = w->buf;
    }
    put_header(batch, w, total);
    *ret_buf = batch;
    *ret_len = total;
    return 0;
}
