/* Private to controller/: the node and controller context shared by st_node.c (session,
 * registration, event loop), st_ctl_zk.c (fenced writes, reads), st_ctl_election.c (election,
 * failover, broker and topic changes), st_ctl_state.c (partition and replica state machines),
 * st_ctl_channel.c (request batches and the per-broker queues) and st_ctl_admin.c (deletion,
 * preferred election, ElectLeaders, controlled shutdown, AlterIsr, auto rebalance).
 *
 * Everything below is owned by the node thread unless marked atomic. */
#ifndef ST_CTL_H
#define ST_CTL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_assign.h"
#include "st_controller.h"
#include "st_mailbox.h"
#include "st_znode.h"
#include "st_zk.h"

typedef enum ctl_pstate {
    PS_NONEXISTENT = 0,
    PS_NEW,
    PS_ONLINE,
    PS_OFFLINE,
} ctl_pstate_t;

typedef enum ctl_rstate {
    RS_NONEXISTENT = 0,
    RS_NEW,
    RS_ONLINE,
    RS_OFFLINE,
    RS_DELETION_STARTED,
    RS_DELETION_SUCCESSFUL,
} ctl_rstate_t;

typedef struct ctl_part {
    st_int_list_t replicas;     /* assignment; replicas.v[0] preferred */
    bool has_lisr;              /* a state znode exists and lisr mirrors it */
    st_lisr_t lisr;             /* leader, epochs, ISR, zk_version */
    ctl_pstate_t state;
    uint8_t *rstate;            /* ctl_rstate_t per replica index */
    uint32_t dir_offline;       /* bit i: replicas.v[i] is on a failed log dir (it answered a
                                 * LeaderAndIsr with KAFKA_STORAGE_ERROR); Kafka's
                                 * replicasOnOfflineDirs. Cleared when that broker dies or
                                 * starts again (st_ctl_logdir.c) */
} ctl_part_t;

typedef struct ctl_topic {
    char *name;
    int32_t n_parts;
    ctl_part_t *parts;
    st_topic_overrides_t cfg;
    bool deleting;
} ctl_topic_t;

typedef struct ctl_broker {
    st_broker_reg_t reg;
    int64_t epoch;              /* czxid */
    bool shutting_down;
} ctl_broker_t;

/* ---- st_ctl_index.c: hash indexes (positions into an array the caller owns) ---------------- */
typedef struct ctl_index_slot {
    uint64_t hash;
    size_t pos1;                /* position + 1; 0: empty slot */
} ctl_index_slot_t;
typedef struct ctl_index {
    ctl_index_slot_t *slots;
    size_t cap;                 /* 0 or a power of two */
    size_t n;
} ctl_index_t;
typedef bool ctl_index_eq_fn(const void *ctx, size_t pos, const void *key);
uint64_t ctl_hash_str(const char *s);
uint64_t ctl_hash_mix(uint64_t h, uint64_t v);
/* The position of an entry with this hash for which eq(ctx, pos, key) holds, or SIZE_MAX. */
size_t ctl_index_find(const ctl_index_t *ix, uint64_t hash, ctl_index_eq_fn *eq,
                      const void *ctx, const void *key);
int ctl_index_add(ctl_index_t *ix, uint64_t hash, size_t pos);          /* 0 or -ENOMEM */
void ctl_index_remove(ctl_index_t *ix, uint64_t hash, size_t pos);      /* must be there */
void ctl_index_move(ctl_index_t *ix, uint64_t hash, size_t from, size_t to);
void ctl_index_clear(ctl_index_t *ix);
bool ctl_index_check(const ctl_index_t *ix);                            /* I1, I2; for assert */

typedef struct ctl_channel ctl_channel_t;
typedef struct ctl_batch ctl_batch_t;

typedef struct batch_item {
    int32_t broker;             /* -1: all live (UpdateMetadata) */
    int32_t api;
    char *topic;
    int32_t p;
    bool flag;                  /* LeaderAndIsr is_new / StopReplica delete */
    int32_t epoch;              /* StopReplica leader epoch */
    bool deleted;               /* UpdateMetadata leader -2 */
} batch_item_t;

struct ctl_batch {
    batch_item_t *v;
    size_t n, cap;
    bool um_empty;
    int32_t *um_full;
    size_t n_um_full;
};


/* The ZooKeeper session as the node thread sees it (st_node.c holds the state diagram). */
typedef enum ctl_session {
    SESSION_REGISTERED = 0,     /* connected (or reconnecting) and /brokers/ids/<id> is ours */
    SESSION_EXPIRED,            /* expired: a new session is started at session_retry_ms */
    SESSION_CONNECTING,         /* a new session was started: waiting for CONNECTED */
    SESSION_UNREGISTERED,       /* connected: registration (then election) due at session_retry_ms */
} ctl_session_t;

#define CTL_PREV_SESSIONS 8

struct st_node {
    st_node_config_t cfg;       /* deep copy (strings owned) */
    char **owned;               /* strings of cfg, freed at stop */
    size_t n_owned;
    st_zk_t *zk;
    st_mailbox_t *mb;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    atomic_bool stand;          /* candidacy */
    int32_t broker_id;
    char cluster_id[64];
    atomic_int_fast64_t broker_epoch;
    atomic_int controller_id;   /* last seen, -1 */
    atomic_int controller_epoch;
    atomic_bool active;         /* public view: in office and not deposed (invariant N1) */
    char *reg_json;             /* our registration payload */

    /* session recovery (node thread) */
    ctl_session_t session;
    int64_t session_retry_ms;   /* when the next reopen / registration attempt is due */
    int session_attempts;       /* failed attempts since the expiry (backoff) */
    int64_t expired_at_ms;      /* when the expiry was seen (for the log) */
    int64_t prev_sessions[CTL_PREV_SESSIONS];   /* our earlier session ids (CheckedEphemeral) */
    size_t n_prev_sessions;

    /* controller state (node thread, valid while in_office) */
    bool in_office;             /* won an election: context, channel and batch exist */
    bool resign_pending;        /* deposed mid-event: every further write and request is
                                 * refused, the resignation runs at the end of the event */
    int32_t epoch;
    int32_t epoch_zkversion;
    ctl_broker_t *brokers;
    size_t n_brokers;
    ctl_topic_t *topics;
    size_t n_topics;
    ctl_index_t topic_ix;       /* name -> position in topics */
    ctl_channel_t *chan;
    ctl_batch_t *batch;
    int64_t next_rebalance_ms;  /* 0: none scheduled */

    /* dynamic configuration (st_ctl_config.c, node thread) */
    int64_t config_seq;         /* sequence of the last /config/changes notification handled,
                                 * -1 before the first listing */
    atomic_bool unclean_default;   /* unclean.leader.election.enable for topics without one */
};

/* ---- st_node.c -------------------------------------------------------------------------- */
int64_t ctl_now_ms(void);
int64_t ctl_wall_ms(void);
/* The node invariants N1-N5 (st_node.c's header); for assert at every transition. */
bool ctl_node_check(const st_node_t *n);
/* A fenced write failed the epoch check: stop acting at once (active false, every later write
 * and request refused); the resignation itself runs at the end of the event. */
void ctl_deposed(st_node_t *n);

/* ---- st_ctl_zk.c ------------------------------------------------------------------------ */
typedef enum { ZOP_CREATE, ZOP_SET, ZOP_DELETE } ctl_zop_kind_t;
typedef struct ctl_zop {
    ctl_zop_kind_t kind;
    char path[320];
    char *data;                 /* owned (create / set), NULL for null data */
    int version;                /* set / delete: expected version (-1 any) */
    int tag;                    /* caller's */
    bool done;                  /* applied */
    int err;                    /* 0 or -errno when this op failed */
    struct Stat stat;           /* set: the new stat */
} ctl_zop_t;
/* What a fenced write returns when the controller was deposed (the /controller_epoch check
 * failed, or the session is gone): ctl_deposed has run, the caller stops at once. Distinct from
 * an op's own -ESTALE (BADVERSION of a partition znode: re-read and retry). */
#define CTL_DEPOSED (-ECANCELED)
/* Runs ops (those not ->done) as fenced multis: each a check of /controller_epoch's version
 * then up to 499 ops, all multis in flight together (ZooKeeper applies them in order). Returns
 * 0 when all are done; CTL_DEPOSED; otherwise the first failing multi's error, with ->err set
 * on the op that failed it (its other ops are not done and keep ->err 0: retry them). */
int ctl_zk_fenced(st_node_t *n, ctl_zop_t *ops, size_t n_ops);
void ctl_zops_free(ctl_zop_t *ops, size_t n_ops);
/* Reads the state znodes of refs' partitions, pipelined (has_lisr false on -ENOENT; a garbage
 * znode: logged, no leader). 0 or the first -errno other than -ENOENT. */
struct ctl_tpref;
int ctl_zk_read_states(st_node_t *n, struct ctl_tpref *refs, size_t count);
int ctl_zk_read_state(st_node_t *n, ctl_topic_t *t, int32_t p);
/* Loads /brokers/ids (with a child watch when watch) into a fresh array, pipelined. */
int ctl_zk_load_brokers(st_node_t *n, bool watch, ctl_broker_t **ret, size_t *ret_n);
void ctl_brokers_free(ctl_broker_t *b, size_t n);
/* Loads the topics `names` (/brokers/topics/<name> with a data watch, /config/topics/<name>,
 * and their state znodes when with_states), pipelined: three round trips for any number of
 * topics and partitions. Topics that are gone or garbage are left out (garbage is logged);
 * *ret is a malloc'd array of *ret_n topics. 0 or -errno (nothing to free). */
int ctl_zk_load_topics(st_node_t *n, char *const *names, size_t cnt, bool with_states,
                       ctl_topic_t **ret, size_t *ret_n);
void ctl_topic_free(ctl_topic_t *t);

/* ---- context helpers (st_ctl_election.c) ---------------------------------------------- */
ctl_broker_t *ctl_broker(st_node_t *n, int32_t id);
bool ctl_live(st_node_t *n, int32_t id);             /* registered (shutting down or not) */
bool ctl_live_not_shutting(st_node_t *n, int32_t id);
ctl_topic_t *ctl_topic(st_node_t *n, const char *name);      /* hashed */
/* Adds a topic (moved in; *t is zeroed) / removes the one at index i (swap with the last). */
int ctl_topic_add(st_node_t *n, ctl_topic_t *t);
void ctl_topic_remove(st_node_t *n, size_t i);
size_t ctl_partition_count(const st_node_t *n);
bool ctl_context_check(st_node_t *n);                  /* C1-C3 (st_ctl_election.c); assert */
bool ctl_topic_unclean(st_node_t *n, const ctl_topic_t *t);
void ctl_elect(st_node_t *n);                        /* stand: try to become controller */
void ctl_resign(st_node_t *n, const char *why);
void ctl_on_zk_event(st_node_t *n, st_zk_event_type_t type, const char *path);
void ctl_broker_change(st_node_t *n);
void ctl_topics_change(st_node_t *n);
void ctl_topic_change(st_node_t *n, const char *name);
void ctl_end_event(st_node_t *n);                    /* send the batch; resign if asked */

/* ---- st_ctl_state.c: partition and replica state machines -------------------------------- */
typedef enum {
    ELECT_OFFLINE,              /* broker failure, new/offline partitions */
    ELECT_PREFERRED,
    ELECT_CONTROLLED_SHUTDOWN,
    ELECT_UNCLEAN,              /* admin-triggered: offline with unclean allowed */
} ctl_strategy_t;
typedef struct ctl_tpref {   /* a partition of the cache */
    ctl_topic_t *t;
    int32_t p;
    int err;                    /* out: ST_ERR_* */
} ctl_tpref_t;
/* Online/Offline -> Online with a strategy: computes, writes (fenced, batched, BADVERSION
 * re-read and retried), updates the cache and queues LeaderAndIsr + UpdateMetadata. Per
 * partition result in refs[i].err. CTL_DEPOSED when deposed. */
int ctl_elect_partitions(st_node_t *n, ctl_tpref_t *refs, size_t count, ctl_strategy_t strategy);
/* New -> Online for partitions without state: creates state znodes (fenced). */
int ctl_create_partitions(st_node_t *n, ctl_tpref_t *refs, size_t count);
/* Replicas on `broker` -> OfflineReplica: remove from ISR (never below one; leader -1 if it
 * was the leader), fenced writes, LeaderAndIsr to the others. */
int ctl_replicas_offline(st_node_t *n, ctl_tpref_t *refs, size_t count, int32_t broker);
/* Moves partitions whose leader is not live to Offline, then elects (offline strategy). */
int ctl_trigger_online(st_node_t *n);
void ctl_part_set_state(ctl_topic_t *t, int32_t p, ctl_pstate_t st);
void ctl_replica_set_state(ctl_topic_t *t, int32_t p, size_t idx, ctl_rstate_t st);
void ctl_part_init_state(st_node_t *n, ctl_topic_t *t, int32_t p);   /* from the cache */
void ctl_part_init_states(st_node_t *n, ctl_topic_t *t);
bool ctl_part_check(const ctl_topic_t *t, int32_t p);   /* the invariants; for assert */
const char *ctl_pstate_name(ctl_pstate_t s);
/* The cluster as st_assign sees it: sorted live and shutting-down broker ids (buffers owned by
 * *ret; free with ctl_cluster_free). 0 or -ENOMEM. */
typedef struct ctl_cluster {
    st_assign_cluster_t c;
    int32_t *live;
    int32_t *shutting;
} ctl_cluster_t;
int ctl_cluster_build(const st_node_t *n, ctl_cluster_t *ret);
void ctl_cluster_free(ctl_cluster_t *c);
/* st_assign's view of one partition (pointers into the cache). */
st_assign_partition_t ctl_assign_part(const ctl_part_t *part);

/* ---- st_ctl_channel.c --------------------------------------------------------------------- */
int ctl_channel_open(st_node_t *n);
void ctl_channel_close(st_node_t *n);
/* Brokers added/removed: updates the channel's connections and queues (removed: dropped). */
void ctl_channel_sync_brokers(st_node_t *n);
/* Queue into the current batch (sent by ctl_end_event). */
void ctl_batch_leader_and_isr(st_node_t *n, int32_t broker, ctl_topic_t *t, int32_t p, bool is_new);
void ctl_batch_update_metadata(st_node_t *n, ctl_topic_t *t, int32_t p);   /* to all live */
void ctl_batch_update_metadata_empty(st_node_t *n);                        /* brokers only, to all */
void ctl_batch_update_metadata_full(st_node_t *n, int32_t broker);        /* all partitions */
void ctl_batch_stop_replica(st_node_t *n, int32_t broker, const char *topic, int32_t p,
                            bool delete_partition, int32_t leader_epoch);
/* Deleted topic's partitions in UpdateMetadata with leader -2. */
void ctl_batch_update_metadata_deleted(st_node_t *n, const char *topic, int32_t p);
void ctl_batch_send(st_node_t *n);
void ctl_batch_discard(st_node_t *n);
/* Node thread: a channel completion posted by the client's I/O thread. */
void ctl_channel_on_reply(st_node_t *n, void *reply);
/* Node thread: resends due retries; returns the next due time (INT64_MAX none). */
int64_t ctl_channel_tick(st_node_t *n, int64_t now_ms);
/* For tests and metrics: requests queued or in flight. */
size_t ctl_channel_pending(st_node_t *n);

/* ---- st_ctl_requests.c: builds the batch's protobuf requests --------------------------------- */
typedef void ctl_enqueue_fn(ctl_channel_t *ch, int32_t broker, int32_t api, const ProtobufCMessage *msg);
void ctl_build_and_send(st_node_t *n, ctl_batch_t *b, ctl_channel_t *ch, ctl_enqueue_fn *enq);

/* ---- st_ctl_logdir.c: log dir failures (Kafka's onBrokerLogDirFailure) ------------------------ */
/* Kafka's ControllerContext.isReplicaOnline: the broker is live and the replica is not on a
 * failed log dir. */
bool ctl_replica_online(st_node_t *n, const ctl_part_t *part, size_t idx);
bool ctl_broker_replica_online(st_node_t *n, const ctl_part_t *part, int32_t broker);
/* /log_dir_event_notification changed: reads and deletes the notifications (fenced), then
 * sends LeaderAndIsr for every replica on the brokers they name. */
void ctl_log_dir_event_change(st_node_t *n);
/* Failover: deletes pending notifications (the LeaderAndIsr sent to every live replica at
 * failover finds the offline ones anyway) and sets the child watch. */
void ctl_log_dir_events_reset(st_node_t *n);
/* A broker's LeaderAndIsr answer: per partition, KAFKA_STORAGE_ERROR marks the replica offline
 * and NONE online again; newly offline replicas go through onReplicasBecomeOffline (their
 * leaderships elected elsewhere, then out of the ISR). */
typedef struct ctl_tp_code {
    char *topic;
    int32_t partition;
    int32_t code;
} ctl_tp_code_t;
void ctl_on_leader_and_isr_response(st_node_t *n, int32_t broker, const ctl_tp_code_t *tps,
                                    size_t n_tps);
/* Forgets that broker's failed log dirs (it died or started again: Kafka clears
 * replicasOnOfflineDirs then, the new process reports its own). */
void ctl_clear_offline_dirs(st_node_t *n, int32_t broker);

/* ---- st_ctl_config.c: /config/changes ------------------------------------------------------- */
/* Lists /config/changes (re-arming the child watch) and handles, in order, every notification
 * above the last one handled: a topic's cached overrides are re-read when this node is the
 * active controller (a znode that does not decode is logged with its path and the previous
 * overrides kept), then cfg.on_config_change is called. Notifications older than 15 minutes
 * are deleted (Kafka's purge). initial: only notes where the sequence stands (the broker reads
 * the current configuration itself at start). */
void ctl_config_changes(st_node_t *n, bool initial);

/* ---- st_ctl_admin.c ----------------------------------------------------------------------- */
void ctl_delete_topics_change(st_node_t *n);
void ctl_preferred_znode(st_node_t *n);
void ctl_auto_rebalance(st_node_t *n);
typedef struct ctl_submit {
    st_node_t *n;
    int kind;                   /* STRAND__API_KEY__* */
    ProtobufCMessage *req;      /* deep copy (unpacked) */
    void *done;                 /* st_node_*_done_fn */
    void *arg;
} ctl_submit_t;
void ctl_submit_run(st_node_t *n, struct ctl_submit *s);       /* node thread */
void ctl_submit_not_controller(struct ctl_submit *s);          /* completes with NOT_CONTROLLER */
void ctl_submit_free(struct ctl_submit *s);

#endif
