/* Topic and partition registry of one broker, over the log manager (broker/log).
 *
 * A partition carries the state replication will need: leader, leader epoch, replicas, ISR and
 * the high watermark. In single-broker mode this broker leads everything at epoch 0 (or the
 * latest epoch found in the log), replicas = ISR = [this broker] and the high watermark follows
 * the log end. The ZooKeeper mode replaces how that state is set (LeaderAndIsr from the
 * controller), not how it is read.
 *
 * Threads and locks (order: registry admin mutex -> registry rwlock -> partition rwlock):
 *  - registry->lock (rwlock) guards the topic map: held shared for lookups (any network
 *    thread), exclusively to insert/remove a topic. Never held across I/O.
 *  - registry->admin (mutex) serialises CreateTopics / DeleteTopics / auto-create and the topic
 *    store file: held across their file I/O, never on the produce/fetch path.
 *  - partition->lock (rwlock) is held SHARED while the st_log is used (append, read
 *    positioning: st_log has its own mutex for that) and EXCLUSIVELY for state transitions
 *    (deletion, and leadership changes later). The high watermark is an atomic that only grows
 *    while leading.
 *  - Partitions are reference counted: st_registry_get returns a reference that the caller
 *    drops with st_partition_unref; a deleted partition stays valid (flagged deleted, log NULL)
 *    until its last reference goes. Slices handed out by st_partition_read hold their own
 *    segment references (storage engine), so sendfile may outlive a deletion.
 *
 * Parked fetches: a network loop that parks a fetch on a partition calls st_partition_watch
 * (before its final re-check of the offsets); whoever advances the high watermark or deletes the
 * partition calls the registry's wake function for every loop with watchers. */
#ifndef ST_PARTITION_H
#define ST_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker_config.h"
#include "st_log.h"

typedef struct st_partition st_partition_t;
typedef struct st_registry st_registry_t;

typedef struct st_partition_offsets {
    int64_t log_start;
    int64_t log_end;
    int64_t high_watermark;
    int32_t leader_epoch;
} st_partition_offsets_t;

/* Opens the registry: reads the topic store of the first log dir (creating the cluster id on
 * first start), opens or creates every partition of every stored topic, adopts partition
 * directories the store does not know (default config), finishes interrupted deletions. */
int st_registry_open(const st_broker_config_t *cfg, st_log_manager_t *mgr, int n_loops,
                     st_registry_t **ret_reg);
/* Drops the registry's references; the caller closes the log manager afterwards. */
void st_registry_close(st_registry_t *reg);
/* fn(arg, loop) is called (from any thread) to wake a loop with parked fetches. */
void st_registry_set_wake(st_registry_t *reg, void (*fn)(void *arg, int loop), void *arg);
const char *st_registry_cluster_id(const st_registry_t *reg);
int32_t st_registry_broker_id(const st_registry_t *reg);

/* A referenced partition, or NULL if the topic or partition does not exist. */
st_partition_t *st_registry_get(st_registry_t *reg, const char *topic, int32_t partition);
bool st_registry_has_topic(st_registry_t *reg, const char *topic);
/* The topic's min.insync.replicas (its override, else the broker default; the default for an
 * unknown topic). Takes the registry lock shared: not from inside st_registry_visit. */
int32_t st_registry_topic_min_insync_replicas(st_registry_t *reg, const char *topic);

/* Creates a topic (replication is checked by the caller). Returns an st_error_t code; msg gets
 * the reason for anything but NONE. validate_only: every check, nothing created. */
int st_registry_create_topic(st_registry_t *reg, const char *name, int32_t n_partitions,
                             const char *const *config_names, const char *const *config_values,
                             size_t n_configs, bool validate_only, char *msg, size_t msg_len);
/* Deletes a topic and its logs. Returns an st_error_t code. */
int st_registry_delete_topic(st_registry_t *reg, const char *name, char *msg, size_t msg_len);

/* Calls fn for one topic (by name; -ENOENT if missing) or for every topic (name NULL), with the
 * registry lock held shared: fn must not block or call back into the registry. */
typedef void (*st_topic_visit_fn)(void *arg, const char *name, int32_t n_partitions,
                                  st_partition_t *const *parts);
int st_registry_visit(st_registry_t *reg, const char *name, st_topic_visit_fn fn, void *arg);

/* ---- partitions -------------------------------------------------------------------------- */

void st_partition_ref(st_partition_t *part);
void st_partition_unref(st_partition_t *part);
const char *st_partition_topic(const st_partition_t *part);
int32_t st_partition_id(const st_partition_t *part);
bool st_partition_deleted(const st_partition_t *part);
int32_t st_partition_max_message_bytes(const st_partition_t *part);
int64_t st_partition_high_watermark(const st_partition_t *part);
int32_t st_partition_leader_epoch(const st_partition_t *part);
/* Leader, replicas (up to max into ret_replicas, count returned) and ISR (same), under the lock. */
int32_t st_partition_leader(st_partition_t *part, int32_t *ret_replicas, size_t *inout_n_replicas,
                            int32_t *ret_isr, size_t *inout_n_isr);

/* Appends validated batches as the leader (stamping offsets and the leader epoch in place),
 * advances the high watermark and wakes watchers. -ENOENT when deleted, else st_log_append's
 * error. ret_log_start may be NULL. */
int st_partition_append(st_partition_t *part, void *batches, size_t len,
                        st_log_append_info_t *ret_info, int64_t *ret_log_start);
/* Positions a read for a consumer (up to the high watermark) or, when to_log_end, a follower
 * (up to the log end). Fills ret_offsets in every case but -ENOENT (deleted). -ERANGE: offset
 * outside [log start, log end]. */
int st_partition_read(st_partition_t *part, int64_t offset, size_t max_bytes, bool min_one_batch,
                      bool to_log_end, st_log_slice_t *ret_slice, st_partition_offsets_t *ret_offsets);
int st_partition_offsets(st_partition_t *part, st_partition_offsets_t *ret_offsets);
int st_partition_offset_for_timestamp(st_partition_t *part, int64_t timestamp, int64_t *ret_offset,
                                      int64_t *ret_timestamp);

/* Registers / removes a parked fetch of network loop `loop` (see the header comment). */
void st_partition_watch(st_partition_t *part, int loop);
void st_partition_unwatch(st_partition_t *part, int loop);

#endif
