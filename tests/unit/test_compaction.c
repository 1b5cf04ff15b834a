/* Unit tests of compaction (log_cleaner.c): the latest record per key survives in the closed
 * segments with its offset, timestamp and headers; the active segment is left alone;
 * tombstones go only after delete.retention.ms; LZ4 batches are re-encoded; untouched batches
 * keep their bytes; the result survives a reopen and a full recovery scan. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>

#include "log_internal.h"
#include "log_test_util.h"

#define DAY_MS (24LL * 3600 * 1000)

static char *tmp, *dir;
static st_log_t *log_;
static int64_t now;

static void setup(void)
{
    tu_quiet();
    tmp = tu_mkdtemp();
    dir = tu_join(tmp, "users-0");
    now = st_log_now_ms();
    log_ = NULL;
}

static void teardown(void)
{
    if (log_)
        st_log_close(log_);
    tu_rm_rf(tmp);
    free(tmp);
    free(dir);
}

TestSuite(compaction, .init = setup, .fini = teardown);

static st_log_config_t compact_config(void)
{
    st_log_config_t cfg = tu_config(1 << 20);
    cfg.cleanup_compact = true;
    cfg.cleanup_delete = false;
    cfg.delete_retention_ms = DAY_MS;
    return cfg;
}

/* One batch per call; values NULL = tombstone. Returns the batch's first offset. */
static int64_t put(st_compression_t codec, const char *const *keys, const char *const *values,
                   size_t n, int64_t ts)
{
    size_t len;
    uint8_t *b = tu_kv_batch(codec, keys, values, n, ts, &len);
    st_log_append_info_t info;
    cr_assert_eq(st_log_append(log_, b, len, 0, &info), 0);
    free(b);
    return info.first_offset;
}

typedef struct seen {
    int64_t offsets[256];
    char keys[256][16];
    char values[256][16];   /* "" for a tombstone */
    bool tomb[256];
    size_t n;
} seen_t;

static void collect(const st_record_t *rec, void *arg)
{
    seen_t *s = arg;
    cr_assert_lt(s->n, 256);
    s->offsets[s->n] = rec->offset;
    snprintf(s->keys[s->n], 16, "%.*s", rec->key_len < 0 ? 0 : rec->key_len, (const char *)rec->key);
    snprintf(s->values[s->n], 16, "%.*s", rec->value_len < 0 ? 0 : rec->value_len,
             (const char *)rec->value);
    s->tomb[s->n] = rec->value == NULL;
    s->n++;
}

static const char *const K[5] = { "k0", "k1", "k2", "k3", "k4" };

/* Round r writes k0..k4 = "r<r>-<i>" at offsets 5r..5r+4; a segment per 2 rounds. */
static void rounds(int from, int to, st_compression_t codec)
{
    for (int r = from; r < to; r++) {
        char vals[5][16];
        const char *v[5];
        for (int i = 0; i < 5; i++) {
            snprintf(vals[i], sizeof(vals[i]), "r%d-%d", r, i);
            v[i] = vals[i];
        }
        put(codec, K, v, 5, now - 1000 + r);
        if (r % 2 == 1)
            cr_assert_eq(st_log_roll(log_), 0);
    }
}

/* Only segments wholly below the bound (the high watermark) are cleaned: records a follower may
 * still miss are never rewritten. */
Test(compaction, never_past_the_upper_bound)
{
    st_log_config_t cfg = compact_config();
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    rounds(0, 10, ST_COMPRESSION_NONE);         /* 5 closed segments of 10 records, bases 0..40 */
    rounds(10, 11, ST_COMPRESSION_NONE);
    cr_assert_eq(st_log_compact(log_, now, 9), 0, "no segment ends by 9");
    cr_assert_not(st_log_needs_compaction(log_, now, 9));
    cr_assert(st_log_needs_compaction(log_, now, 20));
    cr_assert_eq(st_log_compact(log_, now, 20), 15, "segments 0-9 and 10-19: rounds 0-2 go");
    cr_assert_not(st_log_needs_compaction(log_, now, 20), "done up to the bound");
    cr_assert(st_log_needs_compaction(log_, now, INT64_MAX));
}

Test(compaction, latest_per_key_with_offsets_kept)
{
    st_log_config_t cfg = compact_config();
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    rounds(0, 10, ST_COMPRESSION_NONE);
    /* rounds 0-9 closed in 5 segments; the active one (base 50) gets round 10 */
    rounds(10, 11, ST_COMPRESSION_NONE);
    cr_assert_eq(st_log_segment_count(log_), 6);
    int64_t removed = st_log_compact(log_, now, INT64_MAX);
    cr_assert_eq(removed, 45, "9 older rounds of 5 keys");

    seen_t s = { 0 };
    cr_assert_eq(tu_read_all(log_, 0, 1 << 20, collect, &s), 10);
    for (size_t i = 0; i < 5; i++) {   /* round 9 survives in the closed part */
        cr_assert_eq(s.offsets[i], 45 + (int64_t)i);
        char want[16];
        snprintf(want, sizeof(want), "r9-%zu", i);
        cr_assert_str_eq(s.values[i], want);
        cr_assert_str_eq(s.keys[i], K[i]);
    }
    for (size_t i = 5; i < 10; i++)   /* the active segment is untouched */
        cr_assert_eq(s.offsets[i], 50 + (int64_t)(i - 5));
    cr_assert_eq(st_log_start_offset(log_), 0);
    /* segments left empty are gone; reads in the gaps land on the next batch */
    st_log_slice_t sl;
    cr_assert_eq(st_log_read(log_, 0, 1 << 20, INT64_MAX, true, &sl), 0);
    cr_assert_eq(sl.first_offset, 45);
    st_log_slice_release(&sl);
    cr_assert_eq(st_log_read(log_, 47, 1 << 20, INT64_MAX, true, &sl), 0);
    cr_assert_eq(sl.first_offset, 45);
    st_log_slice_release(&sl);
    cr_assert_eq(st_log_compact(log_, now, INT64_MAX), 0, "nothing more to drop");

    /* survives a clean reopen and a full recovery scan */
    st_log_close(log_);
    cr_assert_eq(st_log_open(dir, &cfg, 0, false, &log_), 0);
    seen_t s2 = { 0 };
    cr_assert_eq(tu_read_all(log_, 0, 1 << 20, collect, &s2), 10);
    cr_assert_eq(memcmp(s.offsets, s2.offsets, sizeof(s.offsets)), 0);
    cr_assert_eq(st_log_end_offset(log_), 55);
}

Test(compaction, partial_batches_are_reencoded)
{
    st_log_config_t cfg = compact_config();
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    const char *keys[4] = { "a", "b", "c", NULL };
    const char *v1[4] = { "a1", "b1", "c1", "nokey" };
    put(ST_COMPRESSION_LZ4, keys, v1, 4, now - 50);       /* offsets 0-3 */
    const char *keys2[1] = { "b" };
    const char *v2[1] = { "b2" };
    put(ST_COMPRESSION_NONE, keys2, v2, 1, now - 40);     /* offset 4 */
    cr_assert_eq(st_log_roll(log_), 0);
    put(ST_COMPRESSION_NONE, keys2, v2, 1, now);          /* active, offset 5 */
    cr_assert_eq(st_log_compact(log_, now, INT64_MAX), 1);
    seen_t s = { 0 };
    cr_assert_eq(tu_read_all(log_, 0, 1 << 20, collect, &s), 5);
    int64_t want_off[5] = { 0, 2, 3, 4, 5 };
    const char *want_val[5] = { "a1", "c1", "nokey", "b2", "b2" };
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(s.offsets[i], want_off[i]);
        cr_assert_str_eq(s.values[i], want_val[i]);
    }
    /* the rewritten batch is LZ4, keeps its base offset, timestamps and a valid CRC */
    st_log_slice_t sl;
    cr_assert_eq(st_log_read(log_, 0, 1, INT64_MAX, true, &sl), 0);
    uint8_t *bytes = tu_slice_bytes(&sl);
    st_batch_header_t hdr;
    cr_assert_eq(st_batch_validate(bytes, sl.len, &hdr, NULL), 0);
    cr_assert_eq(st_batch_codec(&hdr), ST_COMPRESSION_LZ4);
    cr_assert_eq(hdr.base_offset, 0);
    cr_assert_eq(hdr.last_offset_delta, 3);
    cr_assert_eq(hdr.record_count, 3);
    cr_assert_eq(hdr.max_timestamp, now - 50);
    cr_assert_eq(hdr.partition_leader_epoch, 0);
    free(bytes);
    st_log_slice_release(&sl);
}

Test(compaction, tombstones_go_after_delete_retention)
{
    st_log_config_t cfg = compact_config();
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    rounds(0, 2, ST_COMPRESSION_NONE);   /* offsets 0-9, closed */
    const char *keys[2] = { "k1", "k3" };
    const char *vals[2] = { NULL, NULL };
    int64_t tomb_ts = now - 1000;
    put(ST_COMPRESSION_NONE, keys, vals, 2, tomb_ts);   /* offsets 10, 11 */
    cr_assert_eq(st_log_roll(log_), 0);
    rounds(2, 3, ST_COMPRESSION_NONE);   /* active */

    /* tombstones younger than delete.retention.ms: kept, older values of k1/k3 dropped */
    cr_assert_eq(st_log_compact(log_, now, INT64_MAX), 5 + 2);
    seen_t s = { 0 };
    tu_read_all(log_, 0, 1 << 20, collect, &s);
    cr_assert_eq(s.n, 3 + 2 + 5);
    cr_assert_eq(s.offsets[3], 10);
    cr_assert(s.tomb[3]);
    cr_assert_eq(s.offsets[4], 11);
    cr_assert(s.tomb[4]);
    cr_assert_str_eq(s.keys[0], "k0");
    cr_assert_eq(s.offsets[0], 5);
    cr_assert(st_log_needs_compaction(log_, tomb_ts + DAY_MS, INT64_MAX) == true);
    cr_assert_eq(st_log_compact(log_, tomb_ts + DAY_MS - 1, INT64_MAX), 0, "not yet");

    /* once delete.retention.ms has passed: gone */
    cr_assert_eq(st_log_compact(log_, tomb_ts + DAY_MS, INT64_MAX), 2);
    seen_t s2 = { 0 };
    tu_read_all(log_, 0, 1 << 20, collect, &s2);
    cr_assert_eq(s2.n, 3 + 5);
    for (size_t i = 0; i < s2.n; i++)
        cr_assert_not(s2.tomb[i]);
    cr_assert_not(st_log_needs_compaction(log_, tomb_ts + DAY_MS, INT64_MAX));
}

Test(compaction, headers_and_untouched_bytes_are_kept)
{
    st_log_config_t cfg = compact_config();
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    st_record_header_t h[2] = { { "trace", 5, "abc", 3 }, { "empty", 5, NULL, 0 } };
    cr_assert_eq(st_batch_writer_add(w, now, "x", 1, "x1", 2, h, 2), 0);
    cr_assert_eq(st_batch_writer_add(w, now, "y", 1, "y1", 2, h, 1), 0);
    cr_assert_eq(st_batch_writer_add(w, now, "x", 1, "x2", 2, h, 2), 0);
    const void *buf;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &buf, &len), 0);
    uint8_t *b = malloc(len);
    memcpy(b, buf, len);
    cr_assert_eq(st_log_append(log_, b, len, 3, NULL), 0);   /* 0-2 */
    const char *keys[1] = { "z" };
    const char *vals[1] = { "z1" };
    size_t zlen;
    uint8_t *z = tu_kv_batch(ST_COMPRESSION_NONE, keys, vals, 1, now, &zlen);
    cr_assert_eq(st_log_append(log_, z, zlen, 3, NULL), 0);   /* 3: untouched */
    cr_assert_eq(st_log_roll(log_), 0);
    cr_assert_eq(st_log_compact(log_, now, INT64_MAX), 1);

    st_log_slice_t sl;
    cr_assert_eq(st_log_read(log_, 0, 1 << 20, INT64_MAX, true, &sl), 0);
    uint8_t *bytes = tu_slice_bytes(&sl);
    st_batch_reader_t r;
    st_batch_reader_init(&r, bytes, sl.len);
    st_batch_header_t hdr;
    cr_assert_eq(st_batch_reader_next_batch(&r, &hdr), 1);
    cr_assert_eq(hdr.partition_leader_epoch, 3);
    st_record_t rec;
    cr_assert_eq(st_batch_reader_next_record(&r, &rec), 1);
    cr_assert_eq(rec.offset, 1);
    cr_assert_eq(rec.header_count, 1);
    cr_assert_eq(st_batch_reader_next_record(&r, &rec), 1);
    cr_assert_eq(rec.offset, 2);
    cr_assert_eq(rec.header_count, 2);
    size_t pos = 0;
    st_record_header_t got;
    cr_assert_eq(st_record_header_next(&rec, &pos, &got), 1);
    cr_assert_eq(got.key_len, 5);
    cr_assert_eq(memcmp(got.key, "trace", 5), 0);
    cr_assert_eq(got.value_len, 3);
    cr_assert_eq(st_record_header_next(&rec, &pos, &got), 1);
    cr_assert_null(got.value);
    cr_assert_eq(st_batch_reader_next_record(&r, &rec), 0);
    /* the second batch is byte for byte what was appended */
    cr_assert_eq(st_batch_reader_next_batch(&r, &hdr), 1);
    cr_assert_eq(hdr.base_offset, 3);
    cr_assert_eq(memcmp(bytes + r.batch_pos, z, zlen), 0);
    st_batch_reader_destroy(&r);
    free(bytes);
    st_log_slice_release(&sl);
    st_batch_writer_free(w);
    free(b);
    free(z);
}

Test(compaction, only_with_cleanup_compact)
{
    st_log_config_t cfg = compact_config();
    cfg.cleanup_compact = false;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    rounds(0, 4, ST_COMPRESSION_NONE);
    cr_assert_eq(st_log_compact(log_, now, INT64_MAX), 0);
    cr_assert_eq(tu_read_all(log_, 0, 1 << 20, NULL, NULL), 20);
}

Test(compaction, slice_of_a_compacted_segment_still_reads)
{
    st_log_config_t cfg = compact_config();
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    rounds(0, 4, ST_COMPRESSION_NONE);
    st_log_slice_t sl;
    cr_assert_eq(st_log_read(log_, 10, 1 << 20, INT64_MAX, true, &sl), 0);
    size_t before = sl.len;
    cr_assert_eq(st_log_compact(log_, now, INT64_MAX), 15);
    uint8_t *bytes = tu_slice_bytes(&sl);
    st_batch_header_t hdr;
    cr_assert_eq(st_batch_validate(bytes, before, &hdr, NULL), 0);
    cr_assert_eq(hdr.base_offset, 10);
    free(bytes);
    st_log_slice_release(&sl);
    cr_assert_not(tu_exists(dir, "00000000000000000010.log.cleaned"));
    cr_assert_not(tu_exists(dir, "00000000000000000010.log.swap"));
}
