/* Unit tests of the broker-side batch rewrites (common/format/st_batch_convert.c): a codec
 * change keeps every record and header field but batchLength, the codec and the CRC; the
 * LogAppendTime stamp sets the attribute and maxTimestamp and keeps the CRC valid. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_batch.h"

static uint8_t *make(st_compression_t codec, int n, size_t *ret_len)
{
    st_batch_writer_t *w = st_batch_writer_new(codec);
    cr_assert(w);
    for (int i = 0; i < n; i++) {
        char key[16], value[64];
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(value, sizeof(value), "value %d repeated repeated repeated repeated", i);
        cr_assert_eq(st_batch_writer_add(w, 1000 + i, key, (ssize_t)strlen(key), value,
                                         (ssize_t)strlen(value), NULL, 0), 0);
    }
    const void *buf;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &buf, &len), 0);
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    st_batch_writer_free(w);
    *ret_len = len;
    return copy;
}

/* The records of one batch as "offset:key=value;" text. */
static char *records(const uint8_t *b, size_t len)
{
    st_batch_reader_t r;
    st_batch_reader_init(&r, b, len);
    cr_assert_eq(st_batch_reader_next_batch(&r, NULL), 1);
    char *out = calloc(1, 8192);
    st_record_t rec;
    while (st_batch_reader_next_record(&r, &rec) == 1)
        snprintf(out + strlen(out), 8192 - strlen(out), "%lld@%lld:%.*s=%.*s;",
                 (long long)rec.offset, (long long)rec.timestamp, rec.key_len, rec.key,
                 rec.value_len, rec.value);
    st_batch_reader_destroy(&r);
    return out;
}

Test(batch_convert, none_to_lz4_and_back)
{
    size_t len, lz_len, back_len;
    uint8_t *plain = make(ST_COMPRESSION_NONE, 20, &len);
    uint8_t *lz = NULL, *back = NULL;
    char why[160];
    cr_assert_eq(st_batch_convert(plain, len, ST_COMPRESSION_LZ4, &lz, &lz_len, why,
                                  sizeof(why)), 0, "%s", why);
    st_batch_header_t a, b;
    cr_assert_eq(st_batch_validate(plain, len, &a, NULL), 0);
    cr_assert_eq(st_batch_validate(lz, lz_len, &b, NULL), 0, "the CRC of the re-encoded batch");
    cr_expect_eq(st_batch_codec(&b), ST_COMPRESSION_LZ4);
    cr_expect_lt(lz_len, len, "repetitive values compress");
    cr_expect_eq(b.record_count, a.record_count);
    cr_expect_eq(b.last_offset_delta, a.last_offset_delta);
    cr_expect_eq(b.base_timestamp, a.base_timestamp);
    cr_expect_eq(b.max_timestamp, a.max_timestamp);
    char *r1 = records(plain, len), *r2 = records(lz, lz_len);
    cr_expect_str_eq(r2, r1);
    cr_assert_eq(st_batch_convert(lz, lz_len, ST_COMPRESSION_NONE, &back, &back_len, why,
                                  sizeof(why)), 0, "%s", why);
    cr_expect_eq(back_len, len);
    cr_expect_eq(memcmp(back, plain, len), 0, "decompressing gives the producer's bytes back");
    cr_expect_eq(st_batch_convert(plain, len - 1, ST_COMPRESSION_LZ4, &lz, &lz_len, why,
                                  sizeof(why)), -EINVAL);
    cr_expect_eq(st_batch_convert(plain, len, ST_COMPRESSION_GZIP, &lz, &lz_len, why,
                                  sizeof(why)), -ENOTSUP);
    free(r1);
    free(r2);
    free(plain);
    free(lz);
    free(back);
}

Test(batch_convert, corrupt_lz4_is_refused)
{
    size_t len;
    uint8_t *b = make(ST_COMPRESSION_LZ4, 5, &len);
    memset(b + ST_BATCH_HEADER_SIZE + 8, 0xff, len - ST_BATCH_HEADER_SIZE - 8);
    uint8_t *out = NULL;
    size_t out_len;
    char why[160] = "";
    cr_expect_eq(st_batch_convert(b, len, ST_COMPRESSION_NONE, &out, &out_len, why, sizeof(why)),
                 -EBADMSG);
    cr_expect(why[0]);
    free(b);
}

Test(batch_convert, log_append_time)
{
    size_t len;
    uint8_t *b = make(ST_COMPRESSION_LZ4, 3, &len);
    st_batch_set_log_append_time(b, 1234567890123LL);
    st_batch_header_t h;
    cr_assert_eq(st_batch_validate(b, len, &h, NULL), 0, "CRC recomputed");
    cr_expect(h.attributes & ST_BATCH_ATTR_LOG_APPEND_TIME);
    cr_expect_eq(st_batch_codec(&h), ST_COMPRESSION_LZ4);
    cr_expect_eq(h.max_timestamp, 1234567890123LL);
    cr_expect_eq(h.base_timestamp, 1000);
    char *r = records(b, len);
    cr_expect(strstr(r, "0@1234567890123:k0=") && strstr(r, "2@1234567890123:k2="),
              "every record reads the append time: %s", r);
    free(r);
    free(b);
}
