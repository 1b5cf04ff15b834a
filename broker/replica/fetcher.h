/* Replica fetchers: num.replica.fetchers threads per source broker, each fetching a share of
 * the partitions this broker follows from that leader (see fetcher.c). */
#ifndef ST_FETCHER_H
#define ST_FETCHER_H

#include <stdint.h>

#include "broker.h"
#include "partition.h"

typedef struct st_fetcher st_fetcher_t;

/* Starts a fetcher thread for leader_id (index among that leader's fetchers). Replica-state
 * thread. */
int st_fetcher_new(st_broker_t *b, int32_t leader_id, int index, st_fetcher_t **ret);
int32_t st_fetcher_leader(const st_fetcher_t *f);
int st_fetcher_index(const st_fetcher_t *f);
/* Where the leader's inter-broker listener is (may change between LeaderAndIsr requests). */
void st_fetcher_set_endpoint(st_fetcher_t *f, const char *host, int port);
/* Starts fetching part (referenced by the fetcher) at leader_epoch. 0 or -ENOMEM. */
int st_fetcher_add(st_fetcher_t *f, st_partition_t *part, int32_t leader_epoch);
/* Stops fetching part; when it returns, this fetcher no longer touches part's log. True if it
 * was there. Replica-state thread. */
bool st_fetcher_remove(st_fetcher_t *f, st_partition_t *part);
/* Tells the thread to stop and ends its fetch in flight (no wait): call it on every fetcher
 * before freeing them, so that their long polls end together rather than one after another. */
void st_fetcher_stop(st_fetcher_t *f);
/* Stops the thread (st_fetcher_stop, then joins it), drops every partition, frees. */
void st_fetcher_free(st_fetcher_t *f);

#endif
