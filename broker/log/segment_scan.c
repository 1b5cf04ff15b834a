/* Walking the batch headers of a segment file: read positioning (offset -> position, the last
 * whole batch under a byte budget, timestamp -> offset), loading a cleanly closed segment's tail,
 * and crash recovery (every batch read and CRC-checked, indexes rebuilt, a bad tail cut off).
 *
 * Positioning reads chunks of the file with pread(2) into a small buffer and decodes headers
 * from it: with the sparse index at most log.index.interval.bytes (plus one batch) separate the
 * index entry from the batch sought, so that is usually one read. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log_internal.h"
#include "st_logger.h"

static ssize_t pread_full(int fd, void *buf, size_t len, off_t pos)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, pos + (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

void st_seg_cursor_init(st_seg_cursor_t *cur, const st_segment_t *seg, uint32_t limit)
{
    cur->seg = seg;
    cur->limit = limit;
    cur->hint_end = 0;
    cur->big_batches = false;
    cur->buf_pos = 0;
    cur->buf_len = 0;
}

/* How much to read at pos: the whole expected window when it fits one chunk, a header alone
 * once batches are known to be big (one small pread per batch beats copying 4 KiB). */
static size_t read_size(const st_seg_cursor_t *cur, uint32_t pos)
{
    size_t want = cur->limit - pos;
    if (cur->big_batches)
        want = ST_BATCH_HEADER_SIZE;
    else if (cur->hint_end > pos && cur->hint_end - pos < want)
        want = cur->hint_end - pos;
    if (want < ST_BATCH_HEADER_SIZE)
        want = ST_BATCH_HEADER_SIZE;
    if (want > sizeof(cur->buf))
        want = sizeof(cur->buf);
    if (want > cur->limit - pos)
        want = cur->limit - pos;
    return want;
}

int st_seg_cursor_header(st_seg_cursor_t *cur, uint32_t pos, st_batch_header_t *ret_hdr)
{
    if (pos >= cur->limit)
        return pos == cur->limit ? 0 : -EINVAL;
    if (cur->limit - pos < ST_BATCH_HEADER_SIZE) {
        ST_ERROR("%s: partial batch header at byte position %" PRIu32 " (%" PRIu32
                 " bytes left)", cur->seg->log_path, pos, cur->limit - pos);
        return -EBADMSG;
    }
    if (pos < cur->buf_pos || pos + ST_BATCH_HEADER_SIZE > cur->buf_pos + cur->buf_len) {
        ssize_t n = pread_full(cur->seg->fd, cur->buf, read_size(cur, pos), pos);
        if (n < 0)
            return (int)n;
        if (n < ST_BATCH_HEADER_SIZE) {
            ST_ERROR("%s: file ends at byte position %" PRIu32 " inside a batch header",
                     cur->seg->log_path, pos + (uint32_t)n);
            return -EIO;
        }
        cur->buf_pos = pos;
        cur->buf_len = (uint32_t)n;
    }
    st_batch_header_t hdr;
    int ret = st_batch_header_decode(cur->buf + (pos - cur->buf_pos), ST_BATCH_HEADER_SIZE, &hdr);
    if (ret < 0)
        return ret;
    if (hdr.magic != ST_BATCH_MAGIC || hdr.batch_length < ST_BATCH_HEADER_SIZE - ST_BATCH_LOG_OVERHEAD ||
        hdr.last_offset_delta < 0 || st_batch_total_size(&hdr) > (size_t)(cur->limit - pos)) {
        ST_ERROR("%s: bad batch header at byte position %" PRIu32 " (magic %d, batchLength %" PRId32
                 ", %" PRIu32 " bytes left)", cur->seg->log_path, pos, hdr.magic,
                 hdr.batch_length, cur->limit - pos);
        return -EBADMSG;
    }
    if (st_batch_total_size(&hdr) > 2048)
        cur->big_batches = true;
    *ret_hdr = hdr;
    return 1;
}

int st_segment_translate(const st_segment_t *seg, int64_t offset, uint32_t limit,
                         uint32_t *ret_pos, st_batch_header_t *ret_hdr)
{
    const st_index_file_t *idx = &seg->oidx;
    uint32_t slot = st_offset_index_slot(idx, offset);
    int64_t ioff;
    uint32_t pos = 0, npos = 0;
    if (slot > 0)
        st_offset_index_entry(idx, slot - 1, &ioff, &pos);
    if (pos >= limit)
        pos = 0;
    st_seg_cursor_t cur;
    st_seg_cursor_init(&cur, seg, limit);
    st_batch_header_t hdr;
    int ret;
    if (slot < idx->entries) {
        /* the batch at the next entry ends above offset: the one sought starts at or before it */
        st_offset_index_entry(idx, slot, &ioff, &npos);
        if (npos > pos && npos < limit) {
            cur.hint_end = npos + ST_BATCH_HEADER_SIZE;
            if (npos - pos > ST_SEG_CURSOR_CHUNK) {
                /* too far for one read: with big batches it is usually that very batch */
                if ((ret = st_seg_cursor_header(&cur, npos, &hdr)) < 0)
                    return ret;
                if (ret == 1 && hdr.base_offset <= offset) {
                    *ret_pos = npos;
                    *ret_hdr = hdr;
                    return 1;
                }
            }
        }
    }
    while ((ret = st_seg_cursor_header(&cur, pos, &hdr)) == 1) {
        if (st_batch_last_offset(&hdr) >= offset) {
            *ret_pos = pos;
            *ret_hdr = hdr;
            return 1;
        }
        pos += (uint32_t)st_batch_total_size(&hdr);
    }
    return ret;
}

int st_segment_boundary_before(const st_segment_t *seg, uint32_t from_pos, uint32_t first_size,
                               uint64_t want_end, uint32_t limit, uint32_t *ret_end)
{
    if (want_end >= limit) {
        *ret_end = limit;
        return 0;
    }
    if ((uint64_t)from_pos + first_size > want_end) {
        *ret_end = from_pos;
        return 0;
    }
    const st_index_file_t *idx = &seg->oidx;
    uint32_t slot = st_offset_index_slot_pos(idx, (uint32_t)want_end);
    int64_t ioff;
    uint32_t pos = 0, npos;
    if (slot > 0)
        st_offset_index_entry(idx, slot - 1, &ioff, &pos);
    if (pos < from_pos)
        pos = from_pos;
    st_seg_cursor_t cur;
    st_seg_cursor_init(&cur, seg, limit);
    cur.hint_end = (uint32_t)want_end + ST_BATCH_HEADER_SIZE;
    if (slot < idx->entries) {
        st_offset_index_entry(idx, slot, &ioff, &npos);
        if (npos < want_end + ST_BATCH_HEADER_SIZE)
            cur.hint_end = npos + ST_BATCH_HEADER_SIZE;
    }
    if (first_size > 2048)
        cur.big_batches = true;
    st_batch_header_t hdr;
    int ret;
    while ((ret = st_seg_cursor_header(&cur, pos, &hdr)) == 1) {
        if (pos + st_batch_total_size(&hdr) > want_end)
            break;
        pos += (uint32_t)st_batch_total_size(&hdr);
    }
    if (ret < 0)
        return ret;
    *ret_end = pos;
    return 0;
}

int st_segment_find_timestamp(const st_segment_t *seg, int64_t ts, int64_t *ret_offset)
{
    int64_t its, ioff, off;
    uint32_t pos;
    st_time_index_lookup(&seg->tidx, ts, &its, &ioff);
    st_offset_index_lookup(&seg->oidx, ioff, &off, &pos);
    st_seg_cursor_t cur;
    st_seg_cursor_init(&cur, seg, seg->size);
    st_batch_header_t hdr;
    int ret;
    while ((ret = st_seg_cursor_header(&cur, pos, &hdr)) == 1) {
        if (hdr.max_timestamp >= ts) {
            *ret_offset = hdr.base_offset;
            return 1;
        }
        pos += (uint32_t)st_batch_total_size(&hdr);
    }
    return ret;
}

int st_segment_load_tail(st_segment_t *seg)
{
    st_seg_cursor_t cur;
    st_seg_cursor_init(&cur, seg, seg->size);
    st_batch_header_t hdr;
    int64_t max_ts, max_off, ioff, next = seg->base_offset;
    uint32_t pos = 0;
    int ret;
    if (seg->size > 0) {
        if ((ret = st_seg_cursor_header(&cur, 0, &hdr)) < 0)
            return ret;
        if (hdr.base_offset < seg->base_offset) {
            ST_ERROR("%s: first batch has offset %" PRId64 ", below the segment base",
                     seg->log_path, hdr.base_offset);
            return -EBADMSG;
        }
        seg->rolling_timestamp = hdr.max_timestamp >= 0 ? hdr.max_timestamp : -1;
    }
    if (seg->oidx.entries > 0)
        st_offset_index_entry(&seg->oidx, seg->oidx.entries - 1, &ioff, &pos);
    st_time_index_last(&seg->tidx, &max_ts, &max_off);
    uint32_t start = pos;
    while ((ret = st_seg_cursor_header(&cur, pos, &hdr)) == 1) {
        if (hdr.base_offset < next) {
            ST_ERROR("%s: batch at byte position %" PRIu32 " has offset %" PRId64
                     ", not above the previous batch", seg->log_path, pos, hdr.base_offset);
            return -EBADMSG;
        }
        if (hdr.max_timestamp > max_ts) {
            max_ts = hdr.max_timestamp;
            max_off = st_batch_last_offset(&hdr);
        }
        next = st_batch_last_offset(&hdr) + 1;
        pos += (uint32_t)st_batch_total_size(&hdr);
    }
    if (ret < 0)
        return ret;
    if (next - seg->base_offset - 1 > INT32_MAX)
        return -EBADMSG;
    seg->next_offset = next;
    seg->max_timestamp = max_ts;
    seg->offset_of_max_timestamp = max_off;
    seg->bytes_since_index = seg->size - start;
    return 0;
}

int st_seg_reader_init(st_seg_reader_t *r, int fd, uint32_t size)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    r->size = size;
    r->cap = size < (1u << 20) ? (size < 4096 ? 4096 : size) : (1u << 20);
    if (!(r->buf = malloc(r->cap)))
        return -ENOMEM;
    return 0;
}

void st_seg_reader_free(st_seg_reader_t *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Makes [pos, pos+need) available if the file has it; returns bytes available from pos. */
static ssize_t reader_ensure(st_seg_reader_t *r, uint32_t pos, size_t need)
{
    if (pos >= r->buf_pos && (uint64_t)pos + need <= (uint64_t)r->buf_pos + r->buf_len)
        return (ssize_t)(r->buf_pos + r->buf_len - pos);
    if (need > r->cap) {
        uint8_t *nb = realloc(r->buf, need);
        if (!nb)
            return -ENOMEM;
        r->buf = nb;
        r->cap = need;
    }
    size_t want = r->size - pos;
    if (want > r->cap)
        want = r->cap;
    ssize_t n = pread_full(r->fd, r->buf, want, pos);
    if (n < 0)
        return n;
    r->buf_pos = pos;
    r->buf_len = (uint32_t)n;
    return n;
}

int st_seg_reader_next(st_seg_reader_t *r, const uint8_t **ret_batch, st_batch_header_t *ret_hdr,
                       st_batch_error_t *err)
{
    if (r->pos >= r->size)
        return 0;
    ssize_t avail = reader_ensure(r, r->pos, ST_BATCH_HEADER_SIZE);
    if (avail < 0)
        return (int)avail;
    const uint8_t *p = r->buf + (r->pos - r->buf_pos);
    st_batch_header_t hdr;
    if (avail >= ST_BATCH_HEADER_SIZE && st_batch_header_decode(p, (size_t)avail, &hdr) == 0 &&
        hdr.batch_length >= 0 && st_batch_total_size(&hdr) > (size_t)avail &&
        st_batch_total_size(&hdr) <= (size_t)(r->size - r->pos)) {
        if ((avail = reader_ensure(r, r->pos, st_batch_total_size(&hdr))) < 0)
            return (int)avail;
        p = r->buf + (r->pos - r->buf_pos);
    }
    int ret = st_batch_validate(p, (size_t)avail, &hdr, err);
    if (ret < 0)
        return ret;
    *ret_batch = p;
    *ret_hdr = hdr;
    r->pos += (uint32_t)st_batch_total_size(&hdr);
    return 1;
}

int64_t st_segment_recover(st_segment_t *seg, const st_log_config_t *cfg)
{
    int ret;
    if (!seg->active) {
        /* a trimmed index must grow back to be rebuilt */
        size_t max = (size_t)cfg->index_max_bytes;
        if ((ret = st_index_file_resize(&seg->oidx, max)) < 0 ||
            (ret = st_index_file_resize(&seg->tidx, max)) < 0)
            return ret;
    }
    st_index_file_reset(&seg->oidx);
    st_index_file_reset(&seg->tidx);
    seg->next_offset = seg->base_offset;
    seg->max_timestamp = -1;
    seg->offset_of_max_timestamp = seg->base_offset;
    seg->rolling_timestamp = -1;
    seg->bytes_since_index = 0;

    st_seg_reader_t r;
    if ((ret = st_seg_reader_init(&r, seg->fd, seg->size)) < 0)
        return ret;
    uint32_t pos = 0;
    char reason[200];
    reason[0] = '\0';
    for (;;) {
        const uint8_t *batch;
        st_batch_header_t hdr;
        st_batch_error_t err;
        pos = r.pos;
        ret = st_seg_reader_next(&r, &batch, &hdr, &err);
        if (ret == 0)
            break;
        if (ret == -EAGAIN) {
            snprintf(reason, sizeof(reason), "torn batch: only %" PRIu32 " bytes left",
                     seg->size - pos);
            break;
        }
        if (ret == -EBADMSG || ret == -ENOTSUP) {
            snprintf(reason, sizeof(reason), "%s", err.reason);
            break;
        }
        if (ret < 0) {
            st_seg_reader_free(&r);
            return ret;
        }
        if (hdr.base_offset < seg->next_offset ||
            st_batch_last_offset(&hdr) - seg->base_offset > INT32_MAX) {
            snprintf(reason, sizeof(reason), "batch offset %" PRId64 " out of order (expected >= %"
                     PRId64 ")", hdr.base_offset, seg->next_offset);
            break;
        }
        if ((ret = st_segment_index_batch(seg, &hdr, pos, cfg->index_interval_bytes)) < 0) {
            /* no storage for the rebuilt index (a full disk): the caller reports it */
            st_seg_reader_free(&r);
            return ret;
        }
        pos = r.pos;
    }
    st_seg_reader_free(&r);

    int64_t truncated = 0;
    if (pos < seg->size) {
        ST_WARN("%s: corrupt or torn batch at byte position %" PRIu32 ": %s; truncating %" PRIu32
                " bytes (the log ends at offset %" PRId64 ")", seg->log_path, pos, reason,
                seg->size - pos, seg->next_offset);
        if (ftruncate(seg->fd, pos) < 0)
            return -errno;
        truncated = seg->size - pos;
        seg->size = pos;
    }
    /* An inactive segment's indexes stay grown until the caller sets every segment's state
     * (st_log_load_segments): trimming here would also write the closing time-index entry,
     * which the last segment, staying active, must not get, and which could need a new index
     * page where the disk has none. */
    assert(st_segment_check(seg));
    return truncated;
}
