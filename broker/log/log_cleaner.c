/* Retention and compaction of a partition log (Kafka's cleanup.policy "delete" and "compact").
 *
 * Retention deletes whole closed segments from the front: those past retention_ms by their
 * largest timestamp (file mtime when they carry none), those that put the log over
 * retention_bytes, and those wholly below the log start offset. The active segment is never
 * deleted; the log start moves up to the first remaining segment.
 *
 * Compaction keeps, in the closed segments, only the latest record of each key (Kafka's log
 * cleaner with the whole closed part as the dirty section):
 *   1. An offset map key -> latest offset is built over every closed segment (the active one is
 *      left alone: it may still be truncated by replication, so it must not supersede anything).
 *   2. Each closed segment with something to drop is rewritten in offset order: batches whose
 *      records all survive are copied byte for byte; others are decoded and their surviving
 *      records re-encoded with st_batch_writer_add_at, keeping each record's offset, timestamp,
 *      key, value and headers, the batch's base offset, producer fields and leader epoch.
 *      A tombstone (null value) survives while it is the latest for its key and younger than
 *      delete_retention_ms (by its timestamp).
 *   3. The rewrite goes to <base>.log.cleaned (+ indexes), is fsync'd, then committed by
 *      renaming the .log to .log.swap (the commit point), indexes to .swap, and finally the
 *      indexes and then the .log over the originals. A crash before the commit point leaves
 *      *.cleaned files that the next open deletes; after it, the open completes the swap
 *      (log_recovery.c). Readers holding a slice of the old segment keep its fd.
 *   4. A segment left empty is deleted instead, except the first, which stays (empty) so that
 *      the log start offset does not move, as in Kafka.
 * The swap happens under the log mutex and only if the segment is still in the log, closed and
 * unchanged; otherwise the pass stops. One compaction per log at a time (cleaner_lock); the
 * reading and rewriting happen without the log mutex. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_internal.h"
#include "st_logger.h"

/* ---- retention ------------------------------------------------------------------------------- */

static int64_t segment_largest_timestamp(const st_segment_t *seg)
{
    if (seg->max_timestamp >= 0)
        return seg->max_timestamp;
    struct stat st;
    if (fstat(seg->fd, &st) < 0)
        return INT64_MAX;   /* unknown: keep it */
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int st_log_enforce_retention(st_log_t *log, int64_t now_ms, int64_t upper_bound)
{
    if (st_log_is_offline(log))
        return 0;
    pthread_mutex_lock(&log->lock);
    int deleted = 0;
    const st_log_config_t *cfg = &log->cfg;
    for (;;) {
        if (log->nsegs < 2)
            break;
        st_segment_t *seg = log->segs[0];
        const char *why = NULL;
        if (log->bases[1] > upper_bound)
            break;   /* the segment holds records not yet below the bound (uncommitted) */
        if (log->bases[1] <= log->log_start)
            why = "below the log start offset";
        else if (cfg->cleanup_delete && cfg->retention_ms >= 0 &&
                 now_ms - segment_largest_timestamp(seg) > cfg->retention_ms)
            why = "past retention.ms";
        else if (cfg->cleanup_delete && cfg->retention_bytes >= 0 &&
                 (int64_t)(log->size_bytes - seg->size) >= cfg->retention_bytes)
            why = "over retention.bytes";
        if (!why)
            break;
        ST_INFO("%s: deleting segment %020" PRId64 " (%s)", log->dir, seg->base_offset, why);
        st_log_remove_segment_locked(log, 0);
        deleted++;
    }
    if (deleted > 0 && log->log_start < log->bases[0]) {
        log->log_start = log->bases[0];
        int ret = st_epoch_cache_truncate_from_start(&log->epochs, log->log_start);
        if (ret < 0)
            st_log_fail(log, ret, "writing %s/leader-epoch-checkpoint", log->dir);
    }
    st_log_process_pending_deletes(log, now_ms, false);
    assert(st_log_check_locked(log));
    pthread_mutex_unlock(&log->lock);
    return deleted;
}

/* ---- the offset map -------------------------------------------------------------------------- */

typedef struct map_slot {
    uint64_t hash;      /* 0 = empty */
    int64_t offset;
    uint8_t *key;
    int32_t key_len;
} map_slot_t;

typedef struct offset_map {
    map_slot_t *slots;
    size_t cap, n;      /* cap is a power of two */
} offset_map_t;

static uint64_t hash_key(const uint8_t *key, int32_t len)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a, then a final mix */
    for (int32_t i = 0; i < len; i++) {
        h ^= key[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

static map_slot_t *map_find(offset_map_t *m, const uint8_t *key, int32_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        map_slot_t *s = &m->slots[i];
        if (s->hash == 0 || (s->hash == h && s->key_len == len &&
                             (len == 0 || memcmp(s->key, key, (size_t)len) == 0)))
            return s;
    }
}

static int map_grow(offset_map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    map_slot_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    offset_map_t nm = { slots, cap, m->n };
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash)
            *map_find(&nm, m->slots[i].key, m->slots[i].key_len, m->slots[i].hash) = m->slots[i];
    free(m->slots);
    *m = nm;
    return 0;
}

static int map_put(offset_map_t *m, const uint8_t *key, int32_t len, int64_t offset)
{
    if ((m->n + 1) * 10 > m->cap * 7) {
        int ret = map_grow(m);
        if (ret < 0)
            return ret;
    }
    uint64_t h = hash_key(key, len);
    map_slot_t *s = map_find(m, key, len, h);
    if (s->hash == 0) {
        uint8_t *copy = malloc(len > 0 ? (size_t)len : 1);
        if (!copy)
            return -ENOMEM;
        if (len > 0)
            memcpy(copy, key, (size_t)len);
        s->hash = h;
        s->key = copy;
        s->key_len = len;
        s->offset = offset;
        m->n++;
    } else if (offset > s->offset) {
        s->offset = offset;
    }
    return 0;
}

static int64_t map_get(offset_map_t *m, const uint8_t *key, int32_t len)
{
    if (m->cap == 0)
        return -1;
    map_slot_t *s = map_find(m, key, len, hash_key(key, len));
    return s->hash ? s->offset : -1;
}

static void map_free(offset_map_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* ---- compaction ------------------------------------------------------------------------------ */

typedef struct cleaner {
    st_log_t *log;
    st_log_config_t cfg;
    int64_t now_ms;
    offset_map_t map;
    st_batch_writer_t *writers[2];  /* none, lz4 */
    st_record_header_t *hdrs;
    size_t hdrs_cap;
    int64_t tombstone_deadline;
} cleaner_t;

static bool is_control(const st_batch_header_t *hdr)
{
    return (hdr->attributes & ST_BATCH_ATTR_CONTROL) != 0;
}

/* Whether rec survives; updates the earliest deadline of kept tombstones. */
static bool keep_record(cleaner_t *c, const st_record_t *rec)
{
    if (!rec->key)
        return true;
    if (map_get(&c->map, rec->key, rec->key_len) != rec->offset)
        return false;
    if (rec->value)
        return true;
    int64_t deadline = rec->timestamp > INT64_MAX - c->cfg.delete_retention_ms
                           ? INT64_MAX : rec->timestamp + c->cfg.delete_retention_ms;
    if (c->now_ms >= deadline)
        return false;
    if (deadline < c->tombstone_deadline)
        c->tombstone_deadline = deadline;
    return true;
}

typedef int (*batch_fn)(cleaner_t *c, const uint8_t *batch, const st_batch_header_t *hdr,
                        void *arg);

/* Calls fn for every batch of seg (up to size bytes), CRC-checked. */
static int for_each_batch(cleaner_t *c, st_segment_t *seg, uint32_t size, batch_fn fn, void *arg)
{
    st_seg_reader_t r;
    int ret = st_seg_reader_init(&r, seg->fd, size);
    if (ret < 0)
        return ret;
    for (;;) {
        const uint8_t *batch;
        st_batch_header_t hdr;
        st_batch_error_t err;
        uint32_t pos = r.pos;
        ret = st_seg_reader_next(&r, &batch, &hdr, &err);
        if (ret <= 0) {
            if (ret < 0)
                ST_ERROR("%s: cannot compact: batch at byte position %" PRIu32 ": %s",
                         seg->log_path, pos, ret == -EAGAIN ? "truncated" : err.reason);
            break;
        }
        if ((ret = fn(c, batch, &hdr, arg)) < 0)
            break;
    }
    st_seg_reader_free(&r);
    return ret;
}

/* Iterates the records of one batch: fn(rec) for each; <0 stops. */
static int for_each_record(const uint8_t *batch, const st_batch_header_t *hdr,
                           int (*fn)(void *arg, const st_record_t *rec), void *arg)
{
    st_batch_reader_t rd;
    st_batch_reader_init(&rd, batch, st_batch_total_size(hdr));
    int ret = st_batch_reader_next_batch(&rd, NULL);
    if (ret == 1) {
        st_record_t rec;
        while ((ret = st_batch_reader_next_record(&rd, &rec)) == 1)
            if ((ret = fn(arg, &rec)) < 0)
                break;
    } else if (ret == 0) {
        ret = -EBADMSG;
    }
    if (ret < 0 && ret != -ENOMEM)
        ST_ERROR("cannot compact: records of the batch at offset %" PRId64 ": %s",
                 hdr->base_offset, st_batch_reader_error(&rd)->reason);
    st_batch_reader_destroy(&rd);
    return ret < 0 ? ret : 0;
}

static int map_record(void *arg, const st_record_t *rec)
{
    cleaner_t *c = arg;
    return rec->key ? map_put(&c->map, rec->key, rec->key_len, rec->offset) : 0;
}

static int map_batch(cleaner_t *c, const uint8_t *batch, const st_batch_header_t *hdr, void *arg)
{
    (void)arg;
    return is_control(hdr) ? 0 : for_each_record(batch, hdr, map_record, c);
}

typedef struct count_ctx {
    cleaner_t *c;
    int64_t dropped;
} count_ctx_t;

static int count_record(void *arg, const st_record_t *rec)
{
    count_ctx_t *cc = arg;
    if (!keep_record(cc->c, rec))
        cc->dropped++;
    return 0;
}

static int count_batch(cleaner_t *c, const uint8_t *batch, const st_batch_header_t *hdr, void *arg)
{
    count_ctx_t *cc = arg;
    cc->c = c;
    return is_control(hdr) ? 0 : for_each_record(batch, hdr, count_record, cc);
}

typedef struct rewrite_ctx {
    cleaner_t *c;
    st_segment_t *out;
    st_batch_writer_t *w;
    int64_t base_offset;
    int32_t kept, total;
    int64_t dropped;
} rewrite_ctx_t;

static int rewrite_record(void *arg, const st_record_t *rec)
{
    rewrite_ctx_t *rc = arg;
    cleaner_t *c = rc->c;
    rc->total++;
    if (!keep_record(c, rec)) {
        rc->dropped++;
        return 0;
    }
    size_t n = 0, pos = 0;
    st_record_header_t h;
    int ret;
    while ((ret = st_record_header_next(rec, &pos, &h)) == 1) {
        if (n == c->hdrs_cap) {
            size_t cap = c->hdrs_cap ? c->hdrs_cap * 2 : 8;
            st_record_header_t *hh = realloc(c->hdrs, cap * sizeof(*hh));
            if (!hh)
                return -ENOMEM;
            c->hdrs = hh;
            c->hdrs_cap = cap;
        }
        c->hdrs[n++] = h;
    }
    if (ret < 0)
        return ret;
    rc->kept++;
    int64_t delta = rec->offset - rc->base_offset;
    if (delta < 0 || delta > INT32_MAX)
        return -EBADMSG;
    return st_batch_writer_add_at(rc->w, (int32_t)delta, rec->timestamp, rec->key,
                                  rec->key ? rec->key_len : -1, rec->value,
                                  rec->value ? rec->value_len : -1, c->hdrs, n);
}

static int rewrite_batch(cleaner_t *c, const uint8_t *batch, const st_batch_header_t *hdr,
                         void *arg)
{
    rewrite_ctx_t *rc = arg;
    size_t total = st_batch_total_size(hdr);
    if (is_control(hdr))
        return st_segment_append_raw(rc->out, batch, total, c->cfg.index_interval_bytes);
    int codec = st_batch_codec(hdr);
    rc->w = c->writers[codec == ST_COMPRESSION_LZ4 ? 1 : 0];
    st_batch_writer_reset(rc->w);
    st_batch_writer_set_producer(rc->w, hdr->producer_id, hdr->producer_epoch,
                                 hdr->base_sequence);
    rc->base_offset = hdr->base_offset;
    rc->kept = rc->total = 0;
    int ret = for_each_record(batch, hdr, rewrite_record, rc);
    if (ret < 0)
        return ret;
    if (rc->kept == rc->total)   /* nothing dropped: the producer's bytes as they are */
        return st_segment_append_raw(rc->out, batch, total, c->cfg.index_interval_bytes);
    if (rc->kept == 0)
        return 0;
    const void *out;
    size_t len;
    if ((ret = st_batch_writer_finish(rc->w, &out, &len)) < 0)
        return ret;
    st_batch_stamp((void *)(uintptr_t)out, hdr->base_offset, hdr->partition_leader_epoch);
    return st_segment_append_raw(rc->out, out, len, c->cfg.index_interval_bytes);
}

/* Index of seg in the log if it is still there, closed, with the same size; else -1. */
static ssize_t find_unchanged(st_log_t *log, st_segment_t *seg, uint32_t size)
{
    size_t i = st_log_floor_segment(log, seg->base_offset);
    if (i + 1 < log->nsegs && log->segs[i] == seg && seg->size == size && !seg->active)
        return (ssize_t)i;
    return -1;
}

static void discard_cleaned(st_log_t *log, st_segment_t *cleaned)
{
    char *paths[3];
    st_segment_delete_files(cleaned, false, paths);
    st_segment_unref(cleaned);
    (void)log;
}

/* Rewrites one segment; swaps it in. Returns records dropped, or <0 (the pass stops). */
static int64_t clean_segment(cleaner_t *c, st_segment_t *seg, uint32_t size)
{
    st_log_t *log = c->log;
    count_ctx_t cc = { c, 0 };
    int64_t saved_deadline = c->tombstone_deadline;
    int ret = for_each_batch(c, seg, size, count_batch, &cc);
    if (ret < 0)
        return ret;
    if (cc.dropped == 0)
        return 0;
    c->tombstone_deadline = saved_deadline;   /* counted again by the rewrite */

    st_segment_t *out;
    if ((ret = st_segment_create(log->dir, seg->base_offset, ST_CLEANED_SUFFIX, &c->cfg, &out)) < 0)
        return st_log_fail(log, ret, "creating the cleaned segment of %s", seg->log_path);
    rewrite_ctx_t rc = { .c = c, .out = out };
    ret = for_each_batch(c, seg, size, rewrite_batch, &rc);
    if (ret == 0)
        ret = st_segment_set_active(out, false, &c->cfg);
    if (ret == 0)
        ret = st_segment_flush(out);
    if (ret < 0) {
        st_log_fail(log, ret, "writing the cleaned segment %s", out->log_path);
        discard_cleaned(log, out);
        return ret;
    }

    pthread_mutex_lock(&log->lock);
    ssize_t i = find_unchanged(log, seg, size);
    if (i < 0) {
        pthread_mutex_unlock(&log->lock);
        ST_INFO("%s: changed while being compacted; compaction stops here", seg->log_path);
        discard_cleaned(log, out);
        return -EAGAIN;
    }
    if (out->size == 0 && i > 0) {
        discard_cleaned(log, out);
        st_log_remove_segment_locked(log, (size_t)i);
        assert(st_log_check_locked(log));
        pthread_mutex_unlock(&log->lock);
        return rc.dropped;
    }
    /* commit: .log first to .swap, then indexes; then indexes and finally .log into place */
    ret = st_segment_rename(out, log->dir, ST_CLEANED_SUFFIX, ST_SWAP_SUFFIX, true);
    if (ret == 0)
        ret = st_fsync_dir(log->dir);
    if (ret == 0)
        ret = st_segment_rename(out, log->dir, ST_SWAP_SUFFIX, NULL, false);
    if (ret == 0)
        ret = st_fsync_dir(log->dir);
    if (ret < 0) {
        /* what is on disk is consistent (the next open completes or drops the swap); keep
         * serving the old segment from its open fd meanwhile */
        st_log_fail(log, ret, "swapping in the cleaned segment of %s", seg->log_path);
        pthread_mutex_unlock(&log->lock);
        st_segment_unref(out);
        return ret;
    }
    log->segs[i] = out;
    log->size_bytes = log->size_bytes - seg->size + out->size;
    seg->deleted = true;   /* its files were replaced by rename; nothing to unlink */
    ST_INFO("Compacted %s: %" PRId64 " record(s) removed, %" PRIu32 " -> %" PRIu32 " bytes",
            out->log_path, rc.dropped, size, out->size);
    assert(st_log_check_locked(log));
    pthread_mutex_unlock(&log->lock);
    st_segment_unref(seg);   /* the log's reference */
    return rc.dropped;
}

/* Closed segments that end at or below upper_bound (all of them are whole segments below it).
 * Under log->lock. */
static size_t segments_below(const st_log_t *log, int64_t upper_bound)
{
    size_t n = 0;
    while (n + 1 < log->nsegs && log->bases[n + 1] <= upper_bound)
        n++;
    return n;
}

int64_t st_log_compact(st_log_t *log, int64_t now_ms, int64_t upper_bound)
{
    if (st_log_is_offline(log))
        return -EIO;
    pthread_mutex_lock(&log->cleaner_lock);
    pthread_mutex_lock(&log->lock);
    cleaner_t c = { .log = log, .cfg = log->cfg, .now_ms = now_ms,
                    .tombstone_deadline = INT64_MAX };
    size_t n = segments_below(log, upper_bound);
    st_segment_t **segs = NULL;
    uint32_t *sizes = NULL;
    int64_t active_base = log->bases[n];   /* the end of what this pass cleans */
    int64_t removed = 0;
    if (!c.cfg.cleanup_compact || n == 0) {
        pthread_mutex_unlock(&log->lock);
        goto out;
    }
    segs = malloc(n * sizeof(*segs));
    sizes = malloc(n * sizeof(*sizes));
    if (!segs || !sizes) {
        pthread_mutex_unlock(&log->lock);
        removed = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        segs[i] = log->segs[i];
        sizes[i] = segs[i]->size;
        st_segment_ref(segs[i]);
    }
    pthread_mutex_unlock(&log->lock);

    c.writers[0] = st_batch_writer_new(ST_COMPRESSION_NONE);
    c.writers[1] = st_batch_writer_new(ST_COMPRESSION_LZ4);
    int ret = c.writers[0] && c.writers[1] ? 0 : -ENOMEM;
    for (size_t i = 0; ret == 0 && i < n; i++)
        ret = for_each_batch(&c, segs[i], sizes[i], map_batch, NULL);
    for (size_t i = 0; ret == 0 && i < n; i++) {
        int64_t r = clean_segment(&c, segs[i], sizes[i]);
        if (r < 0)
            ret = (int)r;
        else
            removed += r;
    }
    pthread_mutex_lock(&log->lock);
    if (ret == 0) {
        log->cleaned_upto = active_base;
        log->tombstone_deadline_ms = c.tombstone_deadline;
    }
    pthread_mutex_unlock(&log->lock);
    if (ret < 0 && ret != -EAGAIN)
        removed = ret;
    for (size_t i = 0; i < n; i++)
        st_segment_unref(segs[i]);
out:
    st_batch_writer_free(c.writers[0]);
    st_batch_writer_free(c.writers[1]);
    map_free(&c.map);
    free(c.hdrs);
    free(segs);
    free(sizes);
    pthread_mutex_unlock(&log->cleaner_lock);
    return removed;
}

bool st_log_needs_compaction(st_log_t *log, int64_t now_ms, int64_t upper_bound)
{
    pthread_mutex_lock(&log->lock);
    size_t n = segments_below(log, upper_bound);
    bool need = log->cfg.cleanup_compact && n > 0 &&
                (log->bases[n] != log->cleaned_upto || now_ms >= log->tombstone_deadline_ms);
    pthread_mutex_unlock(&log->lock);
    return need;
}
