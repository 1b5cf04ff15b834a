/* The leader's own ISR management, without the controller noticing a dead broker: a follower
 * paused (SIGSTOP) for longer than replica.lag.time.max.ms but well within the ZooKeeper session
 * timeout stays registered, so only the leader's lag rule can take it out of the ISR (through
 * AlterIsr to the controller). While it is out, an acks=all write that was appended while the
 * ISR still had two members is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND (Kafka's rule: the
 * high watermark passed it, but with fewer in-sync replicas than min.insync.replicas); a new
 * acks=all write gets NOT_ENOUGH_REPLICAS and appends nothing. Resumed, the follower catches up
 * and the leader expands the ISR again; acks=all works. The two replicas are placed on the
 * brokers that are not the controller: a paused controller could not take the leader's AlterIsr
 * (in Kafka neither), and the test is about the leader's rule. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_harness.h"
#include "fault_util.h"
#include "st_error.h"

#define TOPIC "lag"

static st_test_cluster_t cluster;

static void teardown(void)
{
    for (int id = 1; id <= cluster.n; id++) {
        st_test_broker_t *b = st_test_cluster_broker(&cluster, id);
        if (b && b->pid > 0)
            kill(b->pid, SIGCONT);
    }
    st_test_cluster_cleanup(&cluster);
}

Test(cluster_isr_lag, shrink_and_expand_by_the_leader, .fini = teardown, .timeout = 180)
{
    /* session 8 s: the paused follower never loses its registration during the test */
    const char *ov[] = { "zookeeper.session.timeout.ms=8000", "replica.lag.time.max.ms=800",
                         "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    int controller = st_test_cluster_controller(&cluster);
    cr_assert(controller >= 1 && controller <= 3);
    int leader = controller == 1 ? 2 : 1;
    int follower = 6 - controller - leader;
    char assignment[16];
    snprintf(assignment, sizeof(assignment), "%d:%d", leader, follower);
    const char *argv[] = { "strand-topics", "--create", "@ZK", "--topic", TOPIC,
                           "--replica-assignment", assignment, "--config",
                           "min.insync.replicas=2", NULL };
    char *out = NULL, *err = NULL;
    cr_assert_eq(st_test_cluster_tool(&cluster, argv, &out, &err, 20000), 0, "%s", err);
    free(out);
    free(err);
    cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, 0, 2, 20000), 0);
    cr_assert_eq(fu_leader(&cluster, TOPIC, 0, NULL, NULL, NULL), leader);
    st_test_broker_t *lb = st_test_cluster_broker(&cluster, leader);
    st_test_broker_t *fb = st_test_cluster_broker(&cluster, follower);
    int64_t base = -1;
    cr_assert_eq(fu_produce(lb->port, TOPIC, 0, -1, 5, 10000, &base), ST_ERR_NONE);

    /* Pause the follower: the acks=all write below is appended (the ISR has 2 members) and
     * waits; the leader's lag rule shrinks the ISR; the write is then answered. */
    cr_assert_eq(st_test_pause(fb->pid, 5000), 0);
    int64_t t0 = st_test_now_ms();
    int code = fu_produce(lb->port, TOPIC, 0, -1, 5, 15000, &base);
    int64_t answered = st_test_now_ms() - t0;
    printf("acks=all during the pause: %s after %lld ms\n", st_error_name(code),
           (long long)answered);
    cr_assert_eq(code, ST_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, "got %s", st_error_name(code));
    cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, 0, 1, 10000), 0,
                 "the leader did not take the paused follower out of the ISR");
    int isr[2], n_isr = 2;
    fu_leader(&cluster, TOPIC, 0, NULL, isr, &n_isr);
    cr_assert_eq(n_isr, 1);
    cr_assert_eq(isr[0], leader, "the ISR is [leader]");
    cr_assert(st_test_zk_children(cluster.zk_connect, "/brokers/ids", (char[64]){ 0 }, 64) == 3,
              "the paused follower is still registered: the shrink came from the lag rule");
    cr_assert_lt(answered, 6000, "answered by the lag rule (800 ms), not by the session expiry");

    /* A new acks=all write: refused before appending. */
    int64_t end0 = -1, end1 = -1;
    cr_assert_eq(fu_list_latest(lb->port, TOPIC, 0, true, &end0), 0);
    cr_assert_eq(fu_produce(lb->port, TOPIC, 0, -1, 5, 5000, &base), ST_ERR_NOT_ENOUGH_REPLICAS);
    cr_assert_eq(fu_list_latest(lb->port, TOPIC, 0, true, &end1), 0);
    cr_assert_eq(end1, end0, "NOT_ENOUGH_REPLICAS appended nothing (%lld -> %lld)",
                 (long long)end0, (long long)end1);

    /* Resume: the follower catches up, the leader expands the ISR, acks=all works again. */
    cr_assert_eq(kill(fb->pid, SIGCONT), 0);
    t0 = st_test_now_ms();
    cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, 0, 2, 20000), 0, "the ISR never expanded");
    printf("ISR back to 2 members %lld ms after SIGCONT\n", (long long)(st_test_now_ms() - t0));
    cr_assert_eq(fu_produce(lb->port, TOPIC, 0, -1, 5, 10000, &base), ST_ERR_NONE);
    cr_assert(fu_count_in_file(lb->log_path, "shrinking the ISR", 0) +
              fu_count_in_file(lb->log_path, "ISR is now", 0) >= 2,
              "the leader logged its ISR changes");
}
