/* Helpers shared by the storage engine's unit tests: temp dirs, building batches with
 * st_batch_writer, appending, reading a whole log back through slices. Header-only. */
#ifndef LOG_TEST_UTIL_H
#define LOG_TEST_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "st_batch.h"
#include "st_log.h"
#include "st_logger.h"

static inline int tu_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void tu_rm_rf(const char *path)
{
    nftw(path, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temp dir (caller frees and removes). */
static inline char *tu_mkdtemp(void)
{
    char *dir = strdup("/tmp/strand-storage-test-XXXXXX");
    cr_assert(dir && mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    return dir;
}

static inline char *tu_join(const char *a, const char *b)
{
    char *p;
    cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

static inline bool tu_exists(const char *dir, const char *name)
{
    char *p = tu_join(dir, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

static inline off_t tu_file_size(const char *dir, const char *name)
{
    char *p = tu_join(dir, name);
    struct stat st;
    off_t size = stat(p, &st) == 0 ? st.st_size : -1;
    free(p);
    return size;
}

/* Test config: no delete delay, small indexes, everything else Kafka's defaults. */
static inline st_log_config_t tu_config(int64_t segment_bytes)
{
    st_log_config_t cfg;
    st_log_config_defaults(&cfg);
    cfg.segment_bytes = segment_bytes;
    cfg.index_max_bytes = 64 * 1024;
    cfg.file_delete_delay_ms = 0;
    return cfg;
}

/* Builds a batch of nrec records (keys "k<i>" when keyed, values of value_size bytes filled
 * with 'a' + i), returns a malloc'd copy. */
static inline uint8_t *tu_batch(size_t nrec, int64_t ts, bool keyed, size_t value_size,
                                size_t *ret_len)
{
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    cr_assert(w);
    char *value = malloc(value_size + 1);
    for (size_t i = 0; i < nrec; i++) {
        char key[32];
        int klen = snprintf(key, sizeof(key), "k%zu", i);
        memset(value, (int)('a' + i % 26), value_size);
        cr_assert_eq(st_batch_writer_add(w, ts, keyed ? key : NULL, keyed ? klen : -1, value,
                                         (ssize_t)value_size, NULL, 0), 0);
    }
    const void *buf;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &buf, &len), 0);
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    st_batch_writer_free(w);
    free(value);
    *ret_len = len;
    return copy;
}

/* A batch of records with the given keys and values (NULL value = tombstone). */
static inline uint8_t *tu_kv_batch(st_compression_t codec, const char *const *keys,
                                   const char *const *values, size_t n, int64_t ts,
                                   size_t *ret_len)
{
    st_batch_writer_t *w = st_batch_writer_new(codec);
    cr_assert(w);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(st_batch_writer_add(w, ts, keys[i], keys[i] ? (ssize_t)strlen(keys[i]) : -1,
                                         values[i], values[i] ? (ssize_t)strlen(values[i]) : -1,
                                         NULL, 0), 0);
    const void *buf;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &buf, &len), 0);
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    st_batch_writer_free(w);
    *ret_len = len;
    return copy;
}

/* Appends one batch of nrec records; returns the append info. */
static inline st_log_append_info_t tu_append(st_log_t *log, size_t nrec, int64_t ts,
                                             size_t value_size)
{
    size_t len;
    uint8_t *b = tu_batch(nrec, ts, false, value_size, &len);
    st_log_append_info_t info;
    int ret = st_log_append(log, b, len, 0, &info);
    cr_assert_eq(ret, 0, "append: %s", strerror(-ret));
    free(b);
    return info;
}

/* Reads a slice's bytes into a malloc'd buffer. */
static inline uint8_t *tu_slice_bytes(const st_log_slice_t *slice)
{
    uint8_t *buf = malloc(slice->len ? slice->len : 1);
    size_t done = 0;
    while (done < slice->len) {
        ssize_t n = pread(slice->fd, buf + done, slice->len - done, slice->pos + (off_t)done);
        cr_assert(n > 0, "pread of a slice: %zd", n);
        done += (size_t)n;
    }
    return buf;
}

/* Visits every record of the log from `from`, through slices of up to max_bytes; checks each
 * batch (CRC) and that offsets strictly increase. Returns the number of records. */
static inline int64_t tu_read_all(st_log_t *log, int64_t from, size_t max_bytes,
                                  void (*fn)(const st_record_t *rec, void *arg), void *arg)
{
    int64_t next = from, count = 0, prev = -1;
    for (;;) {
        st_log_slice_t slice;
        int ret = st_log_read(log, next, max_bytes, INT64_MAX, true, &slice);
        cr_assert_eq(ret, 0, "read at %ld: %s", (long)next, strerror(-ret));
        if (slice.len == 0)
            break;
        uint8_t *buf = tu_slice_bytes(&slice);
        st_batch_reader_t r;
        st_batch_reader_init(&r, buf, slice.len);
        st_batch_header_t hdr;
        int got;
        bool first = true;
        while ((got = st_batch_reader_next_batch(&r, &hdr)) == 1) {
            if (first)
                cr_assert_eq(hdr.base_offset, slice.first_offset);
            first = false;
            st_record_t rec;
            while (st_batch_reader_next_record(&r, &rec) == 1) {
                cr_assert_gt(rec.offset, prev, "offsets must increase");
                prev = rec.offset;
                if (rec.offset >= from) {
                    count++;
                    if (fn)
                        fn(&rec, arg);
                }
            }
            next = st_batch_last_offset(&hdr) + 1;
        }
        cr_assert_eq(got, 0, "corrupt batch in a slice: %s", st_batch_reader_error(&r)->reason);
        cr_assert_eq(st_batch_reader_tail(&r), 0, "slices hold whole batches");
        st_batch_reader_destroy(&r);
        free(buf);
        st_log_slice_release(&slice);
    }
    return count;
}

static inline void tu_quiet(void)
{
    st_logger_set_level(ST_LEVEL_ERROR);
}

#endif
