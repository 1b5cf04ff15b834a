/* Kafka RecordBatch v2 (magic 2): the one record format of Strand, on the wire and on disk.
 *
 * Layout (all integers big-endian), 61-byte header then the records:
 *   off  size  field
 *     0     8  baseOffset            stamped by the broker at append
 *     8     4  batchLength           bytes after this field (total size = 12 + batchLength)
 *    12     4  partitionLeaderEpoch  stamped by the broker at append
 *    16     1  magic (= 2)
 *    17     4  crc                   CRC-32C of bytes [21, end) -- i.e. attributes onward, so
 *                                    stamping baseOffset/leader epoch never changes it
 *    21     2  attributes            bits 0-2 codec, 3 timestampType, 4 transactional, 5 control
 *    23     4  lastOffsetDelta
 *    27     8  baseTimestamp
 *    35     8  maxTimestamp
 *    43     8  producerId
 *    51     2  producerEpoch
 *    53     4  baseSequence
 *    57     4  recordCount
 *    61        records (possibly compressed as one LZ4 frame when codec = 3)
 * Each record: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
 * keyLength varint (-1 = null), key, valueLength varint (-1 = null), value, headerCount varint,
 * then headers (keyLength varint, key, valueLength varint, value). Varints are zigzag.
 *
 * The writer (st_batch_writer.c) and the reader (st_batch_reader.c) share this header. Neither
 * knows anything about logs, brokers or networks. Functions return 0 / positive on success and a
 * negative errno-style value on failure; output parameters are untouched on failure. */
#ifndef ST_BATCH_H
#define ST_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ST_BATCH_HEADER_SIZE      61
#define ST_BATCH_LOG_OVERHEAD     12   /* baseOffset + batchLength */
#define ST_BATCH_MAGIC            2
#define ST_BATCH_CRC_OFFSET       17
#define ST_BATCH_ATTR_OFFSET      21   /* CRC covers [ST_BATCH_ATTR_OFFSET, end) */
#define ST_BATCH_COMPRESSION_MASK 0x07
#define ST_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define ST_BATCH_ATTR_TRANSACTIONAL   0x10
#define ST_BATCH_ATTR_CONTROL         0x20
#define ST_NO_PRODUCER_ID    (-1LL)
#define ST_NO_PRODUCER_EPOCH (-1)
#define ST_NO_SEQUENCE       (-1)

typedef enum st_compression {
    ST_COMPRESSION_NONE   = 0,
    ST_COMPRESSION_GZIP   = 1,  /* recognised, rejected: not supported by Strand */
    ST_COMPRESSION_SNAPPY = 2,  /* recognised, rejected */
    ST_COMPRESSION_LZ4    = 3,  /* LZ4 frame format */
    ST_COMPRESSION_ZSTD   = 4,  /* recognised, rejected */
} st_compression_t;

/* "none", "gzip", "snappy", "lz4", "zstd", or "unknown". */
const char *st_compression_name(int codec);
/* Parses "none"/"lz4" (case-insensitive); returns -EINVAL for anything else, -ENOTSUP for
 * gzip/snappy/zstd. */
int st_compression_parse(const char *name, st_compression_t *ret_codec);

typedef struct st_batch_header {
    int64_t base_offset;
    int32_t batch_length;
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} st_batch_header_t;

/* Where and why a batch was rejected: offset is the byte position within the buffer handed to
 * the function (callers add the file position). */
typedef struct st_batch_error {
    size_t offset;
    char reason[160];
} st_batch_error_t;

static inline size_t st_batch_total_size(const st_batch_header_t *hdr)
{
    return (size_t)ST_BATCH_LOG_OVERHEAD + (size_t)hdr->batch_length;
}
static inline int64_t st_batch_last_offset(const st_batch_header_t *hdr)
{
    /* unsigned: a corrupt header must not make this undefined behaviour */
    return (int64_t)((uint64_t)hdr->base_offset + (uint64_t)(int64_t)hdr->last_offset_delta);
}
static inline int st_batch_codec(const st_batch_header_t *hdr)
{
    return hdr->attributes & ST_BATCH_COMPRESSION_MASK;
}

/* ---- header-level operations (st_batch_reader.c) -------------------------------------------- */

/* Decodes the 61-byte header at buf. Needs len >= ST_BATCH_HEADER_SIZE (else -EAGAIN). Checks
 * nothing but that it can read it. */
int st_batch_header_decode(const void *buf, size_t len, st_batch_header_t *ret_hdr);

/* Full validation of ONE batch starting at buf with len bytes available:
 *   -EAGAIN   fewer bytes than the header or than the batch claims (a torn / partial tail),
 *   -EBADMSG  magic != 2, batchLength < 49, recordCount < 0, lastOffsetDelta < 0, CRC mismatch,
 *             codec unsupported (gzip/snappy/zstd/5-7) -> err->reason says which; -ENOTSUP is
 *             returned instead of -EBADMSG for a recognised-but-unsupported codec. Also
 *             -EBADMSG when lastOffsetDelta < recordCount - 1 (records have distinct offsets)
 *             or, uncompressed, recordCount > what the records section can hold (7 bytes each).
 * Order: magic, batchLength, size (-EAGAIN), CRC, then the CRC-covered fields. err may be NULL.
 * On success fills ret_hdr and returns 0. Does not decompress or walk the records (cheap: one
 * CRC pass), which is what the broker does on produce and what recovery does per batch. */
int st_batch_validate(const void *buf, size_t len, st_batch_header_t *ret_hdr,
                      st_batch_error_t *err);

/* Writes baseOffset and partitionLeaderEpoch into a batch in place (not covered by the CRC). */
void st_batch_stamp(void *buf, int64_t base_offset, int32_t partition_leader_epoch);

/* ---- broker-side rewrites (st_batch_convert.c) ----------------------------------------------- */

/* message.timestamp.type=LogAppendTime: sets the batch's timestamp type to LogAppendTime and its
 * maxTimestamp to timestamp_ms, in place, and recomputes the CRC (Kafka's
 * setMaxTimestamp(LOG_APPEND_TIME, now)). buf holds one whole validated batch. */
void st_batch_set_log_append_time(void *buf, int64_t timestamp_ms);
/* compression.type: one whole validated batch re-encoded with codec (NONE or LZ4) into a new
 * malloc'd buffer (*ret, *ret_len): the records section compressed or decompressed as it is,
 * batchLength, the codec bits and the CRC rewritten, everything else kept. 0, -ENOTSUP (a codec
 * other than none / lz4), -EBADMSG (a corrupt LZ4 frame, reason says why), -E2BIG, -ENOMEM. */
int st_batch_convert(const void *batch, size_t len, st_compression_t codec, uint8_t **ret,
                     size_t *ret_len, char *reason, size_t reason_len);

/* ---- writer (st_batch_writer.c) --------------------------------------------------------------- */

typedef struct st_record_header {
    const char *key;         /* header keys are non-null strings */
    size_t key_len;
    const void *value;       /* NULL = null value */
    size_t value_len;
} st_record_header_t;

typedef struct st_batch_writer st_batch_writer_t;

/* A reusable builder for one batch at a time. codec: NONE or LZ4 (others -> NULL, errno ENOTSUP).
 * producer_id/epoch/base_sequence: ST_NO_* unless idempotence is in use. */
st_batch_writer_t *st_batch_writer_new(st_compression_t codec);
void st_batch_writer_free(st_batch_writer_t *w);
/* Starts a new batch (discarding any unfinished one). */
void st_batch_writer_reset(st_batch_writer_t *w);
void st_batch_writer_set_producer(st_batch_writer_t *w, int64_t producer_id, int16_t producer_epoch,
                                  int32_t base_sequence);
/* Appends one record. key_len/value_len < 0 mean a null key/value (pointer ignored). The first
 * record's timestamp becomes baseTimestamp. Returns 0 or -ENOMEM / -EINVAL / -E2BIG (over 2 GiB). */
int st_batch_writer_add(st_batch_writer_t *w, int64_t timestamp_ms,
                        const void *key, ssize_t key_len, const void *value, ssize_t value_len,
                        const st_record_header_t *headers, size_t header_count);
/* Like st_batch_writer_add, with an explicit offsetDelta (relative to the batch's base offset),
 * which must be above the previous record's: the log cleaner re-encodes the survivors of a
 * compacted batch with their original offsets (gaps allowed). lastOffsetDelta becomes the last
 * record's delta. st_batch_writer_add continues from the last delta + 1. -EINVAL when not
 * increasing. (Added by storage for compaction.) */
int st_batch_writer_add_at(st_batch_writer_t *w, int32_t offset_delta, int64_t timestamp_ms,
                           const void *key, ssize_t key_len, const void *value, ssize_t value_len,
                           const st_record_header_t *headers, size_t header_count);
/* For re-encoding an existing batch (compaction), call after reset: attribute flags to carry
 * over (ST_BATCH_ATTR_LOG_APPEND_TIME and/or ST_BATCH_ATTR_TRANSACTIONAL; the codec bits are the
 * writer's own) and the original lastOffsetDelta, which Kafka keeps when it compacts a v2 batch
 * so that the producer's last sequence number stays visible (-1 = the last record's delta; a
 * value below the last record's delta is ignored). Cleared by reset. -EINVAL for other flags
 * (control batches are copied, not re-encoded) or a delta below -1. */
int st_batch_writer_set_rewrite(st_batch_writer_t *w, int16_t flags, int32_t last_offset_delta);
size_t st_batch_writer_count(const st_batch_writer_t *w);
/* Uncompressed size the batch would have if finished now (header + records). */
size_t st_batch_writer_size(const st_batch_writer_t *w);
/* Completes the batch: compresses (LZ4), fills the header, computes the CRC. *ret_buf points into
 * the writer and stays valid until the next reset/add/free. baseOffset is 0 and
 * partitionLeaderEpoch -1 until the broker stamps them. -ENODATA if no records were added. */
int st_batch_writer_finish(st_batch_writer_t *w, const void **ret_buf, size_t *ret_len);

/* ---- reader (st_batch_reader.c) --------------------------------------------------------------- */

typedef struct st_record {
    int64_t offset;
    int64_t timestamp;
    const uint8_t *key;      /* NULL when the key is null */
    int32_t key_len;         /* -1 when null */
    const uint8_t *value;
    int32_t value_len;       /* -1 when null */
    uint32_t header_count;
    const uint8_t *headers;  /* raw encoded headers, walk with st_record_header_next */
    size_t headers_len;
} st_record_t;

/* Iterates the batches of a buffer holding zero or more whole batches, possibly followed by a
 * partial one (a fetch response may end mid-batch: that tail is not an error, see
 * st_batch_reader_tail). Every length is checked against the buffer; a batch whose CRC fails is
 * an error. Records of an LZ4 batch are decompressed into a buffer the reader owns. */
typedef struct st_batch_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;              /* start of the next batch */
    /* current batch */
    st_batch_header_t hdr;
    size_t batch_pos;        /* where the current batch starts in buf */
    const uint8_t *rec;      /* cursor in the (decompressed) records */
    const uint8_t *rec_end;
    int32_t records_left;
    bool in_batch;
    /* owned decompression buffer */
    uint8_t *scratch;
    size_t scratch_cap;
    st_batch_error_t err;
    void *lz4_dctx;          /* LZ4F decompression context, created at the first LZ4 batch */
} st_batch_reader_t;

void st_batch_reader_init(st_batch_reader_t *r, const void *buf, size_t len);
/* Releases the decompression buffer; the reader may be re-initialised after. */
void st_batch_reader_destroy(st_batch_reader_t *r);
/* 1 = a batch is now current (header in *ret_hdr, may be NULL); 0 = no more whole batches;
 * <0 = corrupt (-EBADMSG / -ENOTSUP), details in st_batch_reader_error(). LZ4 records that
 * decompress to more than 64 MiB are rejected (-EBADMSG, decompression bomb guard); -ENOMEM if
 * the decompression buffer cannot grow. Errors are sticky: calling again returns the same. */
int st_batch_reader_next_batch(st_batch_reader_t *r, st_batch_header_t *ret_hdr);
/* 1 = a record of the current batch in *ret_rec (pointers into the buffer or scratch, valid
 * until the next call to next_batch or destroy); 0 = batch exhausted; <0 = corrupt record
 * (bad varint, length past the end, more or fewer records than recordCount). */
int st_batch_reader_next_record(st_batch_reader_t *r, st_record_t *ret_rec);
/* Bytes of a trailing partial batch left after next_batch returned 0. */
size_t st_batch_reader_tail(const st_batch_reader_t *r);
const st_batch_error_t *st_batch_reader_error(const st_batch_reader_t *r);

/* Walks the raw headers of a record: *pos starts at 0. 1 = got one, 0 = end, <0 = corrupt. */
int st_record_header_next(const st_record_t *rec, size_t *pos, st_record_header_t *ret_hdr);

#endif
