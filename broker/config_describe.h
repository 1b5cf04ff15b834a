/* DescribeConfigs entries, as Kafka's broker builds them (ZkAdminManager.describeConfigs): for a
 * topic every topic key with its effective value, where it comes from and its synonyms; for a
 * broker every key of the broker table (or, for the cluster default, the keys set there).
 *
 * Sources (Kafka's ConfigSource): a topic key's value comes from the topic's override
 * (DYNAMIC_TOPIC_CONFIG), else from its broker synonyms in this order: the broker's dynamic
 * per-broker layer (DYNAMIC_BROKER_CONFIG), the cluster-default layer
 * (DYNAMIC_DEFAULT_BROKER_CONFIG), server.properties / --override (STATIC_BROKER_CONFIG: a
 * value other than the table's default), the broker table's default (DEFAULT_CONFIG). The
 * synonyms list every layer that has a value for one of the key's broker synonyms, in that
 * order, starting at the primary synonym (Kafka drops the less precise ones before it: with
 * only log.retention.hours set, retention.ms lists no synonym). Secrets are reported sensitive
 * with a null value.
 *
 * Pure (no I/O): any thread. Entries are malloc'd; free them with st_config_entries_free. */
#ifndef ST_CONFIG_DESCRIBE_H
#define ST_CONFIG_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>

#include "broker_config.h"
#include "strand.pb-c.h"
#include "topic_config.h"

typedef enum st_config_source {
    ST_CONFIG_SOURCE_UNKNOWN = 0,
    ST_CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
    ST_CONFIG_SOURCE_DYNAMIC_BROKER = 2,
    ST_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    ST_CONFIG_SOURCE_STATIC_BROKER = 4,
    ST_CONFIG_SOURCE_DEFAULT = 5,
} st_config_source_t;

/* What a broker knows of its configuration. */
typedef struct st_config_view {
    const st_broker_config_t *bc;           /* static: server.properties + --override */
    const st_cfg_layer_t *per_broker;       /* /config/brokers/<id>, may be NULL */
    const st_cfg_layer_t *cluster_default;  /* /config/brokers/<default>, may be NULL */
} st_config_view_t;

typedef struct st_config_entries {
    Strand__DescribeConfigsResourceResult **v;
    size_t n;
} st_config_entries_t;

/* A topic with these overrides (from /config/topics/<t>; keys the table does not know are
 * left out). keys: only those (n_keys 0: every key). 0 or -ENOMEM. */
int st_config_describe_topic(const st_config_view_t *view, const st_cfg_layer_t *overrides,
                             char *const *keys, size_t n_keys, bool synonyms, bool docs,
                             st_config_entries_t *ret);
/* This broker (every key of the broker table), or with cluster_default only the keys set in
 * the cluster-default layer. 0 or -ENOMEM. */
int st_config_describe_broker(const st_config_view_t *view, bool cluster_default,
                              char *const *keys, size_t n_keys, bool synonyms, bool docs,
                              st_config_entries_t *ret);
void st_config_entries_free(st_config_entries_t *e);

#endif
