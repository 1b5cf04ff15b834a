/* The client core shared by producer, consumer and admin: one I/O thread (epoll) owning the
 * broker connections, request queues with correlation ids and timeouts, bootstrap, ApiVersions
 * on connect, and the metadata cache.
 *
 * Threads and locks
 *   - The I/O thread owns every st_broker_t, the any-broker queue and all request queues. It is
 *     the only thread that touches sockets.
 *   - Application threads hand requests over through the submit queue (cl->lock) and wake the
 *     I/O thread through an eventfd (st_client_wake, coalesced by cl->wake_pending).
 *   - The metadata cache is written by the I/O thread and read by anyone, under cl->lock;
 *     cl->md_cond is broadcast after every metadata response (cl->md_version increments).
 *   - Request callbacks (st_req_cb_t) run on the I/O thread, exactly once per request, or on the
 *     thread calling st_client_stop() (with ST_ERR_DESTROYED) for requests still queued then.
 *
 * Broker connection states (st_broker_t.state), each transition made by one function:
 *   DOWN --broker_connect--> CONNECTING --(writable, connected)--> HANDSHAKE (transport)
 *        --(handshake done; ApiVersions queued first)--> APIVERSIONS --(response ok)--> UP
 *   any state --broker_fail--> DOWN (socket closed; requests failed or re-routed; reconnect
 *        allowed after reconnect_at, backoff doubling up to reconnect.backoff.max.ms).
 * Invariants (checked by broker_check): fd >= 0 iff state != DOWN; in UP every request in waitq
 * has been fully written; in states before UP only handshake requests have been written. */
#ifndef ST_CLIENT_H
#define ST_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <protobuf-c/protobuf-c.h>

#include "st_buf.h"
#include "st_client_conf.h"
#include "st_frame.h"
#include "st_transport.h"
#include "strand.pb-c.h"

#define ST_BROKER_ANY        (-1000)   /* any reachable broker (bootstrap or known) */
#define ST_BROKER_CONTROLLER (-1001)   /* the controller named by metadata (else any) */

#define ST_API_MAX_KEY 64

typedef struct st_client st_client_t;
typedef struct st_broker st_broker_t;
typedef struct st_req st_req_t;

/* A received frame: buf holds the frame payload (after the size prefix); view points into it.
 * A callback may take ownership of buf by setting it to NULL (then release it with
 * st_client_buf_put). */
typedef struct st_rframe {
    uint8_t *buf;
    size_t len;
    size_t cap;
    st_frame_view_t view;
} st_rframe_t;

/* err: 0 with resp != NULL (or resp == NULL for requests that expect no response); else an
 * ST_ERR_* code with a one-line errstr naming the broker. */
typedef void st_req_cb_t(st_client_t *cl, st_req_t *req, int err, const char *errstr,
                         st_rframe_t *resp);

struct st_req {
    st_req_t *next;
    int32_t api_key;
    int32_t corr_id;
    int32_t target;              /* node id, ST_BROKER_ANY or ST_BROKER_CONTROLLER */
    st_buf_t out;                /* size prefix + header + body */
    struct iovec *tail;          /* raw tail pieces (not owned), tail_cnt of them */
    int tail_cnt;
    size_t total;                /* out.len + tail bytes */
    size_t written;
    int64_t enq_ms;
    int64_t deadline_ms;
    bool no_response;            /* acks=0 produce: completes once written */
    bool handshake;              /* may be written before the connection is UP */
    bool any;                    /* re-routed to another broker if its connection fails */
    uint64_t any_seq;            /* cl->fail_counter when it entered the any-broker queue */
    st_req_cb_t *cb;
    void *arg;
    st_broker_t *broker;         /* broker it is queued on, NULL while unrouted */
};

typedef enum st_bstate {
    ST_BS_DOWN,
    ST_BS_CONNECTING,
    ST_BS_HANDSHAKE,
    ST_BS_APIVERSIONS,
    ST_BS_UP,
} st_bstate_t;

struct st_broker {
    int32_t node_id;             /* < 0 for bootstrap entries: -1, -2, ... */
    char host[256];
    int port;
    char addr[300];              /* "host:port" for messages */
    st_transport_conn_t conn;
    st_bstate_t state;
    int64_t state_since_ms;
    int64_t reconnect_at_ms;
    int32_t backoff_ms;
    int64_t last_fail_ms;        /* 0 = never failed */
    uint64_t fail_seq;           /* cl->fail_counter at its last failure (0 = never) */
    uint64_t gen;                /* bumped by every failure: detects a reset connection */
    char last_error[256];
    st_req_t *sendq_head, *sendq_tail;   /* not yet fully written */
    st_req_t *waitq_head, *waitq_tail;   /* written, waiting for the response */
    int n_waitq;
    uint32_t ev_mask;            /* events registered with epoll (0 = not registered) */
    bool dirty;                  /* has something to write: flushed at the end of the loop */
    /* reading */
    uint8_t *rbuf;
    size_t rbuf_len, rbuf_pos;
    st_rframe_t rframe;          /* frame being read; buf == NULL when none */
    size_t rframe_have;
    int rcvlowat;                /* SO_RCVLOWAT in force (0 = the default, 1) */
    bool big_frames;             /* the last frame was large: start the next with a short read */
    int16_t api_max[ST_API_MAX_KEY];     /* -1: not supported */
    bool dedicated;              /* a private connection (st_client_broker_dedicated): never
                                    used for any-broker requests */
    /* role bookkeeping (I/O thread) */
    int produce_inflight;
    bool fetch_inflight;
};

/* Role hooks, all called on the I/O thread. */
typedef struct st_client_role {
    /* Called on every loop iteration: send what is ready (batches, fetches). */
    void (*tick)(st_client_t *cl, int64_t now_ms);
    /* At the end of every loop iteration, after the writes (may be NULL): work that must not
     * delay sending, such as waking application threads. */
    void (*after_io)(st_client_t *cl);
    /* The next time tick needs to run without an event (absolute ms, INT64_MAX = none). */
    int64_t (*next_wakeup)(st_client_t *cl, int64_t now_ms);
    /* After the metadata cache changed (cl->lock not held). */
    void (*on_metadata)(st_client_t *cl);
    /* Metadata requests set allow_auto_topic_creation (the producer, as in Kafka). */
    bool auto_create_topics;
    /* "Producer", "Consumer" (Kafka's prefix of log lines, "[Producer clientId=x] ..."); NULL
     * for the admin client ("AdminClient"). */
    const char *name;
    /* No bootstrap (the controller-to-broker channel): bootstrap.servers may be empty,
     * st_client_init does not wait for a first Metadata response and none is asked for unless
     * st_client_md_refresh is called; brokers are added by node id with
     * st_client_broker_upsert (from the role's tick, on the I/O thread). */
    bool no_bootstrap;
} st_client_role_t;

/* Metadata cache entries (deep copies of MetadataResponse parts). */
#define ST_MD_STALE_BROKERS 3    /* this many distinct brokers contradicting a cached leader
                                    epoch with an older one win (see topic_fill) */
typedef struct st_md_partition {
    int32_t partition;
    int32_t error;
    int32_t leader;
    int32_t leader_epoch;
    int32_t *replicas; size_t n_replicas;
    int32_t *isr; size_t n_isr;
    int32_t *offline; size_t n_offline;
    /* Stale-epoch bookkeeping (st_client_md.c, the client cache only; zero in copies made by
     * st_md_partition_copy): the answers naming an older leader_epoch than this entry's since
     * it was last confirmed (an answer at an equal or newer epoch replaces the entry and so
     * clears these). stale_by holds the distinct answering brokers' node ids, n_stale_by <=
     * ST_MD_STALE_BROKERS; stale_since_ms is when the first of them came (0: none). */
    int32_t stale_by[ST_MD_STALE_BROKERS];
    int n_stale_by;
    int64_t stale_since_ms;
} st_md_partition_t;

typedef struct st_md_topic {
    char *name;
    int32_t error;
    bool internal;
    st_md_partition_t *parts;    /* sorted by partition number (parts[i].partition == i when
                                    the topic is complete) */
    size_t n_parts;
    uint64_t version;            /* md_version of the response that last described it */
} st_md_topic_t;

/* One condition the log callback was told about (st_client_log.c). */
typedef struct st_log_seen {
    char key[160];               /* "" = free slot */
    int64_t last_ms;             /* when it was last reported */
    uint32_t suppressed;         /* repeats not reported since */
} st_log_seen_t;

#define ST_LOG_SEEN_MAX 32

struct st_client {
    st_client_conf_t conf;                /* private copy */
    strand_delivery_cb_t *delivery_cb;
    void *delivery_opaque;
    strand_log_cb_t *log_cb;
    void *log_opaque;
    pthread_mutex_t log_lock;             /* log_seen (reports may come from any thread) */
    st_log_seen_t log_seen[ST_LOG_SEEN_MAX];
    atomic_bool ready;                    /* st_client_init finished: failures are retried now,
                                             and worth a log line (before, they fail init) */
    const st_transport_t *tp;
    void *tp_ctx;                         /* tp->ctx_new's context (SSL_CTX), NULL for plain */
    int acks;
    const st_client_role_t *role;
    void *role_arg;

    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    int epfd, evfd;
    atomic_int wake_pending;
    atomic_int_fast32_t next_corr_id;

    pthread_mutex_t lock;                 /* submit queue, metadata cache, md interest */
    st_req_t *submit_head, *submit_tail;

    /* I/O thread only */
    st_broker_t **brokers;
    size_t n_brokers;
    size_t next_candidate;
    uint64_t fail_counter;
    st_req_t *anyq_head, *anyq_tail;
    bool md_inflight;
    int64_t md_last_ok_ms;
    int64_t md_not_before_ms;
    atomic_bool md_wanted;

    /* metadata cache (lock) */
    pthread_cond_t md_cond;
    uint64_t md_version;
    st_md_topic_t *topics; size_t n_topics;
    int32_t controller_id;
    char *cluster_id;
    char **md_interest; size_t n_md_interest;  /* topics metadata requests ask about */
    int64_t *md_interest_err_ms;               /* per interest: when a response first said
                                                  the topic is not usable (0: it is) */
    uint64_t md_interest_gen;                  /* bumped when md_interest grows */
    uint64_t md_req_interest_gen;              /* I/O thread: gen the in-flight request covers */
    bool md_auto_create;                       /* allow_auto_topic_creation (producer) */
    bool md_all_topics;                        /* ask about every topic (a consumer's pattern
                                                  subscription), not just md_interest */
    int md_last_err;                           /* last metadata failure (ST_ERR_*), 0 if ok */
    char md_last_errstr[512];
    uint64_t md_fail_seq;                      /* bumped by every failed metadata request */

    /* receive-buffer pool */
    pthread_mutex_t pool_lock;
    uint8_t *pool[8];
    size_t pool_cap[8];
    int n_pool;
};

/* ---- lifecycle --------------------------------------------------------------------------- */

/* Copies conf, validates it, creates epoll/eventfd, adds bootstrap brokers and starts the I/O
 * thread; then, if bootstrap is true, waits for a first Metadata response (any broker). 0 or an
 * ST_ERR_* code with errstr. On failure everything is released (st_client_destroy not needed). */
int st_client_init(st_client_t *cl, const strand_conf_t *conf, const st_client_role_t *role,
                   void *role_arg, char *errstr, size_t errstr_size);
/* Stops and joins the I/O thread, fails every queued request with ST_ERR_DESTROYED. */
void st_client_stop(st_client_t *cl);
/* Frees what init allocated (after st_client_stop). */
void st_client_destroy(st_client_t *cl);

/* ---- requests ----------------------------------------------------------------------------- */

/* Builds a request: encodes the frame with a fresh correlation id. tail_len counts raw tail
 * bytes given later in req->tail. NULL when out of memory. */
st_req_t *st_req_new(st_client_t *cl, int32_t api_key, const ProtobufCMessage *body,
                     size_t tail_len, int32_t target, int timeout_ms, st_req_cb_t *cb, void *arg);
void st_req_free(st_req_t *req);

/* From any application thread: hands req to the I/O thread. */
void st_client_submit(st_client_t *cl, st_req_t *req);
/* On the I/O thread: routes req now. */
void st_client_send(st_client_t *cl, st_req_t *req);
/* Wakes the I/O thread (cheap when a wake-up is already pending). */
void st_client_wake(st_client_t *cl);
/* True on the client's I/O thread. */
bool st_client_on_io_thread(const st_client_t *cl);

/* Synchronous call from an application thread: sends body to target and waits for the
 * response (timeout_ms < 0: request.timeout.ms). On success *ret_resp owns the frame (release
 * with st_client_frame_release). */
int st_client_call(st_client_t *cl, int32_t target, int32_t api_key, const ProtobufCMessage *body,
                   int timeout_ms, st_rframe_t *ret_resp, char *errstr, size_t errstr_size);
void st_client_frame_release(st_client_t *cl, st_rframe_t *frame);

/* I/O thread: the broker with that node id, NULL if unknown. */
st_broker_t *st_client_broker(st_client_t *cl, int32_t node_id);

/* ---- receive buffers ---------------------------------------------------------------------- */

/* A buffer of at least size bytes (from the pool when one is big enough); *ret_cap its size. */
uint8_t *st_client_buf_get(st_client_t *cl, size_t size, size_t *ret_cap);
void st_client_buf_put(st_client_t *cl, uint8_t *buf, size_t cap);

/* ---- metadata (st_client_md.c) ------------------------------------------------------------ */

/* Asks for a metadata refresh soon (any thread). */
void st_client_md_refresh(st_client_t *cl);
/* Adds topic to the set asked about (any thread). */
void st_client_md_want(st_client_t *cl, const char *topic);
/* Waits until the cache knows topic (partitions present and error 0) or the deadline passes;
 * *ret_count = its partition count. With fail_unknown, returns
 * ST_ERR_UNKNOWN_TOPIC_OR_PARTITION as soon as a fresh response says the topic does not exist;
 * otherwise keeps asking until the deadline (then ST_ERR_TIMED_OUT, or the topic's error).
 * Any thread but the I/O thread. */
int st_client_md_wait_topic(st_client_t *cl, const char *topic, int64_t deadline_ms,
                            bool fail_unknown, int32_t *ret_count, char *errstr,
                            size_t errstr_size);
/* Cache lookups; cl->lock must be held. */
const st_md_topic_t *st_client_md_topic_locked(const st_client_t *cl, const char *topic);
/* The leader of topic/partition from the cache (-1 unknown). Takes cl->lock. */
int32_t st_client_md_leader(st_client_t *cl, const char *topic, int32_t partition);
/* I/O thread: sends a metadata request if one is wanted and none is in flight. */
void st_client_md_tick(st_client_t *cl, int64_t now_ms);
/* I/O thread: applies a MetadataResponse (brokers and topics) that broker from_node (a node id,
 * negative for a bootstrap entry) answered. */
void st_client_md_apply(st_client_t *cl, const Strand__MetadataResponse *resp, int32_t from_node);
/* Frees the cache (at destroy). */
void st_client_md_free(st_client_t *cl);
/* Deep copy helpers shared with the admin client. */
int st_md_partition_copy(st_md_partition_t *dst, const Strand__PartitionMetadata *src);
void st_md_partition_free(st_md_partition_t *p);

/* I/O thread (st_client.c): makes sure a broker entry exists for node_id at host:port,
 * updating its address (and dropping its connection) if it moved. */
st_broker_t *st_client_broker_upsert(st_client_t *cl, int32_t node_id, const char *host, int port);

/* I/O thread: a DEDICATED connection entry under node_id (which must not be a broker id from
 * metadata: the consumer group code uses INT32_MAX - coordinator id and the like, as Kafka's
 * client does) to host:port. Requests sent to node_id go to it alone; any-broker requests
 * (metadata, bootstrap) never use it, so a request the broker parks there (a JoinGroup, a held
 * Heartbeat) delays nothing else. Updates the address as st_client_broker_upsert does. */
st_broker_t *st_client_broker_dedicated(st_client_t *cl, int32_t node_id, const char *host, int port);

/* ---- misc --------------------------------------------------------------------------------- */

int64_t st_client_now_ms(void);       /* CLOCK_MONOTONIC */
int64_t st_client_wallclock_ms(void); /* CLOCK_REALTIME */
/* CLOCK_REALTIME in ms for record timestamps, at most ~60 us stale: the clock is read again
 * only when the CPU's time-stamp counter shows that much time passed (a vDSO clock read costs
 * ~70 ns on a loaded VM, rdtsc ~13 ns; this is per record on the produce path). */
int64_t st_client_record_time_ms(void);
/* snprintf into errstr when not NULL. */
void st_client_errstr(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The calling thread's strand_last_errstr() buffer (st_client_util.c), to pass as errstr. */
char *st_client_last_errstr_buf(size_t *ret_size);

/* ---- log messages (st_client_log.c) ------------------------------------------------------- */

/* Reports one retried condition to the log callback as "[<Role> clientId=<id>] <message>",
 * throttled per `key` (the identity of the condition: same broker / partition and error): the
 * first occurrence is reported, repeats within ST_LOG_THROTTLE_MS only counted, and the count
 * appended to the next report. Without a callback the message goes to ST_DEBUG. Any thread
 * (takes cl->log_lock, never held while calling anything but the callback). */
#define ST_LOG_THROTTLE_MS 10000
void st_client_log(st_client_t *cl, int level, const char *source, const char *key,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
