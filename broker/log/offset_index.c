/* The sparse offset index (<base>.index), Kafka's format: 8-byte entries of a 4-byte offset
 * relative to the segment's base and the 4-byte position of a batch in the .log, big-endian.
 * An entry is written for a batch (its last offset, its position) once more than
 * log.index.interval.bytes were appended since the previous entry, so the first batch of a
 * segment never has one and every valid entry has a position > 0: a preallocated zero tail is
 * recognised by position 0.
 *
 * Invariants: offsets and positions strictly increase; every position lies inside the segment;
 * every offset is below the segment's next offset. Lookups are binary searches in the mapping. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log_internal.h"
#include "st_buf.h"

static inline uint32_t rel_at(const st_index_file_t *idx, uint32_t i)
{
    return st_be32(idx->map + (size_t)i * ST_OFFSET_INDEX_ENTRY);
}
static inline uint32_t pos_at(const st_index_file_t *idx, uint32_t i)
{
    return st_be32(idx->map + (size_t)i * ST_OFFSET_INDEX_ENTRY + 4);
}

int st_offset_index_load(st_index_file_t *idx)
{
    if (idx->map_len % ST_OFFSET_INDEX_ENTRY != 0)
        return -EBADMSG;
    uint32_t n = (uint32_t)(idx->map_len / ST_OFFSET_INDEX_ENTRY);
    /* first entry with position 0 = start of the zero tail; read with pread: the tail is a
     * sparse preallocation that the mapping must not touch (index_file.c) */
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint8_t e[ST_OFFSET_INDEX_ENTRY];
        int r = st_index_file_read_entry(idx, mid, e);
        if (r < 0)
            return r;
        if (st_be32(e + 4) != 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    idx->entries = lo;
    return 0;
}

static int check_entry(const st_index_file_t *idx, uint32_t i, uint32_t seg_size,
                       int64_t next_offset, char *reason, size_t reason_len)
{
    uint32_t rel = rel_at(idx, i), pos = pos_at(idx, i);
    if (pos == 0 || pos >= seg_size) {
        snprintf(reason, reason_len, "entry %" PRIu32 " position %" PRIu32
                 " outside the segment (size %" PRIu32 ")", i, pos, seg_size);
        return -EBADMSG;
    }
    if (rel > INT32_MAX || (next_offset >= 0 && idx->base_offset + rel >= next_offset)) {
        snprintf(reason, reason_len, "entry %" PRIu32 " offset %" PRId64
                 " past the segment's last offset %" PRId64, i, idx->base_offset + rel,
                 next_offset - 1);
        return -EBADMSG;
    }
    if (i > 0 && (rel <= rel_at(idx, i - 1) || pos <= pos_at(idx, i - 1))) {
        snprintf(reason, reason_len, "entry %" PRIu32 " (offset %" PRId64 ", position %" PRIu32
                 ") not above the previous one", i, idx->base_offset + rel, pos);
        return -EBADMSG;
    }
    return 0;
}

int st_offset_index_check(const st_index_file_t *idx, uint32_t seg_size, int64_t next_offset,
                          bool full, char *reason, size_t reason_len)
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
            if (check_entry(idx, i, seg_size, next_offset, reason, reason_len) < 0)
                return -EBADMSG;
        return 0;
    }
    if (check_entry(idx, 0, seg_size, next_offset, reason, reason_len) < 0 ||
        check_entry(idx, idx->entries - 1, seg_size, next_offset, reason, reason_len) < 0)
        return -EBADMSG;
    return 0;
}

void st_offset_index_entry(const st_index_file_t *idx, uint32_t i, int64_t *ret_offset,
                           uint32_t *ret_pos)
{
    *ret_offset = idx->base_offset + rel_at(idx, i);
    *ret_pos = pos_at(idx, i);
}

int st_offset_index_append(st_index_file_t *idx, int64_t offset, uint32_t pos)
{
    uint32_t i = idx->entries;
    assert(i < st_index_file_capacity(idx));
    assert(offset > idx->base_offset && offset - idx->base_offset <= INT32_MAX && pos > 0);
    assert(i == 0 || (offset > idx->base_offset + rel_at(idx, i - 1) && pos > pos_at(idx, i - 1)));
    int r = st_index_file_back(idx, i + 1);
    if (r < 0)
        return r;
    uint8_t *p = idx->map + (size_t)i * ST_OFFSET_INDEX_ENTRY;
    st_put_be32(p, (uint32_t)(offset - idx->base_offset));
    st_put_be32(p + 4, pos);
    idx->entries = i + 1;
    return 0;
}

/* Number of entries with relative offset <= rel. */
static uint32_t count_le(const st_index_file_t *idx, int64_t rel)
{
    uint32_t lo = 0, hi = idx->entries;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((int64_t)rel_at(idx, mid) <= rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void st_offset_index_lookup(const st_index_file_t *idx, int64_t target, int64_t *ret_offset,
                            uint32_t *ret_pos)
{
    int64_t rel = target - idx->base_offset;
    uint32_t n = rel < 0 ? 0 : count_le(idx, rel);
    if (n == 0) {
        *ret_offset = idx->base_offset;
        *ret_pos = 0;
        return;
    }
    st_offset_index_entry(idx, n - 1, ret_offset, ret_pos);
}

uint32_t st_offset_index_slot(const st_index_file_t *idx, int64_t target)
{
    int64_t rel = target - idx->base_offset;
    return rel < 0 ? 0 : count_le(idx, rel);
}

uint32_t st_offset_index_slot_pos(const st_index_file_t *idx, uint32_t target_pos)
{
    uint32_t lo = 0, hi = idx->entries;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pos_at(idx, mid) <= target_pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void st_offset_index_lookup_pos(const st_index_file_t *idx, uint32_t target_pos,
                                int64_t *ret_offset, uint32_t *ret_pos)
{
    uint32_t lo = st_offset_index_slot_pos(idx, target_pos);
    if (lo == 0) {
        *ret_offset = idx->base_offset;
        *ret_pos = 0;
        return;
    }
    st_offset_index_entry(idx, lo - 1, ret_offset, ret_pos);
}

void st_offset_index_truncate_to(st_index_file_t *idx, int64_t target)
{
    int64_t rel = target - idx->base_offset;
    uint32_t keep = rel <= 0 ? 0 : count_le(idx, rel - 1);
    if (keep >= idx->entries)
        return;
    memset(idx->map + (size_t)keep * ST_OFFSET_INDEX_ENTRY, 0,
           (size_t)(idx->entries - keep) * ST_OFFSET_INDEX_ENTRY);
    idx->entries = keep;
}
