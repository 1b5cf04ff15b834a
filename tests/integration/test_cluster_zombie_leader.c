/* A zombie leader (reference §6.1/§6.10): the leader of a partition is SIGSTOPped for longer
 * than zookeeper.session.timeout.ms (2000 ms in the harness); ZooKeeper shows a new leader, to
 * which acks=all writes succeed. Requests queued to the old leader while it was stopped (the
 * kernel accepts the connections) are the first thing it sees when SIGCONTed:
 *   - its acks=all write is never acknowledged (an error, or no answer: never success);
 *   - its acks=1 write may be taken (acks=1 may lose data by design) but must then be truncated
 *     away when it rejoins as a follower;
 * it becomes a follower of the new leader (one leadership log line), rejoins the ISR, and in the
 * end every replica's segment files are byte-identical up to the high watermark. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault_util.h"
#include "st_error.h"

#define TOPIC "z"

static st_test_cluster_t cluster;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

/* acks=all to the current leader from ZooKeeper until it is accepted (the new leader may not
 * have applied its LeaderAndIsr yet). Returns the error code of the last try. */
static int produce_to_leader(int n, int64_t *ret_base, int *ret_leader)
{
    int64_t deadline = st_test_now_ms() + 30000;
    int code = -1;
    do {
        int leader = fu_leader(&cluster, TOPIC, 0, NULL, NULL, NULL);
        if (leader > 0) {
            *ret_leader = leader;
            code = fu_produce(st_test_cluster_broker(&cluster, leader)->port, TOPIC, 0, -1, n,
                              10000, ret_base);
            if (code == 0)
                return 0;
        }
        st_test_sleep_ms(100);
    } while (st_test_now_ms() < deadline);
    return code;
}

Test(cluster_zombie_leader, paused_leader_never_acknowledges, .fini = teardown, .timeout = 300)
{
    const char *ov[] = { "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    fu_create_topic(&cluster, TOPIC, 1, 3, NULL);
    int64_t base = -1;
    int leader = -1, epoch_before = -1;
    cr_assert_eq(produce_to_leader(20, &base, &leader), 0);
    cr_assert_eq(fu_leader(&cluster, TOPIC, 0, &epoch_before, NULL, NULL), leader);
    st_test_broker_t *old = st_test_cluster_broker(&cluster, leader);

    /* pause the leader past the session timeout */
    cr_assert_eq(st_test_pause(old->pid, 5000), 0);
    int64_t t0 = st_test_now_ms();
    int nl = fu_wait_leader(&cluster, TOPIC, 0, leader, 30000);
    int64_t t_elect = st_test_now_ms() - t0;
    if (nl < 0)
        kill(old->pid, SIGCONT);
    cr_assert_gt(nl, 0, "no new leader while broker %d was stopped", leader);
    int epoch_new = -1;
    fu_leader(&cluster, TOPIC, 0, &epoch_new, NULL, NULL);
    printf("zombie: broker %d (leader at epoch %d) SIGSTOPped; broker %d leads at epoch %d after "
           "%lld ms\n", leader, epoch_before, nl, epoch_new, (long long)t_elect);
    int64_t b_new = -1;
    int who = -1;
    int code = produce_to_leader(10, &b_new, &who);
    cr_assert_eq(code, 0, "acks=all to the new leader: %s", strand_err_name(code));
    cr_assert_eq(who, nl);
    printf("zombie: acks=all to the new leader %d: base offset %lld\n", nl, (long long)b_new);

    /* queue writes to the stopped leader, then resume it */
    long log_mark = fu_file_size(old->log_path);
    int fd_all = st_test_connect(old->port), fd_one = st_test_connect(old->port);
    cr_assert(fd_all >= 0 && fd_one >= 0, "the stopped broker's kernel accepts connections");
    cr_assert_eq(fu_produce_send(fd_all, TOPIC, 0, -1, 7, 5000), 0);
    cr_assert_eq(fu_produce_send(fd_one, TOPIC, 0, 1, 3, 5000), 0);
    int64_t stopped_ms = st_test_now_ms() - t0;
    cr_assert_eq(kill(old->pid, SIGCONT), 0);
    int64_t b_all = -1, b_one = -1;
    int code_all = fu_produce_recv(fd_all, &b_all);
    int code_one = fu_produce_recv(fd_one, &b_one);
    close(fd_all);
    close(fd_one);
    printf("zombie: resumed after %lld ms stopped; its acks=all write answered %d (%s), its "
           "acks=1 write answered %d (%s) at base offset %lld\n", (long long)stopped_ms, code_all,
           code_all < 0 ? "no answer" : strand_err_name(code_all), code_one,
           code_one < 0 ? "no answer" : strand_err_name(code_one), (long long)b_one);
    cr_assert_neq(code_all, 0, "the deposed leader acknowledged an acks=all write at offset %lld",
                  (long long)b_all);

    /* it follows the new leader and rejoins the ISR */
    int64_t t1 = st_test_now_ms();
    cr_assert_eq(fu_wait_isr_has(&cluster, TOPIC, 0, leader, true, 60000), 0,
                 "broker %d never rejoined the ISR", leader);
    int64_t t_rejoin = st_test_now_ms() - t1;
    cr_assert_eq(fu_leader(&cluster, TOPIC, 0, NULL, NULL, NULL), nl, "the new leader kept it");
    char needle[128];
    snprintf(needle, sizeof(needle), "%s-0: leader -> follower, leader %d -> %d", TOPIC, leader, nl);
    cr_assert(fu_wait_in_file(old->log_path, needle, log_mark, 10000),
              "broker %d's log has no line '%s'", leader, needle);
    char *line = fu_find_line(old->log_path, needle, log_mark);
    printf("zombie: broker %d back in the ISR %lld ms after SIGCONT: %s\n", leader,
           (long long)t_rejoin, line ? line : "");
    free(line);
    char *trunc = fu_find_line(old->log_path, TOPIC "-0: truncated from offset", log_mark);
    printf("zombie: truncation on broker %d: %s\n", leader, trunc ? trunc : "(none)");
    if (code_one == 0)
        cr_assert_not_null(trunc, "the zombie took an acks=1 write at %lld but never truncated it",
                           (long long)b_one);
    free(trunc);

    /* more writes, then every replica holds the same bytes up to the high watermark */
    int64_t b_last = -1;
    cr_assert_eq(produce_to_leader(10, &b_last, &who), 0);
    int64_t hw = -1;
    cr_assert_eq(fu_list_latest(st_test_cluster_broker(&cluster, who)->port, TOPIC, 0, false, &hw),
                 0);
    cr_assert_geq(hw, b_last + 10);
    int n = fu_wait_replicas_identical(&cluster, TOPIC, 0, hw, 30000);
    cr_assert_eq(n, 3, "the three replicas differ below the high watermark %lld", (long long)hw);
    printf("zombie: high watermark %lld; 3 replicas identical up to it\n", (long long)hw);
}
