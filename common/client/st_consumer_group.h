/* Consumer group membership for strand_consumer_t: the member's state (st_cgroup_t), shared by
 * st_consumer_group.c (coordinator lookup, JoinGroup / SyncGroup / Heartbeat / LeaveGroup, the
 * leader's assignment: the I/O thread's half), st_consumer_app.c (the application-thread half of
 * a rebalance, subscribe, close) and st_consumer_offsets.c (OffsetCommit / OffsetFetch: commit jobs, committed offsets of newly
 * assigned partitions, auto commit), and the hooks st_consumer.c calls. Internal.
 *
 * Member states (g->state, Kafka's AbstractCoordinator.MemberState), I/O thread transitions:
 *
 *   UNJOINED --join_send--> PREPARING_REBALANCE (JoinGroup in flight; MEMBER_ID_REQUIRED resends)
 *   PREPARING_REBALANCE --join_cb ok--> COMPLETING_REBALANCE (leader: assignor, then SyncGroup;
 *                                        follower: SyncGroup)
 *   COMPLETING_REBALANCE --sync_cb ok--> STABLE (assignment_ready for the app thread)
 *   PREPARING / COMPLETING --error, coordinator lost--> UNJOINED (rejoin_needed)
 *   STABLE --heartbeat REBALANCE_IN_PROGRESS, subscription or metadata change--> STABLE with
 *            rejoin_needed (join_send moves on once the app thread has prepared)
 *   any --ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / poll timeout--> UNJOINED, generation -1
 *            (UNKNOWN_MEMBER_ID, poll timeout: member_id "" too)
 *   any --FENCED_INSTANCE_ID, fatal join error--> fatal (sticky; nothing is sent any more)
 *
 * The application thread's half (cg_app_step, inside poll / commit / close):
 *   - applies a received assignment (assignment_ready): callbacks, new partitions in state
 *     CP_COMMITTED, owned := assignment; cooperative: revokes what was taken away and rejoins;
 *   - prepares a join when rejoin_needed and cg_needs_app_prepare(): eager revokes every owned
 *     partition (committing first), cooperative revokes what left the subscription; a lost
 *     membership (generation -1) reports LOST instead and commits nothing;
 *   - runs auto commits and commit-async callbacks.
 * The I/O thread sends JoinGroup only when rejoin_needed && !assignment_ready && !app_busy &&
 * !cg_needs_app_prepare() && !poll_expired, so JoinGroup always carries the partitions the
 * application really holds (cooperative ownedPartitions).
 *
 * Invariants (cg_check, asserted at every transition): STABLE and COMPLETING imply a member id
 * and generation >= 0 (COMPLETING: the generation of the join); UNJOINED implies no JoinGroup or
 * SyncGroup in flight; at most one JoinGroup, one SyncGroup, one Heartbeat, one LeaveGroup and
 * one FindCoordinator in flight (their slots hold the sequence number of the live request;
 * answers to older ones are ignored); owned is sorted and duplicate-free; fatal implies nothing
 * in flight is acted upon.
 *
 * Connections: the coordinator gets three dedicated connections (st_client_broker_dedicated), as
 * a parked request holds its connection: CG_NODE_JOIN (JoinGroup, SyncGroup), CG_NODE_HB (held
 * Heartbeats, HeartbeatRequest.max_wait_ms) and CG_NODE_AUX (OffsetCommit, OffsetFetch,
 * LeaveGroup). Node ids are INT32_MAX - k*2^28 - coordinator id: broker ids must stay below 2^28.
 *
 * Locks: everything here is guarded by c->lock (the consumer's), except the fields marked
 * "fixed" (set at creation). */
#ifndef ST_CONSUMER_GROUP_H
#define ST_CONSUMER_GROUP_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "st_assignor.h"
#include "st_consumer_int.h"

#define CG_NODE_JOIN(id) (INT32_MAX - (id))
#define CG_NODE_HB(id)   (INT32_MAX - (1 << 28) - (id))
#define CG_NODE_AUX(id)  (INT32_MAX - (2 << 28) - (id))

enum { CG_UNJOINED, CG_PREPARING_REBALANCE, CG_COMPLETING_REBALANCE, CG_STABLE };
enum { CG_SUB_NONE, CG_SUB_TOPICS, CG_SUB_PATTERN };
enum { CG_JOB_COMMIT, CG_JOB_FETCH };

/* A commit (or committed-offsets fetch) on its way to the coordinator. */
typedef struct st_cg_job {
    struct st_cg_job *next;
    int kind;                       /* CG_JOB_* */
    strand_topic_partition_t *tps;  /* n entries; topics malloc'd */
    int32_t *epochs;                /* COMMIT: leader epoch per entry (-1 unknown) */
    size_t n;
    int32_t generation;             /* COMMIT in a group: the generation the positions belong
                                       to; -1 outside group membership (manual assignment) */
    char *member_id;
    int64_t deadline_ms;
    int64_t retry_at_ms;
    uint64_t sent_seq;              /* != 0 while in flight: the request's sequence number */
    bool is_auto;                   /* auto commit (no callback; errors logged at debug) */
    bool sync;                      /* an application thread waits for done */
    bool done;
    int err;
    char errstr[256];
    strand_commit_cb_t *cb;         /* async commit callback (may be NULL) */
    void *opaque;
} st_cg_job_t;

struct st_cgroup {
    /* configuration (fixed) */
    char *group_id;
    char *instance_id;              /* NULL: dynamic member */
    st_assignor_t assignors[ST_ASSIGNOR_COUNT];
    size_t n_assignors;
    bool cooperative;               /* every assignor is cooperative (RebalanceProtocol) */
    int32_t session_timeout_ms, heartbeat_interval_ms, rebalance_timeout_ms;
    bool auto_commit;
    int32_t auto_commit_interval_ms;
    bool exclude_internal;

    /* subscription */
    int sub_mode;                   /* CG_SUB_* */
    char **sub_topics;              /* sorted, unique: the topics (pattern: those matched) */
    size_t n_sub_topics;
    regex_t sub_re;
    bool sub_re_live;
    uint64_t sub_version;           /* bumped when sub_topics change */
    uint64_t joined_sub_version;    /* sub_version sent in the last JoinGroup */

    /* coordinator */
    int32_t coord_id;               /* -1: unknown */
    char coord_host[256];
    int coord_port;
    uint64_t find_req;              /* FindCoordinator in flight (seq), 0 none */
    int64_t find_retry_at;
    int64_t coord_retry_at;         /* back-off after COORDINATOR_LOAD_IN_PROGRESS */

    /* membership */
    int state;                      /* CG_UNJOINED, ... */
    char *member_id;                /* "" when none (never NULL) */
    int32_t generation;             /* -1 when none */
    char *protocol;                 /* assignor chosen for the generation, NULL if none */
    char *leader_id;                /* NULL if none */
    bool rejoin_needed;
    bool app_busy;                  /* the application thread is between the two halves of a
                                       step (callbacks, commits): no JoinGroup meanwhile */
    bool poll_expired;              /* left after max.poll.interval.ms: no rejoin before poll */
    uint64_t seq;                   /* request sequence numbers (never 0) */
    uint64_t join_req, sync_req, hb_req, leave_req;   /* in-flight slots (seq, 0 none) */
    int64_t join_retry_at;
    int64_t next_hb_at;
    /* leader: waiting for metadata of the group's topics before running the assignor */
    bool assign_pending;
    int64_t assign_deadline;
    uint64_t assign_md_version;
    struct cg_lead *lead;           /* decoded JoinGroup members (st_consumer_group.c) */
    /* leader: partition counts the last assignment used (a change triggers a rebalance) */
    char **snap_topics;
    int32_t *snap_counts;
    size_t n_snap;
    /* the assignment from SyncGroup, waiting for the application thread */
    bool assignment_ready;
    st_tp_list_t pending;
    int32_t pending_generation;
    /* what the application holds */
    st_tp_list_t owned;             /* sorted (topic, partition) */
    st_tp_list_t last;              /* the last assignment received (sticky user data) */
    int32_t last_generation;
    int64_t rebalances;

    /* LeaveGroup to send (dynamic members): the member id that leaves, until answered or
     * leave_deadline */
    char *leave_member;
    const char *leave_reason;
    int64_t leave_deadline;
    int64_t leave_retry_at;

    /* application liveness */
    int64_t last_poll_ms;

    /* fatal error (sticky) */
    int fatal;
    char fatal_msg[512];

    /* offsets (st_consumer_offsets.c) */
    st_cg_job_t *jobs_head, *jobs_tail;   /* queued and in flight, in call order */
    st_cg_job_t *done_head, *done_tail;   /* finished async jobs awaiting their callbacks */
    uint64_t ofetch_req;            /* OffsetFetch for CP_COMMITTED partitions in flight */
    int64_t ofetch_retry_at;
    int64_t next_auto_commit_ms;
    bool auto_inflight;             /* an auto-commit job is queued or in flight */
};

/* ---- st_consumer_group.c and st_consumer_app.c ------------------------------------------------ */

/* Creates c->grp from the configuration when group.id is set (c->grp stays NULL otherwise).
 * 0 or ST_ERR_INVALID_CONFIG with errstr (group.instance.id empty, heartbeat.interval.ms not
 * below session.timeout.ms, ...). Before the I/O thread starts using it. */
int st_cgroup_create(strand_consumer_t *c, const st_client_conf_t *conf, char *errstr,
                     size_t errstr_size);
/* Frees c->grp (I/O thread stopped). */
void st_cgroup_free(strand_consumer_t *c);

/* I/O thread hooks (c->lock NOT held): the role's tick, next_wakeup and on_metadata. */
void st_cgroup_tick(strand_consumer_t *c, int64_t now);
int64_t st_cgroup_next_wakeup(strand_consumer_t *c, int64_t now);
void st_cgroup_on_metadata(strand_consumer_t *c);

/* App thread, c->lock held: true when cg_app_step has work (poll then stops waiting). */
bool st_cgroup_app_pending_locked(const strand_consumer_t *c, int64_t now);
/* App thread, c->lock NOT held: the application's half of the group's work (see above).
 * Returns 0 or the fatal error. */
int st_cgroup_app_step(strand_consumer_t *c);
/* App thread, c->lock held: the application is alive (poll was called). */
void st_cgroup_polled_locked(strand_consumer_t *c, int64_t now);

/* Lock held: the coordinator is unknown from now on (errors, failover); `why` for the log. */
void cg_coordinator_lost(strand_consumer_t *c, const char *why);
/* Lock held: membership reset after a fenced generation (reset_member: member id too) and
 * rejoin; cooperative owned partitions become LOST at the next app step. */
void cg_reset_generation(strand_consumer_t *c, bool reset_member, const char *why);
/* Lock held: a fatal error; the application sees it from its next poll. */
void cg_fatal(strand_consumer_t *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Lock held: wakes the application thread (poll) and the I/O thread. */
void cg_wake(strand_consumer_t *c);
/* A new request sequence number (lock held). */
uint64_t cg_next_seq(st_cgroup_t *g);

/* ---- shared by st_consumer_group.c and st_consumer_app.c (lock held where state is touched) -- */

/* One line to the log callback (strand_conf_set_log_cb), in Kafka's ConsumerCoordinator words;
 * key: what makes two messages "the same condition" for the throttle. ST_DEBUG without one. */
#define CG_LOG(c, level, key, ...) \
    st_client_log(&(c)->cl, level, "strand.consumer", key, __VA_ARGS__)

/* How long close / unsubscribe wait for LeaveGroup at most (beyond it, the session expires). */
#define CG_LEAVE_TIMEOUT_MS 5000

/* What the application thread has to do next (cg_app_work). */
enum { CG_WORK_NONE, CG_WORK_FATAL, CG_WORK_ASSIGNMENT, CG_WORK_PREPARE, CG_WORK_CALLBACKS,
       CG_WORK_AUTO_COMMIT };
int cg_app_work(const strand_consumer_t *c, int64_t now);
/* True when owned partitions must be handed back (by the app thread) before the next JoinGroup:
 * LOST (generation -1), eager (all), cooperative (topics no longer subscribed). */
bool cg_needs_app_prepare(const strand_consumer_t *c);
/* The invariants of st_cgroup_t (see the top); asserted at every transition. */
bool cg_check(const st_cgroup_t *g);
/* Forgets a JoinGroup / SyncGroup in flight and the leader's pending assignment. */
void cg_drop_rebalance(st_cgroup_t *g);
/* A dynamic member with a member id queues its LeaveGroup (sent by the I/O thread). */
void cg_queue_leave(strand_consumer_t *c, const char *why, int64_t deadline);
/* The topics of the latest metadata matching the subscription pattern, sorted (cl->lock held
 * too). 0 or -ENOMEM. */
int cg_match_pattern(strand_consumer_t *c, char ***ret, size_t *ret_n);
void cg_snap_free(st_cgroup_t *g);

/* Topic-partition lists (sorted by (topic, partition), topics owned) and string vectors. */
int cg_tp_cmp(const void *a, const void *b);
int cg_tp_push(st_tp_list_t *l, const char *topic, int32_t partition);
int cg_tp_copy(st_tp_list_t *dst, const st_tp_list_t *src);
int cg_tp_minus(const st_tp_list_t *a, const st_tp_list_t *b, st_tp_list_t *ret);
int cg_str_cmp(const void *a, const void *b);
bool cg_str_in(char *const *v, size_t n, const char *s);
bool cg_strv_equal(char *const *a, size_t na, char *const *b, size_t nb);
void cg_strv_free(char **v, size_t n);
void cg_set_str(char **slot, const char *s);

/* ---- st_consumer_offsets.c ------------------------------------------------------------------ */

/* I/O thread, lock held: requests to send now (commit jobs, OffsetFetch for CP_COMMITTED
 * partitions), appended to *reqs (sent by the caller after unlocking). */
void cg_offsets_tick(strand_consumer_t *c, int64_t now, st_req_t **reqs);
/* I/O thread, lock held: the earliest time cg_offsets_tick has something to do after now. */
int64_t cg_offsets_next_wakeup(const strand_consumer_t *c, int64_t now);
/* Lock held: the coordinator changed: in-flight jobs and fetches go back to their queues. */
void cg_offsets_coordinator_lost(strand_consumer_t *c);
/* Lock held: true when something needs the coordinator (jobs, CP_COMMITTED partitions). */
bool cg_offsets_need_coordinator(const strand_consumer_t *c);

/* App thread, lock NOT held: commits the positions of `filter` (NULL: every assigned partition)
 * synchronously, waiting up to timeout_ms. 0 or the first error. */
int cg_commit_positions_sync(strand_consumer_t *c, const st_tp_list_t *filter, int timeout_ms);
/* App thread, lock held: queues an auto commit of every assigned partition's position when one
 * is due (enable.auto.commit) and none is pending. */
void cg_auto_commit_locked(strand_consumer_t *c, int64_t now, bool force);
/* App thread, lock NOT held: runs the callbacks of finished async commits. */
void cg_deliver_commit_callbacks(strand_consumer_t *c);
/* App thread, lock NOT held: waits until no commit job is pending, up to deadline_ms. */
void cg_wait_jobs(strand_consumer_t *c, int64_t deadline_ms);
/* Frees a job that is in no list. */
void cg_job_free(st_cg_job_t *job);
/* Lock held: fails every queued job with err (close, fatal). */
void cg_fail_jobs(strand_consumer_t *c, int err, const char *why);

#endif
