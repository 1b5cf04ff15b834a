/* The broker's process-wide context, created by main.c and shared (read-only after start-up,
 * apart from the atomics) by the network loops, the handlers and the maintenance thread. */
#ifndef ST_BROKER_H
#define ST_BROKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker_config.h"
#include "metadata_cache.h"
#include "partition.h"
#include "st_log.h"

typedef struct st_net st_net_t;
typedef struct st_replica_manager st_replica_manager_t;
typedef struct st_node st_node_t;
typedef struct st_admin_worker st_admin_worker_t;
typedef struct st_config_manager st_config_manager_t;
typedef struct st_coordinator st_coordinator_t;

typedef struct st_broker {
    st_broker_config_t cfg;
    /* A shutdown asked for by another thread (every log dir failed): main's loop stops and the
     * process exits with halt_code (main.c: st_broker_request_shutdown). */
    struct event *halt_ev;
    _Atomic int halt_code;
    st_log_manager_t *mgr;
    st_registry_t *reg;
    st_metadata_cache_t *meta;
    st_net_t *net;
    /* Fencing (broker/cluster/fencing.h): this broker's epoch (czxid of /brokers/ids/<id>, set
     * by registration; -1 until then) and the highest controller epoch seen (-1 none). */
    _Atomic int64_t broker_epoch;
    _Atomic int32_t controller_epoch;
    st_replica_manager_t *rm;         /* replica manager (replica/replica_manager.c) */
    st_node_t *node;                  /* membership and controller candidacy (cluster/membership.c) */
    st_admin_worker_t *admin;         /* topic admin through ZooKeeper (cluster/admin_worker.c) */
    /* dynamic configuration (cluster/config_manager.c); set once it runs, read by the node
     * thread's change callback and the request handlers */
    st_config_manager_t *_Atomic configs;
    st_coordinator_t *groups;         /* the group coordinator (group/coordinator.c) */
} st_broker_t;

/* Any thread: stops the broker as a SIGTERM would, but without the controlled shutdown (the
 * controller moves the leaderships when the session closes) and exiting with exit_code. The
 * caller logs why first. Defined in main.c. */
void st_broker_request_shutdown(st_broker_t *b, int exit_code);

#endif
