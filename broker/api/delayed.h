/* Delayed operations (Kafka's purgatory, Redis's blocked.c): a request that cannot be answered
 * yet parks on its connection as an st_delayed_t and is answered later, on the connection's loop
 * thread. The connection code (conn.c) knows only "a parked operation"; the kinds live with
 * their handlers:
 *   - fetch long-poll          (handle_fetch.c)    watches partitions, woken on append / HW
 *   - acks=all produce         (handle_produce.c)  watches partitions, woken on HW / ISR / role
 *   - controller requests      (handle_leader_and_isr.c, handle_stop_replica.c) wait for the
 *                              replica-state thread, which wakes the loop when done
 *   - JoinGroup / SyncGroup / held Heartbeat (handle_group.c) are await.h operations answered
 *                              by the group coordinator (broker/group/) when a rebalance moves
 *   - OffsetCommit             (handle_offsets.c)  watches the offsets partition like acks=all
 *   - later: CreateTopics waiting for leaders.
 *
 * Keys: an operation registers on the keys it waits for (st_partition_watch(part, loop) for a
 * partition) BEFORE its last check; whoever changes a key's state wakes every loop with
 * watchers (st_net_wake_loop), and the loop calls try_complete on its parked operations.
 *
 * Contract (all three run on the owning loop's thread):
 *   try_complete  1 = answered (response queued), 0 = keep waiting, <0 = close the connection.
 *   on_expire     the wait_ms timer fired or the broker is stopping: answer now with whatever
 *                 there is (1), or <0 to close.
 *   abort         the connection is closing: release everything, answer nothing.
 * After 1, <0 or abort the operation is never called again. The operation lives in the
 * connection's arena (not reset while parked) or owns its own memory. */
#ifndef ST_DELAYED_H
#define ST_DELAYED_H

#include <stdbool.h>
#include <stddef.h>

typedef struct st_delayed st_delayed_t;

typedef struct st_delayed_ops {
    const char *name;
    int (*try_complete)(st_delayed_t *op);
    int (*on_expire)(st_delayed_t *op);
    void (*abort)(st_delayed_t *op);
} st_delayed_ops_t;

/* Embed as the FIRST member of an operation's struct. */
struct st_delayed {
    const st_delayed_ops_t *ops;
};

/* The keys of the kinds that wait on partitions (fetch long-poll, acks=all): the referenced
 * partitions an operation watches from its loop. Registered BEFORE the operation's last check
 * (see "Keys" above). NULL entries (unknown partitions) are skipped. Loop thread. */
typedef struct st_partition st_partition_t;
typedef struct st_delayed_keys {
    st_partition_t **parts;       /* referenced by the operation */
    size_t n;
    int loop;                     /* the owning loop's index */
    bool watching;
} st_delayed_keys_t;

/* Starts or stops watching every key (idempotent). */
void st_delayed_watch(st_delayed_keys_t *keys, bool on);
/* Stops watching and drops the references (the entries become NULL). */
void st_delayed_release(st_delayed_keys_t *keys);

#endif
