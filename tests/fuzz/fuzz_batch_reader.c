/* libFuzzer harness for the RecordBatch v2 decoder (common/format/st_batch_reader.c and the
 * LZ4 path of st_compression.c).
 *
 * Each input is handed to st_batch_validate, then walked with st_batch_reader (every batch,
 * every record, every record header, every byte of every key and value touched so ASan sees
 * any pointer outside the input). Random bytes almost never carry a matching CRC-32C, so the
 * same input is then walked a second time with the CRC of each batch recomputed, which lets
 * the fuzzer reach the record and LZ4 parsing. Properties checked: no crash, no out-of-bounds
 * access, no undefined behaviour, error offsets inside the input, every error has a reason,
 * accepted records are self-consistent. See README.md for how to run it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "st_batch.h"
#include "st_crc32c.h"

#define CHECK(cond)            \
    do {                       \
        if (!(cond))           \
            abort();           \
    } while (0)

static volatile uint8_t sink;

static void touch(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= b[i];
    sink ^= x;
}

static void walk(const uint8_t *data, size_t size)
{
    st_batch_reader_t r;
    st_batch_header_t hdr;
    st_record_t rec;
    int ret;

    st_batch_reader_init(&r, data, size);
    while ((ret = st_batch_reader_next_batch(&r, &hdr)) == 1) {
        CHECK(hdr.magic == ST_BATCH_MAGIC);
        CHECK(st_batch_total_size(&hdr) <= size);
        (void)st_batch_last_offset(&hdr);
        int32_t n = 0;
        while ((ret = st_batch_reader_next_record(&r, &rec)) == 1) {
            CHECK(rec.key_len >= -1 && rec.value_len >= -1);
            CHECK((rec.key == NULL) == (rec.key_len == -1));
            CHECK((rec.value == NULL) == (rec.value_len == -1));
            if (rec.key_len > 0)
                touch(rec.key, (size_t)rec.key_len);
            if (rec.value_len > 0)
                touch(rec.value, (size_t)rec.value_len);
            touch(rec.headers, rec.headers_len);
            size_t pos = 0;
            uint32_t headers = 0;
            st_record_header_t h;
            while (st_record_header_next(&rec, &pos, &h) == 1) {
                touch(h.key, h.key_len);
                if (h.value != NULL)
                    touch(h.value, h.value_len);
                headers++;
                CHECK(pos <= rec.headers_len);
            }
            /* the reader validated the headers: walking them cannot fail */
            CHECK(pos == rec.headers_len && headers == rec.header_count);
            n++;
        }
        CHECK(n <= hdr.record_count);
        if (ret == 0)
            CHECK(n == hdr.record_count);
        if (ret < 0)
            break;
    }
    if (ret < 0) {
        const st_batch_error_t *err = st_batch_reader_error(&r);
        CHECK(err->reason[0] != '\0');
        CHECK(err->offset <= size);
    } else {
        CHECK(st_batch_reader_tail(&r) <= size);
    }
    st_batch_reader_destroy(&r);
}

/* Recomputes the CRC of every batch whose length fits, as a valid producer would have. */
static void fix_crcs(uint8_t *buf, size_t size)
{
    size_t pos = 0;
    st_batch_header_t hdr;

    while (st_batch_header_decode(buf + pos, size - pos, &hdr) == 0) {
        if (hdr.batch_length < ST_BATCH_HEADER_SIZE - ST_BATCH_LOG_OVERHEAD ||
            st_batch_total_size(&hdr) > size - pos)
            return;
        uint32_t crc = st_crc32c(0, buf + pos + ST_BATCH_ATTR_OFFSET,
                                 st_batch_total_size(&hdr) - ST_BATCH_ATTR_OFFSET);
        buf[pos + 17] = (uint8_t)(crc >> 24);
        buf[pos + 18] = (uint8_t)(crc >> 16);
        buf[pos + 19] = (uint8_t)(crc >> 8);
        buf[pos + 20] = (uint8_t)crc;
        pos += st_batch_total_size(&hdr);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_batch_header_t hdr;
    st_batch_error_t err = { 0 };
    int ret;

    ret = st_batch_validate(data, size, &hdr, &err);
    if (ret == 0)
        CHECK(st_batch_total_size(&hdr) <= size);
    else
        CHECK(err.reason[0] != '\0' && err.offset <= size);
    walk(data, size);

    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    walk(copy, size);
    free(copy);
    return 0;
}
