/* One log segment: <base>.log holding record batches exactly as produced, with its sparse
 * offset index and its time index. Segments are refcounted: the log holds one reference and
 * every read slice another, so a segment removed by retention or truncation (its files renamed
 * or unlinked) keeps its fd and mappings until the last sendfile(2) is done with it.
 *
 * Invariants (st_segment_check):
 *   1. size <= INT32_MAX; base_offset <= next_offset; next_offset - base_offset - 1 <= INT32_MAX.
 *   2. Every offset-index entry has position in (0, size) and offset in (base, next_offset),
 *      entries strictly increasing (offset_index.c); time-index entries likewise below
 *      next_offset with increasing timestamps (time_index.c).
 *   3. The active segment's indexes are preallocated to index_max_bytes (unless that failed:
 *      then the index is full and the next append rolls); a closed segment's are trimmed to
 *      their entries. Entries never exceed the capacity (a full index takes no more).
 *   4. max_timestamp is the largest batch maxTimestamp of the segment (-1 when none).
 *   5. refs > 0 while reachable; deleted segments are no longer in any log.
 *
 * Locking: a segment has no lock of its own; the owning log's mutex covers every field except
 * refs (atomic). Closed segments' bytes never change except by truncation or compaction swaps,
 * both under the log mutex. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log_internal.h"
#include "st_logger.h"

int64_t st_log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *st_segment_path(const char *dir, int64_t base_offset, const char *ext, const char *suffix)
{
    char *path;
    if (asprintf(&path, "%s/%020" PRId64 "%s%s", dir, base_offset, ext, suffix ? suffix : "") < 0)
        return NULL;
    return path;
}

static st_segment_t *segment_alloc(int64_t base_offset)
{
    st_segment_t *seg = calloc(1, sizeof(*seg));
    if (!seg)
        return NULL;
    atomic_init(&seg->refs, 1);
    seg->fd = -1;
    seg->oidx.fd = -1;
    seg->tidx.fd = -1;
    seg->base_offset = base_offset;
    seg->next_offset = base_offset;
    seg->max_timestamp = -1;
    seg->offset_of_max_timestamp = base_offset;
    seg->rolling_timestamp = -1;
    seg->created_ms = st_log_now_ms();
    return seg;
}

static void segment_free(st_segment_t *seg)
{
    if (seg->fd >= 0)
        close(seg->fd);
    st_index_file_close(&seg->oidx);
    st_index_file_close(&seg->tidx);
    free(seg->log_path);
    free(seg);
}

static int open_indexes(st_segment_t *seg, const char *dir, const char *suffix, bool create)
{
    char *opath = st_segment_path(dir, seg->base_offset, ".index", suffix);
    char *tpath = st_segment_path(dir, seg->base_offset, ".timeindex", suffix);
    int ret = -ENOMEM;
    if (!opath || !tpath)
        goto out;
    ret = st_index_file_open(&seg->oidx, opath, ST_OFFSET_INDEX_ENTRY, seg->base_offset, create);
    if (ret == 0)
        ret = st_index_file_open(&seg->tidx, tpath, ST_TIME_INDEX_ENTRY, seg->base_offset, create);
out:
    free(opath);
    free(tpath);
    return ret;
}

int st_segment_create(const char *dir, int64_t base_offset, const char *suffix,
                      const st_log_config_t *cfg, st_segment_t **ret_seg)
{
    st_segment_t *seg = segment_alloc(base_offset);
    if (!seg)
        return -ENOMEM;
    int ret = -ENOMEM;
    if (!(seg->log_path = st_segment_path(dir, base_offset, ".log", suffix)))
        goto fail;
    seg->fd = open(seg->log_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (seg->fd < 0) {
        ret = -errno;
        goto fail;
    }
    if ((ret = open_indexes(seg, dir, suffix, true)) < 0)
        goto fail;
    if ((ret = st_segment_set_active(seg, true, cfg)) < 0)
        goto fail;
    *ret_seg = seg;
    return 0;
fail:
    segment_free(seg);
    return ret;
}

int st_segment_open(const char *dir, int64_t base_offset, const st_log_config_t *cfg,
                    st_segment_t **ret_seg, bool *ret_index_ok)
{
    (void)cfg;
    st_segment_t *seg = segment_alloc(base_offset);
    if (!seg)
        return -ENOMEM;
    int ret = -ENOMEM;
    if (!(seg->log_path = st_segment_path(dir, base_offset, ".log", NULL)))
        goto fail;
    seg->fd = open(seg->log_path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (seg->fd < 0 || fstat(seg->fd, &st) < 0) {
        ret = -errno;
        goto fail;
    }
    if (st.st_size > INT32_MAX) {
        ST_ERROR("%s: %lld bytes, more than a segment may hold (2^31-1)", seg->log_path,
                 (long long)st.st_size);
        ret = -EFBIG;
        goto fail;
    }
    seg->size = (uint32_t)st.st_size;

    bool index_ok = true;
    ret = open_indexes(seg, dir, NULL, false);
    if (ret == -ENOENT) {
        /* one or both missing: (re)create both, empty */
        st_index_file_close(&seg->oidx);
        st_index_file_close(&seg->tidx);
        ret = open_indexes(seg, dir, NULL, true);
        index_ok = seg->size == 0;
    }
    if (ret < 0)
        goto fail;
    if (st_offset_index_load(&seg->oidx) < 0 || st_time_index_load(&seg->tidx) < 0) {
        seg->oidx.entries = 0;
        seg->tidx.entries = 0;
        index_ok = false;
    }
    *ret_index_ok = index_ok;
    *ret_seg = seg;
    return 0;
fail:
    segment_free(seg);
    return ret;
}

void st_segment_ref(st_segment_t *seg)
{
    int old = atomic_fetch_add_explicit(&seg->refs, 1, memory_order_relaxed);
    assert(old > 0);
    (void)old;
}

void st_segment_unref(st_segment_t *seg)
{
    if (!seg)
        return;
    int old = atomic_fetch_sub_explicit(&seg->refs, 1, memory_order_acq_rel);
    assert(old > 0);
    if (old == 1)
        segment_free(seg);
}

int st_segment_index_batch(st_segment_t *seg, const st_batch_header_t *hdr, uint32_t pos,
                           int32_t index_interval)
{
    int64_t last = st_batch_last_offset(hdr);
    int ret = 0;
    if (pos == 0)
        seg->rolling_timestamp = hdr->max_timestamp >= 0 ? hdr->max_timestamp : -1;
    if (hdr->max_timestamp > seg->max_timestamp) {
        seg->max_timestamp = hdr->max_timestamp;
        seg->offset_of_max_timestamp = last;
    }
    if (seg->bytes_since_index > (uint32_t)index_interval) {
        if (!st_offset_index_full(&seg->oidx))
            ret = st_offset_index_append(&seg->oidx, last, pos);
        if (ret == 0 && !st_time_index_full(&seg->tidx) && seg->max_timestamp >= 0) {
            int r = st_time_index_maybe_append(&seg->tidx, seg->max_timestamp,
                                               seg->offset_of_max_timestamp);
            if (r < 0)
                ret = r;
        }
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += (uint32_t)st_batch_total_size(hdr);
    seg->next_offset = last + 1;
    return ret;
}

int st_segment_reserve_index(st_segment_t *seg, uint32_t batches)
{
    uint32_t ocap = st_index_file_capacity(&seg->oidx), tcap = st_index_file_capacity(&seg->tidx);
    uint64_t o = (uint64_t)seg->oidx.entries + batches;
    uint64_t t = (uint64_t)seg->tidx.entries + batches + 1;
    int ret = st_index_file_back(&seg->oidx, o < ocap ? (uint32_t)o : ocap);
    if (ret == 0)
        ret = st_index_file_back(&seg->tidx, t < tcap ? (uint32_t)t : tcap);
    return ret;
}

int st_pwrite_full(int fd, const void *buf, size_t len, off_t pos)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        pos += n;
    }
    return 0;
}

int st_segment_append_raw(st_segment_t *seg, const void *buf, size_t len, int32_t index_interval)
{
    if ((uint64_t)seg->size + len > INT32_MAX)
        return -E2BIG;
    const uint8_t *p = buf;
    uint32_t batches = 0;
    for (size_t pos = 0; pos < len; batches++) {
        st_batch_header_t hdr;
        st_batch_header_decode(p + pos, len - pos, &hdr);
        pos += st_batch_total_size(&hdr);
    }
    int ret = st_segment_reserve_index(seg, batches);
    if (ret == 0)
        ret = st_pwrite_full(seg->fd, buf, len, seg->size);
    if (ret < 0)
        return ret;
    for (size_t pos = 0; pos < len;) {
        st_batch_header_t hdr;
        st_batch_header_decode(p + pos, len - pos, &hdr);
        int r = st_segment_index_batch(seg, &hdr, seg->size + (uint32_t)pos, index_interval);
        if (ret == 0)
            ret = r;   /* reserved above: not expected */
        pos += st_batch_total_size(&hdr);
    }
    seg->size += (uint32_t)len;
    return ret;
}

int st_segment_set_active(st_segment_t *seg, bool active, const st_log_config_t *cfg)
{
    int ret;
    if (active) {
        size_t max = cfg->index_max_bytes > 0 ? (size_t)cfg->index_max_bytes : 0;
        if (max < (size_t)(seg->oidx.entries + 1) * ST_OFFSET_INDEX_ENTRY)
            max = (size_t)(seg->oidx.entries + 1) * ST_OFFSET_INDEX_ENTRY;
        size_t tmax = max;
        if (tmax < (size_t)(seg->tidx.entries + 2) * ST_TIME_INDEX_ENTRY)
            tmax = (size_t)(seg->tidx.entries + 2) * ST_TIME_INDEX_ENTRY;
        if ((ret = st_index_file_resize(&seg->oidx, max)) < 0 ||
            (ret = st_index_file_resize(&seg->tidx, tmax)) < 0)
            return ret;
    } else {
        /* the closing entry: the segment's largest timestamp (Kafka's onBecomeInactiveSegment);
         * its slot is reserved with every append (st_segment_reserve_index), so this fails
         * only where that reservation did not run (a segment loaded at start-up) */
        if (seg->max_timestamp >= 0 &&
            (ret = st_time_index_maybe_append(&seg->tidx, seg->max_timestamp,
                                              seg->offset_of_max_timestamp)) < 0)
            return ret;
        if ((ret = st_index_file_trim(&seg->oidx)) < 0 ||
            (ret = st_index_file_trim(&seg->tidx)) < 0)
            return ret;
        /* closed segments keep only their mappings: one fd per segment, the .log */
        st_index_file_release_fd(&seg->oidx);
        st_index_file_release_fd(&seg->tidx);
    }
    seg->active = active;
    return 0;
}

int st_segment_flush(st_segment_t *seg)
{
    int ret = 0;
    if (fdatasync(seg->fd) < 0)
        ret = -errno;
    int r = st_index_file_sync(&seg->oidx);
    if (ret == 0)
        ret = r;
    r = st_index_file_sync(&seg->tidx);
    if (ret == 0)
        ret = r;
    return ret;
}

int64_t st_segment_truncate_to(st_segment_t *seg, int64_t offset, int32_t index_interval)
{
    uint32_t pos;
    st_batch_header_t hdr;
    int ret = st_segment_translate(seg, offset, seg->size, &pos, &hdr);
    if (ret < 0)
        return ret;
    if (ret == 0)
        return 0;   /* every batch is below offset */
    if (ftruncate(seg->fd, pos) < 0)
        return -errno;
    uint32_t removed = seg->size - pos;
    seg->size = pos;
    st_offset_index_truncate_to(&seg->oidx, offset);
    st_time_index_truncate_to(&seg->tidx, offset);

    /* Recompute what the removed batches may have changed, walking from the last index entry
     * (whose batch the kept time-index entries already cover). */
    int64_t ioff;
    uint32_t ipos;
    if (seg->oidx.entries > 0)
        st_offset_index_entry(&seg->oidx, seg->oidx.entries - 1, &ioff, &ipos);
    else
        ipos = 0;
    st_time_index_last(&seg->tidx, &seg->max_timestamp, &seg->offset_of_max_timestamp);
    seg->next_offset = seg->base_offset;
    seg->bytes_since_index = pos - ipos;
    st_seg_cursor_t *cur = malloc(sizeof(*cur));
    if (!cur)
        return -ENOMEM;
    st_seg_cursor_init(cur, seg, pos);
    uint32_t p = ipos;
    while ((ret = st_seg_cursor_header(cur, p, &hdr)) == 1) {
        if (hdr.max_timestamp > seg->max_timestamp) {
            seg->max_timestamp = hdr.max_timestamp;
            seg->offset_of_max_timestamp = st_batch_last_offset(&hdr);
        }
        seg->next_offset = st_batch_last_offset(&hdr) + 1;
        p += (uint32_t)st_batch_total_size(&hdr);
    }
    free(cur);
    if (ret < 0)
        return ret;
    if (seg->size == 0) {
        seg->rolling_timestamp = -1;
        seg->created_ms = st_log_now_ms();
    }
    (void)index_interval;
    assert(st_segment_check(seg));
    return removed;
}

static const char *const seg_exts[3] = { ".log", ".index", ".timeindex" };

int st_segment_delete_files(st_segment_t *seg, bool delay, char *ret_paths[3])
{
    const char *paths[3] = { seg->log_path, seg->oidx.path, seg->tidx.path };
    int ret = 0;
    for (int i = 0; i < 3; i++) {
        ret_paths[i] = NULL;
        if (!delay) {
            if (unlink(paths[i]) < 0 && errno != ENOENT && ret == 0)
                ret = -errno;
            continue;
        }
        char *del;
        if (asprintf(&del, "%s%s", paths[i], ST_DELETED_SUFFIX) < 0) {
            ret = -ENOMEM;
            continue;
        }
        if (rename(paths[i], del) < 0) {
            if (errno != ENOENT && ret == 0)
                ret = -errno;
            free(del);
            continue;
        }
        ret_paths[i] = del;
    }
    seg->deleted = true;
    return ret;
}

static int rename_one(st_segment_t *seg, const char *dir, int which, const char *from_suffix,
                      const char *to_suffix)
{
    char *from = st_segment_path(dir, seg->base_offset, seg_exts[which], from_suffix);
    char *to = st_segment_path(dir, seg->base_offset, seg_exts[which], to_suffix);
    int ret = 0;
    if (!from || !to)
        ret = -ENOMEM;
    else if (which == 0 && rename(from, to) < 0)
        ret = -errno;
    else if (which == 1)
        ret = st_index_file_rename(&seg->oidx, to);
    else if (which == 2)
        ret = st_index_file_rename(&seg->tidx, to);
    if (ret == 0 && which == 0) {
        free(seg->log_path);
        seg->log_path = to;
        to = NULL;
    }
    free(from);
    free(to);
    return ret;
}

int st_segment_rename(st_segment_t *seg, const char *dir, const char *from_suffix,
                      const char *to_suffix, bool log_first)
{
    static const int log_first_order[3] = { 0, 1, 2 }, log_last_order[3] = { 1, 2, 0 };
    const int *order = log_first ? log_first_order : log_last_order;
    for (int i = 0; i < 3; i++) {
        int ret = rename_one(seg, dir, order[i], from_suffix, to_suffix);
        if (ret < 0)
            return ret;
    }
    return 0;
}

bool st_segment_check(const st_segment_t *seg)
{
    char reason[160];
    if (atomic_load(&seg->refs) <= 0 || seg->size > INT32_MAX ||
        seg->next_offset < seg->base_offset || seg->next_offset - seg->base_offset - 1 > INT32_MAX)
        return false;
    if (seg->size == 0 && seg->next_offset != seg->base_offset)
        return false;
    if (st_offset_index_check(&seg->oidx, seg->size, seg->next_offset, false, reason,
                              sizeof(reason)) < 0 ||
        st_time_index_check(&seg->tidx, seg->next_offset, false, reason, sizeof(reason)) < 0) {
        ST_ERROR("%s: index invariant broken: %s", seg->log_path, reason);
        return false;
    }
    return true;
}
