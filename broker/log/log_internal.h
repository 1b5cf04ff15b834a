/* Internal structures of the storage engine, shared by the files of broker/log/ only.
 *
 *   index_file.c    an mmap'd, preallocated file of fixed-size entries (both indexes use it)
 *   offset_index.c  the sparse .index: offset -> position
 *   time_index.c    the .timeindex: timestamp -> offset
 *   segment.c       one .log file with its two indexes, refcounted
 *   segment_scan.c  walking batch headers in a segment file (positioning, recovery)
 *   log.c           st_log_t: append, read, roll, truncate, flush (the public API)
 *   log_recovery.c  loading a partition directory at open, crash recovery
 *   log_cleaner.c   retention and compaction
 *   leader_epoch.c  the leader-epoch cache and its checkpoint
 *   checkpoint.c    Kafka's checkpoint and meta.properties file formats
 *   log_manager.c   all partitions of all log dirs */
#ifndef ST_LOG_INTERNAL_H
#define ST_LOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "st_batch.h"
#include "st_checkpoint.h"
#include "st_log.h"

#define ST_OFFSET_INDEX_ENTRY 8    /* 4-byte relative offset + 4-byte position */
#define ST_TIME_INDEX_ENTRY   12   /* 8-byte timestamp + 4-byte relative offset */

/* Suffix added to files of a segment being deleted (file.delete.delay.ms). */
#define ST_DELETED_SUFFIX ".deleted"
#define ST_CLEANED_SUFFIX ".cleaned"
#define ST_SWAP_SUFFIX    ".swap"

int64_t st_log_now_ms(void);
/* pwrite(2) until done (EINTR and short writes retried). */
int st_pwrite_full(int fd, const void *buf, size_t len, off_t pos);

/* ---- index_file.c ----------------------------------------------------------------------------- */

/* A file of fixed-size entries, mapped MAP_SHARED over its whole length. The descriptor is kept
 * only while the segment is active (resizes); its mapping is all reads and appends need. */
typedef struct st_index_file {
    char *path;
    int fd;                /* kept open while the segment is active (resizes), else -1 */
    pthread_mutex_t lock;  /* remaps (resize) vs msync from a flush outside the log mutex */
    uint8_t *map;          /* NULL when map_len == 0 */
    size_t map_len;        /* bytes mapped == file length */
    size_t backed;         /* bytes from the start known to have storage (index_file.c) */
    size_t entry_size;
    uint32_t entries;      /* valid entries at the start of the map */
    int64_t base_offset;
} st_index_file_t;

/* Opens path (creating it empty if `create`), maps its current length. -ENOENT if missing and
 * !create. entries is left at 0: the caller decides how many are valid. */
int st_index_file_open(st_index_file_t *idx, const char *path, size_t entry_size,
                       int64_t base_offset, bool create);
/* Changes the file length to `bytes` rounded down to whole entries and remaps it. */
int st_index_file_resize(st_index_file_t *idx, size_t bytes);
/* Gives storage to the first `entries` entries (posix_fallocate, in chunks) so that writing
 * them through the mapping cannot fault: 0, or -ENOSPC / -EIO ... (nothing was touched).
 * -EINVAL if that is past the file's length. */
int st_index_file_back(st_index_file_t *idx, uint32_t entries);
/* Reads entry i with pread(2), never through the mapping (a sparse page read through a
 * MAP_SHARED mapping of a full tmpfs is a SIGBUS): for loading. */
int st_index_file_read_entry(const st_index_file_t *idx, uint32_t i, uint8_t *buf);
/* Resizes to exactly the valid entries. */
int st_index_file_trim(st_index_file_t *idx);
/* Zeroes every entry and sets entries = 0 (rebuild). */
void st_index_file_reset(st_index_file_t *idx);
/* msync of the valid entries. */
int st_index_file_sync(st_index_file_t *idx);
/* Closes the descriptor (the mapping stays). */
void st_index_file_release_fd(st_index_file_t *idx);
/* Renames the file on disk (compaction swaps). */
int st_index_file_rename(st_index_file_t *idx, const char *new_path);
void st_index_file_close(st_index_file_t *idx);
static inline uint32_t st_index_file_capacity(const st_index_file_t *idx)
{
    return (uint32_t)(idx->map_len / idx->entry_size);
}

/* ---- offset_index.c --------------------------------------------------------------------------- */

/* Finds the valid entries of a freshly opened index (a preallocated tail is zeros), reading
 * with pread only. -EBADMSG if the length is not whole entries, -errno on read errors. */
int st_offset_index_load(st_index_file_t *idx);
/* 0, or -EBADMSG with reason: entries strictly increasing in offset and position, positions
 * < seg_size, offsets < next_offset (when next_offset >= 0). full: check every entry (else the
 * first and last). */
int st_offset_index_check(const st_index_file_t *idx, uint32_t seg_size, int64_t next_offset,
                          bool full, char *reason, size_t reason_len);
void st_offset_index_entry(const st_index_file_t *idx, uint32_t i, int64_t *ret_offset,
                           uint32_t *ret_pos);
/* Appends (offset, pos); both must be above the last entry and the index not full. 0, or the
 * error of backing the entry's page (st_index_file_back): then nothing was appended. */
int st_offset_index_append(st_index_file_t *idx, int64_t offset, uint32_t pos);
/* Largest entry with offset <= target; (base_offset, 0) if none. */
void st_offset_index_lookup(const st_index_file_t *idx, int64_t target, int64_t *ret_offset,
                            uint32_t *ret_pos);
/* Number of entries with offset <= target (the next entry, if any, is above target). */
uint32_t st_offset_index_slot(const st_index_file_t *idx, int64_t target);
/* Number of entries with position <= target_pos. */
uint32_t st_offset_index_slot_pos(const st_index_file_t *idx, uint32_t target_pos);
/* Largest entry with position <= target_pos; (base_offset, 0) if none. */
void st_offset_index_lookup_pos(const st_index_file_t *idx, uint32_t target_pos,
                                int64_t *ret_offset, uint32_t *ret_pos);
/* Drops entries with offset >= target (zeroing them). */
void st_offset_index_truncate_to(st_index_file_t *idx, int64_t target);
static inline bool st_offset_index_full(const st_index_file_t *idx)
{
    return idx->entries >= st_index_file_capacity(idx);
}

/* ---- time_index.c ----------------------------------------------------------------------------- */

int st_time_index_load(st_index_file_t *idx);
/* Timestamps strictly increasing, offsets non-decreasing and < next_offset (if >= 0). */
int st_time_index_check(const st_index_file_t *idx, int64_t next_offset, bool full,
                        char *reason, size_t reason_len);
void st_time_index_entry(const st_index_file_t *idx, uint32_t i, int64_t *ret_ts,
                         int64_t *ret_offset);
/* Kafka's maybeAppend: only if timestamp > the last entry's and a slot is free. 1 appended,
 * 0 not, or the error of backing the entry's page (nothing appended). */
int st_time_index_maybe_append(st_index_file_t *idx, int64_t timestamp, int64_t offset);
/* Largest entry with timestamp <= target; (-1, base_offset) if none. */
void st_time_index_lookup(const st_index_file_t *idx, int64_t target, int64_t *ret_ts,
                          int64_t *ret_offset);
void st_time_index_truncate_to(st_index_file_t *idx, int64_t target);
/* The last entry, or (-1, base_offset). */
void st_time_index_last(const st_index_file_t *idx, int64_t *ret_ts, int64_t *ret_offset);
static inline bool st_time_index_full(const st_index_file_t *idx)
{
    /* one slot is kept for the final entry appended when the segment is closed */
    return idx->entries + 1 >= st_index_file_capacity(idx);
}

/* ---- segment.c -------------------------------------------------------------------------------- */

struct st_segment {
    atomic_int refs;            /* the log holds one; each slice one */
    int fd;                     /* the .log file, O_RDWR */
    int64_t base_offset;
    char *log_path;             /* <dir>/<base>.log[suffix] */
    uint32_t size;              /* bytes of whole batches */
    int64_t next_offset;        /* last offset of the last batch + 1 (base_offset if empty) */
    int64_t max_timestamp;      /* largest batch maxTimestamp, -1 if none */
    int64_t offset_of_max_timestamp;
    int64_t rolling_timestamp;  /* first batch's maxTimestamp (-1 none): log.roll.ms */
    int64_t created_ms;         /* wall clock at creation/open: log.roll.ms without timestamps */
    uint32_t bytes_since_index; /* bytes appended since the last index entry */
    bool active;                /* indexes preallocated to index_max_bytes */
    bool deleted;               /* removed from the log; files renamed or unlinked */
    st_index_file_t oidx;
    st_index_file_t tidx;
};

/* The three paths of a segment: <dir>/<20-digit base><ext><suffix>. */
char *st_segment_path(const char *dir, int64_t base_offset, const char *ext, const char *suffix);

/* Creates an empty segment (files truncated if present) with indexes preallocated. */
int st_segment_create(const char *dir, int64_t base_offset, const char *suffix,
                      const st_log_config_t *cfg, st_segment_t **ret_seg);
/* Opens an existing segment. *ret_index_ok = false when an index was missing or failed to load
 * (the caller rebuilds it with st_segment_recover). */
int st_segment_open(const char *dir, int64_t base_offset, const st_log_config_t *cfg,
                    st_segment_t **ret_seg, bool *ret_index_ok);
void st_segment_ref(st_segment_t *seg);
void st_segment_unref(st_segment_t *seg);

/* Index bookkeeping after `len` bytes of batches were written at position `pos` (Kafka's rule:
 * an entry for a batch once more than index_interval bytes were written since the last one).
 * 0, or the error of backing an index page (the segment's counters are updated all the same;
 * the entry is missing, which only makes the sparse index sparser). Callers that must not
 * fail after writing call st_segment_reserve_index first. */
int st_segment_index_batch(st_segment_t *seg, const st_batch_header_t *hdr, uint32_t pos,
                           int32_t index_interval);
/* Backs the index pages that appending `batches` more batches may write (one offset and one
 * time index entry per batch at most, and the closing time index entry): called before the
 * batches are written, so that a full disk fails the append before any byte of it is on disk.
 * 0 or -errno (-ENOSPC on a full disk). */
int st_segment_reserve_index(st_segment_t *seg, uint32_t batches);
/* Preallocates (active) or trims (inactive) the indexes; trimming first writes the final
 * time-index entry (max timestamp so far), as Kafka does at roll and close. */
int st_segment_set_active(st_segment_t *seg, bool active, const st_log_config_t *cfg);
/* fsync of the .log and msync of both indexes. */
int st_segment_flush(st_segment_t *seg);
/* Drops every batch at and above `offset` (the batch containing it included), and index entries
 * >= offset. Recomputes next_offset and max timestamp. Returns bytes removed or -errno. */
int64_t st_segment_truncate_to(st_segment_t *seg, int64_t offset, int32_t index_interval);
/* Removes the files: renames them *.deleted (returns their new paths in ret_paths[3], to be
 * unlinked later) when delay, else unlinks them. Marks the segment deleted. The fd and maps stay
 * valid until the last reference goes. */
int st_segment_delete_files(st_segment_t *seg, bool delay, char *ret_paths[3]);
/* Renames the segment's three files from <name><from_suffix> to <name><to_suffix>, the .log
 * first or last (compaction commits on the .log: see log_cleaner.c). */
int st_segment_rename(st_segment_t *seg, const char *dir, const char *from_suffix,
                      const char *to_suffix, bool log_first);
/* Appends whole batches (already stamped) at the end and indexes them. */
int st_segment_append_raw(st_segment_t *seg, const void *buf, size_t len, int32_t index_interval);
bool st_segment_check(const st_segment_t *seg);

/* ---- segment_scan.c --------------------------------------------------------------------------- */

/* A cursor over the batch headers of one segment file, reading chunks with pread. */
#define ST_SEG_CURSOR_CHUNK (4096 + 128)

typedef struct st_seg_cursor {
    const st_segment_t *seg;
    uint32_t limit;             /* never reads at or past this position */
    uint32_t hint_end;          /* bytes past this are not expected to be needed (0: none) */
    bool big_batches;           /* a batch > 2 KiB was seen: read headers only */
    uint32_t buf_pos;           /* file position of buf[0] */
    uint32_t buf_len;
    uint8_t buf[ST_SEG_CURSOR_CHUNK];
} st_seg_cursor_t;

void st_seg_cursor_init(st_seg_cursor_t *cur, const st_segment_t *seg, uint32_t limit);
/* Header of the batch at pos. 1 = got it; 0 = pos == limit (end); -EBADMSG = a header that
 * cannot be right (logged with file and position); -EIO etc. on read errors. */
int st_seg_cursor_header(st_seg_cursor_t *cur, uint32_t pos, st_batch_header_t *ret_hdr);

/* Sequential reading of whole, CRC-checked batches (recovery, compaction, dump). */
typedef struct st_seg_reader {
    int fd;
    uint32_t size;              /* reads stop here */
    uint32_t pos;               /* next batch */
    uint8_t *buf;
    size_t cap;
    uint32_t buf_pos, buf_len;
} st_seg_reader_t;

int st_seg_reader_init(st_seg_reader_t *r, int fd, uint32_t size);
void st_seg_reader_free(st_seg_reader_t *r);
/* 1 = the batch that was at r->pos, validated (st_batch_validate), in *ret_batch (valid until
 * the next call) and r->pos moved past it; 0 = end; -EAGAIN = a torn tail; -EBADMSG / -ENOTSUP
 * = corrupt (err says why); other -errno on read errors. */
int st_seg_reader_next(st_seg_reader_t *r, const uint8_t **ret_batch, st_batch_header_t *ret_hdr,
                       st_batch_error_t *err);

/* Position and header of the first batch whose last offset >= offset, starting at the index
 * entry below it. 1 found, 0 none in this segment (offset past its batches), <0 error. */
int st_segment_translate(const st_segment_t *seg, int64_t offset, uint32_t limit,
                         uint32_t *ret_pos, st_batch_header_t *ret_hdr);
/* The largest batch boundary <= want_end, walking from from_pos (a boundary, where a batch of
 * first_size bytes starts); limit caps it. */
int st_segment_boundary_before(const st_segment_t *seg, uint32_t from_pos, uint32_t first_size,
                               uint64_t want_end, uint32_t limit, uint32_t *ret_end);
/* First batch with maxTimestamp >= ts: its base offset. 1 found, 0 none, <0 error. */
int st_segment_find_timestamp(const st_segment_t *seg, int64_t ts, int64_t *ret_offset);
/* Recomputes next_offset, max timestamp and bytes_since_index by walking the batches after the
 * last index entry (opening a clean segment). */
int st_segment_load_tail(st_segment_t *seg);
/* Crash recovery of one segment: reads every batch, checks it with st_batch_validate and that
 * offsets only grow (from the segment's base on), rebuilds both indexes, truncates a torn or
 * corrupt tail (ST_WARN naming file and position). The indexes are left grown: the caller
 * then makes the segment active or closed (st_segment_set_active). Returns bytes truncated
 * (>= 0) or -errno (-ENOSPC: no storage for a rebuilt index page). */
int64_t st_segment_recover(st_segment_t *seg, const st_log_config_t *cfg);

/* ---- leader_epoch.c --------------------------------------------------------------------------- */

typedef struct st_epoch_cache {
    char *path;                 /* leader-epoch-checkpoint */
    st_epoch_entry_t *entries;  /* epochs and start offsets strictly increasing */
    size_t n, cap;
} st_epoch_cache_t;

int st_epoch_cache_load(st_epoch_cache_t *cache, const char *path);
void st_epoch_cache_free(st_epoch_cache_t *cache);
int32_t st_epoch_cache_latest(const st_epoch_cache_t *cache);
/* Kafka's assign: drops entries with epoch >= epoch or start >= start_offset, appends, writes
 * the checkpoint. No-op when it would change nothing. */
int st_epoch_cache_assign(st_epoch_cache_t *cache, int32_t epoch, int64_t start_offset);
/* Drops entries starting at or after end_offset. */
int st_epoch_cache_truncate_from_end(st_epoch_cache_t *cache, int64_t end_offset);
/* Drops entries wholly below start_offset; the one covering it starts at start_offset. */
int st_epoch_cache_truncate_from_start(st_epoch_cache_t *cache, int64_t start_offset);
int st_epoch_cache_clear(st_epoch_cache_t *cache);
int64_t st_epoch_cache_end_offset_for(const st_epoch_cache_t *cache, int32_t epoch,
                                      int64_t log_end, int32_t *ret_epoch);

/* ---- log.c / log_recovery.c / log_cleaner.c --------------------------------------------------- */

typedef struct st_pending_delete {
    char *paths[3];
    int64_t deadline_ms;
} st_pending_delete_t;

struct st_log {
    pthread_mutex_t lock;       /* everything below */
    char *dir;
    char *topic;
    int32_t partition;
    st_log_config_t cfg;

    st_segment_t **segs;        /* sorted by base offset; the last one is active */
    int64_t *bases;             /* bases[i] == segs[i]->base_offset, for the binary search */
    size_t nsegs, segs_cap;

    int64_t log_start;
    int64_t log_end;
    int64_t recovery_point;
    size_t size_bytes;          /* sum of segment sizes */

    int64_t unflushed_messages;
    int64_t last_flush_ms;
    int64_t roll_flush_upto;    /* a roll asked for a flush up to here (-1 none) */
    uint64_t truncations;       /* bumped by every truncation (a flush in flight rechecks) */

    st_epoch_cache_t epochs;

    st_pending_delete_t *pending;
    size_t npending, pending_cap;

    /* storage failures (st_log_fail; read lock-free) */
    atomic_bool failed;             /* this log met an I/O error: offline */
    const atomic_bool *dir_offline; /* its log dir's flag (the log manager's), or NULL */
    st_log_failure_fn *on_failure;  /* set once, before the log is shared */
    void *failure_arg;
    bool created;                   /* the directory was made by st_log_open (a new log) */

    pthread_mutex_t cleaner_lock;   /* one compaction at a time */
    int64_t cleaned_upto;           /* active segment base at the last compaction */
    int64_t tombstone_deadline_ms;  /* earliest time a kept tombstone may go (INT64_MAX none) */
};

/* An operation of the log failed with err (a negative errno) while doing `what` (printf
 * format: the file and the action). An I/O error (st_log_is_io_error) takes the log offline:
 * logged once as an ERROR naming the log dir, the file and the reason, and reported to the
 * failure handler; anything else is logged as an ERROR. Returns err. Any thread, any lock
 * held: it only sets atomics, writes the log line and calls the handler (which must not
 * block or lock). */
int st_log_fail(st_log_t *log, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Checks the invariants listed in log.c (O(segments)); used in assert(). */
bool st_log_check_locked(const st_log_t *log);

/* log_recovery.c: loads the segments of log->dir (log->cfg set), recovering when !clean. */
int st_log_load_segments(st_log_t *log, int64_t recovery_point, bool clean);

/* log.c helpers used by the recovery and the cleaner (log->lock held). */
int st_log_segs_push(st_log_t *log, st_segment_t *seg);
/* Removes segs[i] from the array and its files (delayed per file.delete.delay.ms). */
int st_log_remove_segment_locked(st_log_t *log, size_t i);
void st_log_process_pending_deletes(st_log_t *log, int64_t now_ms, bool all);
/* Index of the segment holding offset (the last with base <= offset), or 0. */
size_t st_log_floor_segment(const st_log_t *log, int64_t offset);

/* Flushes everything below `upto` (log end when < 0) and advances the recovery point. */
int st_log_flush_upto(st_log_t *log, int64_t upto);
/* For the manager's maintenance: a flush owed by a roll or the flush.interval.ms policy. */
int st_log_maybe_flush(st_log_t *log, int64_t now_ms);
/* For the manager: whether compaction has anything new to do. */
bool st_log_needs_compaction(st_log_t *log, int64_t now_ms, int64_t upper_bound);

#endif
