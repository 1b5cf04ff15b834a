/* The broker's process-wide context, created by main.c and shared (read-only after start-up)
 * by the network loops, the handlers and the maintenance thread. */
#ifndef ST_BROKER_H
#define ST_BROKER_H

#include "broker_config.h"
#include "metadata_cache.h"
#include "partition.h"
#include "st_log.h"

typedef struct st_net st_net_t;
typedef struct st_replica_manager st_replica_manager_t;

typedef struct st_broker {
    st_broker_config_t cfg;
    st_log_manager_t *mgr;
    st_registry_t *reg;
    st_metadata_cache_t *meta;
    st_net_t *net;
    st_replica_manager_t *rm;         /* replica manager (replica/replica_manager.c) */
} st_broker_t;

#endif
