/* The broker's membership of the cluster: its side of controller/st_controller.h. Starts the
 * node (ZooKeeper session, registration of /brokers/ids/<id> with the advertised listeners,
 * controller candidacy), checks the cluster id against meta.properties, keeps the broker epoch
 * in broker/cluster/fencing.h current (also after a session re-creation), reports stray logs,
 * runs the controlled shutdown on SIGTERM, and stops the node last.
 *
 * Threads: start / controlled_shutdown / stop on the main thread. The node's callbacks run on
 * the node thread and only store atomics. */
#ifndef ST_CLUSTER_MEMBERSHIP_H
#define ST_CLUSTER_MEMBERSHIP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker.h"

/* Resolves broker.id=-1 from meta.properties of the log dirs (an id generated at an earlier
 * start), then starts the node (listeners must be bound: advertised port 0 becomes the bound
 * port) and checks/records cluster.id in meta.properties of every log dir. Afterwards
 * b->cfg.broker_id holds the final id. 0, or <0 after logging why (the broker exits 1): the
 * ensemble unreachable within zookeeper.connection.timeout.ms, the id held by a live broker, a
 * cluster id mismatch. */
int st_membership_start(st_broker_t *b);

/* After the log dirs are open: every partition log on disk whose topic-partition ZooKeeper
 * does not assign to this broker (topic unknown, partition beyond the topic's count, or this
 * broker not among its replicas) is a stray log. It stays on disk untouched (maintenance leaves
 * logs of partitions not hosted alone) and is not served (nothing hosts it unless a LeaderAndIsr
 * names it later); one WARN line per topic names its stray partitions. Kafka deletes stray logs
 * later; here an operator decides. Main thread, before the replica manager starts. */
void st_membership_check_stray_logs(st_broker_t *b);

/* Kafka's controlled shutdown: asks the controller (ControlledShutdown over the inter-broker
 * listener) to move this broker's leaderships away, retrying controlled.shutdown.max.retries
 * times every controlled.shutdown.retry.backoff.ms until none remain. Returns true when it
 * succeeded; false (logged) means an unclean shutdown follows. give_up (set by a second signal)
 * stops the retries and backoffs; an attempt in flight ends within its request timeout. */
bool st_membership_controlled_shutdown(st_broker_t *b, const atomic_bool *give_up);

/* Closes the session (registration and, if held, /controller go at once) and stops the node. */
void st_membership_stop(st_broker_t *b);

#endif
