/* The broker's side of the topic configuration table (common/cluster/st_topic_config.h): the
 * topic defaults this broker derives from its own configuration through Kafka's synonyms
 * (retention.ms from log.retention.ms / .minutes / .hours, max.message.bytes from
 * message.max.bytes, ...), with the dynamic broker configuration layered on top, and a resolved
 * topic configuration turned into the settings of its logs. Pure: any thread. */
#ifndef ST_TOPIC_CONFIG_H
#define ST_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker_config.h"
#include "st_log.h"
#include "st_names.h"          /* st_topic_name_valid, ST_TOPIC_NAME_MAX */
#include "st_topic_config.h"

/* One layer of dynamic broker configuration (/config/brokers/<id> or /config/brokers/<default>):
 * key/value pairs, already validated (st_dynamic_broker_check). */
typedef struct st_cfg_layer {
    const char *const *keys;
    const char *const *values;
    size_t n;
} st_cfg_layer_t;

/* The value of key in the layer, NULL if absent (layer may be NULL). */
const char *st_cfg_layer_get(const st_cfg_layer_t *layer, const char *key);

/* The topic defaults of this broker: for each topic key, the first of its synonyms found in
 * the per-broker dynamic layer, then the cluster-default dynamic layer (either may be NULL),
 * then the static configuration bc (where a key without a default, such as log.retention.ms,
 * counts only when given); Kafka's default when none is. */
void st_topic_config_broker_defaults(const st_broker_config_t *bc, const st_cfg_layer_t *per_broker,
                                     const st_cfg_layer_t *cluster_default, st_topic_config_t *ret);

/* A resolved topic configuration as its logs take it. */
void st_topic_config_to_log(const st_topic_config_t *tc, st_log_config_t *ret);

/* Dynamic broker configuration: the keys that may be changed without a restart are the broker
 * synonyms that topic keys default from (the first synonym of each: log.retention.ms, not
 * log.retention.hours), as in Kafka's DynamicLogConfig. Checks one key/value for the per-broker
 * (per_broker true) or cluster-default layer: -EPERM when the key cannot be updated dynamically
 * (reason: Kafka's "Cannot update these configs dynamically: Set(log.dirs)"), -ENOENT for a key
 * the broker does not know, -EINVAL for a bad value (reason names key and value). */
int st_dynamic_broker_check(const char *key, const char *value, char *reason, size_t reason_len);
bool st_dynamic_broker_key(const char *key);

#endif
