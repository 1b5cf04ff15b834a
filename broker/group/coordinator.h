/* The group coordinator: which groups this broker coordinates (those whose __consumer_offsets
 * partition it leads), loading them from the log when it becomes leader, unloading them when it
 * stops, the timers of every group (sessions, rebalances) on one coordinator thread, offsets
 * retention, and the writes of group metadata and offset records to the offsets partitions.
 * The request handlers (broker/api/handle_group*.c) drive it through the functions below.
 *
 * Ownership of offsets partition p (polled by the coordinator thread every 100 ms from the
 * replica registry, no hook in the replica manager; and checked on every request, which answers
 * NOT_COORDINATOR at once when the term it was loaded in is over):
 *   NOT_OWNED --this broker leads p--> LOADING --log read to its end--> LOADED
 *   LOADED --leadership lost (or lost and regained: a new term)--> NOT_OWNED / LOADING again
 * Requests for a group of p answer NOT_COORDINATOR while NOT_OWNED and
 * COORDINATOR_LOAD_IN_PROGRESS while LOADING. Unloading answers every parked JoinGroup and
 * SyncGroup of p's groups with NOT_COORDINATOR.
 *
 * Threads and locks: one mutex (c->lock) guards every group and the ownership table. Handlers
 * take it on their loop thread through st_coord_acquire / st_coord_release (never across a
 * network call or a ZooKeeper round trip; appends to the offsets partition happen under it, so
 * the lock order is coordinator -> partition -> log). The coordinator thread takes it for ticks,
 * retention and installing a loaded partition; it reads the log while loading WITHOUT it. Parked
 * JoinGroup / SyncGroup requests are st_await_t (await.h) answered under the lock with
 * st_await_done. */
#ifndef ST_COORDINATOR_H
#define ST_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "group.h"

#define ST_OFFSETS_TOPIC "__consumer_offsets"

typedef struct st_coordinator st_coordinator_t;

/* Starts the coordinator thread. Main thread, after the registry and the admin worker exist. */
int st_coordinator_start(st_broker_t *b, st_coordinator_t **ret);
/* Joins the thread and unloads every group (parked requests answered NOT_COORDINATOR); from
 * then on every group request gets NOT_COORDINATOR. Main thread, before the network shuts down
 * (so that those answers are still sent). NULL is fine. */
void st_coordinator_stop(st_coordinator_t *c);
/* Frees it, once no network loop can call it any more (after st_net_free). NULL is fine. */
void st_coordinator_free(st_coordinator_t *c);

/* FindCoordinator: the broker id leading the group's offsets partition, or an error with a
 * message: COORDINATOR_NOT_AVAILABLE while __consumer_offsets does not exist (its creation is
 * requested through the topic admin thread) or the partition has no leader. Any thread. */
int32_t st_coord_find(st_coordinator_t *c, const char *group_id, int32_t *ret_node, char *msg,
                      size_t msg_len);

/* Locks the coordinator and finds the group: ST_ERR_NONE with the lock HELD and *ret_group set
 * (NULL when the group is unknown and !create; created Empty when create), *ret_load (may be
 * NULL) the partition's load generation; or the error (INVALID_GROUP_ID, NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS) with the lock NOT held. Loop threads. */
int32_t st_coord_acquire(st_coordinator_t *c, const char *group_id, bool create,
                         st_group_t **ret_group, uint64_t *ret_load);
/* Unlocks, and wakes the coordinator thread (deadlines may have moved). */
void st_coord_release(st_coordinator_t *c);
/* True (lock held) when the group's partition is still loaded at load generation `load`. */
bool st_coord_still_loaded(st_coordinator_t *c, const st_group_t *g, uint64_t load);
/* Removes a group from the coordinator (after st_group_shutdown) and frees it. Lock held. */
void st_coord_forget(st_coordinator_t *c, st_group_t *g);
/* The group configuration (group.* keys) and the ops every group uses. */
const st_group_config_t *st_coord_group_config(st_coordinator_t *c);
/* Every loaded group (for ListGroups): fn(arg, g) under the lock. Returns
 * COORDINATOR_LOAD_IN_PROGRESS when some partition is still loading (the visited groups are
 * still complete for the loaded ones), else NONE. Takes and drops the lock itself. */
int32_t st_coord_visit(st_coordinator_t *c, void (*fn)(void *arg, const st_group_t *g), void *arg);

/* Monotonic and wall clocks in ms. */
int64_t st_coord_now(void);
int64_t st_coord_wall(void);

/* ---- writes to the offsets partition (lock held) ------------------------------------------- */

/* One record for st_coord_append: key and value bytes (value NULL: tombstone). */
typedef struct st_coord_record {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
} st_coord_record_t;

/* Appends the records as one batch to the offsets partition of the group, as leader (acks -1:
 * the ISR is checked against min.insync.replicas first). On success, when ret_part is not NULL,
 * returns the partition (referenced: the caller waits for its high watermark), the leader epoch
 * of the append and the offset the high watermark must reach (last offset + 1). Errors as
 * st_partition_append (-EPERM not leader, -ENOTCONN not enough replicas, -ENOENT). */
int st_coord_append(st_coordinator_t *c, int32_t partition, const st_coord_record_t *recs,
                    size_t n, st_partition_t **ret_part, int32_t *ret_epoch,
                    int64_t *ret_required);
/* Writes the group's metadata record now (a tombstone when the group is Dead). Logged on
 * failure; the in-memory state stands (see coordinator.c). */
void st_coord_store_group(st_coordinator_t *c, st_group_t *g);
/* Tombstones for these offsets of the group (OffsetDelete, DeleteGroups, retention). */
void st_coord_tombstone_offsets(st_coordinator_t *c, const st_group_t *g, const char *const *topics,
                                const int32_t *partitions, size_t n);

#endif
