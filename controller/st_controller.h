/* The one header broker/ uses to reach controller/: a node is this broker's presence in the
 * cluster -- its ZooKeeper session, its registration /brokers/ids/<id> (whose czxid is the
 * broker epoch), the cluster id, and its controller candidacy. When this node wins the
 * /controller election it runs Kafka's ZooKeeper-mode controller (reference §2): partition and
 * replica state machines, leader election, topic deletion, preferred election, controlled
 * shutdown, AlterIsr, auto rebalance, and a channel that talks to every broker (this one
 * included) over the wire with LeaderAndIsr / UpdateMetadata / StopReplica.
 *
 * Threads and ownership
 *   - st_node_start runs on the caller's thread and blocks for the ZooKeeper round trips of
 *     registration; it then starts ONE node thread (the "controller event thread") that owns
 *     the session, the registration, the candidacy and all controller state. libzookeeper_mt
 *     callbacks and the channel's I/O thread only post to that thread's mailbox.
 *   - The getters are lock-free (atomics / immutable after start) and callable from any thread.
 *   - st_node_submit_* may be called from any thread (a broker network loop); the request is
 *     copied, so the caller's message may be freed on return. The done callback runs later on
 *     the node thread, exactly once; the response it receives is valid only during the call
 *     (copy or pack it, then post it back to the broker's own loop). It must not call st_node_*.
 *   - on_broker_epoch / on_controller_change callbacks also run on the node thread.
 *   - st_node_stop from the thread that started the node (not from a callback).
 *   - st_node_zk gives topic admin the session (st_zk_* calls are thread-safe); the pointer
 *     stays valid across session re-creation until st_node_stop.
 *
 * Session expiry (Kafka §2.11): the node thread resigns if controller (before anything of the
 * new session is processed), starts a new session without waiting for it, re-registers when it
 * is connected (a new broker epoch, reported through on_broker_epoch; a registration left by one
 * of our earlier sessions is deleted and re-created, Kafka's CheckedEphemeral) and stands for
 * election again. Reopen and registration retries run on the node thread's timers (100 ms
 * backoff doubling to 2 s): the thread never sleeps, so submissions keep being answered.
 *
 * Deposition: when a write of the controller fails the /controller_epoch version check (another
 * controller was elected, KAFKA-6082), st_node_is_controller turns false at once, nothing more
 * is written or sent for that term, requests being served are answered NOT_CONTROLLER, and the
 * node stands again. */
#ifndef ST_CONTROLLER_H
#define ST_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_zk.h"
#include "strand.pb-c.h"

typedef struct st_node st_node_t;

/* An advertised listener, as registered in /brokers/ids/<id>. */
typedef struct st_node_listener {
    const char *name;               /* PLAINTEXT, SSL, INTERNAL, ... */
    const char *security_protocol;  /* PLAINTEXT or SSL */
    const char *host;
    int port;
} st_node_listener_t;

typedef struct st_node_config {
    int32_t broker_id;              /* broker.id; -1 with id_generation: from /brokers/seqid */
    bool id_generation;             /* broker.id.generation.enable */
    const char *zk_connect;         /* zookeeper.connect ("h:p,h:p/chroot") */
    int zk_session_timeout_ms;
    int zk_connection_timeout_ms;   /* <= 0: the session timeout */
    const st_node_listener_t *listeners;
    size_t n_listeners;
    const char *rack;               /* broker.rack, NULL none */
    /* The controller channel: which listener of the other brokers to connect to
     * (inter.broker.listener.name; NULL: the first listener) and client-core settings for it as
     * "key=value" strings (security.protocol=SSL, ssl.ca.location=..., NULL-ended, may be NULL;
     * security.protocol defaults to the listener's protocol). */
    const char *inter_broker_listener;
    const char *const *channel_conf;
    /* controller settings (Kafka's keys) */
    bool unclean_leader_election_enable;      /* unclean.leader.election.enable (false) */
    bool auto_leader_rebalance_enable;        /* auto.leader.rebalance.enable (true) */
    int leader_imbalance_per_broker_percentage;  /* 10 */
    int leader_imbalance_check_interval_seconds; /* 300 */
    int auto_rebalance_first_check_ms;        /* <= 0: 5000 (Kafka's fixed 5 s) */
    int channel_retry_backoff_ms;             /* <= 0: 100 */
    bool no_candidacy;              /* do not stand for controller at start (st_node_candidacy) */
    /* callbacks, on the node thread; may be NULL */
    void (*on_broker_epoch)(void *arg, int64_t broker_epoch);   /* after re-registration */
    /* A dynamic configuration change announced under /config/changes (Kafka's
     * AdminZkClient notifications): entity_type "topics" (name: the topic) or "brokers" (name:
     * a broker id or "<default>"). The node has already refreshed its own copy of a topic's
     * overrides when it is the controller; the callback re-reads and applies the rest. Must
     * only post the work elsewhere (no ZooKeeper round trips on the node thread). */
    void (*on_config_change)(void *arg, const char *entity_type, const char *name);
    void (*on_controller_change)(void *arg, int32_t controller_id, int32_t controller_epoch);
    void *cb_arg;
} st_node_config_t;

/* Sets Kafka's defaults for the controller settings (everything else zero). */
void st_node_config_init(st_node_config_t *cfg);

/* Connects (a timeout is an error naming the ensemble), ensures the persistent paths, reads or
 * creates /cluster/id once, generates the broker id from /brokers/seqid when asked, registers
 * the ephemeral /brokers/ids/<id> (an id held by another live broker is an error naming the id
 * and the holder's endpoints), then starts the node thread, which stands for controller.
 * A registration advertising exactly cfg->listeners is taken for one left by a previous process
 * of this broker (killed before its session expired) and replaced at once: the caller must have
 * bound those listeners before calling. 0 or -errno with errbuf set; nothing to free on failure. */
int st_node_start(const st_node_config_t *cfg, st_node_t **ret_node, char *errbuf, size_t errlen);
/* Resigns (if controller), closes the session (the registration and /controller go at once),
 * joins the thread and frees everything. Pending submissions complete with NOT_CONTROLLER. */
void st_node_stop(st_node_t *node);

int32_t st_node_broker_id(const st_node_t *node);
int64_t st_node_broker_epoch(const st_node_t *node);     /* czxid of /brokers/ids/<id> */
const char *st_node_cluster_id(const st_node_t *node);
/* The active controller as last seen in /controller (-1 unknown), and whether it is us. */
int32_t st_node_controller_id(const st_node_t *node);
bool st_node_is_controller(const st_node_t *node);       /* in office and not deposed */
int32_t st_node_controller_epoch(const st_node_t *node);  /* ours while active, else last seen */
st_zk_t *st_node_zk(st_node_t *node);
/* Tells the controller that a log dir of this broker failed (Kafka's propagateLogDirEvent):
 * creates /log_dir_event_notification/log_dir_event_<seq> holding
 * {"version":1,"broker":<id>,"event":1}. The controller then sends this broker LeaderAndIsr
 * for all its replicas, learns from the KAFKA_STORAGE_ERROR answers which are offline and
 * moves their leadership away. Blocking (one ZooKeeper round trip); any thread but the node
 * thread. ret_path (may be NULL) gets the znode created. 0 or -errno. */
int st_node_notify_log_dir_failure(st_node_t *node, char *ret_path, size_t ret_path_len);
/* Starts or stops standing for controller (stop resigns if active). Any thread. */
void st_node_candidacy(st_node_t *node, bool stand);
/* The cluster default of unclean.leader.election.enable the controller uses for topics without
 * an override (the broker's dynamic configuration changed it). Any thread. */
void st_node_set_unclean_leader_election(st_node_t *node, bool enable);

/* ---- broker -> controller requests ----------------------------------------------------------
 * Each returns 0 (accepted: done will be called once on the node thread, with error_code
 * NOT_CONTROLLER if the role was lost before it ran), -ENOTCONN when this node is not the
 * active controller (done is not called; answer NOT_CONTROLLER), or -ENOMEM. */
typedef void st_node_elect_done_fn(void *arg, const Strand__ElectLeadersResponse *resp);
typedef void st_node_shutdown_done_fn(void *arg, const Strand__ControlledShutdownResponse *resp);
typedef void st_node_alter_isr_done_fn(void *arg, const Strand__AlterIsrResponse *resp);

int st_node_submit_elect_leaders(st_node_t *node, const Strand__ElectLeadersRequest *req,
                                 st_node_elect_done_fn *done, void *arg);
int st_node_submit_controlled_shutdown(st_node_t *node, const Strand__ControlledShutdownRequest *req,
                                       st_node_shutdown_done_fn *done, void *arg);
int st_node_submit_alter_isr(st_node_t *node, const Strand__AlterIsrRequest *req,
                             st_node_alter_isr_done_fn *done, void *arg);

#endif
