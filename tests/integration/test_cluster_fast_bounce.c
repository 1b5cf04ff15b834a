/* A fast bounce (reference §6.3, KIP-380): a broker is SIGKILLed and started again within a
 * second, before ZooKeeper has expired its old session. The controller must notice through the
 * broker epoch (the czxid of /brokers/ids/<id>) that this is a new incarnation -- its log says
 * the broker bounced -- and send it the full LeaderAndIsr again, after which it rejoins every
 * ISR. A LeaderAndIsr replayed with the old broker epoch gets STALE_BROKER_EPOCH (77) and changes
 * nothing. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_util.h"
#include "st_error.h"

#define TOPIC "fb"
#define N_PART 3

static st_test_cluster_t cluster;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

static int64_t broker_epoch(int id)
{
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", id);
    int64_t czxid = -1;
    if (fu_zk_stat(cluster.zk_connect, path, NULL, 0, &czxid, NULL) != 0)
        return -1;
    return czxid;
}

Test(cluster_fast_bounce, bounce_detected_by_broker_epoch, .fini = teardown, .timeout = 300)
{
    const char *ov[] = { "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    fu_create_topic(&cluster, TOPIC, N_PART, 3, NULL);
    int ctl = st_test_cluster_controller(&cluster);
    cr_assert_gt(ctl, 0);
    int id = ctl % 3 + 1;                       /* a broker that is not the controller */
    st_test_broker_t *b = st_test_cluster_broker(&cluster, id);
    st_test_broker_t *cb = st_test_cluster_broker(&cluster, ctl);
    int64_t old_epoch = broker_epoch(id);
    cr_assert_gt(old_epoch, 0);
    long b_mark = fu_file_size(b->log_path), c_mark = fu_file_size(cb->log_path);

    int64_t t0 = st_test_now_ms();
    st_test_broker_stop(b, SIGKILL);
    int r = st_test_broker_restart(b);
    int64_t t_up = st_test_now_ms() - t0;
    cr_assert_eq(r, 0, "broker %d did not come back up", id);
    int64_t new_epoch = -1;
    int64_t deadline = st_test_now_ms() + 30000;
    while ((new_epoch = broker_epoch(id)) <= old_epoch && st_test_now_ms() < deadline)
        st_test_sleep_ms(20);
    int64_t t_reg = st_test_now_ms() - t0;
    printf("fast_bounce: broker %d SIGKILLed and accepting connections again after %lld ms; "
           "registered with broker epoch %lld (was %lld) after %lld ms\n", id, (long long)t_up,
           (long long)new_epoch, (long long)old_epoch, (long long)t_reg);
    cr_assert_gt(new_epoch, old_epoch, "broker %d never registered again", id);
    char *repl = fu_find_line(b->log_path, "of a previous process of this broker", b_mark);
    printf("fast_bounce: broker %d: %s\n", id, repl ? repl : "(no replacement line)");
    free(repl);

    /* the controller saw a bounce, not merely a death and a birth */
    char needle[64];
    snprintf(needle, sizeof(needle), "Broker %d bounced", id);
    cr_assert(fu_wait_in_file(cb->log_path, needle, c_mark, 20000),
              "controller %d's log does not say broker %d bounced", ctl, id);
    char *line = fu_find_line(cb->log_path, needle, c_mark);
    printf("fast_bounce: controller %d: %s\n", ctl, line ? line : "");
    free(line);

    /* full LeaderAndIsr to the new incarnation, then the ISRs fill */
    for (int p = 0; p < N_PART; p++) {
        char role[64];
        snprintf(role, sizeof(role), "%s-%d: none -> ", TOPIC, p);
        cr_assert(fu_wait_in_file(b->log_path, role, b_mark, 20000),
                  "broker %d got no LeaderAndIsr for %s-%d after the bounce", id, TOPIC, p);
    }
    int64_t t1 = st_test_now_ms();
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(fu_wait_isr_has(&cluster, TOPIC, p, id, true, 60000), 0,
                     "broker %d not back in the ISR of %s-%d", id, TOPIC, p);
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, p, 3, 60000), 0);
    printf("fast_bounce: broker %d in every ISR %lld ms after the kill\n", id,
           (long long)(st_test_now_ms() - t0));
    (void)t1;

    /* a LeaderAndIsr for the previous incarnation, which would change the broker's role */
    int isr[16], n_isr = 0, epoch = 0;
    int leader = fu_leader(&cluster, TOPIC, 0, &epoch, isr, &n_isr);
    int replicas[3] = { 1, 2, 3 };
    int bogus_leader = leader == id ? ctl : id;
    st_test_broker_t *bl = st_test_cluster_broker(&cluster, bogus_leader);
    int code = fu_leader_and_isr(b->port, ctl, fu_controller_epoch(&cluster), old_epoch, TOPIC, 0,
                                 bogus_leader, epoch + 100, isr, n_isr, replicas, 3, bl->port);
    printf("fast_bounce: LeaderAndIsr (leader %d at epoch %d) with the old broker epoch %lld to "
           "broker %d: error %d (%s)\n", bogus_leader, epoch + 100, (long long)old_epoch, id, code,
           code < 0 ? "no answer" : strand_err_name(code));
    cr_assert_eq(code, ST_ERR_STALE_BROKER_EPOCH);
    /* nothing changed: the broker still plays the role ZooKeeper gives it */
    cr_assert_eq(fu_leader(&cluster, TOPIC, 0, NULL, NULL, NULL), leader);
    int produce = fu_produce(b->port, TOPIC, 0, 1, 1, 5000, NULL);
    cr_assert_eq(produce, leader == id ? 0 : ST_ERR_NOT_LEADER_OR_FOLLOWER,
                 "broker %d (leader: %s) answered %d after the replayed LeaderAndIsr", id,
                 leader == id ? "yes" : "no", produce);
}
