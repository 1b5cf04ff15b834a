/* Loading a partition directory at open, and crash recovery.
 *
 * First the leftovers of interrupted operations are settled:
 *   *.deleted             segments removed by retention/truncation: unlinked
 *   *.cleaned             a compaction that had not committed: unlinked (the original stands)
 *   <base>.log.swap       a compaction that had committed: renamed over <base>.log and that
 *                         segment's indexes rebuilt (index *.swap files are simply dropped)
 *   *.tmp                 half-written checkpoints: unlinked
 *   .index/.timeindex without a .log: unlinked
 * Then every <20-digit base>.log is opened. After a clean shutdown each segment's indexes are
 * sanity-checked and only the tail after the last index entry is read. Otherwise every segment
 * from the one holding the recovery point on is recovered (st_segment_recover: each batch
 * CRC-checked, indexes rebuilt, a torn or corrupt tail truncated); once a segment had to be
 * truncated, every later segment is deleted, since nothing after a torn point may be served.
 * Segments below the recovery point whose indexes are missing or fail the check are recovered
 * too. */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log_internal.h"
#include "st_logger.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* "<20 digits><ext>" exactly: returns the base offset or -1. */
static int64_t parse_segment_name(const char *name, const char *ext)
{
    size_t n = strlen(name), m = strlen(ext);
    if (n != 20 + m || memcmp(name + 20, ext, m) != 0)
        return -1;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (!isdigit((unsigned char)name[i]))
            return -1;
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

typedef struct base_list {
    int64_t *v;
    size_t n, cap;
} base_list_t;

static int base_list_add(base_list_t *l, int64_t base)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int64_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = base;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool base_list_has(const base_list_t *l, int64_t base)
{
    return l->n > 0 && bsearch(&base, l->v, l->n, sizeof(int64_t), cmp_i64) != NULL;
}

static void unlink_at(const char *dir, const char *name, const char *why)
{
    char *path;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return;
    if (unlink(path) == 0)
        ST_INFO("Deleted %s (%s)", path, why);
    free(path);
}

/* Settles leftovers and lists the segment bases (sorted, unique) in *segs; bases of segments
 * completed from a swap file go to *rebuild. */
static int scan_dir(const char *dir, base_list_t *segs, base_list_t *rebuild)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    base_list_t swaps = { 0 }, indexes = { 0 };
    int ret = 0;
    struct dirent *de;
    char **names = NULL;
    size_t nnames = 0, names_cap = 0;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (name[0] == '.')
            continue;
        if (ends_with(name, ST_DELETED_SUFFIX) || ends_with(name, ST_CLEANED_SUFFIX) ||
            ends_with(name, ".tmp")) {
            unlink_at(dir, name, "left over from an interrupted operation");
            continue;
        }
        int64_t base;
        if ((base = parse_segment_name(name, ".log" ST_SWAP_SUFFIX)) >= 0) {
            if ((ret = base_list_add(&swaps, base)) < 0)
                break;
            continue;
        }
        if (ends_with(name, ST_SWAP_SUFFIX)) {
            unlink_at(dir, name, "index of a swapped segment, rebuilt");
            continue;
        }
        if ((base = parse_segment_name(name, ".log")) >= 0) {
            if ((ret = base_list_add(segs, base)) < 0)
                break;
            continue;
        }
        if (parse_segment_name(name, ".index") >= 0 || parse_segment_name(name, ".timeindex") >= 0) {
            /* checked against the segments once all are known */
            if (nnames == names_cap) {
                names_cap = names_cap ? names_cap * 2 : 64;
                char **nn = realloc(names, names_cap * sizeof(*nn));
                if (!nn) {
                    ret = -ENOMEM;
                    break;
                }
                names = nn;
            }
            if (!(names[nnames] = strdup(name))) {
                ret = -ENOMEM;
                break;
            }
            nnames++;
        }
    }
    closedir(d);

    for (size_t i = 0; ret == 0 && i < swaps.n; i++) {
        int64_t base = swaps.v[i];
        char *from = st_segment_path(dir, base, ".log", ST_SWAP_SUFFIX);
        char *to = st_segment_path(dir, base, ".log", NULL);
        char *oi = st_segment_path(dir, base, ".index", NULL);
        char *ti = st_segment_path(dir, base, ".timeindex", NULL);
        if (!from || !to || !oi || !ti) {
            ret = -ENOMEM;
        } else {
            unlink(oi);
            unlink(ti);
            if (rename(from, to) < 0) {
                ret = -errno;
                ST_ERROR("%s: completing an interrupted compaction swap: %s", from, strerror(errno));
            } else {
                ST_INFO("Completed the interrupted compaction swap of %s", to);
                bool known = false;
                for (size_t k = 0; k < segs->n; k++)
                    known |= segs->v[k] == base;
                if (!known)
                    ret = base_list_add(segs, base);
                if (ret == 0)
                    ret = base_list_add(rebuild, base);
            }
        }
        free(from);
        free(to);
        free(oi);
        free(ti);
    }
    if (ret == 0) {
        if (segs->n > 1)
            qsort(segs->v, segs->n, sizeof(int64_t), cmp_i64);
        if (rebuild->n > 1)
            qsort(rebuild->v, rebuild->n, sizeof(int64_t), cmp_i64);
        for (size_t i = 0; i < nnames; i++) {
            int64_t base = parse_segment_name(names[i], ".index");
            if (base < 0)
                base = parse_segment_name(names[i], ".timeindex");
            if (!base_list_has(segs, base))
                unlink_at(dir, names[i], "index without a .log");
        }
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    free(swaps.v);
    free(indexes.v);
    return ret;
}

/* A segment loaded after a clean shutdown (or below the recovery point): indexes checked, tail
 * read. Falls back to a full recovery when anything is off. */
static int64_t load_segment(st_log_t *log, st_segment_t *seg, bool index_ok, bool *ret_recovered)
{
    char reason[200];
    *ret_recovered = false;
    if (index_ok &&
        st_offset_index_check(&seg->oidx, seg->size, -1, false, reason, sizeof(reason)) < 0) {
        ST_WARN("%s: corrupt index (%s); rebuilding it", seg->oidx.path, reason);
        index_ok = false;
    }
    if (index_ok && st_segment_load_tail(seg) < 0) {
        ST_WARN("%s: unreadable tail after the last index entry; recovering the segment",
                seg->log_path);
        index_ok = false;
    }
    if (index_ok &&
        st_time_index_check(&seg->tidx, seg->next_offset, false, reason, sizeof(reason)) < 0) {
        ST_WARN("%s: corrupt time index (%s); rebuilding it", seg->tidx.path, reason);
        index_ok = false;
    }
    if (index_ok)
        return 0;
    *ret_recovered = true;
    return st_segment_recover(seg, &log->cfg);
}

int st_log_load_segments(st_log_t *log, int64_t recovery_point, bool clean)
{
    base_list_t bases = { 0 }, rebuild = { 0 };
    int ret = scan_dir(log->dir, &bases, &rebuild);
    if (ret < 0)
        goto out;

    /* open them all first: the recovery start is the segment holding the recovery point */
    bool *index_ok = calloc(bases.n + 1, sizeof(bool));
    if (!index_ok) {
        ret = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < bases.n; i++) {
        st_segment_t *seg;
        if ((ret = st_segment_open(log->dir, bases.v[i], &log->cfg, &seg, &index_ok[i])) < 0) {
            ST_ERROR("%s/%020" PRId64 ".log: cannot open: %s", log->dir, bases.v[i],
                     strerror(-ret));
            break;
        }
        if (base_list_has(&rebuild, bases.v[i]))
            index_ok[i] = false;
        if ((ret = st_log_segs_push(log, seg)) < 0) {
            st_segment_unref(seg);
            break;
        }
    }
    size_t recover_from = clean ? log->nsegs : st_log_floor_segment(log, recovery_point);
    size_t n_recovered = 0;
    int64_t bytes_cut = 0;
    for (size_t i = 0; ret == 0 && i < log->nsegs; i++) {
        st_segment_t *seg = log->segs[i];
        size_t before = seg->size;
        int64_t truncated;
        bool full = i >= recover_from;
        if (full)
            truncated = st_segment_recover(seg, &log->cfg);
        else
            truncated = load_segment(log, seg, index_ok[i], &full);
        if (truncated < 0) {
            ret = (int)truncated;
            ST_ERROR("%s: %s failed: %s", seg->log_path, full ? "recovery" : "loading",
                     strerror(-ret));
            break;
        }
        if (full) {
            n_recovered++;
            bytes_cut += truncated;
            ST_DEBUG("%s: recovered, %zu bytes of batches checked", seg->log_path, before);
        }
        bool cut = truncated > 0 && i >= recover_from;
        if (i > 0 && log->segs[i - 1]->next_offset > seg->base_offset) {
            ST_WARN("%s: overlaps the previous segment (which ends at offset %" PRId64
                    "); deleting it and every later segment", seg->log_path,
                    log->segs[i - 1]->next_offset - 1);
            cut = true;
            i--;   /* delete from this one on */
        } else if (truncated > 0 && !cut) {
            ST_WARN("%s: a segment below the recovery point was cut; its offsets from %" PRId64
                    " are lost", seg->log_path, seg->next_offset);
        }
        if (cut && i + 1 < log->nsegs) {
            ST_WARN("%s: the log was cut at a torn or corrupt batch; deleting the %zu later "
                    "segment(s)", log->dir, log->nsegs - i - 1);
            while (log->nsegs > i + 1)
                st_log_remove_segment_locked(log, log->nsegs - 1);
        }
    }
    free(index_ok);
    /* size_bytes was summed at push time: recount after truncations */
    log->size_bytes = 0;
    for (size_t i = 0; i < log->nsegs; i++)
        log->size_bytes += log->segs[i]->size;
    if (ret < 0)
        goto out;

    if (log->nsegs == 0) {
        st_segment_t *seg;
        if ((ret = st_segment_create(log->dir, 0, NULL, &log->cfg, &seg)) < 0)
            goto out;
        if ((ret = st_log_segs_push(log, seg)) < 0) {
            st_segment_unref(seg);
            goto out;
        }
    }
    for (size_t i = 0; i < log->nsegs; i++) {
        bool active = i == log->nsegs - 1;
        if ((ret = st_segment_set_active(log->segs[i], active, &log->cfg)) < 0) {
            ST_ERROR("%s: %s the indexes: %s", log->segs[i]->log_path,
                     active ? "preallocating" : "trimming", strerror(-ret));
            goto out;
        }
    }
    st_segment_t *active = log->segs[log->nsegs - 1];
    log->log_start = log->segs[0]->base_offset;
    log->log_end = active->next_offset;
    log->recovery_point = clean ? log->log_end
                                : (recovery_point < log->log_end ? recovery_point : log->log_end);
    if (log->recovery_point < log->log_start)
        log->recovery_point = log->log_start;
    /* A log just created (its directory made by st_log_open) has nothing to load: the log
     * manager says "Created log" instead. */
    if (!log->created) {
        char how[160] = " (clean shutdown)";
        if (!clean && n_recovered == 0)
            snprintf(how, sizeof(how), " (no segment past the recovery point)");
        else if (!clean)
            snprintf(how, sizeof(how), " (recovered %zu segment(s) from the recovery point; %"
                     PRId64 " bytes of torn or corrupt batches cut)", n_recovered, bytes_cut);
        ST_INFO("Loaded log %s: %zu segment(s), log start offset %" PRId64 " and log end offset %"
                PRId64 ", recovery point %" PRId64 "%s", log->dir, log->nsegs, log->log_start,
                log->log_end, log->recovery_point, how);
    }
out:
    free(bases.v);
    free(rebuild.v);
    return ret;
}
