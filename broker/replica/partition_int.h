/* The partition struct, shared by partition.c (registry, reads, leader appends) and
 * partition_repl.c (roles, ISR, high watermark, follower appends). Private to broker/replica/. */
#ifndef ST_PARTITION_INT_H
#define ST_PARTITION_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "isr.h"
#include "partition.h"

struct st_partition {
    char *topic;
    int32_t id;
    pthread_rwlock_t lock;
    st_log_t *log;                    /* NULL once deleted */
    /* ---- role state (written under the exclusive lock; see partition_repl.c) ---- */
    st_replica_role_t role;
    int32_t self;                     /* this broker's id */
    int32_t leader;
    int32_t leader_epoch;
    int32_t controller_epoch;
    int32_t zk_version;               /* ISR version the controller last gave */
    int32_t replicas[ST_MAX_REPLICAS];
    size_t n_replicas;
    int32_t isr[ST_MAX_REPLICAS];     /* committed ISR */
    size_t n_isr;
    bool isr_pending;                 /* an AlterIsr with proposed_isr is in flight */
    int32_t proposed_isr[ST_MAX_REPLICAS];
    size_t n_proposed;
    int64_t leader_epoch_start;       /* LEO when this broker became leader at leader_epoch */
    int32_t term_epoch;               /* leader: the epoch at which this broker's current,
                                         uninterrupted leadership began (later LeaderAndIsr
                                         that keep it leader, e.g. an ISR shrink by the
                                         controller, bump leader_epoch but not this) */
    st_remote_replica_t remotes[ST_MAX_REPLICAS];   /* replicas other than self (leader only) */
    size_t n_remotes;
    int64_t lag_ms;                   /* replica.lag.time.max.ms */
    /* ---- */
    _Atomic int64_t high_watermark;
    _Atomic int32_t max_message_bytes;
    _Atomic int32_t min_insync;
    _Atomic int32_t timestamp_type;       /* st_timestamp_type_t */
    _Atomic int32_t compression;          /* st_topic_compression_t */
    _Atomic int64_t timestamp_max_diff_ms;
    atomic_bool deleted;
    atomic_int refs;
    atomic_int total_waiters;
    st_registry_t *reg;
    int n_loops;
    atomic_int waiters[];             /* per network loop */
};

/* Offline: its log dir failed (the log's flag, set the moment the failure happened, lock-free).
 * An offline partition answers everything with -EIO (KAFKA_STORAGE_ERROR) and never comes
 * back while the process runs. */
static inline bool st_partition_offline_int(const st_partition_t *part)
{
    return part->log && st_log_is_offline(part->log);
}

/* Asserts the invariants (partition_repl.c's header); under the partition lock. */
void st_partition_check(st_partition_t *part);
/* Wakes every loop with parked operations on part (any thread, no lock needed). */
void st_partition_wake(st_partition_t *part);
/* Called by the partition when it proposes an ISR change (the registry's isr-notify hook). */
void st_partition_notify_isr(st_partition_t *part);
/* Raises the HW to at least hw (never backwards). */
void st_partition_advance_hw(st_partition_t *part, int64_t hw);

#endif
