/* The cluster types both sides share (DESIGN.md, "The cluster's seams"): a list of broker ids, a
 * topic-partition and a list of them, a broker's endpoint (listener name, security protocol,
 * host, port) and a partition's leader-and-ISR state, with their small helpers. Pure data: no
 * ZooKeeper, no wire format, no threads, no logging. The controller's znode codecs
 * (controller/st_znode.h) read and write these; the broker's metadata cache holds them.
 *
 * Ownership: whatever these structs point to is malloc'd and owned by the struct; free it with
 * the matching *_free (NULL-safe, idempotent on zeroed structs). Copies are deep.
 *
 * Threads: any; nothing is shared. */
#ifndef ST_CLUSTER_H
#define ST_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_LEADER_NONE          (-1)   /* no leader */
#define ST_LEADER_DURING_DELETE (-2)   /* the topic is being deleted */
#define ST_BROKER_ID_RESERVED_MAX 1000 /* reserved.broker.max.id: generated ids start above */

/* ---- broker ids ---------------------------------------------------------------------------- */
typedef struct st_int_list {
    int32_t *v;
    size_t n;
} st_int_list_t;

bool st_int_list_contains(const st_int_list_t *l, int32_t x);
int st_int_list_copy(st_int_list_t *dst, const st_int_list_t *src);   /* 0 or -ENOMEM */
void st_int_list_free(st_int_list_t *l);

/* ---- topic-partitions ---------------------------------------------------------------------- */
typedef struct st_tp {
    char *topic;
    int32_t partition;
} st_tp_t;

typedef struct st_tp_list {
    st_tp_t *v;
    size_t n;
} st_tp_list_t;

void st_tp_list_free(st_tp_list_t *l);

/* ---- a broker's endpoint ------------------------------------------------------------------- */
typedef struct st_endpoint {
    char *listener;            /* listener name: PLAINTEXT, SSL, INTERNAL, ... */
    char *security_protocol;   /* PLAINTEXT or SSL */
    char *host;
    int32_t port;
} st_endpoint_t;

/* Frees the strings (not ep itself) and zeroes them. */
void st_endpoint_free(st_endpoint_t *ep);

/* ---- a partition's leader and ISR ---------------------------------------------------------- */
typedef struct st_lisr {
    int32_t leader;            /* ST_LEADER_NONE, ST_LEADER_DURING_DELETE or a broker id */
    int32_t leader_epoch;
    int32_t controller_epoch;  /* of the controller that made this leadership decision */
    st_int_list_t isr;
    int32_t zk_version;        /* the state znode's dataVersion (not in its JSON) */
} st_lisr_t;

void st_lisr_free(st_lisr_t *lisr);
int st_lisr_copy(st_lisr_t *dst, const st_lisr_t *src);   /* 0 or -ENOMEM */

#endif
