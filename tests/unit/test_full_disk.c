/* Unit tests of the storage engine on a full file system (issue 9, item 1): each test mounts a
 * 1 MiB tmpfs of its own (skipped, saying so, where mount(2) is not permitted) and fills it.
 *
 * Before the fix the sparse, mmap'd index pages were touched without storage behind them: a
 * load or an append on a full tmpfs died of SIGBUS (criterion reports the test as crashed).
 * Now loading reads with pread, appends back their pages first (posix_fallocate) and fail with
 * -ENOSPC, and the log, then the log manager, take the log / log dir offline. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_internal.h"
#include "log_test_util.h"

static char *dir;       /* the tmpfs mount point */
static char *other;     /* an ordinary temp dir (a second log dir) */
static bool mounted;

static void setup(void)
{
    tu_quiet();
    dir = tu_mkdtemp();
    other = tu_mkdtemp();
    /* a mount namespace of this test's own process: the mount goes away with it, even if the
     * test crashes (criterion runs each test in a process of its own) */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=1m") < 0) {
        int e = errno;
        tu_rm_rf(dir);
        tu_rm_rf(other);
        cr_skip_test("cannot mount a tmpfs (%s): these tests need root or a container allowed "
                     "to mount", strerror(e));
    }
    mounted = true;
}

static void teardown(void)
{
    if (mounted)
        umount2(dir, MNT_DETACH);
    mounted = false;
    tu_rm_rf(dir);
    tu_rm_rf(other);
    free(dir);
    free(other);
}

TestSuite(full_disk, .init = setup, .fini = teardown, .timeout = 60);

/* Fills the tmpfs to the last byte. */
static void fill(void)
{
    char *path = tu_join(dir, "filler");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    cr_assert_geq(fd, 0);
    static char buf[64 * 1024];
    for (size_t chunk = sizeof(buf); chunk > 0;) {
        ssize_t w = write(fd, buf, chunk);
        if (w > 0)
            continue;
        cr_assert(w < 0 && errno == ENOSPC, "filling: %s", strerror(errno));
        chunk /= 2;
    }
    close(fd);
    free(path);
}

static void unfill(void)
{
    char *path = tu_join(dir, "filler");
    cr_assert_eq(unlink(path), 0);
    free(path);
}

Test(full_disk, index_load_on_a_full_disk_reads_no_sparse_page)
{
    char *opath = tu_join(dir, "00000000000000000000.index");
    char *tpath = tu_join(dir, "00000000000000000000.timeindex");
    st_index_file_t oidx, tidx;
    cr_assert_eq(st_index_file_open(&oidx, opath, ST_OFFSET_INDEX_ENTRY, 0, true), 0);
    cr_assert_eq(st_index_file_open(&tidx, tpath, ST_TIME_INDEX_ENTRY, 0, true), 0);
    /* preallocated as an active segment's (sparse, larger than the whole file system) */
    cr_assert_eq(st_index_file_resize(&oidx, 10 << 20), 0);
    cr_assert_eq(st_index_file_resize(&tidx, 10 << 20), 0);
    cr_assert_eq(st_offset_index_append(&oidx, 10, 4100), 0);
    cr_assert_eq(st_offset_index_append(&oidx, 20, 8200), 0);
    cr_assert_eq(st_time_index_maybe_append(&tidx, 1000, 10), 1);
    st_index_file_close(&oidx);   /* not trimmed: as after a SIGKILL */
    st_index_file_close(&tidx);

    fill();
    cr_assert_eq(st_index_file_open(&oidx, opath, ST_OFFSET_INDEX_ENTRY, 0, false), 0);
    cr_assert_eq(st_index_file_open(&tidx, tpath, ST_TIME_INDEX_ENTRY, 0, false), 0);
    cr_assert_eq(st_offset_index_load(&oidx), 0, "loading must not fault on the sparse tail");
    cr_assert_eq(st_time_index_load(&tidx), 0);
    cr_assert_eq(oidx.entries, 2);
    cr_assert_eq(tidx.entries, 1);
    int64_t off;
    uint32_t pos;
    st_offset_index_lookup(&oidx, 25, &off, &pos);
    cr_assert(off == 20 && pos == 8200);
    st_index_file_close(&oidx);
    st_index_file_close(&tidx);
    free(opath);
    free(tpath);
}

Test(full_disk, index_append_on_a_full_disk_fails_with_enospc)
{
    char *opath = tu_join(dir, "00000000000000000000.index");
    char *tpath = tu_join(dir, "00000000000000000000.timeindex");
    st_index_file_t oidx, tidx;
    cr_assert_eq(st_index_file_open(&oidx, opath, ST_OFFSET_INDEX_ENTRY, 0, true), 0);
    cr_assert_eq(st_index_file_open(&tidx, tpath, ST_TIME_INDEX_ENTRY, 0, true), 0);
    cr_assert_eq(st_index_file_resize(&oidx, 10 << 20), 0);
    cr_assert_eq(st_index_file_resize(&tidx, 10 << 20), 0);
    fill();
    cr_assert_eq(st_offset_index_append(&oidx, 10, 4100), -ENOSPC);
    cr_assert_eq(oidx.entries, 0, "nothing appended");
    cr_assert_eq(st_time_index_maybe_append(&tidx, 1000, 10), -ENOSPC);
    cr_assert_eq(tidx.entries, 0);
    /* with space back the same appends work, and the page stays backed */
    unfill();
    cr_assert_eq(st_offset_index_append(&oidx, 10, 4100), 0);
    cr_assert_eq(st_time_index_maybe_append(&tidx, 1000, 10), 1);
    cr_assert_geq(oidx.backed, 8u);
    fill();
    cr_assert_eq(st_offset_index_append(&oidx, 20, 8200), 0, "same page: no new storage needed");
    st_index_file_close(&oidx);
    st_index_file_close(&tidx);
    free(opath);
    free(tpath);
}

typedef struct failures {
    int calls;
    int err;
    char what[512];
} failures_t;

static void on_failure(void *arg, st_log_t *log, int err, const char *what)
{
    (void)log;
    failures_t *f = arg;
    f->calls++;
    f->err = err;
    snprintf(f->what, sizeof(f->what), "%s", what);
}

Test(full_disk, log_append_fails_cleanly_and_takes_the_log_offline)
{
    char *pdir = tu_join(dir, "t-0");
    st_log_config_t cfg = tu_config(1 << 20);
    cfg.index_interval_bytes = 100;
    cfg.index_max_bytes = 10 << 20;
    st_log_t *log;
    cr_assert_eq(st_log_open(pdir, &cfg, 0, true, &log), 0);
    failures_t f = { 0 };
    st_log_set_failure_handler(log, on_failure, &f, NULL);
    tu_append(log, 5, 1000, 100);
    fill();
    /* appends go on while their bytes fit pages the files have already */
    int ret = 0;
    int appended = 0;
    while (ret == 0 && appended < 10000) {
        size_t len;
        uint8_t *b = tu_batch(5, 1000, false, 100, &len);
        ret = st_log_append(log, b, len, 0, NULL);
        free(b);
        appended += ret == 0;
    }
    cr_assert_eq(ret, -ENOSPC, "append on a full disk: %s", strerror(-ret));
    cr_assert_eq(f.calls, 1, "the failure is reported once");
    cr_assert_eq(f.err, -ENOSPC);
    cr_assert(strstr(f.what, pdir) != NULL, "what names the file: %s", f.what);
    cr_assert(st_log_is_offline(log));
    /* nothing of the failed append is on disk: the .log ends where the log does */
    st_segment_t *seg = log->segs[log->nsegs - 1];
    struct stat st;
    cr_assert_eq(fstat(seg->fd, &st), 0);
    cr_assert_eq((uint64_t)st.st_size, seg->size);
    int64_t end = st_log_end_offset(log);
    cr_assert_eq(end, 5 + 5 * (int64_t)appended);

    /* offline: every operation answers -EIO at once, without a second report */
    size_t len;
    uint8_t *b = tu_batch(1, 1000, false, 10, &len);
    cr_assert_eq(st_log_append(log, b, len, 0, NULL), -EIO);
    free(b);
    st_log_slice_t slice;
    cr_assert_eq(st_log_read(log, 0, 1 << 20, INT64_MAX, true, &slice), -EIO);
    cr_assert_eq(st_log_flush(log), -EIO);
    cr_assert_eq(st_log_roll(log), -EIO);
    cr_assert_eq(st_log_truncate_to(log, 1), -EIO);
    cr_assert_eq(f.calls, 1);
    st_log_close(log);   /* without touching the disk */

    /* space back, reopened (uncleanly, as after the broker stopped): all acknowledged data */
    unfill();
    cr_assert_eq(st_log_open(pdir, &cfg, 0, false, &log), 0);
    cr_assert_eq(st_log_end_offset(log), end);
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), end);
    st_log_close(log);
    free(pdir);
}

Test(full_disk, recovery_on_a_full_disk_rewrites_index_pages_it_has)
{
    char *pdir = tu_join(dir, "t-0");
    st_log_config_t cfg = tu_config(1 << 20);
    cfg.index_interval_bytes = 100;
    cfg.index_max_bytes = 10 << 20;
    st_log_t *log;
    cr_assert_eq(st_log_open(pdir, &cfg, 0, true, &log), 0);
    for (int i = 0; i < 600; i++)
        tu_append(log, 2, 1000 + i, 100);   /* ~600 index entries: two index pages */
    int64_t end = st_log_end_offset(log);
    st_log_close(log);
    fill();
    /* an unclean start: every batch checked, both indexes rebuilt into the pages they had */
    cr_assert_eq(st_log_open(pdir, &cfg, 0, false, &log), 0,
                 "recovery must not need space the index had already");
    cr_assert_eq(st_log_end_offset(log), end);
    cr_assert_eq(tu_read_all(log, 0, 1 << 20, NULL, NULL), end);
    st_log_close(log);
    /* a missing index must be rebuilt from nothing: that needs space, and says so */
    char *ipath = tu_join(pdir, "00000000000000000000.index");
    cr_assert_eq(unlink(ipath), 0);
    fill();   /* the pages it freed, too */
    cr_assert_eq(st_log_open(pdir, &cfg, 0, false, &log), -ENOSPC);
    free(ipath);
    free(pdir);
}

typedef struct dir_failures {
    int calls;
    size_t dir;
    char path[512];
} dir_failures_t;

static void on_dir_failure(void *arg, size_t d, const char *path)
{
    dir_failures_t *f = arg;
    f->calls++;
    f->dir = d;
    snprintf(f->path, sizeof(f->path), "%s", path);
}

Test(full_disk, log_manager_takes_the_log_dir_offline)
{
    const char *dirs[2] = { dir, other };
    st_log_config_t cfg = tu_config(1 << 20);
    st_log_manager_t *mgr;
    cr_assert_eq(st_log_manager_open(dirs, 2, 7, &cfg, &mgr), 0);
    dir_failures_t f = { 0 };
    st_log_manager_set_dir_failure_handler(mgr, on_dir_failure, &f);
    st_log_t *a, *b;
    cr_assert_eq(st_log_manager_create(mgr, "a", 0, NULL, &a), 0);   /* tie: the first dir */
    cr_assert_eq(st_log_manager_dir_of(mgr, st_log_dir(a)), 0);
    tu_append(a, 5, 1000, 100);
    fill();
    int ret = 0;
    for (int i = 0; i < 10000 && ret == 0; i++) {
        size_t len;
        uint8_t *batch = tu_batch(5, 1000, false, 100, &len);
        ret = st_log_append(a, batch, len, 0, NULL);
        free(batch);
    }
    cr_assert_eq(ret, -ENOSPC);
    cr_assert_eq(f.calls, 1, "the handler hears of the dir once");
    cr_assert_eq(f.dir, 0);
    cr_assert_str_eq(f.path, dir);
    cr_assert(st_log_manager_dir_offline(mgr, 0));
    cr_assert_not(st_log_manager_dir_offline(mgr, 1));
    cr_assert_eq(st_log_manager_online_dir_count(mgr), 1);
    /* a new log goes to the online dir, and works */
    cr_assert_eq(st_log_manager_create(mgr, "b", 0, NULL, &b), 0);
    cr_assert_eq(st_log_manager_dir_of(mgr, st_log_dir(b)), 1);
    tu_append(b, 3, 1000, 10);
    /* checkpoints skip the offline dir; a late handler still hears of it once */
    cr_assert_eq(st_log_manager_checkpoint(mgr), 0);
    dir_failures_t late = { 0 };
    st_log_manager_set_dir_failure_handler(mgr, on_dir_failure, &late);
    cr_assert_eq(late.calls, 0, "already told");
    cr_assert_eq(f.calls, 1);
    /* close: only the online dir gets the clean-shutdown marker */
    cr_assert_not(st_log_manager_close(mgr), "a dir was offline: not a clean close");
    cr_assert_not(tu_exists(dir, ".kafka_cleanshutdown"));
    cr_assert(tu_exists(other, ".kafka_cleanshutdown"));
}
