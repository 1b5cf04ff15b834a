/* Consumer-group rebalances through the client library on a live 3-broker cluster, members in
 * processes of their own (group_member):
 *  - membership: a member joining splits the partitions; a graceful leave (SIGTERM: LeaveGroup)
 *    hands them back before the session timeout could have; a SIGKILLed member's partitions move
 *    once its session timeout passed; added partitions are assigned (the leader sees them in
 *    metadata); no record is lost along the way;
 *  - heartbeats come from the I/O thread: a member that does not poll for three times its
 *    session timeout (but within max.poll.interval.ms) keeps its partitions, no rebalance;
 *  - max.poll.interval.ms: a member that stops polling leaves; the other takes everything; the
 *    stalled one reports its partitions LOST when it polls again, and rejoins;
 *  - cooperative-sticky: a joining member gets half the partitions and the old member revokes
 *    exactly those -- never the ones it keeps -- and nothing is consumed twice;
 *  - static membership: a member restarted with its group.instance.id within the session timeout
 *    gets its partitions back with no rebalance for the other (same generation, no callbacks);
 *    a second consumer with the same instance id fences the first (FENCED_INSTANCE_ID, fatal);
 *  - coordinator failover: SIGKILL of the broker that coordinates the group: the members find
 *    the new coordinator and go on; committed offsets are intact (nothing lost, nothing consumed
 *    twice, the final committed offsets are the log ends). */
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
        "group.min.session.timeout.ms=500", "auto.leader.rebalance.enable=false", NULL,
    };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    gm_dir_init(dir, sizeof(dir));
}

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
    gm_dir_cleanup(dir);
}

TestSuite(groups_rebalance, .init = start, .fini = teardown, .timeout = 300);

/* Records v0..v(n-1) consumed by the members: how many are missing, how many came more than
 * once (the number of extra deliveries). */
static void tally(gm_t *m, int n_members, int n, int *ret_missing, int *ret_extra)
{
    int *counts = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n_members; i++)
        gm_tally(&m[i], counts, (size_t)n);
    int missing = 0, extra = 0;
    for (int i = 0; i < n; i++) {
        missing += counts[i] == 0;
        extra += counts[i] > 1 ? counts[i] - 1 : 0;
    }
    free(counts);
    *ret_missing = missing;
    *ret_extra = extra;
}

/* Waits until none of v0..v(n-1) is missing. */
static void wait_all(gm_t *m, int n_members, int n, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int missing, extra;
    for (;;) {
        tally(m, n_members, n, &missing, &extra);
        if (!missing)
            return;
        cr_assert_lt(st_test_now_ms(), deadline, "%d of %d records never consumed", missing, n);
        st_test_sleep_ms(200);
    }
}

#define OWNED(m, n, topic, parts, lo, hi, timeout, what)                                          \
    do {                                                                                          \
        char why_[2048];                                                                          \
        cr_assert(gm_wait_owned(m, n, topic, parts, lo, hi, timeout, why_, sizeof(why_)),         \
                  "%s: %s", what, why_);                                                          \
    } while (0)

Test(groups_rebalance, join_leave_kill_added_partitions)
{
    gp_create_topic(cluster.bootstrap, "r", 6, 3);
    gp_produce(cluster.bootstrap, "r", 0, 1000);
    gm_t m[2] = { 0 };
    const char *a0[] = { "--topic", "r", "--property", "auto.offset.reset=earliest",
                         "--property", "metadata.max.age.ms=500", NULL };
    gm_start(&m[0], dir, "m0", cluster.bootstrap, "gr", a0);
    OWNED(m, 1, "r", 6, 6, 6, 30000, "first member");

    /* Join: 3 + 3. */
    const char *a1[] = { "--topic", "r", "--property", "auto.offset.reset=earliest",
                         "--property", "session.timeout.ms=30000",
                         "--property", "metadata.max.age.ms=500", NULL };
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gr", a1);
    OWNED(m, 2, "r", 6, 3, 3, 30000, "after a join");

    /* Graceful leave: LeaveGroup moves the partitions at once, long before m1's 30 s session
     * timeout would have. */
    int64_t t0 = st_test_now_ms();
    cr_assert_eq(gm_stop(&m[1], SIGTERM), 0);
    cr_assert_eq(gm_count(&m[1], "CLOSED OK"), 1);
    OWNED(m, 1, "r", 6, 6, 6, 15000, "after a graceful leave");
    cr_log_info("graceful leave: partitions back in %lld ms", (long long)(st_test_now_ms() - t0));

    /* SIGKILL: the partitions move once the session timeout (3 s) passed. */
    const char *a2[] = { "--topic", "r", "--property", "auto.offset.reset=earliest",
                         "--property", "session.timeout.ms=3000",
                         "--property", "heartbeat.interval.ms=500",
                         "--property", "metadata.max.age.ms=500", NULL };
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gr", a2);
    OWNED(m, 2, "r", 6, 3, 3, 30000, "after the second join");
    t0 = st_test_now_ms();
    gm_stop(&m[1], SIGKILL);
    /* m1's callbacks never said REVOKED: count only m0 now. */
    OWNED(m, 1, "r", 6, 6, 6, 30000, "after a SIGKILL");
    int64_t took = st_test_now_ms() - t0;
    cr_log_info("SIGKILL: partitions back in %lld ms", (long long)took);
    cr_assert_geq(took, 2500, "the partitions moved %lld ms after the SIGKILL, before the 3 s "
                  "session timeout could pass", (long long)took);

    /* Added partitions: 6 -> 8; the leader rebalances when metadata shows them. */
    gm_start(&m[1], dir, "m1b", cluster.bootstrap, "gr", a1);
    gm_t both[2] = { m[0], m[1] };
    OWNED(both, 2, "r", 6, 3, 3, 30000, "before adding partitions");
    gp_add_partitions(cluster.bootstrap, "r", 8);
    OWNED(both, 2, "r", 8, 4, 4, 30000, "after adding partitions");

    /* Records produced now reach the new partitions too, and nothing was lost on the way. */
    gp_produce(cluster.bootstrap, "r", 1000, 3000);
    gm_t all[3] = { m[0], m[1], { 0 } };
    snprintf(all[2].log, sizeof(all[2].log), "%s/m1.log", dir);
    wait_all(all, 3, 3000, 60000);
    cr_assert_eq(gm_stop(&m[0], SIGTERM), 0);
    cr_assert_eq(gm_stop(&m[1], SIGTERM), 0);
}

Test(groups_rebalance, slow_application_keeps_membership)
{
    gp_create_topic(cluster.bootstrap, "slow", 4, 3);
    gp_produce(cluster.bootstrap, "slow", 0, 2000);
    gm_t m[2] = { 0 };
    const char *a0[] = { "--topic", "slow", "--property", "auto.offset.reset=earliest", NULL };
    gm_start(&m[0], dir, "m0", cluster.bootstrap, "gslow", a0);
    OWNED(m, 1, "slow", 4, 4, 4, 30000, "first member");
    /* session.timeout.ms 2 s; m1 spends 6 s on one batch (max.poll.interval.ms is 300 s). */
    const char *a1[] = { "--topic", "slow", "--property", "auto.offset.reset=earliest",
                         "--property", "session.timeout.ms=2000",
                         "--property", "heartbeat.interval.ms=500",
                         "--property", "max.poll.records=10", "--stall-after", "1",
                         "--stall-ms", "6000", NULL };
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gslow", a1);
    OWNED(m, 2, "slow", 4, 2, 2, 30000, "two members");
    int gen = -1;
    st_test_sleep_ms(500);   /* the GEN line follows the ASSIGNED one */
    cr_assert(gm_last_gen(&m[0], &gen, NULL, NULL));
    cr_assert_geq(gen, 2);
    int assigned0 = gm_count(&m[0], "ASSIGNED ");
    gp_produce(cluster.bootstrap, "slow", 2000, 4000);
    cr_assert(gm_wait_count(&m[1], "STALL", 1, 30000), "m1 never consumed");
    st_test_sleep_ms(7000);   /* the stall and a bit more */
    int gen_now = -1;
    gm_last_gen(&m[0], &gen_now, NULL, NULL);
    cr_assert_eq(gen_now, gen, "a rebalance happened while m1 was busy (generation %d -> %d)",
                 gen, gen_now);
    cr_assert_eq(gm_count(&m[0], "ASSIGNED "), assigned0, "m0 was reassigned");
    cr_assert_eq(gm_count(&m[1], "LOST "), 0, "the busy member lost its partitions");
    OWNED(m, 2, "slow", 4, 2, 2, 1000, "after the stall");
    cr_assert_eq(gm_stop(&m[0], SIGTERM), 0);
    cr_assert_eq(gm_stop(&m[1], SIGTERM), 0);
}

Test(groups_rebalance, max_poll_interval)
{
    gp_create_topic(cluster.bootstrap, "mp", 4, 3);
    gp_produce(cluster.bootstrap, "mp", 0, 2000);
    gm_t m[2] = { 0 };
    const char *a0[] = { "--topic", "mp", "--property", "auto.offset.reset=earliest", NULL };
    gm_start(&m[0], dir, "m0", cluster.bootstrap, "gmp", a0);
    OWNED(m, 1, "mp", 4, 4, 4, 30000, "first member");
    /* m1 stops polling for 6 s after its first records: beyond max.poll.interval.ms = 2 s. */
    const char *a1[] = { "--topic", "mp", "--property", "auto.offset.reset=earliest",
                         "--property", "max.poll.interval.ms=2000",
                         "--property", "max.poll.records=10", "--sleep-ms", "50",
                         "--stall-after", "1", "--stall-ms", "6000", NULL };
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gmp", a1);
    OWNED(m, 2, "mp", 4, 2, 2, 30000, "two members");
    gp_produce(cluster.bootstrap, "mp", 2000, 4000);   /* m0 consumed the first 2000 alone */
    cr_assert(gm_wait_count(&m[1], "STALL", 1, 30000), "m1 never consumed");
    /* While m1 sleeps, m0 gets everything (m1 left the group). */
    OWNED(m, 1, "mp", 4, 4, 4, 15000, "the other member while m1 stalls");
    cr_assert_lt(gm_count(&m[1], "LOST "), 1, "LOST before the stalled member polled again");
    /* m1 polls again: its old partitions are LOST (not revoked), and it rejoins. */
    cr_assert(gm_wait_count(&m[1], "LOST ", 1, 20000), "the stalled member reported no LOST");
    OWNED(m, 2, "mp", 4, 2, 2, 30000, "after the stalled member rejoined");
    char lost[256];
    gm_lines(&m[1], "LOST ", lost, sizeof(lost));
    cr_assert(strstr(lost, "mp-"), "LOST named no partition: %s", lost);
    cr_assert_eq(gm_stop(&m[0], SIGTERM), 0);
    cr_assert_eq(gm_stop(&m[1], SIGTERM), 0);
}

Test(groups_rebalance, cooperative_keeps_unrevoked_partitions)
{
    gp_create_topic(cluster.bootstrap, "co", 6, 3);
    gp_produce(cluster.bootstrap, "co", 0, 20000);
    gm_t m[2] = { 0 };
    const char *args[] = { "--topic", "co", "--property", "auto.offset.reset=earliest",
                           "--property", "partition.assignment.strategy=cooperative-sticky",
                           "--property", "max.poll.records=100", "--sleep-ms", "5", NULL };
    gm_start(&m[0], dir, "m0", cluster.bootstrap, "gco", args);
    OWNED(m, 1, "co", 6, 6, 6, 30000, "first member");
    cr_assert(gm_wait_count(&m[0], "R ", 2000, 30000));
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gco", args);
    OWNED(m, 2, "co", 6, 3, 3, 30000, "after a cooperative join");
    /* m0 revoked exactly what m1 got: one REVOKED line, its partitions = m1's. */
    char revoked[512], m1owned[256], m0owned[256];
    gm_lines(&m[0], "REVOKED ", revoked, sizeof(revoked));
    gm_owned(&m[1], m1owned, sizeof(m1owned));
    gm_owned(&m[0], m0owned, sizeof(m0owned));
    cr_assert_eq(gm_count(&m[0], "REVOKED "), 1, "m0 revoked more than once:\n%s", revoked);
    cr_assert_eq(gm_count(&m[0], "LOST "), 0);
    /* "REVOKED <ms> co-a co-b co-c": compare the partition list with m1's. */
    char *parts = strchr(strchr(revoked, ' ') + 1, ' ') + 1;
    parts[strcspn(parts, "\n")] = '\0';
    cr_assert_str_eq(parts, m1owned, "m0 revoked [%s], m1 owns [%s], m0 kept [%s]", parts,
                     m1owned, m0owned);
    /* m0 got one assignment (all six) and, in the second round, an empty addition. */
    cr_assert_geq(gm_count(&m[0], "ASSIGNED "), 1);
    int missing, extra;
    wait_all(m, 2, 20000, 60000);
    st_test_sleep_ms(500);
    tally(m, 2, 20000, &missing, &extra);
    cr_assert_eq(extra, 0, "%d records consumed twice across a cooperative rebalance", extra);
    cr_assert_eq(gm_stop(&m[0], SIGTERM), 0);
    cr_assert_eq(gm_stop(&m[1], SIGTERM), 0);
}

Test(groups_rebalance, static_membership)
{
    gp_create_topic(cluster.bootstrap, "st", 4, 3);
    gp_produce(cluster.bootstrap, "st", 0, 1000);
    gm_t m[2] = { 0 };
    const char *a0[] = { "--topic", "st", "--property", "auto.offset.reset=earliest",
                         "--property", "group.instance.id=s0",
                         "--property", "session.timeout.ms=20000", NULL };
    const char *a1[] = { "--topic", "st", "--property", "auto.offset.reset=earliest",
                         "--property", "group.instance.id=s1",
                         "--property", "session.timeout.ms=20000", NULL };
    gm_start(&m[0], dir, "m0", cluster.bootstrap, "gst", a0);
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gst", a1);
    OWNED(m, 2, "st", 4, 2, 2, 30000, "two static members");
    st_test_sleep_ms(500);
    int gen0 = -1;
    cr_assert(gm_last_gen(&m[0], &gen0, NULL, NULL));
    int assigned0 = gm_count(&m[0], "ASSIGNED "), revoked0 = gm_count(&m[0], "REVOKED ");
    char before[256];
    gm_owned(&m[1], before, sizeof(before));

    /* m1 dies and comes back with the same group.instance.id well within its session timeout:
     * the same partitions, and nothing happens to m0. */
    gm_stop(&m[1], SIGKILL);
    gm_t fresh = { 0 };
    gm_start(&fresh, dir, "m1-restarted", cluster.bootstrap, "gst", a1);
    cr_assert(gm_wait_count(&fresh, "ASSIGNED ", 1, 15000), "the restarted member got nothing");
    char after[256];
    gm_owned(&fresh, after, sizeof(after));
    cr_assert_str_eq(after, before, "the restarted static member got [%s], had [%s]", after,
                     before);
    st_test_sleep_ms(2000);
    int gen_now = -1;
    cr_assert(gm_last_gen(&m[0], &gen_now, NULL, NULL));
    cr_assert_eq(gen_now, gen0, "the other member went through a rebalance (generation %d -> %d)",
                 gen0, gen_now);
    cr_assert_eq(gm_count(&m[0], "ASSIGNED "), assigned0, "the other member was reassigned");
    cr_assert_eq(gm_count(&m[0], "REVOKED "), revoked0, "the other member revoked partitions");
    int gen1 = -1;
    cr_assert(gm_wait_count(&fresh, "GEN ", 1, 5000));
    gm_last_gen(&fresh, &gen1, NULL, NULL);
    cr_assert_eq(gen1, gen0, "the restarted member is in generation %d, the group in %d", gen1,
                 gen0);

    /* A duplicate of s0: it takes over, the old s0 is fenced -- a fatal error for it. */
    char m0owned[256];
    gm_owned(&m[0], m0owned, sizeof(m0owned));
    gm_t dup = { 0 };
    gm_start(&dup, dir, "s0-duplicate", cluster.bootstrap, "gst", a0);
    cr_assert(gm_wait_count(&m[0], "FATAL FENCED_INSTANCE_ID", 1, 30000),
              "the fenced member saw no FENCED_INSTANCE_ID");
    cr_assert_eq(gm_wait_exit(&m[0], 10000), 3 << 8, "the fenced member's exit status");
    cr_assert(gm_wait_count(&dup, "ASSIGNED ", 1, 15000));
    char dupowned[256];
    gm_owned(&dup, dupowned, sizeof(dupowned));
    cr_assert_str_eq(dupowned, m0owned, "the new s0 got [%s], the old one had [%s]", dupowned,
                     m0owned);
    cr_assert_eq(gm_stop(&dup, SIGTERM), 0);
    cr_assert_eq(gm_stop(&fresh, SIGTERM), 0);
}

Test(groups_rebalance, coordinator_failover)
{
    gp_create_topic(cluster.bootstrap, "cf", 6, 3);
    gp_produce(cluster.bootstrap, "cf", 0, 3000);
    gm_t m[2] = { 0 };
    const char *args[] = { "--topic", "cf", "--property", "auto.offset.reset=earliest",
                           "--property", "max.poll.records=50", "--sleep-ms", "10",
                           "--commit", "sync", NULL };
    gm_start(&m[0], dir, "m0", cluster.bootstrap, "gcf", args);
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gcf", args);
    OWNED(m, 2, "cf", 6, 3, 3, 30000, "two members");
    cr_assert(gm_wait_count(&m[0], "R ", 300, 30000));
    int coord = -1, gen = -1;
    cr_assert(gm_last_gen(&m[0], &gen, &coord, NULL));
    cr_assert(coord >= 1 && coord <= 3, "coordinator %d", coord);
    int64_t t0 = st_test_now_ms();
    st_test_broker_stop(st_test_cluster_broker(&cluster, coord), SIGKILL);
    cr_log_info("coordinator broker %d SIGKILLed", coord);
    gp_produce(cluster.bootstrap, "cf", 3000, 6000);
    wait_all(m, 2, 6000, 120000);
    cr_log_info("all records consumed %lld ms after the coordinator died",
                (long long)(st_test_now_ms() - t0));
    int c0 = -1, c1 = -1;
    gm_last_gen(&m[0], NULL, &c0, NULL);
    gm_last_gen(&m[1], NULL, &c1, NULL);
    cr_assert(c0 >= 1 && c0 != coord, "member 0's coordinator is %d", c0);
    cr_assert(c1 >= 1 && c1 != coord, "member 1's coordinator is %d", c1);
    st_test_sleep_ms(500);
    cr_assert_eq(gm_stop(&m[0], SIGTERM), 0);
    cr_assert_eq(gm_stop(&m[1], SIGTERM), 0);
    int missing, extra;
    tally(m, 2, 6000, &missing, &extra);
    cr_assert_eq(missing, 0);
    cr_assert_eq(extra, 0, "%d records consumed twice across the coordinator failover", extra);

    /* The committed offsets survived: they are the log end offsets. */
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", cluster.bootstrap, err, sizeof(err)), 0);
    cr_assert_eq(strand_conf_set(conf, "group.id", "gcf", err, sizeof(err)), 0);
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t committed[6], ends[6];
    for (int p = 0; p < 6; p++) {
        committed[p] = (strand_topic_partition_t){ "cf", p, 0, 0 };
        ends[p] = (strand_topic_partition_t){ "cf", p, STRAND_OFFSET_END, 0 };
    }
    cr_assert_eq(strand_consumer_committed(c, committed, 6, 30000), 0);
    cr_assert_eq(strand_consumer_list_offsets(c, ends, 6, 30000), 0);
    for (int p = 0; p < 6; p++) {
        cr_assert_eq(committed[p].error, 0, "cf-%d: %s", p, strand_err_name(committed[p].error));
        cr_assert_eq(committed[p].offset, ends[p].offset, "cf-%d: committed %lld, log end %lld", p,
                     (long long)committed[p].offset, (long long)ends[p].offset);
    }
    strand_consumer_destroy(c);
}
