/* Fencing of controller requests (Kafka's KIP-380 broker epoch and the controller epoch), in one
 * place for every handler of a controller request: UpdateMetadata, LeaderAndIsr, StopReplica.
 *
 * State (both atomics in st_broker_t, written here and by registration only):
 *   - broker->controller_epoch: the highest controller epoch any accepted controller request
 *     carried, -1 before the first. It only grows (compare-and-swap max), whichever network loop
 *     or thread the requests arrive on, so LeaderAndIsr and UpdateMetadata share one view.
 *   - broker->broker_epoch: this broker's epoch, the czxid of its /brokers/ids/<id> znode, set
 *     by registration (st_broker_epoch_set) and re-set when the ZooKeeper session is re-created;
 *     -1 until registered.
 *
 * Order in a handler (as KafkaApis): authorization (st_request_is_inter_broker), then
 * st_broker_epoch_check, then st_controller_epoch_check (which records the epoch), then apply.
 *
 * Threads: any; lock-free. */
#ifndef ST_CLUSTER_FENCING_H
#define ST_CLUSTER_FENCING_H

#include <stdint.h>

#include "broker.h"

/* Sets both epochs to -1 (main.c, before any thread starts). */
void st_fencing_init(st_broker_t *broker);

/* ST_ERR_NONE and records `epoch` as the highest seen if it is higher; or
 * ST_ERR_STALE_CONTROLLER_EPOCH when epoch is older than the highest seen (equal is accepted, as
 * in Kafka: one controller sends many requests with its epoch). */
int st_controller_epoch_check(st_broker_t *broker, int32_t epoch);
/* The highest controller epoch seen, -1 if none. */
int32_t st_controller_epoch_seen(st_broker_t *broker);

/* ST_ERR_NONE, or ST_ERR_STALE_BROKER_EPOCH when request_epoch != -1 and is older than this
 * broker's own epoch (a request meant for an earlier incarnation of this broker). */
int st_broker_epoch_check(st_broker_t *broker, int64_t request_epoch);
/* Registration: this broker's epoch (czxid of /brokers/ids/<id>). */
void st_broker_epoch_set(st_broker_t *broker, int64_t epoch);
int64_t st_broker_epoch_get(st_broker_t *broker);

#endif
