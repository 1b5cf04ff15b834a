/* Dynamic configuration on the broker, Kafka's DynamicConfigManager and the ZooKeeper side of
 * DescribeConfigs (32) and IncrementalAlterConfigs (44), on ONE thread of its own (never a
 * network loop: each job is a few ZooKeeper round trips):
 *
 *  - start (main thread, before any partition is hosted): reads /config/brokers/<default> and
 *    /config/brokers/<id>, and sets the registry's topic defaults from them (topic_config.h) and
 *    the controller's unclean.leader.election.enable default;
 *  - a /config/changes notification (posted by the node thread, st_ctl_config.c):
 *    topics/<t> re-reads /config/topics/<t> and applies it to the hosted partitions and their
 *    live logs (leader and followers alike: every broker does this for itself); brokers/<id> or
 *    brokers/<default> re-reads both layers and re-resolves every hosted topic. A znode that
 *    does not decode or validate is logged naming its path and the key, and the previous
 *    configuration is kept;
 *  - a topic newly hosted here (posted by the replica-state thread): its overrides are read
 *    again, in case the LeaderAndIsr carried an older copy than ZooKeeper's;
 *  - DescribeConfigs / IncrementalAlterConfigs: the request stays parked (await.h) while the
 *    thread reads or writes ZooKeeper (st_config_admin.h), then it is answered.
 *
 * Validation of IncrementalAlterConfigs: a topic must exist (UNKNOWN_TOPIC_OR_PARTITION); an
 * unknown key or a bad value is INVALID_CONFIG naming the key and the value; APPEND / SUBTRACT on
 * a non-list key, SET of null and a key given twice are INVALID_REQUEST; a broker key that
 * cannot change without a restart is INVALID_REQUEST with Kafka's "Cannot update these configs
 * dynamically: Set(k)"; a BROKER resource must name this broker or "" (the cluster default).
 *
 * State (owned by the thread after start): the two dynamic broker layers. */
#ifndef ST_CLUSTER_CONFIG_MANAGER_H
#define ST_CLUSTER_CONFIG_MANAGER_H

#include "broker.h"
#include "request.h"

typedef struct st_config_manager st_config_manager_t;

/* Main thread, after the node and the registry exist: loads the dynamic broker layers (a
 * layer that does not decode is logged and left out), applies them, starts the thread and
 * hooks the registry's new-topic notification. 0 or -errno. */
int st_config_manager_start(st_broker_t *b, st_config_manager_t **ret);
/* Joins the thread (before the ZooKeeper session closes); jobs posted afterwards wait in the
 * mailbox. Then, once nothing can post any more (the node and the replica manager are
 * stopped), st_config_manager_free drops them (parked requests are answered by their expiry)
 * and frees everything. */
void st_config_manager_stop(st_config_manager_t *m);
void st_config_manager_free(st_config_manager_t *m);

/* The node's on_config_change (node thread): posts the work; dropped when the manager is not
 * running yet (its start reads the current state anyway). */
void st_config_manager_on_change(void *broker, const char *entity_type, const char *name);

/* The handlers (loop thread); msg was unpacked with the default allocator and is owned by the
 * manager from here on. Return what a handler returns. */
int st_config_manager_describe(st_request_t *req, Strand__DescribeConfigsRequest *msg);
int st_config_manager_alter(st_request_t *req, Strand__IncrementalAlterConfigsRequest *msg);

#endif
