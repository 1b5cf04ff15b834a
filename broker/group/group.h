/* One consumer group: members, generations, the rebalance state machine and the committed
 * offsets held in memory -- Kafka's GroupMetadata plus the membership rules of its
 * GroupCoordinator (2.8). No threads, no I/O, no clock of its own: the coordinator
 * (coordinator.c) calls these under its mutex with the current monotonic and wall times, and the
 * group answers parked JoinGroup / SyncGroup requests and asks for its metadata to be stored
 * through the callbacks in st_group_ops_t (which unit tests replace with recorders).
 *
 * States and transitions (Kafka's validPreviousStates; st_group_check asserts the invariants
 * at every transition, see group.c):
 *
 *     Empty --join--> PreparingRebalance --all joined / timeout--> CompletingRebalance
 *       ^                  ^    |                                          | leader's SyncGroup,
 *       |                  |    +--no members left--> Empty                | its record replicated
 *       |                  +----member joins, leaves, expires, changes-----+ Stable
 *       +-- any --(DeleteGroups, offsets expired, coordinator moved)--> Dead
 *
 * Parked requests: a member has at most one parked JoinGroup (join_waiter) and one parked
 * SyncGroup (sync_waiter); every waiter is answered exactly once through ops->join_done /
 * ops->sync_done (also when the member is removed, fenced, or the group unloaded). */
#ifndef ST_GROUP_H
#define ST_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "group_codec.h"

typedef enum st_group_state {
    ST_GROUP_EMPTY = 0,
    ST_GROUP_PREPARING_REBALANCE,
    ST_GROUP_COMPLETING_REBALANCE,
    ST_GROUP_STABLE,
    ST_GROUP_DEAD,
} st_group_state_t;

/* Kafka's spelling: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead". */
const char *st_group_state_name(st_group_state_t s);
/* -1 if the name is not a state (case-insensitive). */
int st_group_state_parse(const char *name);

typedef struct st_group_protocol {
    char *name;
    uint8_t *metadata;
    size_t metadata_len;
} st_group_protocol_t;

typedef struct st_group_member {
    char *member_id;
    char *instance_id;                /* NULL: dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    st_group_protocol_t *protocols;   /* in preference order */
    size_t n_protocols;
    uint8_t *assignment;              /* from the last completed sync (NULL/0: none) */
    size_t assignment_len;
    void *join_waiter;                /* parked JoinGroup, or NULL */
    void *sync_waiter;                /* parked SyncGroup, or NULL */
    void *hb_waiter;                  /* held Heartbeat (max_wait_ms > 0), or NULL */
    bool is_new;                      /* joined during the current rebalance */
    int64_t heartbeat_deadline;       /* monotonic ms: removed when passed (see group.c) */
} st_group_member_t;

/* A committed offset (only replicated commits are here: the coordinator applies a commit once
 * the offsets partition's high watermark passed it). */
typedef struct st_group_offset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_timestamp;         /* wall ms */
} st_group_offset_t;

typedef struct st_group st_group_t;

/* What a parked (or immediately answered) JoinGroup gets. members/n_members only for the
 * leader (pointers into the group, valid during the callback). */
typedef struct st_group_join_result {
    int32_t error;
    const char *member_id;
    int32_t generation;
    const char *protocol_type;
    const char *protocol_name;
    const char *leader;
    st_group_member_t *const *members;
    size_t n_members;
} st_group_join_result_t;

typedef struct st_group_ops {
    /* Answers a parked JoinGroup (exactly once per waiter). */
    void (*join_done)(void *arg, void *waiter, const st_group_join_result_t *res);
    /* Answers a parked SyncGroup: error, and on success the member's assignment. */
    void (*sync_done)(void *arg, void *waiter, int32_t error, const char *protocol_type,
                      const char *protocol_name, const uint8_t *assignment, size_t len);
    /* Answers a held Heartbeat (exactly once per waiter). */
    void (*heartbeat_done)(void *arg, void *waiter, int32_t error);
    /* Persist the group's metadata (a group metadata record; a tombstone when Dead). With
     * wait (the leader's SyncGroup), st_group_store_done must follow once the record is
     * replicated or failed, and the return value is NONE (pending) or the error now. */
    int32_t (*store)(void *arg, st_group_t *g, bool wait);
} st_group_ops_t;

typedef struct st_group_config {
    int32_t initial_rebalance_delay_ms;   /* group.initial.rebalance.delay.ms */
    int32_t min_session_timeout_ms;       /* group.min.session.timeout.ms */
    int32_t max_session_timeout_ms;       /* group.max.session.timeout.ms */
    int32_t max_size;                     /* group.max.size */
    int32_t new_member_join_timeout_ms;   /* Kafka's NewMemberJoinTimeoutMs: 300000 */
} st_group_config_t;

struct st_group {
    char *id;
    st_group_state_t state;
    int64_t state_timestamp;          /* wall ms of the last state change */
    int32_t generation;
    char *protocol_type;              /* NULL: none (an offsets-only group) */
    char *protocol_name;              /* NULL: none chosen */
    char *leader_id;                  /* NULL: none */
    st_group_member_t **members;      /* join order */
    size_t n_members, cap_members;
    char **pending;                   /* MEMBER_ID_REQUIRED was answered; must rejoin */
    int64_t *pending_deadline;        /* monotonic ms */
    size_t n_pending, cap_pending;
    /* PreparingRebalance: when the join completes at the latest (monotonic ms), and the
     * initial-delay state (Kafka's InitialDelayedJoin). */
    int64_t join_deadline;
    bool store_pending;               /* the leader's assignment is being written (wait store) */
    bool initial_delay;
    int32_t initial_remaining_ms;
    bool new_member_added;
    st_group_offset_t *offsets;
    size_t n_offsets, cap_offsets;
    const st_group_config_t *cfg;
    const st_group_ops_t *ops;
    void *ops_arg;
    int32_t partition;                /* the __consumer_offsets partition (coordinator's) */
};

st_group_t *st_group_new(const char *id, const st_group_config_t *cfg, const st_group_ops_t *ops,
                         void *ops_arg, int64_t wall_ms);
/* Frees without answering anything (answer waiters first: st_group_shutdown). */
void st_group_free(st_group_t *g);
/* Asserts the invariants (aborts on violation; kept in release builds). */
void st_group_check(const st_group_t *g);

st_group_member_t *st_group_member(const st_group_t *g, const char *member_id);
st_group_member_t *st_group_static_member(const st_group_t *g, const char *instance_id);
/* The member's metadata for the group's chosen protocol (NULL/0 when none). */
const uint8_t *st_group_member_metadata(const st_group_t *g, const st_group_member_t *m,
                                        size_t *ret_len);

/* ---- membership (each answers or parks through ops) ---------------------------------------- */

typedef struct st_group_join_req {
    const char *member_id;            /* "" first join */
    const char *instance_id;          /* NULL or "": dynamic */
    const char *client_id;
    const char *client_host;
    const char *protocol_type;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    const st_group_protocol_t *protocols;
    size_t n_protocols;
    const char *reason;
} st_group_join_req_t;

/* JoinGroup: waiter is answered through ops->join_done, now or later. */
void st_group_join(st_group_t *g, const st_group_join_req_t *req, void *waiter, int64_t now,
                   int64_t wall);

typedef struct st_group_assignment {
    const char *member_id;
    const uint8_t *assignment;
    size_t len;
} st_group_assignment_t;

/* SyncGroup: waiter is answered through ops->sync_done, now or later. protocol_type /
 * protocol_name NULL or "": not checked. */
void st_group_sync(st_group_t *g, int32_t generation, const char *member_id,
                   const char *instance_id, const char *protocol_type, const char *protocol_name,
                   const st_group_assignment_t *assignments, size_t n_assignments, void *waiter,
                   int64_t now, int64_t wall);

/* The group record written for the leader's SyncGroup (ops->store with wait) is replicated
 * (NONE) or failed (the error for the SyncGroups: COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
 * REBALANCE_IN_PROGRESS...). NONE: Stable, every parked SyncGroup gets its assignment. An error:
 * the SyncGroups fail with it and the group rebalances. Ignored when the group moved on (another
 * generation or state). */
void st_group_store_done(st_group_t *g, int32_t generation, int32_t error, int64_t now,
                         int64_t wall);

/* Heartbeat: the error code (NONE, REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, ...). */
int32_t st_group_heartbeat(st_group_t *g, int32_t generation, const char *member_id,
                           const char *instance_id, int64_t now);

/* A held Heartbeat (HeartbeatRequest.max_wait_ms > 0): answered through ops->heartbeat_done at
 * once unless the answer would be NONE; then held until the member's state changes (a rebalance
 * starts: REBALANCE_IN_PROGRESS; removed: UNKNOWN_MEMBER_ID; replaced: FENCED_INSTANCE_ID) --
 * the parked request's own expiry answers NONE after max_wait_ms. The member stays alive until
 * now + max_wait_ms + its session timeout. A newer held heartbeat releases an older one (NONE). */
void st_group_heartbeat_hold(st_group_t *g, int32_t generation, const char *member_id,
                             const char *instance_id, int32_t max_wait_ms, void *waiter,
                             int64_t now);

/* One member of a LeaveGroup: its error code. The rebalance starts at once. */
int32_t st_group_leave(st_group_t *g, const char *member_id, const char *instance_id,
                       const char *reason, int64_t now, int64_t wall);

/* May this commit be applied? NONE, or the error for every partition of it. A simple commit is
 * generation < 0 with member_id "" (allowed when the group is Empty). A member's commit counts as
 * its heartbeat. */
int32_t st_group_validate_commit(st_group_t *g, int32_t generation, const char *member_id,
                                 const char *instance_id, int64_t now);

/* Timers: expired members and pending members are removed, a due join completes. Returns the
 * next monotonic deadline (INT64_MAX: none). */
int64_t st_group_tick(st_group_t *g, int64_t now, int64_t wall);

/* Unloading (NOT_COORDINATOR) or deletion (Dead, COORDINATOR_NOT_AVAILABLE): answers every
 * waiter with `error` and drops the members; the group is Dead afterwards. */
void st_group_shutdown(st_group_t *g, int32_t error, int64_t wall);

/* ---- offsets --------------------------------------------------------------------------------- */

const st_group_offset_t *st_group_offset_get(const st_group_t *g, const char *topic,
                                             int32_t partition);
/* Inserts or replaces. 0 or -ENOMEM. */
int st_group_offset_put(st_group_t *g, const char *topic, int32_t partition, int64_t offset,
                        int32_t leader_epoch, const char *metadata, int64_t commit_timestamp);
/* True if it was there. */
bool st_group_offset_remove(st_group_t *g, const char *topic, int32_t partition);
/* Offsets retention (Kafka's KIP-211 rule): only an Empty group's offsets expire, retention_ms
 * after the group became Empty, or, for a group without protocol type, after their commit.
 * Removes them from memory and calls fn(arg, topic, partition) for each (the coordinator writes
 * tombstones) BEFORE freeing. Returns how many. */
size_t st_group_expire_offsets(st_group_t *g, int64_t wall, int64_t retention_ms,
                               void (*fn)(void *arg, const char *topic, int32_t partition),
                               void *arg);
/* True if some member's subscription (consumer protocol) names the topic. */
bool st_group_subscribed(const st_group_t *g, const char *topic);

/* ---- persistence ----------------------------------------------------------------------------- */

/* The group metadata record value for the current state (pointers borrowed from g; free only
 * rec->members with free()). */
int st_group_to_record(const st_group_t *g, st_group_meta_value_t *rec);
/* Loading: adopts a decoded group metadata record (members with their subscription and
 * assignment) into a group just created: Empty without members, else Stable; every member's
 * session timer starts now. 0 or -ENOMEM / -EINVAL (the record breaks an invariant). */
int st_group_load_record(st_group_t *g, const st_group_meta_value_t *rec, int64_t now);

#endif
