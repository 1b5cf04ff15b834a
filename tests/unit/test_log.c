/* Unit tests of the partition log API: offsets assigned and stamped in place, read slices
 * (across segments, max bytes, min one batch, max offset, out of range), offset by timestamp,
 * truncation, follower appends, flushing and the recovery point, slices outliving deleted
 * segments, and the leader-epoch cache. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "log_internal.h"
#include "log_test_util.h"
#include "st_buf.h"

static char *tmp, *dir;
static st_log_t *log_;

static void setup(void)
{
    tu_quiet();
    tmp = tu_mkdtemp();
    dir = tu_join(tmp, "orders-0");
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

TestSuite(log, .init = setup, .fini = teardown);

static void open_log(int64_t segment_bytes)
{
    st_log_config_t cfg = tu_config(segment_bytes);
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
}

Test(log, append_assigns_and_stamps_offsets)
{
    open_log(1 << 20);
    size_t len;
    uint8_t *b = tu_batch(5, 1234, true, 20, &len);
    st_log_append_info_t info;
    cr_assert_eq(st_log_append(log_, b, len, 7, &info), 0);
    cr_assert_eq(info.first_offset, 0);
    cr_assert_eq(info.last_offset, 4);
    cr_assert_eq(info.batch_count, 1);
    cr_assert_eq(info.record_count, 5);
    cr_assert_eq(info.max_timestamp, 1234);
    st_batch_header_t hdr;
    cr_assert_eq(st_batch_validate(b, len, &hdr, NULL), 0, "stamping keeps the CRC valid");
    cr_assert_eq(hdr.base_offset, 0);
    cr_assert_eq(hdr.partition_leader_epoch, 7);

    /* two batches in one append */
    uint8_t *two = malloc(2 * len);
    memcpy(two, b, len);
    memcpy(two + len, b, len);
    cr_assert_eq(st_log_append(log_, two, 2 * len, 7, &info), 0);
    cr_assert_eq(info.first_offset, 5);
    cr_assert_eq(info.last_offset, 14);
    cr_assert_eq(info.batch_count, 2);
    cr_assert_eq(st_batch_header_decode(two + len, len, &hdr), 0);
    cr_assert_eq(hdr.base_offset, 10);
    cr_assert_eq(st_log_end_offset(log_), 15);
    cr_assert_eq(st_log_start_offset(log_), 0);

    /* the bytes on disk are the producer's, with the offset stamped */
    st_log_slice_t slice;
    cr_assert_eq(st_log_read(log_, 10, 1 << 20, INT64_MAX, true, &slice), 0);
    cr_assert_eq(slice.len, len);
    uint8_t *disk = tu_slice_bytes(&slice);
    cr_assert_eq(memcmp(disk, two + len, len), 0);
    free(disk);
    st_log_slice_release(&slice);
    free(two);
    free(b);
}

Test(log, bad_appends_are_refused)
{
    open_log(1 << 20);
    uint8_t junk[100];
    memset(junk, 0x5a, sizeof(junk));
    cr_assert_eq(st_log_append(log_, junk, sizeof(junk), 0, NULL), -EBADMSG);
    cr_assert_eq(st_log_append(log_, junk, 0, 0, NULL), -EINVAL);
    size_t len;
    uint8_t *b = tu_batch(2, 1, false, 10, &len);
    cr_assert_eq(st_log_append(log_, b, len - 1, 0, NULL), -EBADMSG, "partial batch");
    free(b);
    cr_assert_eq(st_log_end_offset(log_), 0);
    cr_assert_eq(st_log_size_bytes(log_), 0);
}

Test(log, read_positions)
{
    open_log(1 << 20);
    size_t len;
    free(tu_batch(10, 1, false, 50, &len));
    for (int i = 0; i < 10; i++)
        tu_append(log_, 10, 1, 50);   /* batches 0-9, 10-19, ... */
    st_log_slice_t s;
    cr_assert_eq(st_log_read(log_, 0, 1 << 20, INT64_MAX, true, &s), 0);
    cr_assert_eq(s.first_offset, 0);
    cr_assert_eq(s.pos, 0);
    cr_assert_eq(s.len, 10 * len);
    st_log_slice_release(&s);

    /* an offset inside a batch: that whole batch */
    cr_assert_eq(st_log_read(log_, 35, 1 << 20, INT64_MAX, true, &s), 0);
    cr_assert_eq(s.first_offset, 30);
    cr_assert_eq(s.pos, (off_t)(3 * len));
    cr_assert_eq(s.len, 7 * len);
    st_log_slice_release(&s);

    /* max bytes: whole batches only */
    cr_assert_eq(st_log_read(log_, 0, 3 * len + len / 2, INT64_MAX, true, &s), 0);
    cr_assert_eq(s.len, 3 * len);
    st_log_slice_release(&s);
    /* smaller than one batch: one batch with min_one_batch, nothing without */
    cr_assert_eq(st_log_read(log_, 20, 10, INT64_MAX, true, &s), 0);
    cr_assert_eq(s.len, len);
    cr_assert_eq(s.first_offset, 20);
    st_log_slice_release(&s);
    cr_assert_eq(st_log_read(log_, 20, 10, INT64_MAX, false, &s), 0);
    cr_assert_eq(s.len, 0);
    cr_assert_eq(s.fd, -1);

    /* max offset (the high watermark): batches reaching it are left out */
    cr_assert_eq(st_log_read(log_, 0, 1 << 20, 50, true, &s), 0);
    cr_assert_eq(s.len, 5 * len);
    st_log_slice_release(&s);
    cr_assert_eq(st_log_read(log_, 0, 1 << 20, 55, true, &s), 0);
    cr_assert_eq(s.len, 5 * len, "the batch 50-59 is not wholly below 55");
    st_log_slice_release(&s);
    cr_assert_eq(st_log_read(log_, 52, 1 << 20, 55, true, &s), 0);
    cr_assert_eq(s.len, 0);
    cr_assert_eq(st_log_read(log_, 60, 1 << 20, 60, true, &s), 0);
    cr_assert_eq(s.len, 0);

    /* the log end: nothing yet; past it or below the start: out of range */
    cr_assert_eq(st_log_read(log_, 100, 1 << 20, INT64_MAX, true, &s), 0);
    cr_assert_eq(s.len, 0);
    cr_assert_eq(st_log_read(log_, 101, 1 << 20, INT64_MAX, true, &s), -ERANGE);
    cr_assert_eq(st_log_read(log_, -1, 1 << 20, INT64_MAX, true, &s), -ERANGE);
}

Test(log, reads_stay_in_one_segment)
{
    open_log(4096);
    for (int i = 0; i < 40; i++)
        tu_append(log_, 4, 1, 200);
    size_t segs = st_log_segment_count(log_);
    cr_assert_gt(segs, 5);
    int64_t next = 0;
    size_t slices = 0;
    while (next < st_log_end_offset(log_)) {
        st_log_slice_t s;
        cr_assert_eq(st_log_read(log_, next, 1 << 20, INT64_MAX, true, &s), 0);
        cr_assert_gt(s.len, 0);
        cr_assert_eq(s.first_offset, next);
        uint8_t *buf = tu_slice_bytes(&s);
        st_batch_reader_t r;
        st_batch_reader_init(&r, buf, s.len);
        st_batch_header_t hdr;
        while (st_batch_reader_next_batch(&r, &hdr) == 1)
            next = st_batch_last_offset(&hdr) + 1;
        cr_assert_eq(st_batch_reader_tail(&r), 0);
        st_batch_reader_destroy(&r);
        free(buf);
        st_log_slice_release(&s);
        slices++;
    }
    cr_assert_eq(slices, segs, "one slice per segment");
    cr_assert_eq(tu_read_all(log_, 17, 1000, NULL, NULL), 160 - 17);
}

Test(log, offset_for_timestamp)
{
    open_log(4096);
    for (int i = 0; i < 30; i++)
        tu_append(log_, 2, 10000 + i * 100, 300);   /* batch i: offsets 2i, 2i+1 */
    cr_assert_gt(st_log_segment_count(log_), 3);
    int64_t off;
    cr_assert_eq(st_log_offset_for_timestamp(log_, 0, &off, NULL), 0);
    cr_assert_eq(off, 0);
    cr_assert_eq(st_log_offset_for_timestamp(log_, 10000, &off, NULL), 0);
    cr_assert_eq(off, 0);
    cr_assert_eq(st_log_offset_for_timestamp(log_, 10001, &off, NULL), 0);
    cr_assert_eq(off, 2);
    for (int i = 0; i < 30; i++) {
        cr_assert_eq(st_log_offset_for_timestamp(log_, 10000 + i * 100, &off, NULL), 0);
        cr_assert_eq(off, 2 * i, "ts of batch %d -> %" PRId64, i, off);
        cr_assert_eq(st_log_offset_for_timestamp(log_, 10000 + i * 100 - 50, &off, NULL), 0);
        cr_assert_eq(off, 2 * i);
    }
    cr_assert_eq(st_log_offset_for_timestamp(log_, 20000, &off, NULL), 0);
    cr_assert_eq(off, 60, "none: the log end");
    /* timestamps out of order: the first batch whose max reaches it */
    tu_append(log_, 1, 5000, 10);
    tu_append(log_, 1, 90000, 10);
    cr_assert_eq(st_log_offset_for_timestamp(log_, 50000, &off, NULL), 0);
    cr_assert_eq(off, 61);
}

/* Kafka answers with the exact record, not the batch: records inside one batch carry their own
 * timestamps (here 1000, 1010, ..., 1090 for offsets 0..9). */
Test(log, offset_for_timestamp_finds_the_exact_record)
{
    open_log(1 << 20);
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_LZ4);
    cr_assert(w);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(st_batch_writer_add(w, 1000 + i * 10, NULL, -1, "v", 1, NULL, 0), 0);
    const void *buf;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &buf, &len), 0);
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    st_log_append_info_t info;
    cr_assert_eq(st_log_append(log_, copy, len, 0, &info), 0);
    free(copy);
    st_batch_writer_free(w);
    int64_t off, ts;
    cr_assert_eq(st_log_offset_for_timestamp(log_, 1035, &off, &ts), 0);
    cr_expect_eq(off, 4);
    cr_expect_eq(ts, 1040);
    cr_assert_eq(st_log_offset_for_timestamp(log_, 1000, &off, &ts), 0);
    cr_expect_eq(off, 0);
    cr_expect_eq(ts, 1000);
    cr_assert_eq(st_log_offset_for_timestamp(log_, 1091, &off, &ts), 0);
    cr_expect_eq(off, 10, "none: the log end");
    cr_expect_eq(ts, -1);
    /* the log start inside the batch: records below it never answer */
    cr_assert_eq(st_log_advance_start(log_, 6), 0);
    cr_assert_eq(st_log_offset_for_timestamp(log_, 1000, &off, &ts), 0);
    cr_expect_eq(off, 6);
    cr_expect_eq(ts, 1060);
}

Test(log, truncate_to)
{
    open_log(4096);
    for (int i = 0; i < 40; i++)
        tu_append(log_, 4, 100 + i, 200);
    size_t segs = st_log_segment_count(log_);
    /* no-op at or past the end */
    cr_assert_eq(st_log_truncate_to(log_, 160), 0);
    cr_assert_eq(st_log_end_offset(log_), 160);
    /* to a batch boundary in an earlier segment */
    cr_assert_eq(st_log_truncate_to(log_, 48), 0);
    cr_assert_eq(st_log_end_offset(log_), 48);
    cr_assert_lt(st_log_segment_count(log_), segs);
    cr_assert_eq(tu_read_all(log_, 0, 1 << 20, NULL, NULL), 48);
    int64_t off;
    cr_assert_eq(st_log_offset_for_timestamp(log_, 100 + 12, &off, NULL), 0);
    cr_assert_eq(off, 48, "timestamps of removed batches are gone");
    st_log_slice_t s;
    cr_assert_eq(st_log_read(log_, 49, 100, INT64_MAX, true, &s), -ERANGE);
    /* appends continue from there, in the same segment */
    st_log_append_info_t info = tu_append(log_, 4, 1000, 200);
    cr_assert_eq(info.first_offset, 48);
    cr_assert_eq(tu_read_all(log_, 0, 1 << 20, NULL, NULL), 52);
    /* below the start: truncated fully, restarted at that offset */
    cr_assert_eq(st_log_advance_start(log_, 20), 0);
    cr_assert_eq(st_log_truncate_to(log_, 10), 0);
    cr_assert_eq(st_log_start_offset(log_), 10);
    cr_assert_eq(st_log_end_offset(log_), 10);
    cr_assert_eq(st_log_segment_count(log_), 1);
    cr_assert_eq(st_log_size_bytes(log_), 0);
    cr_assert(tu_exists(dir, "00000000000000000010.log"));
    info = tu_append(log_, 1, 1, 10);
    cr_assert_eq(info.first_offset, 10);
    /* state survives a reopen */
    st_log_close(log_);
    st_log_config_t cfg = tu_config(4096);
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    cr_assert_eq(st_log_start_offset(log_), 10);
    cr_assert_eq(st_log_end_offset(log_), 11);
}

Test(log, truncate_inside_a_batch_removes_the_whole_batch)
{
    open_log(1 << 20);
    for (int i = 0; i < 5; i++)
        tu_append(log_, 10, 1, 10);
    cr_assert_eq(st_log_truncate_to(log_, 25), 0);
    cr_assert_eq(st_log_end_offset(log_), 25);
    cr_assert_eq(tu_read_all(log_, 0, 1 << 20, NULL, NULL), 20);
    st_log_append_info_t info = tu_append(log_, 2, 1, 10);
    cr_assert_eq(info.first_offset, 25);
    cr_assert_eq(tu_read_all(log_, 0, 1 << 20, NULL, NULL), 22);
}

Test(log, follower_append)
{
    open_log(1 << 20);
    size_t len;
    uint8_t *b = tu_batch(3, 1, false, 10, &len);
    st_batch_stamp(b, 5, 2);
    cr_assert_eq(st_log_append_follower(log_, b, len, NULL), -EINVAL, "must start at the log end");
    st_batch_stamp(b, 0, 2);
    st_log_append_info_t info;
    cr_assert_eq(st_log_append_follower(log_, b, len, &info), 0);
    cr_assert_eq(info.first_offset, 0);
    cr_assert_eq(info.last_offset, 2);
    cr_assert_eq(st_log_latest_epoch(log_), 2);
    st_batch_stamp(b, 3, 4);
    cr_assert_eq(st_log_append_follower(log_, b, len, &info), 0);
    cr_assert_eq(st_log_latest_epoch(log_), 4);
    int32_t epoch;
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 2, &epoch), 3);
    cr_assert_eq(epoch, 2);
    free(b);
}

/* Replication's use of the engine: a new leader records its epoch at the LEO with no batch yet,
 * a follower's bytes keep the leader's stamps (not re-stamped), truncation trims the epochs. */
Test(log, follower_bytes_unchanged_and_assigned_epochs)
{
    open_log(1 << 20);
    size_t len;
    uint8_t *b = tu_batch(3, 1, false, 10, &len);
    st_batch_stamp(b, 0, 1);
    uint8_t *copy = malloc(len);
    memcpy(copy, b, len);
    cr_assert_eq(st_log_append_follower(log_, b, len, NULL), 0);
    cr_assert_eq(memcmp(b, copy, len), 0, "the follower path does not re-stamp");
    cr_assert_eq(st_log_assign_epoch(log_, 3, 3), 0, "new leader at epoch 3, LEO 3");
    cr_assert_eq(st_log_latest_epoch(log_), 3);
    int32_t epoch;
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 1, &epoch), 3);
    cr_assert_eq(epoch, 1);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 2, &epoch), 3, "epoch 2 never led: floor 1");
    cr_assert_eq(epoch, 1);
    cr_assert_eq(st_log_assign_epoch(log_, 4, 99), -EINVAL, "beyond the log end");
    cr_assert_eq(st_log_truncate_to(log_, 1), 0);
    cr_assert_eq(st_log_latest_epoch(log_), 1, "epoch 3 started after the new end");
    free(copy);
    free(b);
}

/* A broker that led an epoch without appending (the epoch starts at its LEO) and then follows
 * another leader: truncating at or past the log end removes no record but drops that epoch, so
 * its next fetch names the epoch its records really carry (Kafka's UnifiedLog.truncateTo). */
Test(log, truncate_at_the_end_drops_an_empty_trailing_epoch)
{
    open_log(1 << 20);
    size_t len;
    uint8_t *b = tu_batch(3, 1, false, 10, &len);
    cr_assert_eq(st_log_append(log_, b, len, 0, NULL), 0);
    cr_assert_eq(st_log_assign_epoch(log_, 1, 3), 0, "led epoch 1 from offset 3, no append");
    cr_assert_eq(st_log_latest_epoch(log_), 1);
    cr_assert_eq(st_log_truncate_to(log_, 5), 0, "past the end");
    cr_assert_eq(st_log_end_offset(log_), 3, "no record removed");
    cr_assert_eq(st_log_latest_epoch(log_), 0, "the empty epoch 1 is gone");
    cr_assert_eq(st_log_assign_epoch(log_, 2, 3), 0);
    cr_assert_eq(st_log_truncate_to(log_, 3), 0, "at the end");
    cr_assert_eq(st_log_end_offset(log_), 3);
    cr_assert_eq(st_log_latest_epoch(log_), 0);
    int32_t epoch;
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 0, &epoch), 3);
    cr_assert_eq(epoch, 0);
    free(b);
}

Test(log, flush_moves_the_recovery_point)
{
    st_log_config_t cfg = tu_config(4096);
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    for (int i = 0; i < 10; i++)
        tu_append(log_, 4, 1, 300);
    cr_assert_eq(st_log_recovery_point(log_), 0);
    cr_assert_eq(st_log_flush(log_), 0);
    cr_assert_eq(st_log_recovery_point(log_), 40);
    tu_append(log_, 4, 1, 300);
    cr_assert_eq(st_log_recovery_point(log_), 40);

    /* log.flush.interval.messages */
    cfg.flush_interval_messages = 8;
    st_log_set_config(log_, &cfg);
    tu_append(log_, 3, 1, 10);
    cr_assert_eq(st_log_recovery_point(log_), 40, "7 unflushed messages");
    tu_append(log_, 1, 1, 10);
    cr_assert_eq(st_log_recovery_point(log_), 48);

    /* a roll owes a flush, paid by the maintenance pass */
    cfg.flush_interval_messages = INT64_MAX;
    st_log_set_config(log_, &cfg);
    for (int i = 0; i < 10; i++)
        tu_append(log_, 4, 1, 300);
    cr_assert_eq(st_log_recovery_point(log_), 48);
    cr_assert_eq(st_log_maybe_flush(log_, st_log_now_ms()), 0);
    int64_t rp = st_log_recovery_point(log_);
    cr_assert_gt(rp, 48);
    cr_assert_leq(rp, st_log_end_offset(log_));
    /* log.flush.interval.ms */
    cfg.flush_interval_ms = 10;
    st_log_set_config(log_, &cfg);
    cr_assert_eq(st_log_maybe_flush(log_, st_log_now_ms() + 1000), 0);
    cr_assert_eq(st_log_recovery_point(log_), st_log_end_offset(log_));
}

Test(log, slice_outlives_its_deleted_segment)
{
    open_log(4096);
    for (int i = 0; i < 20; i++)
        tu_append(log_, 4, 1, 300);
    cr_assert(tu_exists(dir, "00000000000000000012.log"));
    st_log_slice_t s;
    cr_assert_eq(st_log_read(log_, 13, 1 << 20, INT64_MAX, true, &s), 0);
    cr_assert_gt(s.len, 0);
    uint8_t *before = tu_slice_bytes(&s);
    cr_assert_eq(st_log_truncate_to(log_, 2), 0);   /* later segments go, files unlinked */
    cr_assert_not(tu_exists(dir, "00000000000000000012.log"));
    uint8_t *after = tu_slice_bytes(&s);
    cr_assert_eq(memcmp(before, after, s.len), 0, "the fd still reads the old bytes");
    st_log_slice_release(&s);
    free(before);
    free(after);
}

Test(log, leader_epoch_cache)
{
    open_log(1 << 20);
    size_t len;
    uint8_t *b = tu_batch(2, 1, false, 10, &len);
    cr_assert_eq(st_log_latest_epoch(log_), -1);
    int32_t epoch;
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 0, &epoch), -1);
    cr_assert_eq(epoch, -1);
    int epochs[] = { 1, 1, 2, 2, 5, 5 };   /* offsets 0-1, 2-3 | 4-5, 6-7 | 8-9, 10-11 */
    for (int i = 0; i < 6; i++)
        cr_assert_eq(st_log_append(log_, b, len, epochs[i], NULL), 0);
    cr_assert_eq(st_log_latest_epoch(log_), 5);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 1, &epoch), 4);
    cr_assert_eq(epoch, 1);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 2, &epoch), 8);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 3, &epoch), 8, "unknown epoch: the floor's end");
    cr_assert_eq(epoch, 2);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 5, &epoch), 12, "latest: the log end");
    cr_assert_eq(epoch, 5);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 0, &epoch), 0,
                 "below the earliest: it ended where the earliest known epoch starts (Kafka)");
    cr_assert_eq(epoch, 0);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 6, &epoch), -1, "above the latest");

    /* the checkpoint, in Kafka's format */
    char *path = tu_join(dir, "leader-epoch-checkpoint");
    FILE *f = fopen(path, "r");
    cr_assert(f);
    char text[256] = { 0 };
    cr_assert_gt(fread(text, 1, sizeof(text) - 1, f), 0);
    fclose(f);
    cr_assert_str_eq(text, "0\n3\n1 0\n2 4\n5 8\n");

    /* truncation drops epochs that started at or after the new end */
    cr_assert_eq(st_log_truncate_to(log_, 6), 0);
    cr_assert_eq(st_log_latest_epoch(log_), 2);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 2, &epoch), 6);
    /* moving the start trims from the front */
    cr_assert_eq(st_log_advance_start(log_, 5), 0);
    st_log_close(log_);
    st_log_config_t cfg = tu_config(1 << 20);
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    f = fopen(path, "r");
    memset(text, 0, sizeof(text));
    cr_assert_gt(fread(text, 1, sizeof(text) - 1, f), 0);
    fclose(f);
    cr_assert_str_eq(text, "0\n1\n2 5\n");
    cr_assert_eq(st_log_latest_epoch(log_), 2);
    /* a new leader epoch with the next append */
    cr_assert_eq(st_log_append(log_, b, len, 7, NULL), 0);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 2, &epoch), 6);
    cr_assert_eq(st_log_end_offset_for_epoch(log_, 7, &epoch), 8);
    free(path);
    free(b);
}

Test(log, epoch_cache_rules)
{
    st_epoch_cache_t c;
    char *path = tu_join(tmp, "epochs");
    cr_assert_eq(st_epoch_cache_load(&c, path), 0);
    cr_assert_eq(st_epoch_cache_assign(&c, 1, 0), 0);
    cr_assert_eq(st_epoch_cache_assign(&c, 3, 10), 0);
    cr_assert_eq(st_epoch_cache_assign(&c, 4, 20), 0);
    /* an epoch at a lower start offset replaces what conflicts with it */
    cr_assert_eq(st_epoch_cache_assign(&c, 5, 15), 0);
    cr_assert_eq(c.n, 3);
    cr_assert_eq(c.entries[2].epoch, 5);
    cr_assert_eq(c.entries[2].start_offset, 15);
    cr_assert_eq(st_epoch_cache_truncate_from_start(&c, 12), 0);
    cr_assert_eq(c.n, 2);
    cr_assert_eq(c.entries[0].epoch, 3);
    cr_assert_eq(c.entries[0].start_offset, 12);
    st_epoch_cache_free(&c);
    /* corrupt checkpoint: ignored with a warning */
    FILE *f = fopen(path, "w");
    fputs("0\n2\n1 x\n", f);
    fclose(f);
    cr_assert_eq(st_epoch_cache_load(&c, path), 0);
    cr_assert_eq(c.n, 0);
    st_epoch_cache_free(&c);
    free(path);
}

/* ---- concurrency: appenders, readers and a janitor (roll, flush, retention) at once ---------- */

typedef struct race {
    st_log_t *log;
    atomic_int writers_left;
    atomic_long slices_checked;
} race_t;

static void *race_append(void *arg)
{
    race_t *r = arg;
    size_t len;
    uint8_t *b = tu_batch(2, 1, false, 120, &len);
    for (int i = 0; i < 1500; i++)
        cr_assert_eq(st_log_append(r->log, b, len, 1, NULL), 0);
    free(b);
    atomic_fetch_sub(&r->writers_left, 1);
    return NULL;
}

static void *race_read(void *arg)
{
    race_t *r = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    uint8_t *buf = malloc(1 << 16);
    while (atomic_load(&r->writers_left) > 0) {
        int64_t start = st_log_start_offset(r->log), end = st_log_end_offset(r->log);
        if (end == start)
            continue;
        int64_t off = start + (int64_t)(rand_r(&seed) % (unsigned)(end - start));
        st_log_slice_t s;
        int ret = st_log_read(r->log, off, 1 << 16, INT64_MAX, true, &s);
        if (ret == -ERANGE)
            continue;   /* retention moved the start meanwhile */
        cr_assert_eq(ret, 0, "read: %s", strerror(-ret));
        if (s.len == 0)
            continue;
        cr_assert_leq(s.len, 1 << 16);
        cr_assert_eq(pread(s.fd, buf, s.len, s.pos), (ssize_t)s.len, "the fd outlives deletion");
        size_t pos = 0;
        while (pos < s.len) {
            st_batch_header_t hdr;
            cr_assert_eq(st_batch_validate(buf + pos, s.len - pos, &hdr, NULL), 0);
            if (pos == 0)
                cr_assert_eq(hdr.base_offset, s.first_offset);
            pos += st_batch_total_size(&hdr);
        }
        st_log_slice_release(&s);
        atomic_fetch_add(&r->slices_checked, 1);
    }
    free(buf);
    return NULL;
}

Test(log, concurrent_appends_reads_and_retention)
{
    st_log_config_t cfg = tu_config(8192);
    cfg.retention_bytes = 64 * 1024;
    cfg.retention_ms = -1;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log_), 0);
    race_t r = { .log = log_ };
    atomic_init(&r.writers_left, 2);
    atomic_init(&r.slices_checked, 0);
    pthread_t t[4];
    pthread_create(&t[0], NULL, race_append, &r);
    pthread_create(&t[1], NULL, race_append, &r);
    pthread_create(&t[2], NULL, race_read, &r);
    pthread_create(&t[3], NULL, race_read, &r);
    int deleted = 0;
    while (atomic_load(&r.writers_left) > 0) {
        deleted += st_log_enforce_retention(log_, st_log_now_ms(), INT64_MAX);
        st_log_flush(log_);
        st_log_roll(log_);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    /* On a loaded machine the writers may finish before the loop above ran retention on a log
     * over retention.bytes; one more pass makes the outcome independent of scheduling. */
    st_log_roll(log_);
    deleted += st_log_enforce_retention(log_, st_log_now_ms(), INT64_MAX);
    cr_assert_eq(st_log_end_offset(log_), 2 * 1500 * 2);
    cr_assert_gt(deleted, 0);
    cr_assert_gt(atomic_load(&r.slices_checked), 0);
    cr_assert_eq(tu_read_all(log_, st_log_start_offset(log_), 1 << 20, NULL, NULL),
                 st_log_end_offset(log_) - st_log_start_offset(log_));
}

/* Every .log file of the log is at most `limit` bytes; returns how many there are. */
static int segments_within(const char *d, off_t limit)
{
    DIR *dp = opendir(d);
    cr_assert(dp);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dp))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 4, ".log") != 0)
            continue;
        off_t size = tu_file_size(d, e->d_name);
        cr_expect_leq(size, limit, "%s is %lld bytes, over segment.bytes %lld", e->d_name,
                      (long long)size, (long long)limit);
        n++;
    }
    closedir(dp);
    return n;
}

/* segment.bytes is never exceeded by an append: a multi-batch append (leader or follower) whose
 * batches do not all fit rolls between batches, and a segment.bytes lowered under the active
 * segment's size rolls before the next append. Every offset stays readable in order. */
Test(log, segment_bytes_is_never_exceeded)
{
    size_t len;
    uint8_t *b = tu_batch(4, 1000, false, 100, &len);
    int64_t limit = (int64_t)(2 * len + len / 2);          /* two batches fit, not three */
    open_log(limit);
    uint8_t *five = malloc(5 * len);
    for (int i = 0; i < 5; i++)
        memcpy(five + (size_t)i * len, b, len);
    st_log_append_info_t info;
    cr_assert_eq(st_log_append(log_, five, 5 * len, 0, &info), 0);
    cr_expect_eq(info.first_offset, 0);
    cr_expect_eq(info.last_offset, 19);
    cr_expect_eq(info.batch_count, 5);
    cr_expect_eq(info.record_count, 20);
    cr_expect_eq(segments_within(dir, limit), 3, "2 + 2 + 1 batches");

    /* the follower path: five more batches with the leader's offsets */
    for (int i = 0; i < 5; i++)
        st_batch_stamp(five + (size_t)i * len, 20 + 4 * i, 0);
    cr_assert_eq(st_log_append_follower(log_, five, 5 * len, &info), 0);
    cr_expect_eq(info.first_offset, 20);
    cr_expect_eq(info.last_offset, 39);
    cr_expect_eq(segments_within(dir, limit), 5, "the third topped up to 2, then 2 + 1");

    /* segment.bytes lowered below the active segment's size: the next append rolls first */
    st_log_config_t small = tu_config((int64_t)len + 1);
    st_log_set_config(log_, &small);
    size_t before = st_log_segment_count(log_);
    cr_assert_eq(st_log_append(log_, b, len, 0, &info), 0);
    cr_expect_eq(st_log_segment_count(log_), before + 1);
    cr_assert_eq(st_log_append(log_, b, len, 0, &info), 0);
    cr_expect_eq(st_log_segment_count(log_), before + 2);
    segments_within(dir, limit);

    /* a batch larger than segment.bytes: refused on the leader, kept alone by a follower
     * (the leader accepted it under a larger segment.bytes) */
    small = tu_config((int64_t)len - 1);
    st_log_set_config(log_, &small);
    cr_expect_eq(st_log_append(log_, b, len, 0, &info), -E2BIG);
    int64_t end = st_log_end_offset(log_);
    st_batch_stamp(b, end, 0);
    cr_expect_eq(st_log_append_follower(log_, b, len, &info), 0);
    cr_expect_eq(info.first_offset, end);

    /* everything reads back in order */
    int64_t next = 0;
    while (next < st_log_end_offset(log_)) {
        st_log_slice_t slice;
        cr_assert_eq(st_log_read(log_, next, 1 << 20, INT64_MAX, true, &slice), 0);
        cr_assert_gt(slice.len, 0);
        uint8_t *bytes = tu_slice_bytes(&slice);
        for (size_t pos = 0; pos < slice.len;) {
            st_batch_header_t hdr;
            cr_assert_eq(st_batch_validate(bytes + pos, slice.len - pos, &hdr, NULL), 0);
            cr_assert_eq(hdr.base_offset, next);
            next = st_batch_last_offset(&hdr) + 1;
            pos += st_batch_total_size(&hdr);
        }
        free(bytes);
        st_log_slice_release(&slice);
    }
    free(five);
    free(b);
}
