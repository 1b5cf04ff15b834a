/* Kafka's small state files, shared by the storage engine and the broker (which owns the high
 * watermarks in replication-offset-checkpoint):
 *
 *   offset checkpoints   "0\n<count>\n<topic> <partition> <offset>\n"...
 *                        (recovery-point-offset-checkpoint, replication-offset-checkpoint,
 *                        log-start-offset-checkpoint)
 *   leader-epoch-checkpoint  "0\n<count>\n<epoch> <start offset>\n"...
 *   meta.properties      "version=0\nbroker.id=<id>\n[cluster.id=<id>\n]" ('#' comments)
 *
 * Every write goes to <path>.tmp, is fsync'd, renamed over path, and the directory fsync'd, so a
 * crash leaves either the old or the new file. Reads return -ENOENT when the file is missing and
 * -EBADMSG (logged with ST_WARN naming the file and line) when it is malformed. */
#ifndef ST_CHECKPOINT_H
#define ST_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_offset_checkpoint_entry {
    char *topic;
    int32_t partition;
    int64_t offset;
} st_offset_checkpoint_entry_t;

typedef struct st_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} st_epoch_entry_t;

/* Writes data to path atomically (tmp + fsync + rename + directory fsync). */
int st_file_write_atomic(const char *path, const void *data, size_t len);
/* fsync of a directory (after creating, renaming or removing entries in it). */
int st_fsync_dir(const char *dir);

int st_offset_checkpoint_write(const char *path, const st_offset_checkpoint_entry_t *entries,
                               size_t n);
/* *ret_entries is malloc'd (free with st_offset_checkpoint_free). */
int st_offset_checkpoint_read(const char *path, st_offset_checkpoint_entry_t **ret_entries,
                              size_t *ret_n);
void st_offset_checkpoint_free(st_offset_checkpoint_entry_t *entries, size_t n);

int st_epoch_checkpoint_write(const char *path, const st_epoch_entry_t *entries, size_t n);
int st_epoch_checkpoint_read(const char *path, st_epoch_entry_t **ret_entries, size_t *ret_n);

/* cluster_id may be NULL (not written). */
int st_meta_properties_write(const char *path, int32_t broker_id, const char *cluster_id);
/* *ret_cluster_id is malloc'd, NULL when absent. -EBADMSG when broker.id is missing or bad. */
int st_meta_properties_read(const char *path, int32_t *ret_broker_id, char **ret_cluster_id);

#endif
