/* Topic administration as ZooKeeper writes -- what Kafka's AdminZkClient does. The broker's
 * CreateTopics / DeleteTopics / CreatePartitions handlers and the --zookeeper tools call these;
 * the controller notices the znodes (watches on /brokers/topics, /brokers/topics/<t> and
 * /admin/delete_topics) and does the rest: leaders, LeaderAndIsr, StopReplica.
 *
 *   create:          /config/topics/<t> (overrides, possibly empty), then /brokers/topics/<t>
 *                    (the assignment), in one multi-op so that a topic never appears without
 *                    its config.
 *   delete:          /admin/delete_topics/<t> (the controller deletes the rest afterwards).
 *   add partitions:  /brokers/topics/<t> rewritten with the longer partitions map, conditional
 *                    on the version that was read.
 *   preferred election (--zookeeper tool): /admin/preferred_replica_election.
 *
 * Every function returns an st_error_t code (ST_ERR_NONE is 0) with a message naming what was
 * wrong (the topic, the broker, the numbers); ZooKeeper failures are reported as
 * ST_ERR_UNKNOWN_SERVER_ERROR / ST_ERR_REQUEST_TIMED_OUT with the znode path in the message.
 *
 * Threads: any thread that may block for a few ZooKeeper round trips (never a network loop:
 * the broker calls these from its admin worker). No state of its own. */
#ifndef ST_TOPIC_ADMIN_H
#define ST_TOPIC_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_znode.h"
#include "st_zk.h"

/* A live broker as topic admin sees it: id and rack ("" if none). */
typedef struct st_admin_broker {
    int32_t id;
    char rack[64];
} st_admin_broker_t;

/* Registered brokers, sorted by id (malloc'd; free()). Registrations that do not parse are
 * skipped (the controller reports them). */
int st_topic_admin_brokers(st_zk_t *zk, st_admin_broker_t **ret, size_t *ret_n, char *msg,
                           size_t msg_len);

typedef struct st_topic_spec {
    const char *name;
    int32_t n_partitions;              /* >= 1 (the caller resolves broker defaults) */
    int32_t replication_factor;        /* >= 1, or ignored with an explicit assignment */
    const int32_t *assignment;         /* NULL, or n_partitions rows of n_assignment_rf ids */
    int32_t n_assignment_rf;
    const char *const *config_keys;    /* n_configs overrides, written as strings */
    const char *const *config_values;
    size_t n_configs;
    bool rack_aware;                   /* false: Kafka's --disable-rack-aware */
    bool validate_only;                /* every check, nothing written */
    /* NULL: read the registered brokers from ZooKeeper. Else the list st_topic_admin_brokers
     * gave, read once for a request creating many topics (as Kafka reads the live brokers once
     * per CreateTopics request). */
    const st_admin_broker_t *brokers;
    size_t n_brokers;
} st_topic_spec_t;

/* Creates a topic: name rules and collisions, TOPIC_ALREADY_EXISTS (also while marked for
 * deletion), INVALID_REPLICATION_FACTOR naming both numbers, explicit assignments checked
 * against the registered brokers, then the znodes. ret_assignment (may be NULL) receives the
 * chosen assignment (malloc'd n_partitions * rf, free()). */
int st_topic_admin_create(st_zk_t *zk, const st_topic_spec_t *spec, int32_t **ret_assignment,
                          char *msg, size_t msg_len);

/* Marks a topic for deletion. UNKNOWN_TOPIC_OR_PARTITION when it does not exist; NONE when it
 * is already marked (idempotent, as Kafka). */
int st_topic_admin_delete(st_zk_t *zk, const char *topic, char *msg, size_t msg_len);

/* Grows a topic to new_total partitions. assignment: NULL for Kafka's placement of new
 * partitions, else (new_total - current) rows of rf ids (rf must equal the topic's). */
int st_topic_admin_add_partitions(st_zk_t *zk, const char *topic, int32_t new_total,
                                  const int32_t *assignment, size_t n_rows, size_t rf,
                                  bool validate_only, char *msg, size_t msg_len);

/* A topic as ZooKeeper holds it (for --describe with --zookeeper, and the broker). */
typedef struct st_topic_desc {
    char *name;
    st_topic_assignment_t assignment;
    st_lisr_t *states;                 /* [assignment.n_partitions]; leader -1 and empty ISR
                                          when a partition has no state znode yet */
    bool *has_state;                   /* [n_partitions] */
    st_topic_overrides_t config;
    bool marked_for_deletion;
} st_topic_desc_t;

/* Names of every topic, sorted (malloc'd array of malloc'd strings; st_zk_free_strings). */
int st_topic_admin_list(st_zk_t *zk, char ***ret_names, size_t *ret_n, char *msg, size_t msg_len);
/* One topic; UNKNOWN_TOPIC_OR_PARTITION when it does not exist; a malformed znode is
 * UNKNOWN_SERVER_ERROR with the path and the reason in msg. */
int st_topic_admin_describe(st_zk_t *zk, const char *topic, st_topic_desc_t *ret, char *msg,
                            size_t msg_len);
void st_topic_desc_free(st_topic_desc_t *desc);

/* Creates /admin/preferred_replica_election for the partitions. When an election is already
 * pending (the znode exists) nothing is written and ST_ERR_INVALID_REQUEST comes back with
 * Kafka's "Preferred replica leader election currently in progress for ..." message. */
int st_topic_admin_preferred_election(st_zk_t *zk, const st_tp_list_t *tps, char *msg,
                                      size_t msg_len);

#endif
