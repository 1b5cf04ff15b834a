/* Unit tests of the sparse offset index and the time index (offset_index.c, time_index.c,
 * index_file.c): lookups at every edge, full indexes, truncation, loading a preallocated file,
 * and the sanity check that detects corruption. */
#include <criterion/criterion.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "log_internal.h"
#include "log_test_util.h"
#include "st_buf.h"

static char *dir;

static void setup(void)
{
    tu_quiet();
    dir = tu_mkdtemp();
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(index, .init = setup, .fini = teardown);

static void open_oidx(st_index_file_t *idx, int64_t base, size_t bytes)
{
    char *path = tu_join(dir, "00000000000000000100.index");
    cr_assert_eq(st_index_file_open(idx, path, ST_OFFSET_INDEX_ENTRY, base, true), 0);
    cr_assert_eq(st_index_file_resize(idx, bytes), 0);
    free(path);
}

static void lookup(const st_index_file_t *idx, int64_t target, int64_t want_off, uint32_t want_pos)
{
    int64_t off;
    uint32_t pos;
    st_offset_index_lookup(idx, target, &off, &pos);
    cr_assert_eq(off, want_off, "lookup(%ld): offset %ld, want %ld", (long)target, (long)off,
                 (long)want_off);
    cr_assert_eq(pos, want_pos, "lookup(%ld): position %u, want %u", (long)target, pos, want_pos);
}

Test(index, empty_index_answers_the_segment_start)
{
    st_index_file_t idx;
    open_oidx(&idx, 100, 8 * 16);
    cr_assert_eq(idx.entries, 0);
    lookup(&idx, 100, 100, 0);
    lookup(&idx, 5000, 100, 0);
    lookup(&idx, 0, 100, 0);   /* below the base */
    st_index_file_close(&idx);
}

Test(index, lookups_before_exact_between_and_after)
{
    st_index_file_t idx;
    open_oidx(&idx, 100, 8 * 16);
    st_offset_index_append(&idx, 110, 4100);
    st_offset_index_append(&idx, 120, 8200);
    st_offset_index_append(&idx, 135, 12300);
    lookup(&idx, 105, 100, 0);      /* before the first entry */
    lookup(&idx, 110, 110, 4100);   /* exact */
    lookup(&idx, 119, 110, 4100);   /* between */
    lookup(&idx, 120, 120, 8200);
    lookup(&idx, 135, 135, 12300);  /* last, exact */
    lookup(&idx, 1000000, 135, 12300); /* after the last */

    int64_t off;
    uint32_t pos;
    st_offset_index_lookup_pos(&idx, 4099, &off, &pos);
    cr_assert_eq(pos, 0);
    st_offset_index_lookup_pos(&idx, 8200, &off, &pos);
    cr_assert_eq(pos, 8200);
    cr_assert_eq(off, 120);
    st_offset_index_lookup_pos(&idx, 9000, &off, &pos);
    cr_assert_eq(pos, 8200);
    st_offset_index_lookup_pos(&idx, UINT32_MAX, &off, &pos);
    cr_assert_eq(pos, 12300);
    st_index_file_close(&idx);
}

Test(index, full_index)
{
    st_index_file_t idx;
    open_oidx(&idx, 0, 8 * 5);
    for (int i = 1; i <= 5; i++) {
        cr_assert_not(st_offset_index_full(&idx));
        st_offset_index_append(&idx, i * 10, (uint32_t)i * 1000);
    }
    cr_assert(st_offset_index_full(&idx));
    lookup(&idx, 50, 50, 5000);
    lookup(&idx, 49, 40, 4000);
    lookup(&idx, 9, 0, 0);
    char reason[160];
    cr_assert_eq(st_offset_index_check(&idx, 6000, 51, true, reason, sizeof(reason)), 0, "%s",
                 reason);
    st_index_file_close(&idx);
}

Test(index, truncate_drops_entries_at_and_above)
{
    st_index_file_t idx;
    open_oidx(&idx, 0, 8 * 8);
    for (int i = 1; i <= 6; i++)
        st_offset_index_append(&idx, i * 10, (uint32_t)i * 1000);
    st_offset_index_truncate_to(&idx, 35);
    cr_assert_eq(idx.entries, 3);
    lookup(&idx, 1000, 30, 3000);
    st_offset_index_truncate_to(&idx, 30);
    cr_assert_eq(idx.entries, 2);
    st_offset_index_truncate_to(&idx, 0);
    cr_assert_eq(idx.entries, 0);
    lookup(&idx, 1000, 0, 0);
    /* appends continue after a truncation */
    st_offset_index_append(&idx, 5, 500);
    lookup(&idx, 7, 5, 500);
    st_index_file_close(&idx);
}

Test(index, load_finds_entries_before_the_preallocated_tail)
{
    st_index_file_t idx;
    open_oidx(&idx, 100, 8 * 1024);
    for (int i = 1; i <= 37; i++)
        st_offset_index_append(&idx, 100 + i * 3, (uint32_t)i * 4096);
    st_index_file_close(&idx);   /* not trimmed: as after a crash */

    char *path = tu_join(dir, "00000000000000000100.index");
    cr_assert_eq(tu_file_size(dir, "00000000000000000100.index"), 8 * 1024);
    cr_assert_eq(st_index_file_open(&idx, path, ST_OFFSET_INDEX_ENTRY, 100, false), 0);
    cr_assert_eq(st_offset_index_load(&idx), 0);
    cr_assert_eq(idx.entries, 37);
    lookup(&idx, 100 + 37 * 3, 100 + 37 * 3, 37 * 4096);
    cr_assert_eq(st_index_file_trim(&idx), 0);
    st_index_file_close(&idx);
    cr_assert_eq(tu_file_size(dir, "00000000000000000100.index"), 37 * 8);

    cr_assert_eq(st_index_file_open(&idx, path, ST_OFFSET_INDEX_ENTRY, 100, false), 0);
    cr_assert_eq(st_offset_index_load(&idx), 0);
    cr_assert_eq(idx.entries, 37);
    st_index_file_close(&idx);
    free(path);
}

Test(index, check_detects_corruption)
{
    st_index_file_t idx;
    open_oidx(&idx, 0, 8 * 8);
    st_offset_index_append(&idx, 10, 1000);
    st_offset_index_append(&idx, 20, 2000);
    st_offset_index_append(&idx, 30, 3000);
    char reason[160];
    cr_assert_eq(st_offset_index_check(&idx, 4000, 31, true, reason, sizeof(reason)), 0);
    /* position past the segment */
    cr_assert_eq(st_offset_index_check(&idx, 2500, 31, false, reason, sizeof(reason)), -EBADMSG);
    /* offset past the segment's end */
    cr_assert_eq(st_offset_index_check(&idx, 4000, 25, false, reason, sizeof(reason)), -EBADMSG);
    /* middle entry not increasing: only the full check sees it */
    st_put_be32(idx.map + 8, 5);
    cr_assert_eq(st_offset_index_check(&idx, 4000, 31, false, reason, sizeof(reason)), 0);
    cr_assert_eq(st_offset_index_check(&idx, 4000, 31, true, reason, sizeof(reason)), -EBADMSG);
    cr_assert(strstr(reason, "entry 1"), "%s", reason);
    st_index_file_close(&idx);

    /* a length that is not whole entries */
    char *path = tu_join(dir, "bad.index");
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    cr_assert_eq(write(fd, "1234567890", 10), 10);
    close(fd);
    cr_assert_eq(st_index_file_open(&idx, path, ST_OFFSET_INDEX_ENTRY, 0, false), 0);
    cr_assert_eq(st_offset_index_load(&idx), -EBADMSG);
    st_index_file_close(&idx);
    free(path);
}

Test(index, time_index)
{
    st_index_file_t idx;
    char *path = tu_join(dir, "00000000000000000050.timeindex");
    cr_assert_eq(st_index_file_open(&idx, path, ST_TIME_INDEX_ENTRY, 50, true), 0);
    cr_assert_eq(st_index_file_resize(&idx, 12 * 6), 0);

    int64_t ts, off;
    st_time_index_lookup(&idx, 1000, &ts, &off);   /* empty */
    cr_assert_eq(ts, -1);
    cr_assert_eq(off, 50);
    st_time_index_last(&idx, &ts, &off);
    cr_assert_eq(ts, -1);

    cr_assert(st_time_index_maybe_append(&idx, 1000, 55));
    cr_assert_not(st_time_index_maybe_append(&idx, 1000, 60), "timestamps must grow");
    cr_assert_not(st_time_index_maybe_append(&idx, 900, 60));
    cr_assert(st_time_index_maybe_append(&idx, 2000, 60));
    cr_assert(st_time_index_maybe_append(&idx, 3000, 70));

    st_time_index_lookup(&idx, 999, &ts, &off);
    cr_assert_eq(ts, -1);
    cr_assert_eq(off, 50);
    st_time_index_lookup(&idx, 1000, &ts, &off);
    cr_assert_eq(ts, 1000);
    cr_assert_eq(off, 55);
    st_time_index_lookup(&idx, 2500, &ts, &off);
    cr_assert_eq(ts, 2000);
    cr_assert_eq(off, 60);
    st_time_index_lookup(&idx, INT64_MAX, &ts, &off);
    cr_assert_eq(ts, 3000);
    cr_assert_eq(off, 70);

    char reason[160];
    cr_assert_eq(st_time_index_check(&idx, 71, true, reason, sizeof(reason)), 0, "%s", reason);
    cr_assert_eq(st_time_index_check(&idx, 65, true, reason, sizeof(reason)), -EBADMSG);

    /* full: one slot stays for the closing entry */
    cr_assert(st_time_index_maybe_append(&idx, 4000, 71));
    cr_assert_not(st_time_index_full(&idx));
    cr_assert(st_time_index_maybe_append(&idx, 4500, 71));
    cr_assert(st_time_index_full(&idx));
    cr_assert(st_time_index_maybe_append(&idx, 5000, 72));
    cr_assert_not(st_time_index_maybe_append(&idx, 6000, 73));

    st_time_index_truncate_to(&idx, 60);
    cr_assert_eq(idx.entries, 1);
    st_time_index_last(&idx, &ts, &off);
    cr_assert_eq(ts, 1000);

    st_index_file_close(&idx);   /* preallocated tail of zeros */
    cr_assert_eq(st_index_file_open(&idx, path, ST_TIME_INDEX_ENTRY, 50, false), 0);
    cr_assert_eq(st_time_index_load(&idx), 0);
    cr_assert_eq(idx.entries, 1);
    st_index_file_close(&idx);
    free(path);
}

/* Loading an index must not touch its sparse preallocated tail: on a full file system that
 * touch is a SIGBUS (tmpfs allocates a page even for a read of a hole through a shared
 * mapping). Seen without filling anything: on tmpfs (/dev/shm) the file's allocated blocks
 * stay what they were. Before the fix the binary search read ~20 holes through the mapping. */
Test(index, load_touches_no_page_of_the_sparse_tail)
{
    struct statfs sfs;
    if (statfs("/dev/shm", &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
        cr_skip_test("/dev/shm is not a tmpfs: cannot see page allocation there");
    char tmpl[] = "/dev/shm/strand-index-test-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    char *path = tu_join(tmpl, "00000000000000000000.index");
    st_index_file_t idx;
    cr_assert_eq(st_index_file_open(&idx, path, ST_OFFSET_INDEX_ENTRY, 0, true), 0);
    cr_assert_eq(st_index_file_resize(&idx, 10 << 20), 0);
    for (int i = 1; i <= 3; i++)
        st_offset_index_append(&idx, i * 10, (uint32_t)i * 4096);
    st_index_file_close(&idx);
    struct stat before, after;
    cr_assert_eq(stat(path, &before), 0);
    cr_assert_eq(st_index_file_open(&idx, path, ST_OFFSET_INDEX_ENTRY, 0, false), 0);
    cr_assert_eq(st_offset_index_load(&idx), 0);
    cr_assert_eq(idx.entries, 3);
    st_index_file_close(&idx);
    cr_assert_eq(stat(path, &after), 0);
    unlink(path);
    rmdir(tmpl);
    free(path);
    cr_assert_eq(after.st_blocks, before.st_blocks,
                 "loading allocated %lld blocks of the sparse tail",
                 (long long)(after.st_blocks - before.st_blocks));
}
