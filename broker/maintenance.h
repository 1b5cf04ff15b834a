/* The background maintenance thread: retention, compaction and time-based flush
 * (st_log_manager_maintain) every log.retention.check.interval.ms, and the recovery-point
 * checkpoint every log.flush.offset.checkpoint.interval.ms. Never on the request path. */
#ifndef ST_MAINTENANCE_H
#define ST_MAINTENANCE_H

#include "broker.h"

typedef struct st_maintenance st_maintenance_t;

int st_maintenance_start(st_broker_t *broker, st_maintenance_t **ret);
/* Wakes the thread, waits for the pass in progress (if any) to end, joins. */
void st_maintenance_stop(st_maintenance_t *m);

#endif
