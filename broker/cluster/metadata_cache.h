/* The metadata cache: the broker's view of the whole cluster as the controller last described
 * it (UpdateMetadata), which Metadata answers from. It is NOT the set of partitions this broker
 * hosts (that is the replica side's, fed by LeaderAndIsr): a broker knows every partition of the
 * cluster here, hosted or not.
 *
 * Contents: the live brokers with all their endpoints (listener name, security protocol, host,
 * port) and rack; the controller id and epoch; every partition's leader, leader epoch, replicas,
 * ISR, offline replicas and zk_version; the cluster id (from ZooKeeper at registration). Until
 * the controller's first UpdateMetadata it holds no brokers, no partitions and controller -1.
 *
 * Concurrency: RCU-like immutable snapshots. The writer builds a complete new snapshot from the
 * current one plus the update, then swaps the cache's pointer; readers take a reference to
 * whichever snapshot is current (st_metadata_cache_acquire) and read it without any lock for as
 * long as they like, then drop it (st_md_snapshot_release). A snapshot is never modified after
 * it is published and is freed by whoever drops its last reference.
 *   - cache->swap (a mutex) guards only the pointer load + reference increment and the pointer
 *     store: a few instructions, never held across allocation or I/O.
 *   - cache->writer (a mutex) serialises writers (UpdateMetadata may arrive on any network loop;
 *     in practice the controller's one connection): held while a new snapshot is built.
 *   Lock order: writer -> swap.
 *   Any thread may call any function here.
 *
 * Snapshot invariants (st_md_snapshot_check asserts them on every snapshot before it is
 * published; input that would break them is refused by st_metadata_cache_apply with -EINVAL):
 *   1. brokers are sorted by id, ids unique and >= 0; each broker has >= 1 endpoint, endpoint
 *      listener names unique within the broker, ports in 0..65535.
 *   2. topics are sorted by name (strcmp), names unique and non-empty; a topic has >= 1
 *      partition (a topic whose last partition is deleted is removed).
 *   3. a topic's partitions are sorted by partition index, indexes unique and >= 0.
 *   4. leader is -1 (none) or a broker id >= 0: -2 ("being deleted") is never stored, it removes
 *      the partition. replica, ISR and offline ids are >= 0 and unique within each list.
 *   5. controller_epoch never decreases from one published snapshot to the next
 *      (st_metadata_cache_apply refuses an older one with -ESTALE); version increases by one.
 *
 * Deletion (Kafka's MetadataCache): a partition state with leader -2 removes that partition;
 * the topic disappears with its last partition (the controller sends -2 for every partition of
 * a deleted topic in one request, so the topic goes at once). */
#ifndef ST_METADATA_CACHE_H
#define ST_METADATA_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker_config.h"
#include "st_cluster.h"

#define ST_MD_LEADER_NONE ST_LEADER_NONE
#define ST_MD_LEADER_DURING_DELETE ST_LEADER_DURING_DELETE   /* in an update only: drop it */

/* A live broker: endpoints are st_listener_cfg_t (name = listener name, protocol, host, port). */
typedef struct st_broker_endpoint {
    int32_t id;
    char rack[64];                     /* "" = none */
    st_listener_cfg_t *listeners;      /* advertised endpoints, n_listeners >= 1 */
    size_t n_listeners;
} st_broker_endpoint_t;

/* A partition's state: the shared leader-and-ISR (st_cluster.h: leader -1 = none, leader epoch,
 * controller epoch of the controller that made this leadership decision, ISR, zk_version) plus
 * the replicas and offline replicas. In a snapshot the id lists are never NULL (even empty). */
typedef struct st_md_partition {
    int32_t partition;
    st_lisr_t lisr;
    st_int_list_t replicas;
    st_int_list_t offline;
} st_md_partition_t;

typedef struct st_md_topic {
    char *name;
    st_md_partition_t *parts;          /* sorted by partition index */
    size_t n_parts;
} st_md_topic_t;

/* An immutable snapshot. Read freely while holding a reference. */
typedef struct st_md_snapshot {
    atomic_int refs;
    uint64_t version;                  /* 0 for the initial, empty snapshot */
    char cluster_id[64];
    int32_t controller_id;             /* -1: unknown */
    int32_t controller_epoch;          /* -1: never updated by a controller */
    st_broker_endpoint_t *brokers;     /* sorted by id */
    size_t n_brokers;
    st_md_topic_t *topics;             /* sorted by name */
    size_t n_topics;
} st_md_snapshot_t;

typedef struct st_metadata_cache st_metadata_cache_t;

int st_metadata_cache_new(const char *cluster_id, st_metadata_cache_t **ret);
/* No reader may hold a snapshot of it any more... except the ones it releases later: snapshots
 * are reference counted, so releasing after the cache is freed is safe. */
void st_metadata_cache_free(st_metadata_cache_t *cache);

/* ---- readers ----------------------------------------------------------------------------- */

/* A reference to the current snapshot (never NULL). Release it with st_md_snapshot_release. */
st_md_snapshot_t *st_metadata_cache_acquire(st_metadata_cache_t *cache);
void st_md_snapshot_release(st_md_snapshot_t *snap);

/* Lookups in a snapshot (binary search). NULL when absent. */
const st_md_topic_t *st_md_snapshot_topic(const st_md_snapshot_t *snap, const char *name);
const st_md_partition_t *st_md_topic_partition(const st_md_topic_t *topic, int32_t partition);
const st_broker_endpoint_t *st_md_snapshot_broker(const st_md_snapshot_t *snap, int32_t id);
/* The broker's endpoint for listener_name, NULL if it has none. */
const st_listener_cfg_t *st_md_broker_endpoint(const st_broker_endpoint_t *broker,
                                               const char *listener_name);
/* Asserts the invariants above (aborts on violation; always compiled in). */
void st_md_snapshot_check(const st_md_snapshot_t *snap);

/* ---- the writer -------------------------------------------------------------------------- */

/* One partition state of an update; ids are copied. leader -2 deletes the partition. */
typedef struct st_md_partition_update {
    const char *topic;
    st_md_partition_t state;
} st_md_partition_update_t;

typedef struct st_md_update {
    int32_t controller_id;
    int32_t controller_epoch;
    bool replace_brokers;              /* true: brokers[] is the complete live-broker list */
    const st_broker_endpoint_t *brokers;
    size_t n_brokers;
    const st_md_partition_update_t *partitions;
    size_t n_partitions;
} st_md_update_t;

/* Applies an update (UpdateMetadata): partition states upserted or deleted, the broker list
 * replaced, controller id and epoch set, as one new snapshot. 0; -ESTALE (nothing changed) when
 * controller_epoch is older than the current snapshot's; -EINVAL (nothing changed, reason in
 * why) when the update would break an invariant; -ENOMEM. */
int st_metadata_cache_apply(st_metadata_cache_t *cache, const st_md_update_t *update, char *why,
                            size_t why_len);

/* ---- getters and the cluster id ---------------------------------------------------------- */

/* The controller id of the current snapshot (-1 before the first UpdateMetadata). */
int32_t st_metadata_cache_controller(st_metadata_cache_t *cache);
/* Copies the cluster id into out. */
void st_metadata_cache_cluster_id(st_metadata_cache_t *cache, char *out, size_t len);
/* The id read from ZooKeeper's /cluster/id once the broker registered (publishes a new
 * snapshot). */
void st_metadata_cache_set_cluster_id(st_metadata_cache_t *cache, const char *cluster_id);

/* Visits every broker's endpoint for listener `listener_name` (brokers without that listener
 * are skipped, as in Kafka) in one snapshot: fn may block. */
void st_metadata_cache_visit_brokers(st_metadata_cache_t *cache, const char *listener_name,
                                     void (*fn)(void *arg, int32_t id, const char *host, int port,
                                                const char *rack),
                                     void *arg);

/* Broker id's endpoint for listener `listener_name` (the replica manager: the controller's
 * inter-broker endpoint for AlterIsr). 0, or -ENOENT if the broker or listener is unknown. */
int st_metadata_cache_broker_endpoint(st_metadata_cache_t *cache, int32_t id,
                                      const char *listener_name, char *host, size_t host_len,
                                      int *ret_port);

#endif
