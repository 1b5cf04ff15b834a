/* Topic names and per-topic configuration overrides (CreateTopics configs, persisted in the
 * topic store): Kafka's topic-level keys mapped onto st_log_config_t. */
#ifndef ST_TOPIC_CONFIG_H
#define ST_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_log.h"
#include "st_names.h"   /* st_topic_name_valid, ST_TOPIC_NAME_MAX */

/* The resolved configuration of one topic. */
typedef struct st_topic_config {
    st_log_config_t log;
    int32_t max_message_bytes;        /* max.message.bytes (broker: message.max.bytes) */
    int32_t min_insync_replicas;
} st_topic_config_t;

/* Applies one override (e.g. "retention.ms" = "1000") to cfg. -ENOENT unknown key, -EINVAL bad
 * value; reason names the key and the accepted values. */
int st_topic_config_set(st_topic_config_t *cfg, const char *key, const char *value,
                        char *reason, size_t reason_len);

#endif
