/* Kafka's topic-level configuration as one declarative table: name, type, Kafka's default,
 * accepted range or values, the broker keys it defaults from (its synonyms, in precedence
 * order: log.retention.ms before log.retention.minutes before log.retention.hours), whether
 * Strand applies it or only accepts it, and its documentation. The broker's CreateTopics and
 * IncrementalAlterConfigs, the change notifications of /config/topics and the tools'
 * --zookeeper mode validate with it; the broker turns a resolved st_topic_config_t into its
 * log, partition and produce settings (broker/topic_config.c); DescribeConfigs reports from it.
 *
 * A topic's effective value of a key: its override in /config/topics/<t> if it has one, else
 * the broker's value of the first synonym that is set (dynamic per-broker, dynamic cluster
 * default, server.properties, the broker table's default), else Kafka's default below.
 *
 * Pure and standalone (st_config.h only): no I/O, no logging, any thread. */
#ifndef ST_TOPIC_CONFIG_COMMON_H
#define ST_TOPIC_CONFIG_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_config.h"

/* cleanup.policy bits (ST_CFG_SET over "compact,delete") */
#define ST_CLEANUP_COMPACT 0x1u
#define ST_CLEANUP_DELETE  0x2u

/* compression.type (ST_CFG_ENUM over ST_TOPIC_COMPRESSION_VALUES) */
typedef enum st_topic_compression {
    ST_TOPIC_COMPRESSION_PRODUCER = 0,      /* keep the producer's codec */
    ST_TOPIC_COMPRESSION_UNCOMPRESSED = 1,
    ST_TOPIC_COMPRESSION_LZ4 = 2,
} st_topic_compression_t;
#define ST_TOPIC_COMPRESSION_VALUES "producer,uncompressed,lz4"

/* message.timestamp.type (ST_CFG_ENUM) */
typedef enum st_timestamp_type {
    ST_TIMESTAMP_CREATE_TIME = 0,
    ST_TIMESTAMP_LOG_APPEND_TIME = 1,
} st_timestamp_type_t;

/* The resolved configuration of one topic: every key of the table has a field here. Plain data
 * (no pointers): copy it by value. */
typedef struct st_topic_config {
    uint32_t cleanup_policy;                      /* ST_CLEANUP_* bits */
    int32_t compression_type;                     /* st_topic_compression_t */
    int64_t delete_retention_ms;
    int64_t file_delete_delay_ms;
    int64_t flush_messages;
    int64_t flush_ms;
    int32_t index_interval_bytes;
    int64_t max_compaction_lag_ms;
    int32_t max_message_bytes;
    bool message_downconversion_enable;
    int64_t message_timestamp_difference_max_ms;
    int32_t message_timestamp_type;               /* st_timestamp_type_t */
    double min_cleanable_dirty_ratio;
    int64_t min_compaction_lag_ms;
    int32_t min_insync_replicas;
    bool preallocate;
    int64_t retention_bytes;
    int64_t retention_ms;
    int32_t segment_bytes;
    int32_t segment_index_bytes;
    int64_t segment_jitter_ms;
    int64_t segment_ms;
    bool unclean_leader_election_enable;
} st_topic_config_t;

typedef struct st_topic_cfg_def {
    st_cfg_def_t cfg;              /* name, type, Kafka's default, range/values, field, doc */
    /* Broker keys this topic key defaults from, in precedence order, comma-separated; the first
     * is the one that may be changed dynamically (DescribeConfigs' synonyms, /config/brokers).
     * Keys ending in ".minutes" / ".hours" are converted to milliseconds. */
    const char *synonyms;
    /* true: Strand applies the key; false: accepted, stored, described, but without effect
     * (the doc says what is not implemented). */
    bool applied;
} st_topic_cfg_def_t;

/* Sorted by name; ends with a row whose cfg.name is NULL. */
extern const st_topic_cfg_def_t st_topic_config_table[];

const st_topic_cfg_def_t *st_topic_config_find(const char *name);
/* The topic key whose synonyms include broker_key (log.retention.hours -> retention.ms), NULL
 * if none. *ret_index gets its position in the synonym list (may be NULL). */
const st_topic_cfg_def_t *st_topic_config_for_synonym(const char *broker_key, int *ret_index);
/* The i-th synonym of def into buf (false when there is none). */
bool st_topic_config_synonym(const st_topic_cfg_def_t *def, int i, char *buf, size_t len);

/* Kafka's defaults (each key's default column). */
void st_topic_config_defaults(st_topic_config_t *ret);

/* Validates one override and, with cfg non-NULL, applies it. -ENOENT for an unknown key
 * ("Unknown topic config name: foo"), -EINVAL for a bad value ("Invalid value 10 for
 * configuration segment.bytes: expected an integer in [14, 2147483647]"); the reason names the
 * key and the value. cfg is untouched on failure. */
int st_topic_config_set(st_topic_config_t *cfg, const char *key, const char *value,
                        char *reason, size_t reason_len);
/* Checks a whole set of overrides: each key known, each value valid, no key twice. The first
 * problem in reason. */
int st_topic_config_validate(const char *const *keys, const char *const *values, size_t n,
                             char *reason, size_t reason_len);
/* The effective value of a key as text, as DescribeConfigs and `Configs:` print it. */
void st_topic_config_format(const st_topic_cfg_def_t *def, const st_topic_config_t *cfg,
                            char *out, size_t len);

/* Converts the text of a broker key's value to the value of the topic key it is a synonym of
 * (hours and minutes to milliseconds; a negative time stays -1, "unlimited"). 0, or -EINVAL
 * when it does not fit the topic key (reason set). */
int st_topic_config_set_from_broker(st_topic_config_t *cfg, const st_topic_cfg_def_t *def,
                                    const char *broker_key, const char *broker_value,
                                    char *reason, size_t reason_len);

#endif
