/* Unit tests of retention (log_cleaner.c): by time (largest timestamp, or mtime without
 * timestamps), by size, never the active segment, the log start moving up, deletion below a
 * log start moved by st_log_advance_start, and file.delete.delay.ms. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/time.h>

#include "log_internal.h"
#include "log_test_util.h"

#define DAY_MS (24LL * 3600 * 1000)

static char *tmp, *dir;
static st_log_t *log_;
static size_t blen;
static int64_t now;

static void setup(void)
{
    tu_quiet();
    tmp = tu_mkdtemp();
    dir = tu_join(tmp, "metrics-0");
    free(tu_batch(2, 1, false, 200, &blen));
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

TestSuite(retention, .init = setup, .fini = teardown);

/* 5 batches per segment; batch i has timestamp ts_of(i). */
static void fill(int batches, int64_t (*ts_of)(int))
{
    st_log_config_t cfg = tu_config((int64_t)(5 * blen));
    cfg.retention_ms = 7 * DAY_MS;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    for (int i = 0; i < batches; i++)
        tu_append(log_, 2, ts_of(i), 200);
}

static int64_t ts_old_then_new(int i)
{
    return i < 15 ? now - 10 * DAY_MS + i : now - DAY_MS + i;   /* 3 old segments */
}

static int64_t ts_all_old(int i)
{
    return now - 30 * DAY_MS + i;
}

static void set(void (*change)(st_log_config_t *cfg))
{
    st_log_config_t cfg = tu_config((int64_t)(5 * blen));
    cfg.retention_ms = 7 * DAY_MS;
    change(&cfg);
    st_log_set_config(log_, &cfg);
}

Test(retention, by_time)
{
    fill(40, ts_old_then_new);
    cr_assert_eq(st_log_segment_count(log_), 8);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 3);
    cr_assert_eq(st_log_segment_count(log_), 5);
    cr_assert_eq(st_log_start_offset(log_), 30);
    cr_assert_not(tu_exists(dir, "00000000000000000000.log"));
    cr_assert_not(tu_exists(dir, "00000000000000000020.index"));
    cr_assert(tu_exists(dir, "00000000000000000030.log"));
    st_log_slice_t s;
    cr_assert_eq(st_log_read(log_, 29, 100, INT64_MAX, true, &s), -ERANGE);
    cr_assert_eq(tu_read_all(log_, 30, 1 << 20, NULL, NULL), 50);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 0, "nothing more is old");
    cr_assert_eq(st_log_size_bytes(log_), 25 * blen);
}

/* The bound is the partition's high watermark: a segment holding records above it stays, however
 * old, until the bound passes its end. */
Test(retention, never_past_the_upper_bound)
{
    fill(40, ts_all_old);               /* 8 segments of 10 offsets, all past retention */
    cr_assert_eq(st_log_enforce_retention(log_, now, 25), 2, "segments 0-9 and 10-19 end by 25");
    cr_assert_eq(st_log_start_offset(log_), 20);
    cr_assert_eq(st_log_enforce_retention(log_, now, 29), 0, "20-29 ends at 30 > 29");
    cr_assert_eq(st_log_enforce_retention(log_, now, 30), 1);
    cr_assert_eq(st_log_start_offset(log_), 30);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 4, "never the active segment");
}

Test(retention, never_the_active_segment)
{
    fill(23, ts_all_old);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 4);
    cr_assert_eq(st_log_segment_count(log_), 1);
    cr_assert_eq(st_log_start_offset(log_), 40);
    cr_assert_eq(st_log_end_offset(log_), 46);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 0);
    /* appends go on */
    tu_append(log_, 2, now, 200);
    cr_assert_eq(tu_read_all(log_, 40, 1 << 20, NULL, NULL), 8);
}

static void bytes_limit(st_log_config_t *cfg)
{
    cfg->retention_ms = -1;
    cfg->retention_bytes = (int64_t)(12 * blen);
}

Test(retention, by_size)
{
    fill(40, ts_all_old);
    set(bytes_limit);
    /* 40 batches; deleting whole 5-batch segments while what stays is still >= 12 batches */
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 5);
    cr_assert_eq(st_log_size_bytes(log_), 15 * blen);
    cr_assert_eq(st_log_start_offset(log_), 50);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 0);
}

static void no_delete(st_log_config_t *cfg)
{
    cfg->cleanup_delete = false;
    cfg->retention_bytes = 0;
}

Test(retention, only_with_cleanup_delete_but_always_below_the_start)
{
    fill(40, ts_all_old);
    set(no_delete);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 0);
    cr_assert_eq(st_log_segment_count(log_), 8);
    /* DeleteRecords-style start move: whole segments below it go, even without "delete" */
    cr_assert_eq(st_log_advance_start(log_, 25), 0);
    cr_assert_eq(st_log_start_offset(log_), 25);
    cr_assert_eq(st_log_segment_count(log_), 6, "segments 0 and 10 wholly below 25");
    st_log_slice_t s;
    cr_assert_eq(st_log_read(log_, 24, 100, INT64_MAX, true, &s), -ERANGE);
    cr_assert_eq(st_log_read(log_, 25, 1, INT64_MAX, true, &s), 0);
    cr_assert_eq(s.first_offset, 24, "the batch holding the start");
    st_log_slice_release(&s);
    cr_assert_eq(st_log_advance_start(log_, 81), -ERANGE);
    cr_assert_eq(st_log_advance_start(log_, 80), 0);
    cr_assert_eq(st_log_segment_count(log_), 1);
}

static int64_t ts_none(int i)
{
    (void)i;
    return -1;
}

Test(retention, without_timestamps_uses_the_file_time)
{
    fill(12, ts_none);
    char *p = tu_join(dir, "00000000000000000000.log");
    struct timeval tv[2] = { { (now - 8 * DAY_MS) / 1000, 0 }, { (now - 8 * DAY_MS) / 1000, 0 } };
    cr_assert_eq(utimes(p, tv), 0);
    free(p);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 1);
    cr_assert_eq(st_log_start_offset(log_), 10);
}

static void delay(st_log_config_t *cfg)
{
    cfg->file_delete_delay_ms = 60000;
}

Test(retention, file_delete_delay)
{
    fill(40, ts_old_then_new);
    set(delay);
    st_log_slice_t s;
    cr_assert_eq(st_log_read(log_, 0, 1 << 20, INT64_MAX, true, &s), 0);
    cr_assert_eq(st_log_enforce_retention(log_, now, INT64_MAX), 3);
    cr_assert(tu_exists(dir, "00000000000000000000.log.deleted"));
    cr_assert(tu_exists(dir, "00000000000000000000.index.deleted"));
    cr_assert(tu_exists(dir, "00000000000000000000.timeindex.deleted"));
    /* a slice taken before still reads */
    uint8_t *bytes = tu_slice_bytes(&s);
    st_batch_header_t hdr;
    cr_assert_eq(st_batch_validate(bytes, s.len, &hdr, NULL), 0);
    free(bytes);
    st_log_slice_release(&s);
    cr_assert_eq(st_log_enforce_retention(log_, now + 1000, INT64_MAX), 0);
    cr_assert(tu_exists(dir, "00000000000000000010.log.deleted"));
    cr_assert_eq(st_log_enforce_retention(log_, now + 61000, INT64_MAX), 0);
    cr_assert_not(tu_exists(dir, "00000000000000000010.log.deleted"));
    cr_assert_not(tu_exists(dir, "00000000000000000000.timeindex.deleted"));
}
