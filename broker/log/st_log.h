/* The partition log: Strand's storage engine, laid out on disk exactly as Kafka lays it out.
 *
 *   <log.dir>/meta.properties                       broker.id, cluster.id, version
 *   <log.dir>/recovery-point-offset-checkpoint      "0\n<n>\n<topic> <partition> <offset>\n"...
 *   <log.dir>/replication-offset-checkpoint         same format (high watermarks)
 *   <log.dir>/log-start-offset-checkpoint           same format
 *   <log.dir>/.kafka_cleanshutdown                  present only after a clean close
 *   <log.dir>/<topic>-<partition>/
 *       00000000000000000000.log        record batches exactly as produced (offsets stamped)
 *       00000000000000000000.index      sparse: 4-byte relative offset + 4-byte position (BE)
 *       00000000000000000000.timeindex  8-byte timestamp + 4-byte relative offset (BE)
 *       leader-epoch-checkpoint         "0\n<n>\n<epoch> <start offset>\n"...
 *
 * Threads: an st_log_t may be used from any thread; each log has one mutex, held briefly by
 * append / read-positioning / roll / truncate / retention. Reads hand out a *slice*: a file
 * descriptor, position and length of whole batches, holding a reference on the segment so that
 * retention or truncation cannot close the file under a sendfile(2) in progress.
 *
 * Errors: 0 or a negative errno value. A corrupt file is reported in the log message with file
 * name and byte position. */
#ifndef ST_LOG_H
#define ST_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "st_batch.h"

typedef struct st_log_config {
    int64_t segment_bytes;            /* log.segment.bytes, default 1 GiB, max 2^31-1 */
    int64_t roll_ms;                  /* log.roll.ms (log.roll.hours=168) */
    int32_t index_interval_bytes;     /* log.index.interval.bytes, 4096 */
    int32_t index_max_bytes;          /* log.index.size.max.bytes, 10 MiB (preallocated, trimmed on roll/close) */
    int64_t flush_interval_messages;  /* log.flush.interval.messages, INT64_MAX = leave it to the OS */
    int64_t flush_interval_ms;        /* log.flush.interval.ms, INT64_MAX = leave it to the OS */
    int64_t retention_ms;             /* log.retention.ms / hours (168 h); -1 = unlimited */
    int64_t retention_bytes;          /* log.retention.bytes, -1 = unlimited */
    bool cleanup_delete;              /* cleanup.policy contains "delete" */
    bool cleanup_compact;             /* cleanup.policy contains "compact" */
    int64_t delete_retention_ms;      /* delete.retention.ms, 1 day: tombstones kept this long */
    int64_t file_delete_delay_ms;     /* file.delete.delay.ms (deleted segments renamed *.deleted first) */
} st_log_config_t;

/* Kafka's defaults. */
void st_log_config_defaults(st_log_config_t *cfg);

typedef struct st_log st_log_t;
typedef struct st_segment st_segment_t;

/* ---- storage failures ------------------------------------------------------------------------
 * Kafka's LogDirFailureChannel: an I/O error met by any operation of a log (a full disk, a
 * failing device, a file system remounted read-only, permissions changed under the broker)
 * takes the log offline at once. It is logged once, naming the log dir, the file and the
 * reason, and reported to the failure handler (the log manager takes the whole log dir
 * offline); from then on every operation that would touch the disk fails with -EIO without
 * trying, so an offline log neither retries nor floods the broker log. Nothing brings a log
 * back online while the broker runs (Kafka does not either): a restart with the disk repaired
 * loads it again, through crash recovery, since it was not closed cleanly. */
bool st_log_is_io_error(int err);   /* err negative: -EIO, -ENOSPC, -EDQUOT, -EROFS, -EACCES, ... */
typedef void st_log_failure_fn(void *arg, st_log_t *log, int err, const char *what);
/* Set once, before the log is used by other threads. dir_offline (may be NULL) is the log dir's
 * flag: when it is set, the log is offline too. */
void st_log_set_failure_handler(st_log_t *log, st_log_failure_fn *fn, void *arg,
                                const atomic_bool *dir_offline);
bool st_log_is_offline(const st_log_t *log);

typedef struct st_log_append_info {
    int64_t first_offset;      /* base offset given to the first batch */
    int64_t last_offset;       /* last offset of the last batch */
    int64_t max_timestamp;
    int32_t batch_count;
    int64_t record_count;
} st_log_append_info_t;

typedef struct st_log_slice {
    int fd;                    /* -1 when len == 0 */
    off_t pos;
    size_t len;                /* whole batches only */
    int64_t first_offset;      /* baseOffset of the first batch in the slice */
    st_segment_t *seg;         /* reference held by the slice */
} st_log_slice_t;

/* Opens (creating if needed) the log in dir (the partition directory itself). If the directory
 * was not closed cleanly (clean_shutdown false), segments from recovery_point on are scanned:
 * every batch CRC-checked, a torn or corrupt tail truncated (logged with file and position),
 * indexes rebuilt. Missing or corrupt index files are always rebuilt. */
int st_log_open(const char *dir, const st_log_config_t *cfg, int64_t recovery_point,
                bool clean_shutdown, st_log_t **ret_log);
/* Flushes, trims the indexes to their used size, closes. An offline log is closed without
 * touching the disk. */
void st_log_close(st_log_t *log);
/* Closes and removes the directory with all its files. */
int st_log_delete(st_log_t *log);

const char *st_log_dir(const st_log_t *log);
const char *st_log_topic(const st_log_t *log);      /* parsed from "<topic>-<partition>" */
int32_t st_log_partition(const st_log_t *log);
void st_log_set_config(st_log_t *log, const st_log_config_t *cfg);

int64_t st_log_start_offset(st_log_t *log);
int64_t st_log_end_offset(st_log_t *log);            /* next offset to be assigned */
int64_t st_log_recovery_point(st_log_t *log);        /* everything below is fsync'd */
size_t st_log_size_bytes(st_log_t *log);
size_t st_log_segment_count(st_log_t *log);

/* Appends whole, already validated (st_batch_validate) batches as the leader: assigns offsets
 * from the log end, stamps baseOffset and partitionLeaderEpoch into buf IN PLACE (buf must be
 * writable), writes the bytes as they are, updates indexes, rolls when the active segment would
 * exceed segment_bytes or is older than roll_ms, flushes per the flush policy. A new
 * leader_epoch is recorded in the leader-epoch cache. */
int st_log_append(st_log_t *log, void *batches, size_t len, int32_t leader_epoch,
                  st_log_append_info_t *ret_info);
/* Appends batches as a follower: offsets are already in the batches and must start at the log
 * end offset (-EINVAL otherwise). */
int st_log_append_follower(st_log_t *log, const void *batches, size_t len,
                           st_log_append_info_t *ret_info);

/* Positions a read: the batch containing `offset` and whole batches after it, in one segment,
 * up to max_bytes (but at least one whole batch if min_one_batch), never including batches with
 * offsets >= max_offset (pass the high watermark; INT64_MAX for no limit).
 *   -ERANGE  offset < log start or offset > log end (OFFSET_OUT_OF_RANGE)
 *   0 with slice.len == 0 when offset == log end (nothing yet) or limited by max_offset.
 * Release the slice with st_log_slice_release. */
int st_log_read(st_log_t *log, int64_t offset, size_t max_bytes, int64_t max_offset,
                bool min_one_batch, st_log_slice_t *ret_slice);
void st_log_slice_release(st_log_slice_t *slice);

/* Kafka's ListOffsets by time: the first record (at or after the log start) whose timestamp is
 * >= ts, found through the time index and then by decoding that one batch. *ret_timestamp (may
 * be NULL) gets that record's timestamp; when no record qualifies, *ret_offset is the log end and
 * *ret_timestamp -1. -EBADMSG if the batch found does not decode. */
int st_log_offset_for_timestamp(st_log_t *log, int64_t timestamp_ms, int64_t *ret_offset,
                                int64_t *ret_timestamp);

/* Removes everything at and above offset (replication's truncation). Offsets below the log
 * start -> truncate fully and restart the log at offset. At or past the log end no record goes,
 * but leader epochs starting at the log end (led without an append) are dropped, as Kafka does. */
int st_log_truncate_to(st_log_t *log, int64_t offset);
/* Moves the log start forward (deleting whole segments below it where possible). */
int st_log_advance_start(st_log_t *log, int64_t new_start);
/* Forces a new active segment now. */
int st_log_roll(st_log_t *log);
/* fsyncs segments, indexes and the directory up to the log end; advances the recovery point. */
int st_log_flush(st_log_t *log);

/* Leader-epoch cache (leader-epoch-checkpoint). */
int32_t st_log_latest_epoch(st_log_t *log);                       /* -1 if none */
/* Records that `epoch` starts at start_offset (a new leader at its LEO; Kafka's assign: later
 * entries with a higher-or-equal epoch or start are dropped). Written to the checkpoint. */
int st_log_assign_epoch(st_log_t *log, int32_t epoch, int64_t start_offset);
/* Kafka's OffsetsForLeaderEpoch: end offset of `epoch` (start offset of the next higher epoch,
 * or the log end for the latest; for an epoch below the earliest known, that epoch and the
 * earliest one's start offset); -1 if there is no epoch at all or epoch is above the latest. */
int64_t st_log_end_offset_for_epoch(st_log_t *log, int32_t epoch, int32_t *ret_epoch);

/* Background work, called from a timer (never the request path). The log knows nothing of
 * replication: the caller passes upper_bound, the offset below which records may be touched
 * (the partition's high watermark: retention and compaction never remove or rewrite what is
 * not committed yet); INT64_MAX for no bound.
 *
 * Deletes whole closed segments past retention (by the segment's largest timestamp, or total
 * size over retention_bytes) when cleanup_delete, only segments ending at or below upper_bound,
 * never the active segment. Returns segments deleted (>= 0). */
int st_log_enforce_retention(st_log_t *log, int64_t now_ms, int64_t upper_bound);
/* When cleanup_compact: rewrites the closed segments that end at or below upper_bound, keeping
 * the latest record per key (offsets kept, gaps allowed), dropping tombstones older than
 * delete_retention_ms. Returns records removed (>= 0). */
int64_t st_log_compact(st_log_t *log, int64_t now_ms, int64_t upper_bound);

/* ---- log manager: all partitions of all log.dirs --------------------------------------------- */

typedef struct st_log_manager st_log_manager_t;

/* Opens every <topic>-<partition> directory under each of dirs (creating the dirs), reading
 * recovery-point-offset-checkpoint and the clean-shutdown marker (then removing the marker);
 * writes or checks meta.properties (a broker.id mismatch is an error naming the file). */
int st_log_manager_open(const char *const *dirs, size_t n_dirs, int32_t broker_id,
                        const st_log_config_t *defaults, st_log_manager_t **ret_mgr);
/* Flushes every log, writes the checkpoints and the clean-shutdown marker, frees everything.
 * A log dir that is offline, or whose logs or checkpoints cannot be written, gets no marker
 * (its next start recovers it); that is logged naming the dir. Returns true when every log
 * dir was closed cleanly. */
bool st_log_manager_close(st_log_manager_t *mgr);

st_log_t *st_log_manager_get(st_log_manager_t *mgr, const char *topic, int32_t partition);
/* ---- log dir failures (Kafka's JBOD handling) -------------------------------------------------
 * A log's I/O error takes its whole log dir offline (st_log_failure_fn above): the dir's logs
 * stop touching the disk, new logs go to the other dirs, checkpoints and the clean-shutdown
 * marker skip it, and the handler is told (once per dir, on the thread that met the error:
 * it must only hand the news on, e.g. post to a mailbox). A handler set after a dir already
 * failed is called for it at once. */
typedef void st_log_dir_failure_fn(void *arg, size_t dir, const char *path);
void st_log_manager_set_dir_failure_handler(st_log_manager_t *mgr, st_log_dir_failure_fn *fn,
                                            void *arg);
/* Takes log dir `dir` offline for a failure met outside its logs (a checkpoint that cannot be
 * written): err and what as for st_log_fail. */
void st_log_manager_fail_dir(st_log_manager_t *mgr, size_t dir, int err, const char *what);
size_t st_log_manager_dir_count(const st_log_manager_t *mgr);
const char *st_log_manager_dir_path(const st_log_manager_t *mgr, size_t dir);
bool st_log_manager_dir_offline(const st_log_manager_t *mgr, size_t dir);
size_t st_log_manager_online_dir_count(const st_log_manager_t *mgr);
/* The index of the log dir holding the partition directory `path` (as st_log_dir gives it),
 * or -1. */
int st_log_manager_dir_of(const st_log_manager_t *mgr, const char *path);

/* Creates the partition directory in the online log dir holding fewest partitions. -EEXIST if
 * present, -EROFS when every log dir is offline. */
int st_log_manager_create(st_log_manager_t *mgr, const char *topic, int32_t partition,
                          const st_log_config_t *cfg, st_log_t **ret_log);
int st_log_manager_delete(st_log_manager_t *mgr, const char *topic, int32_t partition);
/* Calls fn for every log (under the manager's lock: fn must not call back into the manager). */
void st_log_manager_foreach(st_log_manager_t *mgr, void (*fn)(st_log_t *log, void *arg), void *arg);
/* Writes recovery-point-offset-checkpoint (and log-start-offset-checkpoint) for every dir. */
int st_log_manager_checkpoint(st_log_manager_t *mgr);
/* One pass of retention, compaction and time-based flush over every log. bound(arg, log) gives
 * each log's upper bound (see st_log_enforce_retention), or -1 to leave the log alone this pass
 * (a partition this broker does not host); bound NULL = no bound. */
void st_log_manager_maintain(st_log_manager_t *mgr, int64_t now_ms,
                             int64_t (*bound)(void *arg, st_log_t *log), void *arg);

#endif
