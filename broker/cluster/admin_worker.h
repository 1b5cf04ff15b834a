/* Topic administration: CreateTopics, DeleteTopics, CreatePartitions and
 * Metadata's auto-creation become ZooKeeper writes (controller/st_topic_admin.h, Kafka's
 * AdminZkClient) made on ONE admin thread, never on a network loop (each is a few ZooKeeper
 * round trips). The request stays parked (await.h) while the thread writes the znodes and then
 * waits, up to the request's timeout_ms, until this broker's metadata cache (filled by the
 * controller's UpdateMetadata) shows the result: every new partition with a leader (and led
 * here when the leader is this broker), a deleted topic gone (then, within the same timeout,
 * also its znodes and this broker's logs). As in Kafka, a timeout after the znodes were written
 * answers REQUEST_TIMED_OUT although the change goes on.
 *
 * Checks made here, before anything is written: broker defaults for num_partitions -1 and
 * replication_factor -1, topic configs against the topic-config rules (topic_config.c),
 * explicit assignments versus counts; st_topic_admin checks names, existence, the replication
 * factor against the registered brokers (INVALID_REPLICATION_FACTOR naming both numbers) and
 * assignments against them. One request adds at most 4,096 partitions (INVALID_PARTITIONS
 * beyond); one Metadata request auto-creates at most 64 topics (handle_metadata.c).
 *
 * Threads: the *_submit functions on the request's loop thread; the work on the admin thread. */
#ifndef ST_CLUSTER_ADMIN_WORKER_H
#define ST_CLUSTER_ADMIN_WORKER_H

#include "broker.h"
#include "request.h"

int st_admin_worker_start(st_broker_t *b, st_admin_worker_t **ret);
/* Joins the thread; jobs still queued are answered with REQUEST_TIMED_OUT by their expiry. */
void st_admin_worker_stop(st_admin_worker_t *w);

/* Each decodes nothing: msg was unpacked with the default allocator and is owned (freed) by the
 * worker from here on. Returns what a handler returns (0, or <0 to close the connection). */
int st_admin_worker_create_topics(st_request_t *req, Strand__CreateTopicsRequest *msg);
int st_admin_worker_delete_topics(st_request_t *req, Strand__DeleteTopicsRequest *msg);
int st_admin_worker_create_partitions(st_request_t *req, Strand__CreatePartitionsRequest *msg);
/* Metadata's auto-creation: queues the creation (broker defaults) and returns at once. */
void st_admin_worker_auto_create(st_broker_t *b, const char *topic);
/* An internal topic (the group coordinator's __consumer_offsets): queues its creation with
 * these partitions, the replication factor capped by the registered brokers (Kafka's
 * offsets.topic.replication.factor rule as Strand applies it) and the n_configs overrides
 * (copied); returns at once. TOPIC_ALREADY_EXISTS is not an error. */
void st_admin_worker_create_internal(st_broker_t *b, const char *topic, int32_t partitions,
                                     int32_t replication_factor, const char *const *config_keys,
                                     const char *const *config_values, size_t n_configs);

#endif
