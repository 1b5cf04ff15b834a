/* Consumer groups through the client library, on a live 3-broker cluster (real ZooKeeper, real
 * brokers), each member a group_member process of its own:
 *  - queue semantics: one group, three members, six partitions, 60,000 records: each record is
 *    consumed exactly once by the group (members join one after another while the records are
 *    being consumed, so every join is a rebalance with commits before revocation);
 *  - publish-subscribe: three groups each read every record;
 *  - committed offsets carry over: a member closed in an orderly way (commit on close) and
 *    its successor together read every record exactly once; after a SIGKILL of a member that
 *    commits after every poll, its successor re-reads at most that last poll;
 *  - auto.offset.reset for a group without committed offsets: none names the partition, latest
 *    skips what was there before;
 *  - a pattern subscription follows topics created later;
 *  - the API in one process: commit_sync / commit_async / committed with manual assignment,
 *    a manual assignment starting at the committed offset, subscribe after assign refused,
 *    group calls without group.id refused;
 *  - the tools: strand-console-consumer --group (committed offsets carried from one run to the
 *    next; --group against a different group.id refused as Kafka does) and
 *    strand-consumer-perf-test --group (rebalance.time.ms filled in), and
 *    strand-consumer-groups describing the members this library's consumers are (their decoded
 *    assignments) and the offsets they committed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_harness.h"
#include "st_error.h"
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

/* Missing and extra deliveries of v0..v(n-1) over the members. */
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

Test(groups_client, committed_offsets_carry_over)
{
    gp_create_topic(cluster.bootstrap, "cc", 3, 3);
    gp_produce(cluster.bootstrap, "cc", 0, 3000);
    gm_t m[3] = { 0 };
    /* m0 reads about a third, then closes: the close commits its positions. */
    const char *a0[] = { "--topic", "cc", "--property", "auto.offset.reset=earliest",
                         "--property", "max.poll.records=50", "--max-records", "1000", NULL };
    gm_start(&m[0], dir, "m0", cluster.bootstrap, "gcc", a0);
    cr_assert_eq(gm_wait_exit(&m[0], 60000), 0, "m0 did not finish");
    cr_assert_eq(gm_count(&m[0], "CLOSED OK"), 1);
    int read0 = gm_count(&m[0], "R ");
    cr_assert(read0 >= 1000 && read0 < 3000, "m0 read %d", read0);
    /* m1 carries on exactly where m0 stopped: together every record once. */
    const char *a1[] = { "--topic", "cc", "--property", "auto.offset.reset=earliest",
                         "--property", "max.poll.records=50", "--sleep-ms", "5",
                         "--property", "session.timeout.ms=5000", "--commit", "sync", NULL };
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gcc", a1);
    wait_all(m, 2, 3000, 60000);
    st_test_sleep_ms(300);
    int missing, extra;
    tally(m, 2, 3000, &missing, &extra);
    cr_assert_eq(extra, 0, "%d records read twice after an orderly close", extra);
    cr_assert_eq(gm_count(&m[1], "R "), 3000 - read0);

    /* m1 commits after every poll (at most 50 records); SIGKILL it mid-stream: m2 re-reads at
     * most the last poll's records and skips none. */
    gp_produce(cluster.bootstrap, "cc", 3000, 6000);
    cr_assert(gm_wait_count(&m[1], "R ", 3000 - read0 + 500, 60000));
    gm_stop(&m[1], SIGKILL);
    gm_start(&m[2], dir, "m2", cluster.bootstrap, "gcc", a1);
    wait_all(m, 3, 6000, 60000);
    st_test_sleep_ms(300);
    tally(m, 3, 6000, &missing, &extra);
    cr_assert_eq(missing, 0);
    cr_assert_leq(extra, 50, "%d records re-read after the SIGKILL; the uncommitted window is one "
                  "poll (max.poll.records=50)", extra);
    cr_log_info("re-read after SIGKILL: %d record(s)", extra);
    cr_assert_eq(gm_stop(&m[2], SIGTERM), 0);
}

Test(groups_client, auto_offset_reset_without_committed_offsets)
{
    gp_create_topic(cluster.bootstrap, "nr", 2, 3);
    gp_produce(cluster.bootstrap, "nr", 0, 100);
    gm_t m[2] = { 0 };
    const char *none[] = { "--topic", "nr", "--property", "auto.offset.reset=none", NULL };
    gm_start(&m[0], dir, "none", cluster.bootstrap, "gnone", none);
    cr_assert(gm_wait_count(&m[0], "ERROR ", 2, 30000), "no error for either partition");
    char errors[1024];
    gm_lines(&m[0], "ERROR ", errors, sizeof(errors));
    cr_assert(strstr(errors, "ERROR nr-0 OFFSET_OUT_OF_RANGE Undefined offset with no reset policy "
                     "for partitions: [nr-0]"), "%s", errors);
    cr_assert(strstr(errors, "[nr-1]"), "%s", errors);
    cr_assert_eq(gm_count(&m[0], "R "), 0);
    cr_assert_eq(gm_stop(&m[0], SIGTERM), 0);

    /* latest (the default): only what is produced after the assignment. */
    const char *latest[] = { "--topic", "nr", NULL };
    gm_start(&m[1], dir, "latest", cluster.bootstrap, "glatest", latest);
    cr_assert(gm_wait_count(&m[1], "ASSIGNED ", 1, 30000));
    st_test_sleep_ms(1000);   /* the positions resolve (ListOffsets) */
    gp_produce(cluster.bootstrap, "nr", 100, 200);
    cr_assert(gm_wait_count(&m[1], "R ", 100, 30000));
    st_test_sleep_ms(300);
    int *counts = calloc(200, sizeof(int));
    gm_tally(&m[1], counts, 200);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(counts[i], i < 100 ? 0 : 1, "v%d read %d times", i, counts[i]);
    free(counts);
    cr_assert_eq(gm_stop(&m[1], SIGTERM), 0);
}

Test(groups_client, pattern_subscription)
{
    gp_create_topic(cluster.bootstrap, "pat1", 2, 3);
    gp_create_topic(cluster.bootstrap, "pat2", 1, 3);
    gp_create_topic(cluster.bootstrap, "xpat3", 1, 3);
    gm_t m = { 0 };
    const char *args[] = { "--pattern", "pat[0-9]+", "--property", "auto.offset.reset=earliest",
                           "--property", "metadata.max.age.ms=500", NULL };
    gm_start(&m, dir, "p", cluster.bootstrap, "gpat", args);
    char owned[512];
    int64_t deadline = st_test_now_ms() + 30000;
    while (gm_owned(&m, owned, sizeof(owned)) != 3 && st_test_now_ms() < deadline)
        st_test_sleep_ms(100);
    cr_assert_str_eq(owned, "pat1-0 pat1-1 pat2-0");
    /* A topic created later that matches joins the subscription. */
    gp_create_topic(cluster.bootstrap, "pat3", 2, 3);
    deadline = st_test_now_ms() + 30000;
    while (gm_owned(&m, owned, sizeof(owned)) != 5 && st_test_now_ms() < deadline)
        st_test_sleep_ms(100);
    cr_assert_str_eq(owned, "pat1-0 pat1-1 pat2-0 pat3-0 pat3-1");
    gp_produce(cluster.bootstrap, "pat3", 0, 50);
    cr_assert(gm_wait_count(&m, "R pat3 ", 50, 30000));
    cr_assert_eq(gm_stop(&m, SIGTERM), 0);
}

static strand_consumer_t *consumer(const char *group, const char *const *kvs)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", cluster.bootstrap, err, sizeof(err)), 0);
    if (group)
        cr_assert_eq(strand_conf_set(conf, "group.id", group, err, sizeof(err)), 0);
    for (size_t i = 0; kvs && kvs[i]; i++)
        cr_assert_eq(strand_conf_set_kv(conf, kvs[i], err, sizeof(err)), 0, "%s", err);
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    return c;
}

static int commit_cb_calls, commit_cb_err = -1;
static void on_commit(strand_consumer_t *c, int err, const strand_topic_partition_t *tps,
                      size_t n, void *opaque)
{
    (void)c;
    (void)tps;
    cr_assert_eq(opaque, (void *)&commit_cb_calls);
    cr_assert_eq(n, 2);
    commit_cb_calls++;
    commit_cb_err = err;
}

Test(groups_client, commit_api_with_manual_assignment)
{
    gp_create_topic(cluster.bootstrap, "api", 2, 3);
    gp_produce(cluster.bootstrap, "api", 0, 400);
    const char *kvs[] = { "enable.auto.commit=false", NULL };
    strand_consumer_t *c = consumer("gapi", kvs);
    strand_topic_partition_t tps[2] = { { "api", 0, STRAND_OFFSET_BEGINNING, 0 },
                                        { "api", 1, STRAND_OFFSET_BEGINNING, 0 } };
    cr_assert_eq(strand_consumer_assign(c, tps, 2), 0);
    const char *topics[] = { "api" };
    cr_assert_eq(strand_consumer_subscribe(c, topics, 1), ST_ERR_ILLEGAL_STATE,
                 "subscribe after assign");
    long got = 0;
    int64_t deadline = st_test_now_ms() + 30000;
    while (got < 400 && st_test_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 100, &msgs, &n), 0);
        for (size_t i = 0; i < n; i++)
            got += msgs[i].error == 0;
    }
    cr_assert_eq(got, 400);
    /* Current positions. */
    cr_assert_eq(strand_consumer_commit_sync(c, NULL, 0, 30000), 0);
    strand_topic_partition_t pos[2] = { { "api", 0, 0, 0 }, { "api", 1, 0, 0 } };
    strand_topic_partition_t com[2] = { { "api", 0, 0, 0 }, { "api", 1, 0, 0 } };
    for (int p = 0; p < 2; p++)
        cr_assert_eq(strand_consumer_position(c, "api", p, &pos[p].offset), 0);
    cr_assert_eq(strand_consumer_committed(c, com, 2, 30000), 0);
    for (int p = 0; p < 2; p++)
        cr_assert_eq(com[p].offset, pos[p].offset, "api-%d: committed %lld, position %lld", p,
                     (long long)com[p].offset, (long long)pos[p].offset);
    cr_assert_eq(pos[0].offset + pos[1].offset, 400);
    /* Explicit offsets, asynchronously: the callback runs in a later poll. */
    strand_topic_partition_t off[2] = { { "api", 0, 5, 0 }, { "api", 1, 7, 0 } };
    cr_assert_eq(strand_consumer_commit_async(c, off, 2, on_commit, &commit_cb_calls), 0);
    deadline = st_test_now_ms() + 30000;
    while (!commit_cb_calls && st_test_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t n;
        cr_assert_eq(strand_consumer_poll(c, 100, &msgs, &n), 0);
    }
    cr_assert_eq(commit_cb_calls, 1);
    cr_assert_eq(commit_cb_err, 0);
    cr_assert_eq(strand_consumer_committed(c, com, 2, 30000), 0);
    cr_assert_eq(com[0].offset, 5);
    cr_assert_eq(com[1].offset, 7);
    strand_consumer_destroy(c);

    /* Another consumer of the group, assigned with no offset: starts at the committed ones. */
    c = consumer("gapi", NULL);
    strand_topic_partition_t from[1] = { { "api", 1, STRAND_OFFSET_INVALID, 0 } };
    cr_assert_eq(strand_consumer_assign(c, from, 1), 0);
    int64_t first = -1;
    deadline = st_test_now_ms() + 30000;
    while (first < 0 && st_test_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 100, &msgs, &n), 0);
        if (n)
            first = msgs[0].offset;
    }
    cr_assert_eq(first, 7, "started at %lld, committed 7", (long long)first);
    strand_consumer_destroy(c);

    /* Without group.id the group calls are refused. */
    c = consumer(NULL, NULL);
    cr_assert_eq(strand_consumer_subscribe(c, topics, 1), ST_ERR_INVALID_CONFIG);
    cr_assert_eq(strand_consumer_commit_sync(c, NULL, 0, 1000), ST_ERR_INVALID_CONFIG);
    cr_assert_eq(strand_consumer_committed(c, com, 2, 1000), ST_ERR_INVALID_CONFIG);
    char err[256];
    strand_consumer_t *g = consumer("gapi2", NULL);
    cr_assert_eq(strand_consumer_subscribe_pattern(g, "(unclosed", err, sizeof(err)),
                 ST_ERR_INVALID_ARG);
    cr_assert(strstr(err, "(unclosed"), "%s", err);
    strand_consumer_destroy(g);
    strand_consumer_destroy(c);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

Test(groups_client, console_consumer_and_perf_test_with_group)
{
    gp_create_topic(cluster.bootstrap, "tc", 3, 3);
    gp_produce(cluster.bootstrap, "tc", 0, 100);
    char *out = NULL, *err = NULL;
    const char *first[] = { "strand-console-consumer", "@BOOTSTRAP", "--topic", "tc", "--group",
                            "gt", "--from-beginning", "--max-messages", "100",
                            "--consumer-property", "session.timeout.ms=6000", NULL };
    cr_assert_eq(st_test_cluster_tool(&cluster, first, &out, &err, 60000), 0, "%s", err);
    cr_assert_eq(count_lines(out), 100, "%s", out);
    cr_assert(strstr(err, "Processed a total of 100 messages"), "%s", err);
    free(out);
    free(err);
    /* The group committed on exit: the next run reads only what is new. */
    gp_produce(cluster.bootstrap, "tc", 100, 150);
    const char *second[] = { "strand-console-consumer", "@BOOTSTRAP", "--topic", "tc", "--group",
                             "gt", "--from-beginning", "--timeout-ms", "8000", "--max-messages",
                             "50", NULL };
    cr_assert_eq(st_test_cluster_tool(&cluster, second, &out, &err, 60000), 0, "%s", err);
    cr_assert_eq(count_lines(out), 50, "%s", out);
    for (int i = 100; i < 150; i++) {
        char want[16];
        snprintf(want, sizeof(want), "v%d\n", i);
        cr_assert(strstr(out, want), "%s missing from the second run", want);
    }
    free(out);
    free(err);
    /* --group and a different group.id: refused (Kafka's message). */
    const char *clash[] = { "strand-console-consumer", "@BOOTSTRAP", "--topic", "tc", "--group",
                            "a", "--consumer-property", "group.id=b", NULL };
    cr_assert_eq(st_test_cluster_tool(&cluster, clash, &out, &err, 30000), 1);
    cr_assert(strstr(err, "The group ids provided in different places (directly using '--group', "
                     "via '--consumer-property', or via '--consumer.config') do not match. "
                     "Detected group ids: 'a', 'b'"), "%s", err);
    free(out);
    free(err);
    /* The consumer perf test as a group member. */
    const char *perf[] = { "strand-consumer-perf-test", "@BOOTSTRAP", "--topic", "tc",
                           "--messages", "150", "--group", "gperf", "--hide-header", NULL };
    cr_assert_eq(st_test_cluster_tool(&cluster, perf, &out, &err, 60000), 0, "%s", err);
    /* start, end, MB, MB/s, nMsg, nMsg/s, rebalance.time.ms, fetch.time.ms, ... */
    char *f[10];
    int nf = 0;
    char *save = NULL;
    for (char *tok = strtok_r(out, ",", &save); tok && nf < 10; tok = strtok_r(NULL, ",", &save))
        f[nf++] = tok;
    cr_assert_eq(nf, 10, "perf output: %s", out);
    cr_assert_eq(atol(f[4]), 150, "nMsg: %s", f[4]);
    cr_assert_gt(atol(f[6]), 0, "rebalance.time.ms: %s", f[6]);
    free(out);
    free(err);
}

Test(groups_client, consumer_groups_tool_sees_the_members)
{
    gp_create_topic(cluster.bootstrap, "dg", 4, 3);
    gp_produce(cluster.bootstrap, "dg", 0, 400);
    gm_t m[2] = { 0 };
    const char *args[] = { "--topic", "dg", "--property", "auto.offset.reset=earliest",
                           "--property", "client.id=member-client", "--commit", "sync", NULL };
    gm_start(&m[0], dir, "m0", cluster.bootstrap, "gdg", args);
    gm_start(&m[1], dir, "m1", cluster.bootstrap, "gdg", args);
    int64_t deadline = st_test_now_ms() + 30000;
    char o0[256] = "", o1[256] = "";
    while (st_test_now_ms() < deadline) {
        if (gm_owned(&m[0], o0, sizeof(o0)) == 2 && gm_owned(&m[1], o1, sizeof(o1)) == 2 &&
            gm_count(&m[0], "R ") + gm_count(&m[1], "R ") >= 400)
            break;
        st_test_sleep_ms(100);
    }
    cr_assert_eq(gm_count(&m[0], "R ") + gm_count(&m[1], "R "), 400);
    st_test_sleep_ms(500);
    char *out = NULL, *err = NULL;
    const char *members[] = { "strand-consumer-groups", "@BOOTSTRAP", "--describe", "--group", "gdg",
                              "--members", "--verbose", NULL };
    cr_assert_eq(st_test_cluster_tool(&cluster, members, &out, &err, 30000), 0, "%s", err);
    /* Each member's assignment, as the leader encoded it (range: dg(0,1) and dg(2,3)). */
    cr_assert(strstr(out, "dg(0,1)") && strstr(out, "dg(2,3)"), "%s", out);
    cr_assert(strstr(out, "member-client"), "%s", out);
    free(out);
    free(err);
    const char *offsets[] = { "strand-consumer-groups", "@BOOTSTRAP", "--describe", "--group", "gdg",
                              NULL };
    cr_assert_eq(st_test_cluster_tool(&cluster, offsets, &out, &err, 30000), 0, "%s", err);
    /* Every partition committed up to its end: LAG 0 on each of the four rows. */
    int rows = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "gdg ", 4) != 0)
            continue;
        char group[64], topic[64], cur[32], end[32], lag[32];
        int part;
        cr_assert_eq(sscanf(line, "%63s %63s %d %31s %31s %31s", group, topic, &part, cur, end, lag),
                     6, "%s", line);
        cr_assert_str_eq(cur, end, "%s", line);
        cr_assert_str_eq(lag, "0", "%s", line);
        rows++;
    }
    cr_assert_eq(rows, 4);
    free(out);
    free(err);
    cr_assert_eq(gm_stop(&m[0], SIGTERM), 0);
    cr_assert_eq(gm_stop(&m[1], SIGTERM), 0);
}
