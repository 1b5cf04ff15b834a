/* RecordBatch v2 reader: header decoding, validation, broker stamping, and iteration over the
 * batches and records of a buffer (see st_batch.h for the layout).
 *
 * Nothing here trusts the input: every length and varint is checked against the end of the
 * buffer before it is used, and every rejection says why and at which byte (the offset is
 * relative to the buffer handed in; for LZ4 batches a record error points at the batch and the
 * reason gives the position within the decompressed records).
 *
 * Reader invariants (checked by reader_check at every transition):
 *   1. pos <= len; batch_pos <= pos.
 *   2. in_batch => rec <= rec_end, both inside the current batch's records (in buf, or in
 *      scratch for an LZ4 batch), and 0 <= records_left <= hdr.record_count.
 *   3. scratch_cap == 0 iff scratch == NULL.
 * Errors are sticky: a failing call leaves the cursor where it was, so calling again reports
 * the same error.
 *
 * Not thread-safe: one reader per thread. Standalone: knows nothing of logs, brokers or
 * networks. */
#include "st_batch.h"
#include "st_compression.h"
#include "st_crc32c.h"
#include "st_varint.h"
#include "st_buf.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Smallest batchLength: the header after the batchLength field. */
#define BATCH_MIN_LENGTH (ST_BATCH_HEADER_SIZE - ST_BATCH_LOG_OVERHEAD)
/* Smallest encoded record: length, attributes, timestampDelta, offsetDelta, keyLength,
 * valueLength, headerCount -- one byte each. */
#define RECORD_MIN_SIZE 7

static int set_error(st_batch_error_t *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_error(st_batch_error_t *err, int code, size_t offset, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->offset = offset;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return code;
}

/* ---- header-level operations ----------------------------------------------------------------- */

int st_batch_header_decode(const void *buf, size_t len, st_batch_header_t *ret_hdr)
{
    const uint8_t *b = buf;

    if (len < ST_BATCH_HEADER_SIZE)
        return -EAGAIN;
    ret_hdr->base_offset = (int64_t)st_be64(b + 0);
    ret_hdr->batch_length = (int32_t)st_be32(b + 8);
    ret_hdr->partition_leader_epoch = (int32_t)st_be32(b + 12);
    ret_hdr->magic = (int8_t)b[16];
    ret_hdr->crc = st_be32(b + 17);
    ret_hdr->attributes = (int16_t)st_be16(b + 21);
    ret_hdr->last_offset_delta = (int32_t)st_be32(b + 23);
    ret_hdr->base_timestamp = (int64_t)st_be64(b + 27);
    ret_hdr->max_timestamp = (int64_t)st_be64(b + 35);
    ret_hdr->producer_id = (int64_t)st_be64(b + 43);
    ret_hdr->producer_epoch = (int16_t)st_be16(b + 51);
    ret_hdr->base_sequence = (int32_t)st_be32(b + 53);
    ret_hdr->record_count = (int32_t)st_be32(b + 57);
    return 0;
}

int st_batch_validate(const void *buf, size_t len, st_batch_header_t *ret_hdr,
                      st_batch_error_t *err)
{
    const uint8_t *b = buf;
    st_batch_header_t hdr;
    size_t total;
    uint32_t crc;
    int codec;

    if (st_batch_header_decode(buf, len, &hdr) < 0)
        return set_error(err, -EAGAIN, 0, "partial batch: %zu bytes, the header alone needs %d",
                         len, ST_BATCH_HEADER_SIZE);
    if (hdr.magic != ST_BATCH_MAGIC)
        return set_error(err, -EBADMSG, 16, "unsupported magic %d (only RecordBatch v2, magic 2)",
                         hdr.magic);
    if (hdr.batch_length < BATCH_MIN_LENGTH)
        return set_error(err, -EBADMSG, 8, "batchLength %" PRId32 " below the minimum %d",
                         hdr.batch_length, BATCH_MIN_LENGTH);
    total = st_batch_total_size(&hdr);
    if (total > len)
        return set_error(err, -EAGAIN, 0,
                         "partial batch: batchLength says %zu bytes, %zu available", total, len);
    crc = st_crc32c(0, b + ST_BATCH_ATTR_OFFSET, total - ST_BATCH_ATTR_OFFSET);
    if (crc != hdr.crc)
        return set_error(err, -EBADMSG, ST_BATCH_CRC_OFFSET,
                         "CRC-32C mismatch: stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
                         " over %zu bytes", hdr.crc, crc, total - ST_BATCH_ATTR_OFFSET);
    codec = st_batch_codec(&hdr);
    if (codec == ST_COMPRESSION_GZIP || codec == ST_COMPRESSION_SNAPPY ||
        codec == ST_COMPRESSION_ZSTD)
        return set_error(err, -ENOTSUP, ST_BATCH_ATTR_OFFSET,
                         "compression codec %s (%d) is not supported (only none and lz4)",
                         st_compression_name(codec), codec);
    if (codec != ST_COMPRESSION_NONE && codec != ST_COMPRESSION_LZ4)
        return set_error(err, -EBADMSG, ST_BATCH_ATTR_OFFSET,
                         "invalid compression codec %d in attributes 0x%04x", codec,
                         (unsigned)(uint16_t)hdr.attributes);
    if (hdr.record_count < 0)
        return set_error(err, -EBADMSG, 57, "negative recordCount %" PRId32, hdr.record_count);
    if (hdr.last_offset_delta < 0)
        return set_error(err, -EBADMSG, 23, "negative lastOffsetDelta %" PRId32,
                         hdr.last_offset_delta);
    /* Records have distinct offsets in [baseOffset, baseOffset + lastOffsetDelta]. */
    if (hdr.record_count > 0 && hdr.last_offset_delta < hdr.record_count - 1)
        return set_error(err, -EBADMSG, 23,
                         "lastOffsetDelta %" PRId32 " too small for recordCount %" PRId32,
                         hdr.last_offset_delta, hdr.record_count);
    if (codec == ST_COMPRESSION_NONE &&
        (size_t)hdr.record_count > (total - ST_BATCH_HEADER_SIZE) / RECORD_MIN_SIZE)
        return set_error(err, -EBADMSG, 57,
                         "recordCount %" PRId32 " cannot fit in %zu bytes of records",
                         hdr.record_count, total - ST_BATCH_HEADER_SIZE);
    if (ret_hdr != NULL)
        *ret_hdr = hdr;
    return 0;
}

void st_batch_stamp(void *buf, int64_t base_offset, int32_t partition_leader_epoch)
{
    uint8_t *b = buf;

    st_put_be64(b + 0, (uint64_t)base_offset);
    st_put_be32(b + 12, (uint32_t)partition_leader_epoch);
}

/* ---- reader ------------------------------------------------------------------------------------ */

static bool reader_check(const st_batch_reader_t *r)
{
    assert(r->pos <= r->len);
    assert(r->batch_pos <= r->pos);
    assert((r->scratch_cap == 0) == (r->scratch == NULL));
    if (r->in_batch) {
        assert(r->rec != NULL && r->rec_end != NULL && r->rec <= r->rec_end);
        assert(r->records_left >= 0 && r->records_left <= r->hdr.record_count);
        if (st_batch_codec(&r->hdr) == ST_COMPRESSION_NONE)
            assert(r->rec >= r->buf + r->batch_pos + ST_BATCH_HEADER_SIZE &&
                   r->rec_end == r->buf + r->pos);
        else
            assert(r->rec >= r->scratch && r->rec_end <= r->scratch + r->scratch_cap);
    }
    return true;
}

void st_batch_reader_init(st_batch_reader_t *r, const void *buf, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->len = buf != NULL ? len : 0;
    assert(reader_check(r));
}

void st_batch_reader_destroy(st_batch_reader_t *r)
{
    free(r->scratch);
    st_compression_lz4_dctx_free(r->lz4_dctx);
    r->scratch = NULL;
    r->scratch_cap = 0;
    r->lz4_dctx = NULL;
    r->in_batch = false;
}

int st_batch_reader_next_batch(st_batch_reader_t *r, st_batch_header_t *ret_hdr)
{
    st_batch_header_t hdr;
    const uint8_t *batch, *rec, *rec_end;
    st_batch_error_t err;
    int ret;

    assert(reader_check(r));
    r->in_batch = false;
    if (r->pos >= r->len)
        return 0;
    batch = r->buf + r->pos;
    ret = st_batch_validate(batch, r->len - r->pos, &hdr, &err);
    if (ret == -EAGAIN)
        return 0;  /* a partial tail: st_batch_reader_tail() tells how long */
    if (ret < 0) {
        r->err.offset = r->pos + err.offset;
        memcpy(r->err.reason, err.reason, sizeof(err.reason));
        return ret;
    }
    if (st_batch_codec(&hdr) == ST_COMPRESSION_LZ4) {
        size_t out_len = 0, err_pos = 0;
        ret = st_compression_lz4_decompress(&r->lz4_dctx, batch + ST_BATCH_HEADER_SIZE,
                                            st_batch_total_size(&hdr) - ST_BATCH_HEADER_SIZE,
                                            &r->scratch, &r->scratch_cap,
                                            ST_COMPRESSION_MAX_DECOMPRESSED, &out_len, &err_pos,
                                            r->err.reason, sizeof(r->err.reason));
        if (ret < 0) {
            r->err.offset = r->pos + ST_BATCH_HEADER_SIZE + err_pos;
            return ret;
        }
        assert(r->scratch != NULL);
        rec = r->scratch;
        rec_end = r->scratch + out_len;
    } else {
        rec = batch + ST_BATCH_HEADER_SIZE;
        rec_end = batch + st_batch_total_size(&hdr);
    }
    r->hdr = hdr;
    r->batch_pos = r->pos;
    r->pos += st_batch_total_size(&hdr);
    r->rec = rec;
    r->rec_end = rec_end;
    r->records_left = hdr.record_count;
    r->in_batch = true;
    if (ret_hdr != NULL)
        *ret_hdr = hdr;
    assert(reader_check(r));
    return 1;
}

/* Reports a record-level error at p (inside the current batch's records). */
static int record_error(st_batch_reader_t *r, const uint8_t *p, const char *what, ...)
    __attribute__((format(printf, 3, 4)));

static int record_error(st_batch_reader_t *r, const uint8_t *p, const char *what, ...)
{
    int32_t index = r->hdr.record_count - r->records_left;
    char msg[112];
    va_list ap;

    va_start(ap, what);
    vsnprintf(msg, sizeof(msg), what, ap);
    va_end(ap);
    if (st_batch_codec(&r->hdr) == ST_COMPRESSION_NONE)
        return set_error(&r->err, -EBADMSG, (size_t)(p - r->buf), "record %" PRId32 ": %s",
                         index, msg);
    return set_error(&r->err, -EBADMSG, r->batch_pos,
                     "record %" PRId32 " at byte %zu of the decompressed records: %s", index,
                     (size_t)(p - r->scratch), msg);
}

/* Decodes a length (varint, >= min) of a field that must then fit before end. */
static int read_length(const uint8_t **pp, const uint8_t *end, int32_t min, int32_t *ret_len)
{
    int32_t v;
    int n = st_varint_decode32(*pp, (size_t)(end - *pp), &v);

    if (n < 0)
        return n;
    if (v < min || (v > 0 && (size_t)v > (size_t)(end - *pp - n)))
        return -ERANGE;
    *pp += n;
    *ret_len = v;
    return 0;
}

static const char *length_problem(int ret)
{
    return ret == -EAGAIN  ? "varint runs past the end" :
           ret == -EBADMSG ? "varint too long" :
                             "negative or past the end";
}

int st_batch_reader_next_record(st_batch_reader_t *r, st_record_t *ret_rec)
{
    const uint8_t *p, *end, *headers;
    int32_t length, offset_delta, key_len, value_len, header_count;
    const uint8_t *key, *value;
    int64_t ts_delta;
    st_record_t rec;
    int ret;

    assert(reader_check(r));
    if (!r->in_batch)
        return 0;
    p = r->rec;
    if (r->records_left == 0) {
        if (p != r->rec_end)
            return record_error(r, p, "%zu bytes left after the last of recordCount %" PRId32
                                " records", (size_t)(r->rec_end - p), r->hdr.record_count);
        return 0;
    }
    if (p == r->rec_end)
        return record_error(r, p, "records end before recordCount %" PRId32 " is reached",
                            r->hdr.record_count);

    ret = read_length(&p, r->rec_end, 0, &length);
    if (ret < 0)
        return record_error(r, r->rec, "record length: %s", length_problem(ret));
    end = p + length;
    if (length < RECORD_MIN_SIZE - 1)
        return record_error(r, r->rec, "record length %" PRId32 " too short", length);
    p++;  /* attributes: unused in v2 */
    ret = st_varint_decode64(p, (size_t)(end - p), &ts_delta);
    if (ret < 0)
        return record_error(r, p, "timestampDelta: %s", length_problem(ret));
    p += ret;
    ret = st_varint_decode32(p, (size_t)(end - p), &offset_delta);
    if (ret < 0)
        return record_error(r, p, "offsetDelta: %s", length_problem(ret));
    p += ret;
    ret = read_length(&p, end, -1, &key_len);
    if (ret < 0)
        return record_error(r, p, "key length: %s", length_problem(ret));
    key = key_len >= 0 ? p : NULL;
    if (key_len > 0)
        p += key_len;
    ret = read_length(&p, end, -1, &value_len);
    if (ret < 0)
        return record_error(r, p, "value length: %s", length_problem(ret));
    value = value_len >= 0 ? p : NULL;
    if (value_len > 0)
        p += value_len;
    ret = st_varint_decode32(p, (size_t)(end - p), &header_count);
    if (ret < 0)
        return record_error(r, p, "header count: %s", length_problem(ret));
    p += ret;
    if (header_count < 0 || (size_t)header_count > (size_t)(end - p) / 2)
        return record_error(r, p, "header count %" PRId32 " does not fit the record",
                            header_count);
    headers = p;
    for (int32_t i = 0; i < header_count; i++) {
        int32_t hk_len, hv_len;
        ret = read_length(&p, end, 0, &hk_len);
        if (ret < 0)
            return record_error(r, p, "header %" PRId32 " key length: %s", i,
                                length_problem(ret));
        p += hk_len;
        ret = read_length(&p, end, -1, &hv_len);
        if (ret < 0)
            return record_error(r, p, "header %" PRId32 " value length: %s", i,
                                length_problem(ret));
        if (hv_len > 0)
            p += hv_len;
    }
    if (p != end)
        return record_error(r, p, "%zu unread bytes at the end of the record (length %" PRId32
                            ")", (size_t)(end - p), length);

    rec.offset = (int64_t)((uint64_t)r->hdr.base_offset + (uint64_t)(int64_t)offset_delta);
    if (r->hdr.attributes & ST_BATCH_ATTR_LOG_APPEND_TIME)
        rec.timestamp = r->hdr.max_timestamp;
    else
        rec.timestamp = (int64_t)((uint64_t)r->hdr.base_timestamp + (uint64_t)ts_delta);
    rec.key = key;
    rec.key_len = key_len;
    rec.value = value;
    rec.value_len = value_len;
    rec.header_count = (uint32_t)header_count;
    rec.headers = headers;
    rec.headers_len = (size_t)(end - headers);
    r->rec = end;
    r->records_left--;
    *ret_rec = rec;
    assert(reader_check(r));
    return 1;
}

size_t st_batch_reader_tail(const st_batch_reader_t *r)
{
    return r->len - r->pos;
}

const st_batch_error_t *st_batch_reader_error(const st_batch_reader_t *r)
{
    return &r->err;
}

int st_record_header_next(const st_record_t *rec, size_t *pos, st_record_header_t *ret_hdr)
{
    const uint8_t *start, *p, *end;
    int32_t key_len, value_len;
    st_record_header_t hdr;

    if (*pos == rec->headers_len)
        return 0;
    if (*pos > rec->headers_len || rec->headers == NULL)
        return -EINVAL;
    start = p = rec->headers + *pos;
    end = rec->headers + rec->headers_len;
    if (read_length(&p, end, 0, &key_len) < 0)
        return -EBADMSG;
    hdr.key = (const char *)p;
    hdr.key_len = (size_t)key_len;
    p += key_len;
    if (read_length(&p, end, -1, &value_len) < 0)
        return -EBADMSG;
    hdr.value = value_len >= 0 ? p : NULL;
    hdr.value_len = value_len >= 0 ? (size_t)value_len : 0;
    if (value_len > 0)
        p += value_len;
    *pos += (size_t)(p - start);
    *ret_hdr = hdr;
    return 1;
}
