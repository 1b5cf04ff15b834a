/* Network loops on libevent: num.network.threads event loops (one pthread + event_base each),
 * the listeners and the acceptor (on the main thread's event_base) that hands new connections
 * to the loops round-robin, cross-thread wake-ups for parked fetches, the idle-connection
 * sweep, and the graceful stop.
 *
 * Threads: st_net_create / _start / _stop_accepting / _shutdown / _free run on the main thread.
 * Everything about a connection runs on its loop's thread. st_net_wake_loop may be called from
 * any thread. */
#ifndef ST_NET_H
#define ST_NET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "broker.h"
#include "conn_quota.h"
#include "st_transport.h"

typedef struct st_conn st_conn_t;
typedef struct st_net st_net_t;

typedef struct st_listener {
    st_listener_cfg_t cfg;            /* what to bind */
    int index;
    int fd;
    int port;                         /* the bound port (cfg.port may be 0) */
    struct evconnlistener *ev;
    struct event *retry_ev;           /* re-enables accepting after EMFILE and friends */
    const st_transport_t *tp;         /* its protocol's transport table */
    void *tp_ctx;                     /* tp->listener_new's context (SSL), or NULL */
    st_net_t *net;
} st_listener_t;

/* An accepted socket on its way to a loop. It holds a connection-quota slot (conn_quota.h)
 * from the moment it is accepted: whoever closes the fd gives the slot back (st_net_drop_incoming
 * before it becomes a connection, conn_close after). */
typedef struct st_incoming {
    int fd;
    st_listener_t *listener;
    char peer[64];
    st_quota_addr_t addr;
} st_incoming_t;

TAILQ_HEAD(st_conn_list, st_conn);

typedef struct st_loop {
    st_net_t *net;
    st_broker_t *broker;
    int index;
    struct event_base *base;
    pthread_t thread;
    bool thread_started;
    struct event *notify_ev;          /* activated from other threads */
    struct event *idle_ev;            /* periodic idle sweep */
    struct event *stop_ev;            /* periodic check while stopping */
    pthread_mutex_t lock;             /* guards incoming */
    st_incoming_t *incoming;
    size_t n_incoming, cap_incoming;
    atomic_bool fetch_wake;
    atomic_bool stop_requested;
    /* loop-thread only */
    bool stopping;
    int64_t stop_deadline_ms;
    struct st_conn_list conns;
    struct st_conn_list parked;       /* connections with a parked fetch */
    size_t n_conns;
    uint64_t wake_gen;
} st_loop_t;

struct st_net {
    st_broker_t *broker;
    struct event_base *main_base;
    st_loop_t *loops;
    int n_loops;
    st_listener_t *listeners;
    size_t n_listeners;
    atomic_uint next_loop;
    st_conn_quota_t *quota;           /* max.connections, max.connections.per.ip */
    /* acceptor thread only: rate limit of the refusal log lines, per limit key (indexed by
     * st_quota_verdict_t, the per-IP overrides at 4) */
    int64_t refused_log_ms[5];
    uint64_t refused_unlogged[5];
};

/* Binds every listener (a failure names the listener and the error). */
int st_net_create(st_broker_t *broker, struct event_base *main_base, st_net_t **ret_net);
/* Starts the loop threads and begins accepting. */
int st_net_start(st_net_t *net);
void st_net_stop_accepting(st_net_t *net);
/* Asks every loop to stop: parked fetches are answered, reading stops, queued responses get up
 * to grace_ms to drain, then every connection is closed and the threads are joined. */
void st_net_shutdown(st_net_t *net, int grace_ms);
void st_net_free(st_net_t *net);
/* Closes an accepted socket that never became a connection and gives back its quota slot. */
void st_net_drop_incoming(st_net_t *net, const st_incoming_t *in);
/* Wakes loop `loop` to re-check its parked fetches (any thread). arg is the st_net_t. */
void st_net_wake_loop(void *arg, int loop);

int64_t st_now_ms(void);              /* CLOCK_MONOTONIC, milliseconds */
int64_t st_wall_ms(void);             /* CLOCK_REALTIME, milliseconds */

#endif
