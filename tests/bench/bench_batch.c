/* Benchmark of the record-batch format: building 16 KiB batches of 100-byte records (no
 * compression and LZ4), reading them back (validate + every record), and CRC-32C throughput
 * (SSE4.2 and slicing-by-8). Built, not run by the test suite.
 *
 *   bench_batch [seconds-per-phase=1] [record-bytes=100] [batch-bytes=16384]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_batch.h"
#include "st_crc32c.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Values: slices of a pseudo-text pool, so LZ4 sees realistic, partly repetitive data. */
#define POOL_SIZE (1 << 20)
static uint8_t *pool;

static void make_pool(void)
{
    static const char *words[] = { "user", "click", "page", "id", "session", "2024", "GET",
                                   "/api/v1/items", "200", "ok", "latency_ms", "region",
                                   "eu-west", "true", "false", "{", "}", ":", ",", "\"" };
    uint64_t x = 12345;
    size_t pos = 0;

    pool = malloc(POOL_SIZE + 4096);
    while (pos < POOL_SIZE + 4096) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const char *w = words[(x >> 33) % (sizeof(words) / sizeof(words[0]))];
        size_t n = strlen(w);
        if ((x >> 20) % 4 == 0) {  /* some digits */
            char num[24];
            n = (size_t)snprintf(num, sizeof(num), "%u", (unsigned)(x >> 40));
            for (size_t i = 0; i < n && pos < POOL_SIZE + 4096; i++)
                pool[pos++] = (uint8_t)num[i];
            continue;
        }
        for (size_t i = 0; i < n && pos < POOL_SIZE + 4096; i++)
            pool[pos++] = (uint8_t)w[i];
    }
}

/* Fills one batch; returns the number of records added. */
static long fill_batch(st_batch_writer_t *w, long seq, size_t rec_size, size_t batch_size)
{
    long n = 0;
    while (st_batch_writer_size(w) + rec_size + 8 <= batch_size || n == 0) {
        size_t off = (size_t)((seq + n) * 7919) % POOL_SIZE;
        if (st_batch_writer_add(w, 1700000000000LL + (seq + n) / 1000, NULL, -1, pool + off,
                                (ssize_t)rec_size, NULL, 0) < 0) {
            fprintf(stderr, "bench_batch: add failed\n");
            exit(1);
        }
        n++;
    }
    return n;
}

static void bench_build(st_compression_t codec, double secs, size_t rec_size, size_t batch_size)
{
    st_batch_writer_t *w = st_batch_writer_new(codec);
    long records = 0, batches = 0;
    size_t bytes_out = 0, bytes_in = 0;
    double t0 = now(), t;

    do {
        for (int i = 0; i < 16; i++) {
            const void *out;
            size_t len;
            st_batch_writer_reset(w);
            records += fill_batch(w, records, rec_size, batch_size);
            bytes_in += st_batch_writer_size(w);
            if (st_batch_writer_finish(w, &out, &len) < 0) {
                fprintf(stderr, "bench_batch: finish failed\n");
                exit(1);
            }
            bytes_out += len;
            batches++;
        }
        t = now() - t0;
    } while (t < secs);
    printf("build  %-4s: %10.0f records/s  %8.1f MB/s in  (%ld batches, %.1f records/batch, "
           "ratio %.2f)\n", st_compression_name(codec), (double)records / t,
           (double)bytes_in / t / 1e6, batches, (double)records / (double)batches,
           (double)bytes_in / (double)bytes_out);
    st_batch_writer_free(w);
}

static void bench_read(st_compression_t codec, double secs, size_t rec_size, size_t batch_size)
{
    size_t cap = 32u << 20, len = 0;
    uint8_t *buf = malloc(cap);
    st_batch_writer_t *w = st_batch_writer_new(codec);
    long seq = 0, records = 0, per_pass = 0;
    double t0, t;

    /* ~32 MiB of uncompressed records worth of batches */
    for (size_t raw = 0; raw < cap;) {
        const void *out;
        size_t n;
        st_batch_writer_reset(w);
        seq += fill_batch(w, seq, rec_size, batch_size);
        raw += st_batch_writer_size(w);
        st_batch_writer_finish(w, &out, &n);
        if (len + n > cap)
            break;
        memcpy(buf + len, out, n);
        len += n;
    }
    st_batch_writer_free(w);

    t0 = now();
    do {
        st_batch_reader_t r;
        st_record_t rec;
        long n = 0;
        uint64_t sum = 0;
        st_batch_reader_init(&r, buf, len);
        while (st_batch_reader_next_batch(&r, NULL) == 1)
            while (st_batch_reader_next_record(&r, &rec) == 1) {
                sum += (uint64_t)rec.value_len + rec.value[0];
                n++;
            }
        if (st_batch_reader_tail(&r) != 0 || n == 0) {
            fprintf(stderr, "bench_batch: read failed: %s\n", r.err.reason);
            exit(1);
        }
        st_batch_reader_destroy(&r);
        records += n;
        per_pass = n;
        (void)sum;
        t = now() - t0;
    } while (t < secs);
    printf("read   %-4s: %10.0f records/s  (validate + decompress + every record; %ld records, "
           "%.1f MB per pass)\n", st_compression_name(codec), (double)records / t, per_pass,
           (double)len / 1e6);
    free(buf);
}

static void bench_crc(const char *name, uint32_t (*fn)(uint32_t, const void *, size_t), double secs,
                      size_t size)
{
    uint8_t *buf = malloc(size);
    size_t bytes = 0;
    uint32_t crc = 0;
    double t0 = now(), t;

    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    do {
        for (int i = 0; i < 8; i++) {
            crc = fn(crc, buf, size);
            bytes += size;
        }
        t = now() - t0;
    } while (t < secs);
    printf("crc32c %-2s  : %10.1f MB/s  (%zu-byte buffers, crc %08x)\n", name,
           (double)bytes / t / 1e6, size, crc);
    free(buf);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    size_t rec_size = argc > 2 ? (size_t)atol(argv[2]) : 100;
    size_t batch_size = argc > 3 ? (size_t)atol(argv[3]) : 16384;

    if (secs <= 0 || rec_size == 0 || batch_size < 128) {
        fprintf(stderr, "usage: %s [seconds-per-phase=1] [record-bytes=100] [batch-bytes=16384]\n",
                argv[0]);
        return 2;
    }
    make_pool();
    printf("bench_batch: %zu-byte records, %zu-byte batches, %.1f s per phase, crc32c hw %s\n",
           rec_size, batch_size, secs, st_crc32c_hw_available() ? "available" : "unavailable");
    bench_build(ST_COMPRESSION_NONE, secs, rec_size, batch_size);
    bench_build(ST_COMPRESSION_LZ4, secs, rec_size, batch_size);
    bench_read(ST_COMPRESSION_NONE, secs, rec_size, batch_size);
    bench_read(ST_COMPRESSION_LZ4, secs, rec_size, batch_size);
    if (st_crc32c_hw_available()) {
        bench_crc("hw", st_crc32c_hw, secs, 16384);
        bench_crc("hw", st_crc32c_hw, secs, 1 << 20);
    }
    bench_crc("sw", st_crc32c_sw, secs, 16384);
    bench_crc("sw", st_crc32c_sw, secs, 1 << 20);
    free(pool);
    return 0;
}
