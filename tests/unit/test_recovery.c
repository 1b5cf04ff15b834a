/* Unit tests of loading and crash recovery (log_recovery.c, st_segment_recover): a corrupt
 * batch in the middle of the last segment cuts the log at exactly its position, torn tails,
 * corruption in an earlier segment drops every later segment, corrupt or missing indexes are
 * rebuilt, a clean shutdown skips the scan, the recovery point bounds it, and the leftovers of
 * interrupted operations (*.cleaned, *.swap, *.deleted) are settled. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>

#include "log_internal.h"
#include "log_test_util.h"
#include "st_buf.h"

static char *tmp, *dir;
static size_t blen;   /* every batch of these tests has this size */

static void setup(void)
{
    tu_quiet();
    tmp = tu_mkdtemp();
    dir = tu_join(tmp, "payments-1");
    free(tu_batch(4, 1000, false, 100, &blen));
}

static void teardown(void)
{
    tu_rm_rf(tmp);
    free(tmp);
    free(dir);
}

TestSuite(recovery, .init = setup, .fini = teardown);

static st_log_t *open_log(int64_t segment_bytes, int64_t recovery_point, bool clean)
{
    st_log_config_t cfg = tu_config(segment_bytes);
    cfg.index_interval_bytes = 1024;
    st_log_t *log;
    int ret = st_log_open(dir, &cfg, recovery_point, clean, &log);
    cr_assert_eq(ret, 0, "open: %s", strerror(-ret));
    return log;
}

/* n batches of 4 records each (offsets 4i..4i+3), closed cleanly. */
static void write_log(int64_t segment_bytes, int n)
{
    st_log_t *log = open_log(segment_bytes, 0, true);
    for (int i = 0; i < n; i++)
        tu_append(log, 4, 1000 + i, 100);
    st_log_close(log);
}

static void flip_byte(const char *name, off_t pos)
{
    char *path = tu_join(dir, name);
    int fd = open(path, O_RDWR);
    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    uint8_t b;
    cr_assert_eq(pread(fd, &b, 1, pos), 1);
    b ^= 0x40;
    cr_assert_eq(pwrite(fd, &b, 1, pos), 1);
    close(fd);
    free(path);
}

static void append_bytes(const char *name, const void *data, size_t len)
{
    char *path = tu_join(dir, name);
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    free(path);
}

static char *seg_name(int64_t base, const char *ext)
{
    char *name;
    cr_assert(asprintf(&name, "%020" PRId64 "%s", base, ext) > 0);
    return name;
}

Test(recovery, corrupt_batch_in_the_middle_of_the_last_segment)
{
    int64_t seg_bytes = (int64_t)(10 * blen);   /* 10 batches per segment */
    write_log(seg_bytes, 25);                    /* segments at 0, 40, 80 */
    char *last = seg_name(80, ".log");
    cr_assert_eq(tu_file_size(dir, last), (off_t)(5 * blen));
    /* a byte inside the records of the 3rd batch of the last segment */
    flip_byte(last, (off_t)(2 * blen + 70));

    st_log_t *log = open_log(seg_bytes, 0, false);
    cr_assert_eq(tu_file_size(dir, last), (off_t)(2 * blen), "cut at the bad batch's position");
    cr_assert_eq(st_log_end_offset(log), 88);
    cr_assert_eq(st_log_segment_count(log), 3);
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), 88);
    /* it takes appends again, at the cut */
    st_log_append_info_t info = tu_append(log, 4, 5000, 100);
    cr_assert_eq(info.first_offset, 88);
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), 92);
    st_log_close(log);
    free(last);
}

Test(recovery, torn_tail_is_truncated)
{
    write_log(1 << 20, 6);
    size_t len;
    uint8_t *b = tu_batch(4, 1000, false, 100, &len);
    const char *name = "00000000000000000000.log";
    append_bytes(name, b, 40);   /* not even a whole header */
    cr_assert_eq(tu_file_size(dir, name), (off_t)(6 * blen + 40));
    st_log_t *log = open_log(1 << 20, 0, false);
    cr_assert_eq(tu_file_size(dir, name), (off_t)(6 * blen));
    cr_assert_eq(st_log_end_offset(log), 24);
    st_log_close(log);

    append_bytes(name, b, len - 1);   /* a header, but the batch is one byte short */
    log = open_log(1 << 20, 0, false);
    cr_assert_eq(tu_file_size(dir, name), (off_t)(6 * blen));
    cr_assert_eq(st_log_end_offset(log), 24);
    st_log_close(log);

    append_bytes(name, b, len);   /* a whole batch with offset 0: out of order */
    log = open_log(1 << 20, 0, false);
    cr_assert_eq(tu_file_size(dir, name), (off_t)(6 * blen));
    st_log_close(log);
    free(b);
}

Test(recovery, corruption_in_an_earlier_segment_drops_the_later_ones)
{
    int64_t seg_bytes = (int64_t)(10 * blen);
    write_log(seg_bytes, 25);
    /* the 5th batch's baseTimestamp (inside the CRC) */
    flip_byte("00000000000000000040.log", (off_t)(4 * blen + 30));
    st_log_t *log = open_log(seg_bytes, 0, false);
    cr_assert_eq(st_log_end_offset(log), 56);
    cr_assert_eq(st_log_segment_count(log), 2);
    cr_assert_not(tu_exists(dir, "00000000000000000080.log"));
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), 56);
    st_log_close(log);
}

Test(recovery, clean_shutdown_skips_the_scan)
{
    write_log(1 << 20, 8);
    const char *name = "00000000000000000000.log";
    flip_byte(name, (off_t)(5 * blen + 80));   /* CRC now wrong, header intact */
    st_log_t *log = open_log(1 << 20, 0, true);
    cr_assert_eq(st_log_end_offset(log), 32, "not scanned: the bad batch is still counted");
    cr_assert_eq(tu_file_size(dir, name), (off_t)(8 * blen));
    st_log_close(log);
    log = open_log(1 << 20, 0, false);
    cr_assert_eq(st_log_end_offset(log), 20, "scanned after an unclean stop");
    cr_assert_eq(tu_file_size(dir, name), (off_t)(5 * blen));
    st_log_close(log);
}

Test(recovery, scan_starts_at_the_recovery_point)
{
    int64_t seg_bytes = (int64_t)(10 * blen);
    write_log(seg_bytes, 25);
    flip_byte("00000000000000000000.log", (off_t)(3 * blen + 80));
    flip_byte("00000000000000000080.log", (off_t)(3 * blen + 80));
    /* recovery point 50: segment 40 and 80 scanned, segment 0 not */
    st_log_t *log = open_log(seg_bytes, 50, false);
    cr_assert_eq(st_log_end_offset(log), 92);
    cr_assert_eq(tu_file_size(dir, "00000000000000000000.log"), (off_t)(10 * blen));
    cr_assert_eq(st_log_recovery_point(log), 50);
    st_log_close(log);
}

Test(recovery, corrupt_or_missing_index_is_rebuilt)
{
    int64_t seg_bytes = (int64_t)(20 * blen);
    write_log(seg_bytes, 50);
    const char *iname = "00000000000000000000.index";
    off_t isize = tu_file_size(dir, iname);
    cr_assert_gt(isize, 16);
    /* entry 1 pointing far outside the segment */
    char *ipath = tu_join(dir, iname);
    int fd = open(ipath, O_RDWR);
    uint8_t e[8];
    st_put_be32(e, 3);
    st_put_be32(e + 4, 0x7fffff00);
    cr_assert_eq(pwrite(fd, e, 8, isize - 8), 8);
    close(fd);
    /* and the second segment's index is gone */
    char *iname2 = tu_join(dir, "00000000000000000080.index");
    unlink(iname2);

    st_log_t *log = open_log(seg_bytes, 0, true);
    cr_assert_eq(st_log_end_offset(log), 200);
    cr_assert_eq(tu_file_size(dir, iname), isize, "rebuilt with the same entries");
    cr_assert(tu_exists(dir, "00000000000000000080.index"));
    for (int64_t off = 0; off < 200; off += 3) {
        st_log_slice_t s;
        cr_assert_eq(st_log_read(log, off, 1, INT64_MAX, true, &s), 0);
        cr_assert_eq(s.first_offset, off / 4 * 4);
        st_log_slice_release(&s);
    }
    st_log_close(log);
    st_index_file_t idx;
    cr_assert_eq(st_index_file_open(&idx, ipath, ST_OFFSET_INDEX_ENTRY, 0, false), 0);
    cr_assert_eq(st_offset_index_load(&idx), 0);
    char reason[160];
    cr_assert_eq(st_offset_index_check(&idx, (uint32_t)(20 * blen), 80, true, reason,
                                       sizeof(reason)), 0, "%s", reason);
    st_index_file_close(&idx);
    free(ipath);
    free(iname2);
}

/* Copies the partition directory while the log is open: the state a SIGKILL would leave. */
static void snapshot(const char *to)
{
    char *cmd;
    cr_assert(asprintf(&cmd, "cp -a '%s' '%s'", dir, to) > 0);
    cr_assert_eq(system(cmd), 0);
    free(cmd);
}

Test(recovery, state_left_by_a_kill_is_recovered)
{
    st_log_t *log = open_log((int64_t)(10 * blen), 0, true);
    for (int i = 0; i < 23; i++)
        tu_append(log, 4, 1000 + i, 100);
    char *copy = tu_join(tmp, "payments-2");
    snapshot(copy);
    st_log_close(log);
    /* the active segment's indexes are still preallocated in the copy */
    cr_assert_eq(tu_file_size(copy, "00000000000000000080.index"), 64 * 1024);
    free(dir);
    dir = copy;
    log = open_log((int64_t)(10 * blen), 0, false);
    cr_assert_eq(st_log_end_offset(log), 92);
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), 92);
    st_log_append_info_t info = tu_append(log, 4, 1, 100);
    cr_assert_eq(info.first_offset, 92);
    st_log_close(log);
}

Test(recovery, leftovers_of_interrupted_operations)
{
    int64_t seg_bytes = (int64_t)(10 * blen);
    write_log(seg_bytes, 25);
    /* an uncommitted compaction: .cleaned files are dropped */
    char *p = tu_join(dir, "00000000000000000000.log.cleaned");
    FILE *f = fopen(p, "w");
    fputs("half-written", f);
    fclose(f);
    free(p);
    /* a committed one: 00000000000000000040.log.swap holds only its first 3 batches */
    char *src = tu_join(dir, "00000000000000000040.log");
    char *swap = tu_join(dir, "00000000000000000040.log.swap");
    char *cmd;
    cr_assert(asprintf(&cmd, "head -c %zu '%s' > '%s'", 3 * blen, src, swap) > 0);
    cr_assert_eq(system(cmd), 0);
    free(cmd);
    /* a segment deleted with file.delete.delay.ms, and an orphan index */
    p = tu_join(dir, "00000000000000000007.log.deleted");
    fclose(fopen(p, "w"));
    free(p);
    p = tu_join(dir, "00000000000000000999.index");
    fclose(fopen(p, "w"));
    free(p);

    st_log_t *log = open_log(seg_bytes, 0, true);
    cr_assert_not(tu_exists(dir, "00000000000000000000.log.cleaned"));
    cr_assert_not(tu_exists(dir, "00000000000000000040.log.swap"));
    cr_assert_not(tu_exists(dir, "00000000000000000007.log.deleted"));
    cr_assert_not(tu_exists(dir, "00000000000000000999.index"));
    cr_assert_eq(tu_file_size(dir, "00000000000000000040.log"), (off_t)(3 * blen));
    cr_assert_eq(st_log_end_offset(log), 100);
    /* offsets 52..79 are gone (a gap, as compaction leaves); reads skip to the next segment */
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), 100 - 28);
    st_log_slice_t s;
    cr_assert_eq(st_log_read(log, 60, 1 << 20, INT64_MAX, true, &s), 0);
    cr_assert_eq(s.first_offset, 80);
    st_log_slice_release(&s);
    st_log_close(log);
    free(src);
    free(swap);
}

static void write_random(const char *name, size_t len, unsigned *seed, const uint8_t *prefix,
                         size_t prefix_len)
{
    char *p = tu_join(dir, name);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    for (size_t i = 0; i < len; i++)
        fputc(i < prefix_len ? prefix[i] : (int)(rand_r(seed) & 0xff), f);
    fclose(f);
    free(p);
}

Test(recovery, garbage_files_never_crash_the_loader)
{
    size_t len;
    uint8_t *good = tu_batch(3, 1, false, 50, &len);
    for (unsigned round = 0; round < 40; round++) {
        unsigned seed = round * 7919 + 1;
        tu_rm_rf(dir);
        cr_assert_eq(mkdir(dir, 0755), 0);
        /* segments that start like a batch (or not) and go on with noise; indexes of noise */
        for (int s = 0; s < 3; s++) {
            char *lname = seg_name(s * 100, ".log");
            char *iname = seg_name(s * 100, ".index");
            char *tname = seg_name(s * 100, ".timeindex");
            size_t keep = rand_r(&seed) % 2 ? len : (size_t)(rand_r(&seed) % 70);
            write_random(lname, rand_r(&seed) % 3000, &seed, good, keep);
            if (rand_r(&seed) % 2)
                write_random(iname, (rand_r(&seed) % 10) * 8 + rand_r(&seed) % 2, &seed, NULL, 0);
            if (rand_r(&seed) % 2)
                write_random(tname, (rand_r(&seed) % 10) * 12, &seed, NULL, 0);
            free(lname);
            free(iname);
            free(tname);
        }
        bool clean = round % 2;
        st_log_t *log = open_log(1 << 20, 0, clean);
        if (!clean) {
            /* after a recovery, everything served is valid */
            int64_t start = st_log_start_offset(log);
            int64_t end = st_log_end_offset(log);
            cr_assert_leq(start, end);
            for (int64_t off = start; off < end; off++) {
                st_log_slice_t sl;
                int ret = st_log_read(log, off, 1 << 16, INT64_MAX, true, &sl);
                cr_assert_eq(ret, 0);
                if (sl.len == 0)
                    continue;
                uint8_t *bytes = tu_slice_bytes(&sl);
                st_batch_header_t hdr;
                cr_assert_eq(st_batch_validate(bytes, sl.len, &hdr, NULL), 0);
                free(bytes);
                st_log_slice_release(&sl);
            }
        } else {
            /* without a scan, garbage may be found later: errors, never crashes */
            st_log_slice_t sl;
            if (st_log_read(log, st_log_start_offset(log), 1 << 16, INT64_MAX, true, &sl) == 0)
                st_log_slice_release(&sl);
        }
        tu_append(log, 2, 1, 10);
        st_log_close(log);
    }
    free(good);
}
