/* The leadership log line: every leadership change is ONE INFO line on each broker that applies
 * it, naming the partition, the old and the new leader, the leader epoch and the ISR, e.g.
 *   INFO ll-0: follower -> leader, leader 1 -> 2 at leader epoch 1, ISR [2,3]
 * After the leader is SIGKILLed, the new leader and the other surviving replica each log exactly
 * one such line, and what it says matches the partition state in ZooKeeper. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_util.h"

#define TOPIC "ll"

static st_test_cluster_t cluster;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

static void format_ids(char *out, size_t len, const int *ids, int n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%d", i ? "," : "", ids[i]);
}

Test(cluster_leadership_log, one_info_line_per_change, .fini = teardown, .timeout = 120)
{
    const char *ov[] = { "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    fu_create_topic(&cluster, TOPIC, 1, 3, NULL);
    int old = fu_leader(&cluster, TOPIC, 0, NULL, NULL, NULL);
    cr_assert_gt(old, 0);
    long mark[4] = { 0 };
    for (int id = 1; id <= 3; id++)
        mark[id] = fu_file_size(st_test_cluster_broker(&cluster, id)->log_path);
    int64_t t0 = st_test_now_ms();
    st_test_broker_stop(st_test_cluster_broker(&cluster, old), SIGKILL);
    int nl = fu_wait_leader(&cluster, TOPIC, 0, old, 30000);
    cr_assert_gt(nl, 0);
    int64_t t_new = st_test_now_ms() - t0;
    int epoch = -1, isr[16], n_isr = 0;
    cr_assert_eq(fu_leader(&cluster, TOPIC, 0, &epoch, isr, &n_isr), nl);
    char isr_s[64];
    format_ids(isr_s, sizeof(isr_s), isr, n_isr);
    printf("leadership_log: broker %d SIGKILLed; ZooKeeper: leader %d at epoch %d, ISR [%s] after "
           "%lld ms\n", old, nl, epoch, isr_s, (long long)t_new);

    for (int id = 1; id <= 3; id++) {
        if (id == old)
            continue;
        st_test_broker_t *b = st_test_cluster_broker(&cluster, id);
        char expect[200];
        snprintf(expect, sizeof(expect), "] INFO %s-0: %s -> %s, leader %d -> %d at leader epoch "
                 "%d, ISR [%s]\n", TOPIC, "follower", id == nl ? "leader" : "follower", old, nl,
                 epoch, isr_s);
        cr_assert(fu_wait_in_file(b->log_path, expect + 2, mark[id], 10000),
                  "broker %d: no line '%s'", id, expect + 7);
        int lines = fu_count_in_file(b->log_path, expect, mark[id]);
        char who[64];
        snprintf(who, sizeof(who), ", leader %d -> %d at leader epoch ", old, nl);
        int about = fu_count_in_file(b->log_path, who, mark[id]);
        char *line = fu_find_line(b->log_path, expect + 2, mark[id]);
        printf("leadership_log: broker %d (%zu matching line(s)): %s\n", id, (size_t)lines,
               line ? line : "");
        free(line);
        cr_assert_eq(lines, 1, "broker %d logged the change %d times", id, lines);
        cr_assert_eq(about, 1, "broker %d logged %d lines about leader %d -> %d", id, about, old,
                     nl);
    }
}
