/* libFuzzer harness for the RecordBatch v2 writer against the reader: the input is read as a
 * script of records (codec, then per record: timestamp step, key/value lengths or null, header
 * count, bytes taken from the input), written with st_batch_writer, validated, stamped and read
 * back with st_batch_reader; every field must come back exactly. See README.md. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "st_batch.h"

#define CHECK(cond)            \
    do {                       \
        if (!(cond))           \
            abort();           \
    } while (0)

#define MAX_RECORDS 64
#define MAX_HEADERS 4

typedef struct spec {
    int64_t ts;
    int32_t delta;
    const uint8_t *key, *value;
    ssize_t key_len, value_len;
    st_record_header_t hdrs[MAX_HEADERS];
    size_t header_count;
} spec_t;

typedef struct cursor {
    const uint8_t *p;
    size_t left;
} cursor_t;

static uint8_t take8(cursor_t *c)
{
    if (c->left == 0)
        return 0;
    c->left--;
    return *c->p++;
}

/* A field of length chosen by the script (0xff = null), bytes from the input. */
static const uint8_t *take_field(cursor_t *c, ssize_t *ret_len)
{
    uint8_t n = take8(c);
    if (n == 0xff) {
        *ret_len = -1;
        return NULL;
    }
    if (n > c->left)
        n = (uint8_t)c->left;
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    *ret_len = n;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static spec_t specs[MAX_RECORDS];
    cursor_t c = { data, size };
    uint8_t mode = take8(&c);
    st_compression_t codec = (mode & 1) ? ST_COMPRESSION_LZ4 : ST_COMPRESSION_NONE;
    st_batch_writer_t *w = st_batch_writer_new(codec);
    int64_t ts = (int64_t)((uint64_t)take8(&c) << 40);
    int32_t delta = -1;
    size_t n = 0;

    CHECK(w != NULL);
    while (c.left > 0 && n < MAX_RECORDS) {
        spec_t *s = &specs[n];
        uint8_t op = take8(&c);
        ts = (int64_t)((uint64_t)ts + (uint64_t)(int64_t)(int8_t)take8(&c) * 1000);
        s->ts = (op & 0x80) ? INT64_MIN + (int64_t)take8(&c) : ts;
        s->key = take_field(&c, &s->key_len);
        s->value = take_field(&c, &s->value_len);
        s->header_count = op % (MAX_HEADERS + 1);
        for (size_t i = 0; i < s->header_count; i++) {
            ssize_t kl, vl;
            const uint8_t *k = take_field(&c, &kl);
            const uint8_t *v = take_field(&c, &vl);
            s->hdrs[i].key = (const char *)k;
            s->hdrs[i].key_len = kl < 0 ? 0 : (size_t)kl;
            s->hdrs[i].value = v;
            s->hdrs[i].value_len = vl < 0 ? 0 : (size_t)vl;
        }
        int ret;
        if (op & 0x40) {
            s->delta = delta + 1 + (op & 0x0f);
            ret = st_batch_writer_add_at(w, s->delta, s->ts, s->key, s->key_len, s->value,
                                         s->value_len, s->hdrs, s->header_count);
        } else {
            s->delta = delta + 1;
            ret = st_batch_writer_add(w, s->ts, s->key, s->key_len, s->value, s->value_len,
                                      s->hdrs, s->header_count);
        }
        CHECK(ret == 0);
        delta = s->delta;
        n++;
    }

    const void *out;
    size_t len;
    int ret = st_batch_writer_finish(w, &out, &len);
    if (n == 0) {
        CHECK(ret == -ENODATA);
        st_batch_writer_free(w);
        return 0;
    }
    CHECK(ret == 0);
    uint8_t *batch = malloc(len);
    CHECK(batch != NULL);
    memcpy(batch, out, len);
    st_batch_writer_free(w);

    st_batch_header_t hdr;
    st_batch_error_t err;
    CHECK(st_batch_validate(batch, len, &hdr, &err) == 0);
    CHECK(hdr.record_count == (int32_t)n && hdr.last_offset_delta == delta);
    CHECK(st_batch_codec(&hdr) == (int)codec);
    st_batch_stamp(batch, 5000, 3);

    st_batch_reader_t r;
    st_record_t rec;
    st_batch_reader_init(&r, batch, len);
    CHECK(st_batch_reader_next_batch(&r, &hdr) == 1);
    CHECK(hdr.base_offset == 5000 && hdr.partition_leader_epoch == 3);
    for (size_t i = 0; i < n; i++) {
        const spec_t *s = &specs[i];
        CHECK(st_batch_reader_next_record(&r, &rec) == 1);
        CHECK(rec.offset == 5000 + s->delta);
        CHECK(rec.timestamp == s->ts);
        CHECK(rec.key_len == (s->key_len < 0 ? -1 : (int32_t)s->key_len));
        CHECK(rec.value_len == (s->value_len < 0 ? -1 : (int32_t)s->value_len));
        CHECK(s->key_len <= 0 || memcmp(rec.key, s->key, (size_t)s->key_len) == 0);
        CHECK(s->value_len <= 0 || memcmp(rec.value, s->value, (size_t)s->value_len) == 0);
        CHECK(rec.header_count == s->header_count);
        size_t pos = 0;
        st_record_header_t h;
        for (size_t j = 0; j < s->header_count; j++) {
            CHECK(st_record_header_next(&rec, &pos, &h) == 1);
            CHECK(h.key_len == s->hdrs[j].key_len);
            CHECK(h.key_len == 0 || memcmp(h.key, s->hdrs[j].key, h.key_len) == 0);
            CHECK((h.value == NULL) == (s->hdrs[j].value == NULL));
            CHECK(h.value == NULL || (h.value_len == s->hdrs[j].value_len &&
                                      memcmp(h.value, s->hdrs[j].value, h.value_len) == 0));
        }
        CHECK(st_record_header_next(&rec, &pos, &h) == 0);
    }
    CHECK(st_batch_reader_next_record(&r, &rec) == 0);
    CHECK(st_batch_reader_next_batch(&r, NULL) == 0 && st_batch_reader_tail(&r) == 0);
    st_batch_reader_destroy(&r);
    free(batch);
    return 0;
}
