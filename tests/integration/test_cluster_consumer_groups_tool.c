/* strand-consumer-groups against a live 3-broker cluster (real ZooKeeper, real brokers), with
 * groups made by raw requests (tests/integration/group_wire.c: commits outside membership, and a
 * member that joins, syncs its own assignment and heartbeats) -- not the client library's group
 * code:
 *  - --list (--state and its filter), --describe --offsets with Kafka's columns and exact
 *    offsets and lags, --members (--verbose), --state, the "no active members" / "does not
 *    exist" messages, several groups and --all-groups;
 *  - --reset-offsets in every mode, each --dry-run (nothing changes) and --execute (checked
 *    through --describe), scopes --topic t, --topic t:0,1, --all-topics, several groups, the
 *    clamps to the log's range with Kafka's WARN lines, the WARN without --dry-run/--execute;
 *  - refusals while a member is active (reset, --delete with NON_EMPTY_GROUP, --delete-offsets
 *    with GROUP_SUBSCRIBED_TO_TOPIC) or the group rebalances ("is rebalancing" warning), then,
 *    once it left, reset, --delete-offsets and --delete; a static member's GROUP-INSTANCE-ID;
 *  - the tool rides out the offsets topic's creation and a SIGKILLed coordinator (re-finds it
 *    and retries);
 *  - bad flags: one line naming what is wrong, exit 1, nothing on stdout. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_harness.h"
#include "group_wire.h"
#include "strand.h"
#include "test_util.h"

#define SESSION_MS 6000
#define TOOL_MS 60000

static st_test_cluster_t cluster;

static void start(void)
{
    const char *ov[] = {
        "offsets.topic.num.partitions=6", "group.initial.rebalance.delay.ms=100",
        "group.min.session.timeout.ms=500", "auto.leader.rebalance.enable=false", NULL,
    };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
}

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

TestSuite(cg_tool, .init = start, .fini = teardown, .timeout = 300);

/* ---- helpers --------------------------------------------------------------------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int any_port(void)
{
    for (int id = 1; id <= 3; id++)
        if (st_test_cluster_broker(&cluster, id)->pid != 0)
            return st_test_cluster_broker(&cluster, id)->port;
    cr_assert_fail("no broker runs");
    return -1;
}

/* Runs strand-consumer-groups --bootstrap-server <cluster> args... (NULL-terminated). */
static int cg(char **ret_out, char **ret_err, ...)
{
    const char *argv[48] = { "strand-consumer-groups", "@BOOTSTRAP" };
    int n = 2;
    va_list ap;
    va_start(ap, ret_err);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 44;)
        argv[n++] = a;
    va_end(ap);
    argv[n++] = "--timeout";
    argv[n++] = "30000";
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = st_test_cluster_tool(&cluster, argv, &out, &err, TOOL_MS);
    cr_assert_neq(rc, -1, "strand-consumer-groups did not run to completion: %s", err ? err : "");
    if (ret_out)
        *ret_out = out;
    else
        free(out);
    if (ret_err)
        *ret_err = err;
    else
        free(err);
    return rc;
}

static strand_conf_t *client_conf(void)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", cluster.bootstrap, err, sizeof(err)),
                 0, "%s", err);
    return conf;
}

static void create_topic(const char *name, int partitions)
{
    strand_conf_t *conf = client_conf();
    char err[512];
    strand_admin_t *a = strand_admin_new(conf, err, sizeof(err));
    cr_assert_not_null(a, "%s", err);
    strand_new_topic_t t = { .name = name, .num_partitions = partitions,
                             .replication_factor = 2 };
    cr_assert_eq(strand_admin_create_topic(a, &t, 30000, err, sizeof(err)), 0, "%s", err);
    strand_admin_destroy(a);
    strand_conf_destroy(conf);
}

static void count_errors(const strand_delivery_report_t *r, void *opaque)
{
    if (r->error)
        (*(int *)opaque)++;
}

/* n records into topic-partition, record i stamped ts[i] (ms; NULL: now). */
static void produce(const char *topic, int32_t partition, int n, const int64_t *ts)
{
    strand_conf_t *conf = client_conf();
    int errors = 0;
    strand_conf_set_delivery_cb(conf, count_errors, &errors);
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "acks", "all", err, sizeof(err)), 0);
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    for (int i = 0; i < n; i++) {
        char v[32];
        int len = snprintf(v, sizeof(v), "v%d", i);
        cr_assert_eq(strand_produce(p, topic, partition, NULL, 0, v, (size_t)len, NULL, 0,
                                    ts ? ts[i] : 0, NULL), 0);
        cr_assert_eq(strand_producer_flush(p, 30000), 0);    /* one by one: offset order = i */
    }
    cr_assert_eq(errors, 0, "delivery errors");
    strand_producer_destroy(p);
    strand_conf_destroy(conf);
}

static void commit_offsets(const char *group, const char *topic, const int32_t *parts,
                           const int64_t *offsets, size_t n)
{
    int err = gw_commit_offsets(any_port(), group, topic, parts, offsets, n);
    cr_assert_eq(err, 0, "commit for %s: %d", group, err);
}

/* The CURRENT-OFFSET column of the --describe row for topic-partition ("-" or a number), "" if
 * there is no such row. */
static void current_offset(const char *group, const char *topic, int32_t partition, char *buf,
                           size_t len)
{
    char *out = NULL;
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", group, NULL), 0);
    buf[0] = '\0';
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char g[256], t[256], p[32], cur[32];
        if (sscanf(line, "%255s %255s %31s %31s", g, t, p, cur) == 4 && strcmp(g, group) == 0 &&
            strcmp(t, topic) == 0 && atoi(p) == partition && strcmp(p, "PARTITION") != 0)
            snprintf(buf, len, "%s", cur);
    }
    free(out);
}

static void expect_offset(const char *group, const char *topic, int32_t partition,
                          const char *want)
{
    char got[32];
    current_offset(group, topic, partition, got, sizeof(got));
    cr_expect_str_eq(got, want, "%s %s-%d: CURRENT-OFFSET", group, topic, partition);
}

/* Kafka's --describe --offsets layout for one group's table. */
static int offsets_widths(const char *group, const char *const *topics, const char *const *ids,
                          const char *const *hosts, int n, int *wt, int *wc, int *wh)
{
    int wg = (int)strlen(group) > 15 ? (int)strlen(group) : 15;
    *wt = *wc = *wh = 15;
    for (int i = 0; i < n; i++) {
        if ((int)strlen(topics[i]) > *wt) *wt = (int)strlen(topics[i]);
        if ((int)strlen(ids[i]) > *wc) *wc = (int)strlen(ids[i]);
        if ((int)strlen(hosts[i]) > *wh) *wh = (int)strlen(hosts[i]);
    }
    return wg;
}

static char *offsets_table(const char *group, int n, const char *const *topics,
                           const char *const *parts, const char *const *cur,
                           const char *const *end, const char *const *lag,
                           const char *const *ids, const char *const *hosts,
                           const char *const *clients)
{
    int wt, wc, wh;
    int wg = offsets_widths(group, topics, ids, hosts, n, &wt, &wc, &wh);
    size_t cap = 4096;
    char *s = calloc(1, cap);
    size_t at = (size_t)snprintf(s, cap, "\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n",
                                 wg, "GROUP", wt, "TOPIC", "PARTITION", "CURRENT-OFFSET",
                                 "LOG-END-OFFSET", "LAG", wc, "CONSUMER-ID", wh, "HOST",
                                 "CLIENT-ID");
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(s + at, cap - at, "%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n",
                               wg, group, wt, topics[i], parts[i], cur[i], end[i], lag[i], wc,
                               ids[i], wh, hosts[i], clients[i]);
    return s;
}

/* Polls --describe --state until the group's STATE column reads `state`. */
static void wait_state(const char *group, const char *state)
{
    int64_t deadline = st_test_now_ms() + 30000;
    while (st_test_now_ms() < deadline) {
        char *out = NULL;
        cg(&out, NULL, "--describe", "--group", group, "--state", NULL);
        char g[256], c1[256], c2[64], strat[64], st[64];
        bool done = false;
        for (char *save = NULL, *line = strtok_r(out, "\n", &save); line && !done;
             line = strtok_r(NULL, "\n", &save))
            done = sscanf(line, "%255s %255s %63s %63s %63s", g, c1, c2, strat, st) == 5 &&
                   strcmp(g, group) == 0 && strcmp(st, state) == 0;
        free(out);
        if (done)
            return;
        st_test_sleep_ms(200);
    }
    cr_assert_fail("group %s never reached %s", group, state);
}

/* ---- list, describe, members, state ------------------------------------------------------- */

Test(cg_tool, list_and_describe)
{
    create_topic("orders", 3);
    produce("orders", 0, 10, NULL);
    produce("orders", 1, 20, NULL);
    produce("orders", 2, 30, NULL);
    /* billing: offsets only (Empty, no protocol type); live: one member owning every partition. */
    commit_offsets("billing", "orders", (int32_t[]){ 0, 1 }, (int64_t[]){ 4, 20 }, 2);
    gw_member_t m;
    int err = gw_join_alone(&m, any_port(), "live", NULL, "orders", (int32_t[]){ 0, 1, 2 }, 3,
                            SESSION_MS);
    cr_assert_eq(err, 0, "join: %d", err);
    cr_assert_eq(gw_commit(&m, "orders", (int32_t[]){ 0, 1 }, (int64_t[]){ 10, 5 }, 2), 0);

    char *out = NULL, *errout = NULL;
    cr_assert_eq(cg(&out, NULL, "--list", NULL), 0);
    cr_expect_str_eq(out, "billing\nlive\n");
    free(out);
    cr_assert_eq(cg(&out, NULL, "--list", "--state", NULL), 0);
    cr_expect_str_eq(out, "GROUP           STATE\n"
                          "billing         Empty\n"
                          "live            Stable\n");
    free(out);
    cr_assert_eq(cg(&out, NULL, "--list", "--state", "stable", NULL), 0);
    cr_expect_str_eq(out, "GROUP           STATE\nlive            Stable\n");
    free(out);
    cr_assert_eq(cg(&out, NULL, "--list", "--state", "Empty,Dead", NULL), 0);
    cr_expect_str_eq(out, "GROUP           STATE\nbilling         Empty\n");
    free(out);

    /* An Empty group: the note on stderr, its committed offsets with lag, no consumer. */
    cr_assert_eq(cg(&out, &errout, "--describe", "--group", "billing", NULL), 0);
    cr_expect_str_eq(errout, "\nConsumer group 'billing' has no active members.\n");
    cr_expect_str_eq(out,
        "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n"
        "billing         orders          0          4               10              6               -               -               -\n"
        "billing         orders          1          20              20              0               -               -               -\n");
    free(out);
    free(errout);

    /* A Stable group: every assigned partition, the uncommitted one with "-". */
    cr_assert_eq(cg(&out, &errout, "--describe", "--group", "live", NULL), 0);
    cr_expect_str_eq(errout, "");
    const char *id = m.member_id;
    char *want = offsets_table("live", 3, (const char *[]){ "orders", "orders", "orders" },
                               (const char *[]){ "0", "1", "2" },
                               (const char *[]){ "10", "5", "-" },
                               (const char *[]){ "10", "20", "30" },
                               (const char *[]){ "0", "15", "-" }, (const char *[]){ id, id, id },
                               (const char *[]){ "/127.0.0.1", "/127.0.0.1", "/127.0.0.1" },
                               (const char *[]){ "broker-it", "broker-it", "broker-it" });
    cr_expect_str_eq(out, want);
    free(out);
    free(errout);

    /* Several groups (sorted, a repeat ignored) and --all-groups print both tables. */
    char *both = NULL;
    cr_assert_eq(cg(&both, NULL, "--describe", "--group", "live", "--group", "billing", "--group",
                    "live", NULL), 0);
    char *billing_at = strstr(both, "billing         orders          0");
    char *live_at = strstr(both, want + 1);
    cr_expect(billing_at && live_at && billing_at < live_at, "%s", both);
    free(both);
    cr_assert_eq(cg(&both, NULL, "--describe", "--all-groups", NULL), 0);
    cr_expect(strstr(both, "billing         orders          1          20") && strstr(both, want),
              "%s", both);
    free(both);
    free(want);

    /* --members, --verbose. */
    int wc = (int)strlen(id) > 15 ? (int)strlen(id) : 15;
    char line[1024];
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", "live", "--members", NULL), 0);
    snprintf(line, sizeof(line), "\n%-15s %-*s %-15s %-15s %-15s \n%-15s %-*s %-15s %-15s %-15s \n",
             "GROUP", wc, "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "live", wc, id,
             "/127.0.0.1", "broker-it", "3");
    cr_expect_str_eq(out, line);
    free(out);
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", "live", "--members", "--verbose", NULL),
                 0);
    snprintf(line, sizeof(line), "\n%-15s %-*s %-15s %-15s %-15s ASSIGNMENT\n"
             "%-15s %-*s %-15s %-15s %-15s orders(0,1,2)\n", "GROUP", wc, "CONSUMER-ID", "HOST",
             "CLIENT-ID", "#PARTITIONS", "live", wc, id, "/127.0.0.1", "broker-it", "3");
    cr_expect_str_eq(out, line);
    free(out);
    /* An Empty group has no members to show: only the note. */
    cr_assert_eq(cg(&out, &errout, "--describe", "--group", "billing", "--members", NULL), 0);
    cr_expect_str_eq(out, "");
    cr_expect_str_eq(errout, "\nConsumer group 'billing' has no active members.\n");
    free(out);
    free(errout);

    /* --state: the coordinator FindCoordinator names, the assignor, the state, the members. */
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", "live", "--state", NULL), 0);
    char coord[64];
    snprintf(coord, sizeof(coord), "127.0.0.1:%d (%d)", m.coord_port, m.coord_node);
    snprintf(line, sizeof(line), "\n%-15s %-25s %-20s %-15s %s\n%-15s %-25s %-20s %-15s %s\n",
             "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS", "live",
             coord, "range", "Stable", "1");
    cr_expect_str_eq(out, line);
    free(out);
    cr_assert_eq(cg(&out, &errout, "--describe", "--group", "billing", "--state", NULL), 0);
    snprintf(line, sizeof(line), " %-20s %-15s %s\n", "-", "Empty", "0");
    cr_expect(strncmp(out, "\nGROUP ", 7) == 0 && strstr(out, "\nbilling ") &&
              strstr(out, line), "%s", out);
    cr_expect_str_eq(errout, "\nConsumer group 'billing' has no active members.\n");
    free(out);
    free(errout);

    /* A group that does not exist; a long group name widens the GROUP column. */
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", "nope", NULL), 1);
    cr_expect_str_eq(out, "\nError: Consumer group 'nope' does not exist.\n");
    free(out);
    const char *longname = "a-consumer-group-with-a-rather-long-name";
    commit_offsets(longname, "orders", (int32_t[]){ 2 }, (int64_t[]){ 1 }, 1);
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", longname, NULL), 0);
    want = offsets_table(longname, 1, (const char *[]){ "orders" }, (const char *[]){ "2" },
                         (const char *[]){ "1" }, (const char *[]){ "30" },
                         (const char *[]){ "29" }, (const char *[]){ "-" },
                         (const char *[]){ "-" }, (const char *[]){ "-" });
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
    cr_expect_eq(atomic_load(&m.hb_error), 0, "the member's heartbeats");
    cr_expect_gt(atomic_load(&m.hb_count), 0);
    cr_expect_eq(gw_leave(&m, true), 0);
}

/* ---- reset offsets --------------------------------------------------------------------------- */

/* Runs a reset (args NULL-terminated after the mode flags) and checks its table: rows of
 * "group topic partition new-offset", in order. */
static void reset_expect(const char *const *args, const char *const *rows, size_t n_rows,
                         int want_rc, char **ret_err)
{
    const char *argv[40] = { "strand-consumer-groups", "@BOOTSTRAP", "--reset-offsets",
                             "--timeout", "30000" };
    int n = 5;
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = st_test_cluster_tool(&cluster, argv, &out, &err, TOOL_MS);
    cr_assert_eq(rc, want_rc, "rc %d; stdout: %s stderr: %s", rc, out, err);
    char want[4096] = "";
    size_t at = 0;
    if (n_rows)
        at += (size_t)snprintf(want, sizeof(want), "\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC",
                               "PARTITION", "NEW-OFFSET");
    for (size_t i = 0; i < n_rows; i++) {
        char g[64], t[64], p[16], o[32];
        cr_assert_eq(sscanf(rows[i], "%63s %63s %15s %31s", g, t, p, o), 4);
        at += (size_t)snprintf(want + at, sizeof(want) - at, "%-30s %-30s %-10s %-15s\n", g, t, p,
                               o);
    }
    if (want_rc == 0)
        cr_expect_str_eq(out, want, "stderr: %s", err);
    free(out);
    if (ret_err)
        *ret_err = err;
    else
        free(err);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define ROWS(...) ((const char *const[]){ __VA_ARGS__ }), \
                  (sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void format_utc(int64_t ms, int offset_min, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000) + offset_min * 60;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char zone[16] = "";
    if (offset_min)
        snprintf(zone, sizeof(zone), "%c%02d:%02d", offset_min < 0 ? '-' : '+',
                 abs(offset_min) / 60, abs(offset_min) % 60);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000), zone);
}

Test(cg_tool, reset_offsets_every_mode)
{
    create_topic("events", 2);
    /* events-0: 10 records one minute apart, three hours ago. events-1: 5 records as old, then 5
     * from the last few seconds. */
    int64_t now = wall_ms();
    int64_t base = (now - 3 * 3600 * 1000) / 60000 * 60000;
    int64_t ts0[10], ts1[10];
    for (int i = 0; i < 10; i++) {
        ts0[i] = base + i * 60000;
        ts1[i] = i < 5 ? base + i * 60000 : now - (10 - i) * 1000;
    }
    produce("events", 0, 10, ts0);
    produce("events", 1, 10, ts1);
    commit_offsets("rg", "events", (int32_t[]){ 0, 1 }, (int64_t[]){ 5, 5 }, 2);

    /* Neither --dry-run nor --execute: Kafka's warning, a plan, nothing committed. */
    char *err = NULL;
    reset_expect(ARGS("--group", "rg", "--all-topics", "--to-earliest"),
                 ROWS("rg events 0 0", "rg events 1 0"), 0, &err);
    cr_expect(strstr(err, "WARN: No action will be performed as the --execute option is "
                          "missing.") == err, "%s", err);
    free(err);
    expect_offset("rg", "events", 0, "5");
    /* --to-earliest */
    reset_expect(ARGS("--group", "rg", "--all-topics", "--to-earliest", "--dry-run"),
                 ROWS("rg events 0 0", "rg events 1 0"), 0, NULL);
    expect_offset("rg", "events", 0, "5");
    expect_offset("rg", "events", 1, "5");
    reset_expect(ARGS("--group", "rg", "--all-topics", "--to-earliest", "--execute"),
                 ROWS("rg events 0 0", "rg events 1 0"), 0, NULL);
    expect_offset("rg", "events", 0, "0");
    expect_offset("rg", "events", 1, "0");
    /* --to-latest, scope: a whole topic */
    reset_expect(ARGS("--group", "rg", "--topic", "events", "--to-latest", "--dry-run"),
                 ROWS("rg events 0 10", "rg events 1 10"), 0, NULL);
    expect_offset("rg", "events", 1, "0");
    reset_expect(ARGS("--group", "rg", "--topic", "events", "--to-latest", "--execute"),
                 ROWS("rg events 0 10", "rg events 1 10"), 0, NULL);
    expect_offset("rg", "events", 0, "10");
    expect_offset("rg", "events", 1, "10");
    /* --to-offset, scope: one partition; past the log end it is clamped, with Kafka's WARN */
    reset_expect(ARGS("--group", "rg", "--topic", "events:0", "--to-offset", "3", "--dry-run"),
                 ROWS("rg events 0 3"), 0, NULL);
    expect_offset("rg", "events", 0, "10");
    reset_expect(ARGS("--group", "rg", "--topic", "events:0", "--to-offset", "3", "--execute"),
                 ROWS("rg events 0 3"), 0, NULL);
    expect_offset("rg", "events", 0, "3");
    expect_offset("rg", "events", 1, "10");
    reset_expect(ARGS("--group", "rg", "--topic", "events:1", "--to-offset", "50", "--execute"),
                 ROWS("rg events 1 10"), 0, &err);
    cr_expect(strstr(err, "WARN New offset (50) is higher than latest offset for topic partition "
                          "events-1. Value will be set to 10"), "%s", err);
    free(err);
    /* --shift-by, scope: partitions listed; before the log start it is clamped */
    reset_expect(ARGS("--group", "rg", "--topic", "events:0,1", "--shift-by", "-2", "--dry-run"),
                 ROWS("rg events 0 1", "rg events 1 8"), 0, NULL);
    expect_offset("rg", "events", 0, "3");
    reset_expect(ARGS("--group", "rg", "--topic", "events:0,1", "--shift-by", "-2", "--execute"),
                 ROWS("rg events 0 1", "rg events 1 8"), 0, NULL);
    expect_offset("rg", "events", 0, "1");
    expect_offset("rg", "events", 1, "8");
    reset_expect(ARGS("--group", "rg", "--topic", "events:0", "--shift-by", "-5", "--execute"),
                 ROWS("rg events 0 0"), 0, &err);
    cr_expect(strstr(err, "WARN New offset (-4) is lower than earliest offset for topic partition "
                          "events-0. Value will be set to 0"), "%s", err);
    free(err);
    reset_expect(ARGS("--group", "rg", "--all-topics", "--shift-by", "4", "--execute"),
                 ROWS("rg events 0 4", "rg events 1 10"), 0, NULL);
    expect_offset("rg", "events", 0, "4");
    expect_offset("rg", "events", 1, "10");
    /* --to-datetime: the first record at or after it (UTC, or with a zone); after the last
     * record, the log end */
    char when[64];
    format_utc(base + 3 * 60000, 0, when, sizeof(when));
    reset_expect(ARGS("--group", "rg", "--topic", "events:0", "--to-datetime", when, "--dry-run"),
                 ROWS("rg events 0 3"), 0, NULL);
    expect_offset("rg", "events", 0, "4");
    format_utc(base + 3 * 60000 - 1, 90, when, sizeof(when));     /* 1 ms before, as +01:30 */
    reset_expect(ARGS("--group", "rg", "--topic", "events:0", "--to-datetime", when, "--execute"),
                 ROWS("rg events 0 3"), 0, NULL);
    expect_offset("rg", "events", 0, "3");
    format_utc(now + 3600 * 1000, 0, when, sizeof(when));
    reset_expect(ARGS("--group", "rg", "--topic", "events:0", "--to-datetime", when, "--execute"),
                 ROWS("rg events 0 10"), 0, NULL);
    expect_offset("rg", "events", 0, "10");
    /* --by-duration: now minus the duration */
    reset_expect(ARGS("--group", "rg", "--topic", "events:1", "--by-duration", "PT1H",
                      "--dry-run"), ROWS("rg events 1 5"), 0, NULL);
    expect_offset("rg", "events", 1, "10");
    reset_expect(ARGS("--group", "rg", "--topic", "events:1", "--by-duration", "PT1H",
                      "--execute"), ROWS("rg events 1 5"), 0, NULL);
    expect_offset("rg", "events", 1, "5");
    reset_expect(ARGS("--group", "rg", "--topic", "events", "--by-duration", "P1D", "--execute"),
                 ROWS("rg events 0 0", "rg events 1 0"), 0, NULL);
    expect_offset("rg", "events", 0, "0");
    expect_offset("rg", "events", 1, "0");
    /* --to-current: the committed offset; the log end where there is none */
    commit_offsets("rg2", "events", (int32_t[]){ 0 }, (int64_t[]){ 7 }, 1);
    reset_expect(ARGS("--group", "rg2", "--topic", "events", "--to-current", "--dry-run"),
                 ROWS("rg2 events 0 7", "rg2 events 1 10"), 0, NULL);
    expect_offset("rg2", "events", 1, "");
    reset_expect(ARGS("--group", "rg2", "--topic", "events", "--to-current", "--execute"),
                 ROWS("rg2 events 0 7", "rg2 events 1 10"), 0, NULL);
    expect_offset("rg2", "events", 0, "7");
    expect_offset("rg2", "events", 1, "10");
    /* Several groups at once, rows sorted by group. */
    reset_expect(ARGS("--group", "rg2", "--group", "rg", "--topic", "events:1", "--to-offset",
                      "6", "--execute"), ROWS("rg events 1 6", "rg2 events 1 6"), 0, NULL);
    expect_offset("rg", "events", 1, "6");
    expect_offset("rg2", "events", 1, "6");
    /* A group that does not exist yet: --execute creates it with the offsets. */
    reset_expect(ARGS("--group", "fresh", "--topic", "events", "--to-latest", "--execute"),
                 ROWS("fresh events 0 10", "fresh events 1 10"), 0, NULL);
    expect_offset("fresh", "events", 1, "10");
    /* --shift-by needs a committed offset; an unknown topic is an error. */
    commit_offsets("rg3", "events", (int32_t[]){ 0 }, (int64_t[]){ 2 }, 1);
    reset_expect(ARGS("--group", "rg3", "--topic", "events", "--shift-by", "1", "--execute"),
                 NULL, 0, 1, &err);
    cr_expect(strstr(err, "Cannot shift offset for partition events-1 since there is no current "
                          "committed offset"), "%s", err);
    free(err);
    expect_offset("rg3", "events", 0, "2");
    char *out = NULL;
    cr_assert_eq(cg(&out, NULL, "--reset-offsets", "--group", "rg3", "--topic", "nosuch",
                    "--to-earliest", "--execute", NULL), 1);
    cr_expect(strstr(out, "Error: Executing consumer group command failed due to topic 'nosuch': "
                          "UNKNOWN_TOPIC_OR_PARTITION"), "%s", out);
    free(out);
}

/* ---- refusals while active; deletes ---------------------------------------------------------- */

Test(cg_tool, active_group_refusals_then_deletes)
{
    create_topic("clicks", 2);
    produce("clicks", 0, 5, NULL);
    produce("clicks", 1, 5, NULL);
    gw_member_t m;
    cr_assert_eq(gw_join_alone(&m, any_port(), "active", NULL, "clicks", (int32_t[]){ 0, 1 }, 2,
                               SESSION_MS), 0);
    cr_assert_eq(gw_commit(&m, "clicks", (int32_t[]){ 0, 1 }, (int64_t[]){ 2, 3 }, 2), 0);

    char *out = NULL, *err = NULL;
    cr_assert_eq(cg(&out, NULL, "--reset-offsets", "--group", "active", "--topic", "clicks",
                    "--to-earliest", "--execute", NULL), 1);
    cr_expect_str_eq(out, "\nError: Assignments can only be reset if the group 'active' is "
                          "inactive, but the current state is Stable.\n");
    free(out);
    expect_offset("active", "clicks", 0, "2");
    expect_offset("active", "clicks", 1, "3");
    cr_assert_eq(cg(&out, NULL, "--delete", "--group", "active", NULL), 1);
    cr_expect_str_eq(out, "\nError: Deletion of some consumer groups failed:\n"
                          "* Group 'active' could not be deleted due to: NON_EMPTY_GROUP: The "
                          "group is not empty.\n");
    free(out);
    cr_assert_eq(cg(&out, NULL, "--delete-offsets", "--group", "active", "--topic", "clicks",
                    NULL), 1);
    cr_expect(strstr(out, "\nError: Encounter some partition level error, see the follow-up "
                          "details:\n") == out, "%s", out);
    char line[256];
    snprintf(line, sizeof(line), "%-30s %-15s Error: GROUP_SUBSCRIBED_TO_TOPIC: ", "clicks", "0");
    cr_expect(strstr(out, line), "%s", out);
    free(out);
    expect_offset("active", "clicks", 0, "2");

    /* The member leaves: the group is Empty and everything is allowed. */
    cr_assert_eq(gw_leave(&m, true), 0);
    wait_state("active", "Empty");
    cr_assert_eq(cg(&out, NULL, "--reset-offsets", "--group", "active", "--topic", "clicks",
                    "--to-latest", "--execute", NULL), 0);
    free(out);
    expect_offset("active", "clicks", 0, "5");
    expect_offset("active", "clicks", 1, "5");
    cr_assert_eq(cg(&out, NULL, "--delete-offsets", "--group", "active", "--topic", "clicks:0",
                    NULL), 0);
    char want[512];
    snprintf(want, sizeof(want), "Request succeed for deleting offsets with topic clicks:0 group "
             "active\n\n%-30s %-15s %-15s\n%-30s %-15s %-15s\n", "TOPIC", "PARTITION", "STATUS",
             "clicks", "0", "Successful");
    cr_expect_str_eq(out, want);
    free(out);
    expect_offset("active", "clicks", 0, "");
    expect_offset("active", "clicks", 1, "5");
    cr_assert_eq(cg(&out, NULL, "--delete", "--group", "active", NULL), 0);
    cr_expect_str_eq(out, "Deletion of requested consumer groups ('active') was successful.\n");
    free(out);
    cr_assert_eq(cg(&out, NULL, "--list", NULL), 0);
    cr_expect(strstr(out, "active") == NULL, "%s", out);
    free(out);
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", "active", NULL), 1);
    cr_expect_str_eq(out, "\nError: Consumer group 'active' does not exist.\n");
    free(out);
    /* Deleting it again, one that never existed alongside one that does. */
    commit_offsets("other", "clicks", (int32_t[]){ 1 }, (int64_t[]){ 1 }, 1);
    cr_assert_eq(cg(&out, &err, "--delete", "--group", "active", "--group", "other", NULL), 1);
    cr_expect_str_eq(out, "\nError: Deletion of some consumer groups failed:\n"
                          "* Group 'active' could not be deleted due to: GROUP_ID_NOT_FOUND: The "
                          "group id does not exist.\n"
                          "\nThese consumer groups were deleted successfully: 'other'\n");
    free(out);
    free(err);
    cr_assert_eq(cg(&out, NULL, "--delete-offsets", "--group", "ghost", "--topic", "clicks",
                    NULL), 1);
    cr_expect(strstr(out, "\nError: 'ghost' does not exist.\n") == out, "%s", out);
    free(out);
}

/* ---- a rebalancing group; a static member ---------------------------------------------------- */

Test(cg_tool, rebalancing_and_static_members)
{
    create_topic("reb-t", 2);
    gw_member_t m1, m2, st;
    cr_assert_eq(gw_join_alone(&m1, any_port(), "reb", NULL, "reb-t", (int32_t[]){ 0, 1 }, 2,
                               SESSION_MS), 0);
    cr_assert_eq(gw_commit(&m1, "reb-t", (int32_t[]){ 0 }, (int64_t[]){ 0 }, 1), 0);
    /* A second member's JoinGroup starts a rebalance the first never joins (its rebalance
     * timeout is 10 s): the group stays in PreparingRebalance meanwhile. */
    cr_assert_eq(gw_join_begin(&m2, any_port(), "reb", "reb-t", SESSION_MS), 0);
    wait_state("reb", "PreparingRebalance");
    char *out = NULL, *err = NULL;
    cr_assert_eq(cg(&out, &err, "--describe", "--group", "reb", NULL), 0);
    cr_expect_str_eq(err, "\nWarning: Consumer group 'reb' is rebalancing.\n");
    free(out);
    free(err);
    /* As Kafka's GroupMetadata.summary: while rebalancing, no assignor and no member
     * assignments (the previous generation's are being replaced). */
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", "reb", "--state", NULL), 0);
    cr_expect(strstr(out, "range") == NULL, "assignor shown while rebalancing:\n%s", out);
    free(out);
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", "reb", "--offsets", NULL), 0);
    cr_expect(strstr(out, m1.member_id) == NULL, "old assignment shown while rebalancing:\n%s",
              out);
    free(out);
    cr_assert_eq(cg(&out, NULL, "--reset-offsets", "--group", "reb", "--all-topics",
                    "--to-earliest", "--execute", NULL), 1);
    cr_expect_str_eq(out, "\nError: Assignments can only be reset if the group 'reb' is "
                          "inactive, but the current state is PreparingRebalance.\n");
    free(out);
    gw_leave(&m2, false);
    gw_leave(&m1, false);

    /* A static member: --members adds the GROUP-INSTANCE-ID column. */
    cr_assert_eq(gw_join_alone(&st, any_port(), "static-g", "inst-1", "reb-t",
                               (int32_t[]){ 1 }, 1, SESSION_MS), 0);
    cr_assert_eq(cg(&out, NULL, "--describe", "--group", "static-g", "--members", "--verbose",
                    NULL), 0);
    int wc = (int)strlen(st.member_id) > 15 ? (int)strlen(st.member_id) : 15;
    char want[1024];
    snprintf(want, sizeof(want), "\n%-15s %-*s %-17s %-15s %-15s %-15s ASSIGNMENT\n"
             "%-15s %-*s %-17s %-15s %-15s %-15s reb-t(1)\n", "GROUP", wc, "CONSUMER-ID",
             "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "static-g", wc,
             st.member_id, "inst-1", "/127.0.0.1", "broker-it", "1");
    cr_expect_str_eq(out, want);
    cr_expect(strncmp(st.member_id, "inst-1-", 7) == 0, "a static member's id: %s",
              st.member_id);
    free(out);
    gw_leave(&st, true);
}

/* ---- the coordinator moves ------------------------------------------------------------------- */

Test(cg_tool, coordinator_killed)
{
    create_topic("moves", 1);
    produce("moves", 0, 9, NULL);
    /* The first group request of the cluster: FindCoordinator creates __consumer_offsets and
     * answers COORDINATOR_NOT_AVAILABLE until its partitions have leaders; the tool retries. */
    char *out = NULL;
    cr_assert_eq(cg(&out, NULL, "--reset-offsets", "--group", "moving", "--topic", "moves",
                    "--to-offset", "7", "--execute", NULL), 0, "%s", out);
    free(out);
    expect_offset("moving", "moves", 0, "7");
    int32_t node = -1;
    int port = -1;
    cr_assert_eq(gw_find_coordinator(any_port(), "moving", 30000, &node, &port), 0);
    st_test_broker_t *b = st_test_cluster_broker(&cluster, node);
    st_test_broker_stop(b, SIGKILL);
    /* Right away: the old coordinator refuses connections, FindCoordinator names it (or nobody)
     * until the controller moves the partition, the new one loads it; the tool retries. */
    expect_offset("moving", "moves", 0, "7");
    cr_assert_eq(cg(&out, NULL, "--reset-offsets", "--group", "moving", "--topic", "moves",
                    "--to-offset", "2", "--execute", NULL), 0, "%s", out);
    free(out);
    expect_offset("moving", "moves", 0, "2");
}

/* ---- bad flags (no cluster needed) ----------------------------------------------------------- */

static void bad_flags(const char *const *args, const char *want)
{
    const char *argv[32] = { "strand-consumer-groups" };
    int n = 1;
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = st_test_run_tool(argv, NULL, &out, &err, 30000);
    cr_expect_eq(rc, 1, "exit code for '%s'", want);
    cr_expect_str_eq(out, "", "stdout for '%s'", want);
    cr_expect(strstr(err, want) != NULL, "stderr '%s' should contain '%s'", err, want);
    size_t lines = 0;
    for (const char *p = err; *p; p++)
        lines += *p == '\n';
    cr_expect_eq(lines, 1, "one line: '%s'", err);
    free(out);
    free(err);
}

#define BS "--bootstrap-server", "127.0.0.1:1"

Test(cg_flags, usage_errors)
{
    bad_flags(ARGS("--list"), "missing required option --bootstrap-server");
    bad_flags(ARGS(BS), "Command must include exactly one action: --list, --describe, --delete, "
                        "--reset-offsets, --delete-offsets");
    bad_flags(ARGS(BS, "--list", "--describe"), "Command must include exactly one action");
    bad_flags(ARGS(BS, "--bogus"), "unrecognized option '--bogus'");
    bad_flags(ARGS(BS, "--describe"),
              "Option --describe takes one of these options: --group, --all-groups");
    bad_flags(ARGS(BS, "--describe", "--group", "g", "--members", "--state"),
              "Option --describe takes at most one of these options: --members, --offsets, "
              "--state");
    bad_flags(ARGS(BS, "--describe", "--group", "g", "--state", "Stable"),
              "Option --describe does not take a value for --state");
    bad_flags(ARGS(BS, "--list", "--members"), "Option --members can only be used with --describe");
    bad_flags(ARGS(BS, "--delete", "--group", "g", "--state"),
              "Option --state can only be used with --describe or --list");
    bad_flags(ARGS(BS, "--list", "--state", "bogus"),
              "Invalid state list 'bogus'. Valid states are: PreparingRebalance, "
              "CompletingRebalance, Stable, Dead, Empty");
    bad_flags(ARGS(BS, "--list", "--group", "g"),
              "Option \"--group\" can't be used with option \"--list\"");
    bad_flags(ARGS(BS, "--describe", "--group", "g", "--all-groups"),
              "Option \"--group\" can't be used with option \"--all-groups\"");
    bad_flags(ARGS(BS, "--describe", "--group", "g", "--topic", "t"),
              "Option \"--topic\" can't be used with option \"--describe\"");
    bad_flags(ARGS(BS, "--delete"),
              "Option --delete takes one of these options: --group, --all-groups");
    bad_flags(ARGS(BS, "--delete", "--group", "g", "--topic", "t"),
              "The consumer does not support topic-specific offset deletion from a consumer "
              "group.");
    bad_flags(ARGS(BS, "--delete-offsets", "--group", "g"),
              "Option --delete-offsets takes the following options: --group, --topic");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t"),
              "Option --reset-offsets requires one of the following scenarios: --to-datetime, "
              "--by-duration, --to-earliest, --to-latest, --shift-by, --to-current, --to-offset");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--to-earliest"),
              "One of the reset scopes should be defined: --all-topics, --topic.");
    bad_flags(ARGS(BS, "--reset-offsets", "--to-earliest", "--topic", "t"),
              "Option --reset-offsets takes one of these options: --group, --all-groups");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t", "--to-earliest",
                   "--to-latest"),
              "Option \"--to-earliest\" can't be used with option \"--to-latest\"");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t", "--to-earliest",
                   "--dry-run", "--execute"),
              "Option --reset-offsets only accepts one of --execute and --dry-run");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t", "--to-offset", "x",
                   "--dry-run"), "--to-offset: 'x' is not an integer");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t", "--to-offset", "-1",
                   "--dry-run"), "--to-offset: '-1' is not an integer in [0,");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t", "--shift-by", "1x",
                   "--dry-run"), "--shift-by: '1x' is not an integer");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t", "--to-datetime",
                   "2021-02-30T00:00:00.000", "--dry-run"),
              "--to-datetime: '2021-02-30T00:00:00.000' is not a date-time of the form "
              "YYYY-MM-DDTHH:mm:SS.sss");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t", "--by-duration", "1H",
                   "--dry-run"), "--by-duration: '1H' is not a duration of the form PnDTnHnMnS");
    bad_flags(ARGS(BS, "--reset-offsets", "--group", "g", "--topic", "t:x", "--to-earliest",
                   "--dry-run"), "--topic: 'x' is not an integer");
    bad_flags(ARGS(BS, "--describe", "--group", "g", "--dry-run"),
              "Option --dry-run can only be used with --reset-offsets");
    bad_flags(ARGS(BS, "--describe", "--group", "g", "--to-latest"),
              "Option --to-latest can only be used with --reset-offsets");
    bad_flags(ARGS(BS, "--list", "--timeout", "0"), "--timeout: '0' is not an integer in [1,");
    /* Flags are fine, the bootstrap server is not there: the client's reason, exit 1. */
    bad_flags(ARGS(BS, "--list", "--timeout", "2000"), "127.0.0.1:1");
}
