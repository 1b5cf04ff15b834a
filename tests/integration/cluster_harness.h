/* Cluster-test harness: a real ZooKeeper (standalone or a 3-node ensemble) and N real
 * strand-broker processes on loopback, the way an operator runs them, plus the waits a test
 * needs (all brokers registered, a controller elected, a partition's leader/ISR as expected)
 * read straight from ZooKeeper, and the topic tools run against it. Everything is bounded in
 * time; every process dies with the test (PR_SET_PDEATHSIG). */
#ifndef ST_TEST_CLUSTER_HARNESS_H
#define ST_TEST_CLUSTER_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"
#include "zk_harness.h"

#define ST_TEST_CLUSTER_MAX 5

typedef struct st_test_cluster {
    bool ensemble;
    st_test_zk_t zk;                        /* standalone */
    st_test_zk_ensemble_t ens;              /* or ensemble */
    const char *zk_connect;                 /* points into zk or ens */
    int n;
    st_test_broker_t broker[ST_TEST_CLUSTER_MAX];   /* broker[i] has broker.id i + 1 */
    char bootstrap[ST_TEST_CLUSTER_MAX * 24];       /* every broker, comma-separated */
} st_test_cluster_t;

/* Starts ZooKeeper and n brokers (ids 1..n) with the NULL-terminated key=value overrides
 * (applied to every broker; may be NULL) and the test defaults (zookeeper.session.timeout.ms
 * 2000 with tickTime 500, short replica lag), then waits until all n are registered and a
 * controller is elected. 0 or -errno (logs printed). */
int st_test_cluster_start(st_test_cluster_t *c, int n, bool ensemble, const char *const *overrides);
/* Stops everything and removes the directories. Safe on a zeroed struct. */
void st_test_cluster_cleanup(st_test_cluster_t *c);

/* The broker with id (1-based). */
st_test_broker_t *st_test_cluster_broker(st_test_cluster_t *c, int id);
/* Waits until exactly the brokers in `ids` (count n_ids) are registered. 0 or -ETIMEDOUT. */
int st_test_cluster_wait_registered(st_test_cluster_t *c, const int *ids, int n_ids, int timeout_ms);
/* The controller's broker id from /controller, -1 if none. */
int st_test_cluster_controller(st_test_cluster_t *c);
/* Waits until /controller names a broker other than `not_id` (-1: any). Returns its id or -1. */
int st_test_cluster_wait_controller(st_test_cluster_t *c, int not_id, int timeout_ms);

/* A partition's state from ZooKeeper: leader (-1 none), leader epoch, ISR. 0, -ENOENT or
 * -EBADMSG. */
int st_test_cluster_partition(st_test_cluster_t *c, const char *topic, int partition,
                              int *ret_leader, int *ret_epoch, int *ret_isr, int *inout_n_isr);
/* Waits until pred(arg, leader, isr, n_isr) holds for the partition. 0 or -ETIMEDOUT. */
typedef bool st_test_partition_pred(void *arg, int leader, const int *isr, int n_isr);
int st_test_cluster_wait_partition(st_test_cluster_t *c, const char *topic, int partition,
                                   st_test_partition_pred *pred, void *arg, int timeout_ms);

/* Runs a tool with --zookeeper <ensemble> or --bootstrap-server <brokers> substituted for the
 * literal argument "@ZK" / "@BOOTSTRAP" in argv. Same contract as st_test_run_tool. */
int st_test_cluster_tool(st_test_cluster_t *c, const char *const *argv, char **ret_stdout,
                         char **ret_stderr, int timeout_ms);

#endif
