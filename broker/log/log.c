/* The partition log (st_log.h): a sequence of segments, appends to the last one, reads handed
 * out as slices of a segment file for sendfile(2), truncation, flushing, the leader-epoch cache.
 * Loading and crash recovery live in log_recovery.c, retention and compaction in log_cleaner.c.
 *
 * Invariants (st_log_check_locked, asserted after every transition below):
 *   1. There is at least one segment; segments are sorted by base offset, strictly increasing,
 *      and bases[i] mirrors segs[i]->base_offset.
 *   2. Segments are contiguous in offsets: each segment's next offset <= the next one's base
 *      (gaps allowed, left by compaction); no segment in the array is marked deleted.
 *   3. The active segment is the last one, and the only one with preallocated indexes.
 *   4. segs[0] base <= log_start <= log_end; recovery_point <= log_end; the active segment's
 *      base and next offset are <= log_end (== after an append; < only after a truncation into
 *      a gap).
 *   5. size_bytes is the sum of segment sizes; each segment satisfies st_segment_check.
 *   6. Leader-epoch entries start at offsets <= log_end.
 *
 * Transitions: append (active segment grows; roll first when it is full or old), roll (new
 * active segment), truncate_to / truncate fully (segments dropped from the end), retention and
 * advance_start (segments dropped from the front, log_start up), compaction swap (a closed
 * segment replaced), flush (recovery_point up).
 *
 * Locking: log->lock guards every field; it is held for positioning and bookkeeping only, never
 * across an fsync (st_log_flush_upto drops it). Segments in a slice are kept alive by their
 * reference count. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log_internal.h"
#include "st_buf.h"
#include "st_logger.h"

void st_log_config_defaults(st_log_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->segment_bytes = 1LL << 30;
    cfg->roll_ms = 168LL * 3600 * 1000;
    cfg->index_interval_bytes = 4096;
    cfg->index_max_bytes = 10 * 1024 * 1024;
    cfg->flush_interval_messages = INT64_MAX;
    cfg->flush_interval_ms = INT64_MAX;
    cfg->retention_ms = 168LL * 3600 * 1000;
    cfg->retention_bytes = -1;
    cfg->cleanup_delete = true;
    cfg->cleanup_compact = false;
    cfg->delete_retention_ms = 24LL * 3600 * 1000;
    cfg->file_delete_delay_ms = 60000;
}

/* Keeps values inside what the on-disk format can represent. */
static void sanitize_config(st_log_config_t *cfg)
{
    if (cfg->segment_bytes <= ST_BATCH_HEADER_SIZE || cfg->segment_bytes > INT32_MAX)
        cfg->segment_bytes = cfg->segment_bytes <= ST_BATCH_HEADER_SIZE ? ST_BATCH_HEADER_SIZE + 1
                                                                        : INT32_MAX;
    if (cfg->index_interval_bytes < 0)
        cfg->index_interval_bytes = 0;
    if (cfg->index_max_bytes < 4 * ST_TIME_INDEX_ENTRY)
        cfg->index_max_bytes = 4 * ST_TIME_INDEX_ENTRY;
    if (cfg->roll_ms <= 0)
        cfg->roll_ms = INT64_MAX;
    if (cfg->flush_interval_messages <= 0)
        cfg->flush_interval_messages = 1;
    if (cfg->file_delete_delay_ms < 0)
        cfg->file_delete_delay_ms = 0;
}

/* ---- storage failures ------------------------------------------------------------------------ */

bool st_log_is_io_error(int err)
{
    switch (-err) {
    case EIO: case ENOSPC: case EDQUOT: case EROFS: case EACCES: case EPERM: case ENODEV:
    case ENXIO: case EFBIG: case ENOENT: case ENOTDIR: case ESTALE:
        return true;
    default:
        return false;
    }
}

void st_log_set_failure_handler(st_log_t *log, st_log_failure_fn *fn, void *arg,
                                const atomic_bool *dir_offline)
{
    log->on_failure = fn;
    log->failure_arg = arg;
    log->dir_offline = dir_offline;
}

bool st_log_is_offline(const st_log_t *log)
{
    return atomic_load(&log->failed) || (log->dir_offline && atomic_load(log->dir_offline));
}

int st_log_fail(st_log_t *log, int err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (!st_log_is_io_error(err)) {
        ST_ERROR("%s: %s", what, strerror(-err));
        return err;
    }
    if (atomic_exchange(&log->failed, true))
        return err;   /* reported when the log went offline */
    /* the log dir is the parent of the partition directory */
    const char *slash = strrchr(log->dir, '/');
    int dlen = slash && slash != log->dir ? (int)(slash - log->dir) : (int)strlen(log->dir);
    ST_ERROR("Error while %s in log dir %.*s: %s", what, dlen, log->dir, strerror(-err));
    if (log->on_failure)
        log->on_failure(log->failure_arg, log, err, what);
    return err;
}

/* ---- segment array ------------------------------------------------------------------------- */

int st_log_segs_push(st_log_t *log, st_segment_t *seg)
{
    if (log->nsegs == log->segs_cap) {
        size_t cap = log->segs_cap ? log->segs_cap * 2 : 16;
        st_segment_t **segs = realloc(log->segs, cap * sizeof(*segs));
        if (!segs)
            return -ENOMEM;
        log->segs = segs;
        int64_t *bases = realloc(log->bases, cap * sizeof(*bases));
        if (!bases)
            return -ENOMEM;
        log->bases = bases;
        log->segs_cap = cap;
    }
    log->segs[log->nsegs] = seg;
    log->bases[log->nsegs] = seg->base_offset;
    log->nsegs++;
    log->size_bytes += seg->size;
    return 0;
}

size_t st_log_floor_segment(const st_log_t *log, int64_t offset)
{
    size_t lo = 0, hi = log->nsegs;
    while (lo < hi) {   /* first base > offset */
        size_t mid = lo + (hi - lo) / 2;
        if (log->bases[mid] <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : lo - 1;
}

void st_log_process_pending_deletes(st_log_t *log, int64_t now_ms, bool all)
{
    size_t keep = 0;
    for (size_t i = 0; i < log->npending; i++) {
        st_pending_delete_t *pd = &log->pending[i];
        if (!all && pd->deadline_ms > now_ms) {
            log->pending[keep++] = *pd;
            continue;
        }
        for (int k = 0; k < 3; k++) {
            if (pd->paths[k] && unlink(pd->paths[k]) < 0 && errno != ENOENT)
                ST_WARN("could not delete %s: %s", pd->paths[k], strerror(errno));
            free(pd->paths[k]);
        }
    }
    log->npending = keep;
}

int st_log_remove_segment_locked(st_log_t *log, size_t i)
{
    assert(i < log->nsegs);
    st_segment_t *seg = log->segs[i];
    memmove(&log->segs[i], &log->segs[i + 1], (log->nsegs - i - 1) * sizeof(*log->segs));
    memmove(&log->bases[i], &log->bases[i + 1], (log->nsegs - i - 1) * sizeof(*log->bases));
    log->nsegs--;
    log->size_bytes -= seg->size;

    bool delay = log->cfg.file_delete_delay_ms > 0;
    char *paths[3];
    int ret = st_segment_delete_files(seg, delay, paths);
    if (ret < 0)
        ST_WARN("%s: deleting segment files: %s", seg->log_path, strerror(-ret));
    if (delay) {
        if (log->npending == log->pending_cap) {
            size_t cap = log->pending_cap ? log->pending_cap * 2 : 8;
            st_pending_delete_t *p = realloc(log->pending, cap * sizeof(*p));
            if (p) {
                log->pending = p;
                log->pending_cap = cap;
            }
        }
        if (log->npending < log->pending_cap) {
            st_pending_delete_t *pd = &log->pending[log->npending++];
            memcpy(pd->paths, paths, sizeof(paths));
            pd->deadline_ms = st_log_now_ms() + log->cfg.file_delete_delay_ms;
        } else {
            for (int k = 0; k < 3; k++) {
                if (paths[k])
                    unlink(paths[k]);
                free(paths[k]);
            }
        }
    }
    ST_INFO("Deleted log segment %s (base offset %" PRId64 ", %" PRIu32 " bytes)%s",
            seg->log_path, seg->base_offset, seg->size, delay ? ", files renamed *.deleted" : "");
    st_segment_unref(seg);
    return ret;
}

/* ---- invariants ------------------------------------------------------------------------------ */

bool st_log_check_locked(const st_log_t *log)
{
    if (log->nsegs == 0)
        return false;
    size_t total = 0;
    for (size_t i = 0; i < log->nsegs; i++) {
        const st_segment_t *seg = log->segs[i];
        if (!seg || seg->deleted || log->bases[i] != seg->base_offset || !st_segment_check(seg))
            return false;
        if (seg->active != (i == log->nsegs - 1))
            return false;
        if (i > 0 && (log->bases[i] <= log->bases[i - 1] ||
                      log->segs[i - 1]->next_offset > log->bases[i]))
            return false;
        total += seg->size;
    }
    const st_segment_t *active = log->segs[log->nsegs - 1];
    if (log->log_start < log->bases[0] || log->log_start > log->log_end ||
        log->recovery_point > log->log_end || active->base_offset > log->log_end ||
        active->next_offset > log->log_end || total != log->size_bytes)
        return false;
    for (size_t i = 0; i < log->epochs.n; i++)
        if (log->epochs.entries[i].start_offset > log->log_end)
            return false;
    return true;
}

/* O(1) part of the checker, for the append path. */
static inline bool check_active(const st_log_t *log)
{
    const st_segment_t *seg = log->segs[log->nsegs - 1];
    return seg->active && seg->next_offset <= log->log_end && seg->size <= INT32_MAX &&
           log->recovery_point <= log->log_end;
}

/* ---- open / close ---------------------------------------------------------------------------- */

static void parse_topic_partition(st_log_t *log)
{
    const char *base = strrchr(log->dir, '/');
    base = base ? base + 1 : log->dir;
    const char *dash = strrchr(base, '-');
    char *end = NULL;
    long part = dash ? strtol(dash + 1, &end, 10) : -1;
    if (dash && dash != base && end && *end == '\0' && dash[1] != '\0' && part >= 0 &&
        part <= INT32_MAX) {
        log->topic = strndup(base, (size_t)(dash - base));
        log->partition = (int32_t)part;
    } else {
        log->topic = strdup(base);
        log->partition = -1;
    }
}

static void log_free(st_log_t *log)
{
    for (size_t i = 0; i < log->nsegs; i++)
        st_segment_unref(log->segs[i]);
    st_log_process_pending_deletes(log, 0, true);
    st_epoch_cache_free(&log->epochs);
    pthread_mutex_destroy(&log->lock);
    pthread_mutex_destroy(&log->cleaner_lock);
    free(log->pending);
    free(log->segs);
    free(log->bases);
    free(log->dir);
    free(log->topic);
    free(log);
}

int st_log_open(const char *dir, const st_log_config_t *cfg, int64_t recovery_point,
                bool clean_shutdown, st_log_t **ret_log)
{
    if (!dir || !cfg || !ret_log)
        return -EINVAL;
    bool created = mkdir(dir, 0755) == 0;
    if (!created && errno != EEXIST)
        return -errno;
    st_log_t *log = calloc(1, sizeof(*log));
    if (!log)
        return -ENOMEM;
    log->created = created;
    pthread_mutex_init(&log->lock, NULL);
    pthread_mutex_init(&log->cleaner_lock, NULL);
    log->cfg = *cfg;
    sanitize_config(&log->cfg);
    log->roll_flush_upto = -1;
    log->cleaned_upto = -1;
    log->tombstone_deadline_ms = INT64_MAX;
    log->last_flush_ms = st_log_now_ms();
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    log->dir = strndup(dir, dlen);
    int ret = -ENOMEM;
    if (!log->dir)
        goto fail;
    parse_topic_partition(log);
    if (!log->topic)
        goto fail;

    char *epath;
    if (asprintf(&epath, "%s/leader-epoch-checkpoint", log->dir) < 0)
        goto fail;
    ret = st_epoch_cache_load(&log->epochs, epath);
    free(epath);
    if (ret < 0)
        goto fail;

    if ((ret = st_log_load_segments(log, recovery_point < 0 ? 0 : recovery_point,
                                    clean_shutdown)) < 0)
        goto fail;
    if ((ret = st_epoch_cache_truncate_from_end(&log->epochs, log->log_end)) < 0 ||
        (ret = st_epoch_cache_truncate_from_start(&log->epochs, log->log_start)) < 0)
        goto fail;
    assert(st_log_check_locked(log));
    *ret_log = log;
    return 0;
fail:
    log_free(log);
    return ret;
}

static int flush_range_locked(st_log_t *log, size_t from)
{
    int ret = 0;
    for (size_t i = from; i < log->nsegs; i++) {
        int r = st_segment_flush(log->segs[i]);
        if (ret == 0)
            ret = r;
    }
    return ret;
}

void st_log_close(st_log_t *log)
{
    if (!log)
        return;
    pthread_mutex_lock(&log->lock);
    if (log->nsegs > 0 && !st_log_is_offline(log)) {
        st_segment_t *active = log->segs[log->nsegs - 1];
        int ret = st_segment_set_active(active, false, &log->cfg);
        if (ret == 0)
            ret = flush_range_locked(log, st_log_floor_segment(log, log->recovery_point));
        if (ret == 0)
            ret = st_fsync_dir(log->dir);
        if (ret < 0)
            st_log_fail(log, ret, "flushing %s at close", log->dir);
    }
    pthread_mutex_unlock(&log->lock);
    log_free(log);
}

static int remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && ret == 0)
            ret = -errno;
    }
    closedir(d);
    if (rmdir(dir) < 0 && ret == 0)
        ret = -errno;
    return ret;
}

int st_log_delete(st_log_t *log)
{
    if (!log)
        return -EINVAL;
    char *dir = strdup(log->dir);
    if (!dir)
        return -ENOMEM;
    log_free(log);   /* no flush: the data is going away */
    int ret = remove_tree(dir);
    if (ret < 0)
        ST_ERROR("%s: removing the partition directory: %s", dir, strerror(-ret));
    free(dir);
    return ret;
}

/* ---- accessors ------------------------------------------------------------------------------- */

const char *st_log_dir(const st_log_t *log) { return log->dir; }
const char *st_log_topic(const st_log_t *log) { return log->topic; }
int32_t st_log_partition(const st_log_t *log) { return log->partition; }

void st_log_set_config(st_log_t *log, const st_log_config_t *cfg)
{
    pthread_mutex_lock(&log->lock);
    log->cfg = *cfg;
    sanitize_config(&log->cfg);
    pthread_mutex_unlock(&log->lock);
}

#define LOCKED_GET(type, expr)            \
    do {                                  \
        pthread_mutex_lock(&log->lock);   \
        type v_ = (expr);                 \
        pthread_mutex_unlock(&log->lock); \
        return v_;                        \
    } while (0)

int64_t st_log_start_offset(st_log_t *log) { LOCKED_GET(int64_t, log->log_start); }
int64_t st_log_end_offset(st_log_t *log) { LOCKED_GET(int64_t, log->log_end); }
int64_t st_log_recovery_point(st_log_t *log) { LOCKED_GET(int64_t, log->recovery_point); }
size_t st_log_size_bytes(st_log_t *log) { LOCKED_GET(size_t, log->size_bytes); }
size_t st_log_segment_count(st_log_t *log) { LOCKED_GET(size_t, log->nsegs); }
int32_t st_log_latest_epoch(st_log_t *log) { LOCKED_GET(int32_t, st_epoch_cache_latest(&log->epochs)); }

int st_log_assign_epoch(st_log_t *log, int32_t epoch, int64_t start_offset)
{
    pthread_mutex_lock(&log->lock);
    int r = start_offset > log->log_end ? -EINVAL
            : st_log_is_offline(log) ? -EIO
                                     : st_epoch_cache_assign(&log->epochs, epoch, start_offset);
    if (r < 0 && r != -EINVAL && r != -EIO)
        st_log_fail(log, r, "writing %s/leader-epoch-checkpoint", log->dir);
    pthread_mutex_unlock(&log->lock);
    return r;
}

int64_t st_log_end_offset_for_epoch(st_log_t *log, int32_t epoch, int32_t *ret_epoch)
{
    pthread_mutex_lock(&log->lock);
    int64_t off = st_epoch_cache_end_offset_for(&log->epochs, epoch, log->log_end, ret_epoch);
    pthread_mutex_unlock(&log->lock);
    return off;
}

/* ---- roll ------------------------------------------------------------------------------------ */

static int roll_locked(st_log_t *log)
{
    st_segment_t *old = log->segs[log->nsegs - 1];
    if (old->size == 0 && old->base_offset == log->log_end)
        return 0;
    st_segment_t *seg;
    int ret = st_segment_create(log->dir, log->log_end, NULL, &log->cfg, &seg);
    if (ret < 0)
        return st_log_fail(log, ret, "creating the segment %s/%020" PRId64 ".log", log->dir,
                           log->log_end);
    if ((ret = st_log_segs_push(log, seg)) < 0) {
        st_segment_delete_files(seg, false, (char *[3]){ 0 });
        st_segment_unref(seg);
        return ret;
    }
    if (old->size == 0) {
        /* an empty active segment whose base is below the log end (after a truncation into a
         * gap): replaced rather than kept as an empty closed segment */
        if ((ret = st_log_remove_segment_locked(log, log->nsegs - 2)) < 0)
            ST_WARN("%s: %s", log->dir, strerror(-ret));
    } else {
        if ((ret = st_segment_set_active(old, false, &log->cfg)) < 0)
            st_log_fail(log, ret, "trimming the indexes of %s", old->log_path);
        old->active = false;
        log->roll_flush_upto = log->log_end;
    }
    ST_INFO("Rolled new log segment at offset %" PRId64 " in %s", log->log_end, log->dir);
    assert(st_log_check_locked(log));
    return 0;
}

int st_log_roll(st_log_t *log)
{
    pthread_mutex_lock(&log->lock);
    int ret = log->nsegs && !st_log_is_offline(log) ? roll_locked(log) : -EIO;
    pthread_mutex_unlock(&log->lock);
    return ret;
}

/* ---- append ---------------------------------------------------------------------------------- */

typedef struct batches_info {
    int32_t count;
    int64_t records;
    int64_t max_timestamp;
    int64_t offsets;          /* sum of (lastOffsetDelta + 1) */
    int64_t first_base, last_offset;
} batches_info_t;

/* Walks the batches of an append: lengths consistent; as the leader, each fits a segment
 * (-E2BIG otherwise: Kafka's RecordBatchTooLargeException). A follower keeps what its leader
 * accepted, even a batch larger than a segment.bytes lowered since (it then gets a segment of
 * its own). With `follower`, offsets must increase from batch to batch. */
static int scan_batches(const uint8_t *buf, size_t len, const st_log_config_t *cfg,
                        bool follower, batches_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->max_timestamp = -1;
    size_t pos = 0;
    int64_t next = INT64_MIN;
    while (pos < len) {
        st_batch_header_t hdr;
        if (len - pos < ST_BATCH_HEADER_SIZE ||
            st_batch_header_decode(buf + pos, len - pos, &hdr) < 0 ||
            hdr.batch_length < ST_BATCH_HEADER_SIZE - ST_BATCH_LOG_OVERHEAD ||
            st_batch_total_size(&hdr) > len - pos || hdr.magic != ST_BATCH_MAGIC ||
            hdr.last_offset_delta < 0 || hdr.record_count < 0)
            return -EBADMSG;
        if (!follower && (int64_t)st_batch_total_size(&hdr) > cfg->segment_bytes)
            return -E2BIG;
        if (follower) {
            if (hdr.base_offset < next || hdr.base_offset < 0)
                return -EINVAL;
            if (info->count == 0)
                info->first_base = hdr.base_offset;
            next = st_batch_last_offset(&hdr) + 1;
            info->last_offset = next - 1;
        }
        if (hdr.max_timestamp > info->max_timestamp)
            info->max_timestamp = hdr.max_timestamp;
        info->count++;
        info->records += hdr.record_count;
        info->offsets += (int64_t)hdr.last_offset_delta + 1;
        pos += st_batch_total_size(&hdr);
    }
    return info->count > 0 ? 0 : -EINVAL;
}

static bool should_roll(const st_log_t *log, const st_segment_t *seg, size_t len,
                        const batches_info_t *info, int64_t last_offset)
{
    if (last_offset - seg->base_offset > INT32_MAX)
        return true;
    if (seg->size == 0)
        return false;
    if ((uint64_t)seg->size + len > (uint64_t)log->cfg.segment_bytes)
        return true;
    if (seg->oidx.entries + (uint32_t)info->count > st_index_file_capacity(&seg->oidx) ||
        seg->tidx.entries + (uint32_t)info->count + 1 > st_index_file_capacity(&seg->tidx))
        return true;
    int64_t waited = seg->rolling_timestamp >= 0 && info->max_timestamp >= 0
                         ? info->max_timestamp - seg->rolling_timestamp
                         : st_log_now_ms() - seg->created_ms;
    return waited > log->cfg.roll_ms;
}

static int append_locked(st_log_t *log, uint8_t *buf, size_t len, bool follower,
                         int32_t leader_epoch, const batches_info_t *info,
                         st_log_append_info_t *ret_info, bool *ret_flush)
{
    if (log->nsegs == 0 || st_log_is_offline(log))
        return -EIO;
    if (follower && info->first_base != log->log_end)
        return -EINVAL;
    int64_t first = log->log_end;
    int64_t last = follower ? info->last_offset : first + info->offsets - 1;
    st_segment_t *seg = log->segs[log->nsegs - 1];
    int ret;
    if (should_roll(log, seg, len, info, last)) {
        if ((ret = roll_locked(log)) < 0)
            return ret;
        if (st_log_is_offline(log))
            return -EIO;   /* closing the old segment failed: nothing more is written */
        seg = log->segs[log->nsegs - 1];
    }
    if ((uint64_t)seg->size + len > INT32_MAX || last - seg->base_offset > INT32_MAX)
        return -E2BIG;

    if (!follower) {
        int64_t off = first;
        for (size_t pos = 0; pos < len;) {
            uint8_t *p = buf + pos;
            st_batch_stamp(p, off, leader_epoch);
            int32_t delta = (int32_t)st_be32(p + 23);
            off += (int64_t)delta + 1;
            pos += ST_BATCH_LOG_OVERHEAD + st_be32(p + 8);
        }
    }
    uint32_t pos0 = seg->size;
    /* the index pages this append may write get their storage first: on a full disk the
     * append fails here, before any byte of it is written (index_file.c) */
    if ((ret = st_segment_reserve_index(seg, (uint32_t)info->count)) < 0)
        return st_log_fail(log, ret, "reserving index space (.index/.timeindex) for an append "
                           "to %s", seg->log_path);
    if ((ret = st_pwrite_full(seg->fd, buf, len, pos0)) < 0) {
        if (ftruncate(seg->fd, pos0) < 0)
            ST_ERROR("%s: cannot cut back to %" PRIu32 ": %s", seg->log_path, pos0,
                     strerror(errno));
        return st_log_fail(log, ret, "appending %zu bytes to %s at byte position %" PRIu32, len,
                           seg->log_path, pos0);
    }
    int32_t epoch_seen = st_epoch_cache_latest(&log->epochs);
    for (size_t pos = 0; pos < len;) {
        st_batch_header_t hdr;
        st_batch_header_decode(buf + pos, len - pos, &hdr);
        /* cannot fail: reserved above */
        (void)st_segment_index_batch(seg, &hdr, pos0 + (uint32_t)pos,
                                     log->cfg.index_interval_bytes);
        if (follower && hdr.partition_leader_epoch >= 0 && hdr.partition_leader_epoch > epoch_seen) {
            if ((ret = st_epoch_cache_assign(&log->epochs, hdr.partition_leader_epoch,
                                             hdr.base_offset)) < 0)
                st_log_fail(log, ret, "writing %s/leader-epoch-checkpoint", log->dir);
            epoch_seen = hdr.partition_leader_epoch;
        }
        pos += st_batch_total_size(&hdr);
    }
    seg->size += (uint32_t)len;
    log->size_bytes += len;
    log->log_end = seg->next_offset;
    if (!follower && leader_epoch >= 0 && leader_epoch != epoch_seen) {
        if ((ret = st_epoch_cache_assign(&log->epochs, leader_epoch, first)) < 0)
            st_log_fail(log, ret, "writing %s/leader-epoch-checkpoint", log->dir);
    }
    log->unflushed_messages += info->records;
    *ret_flush = log->unflushed_messages >= log->cfg.flush_interval_messages;
    if (ret_info) {
        ret_info->first_offset = follower ? info->first_base : first;
        ret_info->last_offset = log->log_end - 1;
        ret_info->max_timestamp = info->max_timestamp;
        ret_info->batch_count = info->count;
        ret_info->record_count = info->records;
    }
    assert(check_active(log));
    return 0;
}

/* Bytes of the whole batches at the head of buf (len bytes, already scanned) that go into one
 * segment: as many as fit in `room`, and always at least one. */
static size_t chunk_len(const uint8_t *buf, size_t len, uint64_t room)
{
    size_t pos = 0;
    while (pos < len) {
        size_t size = ST_BATCH_LOG_OVERHEAD + st_be32(buf + pos + 8);
        if (pos > 0 && (uint64_t)(pos + size) > room)
            break;
        pos += size;
    }
    return pos;
}

/* segment.bytes is never exceeded by an append: the batches of one append are written in
 * chunks, each filling the active segment as far as whole batches fit (append_locked rolls
 * first when not even the first batch fits), so a segment only outgrows segment.bytes when one
 * batch alone is larger (a follower keeping its leader's batch). A failure after some chunks
 * leaves those appended (the log stays consistent; the caller sees the error). */
static int append_chunked(st_log_t *log, uint8_t *buf, size_t len, bool follower,
                          int32_t leader_epoch, const batches_info_t *all,
                          st_log_append_info_t *ret_info, bool *ret_flush)
{
    st_log_append_info_t sum = { 0 };
    sum.max_timestamp = -1;
    *ret_flush = false;
    for (size_t pos = 0; pos < len;) {
        if (log->nsegs == 0)
            return -EIO;
        const st_segment_t *seg = log->segs[log->nsegs - 1];
        uint64_t limit = (uint64_t)log->cfg.segment_bytes;
        uint64_t first = ST_BATCH_LOG_OVERHEAD + st_be32(buf + pos + 8);
        uint64_t room = seg->size == 0 || seg->size + first > limit ? limit : limit - seg->size;
        size_t n = chunk_len(buf + pos, len - pos, room);
        batches_info_t info;
        int ret;
        if (pos == 0 && n == len)
            info = *all;
        else if ((ret = scan_batches(buf + pos, n, &log->cfg, follower, &info)) < 0)
            return ret;
        st_log_append_info_t one = { 0 };
        bool flush = false;
        if ((ret = append_locked(log, buf + pos, n, follower, leader_epoch, &info, &one,
                                 &flush)) < 0)
            return ret;
        if (pos == 0)
            sum.first_offset = one.first_offset;
        sum.last_offset = one.last_offset;
        if (one.max_timestamp > sum.max_timestamp)
            sum.max_timestamp = one.max_timestamp;
        sum.batch_count += one.batch_count;
        sum.record_count += one.record_count;
        *ret_flush |= flush;
        pos += n;
    }
    if (ret_info)
        *ret_info = sum;
    return 0;
}

int st_log_append(st_log_t *log, void *batches, size_t len, int32_t leader_epoch,
                  st_log_append_info_t *ret_info)
{
    batches_info_t info;
    if (!batches || len == 0)
        return -EINVAL;
    pthread_mutex_lock(&log->lock);
    int ret = scan_batches(batches, len, &log->cfg, false, &info);
    bool flush = false;
    if (ret == 0)
        ret = append_chunked(log, batches, len, false, leader_epoch, &info, ret_info, &flush);
    pthread_mutex_unlock(&log->lock);
    if (ret == 0 && flush)
        ret = st_log_flush(log);
    return ret;
}

int st_log_append_follower(st_log_t *log, const void *batches, size_t len,
                           st_log_append_info_t *ret_info)
{
    batches_info_t info;
    if (!batches || len == 0)
        return -EINVAL;
    pthread_mutex_lock(&log->lock);
    int ret = scan_batches(batches, len, &log->cfg, true, &info);
    bool flush = false;
    if (ret == 0)
        ret = append_chunked(log, (uint8_t *)(uintptr_t)batches, len, true, -1, &info, ret_info,
                             &flush);
    pthread_mutex_unlock(&log->lock);
    if (ret == 0 && flush)
        ret = st_log_flush(log);
    return ret;
}

/* ---- read ------------------------------------------------------------------------------------ */

static void empty_slice(st_log_slice_t *slice, int64_t offset)
{
    slice->fd = -1;
    slice->pos = 0;
    slice->len = 0;
    slice->first_offset = offset;
    slice->seg = NULL;
}

static int read_locked(st_log_t *log, int64_t offset, size_t max_bytes, int64_t max_offset,
                       bool min_one_batch, st_log_slice_t *ret_slice)
{
    if (log->nsegs == 0 || st_log_is_offline(log))
        return -EIO;
    if (offset < log->log_start || offset > log->log_end)
        return -ERANGE;
    if (offset == log->log_end || offset >= max_offset) {
        empty_slice(ret_slice, offset);
        return 0;
    }
    st_segment_t *seg = NULL;
    st_batch_header_t hdr;
    uint32_t pos = 0;
    int ret = 0;
    for (size_t i = st_log_floor_segment(log, offset); i < log->nsegs; i++) {
        seg = log->segs[i];
        int64_t want = offset > seg->base_offset ? offset : seg->base_offset;
        if (want >= seg->next_offset)
            continue;
        if ((ret = st_segment_translate(seg, want, seg->size, &pos, &hdr)) < 0)
            return ret;
        if (ret == 1)
            break;
    }
    if (ret != 1 || st_batch_last_offset(&hdr) >= max_offset) {
        empty_slice(ret_slice, offset);
        return 0;
    }
    uint32_t limit = seg->size;
    if (max_offset < seg->next_offset) {
        uint32_t mpos;
        st_batch_header_t mhdr;
        if ((ret = st_segment_translate(seg, max_offset, seg->size, &mpos, &mhdr)) < 0)
            return ret;
        if (ret == 1)
            limit = mpos;
    }
    uint32_t end;
    if ((ret = st_segment_boundary_before(seg, pos, (uint32_t)st_batch_total_size(&hdr),
                                          (uint64_t)pos + max_bytes, limit, &end)) < 0)
        return ret;
    if (end == pos) {
        if (!min_one_batch) {
            empty_slice(ret_slice, offset);
            return 0;
        }
        end = pos + (uint32_t)st_batch_total_size(&hdr);
    }
    st_segment_ref(seg);
    ret_slice->fd = seg->fd;
    ret_slice->pos = pos;
    ret_slice->len = end - pos;
    ret_slice->first_offset = hdr.base_offset;
    ret_slice->seg = seg;
    return 0;
}

int st_log_read(st_log_t *log, int64_t offset, size_t max_bytes, int64_t max_offset,
                bool min_one_batch, st_log_slice_t *ret_slice)
{
    if (!ret_slice)
        return -EINVAL;
    pthread_mutex_lock(&log->lock);
    int ret = read_locked(log, offset, max_bytes, max_offset, min_one_batch, ret_slice);
    pthread_mutex_unlock(&log->lock);
    return ret;
}

void st_log_slice_release(st_log_slice_t *slice)
{
    if (!slice)
        return;
    st_segment_unref(slice->seg);
    slice->seg = NULL;
    slice->fd = -1;
    slice->len = 0;
}

/* Batch-level answer: the base offset of the first batch (at or after the log start) whose
 * maxTimestamp reaches timestamp_ms, or -1. */
static int batch_for_timestamp(st_log_t *log, int64_t timestamp_ms, int64_t *ret_offset)
{
    pthread_mutex_lock(&log->lock);
    int ret = 0;
    int64_t result = -1;
    for (size_t i = 0; i < log->nsegs; i++) {
        st_segment_t *seg = log->segs[i];
        if (seg->max_timestamp < timestamp_ms || seg->next_offset <= log->log_start)
            continue;
        int64_t off;
        ret = st_segment_find_timestamp(seg, timestamp_ms, &off);
        if (ret < 0)
            break;
        if (ret == 1) {
            result = off > log->log_start ? off : log->log_start;
            ret = 0;
            break;
        }
    }
    pthread_mutex_unlock(&log->lock);
    if (ret == 0)
        *ret_offset = result;
    return ret;
}

/* Decodes the batch holding `offset` and finds its first record at or after `offset` whose
 * timestamp reaches timestamp_ms. 1 found, 0 none in this batch (*ret_next: the offset after
 * the batch), <0 error. Off the hot path: one pread of one batch. */
static int record_for_timestamp(st_log_t *log, int64_t offset, int64_t timestamp_ms,
                                int64_t *ret_offset, int64_t *ret_timestamp, int64_t *ret_next)
{
    st_log_slice_t slice;
    int ret = st_log_read(log, offset, 1, INT64_MAX, true, &slice);
    if (ret < 0)
        return ret;
    if (slice.len == 0) {
        st_log_slice_release(&slice);
        *ret_next = -1;
        return 0;
    }
    uint8_t *buf = malloc(slice.len);
    size_t done = 0;
    while (buf && done < slice.len) {
        ssize_t n = pread(slice.fd, buf + done, slice.len - done, slice.pos + (off_t)done);
        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)n;
    }
    if (!buf)
        ret = -ENOMEM;
    st_log_slice_release(&slice);
    if (ret < 0) {
        free(buf);
        return ret;
    }
    st_batch_reader_t reader;
    st_batch_header_t hdr;
    st_record_t rec;
    st_batch_reader_init(&reader, buf, done);
    int found = 0;
    ret = st_batch_reader_next_batch(&reader, &hdr);
    if (ret == 1) {
        *ret_next = st_batch_last_offset(&hdr) + 1;
        while ((ret = st_batch_reader_next_record(&reader, &rec)) == 1) {
            if (rec.offset >= offset && rec.timestamp >= timestamp_ms) {
                *ret_offset = rec.offset;
                *ret_timestamp = rec.timestamp;
                found = 1;
                break;
            }
        }
    } else if (ret == 0) {
        ret = -EBADMSG;   /* the slice promised one whole batch */
    }
    if (ret < 0)
        ST_WARN("%s: decoding the batch at offset %" PRId64 " for a timestamp lookup: %s",
                log->dir, offset, st_batch_reader_error(&reader)->reason);
    st_batch_reader_destroy(&reader);
    free(buf);
    return ret < 0 ? ret : found;
}

int st_log_offset_for_timestamp(st_log_t *log, int64_t timestamp_ms, int64_t *ret_offset,
                                int64_t *ret_timestamp)
{
    int64_t offset;
    int ret = batch_for_timestamp(log, timestamp_ms, &offset);
    /* A batch's maxTimestamp reaches ts, so one of its records does: the loop ends within that
     * batch unless it was truncated or cleaned away meanwhile, when the next batch is tried. */
    while (ret == 0 && offset >= 0) {
        int64_t found_offset, found_ts, next;
        ret = record_for_timestamp(log, offset, timestamp_ms, &found_offset, &found_ts, &next);
        if (ret == 1) {
            *ret_offset = found_offset;
            if (ret_timestamp)
                *ret_timestamp = found_ts;
            return 0;
        }
        if (ret == 0 && next < 0)
            break;
        if (ret == 0) {
            ret = batch_for_timestamp(log, timestamp_ms, &offset);
            if (ret == 0 && offset >= 0 && offset < next)
                offset = next;
        }
    }
    if (ret == -ERANGE)
        ret = 0;   /* the log moved under us: nothing at or after the start qualifies */
    if (ret < 0)
        return ret;
    *ret_offset = st_log_end_offset(log);
    if (ret_timestamp)
        *ret_timestamp = -1;
    return 0;
}

/* ---- truncation ------------------------------------------------------------------------------ */

/* The result of an epoch-cache change that rewrote leader-epoch-checkpoint (log->lock held). */
static int epoch_written(st_log_t *log, int r)
{
    return r < 0 ? st_log_fail(log, r, "writing %s/leader-epoch-checkpoint", log->dir) : r;
}

static int truncate_fully_locked(st_log_t *log, int64_t offset)
{
    while (log->nsegs > 0)
        st_log_remove_segment_locked(log, log->nsegs - 1);
    st_segment_t *seg;
    int ret = st_segment_create(log->dir, offset, NULL, &log->cfg, &seg);
    if (ret == 0 && (ret = st_log_segs_push(log, seg)) < 0)
        st_segment_unref(seg);
    if (ret < 0)
        return st_log_fail(log, ret, "creating the segment %s/%020" PRId64 ".log", log->dir,
                           offset);
    log->log_start = log->log_end = log->recovery_point = offset;
    log->truncations++;
    if (log->roll_flush_upto > offset)
        log->roll_flush_upto = -1;
    ret = epoch_written(log, st_epoch_cache_clear(&log->epochs));
    ST_INFO("Truncated %s fully; the log restarts at offset %" PRId64, log->dir, offset);
    assert(st_log_check_locked(log));
    return ret;
}

int st_log_truncate_to(st_log_t *log, int64_t offset)
{
    if (offset < 0)
        return -EINVAL;
    pthread_mutex_lock(&log->lock);
    int ret = 0;
    if (log->nsegs == 0 || st_log_is_offline(log)) {
        ret = -EIO;
        goto out;
    }
    if (offset >= log->log_end) {
        /* Nothing to cut, but an epoch this broker started as leader without appending to it
         * (an entry starting at the log end) must go: as a follower it would keep reporting
         * that epoch as its last one and never stop diverging from the leader (Kafka does the
         * same, for the same reason). */
        ret = epoch_written(log, st_epoch_cache_truncate_from_end(&log->epochs, log->log_end));
        goto out;
    }
    if (offset < log->log_start) {
        ret = truncate_fully_locked(log, offset);
        goto out;
    }
    while (log->nsegs > 1 && log->bases[log->nsegs - 1] > offset)
        st_log_remove_segment_locked(log, log->nsegs - 1);
    st_segment_t *seg = log->segs[log->nsegs - 1];
    int64_t removed = st_segment_truncate_to(seg, offset, log->cfg.index_interval_bytes);
    int64_t new_end = offset;
    if (removed < 0) {
        /* the segment is as it was: the log now ends where its batches do */
        ret = (int)removed;
        new_end = seg->next_offset;
        st_log_fail(log, ret, "truncating %s to offset %" PRId64, seg->log_path, offset);
    } else {
        log->size_bytes -= (size_t)removed;
    }
    if (!seg->active) {
        int r = st_segment_set_active(seg, true, &log->cfg);
        if (r < 0)
            st_log_fail(log, r, "growing the indexes of %s", seg->log_path);
        seg->active = true;
    }
    int64_t old_end = log->log_end;
    log->log_end = new_end;
    offset = new_end;
    if (log->recovery_point > offset)
        log->recovery_point = offset;
    if (log->roll_flush_upto > offset)
        log->roll_flush_upto = offset;
    log->truncations++;
    int r = epoch_written(log, st_epoch_cache_truncate_from_end(&log->epochs, offset));
    if (ret == 0)
        ret = r;
    ST_INFO("Truncated %s to offset %" PRId64 " (log end was %" PRId64 ")", log->dir, offset,
            old_end);
    assert(st_log_check_locked(log));
out:
    pthread_mutex_unlock(&log->lock);
    return ret;
}

int st_log_advance_start(st_log_t *log, int64_t new_start)
{
    pthread_mutex_lock(&log->lock);
    int ret = 0;
    if (st_log_is_offline(log)) {
        ret = -EIO;
    } else if (new_start > log->log_end) {
        ret = -ERANGE;
    } else if (new_start > log->log_start) {
        log->log_start = new_start;
        while (log->nsegs > 1 && log->bases[1] <= new_start)
            st_log_remove_segment_locked(log, 0);
        ret = epoch_written(log, st_epoch_cache_truncate_from_start(&log->epochs, new_start));
        assert(st_log_check_locked(log));
    }
    pthread_mutex_unlock(&log->lock);
    return ret;
}

/* ---- flush ----------------------------------------------------------------------------------- */

int st_log_flush_upto(st_log_t *log, int64_t upto)
{
    pthread_mutex_lock(&log->lock);
    if (st_log_is_offline(log)) {
        pthread_mutex_unlock(&log->lock);
        return -EIO;
    }
    if (upto < 0 || upto > log->log_end)
        upto = log->log_end;
    if (upto <= log->recovery_point || log->nsegs == 0) {
        if (upto == log->log_end)
            log->unflushed_messages = 0;
        pthread_mutex_unlock(&log->lock);
        return 0;
    }
    size_t from = st_log_floor_segment(log, log->recovery_point);
    size_t to = st_log_floor_segment(log, upto - 1);
    size_t n = to - from + 1;
    st_segment_t *stack_segs[16];
    st_segment_t **segs = n <= 16 ? stack_segs : malloc(n * sizeof(*segs));
    if (!segs) {
        pthread_mutex_unlock(&log->lock);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        segs[i] = log->segs[from + i];
        st_segment_ref(segs[i]);
    }
    uint64_t truncations = log->truncations;
    if (upto == log->log_end)
        log->unflushed_messages = 0;
    pthread_mutex_unlock(&log->lock);

    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        int r = st_segment_flush(segs[i]);
        if (ret == 0)
            ret = r;
    }
    if (ret == 0)
        ret = st_fsync_dir(log->dir);

    pthread_mutex_lock(&log->lock);
    if (ret == 0 && truncations == log->truncations) {
        if (upto > log->log_end)
            upto = log->log_end;
        if (upto > log->recovery_point)
            log->recovery_point = upto;
        if (log->roll_flush_upto >= 0 && log->roll_flush_upto <= log->recovery_point)
            log->roll_flush_upto = -1;
    }
    log->last_flush_ms = st_log_now_ms();
    pthread_mutex_unlock(&log->lock);
    for (size_t i = 0; i < n; i++)
        st_segment_unref(segs[i]);
    if (segs != stack_segs)
        free(segs);
    if (ret < 0)
        st_log_fail(log, ret, "flushing %s", log->dir);
    return ret;
}

int st_log_flush(st_log_t *log)
{
    return st_log_flush_upto(log, -1);
}

int st_log_maybe_flush(st_log_t *log, int64_t now_ms)
{
    if (st_log_is_offline(log))
        return 0;   /* nothing more is written: nothing to flush */
    pthread_mutex_lock(&log->lock);
    bool dirty = log->log_end > log->recovery_point;
    bool timed = dirty && log->cfg.flush_interval_ms != INT64_MAX &&
                 now_ms - log->last_flush_ms >= log->cfg.flush_interval_ms;
    int64_t owed = log->roll_flush_upto;
    pthread_mutex_unlock(&log->lock);
    if (timed)
        return st_log_flush_upto(log, -1);
    if (owed >= 0)
        return st_log_flush_upto(log, owed);
    return 0;
}
