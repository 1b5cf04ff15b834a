/* The --zookeeper side of the topic tools (Kafka's tools talked to ZooKeeper directly before
 * KIP-500): opening the session, reading topics and partition states into the admin client's
 * own description types, so that one printer serves --zookeeper and --bootstrap-server alike.
 * Every function exits 1 with one line naming the ensemble or the znode on failure. */
#ifndef ST_TOOL_ZK_H
#define ST_TOOL_ZK_H

#include <stddef.h>
#include <stdint.h>

#include "st_config_admin.h"
#include "st_topic_admin.h"
#include "st_zk.h"
#include "strand.h"

/* Connects (10 s connection timeout) or exits 1 naming the ensemble. */
st_zk_t *tool_zk_open(const char *connect);

/* What ZooKeeper knows of a topic beyond the admin client's description. */
typedef struct tool_zk_extra {
    char *configs;                 /* "k=v,k=v" of the overrides in /config/topics/<t> ("" none) */
    bool marked_for_deletion;
} tool_zk_extra_t;

/* Describes the named topics (count 0: every topic, sorted), in the admin client's types
 * (strand_topic_infos_free releases them). A missing topic is reported in its entry's error.
 * Offline replicas are the assigned brokers that are not registered; min_insync_replicas is
 * the topic's override, else 0 (unknown: the broker default applies). ret_extra (may be NULL)
 * gets one entry per topic (tool_zk_extra_free). */
void tool_zk_describe(st_zk_t *zk, const char *const *names, size_t count,
                      strand_topic_info_t **ret, size_t *ret_n, tool_zk_extra_t **ret_extra);
void tool_zk_extra_free(tool_zk_extra_t *extra, size_t n);

/* Registered brokers in the admin client's type, sorted by id (strand_broker_infos_free). */
void tool_zk_brokers(st_zk_t *zk, strand_broker_info_t **ret, size_t *ret_n);

/* Every partition of every topic (for an election of everything). */
void tool_zk_all_partitions(st_zk_t *zk, st_tp_list_t *ret);

/* Changes an entity's configuration the way Kafka 2.x's --zookeeper tools did
 * (AdminZkClient.changeConfigs): type "topics" or "brokers" (name a topic, a broker id or
 * "<default>"), n_add keys set to values, n_del keys removed (each must be set now: "Invalid
 * config(s): k"), validated with the topic table (a broker key must be the dynamic synonym of
 * a topic key); then /config/<type>/<name> and the /config/changes notification in one multi.
 * Dynamic broker configs are refused while that broker (any broker, for <default>) runs, as
 * Kafka's ConfigCommand does. Exits 1 with one line on any failure. */
void tool_zk_alter_config(st_zk_t *zk, const char *type, const char *name,
                          const char *const *add_keys, const char *const *add_values, size_t n_add,
                          const char *const *del_keys, size_t n_del);

#endif
