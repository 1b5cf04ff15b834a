/* Entity configuration in ZooKeeper, as Kafka's AdminZkClient keeps it: the overrides of a topic
 * in /config/topics/<t>, the dynamic configuration of a broker in /config/brokers/<id> and the
 * cluster-wide default in /config/brokers/<default>, each {"version":1,"config":{"k":"v"}}, and
 * after every change a sequential /config/changes/config_change_<n> znode
 * {"version":2,"entity_path":"topics/<t>"} that every broker watches (the node thread,
 * st_ctl_config.c) to apply the change without a restart. Used by the brokers'
 * IncrementalAlterConfigs / DescribeConfigs and by the tools' --zookeeper mode.
 *
 * Every function returns an st_error_t code (ST_ERR_NONE is 0) with a message naming the znode
 * path or the key. Threads: any thread that may block for a few ZooKeeper round trips; no state
 * of its own. */
#ifndef ST_CONFIG_ADMIN_H
#define ST_CONFIG_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_znode.h"
#include "st_zk.h"

#define ST_ENTITY_TOPICS  "topics"
#define ST_ENTITY_BROKERS "brokers"

/* Incremental operations (Kafka's AlterConfigOp.OpType, IncrementalAlterConfigs). */
typedef enum st_config_op {
    ST_CONFIG_OP_SET = 0,
    ST_CONFIG_OP_DELETE = 1,
    ST_CONFIG_OP_APPEND = 2,           /* list keys only: add the items not there yet */
    ST_CONFIG_OP_SUBTRACT = 3,         /* list keys only: remove the items */
} st_config_op_t;

/* Reads /config/<type>/<name>: the overrides (empty when the znode does not exist) and the
 * znode's version (-1 when absent; may be NULL). A znode that does not decode is
 * UNKNOWN_SERVER_ERROR with the path and the reason. */
int st_config_admin_read(st_zk_t *zk, const char *type, const char *name,
                         st_topic_overrides_t *ret, int *ret_version, char *msg, size_t msg_len);

/* Replaces the entity's whole configuration (keys written in name order), in one multi with the change notification: the
 * config znode is set at `version` (created when version is -1) and config_change_<n> created.
 * For a topic the multi also checks that /brokers/topics/<t> exists
 * (UNKNOWN_TOPIC_OR_PARTITION "Topic 't' does not exist."). INVALID_UPDATE_VERSION when the
 * config znode changed since it was read (read again and retry). */
int st_config_admin_write(st_zk_t *zk, const char *type, const char *name,
                          const st_topic_overrides_t *cfg, int version, char *msg, size_t msg_len);

/* Applies one operation to a set of overrides (in memory). list: the key is a list (cleanup
 * policy); APPEND / SUBTRACT on anything else is INVALID_REQUEST "Config value append is not
 * allowed for config key: retention.ms". SET with a NULL value is INVALID_REQUEST. DELETE of a
 * key that is not set is fine (nothing happens). */
int st_config_admin_apply(st_topic_overrides_t *cfg, const char *key, st_config_op_t op,
                          const char *value, bool list, char *msg, size_t msg_len);

/* "topics" / "brokers" entity names: a valid topic name, or a broker id (digits) or
 * "<default>". INVALID_REQUEST / INVALID_TOPIC_EXCEPTION with the reason otherwise. */
int st_config_admin_check_entity(const char *type, const char *name, char *msg, size_t msg_len);

#endif
