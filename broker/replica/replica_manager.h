/* The replica manager: applies the controller's LeaderAndIsr and StopReplica requests on ONE
 * replica-state thread, in order (creating logs, truncating, starting and stopping fetchers),
 * runs the replication background tasks (ISR expiry, high-watermark checkpoint) and sends ISR
 * changes to the controller (AlterIsr). See replica_manager.c.
 *
 * Startup (main.c): st_replica_manager_start after the registry and the network are created.
 * Fencing uses broker/cluster/fencing.h (the broker epoch registration sets, and the highest
 * controller epoch seen, shared with UpdateMetadata). */
#ifndef ST_REPLICA_MANAGER_H
#define ST_REPLICA_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "strand.pb-c.h"

typedef struct st_replica_manager st_replica_manager_t;
struct st_request;

/* Starts the replica-state thread and the AlterIsr sender; loads replication-offset-checkpoint.
 * Main thread. */
int st_replica_manager_start(st_broker_t *b, st_replica_manager_t **ret);
/* Stops fetchers and threads, writes the HW checkpoint. Main thread, after the network stopped. */
void st_replica_manager_stop(st_replica_manager_t *rm);

/* Any thread. */

/* Loop thread (handlers): hands a decoded request (unpacked with the default allocator;
 * ownership passes) to the replica-state thread and parks the request as a delayed operation
 * until it is applied; the response is sent then. Returns what a handler returns. */
int st_replica_manager_submit_leader_and_isr(struct st_request *req, Strand__LeaderAndIsrRequest *msg);
int st_replica_manager_submit_stop_replica(struct st_request *req, Strand__StopReplicaRequest *msg);

/* Writes replication-offset-checkpoint of every log dir now (any thread but the loops). */
int st_replica_manager_checkpoint_hw(st_replica_manager_t *rm);

#endif
