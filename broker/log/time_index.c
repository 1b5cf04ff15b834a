/* The time index (<base>.timeindex), Kafka's format: 12-byte entries of an 8-byte timestamp and
 * the 4-byte offset (relative to the segment base) of the batch that carried it, big-endian.
 * An entry is added next to each offset-index entry when the segment's largest timestamp grew
 * (Kafka's maybeAppend), and once more when the segment is closed, so the last entry of a closed
 * segment holds its largest timestamp. A preallocated tail is all zeros.
 *
 * Invariants: timestamps strictly increase, offsets never decrease and stay below the segment's
 * next offset; one slot is always left for the closing entry. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log_internal.h"
#include "st_buf.h"

static inline int64_t ts_at(const st_index_file_t *idx, uint32_t i)
{
    return (int64_t)st_be64(idx->map + (size_t)i * ST_TIME_INDEX_ENTRY);
}
static inline uint32_t rel_at(const st_index_file_t *idx, uint32_t i)
{
    return st_be32(idx->map + (size_t)i * ST_TIME_INDEX_ENTRY + 8);
}

int st_time_index_load(st_index_file_t *idx)
{
    if (idx->map_len % ST_TIME_INDEX_ENTRY != 0)
        return -EBADMSG;
    uint32_t n = (uint32_t)(idx->map_len / ST_TIME_INDEX_ENTRY);
    /* pread only: the zero tail is sparse (index_file.c) */
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint8_t e[ST_TIME_INDEX_ENTRY];
        int r = st_index_file_read_entry(idx, mid, e);
        if (r < 0)
            return r;
        if (st_be64(e) != 0 || st_be32(e + 8) != 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    idx->entries = lo;
    return 0;
}

static int check_entry(const st_index_file_t *idx, uint32_t i, int64_t next_offset, char *reason,
                       size_t reason_len)
{
    int64_t ts = ts_at(idx, i);
    uint32_t rel = rel_at(idx, i);
    if (ts < 0 || rel > INT32_MAX ||
        (next_offset >= 0 && idx->base_offset + rel >= next_offset)) {
        snprintf(reason, reason_len, "entry %" PRIu32 " (timestamp %" PRId64 ", offset %" PRId64
                 ") invalid or past the segment's last offset %" PRId64, i, ts,
                 idx->base_offset + rel, next_offset - 1);
        return -EBADMSG;
    }
    if (i > 0 && (ts <= ts_at(idx, i - 1) || rel < rel_at(idx, i - 1))) {
        snprintf(reason, reason_len, "entry %" PRIu32 " (timestamp %" PRId64 ", offset %" PRId64
                 ") not above the previous one", i, ts, idx->base_offset + rel);
        return -EBADMSG;
    }
    return 0;
}

int st_time_index_check(const st_index_file_t *idx, int64_t next_offset, bool full,
                        char *reason, size_t reason_len)
{
    if (idx->entries > st_index_file_capacity(idx)) {
        snprintf(reason, reason_len, "%" PRIu32 " entries in a file of %zu bytes", idx->entries,
                 idx->map_len);
        return -EBADMSG;
    }
    if (idx->entries == 0)
        return 0;
    if (full) {
        for (uint32_t i = 0; i < idx->entries; i++)
            if (check_entry(idx, i, next_offset, reason, reason_len) < 0)
                return -EBADMSG;
        return 0;
    }
    if (check_entry(idx, 0, next_offset, reason, reason_len) < 0 ||
        check_entry(idx, idx->entries - 1, next_offset, reason, reason_len) < 0)
        return -EBADMSG;
    return 0;
}

void st_time_index_entry(const st_index_file_t *idx, uint32_t i, int64_t *ret_ts,
                         int64_t *ret_offset)
{
    *ret_ts = ts_at(idx, i);
    *ret_offset = idx->base_offset + rel_at(idx, i);
}

void st_time_index_last(const st_index_file_t *idx, int64_t *ret_ts, int64_t *ret_offset)
{
    if (idx->entries == 0) {
        *ret_ts = -1;
        *ret_offset = idx->base_offset;
        return;
    }
    st_time_index_entry(idx, idx->entries - 1, ret_ts, ret_offset);
}

int st_time_index_maybe_append(st_index_file_t *idx, int64_t timestamp, int64_t offset)
{
    int64_t last_ts, last_off;
    st_time_index_last(idx, &last_ts, &last_off);
    if (timestamp <= last_ts || idx->entries >= st_index_file_capacity(idx))
        return 0;
    assert(offset >= last_off && offset - idx->base_offset <= INT32_MAX);
    int r = st_index_file_back(idx, idx->entries + 1);
    if (r < 0)
        return r;
    uint8_t *p = idx->map + (size_t)idx->entries * ST_TIME_INDEX_ENTRY;
    st_put_be64(p, (uint64_t)timestamp);
    st_put_be32(p + 8, (uint32_t)(offset - idx->base_offset));
    idx->entries++;
    return 1;
}

void st_time_index_lookup(const st_index_file_t *idx, int64_t target, int64_t *ret_ts,
                          int64_t *ret_offset)
{
    uint32_t lo = 0, hi = idx->entries;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ts_at(idx, mid) <= target)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) {
        *ret_ts = -1;
        *ret_offset = idx->base_offset;
        return;
    }
    st_time_index_entry(idx, lo - 1, ret_ts, ret_offset);
}

void st_time_index_truncate_to(st_index_file_t *idx, int64_t target)
{
    int64_t rel = target - idx->base_offset;
    uint32_t lo = 0, hi = idx->entries;
    while (lo < hi) {   /* entries with offset < target */
        uint32_t mid = lo + (hi - lo) / 2;
        if ((int64_t)rel_at(idx, mid) < rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= idx->entries)
        return;
    memset(idx->map + (size_t)lo * ST_TIME_INDEX_ENTRY, 0,
           (size_t)(idx->entries - lo) * ST_TIME_INDEX_ENTRY);
    idx->entries = lo;
}
