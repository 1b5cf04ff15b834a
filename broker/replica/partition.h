/* Topic and partition registry of one broker (the hosted partitions), over the log manager
 * (broker/log), and the partition with its replication state: role (leader / follower / none),
 * leader, leader epoch, replicas, ISR, remote replicas' log ends and the high watermark.
 *
 * The topics and their assignments live in ZooKeeper; a partition is hosted here only because a
 * LeaderAndIsr said so (st_registry_host_partition from the replica manager), and its role comes
 * from it (st_partition_make_leader / _make_follower, partition_repl.c). The role state machine
 * and its invariants are written in partition_repl.c.
 *
 * Lock order (DESIGN.md): replica-state mutex (replica_manager.c) -> registry admin mutex ->
 * registry rwlock (the hosted-partition map) -> partition rwlock -> log mutex.
 *
 * Threads and locks (order: registry admin mutex -> registry rwlock -> partition rwlock):
 *  - registry->lock (rwlock) guards the topic map: held shared for lookups (any network
 *    thread), exclusively to insert/remove a topic. Never held across I/O.
 *  - registry->admin (mutex) serialises hosting and dropping partitions (replica-state thread):
 *    held across log creation and deletion, never on the produce/fetch path.
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
#include "st_topic_config.h"

#include "isr.h"

typedef struct st_partition st_partition_t;

typedef enum st_replica_role {
    ST_ROLE_NONE = 0,                 /* hosted, no role yet / stopped: serves nothing */
    ST_ROLE_LEADER,
    ST_ROLE_FOLLOWER,
} st_replica_role_t;

/* One partition's state from a LeaderAndIsr. */
typedef struct st_partition_state {
    int32_t controller_epoch;
    int32_t leader;
    int32_t leader_epoch;
    int32_t zk_version;
    int32_t isr[ST_MAX_REPLICAS];
    size_t n_isr;
    int32_t replicas[ST_MAX_REPLICAS];
    size_t n_replicas;
} st_partition_state_t;
typedef struct st_registry st_registry_t;

typedef struct st_partition_offsets {
    int64_t log_start;
    int64_t log_end;
    int64_t high_watermark;
    int32_t leader_epoch;
} st_partition_offsets_t;

/* Opens an empty registry over the log manager (the logs on disk stay in the log manager until
 * a LeaderAndIsr hosts their partition). */
int st_registry_open(const st_broker_config_t *cfg, st_log_manager_t *mgr, int n_loops,
                     st_registry_t **ret_reg);
/* Drops the registry's references; the caller closes the log manager afterwards. */
void st_registry_close(st_registry_t *reg);
/* fn(arg, loop) is called (from any thread) to wake a loop with parked fetches. */
void st_registry_set_wake(st_registry_t *reg, void (*fn)(void *arg, int loop), void *arg);
int32_t st_registry_broker_id(const st_registry_t *reg);

/* A referenced partition, or NULL if this broker does not host it. */
st_partition_t *st_registry_get(st_registry_t *reg, const char *topic, int32_t partition);
/* True while this broker hosts at least one partition of the topic. */
bool st_registry_has_topic(st_registry_t *reg, const char *topic);

/* ---- hosted partitions (replica-state thread) ------------------------------------------------ */

/* The partition (referenced), created with its log (existing log reused) if not hosted yet.
 * configs (the topic's overrides as the controller knows them) set the topic's configuration
 * when the topic is new to this registry (an invalid set is logged and the defaults used);
 * afterwards the topic's configuration changes only through st_registry_set_topic_overrides
 * (ZooKeeper's /config/changes), so a LeaderAndIsr built from an older copy cannot undo a
 * change. initial_hw: the checkpointed high watermark (-1 unknown), clamped to the log. 0 or
 * -errno. */
int st_registry_host_partition(st_registry_t *reg, const char *topic, int32_t partition,
                               const char *const *config_names, const char *const *config_values,
                               size_t n_configs, int64_t initial_hw, st_partition_t **ret_part);
/* Stops hosting: removes it from the map (role NONE, watchers woken), deleting the log when
 * delete_log. -ENOENT if not hosted. */
int st_registry_drop_partition(st_registry_t *reg, const char *topic, int32_t partition,
                               bool delete_log);
/* Every hosted partition, referenced (unref each, free the array). */
size_t st_registry_snapshot(st_registry_t *reg, st_partition_t ***ret_parts);
/* fn(arg, part) is called (any thread, partition lock NOT held) when a leader proposes an ISR
 * change (to be sent to the controller as AlterIsr). */
void st_registry_set_isr_notify(st_registry_t *reg, void (*fn)(void *arg, st_partition_t *part),
                                void *arg);

/* ---- dynamic topic configuration (the config manager's thread) -------------------------------- */

/* Replaces a hosted topic's overrides (keys/values as in /config/topics/<t>) and applies the
 * result to its partitions and their logs at once. -ENOENT when no partition of the topic is
 * hosted here; -EINVAL (msg names the key and value) when an override does not validate:
 * nothing changes then. */
int st_registry_set_topic_overrides(st_registry_t *reg, const char *topic,
                                    const char *const *keys, const char *const *values, size_t n,
                                    char *msg, size_t msg_len);
/* New topic defaults (the broker's configuration changed dynamically): every hosted topic is
 * resolved again (defaults, then its overrides) and applied. */
void st_registry_set_defaults(st_registry_t *reg, const st_topic_config_t *defaults);
/* The topic's effective configuration; the defaults when it is not hosted here (returns false
 * then). */
bool st_registry_topic_config(st_registry_t *reg, const char *topic, st_topic_config_t *ret);
/* fn(arg, topic) is called (replica-state thread, no lock held) when a topic becomes hosted
 * here (its first partition): the config manager re-reads its overrides, in case the
 * LeaderAndIsr carried an older copy than ZooKeeper's. */
void st_registry_set_new_topic_notify(st_registry_t *reg,
                                      void (*fn)(void *arg, const char *topic), void *arg);

/* ---- partitions -------------------------------------------------------------------------- */

/* Log dir failures (Kafka's HostedPartition.Offline): a partition whose log dir failed is
 * offline from that moment (its log says so): every read, append, role change and offset
 * query fails with -EIO (KAFKA_STORAGE_ERROR to clients, followers and the controller), parked
 * acks=all produces answer KAFKA_STORAGE_ERROR. The replica manager then drops its role and
 * its fetcher (st_partition_set_offline) and tells the controller, which moves the leadership
 * away. It stays offline until the broker restarts. */
bool st_partition_offline(const st_partition_t *part);
/* Replica-state thread: role NONE, no ISR proposal, watchers woken; logs one line. */
void st_partition_set_offline(st_partition_t *part, const char *log_dir);

void st_partition_ref(st_partition_t *part);
void st_partition_unref(st_partition_t *part);
const char *st_partition_topic(const st_partition_t *part);
int32_t st_partition_id(const st_partition_t *part);
bool st_partition_deleted(const st_partition_t *part);
int32_t st_partition_max_message_bytes(const st_partition_t *part);
/* What the leader's produce path applies (from the topic's configuration). */
typedef struct st_partition_produce_cfg {
    int32_t max_message_bytes;
    int32_t timestamp_type;           /* st_timestamp_type_t */
    int32_t compression;              /* st_topic_compression_t */
    int64_t timestamp_max_diff_ms;    /* message.timestamp.difference.max.ms */
} st_partition_produce_cfg_t;
void st_partition_produce_cfg(const st_partition_t *part, st_partition_produce_cfg_t *ret);
int64_t st_partition_high_watermark(const st_partition_t *part);
int32_t st_partition_leader_epoch(const st_partition_t *part);
int32_t st_partition_min_insync(const st_partition_t *part);
st_replica_role_t st_partition_role(const st_partition_t *part);
/* Leader, replicas (up to max into ret_replicas, count returned) and ISR (same), under the lock. */
int32_t st_partition_leader(st_partition_t *part, int32_t *ret_replicas, size_t *inout_n_replicas,
                            int32_t *ret_isr, size_t *inout_n_isr);

/* Appends validated batches as the leader (stamping offsets and the leader epoch in place),
 * advances the high watermark when the (maximal) ISR allows it and wakes watchers. acks = -1
 * first checks the committed ISR against min.insync.replicas. Errors: -ENOENT deleted, -EIO
 * offline, -EPERM not the leader, -ENOTCONN ISR smaller than min.insync.replicas (acks=-1;
 * NOTHING appended), else st_log_append's. ret_log_start and ret_epoch (the leader epoch appended at) may be NULL. */
int st_partition_append(st_partition_t *part, void *batches, size_t len, int32_t acks,
                        st_log_append_info_t *ret_info, int64_t *ret_log_start,
                        int32_t *ret_epoch);
/* Positions a read for a consumer (up to the high watermark) or, when to_log_end, a follower
 * (up to the log end). Fills ret_offsets in every case but -ENOENT (deleted). -ERANGE: offset
 * outside [log start, log end]; -EPERM: this broker is not the leader. */
int st_partition_read(st_partition_t *part, int64_t offset, size_t max_bytes, bool min_one_batch,
                      bool to_log_end, st_log_slice_t *ret_slice, st_partition_offsets_t *ret_offsets);
/* -EPERM (offsets still filled) when not the leader. */
int st_partition_offsets(st_partition_t *part, st_partition_offsets_t *ret_offsets);
int st_partition_offset_for_timestamp(st_partition_t *part, int64_t timestamp, int64_t *ret_offset,
                                      int64_t *ret_timestamp);

/* ---- replication (partition_repl.c) ---------------------------------------------------------- */

/* Role transitions from a LeaderAndIsr (replica-state thread; take the partition lock). Both log
 * ONE INFO line (partition, old and new leader, epoch, ISR) and wake watchers.
 * make_leader: records the epoch at the LEO in the leader-epoch cache, resets the remote
 * replicas. make_follower: stops serving produce and sets the leader; the caller stops the
 * fetcher before and truncates + starts fetching after. 0 or -errno. */
int st_partition_make_leader(st_partition_t *part, const st_partition_state_t *st, int64_t now_ms);
int st_partition_make_follower(st_partition_t *part, const st_partition_state_t *st);
int32_t st_partition_leader_id(st_partition_t *part);

/* Leader side of a follower fetch (network loop). Updates the follower's LEO and
 * lastCaughtUpTimeMs, may expand the ISR (AlterIsr proposed), advances the HW, wakes watchers.
 * When last_fetched_epoch disagrees with this leader's epoch history, returns 1 with
 * *ret_div_epoch / *ret_div_end (diverging_epoch) and changes nothing. -EPERM not leader,
 * -ENOENT deleted / not a replica. */
int st_partition_follower_fetch(st_partition_t *part, int32_t replica_id, int64_t fetch_offset,
                                int32_t last_fetched_epoch, int64_t now_ms, int32_t *ret_div_epoch,
                                int64_t *ret_div_end);
/* OffsetForLeaderEpoch on the leader: (largest epoch <= epoch, its end offset), -1/-1 unknown.
 * -EPERM not leader. */
int st_partition_epoch_end_offset(st_partition_t *part, int32_t epoch, int32_t *ret_epoch,
                                  int64_t *ret_end);

/* Follower side (fetcher thread): appends the leader's batches unchanged (validated, not
 * re-stamped) if this broker still follows at leader_epoch, then HW = min(leader_hw, LEO).
 * -ESTALE when the role or epoch changed, else st_log_append_follower's error. */
int st_partition_append_as_follower(st_partition_t *part, int32_t leader_epoch, const void *data,
                                    size_t len, int64_t leader_hw);
/* Follower fetch position: LEO and the epoch of the last batch (-1 for an empty log), and the
 * leader epoch it follows. -ESTALE unless a follower. */
int st_partition_fetch_position(st_partition_t *part, int64_t *ret_leo, int32_t *ret_last_epoch,
                                int32_t *ret_leader_epoch);
/* Follower truncation after a diverging_epoch {epoch, end}: st_truncation_offset applied to the
 * own epoch cache, under the lock, if still following at leader_epoch. Logs the truncation. */
int st_partition_truncate_diverging(st_partition_t *part, int32_t leader_epoch, int32_t div_epoch,
                                    int64_t div_end);
/* Truncation on becoming a follower when no truncate-on-fetch is possible (empty epoch cache):
 * to the high watermark. */
int st_partition_truncate_to_hw(st_partition_t *part);

/* acks=all: the state of an append at leader_epoch that needs HW >= required_offset:
 * ST_ERR_NONE, ST_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, ST_ERR_NOT_LEADER_OR_FOLLOWER
 * (leadership lost since the append, even if regained), ST_ERR_KAFKA_STORAGE_ERROR (offline),
 * or -1 still pending. */
int st_partition_acks_status(st_partition_t *part, int32_t leader_epoch, int64_t required_offset);

/* ISR expiry (replica-state thread, every replica.lag.time.max.ms / 2): proposes removing
 * lagging followers. True if a shrink was proposed. */
bool st_partition_maybe_shrink_isr(st_partition_t *part, int64_t now_ms);
/* The in-flight ISR proposal for AlterIsr: false if none. */
bool st_partition_isr_proposal(st_partition_t *part, int32_t *ret_isr, size_t *ret_n,
                               int32_t *ret_leader_epoch, int32_t *ret_version);
/* The controller's answer to AlterIsr: code NONE adopts isr/version (if leader_epoch still
 * matches); an error drops the proposal (FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION) or keeps
 * it for a retry (retry = true). */
void st_partition_isr_result(st_partition_t *part, int code, int32_t leader_epoch,
                             const int32_t *isr, size_t n_isr, int32_t version, bool retry);

/* Registers / removes a parked fetch of network loop `loop` (see the header comment). */
void st_partition_watch(st_partition_t *part, int loop);
void st_partition_unwatch(st_partition_t *part, int loop);

/* The topic's min.insync.replicas (its override as the controller gave it with a hosted
 * partition, else the broker default; the default for a topic not hosted here). */
int32_t st_registry_topic_min_insync_replicas(st_registry_t *reg, const char *topic);

#endif
