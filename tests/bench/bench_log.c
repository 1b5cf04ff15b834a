/* bench_log: throughput and latency of the storage engine (not a test; run by hand).
 *
 *   bench_log [append_mib=1024] [find_segments=1000] [find_lookups=200000] [dir=/tmp]
 *
 *   append     16 KiB batches of 100-byte records (built once with st_batch_writer, appended
 *              over and over: st_log_append stamps the offset in place) into 1 GiB segments,
 *              page cache only (no flush policy): GB/s and batches/s.
 *   read-back  the same log through st_log_read slices of 1 MiB + pread(2): GB/s.
 *   find       a log of find_segments segments (128 KiB each, the same batches), then
 *              st_log_read positioning at random offsets (max_bytes 1 and 1 MiB, each slice
 *              released): mean, p50, p99 in microseconds.
 * CPU time (user = the engine, system = the kernel's page cache) is printed next to each, since
 * on a shared machine the wall-clock figures move with everyone else's load. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "st_batch.h"
#include "st_log.h"
#include "st_logger.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *make_batch(size_t target, size_t *ret_len, size_t *ret_records)
{
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    char value[100];
    memset(value, 'v', sizeof(value));
    size_t n = 0;
    while (st_batch_writer_size(w) + 100 + 12 <= target) {
        if (st_batch_writer_add(w, 1700000000000LL, NULL, -1, value, sizeof(value), NULL, 0) < 0)
            break;
        n++;
    }
    const void *buf;
    size_t len;
    if (st_batch_writer_finish(w, &buf, &len) < 0) {
        fprintf(stderr, "cannot build a batch\n");
        exit(1);
    }
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    st_batch_writer_free(w);
    *ret_len = len;
    *ret_records = n;
    return copy;
}

static st_log_t *open_log(const char *dir, int64_t segment_bytes)
{
    st_log_config_t cfg;
    st_log_config_defaults(&cfg);
    cfg.segment_bytes = segment_bytes;
    cfg.file_delete_delay_ms = 0;
    st_log_t *log;
    int ret = st_log_open(dir, &cfg, 0, true, &log);
    if (ret < 0) {
        fprintf(stderr, "%s: %s\n", dir, strerror(-ret));
        exit(1);
    }
    return log;
}

/* user and system CPU seconds so far */
static void cpu_s(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void find_bench(st_log_t *log, size_t lookups, size_t max_bytes)
{
    int64_t end = st_log_end_offset(log);
    int64_t *offs = malloc(lookups * sizeof(*offs));
    double *lat = malloc(lookups * sizeof(*lat));
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < lookups; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        offs[i] = (int64_t)(x % (uint64_t)end);
    }
    double u0, s0, u1, s1;
    cpu_s(&u0, &s0);
    double t0 = now_s();
    for (size_t i = 0; i < lookups; i++) {
        double a = now_s();
        st_log_slice_t s;
        if (st_log_read(log, offs[i], max_bytes, INT64_MAX, true, &s) < 0 || s.len == 0) {
            fprintf(stderr, "read at %" PRId64 " failed\n", offs[i]);
            exit(1);
        }
        st_log_slice_release(&s);
        lat[i] = now_s() - a;
    }
    double total = now_s() - t0;
    cpu_s(&u1, &s1);
    qsort(lat, lookups, sizeof(*lat), cmp_double);
    printf("find offset, max_bytes %-8zu %zu random lookups: mean %.2f us (incl. timer), "
           "p50 %.2f us, p99 %.2f us, max %.1f us; %.0f lookups/s; CPU per lookup: user %.2f us, "
           "system %.2f us\n", max_bytes, lookups, total / (double)lookups * 1e6,
           lat[lookups / 2] * 1e6, lat[lookups * 99 / 100] * 1e6, lat[lookups - 1] * 1e6,
           (double)lookups / total, (u1 - u0) / (double)lookups * 1e6,
           (s1 - s0) / (double)lookups * 1e6);
    free(offs);
    free(lat);
}

int main(int argc, char **argv)
{
    size_t append_mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    size_t find_segments = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    size_t lookups = argc > 3 ? strtoul(argv[3], NULL, 10) : 200000;
    const char *base = argc > 4 ? argv[4] : "/tmp";
    st_logger_set_level(ST_LEVEL_WARN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    char tmpl[256];
    snprintf(tmpl, sizeof(tmpl), "%s/strand-bench-log-XXXXXX", base);
    char *root = mkdtemp(tmpl);
    if (!root) {
        perror("mkdtemp");
        return 1;
    }
    char dir1[300], dir2[300];
    snprintf(dir1, sizeof(dir1), "%s/append-0", root);
    snprintf(dir2, sizeof(dir2), "%s/find-0", root);

    size_t len, records;
    uint8_t *batch = make_batch(16384, &len, &records);
    printf("batch: %zu bytes, %zu records of 100 bytes\n", len, records);

    /* append */
    st_log_t *log = open_log(dir1, 1LL << 30);
    size_t n = append_mib * 1024 * 1024 / len;
    double u0, s0, u1, s1;
    cpu_s(&u0, &s0);
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        int ret = st_log_append(log, batch, len, 0, NULL);
        if (ret < 0) {
            fprintf(stderr, "append: %s\n", strerror(-ret));
            return 1;
        }
    }
    double t = now_s() - t0;
    cpu_s(&u1, &s1);
    double bytes = (double)n * (double)len;
    printf("append:    %.2f GiB in %zu batches, %.3f s: %.2f GB/s, %.0f batches/s, %.1f M records/s "
           "(%zu segments); CPU user %.3f s (%.2f us/batch), system %.3f s\n", bytes / (1 << 30),
           n, t, bytes / t / 1e9, (double)n / t, (double)n * (double)records / t / 1e6,
           st_log_segment_count(log), u1 - u0, (u1 - u0) / (double)n * 1e6, s1 - s0);

    /* read back */
    uint8_t *buf = malloc(1 << 20);
    int64_t next = 0, end = st_log_end_offset(log);
    size_t read_bytes = 0;
    t0 = now_s();
    while (next < end) {
        st_log_slice_t s;
        if (st_log_read(log, next, 1 << 20, INT64_MAX, true, &s) < 0 || s.len == 0)
            break;
        size_t done = 0;
        while (done < s.len) {
            ssize_t r = pread(s.fd, buf, s.len - done < (1 << 20) ? s.len - done : (1 << 20),
                              s.pos + (off_t)done);
            if (r <= 0)
                break;
            done += (size_t)r;
        }
        read_bytes += done;
        /* next batch: the slice holds whole batches of `records` offsets each */
        next = s.first_offset + (int64_t)(s.len / len * records);
        st_log_slice_release(&s);
    }
    t = now_s() - t0;
    printf("read-back: %.2f GiB through 1 MiB slices + pread, %.3f s: %.2f GB/s\n",
           (double)read_bytes / (1 << 30), t, (double)read_bytes / t / 1e9);
    free(buf);
    st_log_delete(log);

    /* find offset in a log of many segments */
    int64_t seg_bytes = 128 * 1024;
    log = open_log(dir2, seg_bytes);
    size_t per_seg = (size_t)seg_bytes / len;
    t0 = now_s();
    for (size_t i = 0; i < find_segments * per_seg; i++)
        st_log_append(log, batch, len, 0, NULL);
    printf("find log:  %zu segments of %" PRId64 " KiB, %" PRId64 " offsets (built in %.2f s)\n",
           st_log_segment_count(log), seg_bytes / 1024, st_log_end_offset(log), now_s() - t0);
    find_bench(log, lookups, 1);
    find_bench(log, lookups, 1 << 20);
    st_log_delete(log);
    rmdir(root);
    free(batch);
    return 0;
}
