/* Unit tests of segments and rolling: roll by log.segment.bytes, by log.roll.ms (batch
 * timestamps, as Kafka), by a full index, explicit rolls, index density, trimmed indexes of
 * closed segments, batches too large for a segment. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "log_internal.h"
#include "log_test_util.h"

static char *tmp, *dir;

static void setup(void)
{
    tu_quiet();
    tmp = tu_mkdtemp();
    dir = tu_join(tmp, "events-3");
}

static void teardown(void)
{
    tu_rm_rf(tmp);
    free(tmp);
    free(dir);
}

TestSuite(segment, .init = setup, .fini = teardown);

Test(segment, roll_by_size)
{
    st_log_config_t cfg = tu_config(10 * 1024);
    st_log_t *log;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    cr_assert_str_eq(st_log_topic(log), "events");
    cr_assert_eq(st_log_partition(log), 3);
    size_t len;
    uint8_t *b = tu_batch(10, 1000, false, 90, &len);   /* ~1.1 KiB */
    free(b);
    for (int i = 0; i < 40; i++)
        tu_append(log, 10, 1000, 90);
    size_t per_seg = (size_t)(10 * 1024) / len;
    size_t want = (40 + per_seg - 1) / per_seg;
    cr_assert_eq(st_log_segment_count(log), want, "%zu segments, want %zu", st_log_segment_count(log),
                 want);
    cr_assert_eq(st_log_end_offset(log), 400);
    cr_assert_eq(st_log_size_bytes(log), 40 * len);
    /* each closed segment is as full as it could be, and named by its base offset */
    char name[64];
    snprintf(name, sizeof(name), "%020zu.log", per_seg * 10);
    cr_assert(tu_exists(dir, name), "%s missing", name);
    cr_assert_eq(tu_file_size(dir, "00000000000000000000.log"), (off_t)(per_seg * len));
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), 400);
    st_log_close(log);
}

Test(segment, roll_by_time_uses_batch_timestamps)
{
    st_log_config_t cfg = tu_config(1 << 20);
    cfg.roll_ms = 1000;
    st_log_t *log;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    tu_append(log, 1, 50000, 10);
    tu_append(log, 1, 50500, 10);
    tu_append(log, 1, 51000, 10);   /* waited exactly roll_ms: not more */
    cr_assert_eq(st_log_segment_count(log), 1);
    st_log_append_info_t info = tu_append(log, 1, 51001, 10);
    cr_assert_eq(st_log_segment_count(log), 2);
    cr_assert_eq(info.first_offset, 3);
    cr_assert(tu_exists(dir, "00000000000000000003.log"));
    tu_append(log, 1, 51500, 10);
    cr_assert_eq(st_log_segment_count(log), 2);
    tu_append(log, 1, 52002, 10);
    cr_assert_eq(st_log_segment_count(log), 3);
    st_log_close(log);
}

Test(segment, explicit_roll_and_empty_active)
{
    st_log_config_t cfg = tu_config(1 << 20);
    st_log_t *log;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    cr_assert_eq(st_log_roll(log), 0);   /* empty: nothing to do */
    cr_assert_eq(st_log_segment_count(log), 1);
    tu_append(log, 5, 1, 10);
    cr_assert_eq(st_log_roll(log), 0);
    cr_assert_eq(st_log_segment_count(log), 2);
    cr_assert(tu_exists(dir, "00000000000000000005.log"));
    cr_assert_eq(st_log_roll(log), 0);
    cr_assert_eq(st_log_segment_count(log), 2);
    st_log_close(log);
}

Test(segment, index_every_interval_and_trimmed_when_closed)
{
    st_log_config_t cfg = tu_config(1 << 20);
    cfg.index_interval_bytes = 4096;
    cfg.index_max_bytes = 8 * 1024;
    st_log_t *log;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    size_t len;
    free(tu_batch(10, 1, false, 90, &len));
    for (int i = 0; i < 100; i++)
        tu_append(log, 10, 1 + i, 90);
    /* active: preallocated */
    cr_assert_eq(tu_file_size(dir, "00000000000000000000.index"), 8 * 1024);
    cr_assert_eq(st_log_roll(log), 0);
    /* Kafka's rule: an entry once more than 4096 bytes went by since the last */
    size_t per_entry = 4096 / len + 1, entries = 0, since = 0;
    for (int i = 0; i < 100; i++) {
        if (since > 4096) {
            entries++;
            since = 0;
        }
        since += len;
    }
    (void)per_entry;
    cr_assert_eq(tu_file_size(dir, "00000000000000000000.index"), (off_t)(entries * 8));
    /* time index: one entry per offset-index entry while the timestamps grow, plus the closing
     * one */
    cr_assert_eq(tu_file_size(dir, "00000000000000000000.timeindex"), (off_t)((entries + 1) * 12));
    cr_assert_eq(tu_file_size(dir, "00000000000000001000.index"), 8 * 1024);
    st_log_close(log);
    /* closed: trimmed */
    cr_assert_eq(tu_file_size(dir, "00000000000000001000.index"), 0);
}

Test(segment, roll_when_the_index_is_full)
{
    st_log_config_t cfg = tu_config(1 << 20);
    cfg.index_interval_bytes = 0;   /* an entry for every batch but a segment's first */
    cfg.index_max_bytes = 48;       /* 6 offset entries, 4 time entries */
    st_log_t *log;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    for (int i = 0; i < 30; i++)
        tu_append(log, 1, 100 + i, 10);
    cr_assert_gt(st_log_segment_count(log), 5);
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), 30);
    for (int64_t off = 0; off < 30; off++) {
        st_log_slice_t slice;
        cr_assert_eq(st_log_read(log, off, 1, INT64_MAX, true, &slice), 0);
        cr_assert_eq(slice.first_offset, off);
        st_log_slice_release(&slice);
    }
    st_log_close(log);
}

Test(segment, batch_larger_than_a_segment_is_refused)
{
    st_log_config_t cfg = tu_config(1024);
    st_log_t *log;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    size_t len;
    uint8_t *b = tu_batch(1, 1, false, 2000, &len);
    cr_assert_eq(st_log_append(log, b, len, 0, NULL), -E2BIG);
    free(b);
    cr_assert_eq(st_log_end_offset(log), 0);
    st_log_close(log);
}

Test(segment, reopen_continues_after_a_clean_close)
{
    st_log_config_t cfg = tu_config(4096);
    st_log_t *log;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    for (int i = 0; i < 20; i++)
        tu_append(log, 3, 1000 + i, 200);
    size_t segs = st_log_segment_count(log), size = st_log_size_bytes(log);
    st_log_close(log);
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    cr_assert_eq(st_log_segment_count(log), segs);
    cr_assert_eq(st_log_size_bytes(log), size);
    cr_assert_eq(st_log_end_offset(log), 60);
    cr_assert_eq(st_log_recovery_point(log), 60);
    st_log_append_info_t info = tu_append(log, 3, 5000, 200);
    cr_assert_eq(info.first_offset, 60);
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), 63);
    st_log_close(log);
}
