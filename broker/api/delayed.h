/* Delayed operations (Kafka's purgatory, Redis's blocked.c): a request that cannot be answered
 * yet parks on its connection as an st_delayed_t and is answered later, on the connection's loop
 * thread. The connection code (conn.c) knows only "a parked operation"; the kinds live with
 * their handlers:
 *   - fetch long-poll          (handle_fetch.c)    watches partitions, woken on append / HW
 *   - acks=all produce         (handle_produce.c)  watches partitions, woken on HW / ISR / role
 *   - controller requests      (handle_leader_and_isr.c, handle_stop_replica.c) wait for the
 *                              replica-state thread, which wakes the loop when done
 *   - later: JoinGroup / SyncGroup, CreateTopics waiting for leaders.
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

#endif
