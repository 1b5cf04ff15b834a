/* Crash test of the storage engine: spawns log_writer (which appends numbered batches and
 * acknowledges each on a pipe), SIGKILLs it at random moments many times, and after every kill
 * reopens the log (an unclean open: full recovery from the recovery point) and checks that
 *   - every acknowledged batch is there, intact (CRC) and in order, numbered without gaps,
 *   - nothing past a torn point is ever returned (every batch read validates),
 *   - a torn tail written on purpose by the test is cut off at exactly the last whole batch,
 *   - the log takes appends again.
 * $STRAND_LOG_WRITER names the writer; $STRAND_CRASH_SEED replays a run. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "st_batch.h"
#include "st_log.h"
#include "st_logger.h"

#define MIN_KILLS 60
#define SEGMENT_BYTES 16384
#define TIME_BUDGET_MS 40000

static char *tmp, *logdir, *partdir;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    st_logger_set_level(ST_LEVEL_ERROR);
    tmp = strdup("/tmp/strand-crash-XXXXXX");
    cr_assert(mkdtemp(tmp));
    cr_assert(asprintf(&logdir, "%s/logs", tmp) > 0);
    cr_assert(asprintf(&partdir, "%s/crash-0", logdir) > 0);
    cr_assert_eq(mkdir(logdir, 0755), 0);
}

static void teardown(void)
{
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp);
    free(logdir);
    free(partdir);
}

TestSuite(crash, .init = setup, .fini = teardown);

typedef struct check {
    int64_t batches;       /* batches found; numbered 0..batches-1 */
    int64_t end_offset;
} check_t;

/* Reads the whole log through slices and checks every batch and record. */
static check_t verify(st_log_t *log)
{
    check_t c = { 0, 0 };
    int64_t next = st_log_start_offset(log), expect_offset = next;
    for (;;) {
        st_log_slice_t s;
        int ret = st_log_read(log, next, 256 * 1024, INT64_MAX, true, &s);
        cr_assert_eq(ret, 0, "read at %" PRId64 ": %s", next, strerror(-ret));
        if (s.len == 0)
            break;
        uint8_t *buf = malloc(s.len);
        cr_assert_eq(pread(s.fd, buf, s.len, s.pos), (ssize_t)s.len);
        st_batch_reader_t r;
        st_batch_reader_init(&r, buf, s.len);
        st_batch_header_t hdr;
        int got;
        while ((got = st_batch_reader_next_batch(&r, &hdr)) == 1) {
            cr_assert_eq(hdr.base_offset, expect_offset, "offsets are contiguous");
            int64_t n = c.batches;
            cr_assert_eq(hdr.record_count, n % 4 + 1, "batch %" PRId64 " record count", n);
            st_record_t rec;
            int i = 0, rr;
            while ((rr = st_batch_reader_next_record(&r, &rec)) == 1) {
                char want[64];
                int wl = snprintf(want, sizeof(want), "batch=%" PRId64 " rec=%d ", n, i);
                cr_assert_eq(rec.value_len, wl + (n * 7) % 300, "batch %" PRId64 " length", n);
                cr_assert_eq(memcmp(rec.value, want, (size_t)wl), 0,
                             "batch %" PRId64 " record %d: %.*s", n, i, wl, rec.value);
                cr_assert_eq(rec.timestamp, n);
                i++;
            }
            cr_assert_eq(rr, 0, "records of batch %" PRId64 ": %s", n,
                         st_batch_reader_error(&r)->reason);
            c.batches++;
            expect_offset = st_batch_last_offset(&hdr) + 1;
        }
        cr_assert_eq(got, 0, "a corrupt batch was returned: %s", st_batch_reader_error(&r)->reason);
        cr_assert_eq(st_batch_reader_tail(&r), 0, "a slice ended inside a batch");
        st_batch_reader_destroy(&r);
        free(buf);
        st_log_slice_release(&s);
        next = expect_offset;
    }
    c.end_offset = st_log_end_offset(log);
    cr_assert_eq(c.end_offset, expect_offset, "the log end is the end of the last batch");
    return c;
}

static st_log_t *open_unclean(void)
{
    st_log_config_t cfg;
    st_log_config_defaults(&cfg);
    cfg.segment_bytes = SEGMENT_BYTES;
    cfg.index_max_bytes = 64 * 1024;
    cfg.file_delete_delay_ms = 0;
    st_log_t *log;
    int ret = st_log_open(partdir, &cfg, 0, false, &log);
    cr_assert_eq(ret, 0, "reopen: %s", strerror(-ret));
    return log;
}

/* Runs the writer from batch `first`, kills it at a random moment; returns the highest
 * acknowledged batch number (-1 if none) in *ret_acked. */
static void run_and_kill(const char *writer, int64_t first, unsigned *seed, int64_t *ret_acked,
                         int *ret_acks)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        char a[32], b[32];
        snprintf(a, sizeof(a), "%" PRId64, first);
        snprintf(b, sizeof(b), "%d", SEGMENT_BYTES);
        execl(writer, writer, logdir, a, b, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* kill after a random number of acknowledgements, or a random time, whichever first */
    int want_acks = (int)(rand_r(seed) % 400);
    int64_t deadline = now_ms() + (int64_t)(rand_r(seed) % 40);
    if (rand_r(seed) % 8 == 0)
        deadline = now_ms() + (int64_t)(rand_r(seed) % 4);   /* often inside open/recovery */
    char buf[8192];
    size_t have = 0;
    int64_t acked = -1;
    int acks = 0;
    bool killed = false;
    for (;;) {
        int timeout = killed ? 2000 : (int)(deadline - now_ms());
        if (!killed && (timeout <= 0 || acks >= want_acks)) {
            kill(pid, SIGKILL);
            killed = true;
            continue;
        }
        struct pollfd p = { fds[0], POLLIN, 0 };
        int pr = poll(&p, 1, timeout < 0 ? 0 : timeout);
        if (pr == 0) {
            if (killed)
                cr_assert_fail("the pipe did not close after the kill");
            continue;
        }
        ssize_t n = read(fds[0], buf + have, sizeof(buf) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;   /* EOF: the writer is gone */
        have += (size_t)n;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            int64_t b, off;
            cr_assert_eq(sscanf(line, "%" SCNd64 " %" SCNd64, &b, &off), 2);
            cr_assert_eq(b, acked < 0 ? first : acked + 1, "acks in order");
            acked = b;
            acks++;
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
    }
    close(fds[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "the writer died on its own (status %d): see its stderr", status);
    *ret_acked = acked;
    *ret_acks = acks;
}

/* The last segment file of the partition. */
static char *last_segment(void)
{
    char *cmd, *path = NULL;
    cr_assert(asprintf(&cmd, "ls '%s' | grep '\\.log$' | sort | tail -1", partdir) > 0);
    FILE *p = popen(cmd, "r");
    char name[64] = { 0 };
    if (p && fgets(name, sizeof(name), p)) {
        name[strcspn(name, "\n")] = '\0';
        cr_assert(asprintf(&path, "%s/%s", partdir, name) > 0);
    }
    if (p)
        pclose(p);
    free(cmd);
    cr_assert_not_null(path);
    return path;
}

static off_t file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

/* Appends a torn copy of a real batch (or garbage) to the last segment. */
static void tear_tail(unsigned *seed)
{
    char *seg = last_segment();
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    cr_assert_eq(st_batch_writer_add(w, 1, "k", 1, "a torn batch that never finished", 32, NULL, 0), 0);
    const void *b;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &b, &len), 0);
    uint8_t junk[256];
    size_t n;
    if (rand_r(seed) % 2) {
        n = 1 + rand_r(seed) % (len - 1);
        memcpy(junk, b, n);
    } else {
        n = 1 + rand_r(seed) % sizeof(junk);
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)rand_r(seed);
    }
    int fd = open(seg, O_WRONLY | O_APPEND);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, junk, n), (ssize_t)n);
    close(fd);
    st_batch_writer_free(w);
    free(seg);
}

Test(crash, sigkill_at_random_moments, .timeout = 110)
{
    const char *writer = getenv("STRAND_LOG_WRITER");
    cr_assert_not_null(writer, "$STRAND_LOG_WRITER must name the log_writer program");
    unsigned seed = (unsigned)time(NULL);
    if (getenv("STRAND_CRASH_SEED"))
        seed = (unsigned)strtoul(getenv("STRAND_CRASH_SEED"), NULL, 10);
    fprintf(stderr, "crash test seed %u (STRAND_CRASH_SEED to replay)\n", seed);

    int64_t start = now_ms(), next_batch = 0, total_acks = 0;
    int kills = 0, tears = 0;
    while (kills < MIN_KILLS || (now_ms() - start < 5000 && kills < 200)) {
        cr_assert_lt(now_ms() - start, TIME_BUDGET_MS, "too slow: %d kills so far", kills);
        int64_t acked;
        int acks;
        run_and_kill(writer, next_batch, &seed, &acked, &acks);
        kills++;
        total_acks += acks;

        st_log_t *log = open_unclean();
        check_t c = verify(log);
        cr_assert_geq(c.batches, next_batch, "batches from earlier runs lost");
        if (acked >= 0)
            cr_assert_gt(c.batches, acked, "acknowledged batch %" PRId64 " lost (log has %" PRId64
                         " batches)", acked, c.batches);
        next_batch = c.batches;
        st_log_close(log);

        if (kills % 7 == 0) {
            /* a deliberately torn tail: cut exactly at the last whole batch */
            char *seg = last_segment();
            off_t before = file_size(seg);
            tear_tail(&seed);
            cr_assert_gt(file_size(seg), before);
            log = open_unclean();
            cr_assert_eq(file_size(seg), before, "torn tail not cut at the last whole batch");
            check_t c2 = verify(log);
            cr_assert_eq(c2.batches, c.batches);
            cr_assert_eq(c2.end_offset, c.end_offset);
            st_log_close(log);
            free(seg);
            tears++;
        }
    }
    /* the log takes appends again */
    st_log_t *log = open_unclean();
    int64_t end = st_log_end_offset(log);
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    cr_assert_eq(st_batch_writer_add(w, 1, "k", 1, "after", 5, NULL, 0), 0);
    const void *b;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &b, &len), 0);
    st_log_append_info_t info;
    cr_assert_eq(st_log_append(log, (void *)(uintptr_t)b, len, 2, &info), 0);
    cr_assert_eq(info.first_offset, end);
    st_batch_writer_free(w);
    st_log_close(log);
    fprintf(stderr, "crash test: %d kills, %d torn tails, %" PRId64 " acknowledged batches, %"
            PRId64 " batches in the log, %.1f s\n", kills, tears, total_acks, next_batch,
            (double)(now_ms() - start) / 1000);
    cr_assert_geq(kills, 50);
}
