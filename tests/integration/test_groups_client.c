/* Consumer groups through the client library, on a live 3-broker cluster (real ZooKeeper, real
 * brokers), each member a group_member process of its own:
 *  - queue semantics: one group, three members, six partitions, 60,000 records: each record is
 *    consumed exactly once by the group (members join one after another while the records are
 *    being consumed, so every join is a rebalance with commits before revocation);
 *  - publish-subscribe: three groups each read every record. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_harness.h"
#include "group_util.h"
#include "test_util.h"

static st_test_cluster_t cluster;
static char dir[64];

static void start(void)
{
    const char *ov[] = {
        "offsets.topic.num.partitions=10", "group.initial.rebalance.delay.ms=100",
        "group.min.session.timeout.ms=500", NULL,
    };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    gm_dir_init(dir, sizeof(dir));
}

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
    gm_dir_cleanup(dir);
}

TestSuite(groups_client, .init = start, .fini = teardown, .timeout = 300);

#define N_RECORDS 60000

/* Sum of R lines of the members. */
static long total_records(gm_t *m, int n)
{
    long total = 0;
    for (int i = 0; i < n; i++)
        total += gm_count(&m[i], "R ");
    return total;
}

/* Waits until the members together printed at least want R lines. */
static void wait_total(gm_t *m, int n, long want, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    long total;
    while ((total = total_records(m, n)) < want) {
        cr_assert_lt(st_test_now_ms(), deadline, "the members consumed %ld of %ld records", total,
                     want);
        st_test_sleep_ms(200);
    }
}

Test(groups_client, queue_semantics)
{
    gp_create_topic(cluster.bootstrap, "q", 6, 3);
    gp_produce(cluster.bootstrap, "q", 0, N_RECORDS);
    gm_t m[3] = { 0 };
    const char *args[] = { "--topic", "q", "--property", "auto.offset.reset=earliest",
                           "--property", "max.poll.records=100", "--sleep-ms", "5", NULL };
    char name[16];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        gm_start(&m[i], dir, name, cluster.bootstrap, "gq", args);
        /* The next one joins while this one consumes: a rebalance each time. */
        if (i < 2)
            wait_total(m, i + 1, 2000 * (i + 1), 60000);
    }
    wait_total(m, 3, N_RECORDS, 120000);
    st_test_sleep_ms(1000);   /* duplicates, if any, would arrive now */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gm_stop(&m[i], SIGTERM), 0, "member %d exit status", i);
    int *counts = calloc(N_RECORDS, sizeof(int));
    long lines = 0;
    for (int i = 0; i < 3; i++)
        lines += gm_tally(&m[i], counts, N_RECORDS);
    int missing = 0, dup = 0, first_bad = -1;
    for (int i = 0; i < N_RECORDS; i++) {
        if (counts[i] != 1 && first_bad < 0)
            first_bad = i;
        missing += counts[i] == 0;
        dup += counts[i] > 1;
    }
    cr_assert_eq(missing + dup, 0, "%d missing, %d consumed twice (first: v%d, %d times); %ld "
                 "lines", missing, dup, first_bad, first_bad >= 0 ? counts[first_bad] : 0, lines);
    /* The rebalances happened mid-stream: every member consumed a share, and the first one
     * gave partitions up (REVOKED) when the others joined. */
    for (int i = 0; i < 3; i++) {
        long mine = gm_count(&m[i], "R ");
        cr_log_info("member %d: %ld records, %d assignments, %d revocations", i, mine,
                    gm_count(&m[i], "ASSIGNED "), gm_count(&m[i], "REVOKED "));
        cr_expect_gt(mine, 0, "member %d consumed nothing", i);
        cr_expect_eq(gm_count(&m[i], "CLOSED OK"), 1, "member %d closed cleanly", i);
    }
    cr_expect_geq(gm_count(&m[0], "REVOKED "), 2, "the first member rebalanced twice");
    free(counts);
}

Test(groups_client, publish_subscribe)
{
    gp_create_topic(cluster.bootstrap, "ps", 4, 3);
    gp_produce(cluster.bootstrap, "ps", 0, 6000);
    gm_t m[3] = { 0 };
    const char *args[] = { "--topic", "ps", "--property", "auto.offset.reset=earliest", NULL };
    char name[16], group[16];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "g%d", i);
        snprintf(group, sizeof(group), "group-%d", i);
        gm_start(&m[i], dir, name, cluster.bootstrap, group, args);
    }
    for (int i = 0; i < 3; i++)
        cr_assert(gm_wait_count(&m[i], "R ", 6000, 60000), "group %d read %d of 6000", i,
                  gm_count(&m[i], "R "));
    st_test_sleep_ms(500);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(gm_stop(&m[i], SIGTERM), 0);
        int *counts = calloc(6000, sizeof(int));
        gm_tally(&m[i], counts, 6000);
        for (int k = 0; k < 6000; k++)
            cr_assert_eq(counts[k], 1, "group %d read v%d %d times", i, k, counts[k]);
        free(counts);
        char owned[256];
        gm_owned(&m[i], owned, sizeof(owned));
    }
}
