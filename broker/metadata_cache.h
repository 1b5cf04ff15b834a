/* The broker's view of the cluster for Metadata responses: live brokers with their advertised
 * listeners, the controller id and the cluster id. In single-broker mode it holds this broker
 * only and names it controller; the ZooKeeper mode updates it from UpdateMetadata requests of
 * the controller (st_metadata_cache_set_brokers / _set_controller) -- readers do not change.
 *
 * Thread-safe: an rwlock guards everything; readers copy what they need out under it. */
#ifndef ST_METADATA_CACHE_H
#define ST_METADATA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "broker_config.h"

typedef struct st_broker_endpoint {
    int32_t id;
    char rack[64];                     /* "" = none */
    st_listener_cfg_t *listeners;      /* advertised listeners */
    size_t n_listeners;
} st_broker_endpoint_t;

typedef struct st_metadata_cache st_metadata_cache_t;

int st_metadata_cache_new(const char *cluster_id, st_metadata_cache_t **ret);
void st_metadata_cache_free(st_metadata_cache_t *cache);
/* Replaces the broker list (copied). */
int st_metadata_cache_set_brokers(st_metadata_cache_t *cache, const st_broker_endpoint_t *brokers,
                                  size_t n);
void st_metadata_cache_set_controller(st_metadata_cache_t *cache, int32_t controller_id);
int32_t st_metadata_cache_controller(st_metadata_cache_t *cache);
/* Copies the cluster id into out. */
void st_metadata_cache_cluster_id(st_metadata_cache_t *cache, char *out, size_t len);

/* Visits every broker's endpoint for listener `listener_name` (brokers without that listener
 * are skipped, as in Kafka), under the read lock: fn must not block. */
void st_metadata_cache_visit_brokers(st_metadata_cache_t *cache, const char *listener_name,
                                     void (*fn)(void *arg, int32_t id, const char *host, int port,
                                                const char *rack),
                                     void *arg);
size_t st_metadata_cache_broker_count(st_metadata_cache_t *cache);
/* Broker id's endpoint for listener `listener_name` (the replica manager: the controller's
 * inter-broker endpoint for AlterIsr). 0, or -ENOENT if the broker or listener is unknown. */
int st_metadata_cache_broker_endpoint(st_metadata_cache_t *cache, int32_t id,
                                      const char *listener_name, char *host, size_t host_len,
                                      int *ret_port);

#endif
