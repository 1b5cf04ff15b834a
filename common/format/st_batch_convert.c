/* Broker-side rewrites of one already validated batch, for the topic settings that ask for
 * them (compression.type, message.timestamp.type=LogAppendTime): the header is kept but for
 * the fields named, and the CRC-32C is computed again. Records are never decoded: a codec change
 * compresses or decompresses the records section as it is. Standalone (format library). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_batch.h"
#include "st_buf.h"
#include "st_compression.h"
#include "st_crc32c.h"

static void reseal(uint8_t *b, size_t total)
{
    st_put_be32(b + ST_BATCH_CRC_OFFSET,
                st_crc32c(0, b + ST_BATCH_ATTR_OFFSET, total - ST_BATCH_ATTR_OFFSET));
}

void st_batch_set_log_append_time(void *buf, int64_t timestamp_ms)
{
    uint8_t *b = buf;
    size_t total = ST_BATCH_LOG_OVERHEAD + st_be32(b + 8);
    uint16_t attrs = (uint16_t)(((unsigned)b[21] << 8) | b[22]);
    st_put_be16(b + 21, (uint16_t)(attrs | ST_BATCH_ATTR_LOG_APPEND_TIME));
    st_put_be64(b + 35, (uint64_t)timestamp_ms);              /* maxTimestamp */
    reseal(b, total);
}

int st_batch_convert(const void *batch, size_t len, st_compression_t codec, uint8_t **ret,
                     size_t *ret_len, char *reason, size_t reason_len)
{
    const uint8_t *in = batch;
    if (len < ST_BATCH_HEADER_SIZE || (size_t)ST_BATCH_LOG_OVERHEAD + st_be32(in + 8) != len) {
        snprintf(reason, reason_len, "not one whole batch");
        return -EINVAL;
    }
    int from = in[22] & ST_BATCH_COMPRESSION_MASK;
    if ((codec != ST_COMPRESSION_NONE && codec != ST_COMPRESSION_LZ4) ||
        (from != ST_COMPRESSION_NONE && from != ST_COMPRESSION_LZ4)) {
        snprintf(reason, reason_len, "only none and lz4 are supported");
        return -ENOTSUP;
    }
    const uint8_t *src = in + ST_BATCH_HEADER_SIZE;
    size_t src_len = len - ST_BATCH_HEADER_SIZE;
    uint8_t *records = NULL;
    size_t records_len = 0;
    int r = 0;
    if (from == (int)codec) {
        records = malloc(src_len ? src_len : 1);
        if (!records)
            return -ENOMEM;
        memcpy(records, src, src_len);
        records_len = src_len;
    } else if (codec == ST_COMPRESSION_LZ4) {
        size_t cap = st_compression_lz4_bound(src_len);
        records = malloc(cap);
        void *cctx = NULL;
        r = records ? st_compression_lz4_compress(&cctx, records, cap, src, src_len, &records_len,
                                                  reason, reason_len)
                    : -ENOMEM;
        st_compression_lz4_cctx_free(cctx);
    } else {
        void *dctx = NULL;
        size_t cap = 0;
        r = st_compression_lz4_decompress(&dctx, src, src_len, &records, &cap,
                                          ST_COMPRESSION_MAX_DECOMPRESSED, &records_len, NULL,
                                          reason, reason_len);
        st_compression_lz4_dctx_free(dctx);
    }
    size_t total = ST_BATCH_HEADER_SIZE + records_len;
    if (r == 0 && total - ST_BATCH_LOG_OVERHEAD > INT32_MAX) {
        snprintf(reason, reason_len, "the re-encoded batch would be over 2 GiB");
        r = -E2BIG;
    }
    uint8_t *out = r == 0 ? malloc(total) : NULL;
    if (r == 0 && !out)
        r = -ENOMEM;
    if (r < 0) {
        free(records);
        return r;
    }
    memcpy(out, in, ST_BATCH_HEADER_SIZE);
    memcpy(out + ST_BATCH_HEADER_SIZE, records, records_len);
    free(records);
    st_put_be32(out + 8, (uint32_t)(total - ST_BATCH_LOG_OVERHEAD));
    uint16_t attrs = (uint16_t)(((unsigned)in[21] << 8) | in[22]);
    attrs = (uint16_t)((attrs & ~ST_BATCH_COMPRESSION_MASK) | (unsigned)codec);
    st_put_be16(out + 21, attrs);
    reseal(out, total);
    *ret = out;
    *ret_len = total;
    return 0;
}
