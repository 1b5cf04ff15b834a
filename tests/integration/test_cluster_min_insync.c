/* min.insync.replicas (reference §3.6): RF 3, min.insync.replicas=2. Both followers of a
 * partition are SIGKILLed; once ZooKeeper holds ISR = [leader] (and the leader says so too), an
 * acks=all produce gets NOT_ENOUGH_REPLICAS (19) and nothing is appended (log end offset through
 * ListOffsets, and the leader's segment bytes, unchanged), while acks=1 still appends. The
 * followers come back, rejoin the ISR, and acks=all works again. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "fault_util.h"
#include "st_error.h"

#define TOPIC "mi"

static st_test_cluster_t cluster;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

Test(cluster_min_insync, acks_all_refused_below_min_isr, .fini = teardown, .timeout = 300)
{
    const char *ov[] = { "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    fu_create_topic(&cluster, TOPIC, 1, 3, (const char *const[]){ "min.insync.replicas=2", NULL });
    int isr[16], n_isr = 0;
    int leader = fu_leader(&cluster, TOPIC, 0, NULL, isr, &n_isr);
    cr_assert_gt(leader, 0);
    st_test_broker_t *lb = st_test_cluster_broker(&cluster, leader);
    int64_t base = -1;
    cr_assert_eq(fu_produce(lb->port, TOPIC, 0, -1, 10, 10000, &base), 0,
                 "acks=all with the full ISR");

    int followers[2], nf = 0;
    for (int id = 1; id <= 3; id++)
        if (id != leader)
            followers[nf++] = id;
    for (int i = 0; i < 2; i++)
        st_test_broker_stop(st_test_cluster_broker(&cluster, followers[i]), SIGKILL);
    int64_t t0 = st_test_now_ms();
    cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, 0, 1, 30000), 0,
                 "the ISR never shrank to the leader alone in ZooKeeper");
    n_isr = 0;
    cr_assert_eq(fu_leader(&cluster, TOPIC, 0, NULL, isr, &n_isr), leader,
                 "the leader stays leader");
    cr_assert(n_isr == 1 && isr[0] == leader);
    int64_t t_zk = st_test_now_ms() - t0;
    cr_assert_eq(fu_wait_broker_view_isr(lb->port, TOPIC, 0, 1, 20000), 0,
                 "the leader never learnt ISR = [%d]", leader);
    printf("min_insync: followers %d and %d killed; ISR = [%d] in ZooKeeper after %lld ms\n",
           followers[0], followers[1], leader, (long long)t_zk);

    int64_t leo_before = -1, hw_before = -1;
    cr_assert_eq(fu_list_latest(lb->port, TOPIC, 0, true, &leo_before), 0);
    cr_assert_eq(fu_list_latest(lb->port, TOPIC, 0, false, &hw_before), 0);
    long bytes_before = fu_segment_total(lb, TOPIC, 0);
    int code = fu_produce(lb->port, TOPIC, 0, -1, 5, 5000, &base);
    int64_t leo_after = -1;
    cr_assert_eq(fu_list_latest(lb->port, TOPIC, 0, true, &leo_after), 0);
    long bytes_after = fu_segment_total(lb, TOPIC, 0);
    printf("min_insync: acks=all with ISR [%d]: error %d (%s); log end offset %lld -> %lld, "
           "segment bytes %ld -> %ld\n", leader, code, strand_err_name(code),
           (long long)leo_before, (long long)leo_after, bytes_before, bytes_after);
    cr_assert_eq(code, ST_ERR_NOT_ENOUGH_REPLICAS, "acks=all below min.insync.replicas: got %d (%s)",
                 code, strand_err_name(code));
    cr_assert_eq(leo_after, leo_before, "a refused acks=all produce appended something");
    cr_assert_eq(bytes_after, bytes_before, "the leader's segment grew");

    code = fu_produce(lb->port, TOPIC, 0, 1, 5, 5000, &base);
    int64_t leo_acks1 = -1;
    cr_assert_eq(fu_list_latest(lb->port, TOPIC, 0, true, &leo_acks1), 0);
    printf("min_insync: acks=1 with ISR [%d]: error %d, base offset %lld, log end offset %lld\n",
           leader, code, (long long)base, (long long)leo_acks1);
    cr_assert_eq(code, 0, "acks=1 ignores min.insync.replicas: got %s", strand_err_name(code));
    cr_assert_eq(base, leo_before);
    cr_assert_eq(leo_acks1, leo_before + 5);

    for (int i = 0; i < 2; i++)
        cr_assert_eq(st_test_broker_restart(st_test_cluster_broker(&cluster, followers[i])), 0);
    int64_t t1 = st_test_now_ms();
    cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, 0, 3, 60000), 0, "the followers never rejoined");
    cr_assert_eq(fu_wait_broker_view_isr(lb->port, TOPIC, 0, 3, 20000), 0);
    int64_t t_rejoin = st_test_now_ms() - t1;
    int now_leader = fu_leader(&cluster, TOPIC, 0, NULL, NULL, NULL);
    st_test_broker_t *nb = st_test_cluster_broker(&cluster, now_leader);
    code = fu_produce(nb->port, TOPIC, 0, -1, 5, 10000, &base);
    printf("min_insync: followers back in the ISR %lld ms after their restart; acks=all to "
           "leader %d: error %d, base offset %lld\n", (long long)t_rejoin, now_leader, code,
           (long long)base);
    cr_assert_eq(code, 0, "acks=all with the ISR full again: %s", strand_err_name(code));
    cr_assert_eq(base, leo_acks1, "the refused records never took offsets");
    cr_assert_gt(fu_wait_replicas_identical(&cluster, TOPIC, 0, base + 5, 30000), 0);
}
