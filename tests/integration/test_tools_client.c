/* The command-line tools end to end against a real broker: strand-topics (create, list,
 * describe in Kafka's layout, delete), console producer -> console consumer with keys and
 * headers, strand-get-offsets, the perf tests with small counts, and the error contract: a bad
 * flag or an unreachable broker gives exit code 1 and one clear line on stderr. */
#include <criterion/criterion.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_util.h"

static st_test_broker_t broker;

static void start(void)
{
    cr_assert_eq(st_test_broker_start(&broker, NULL), 0, "broker did not start");
}

static void stop(void)
{
    st_test_broker_cleanup(&broker);
}

TestSuite(tools, .init = start, .fini = stop, .timeout = 90);

typedef struct run {
    int rc;
    char *out, *err;
} run_t;

static run_t run(const char *const *argv, const char *input)
{
    run_t r = { 0 };
    r.rc = st_test_run_tool(argv, input, &r.out, &r.err, 30000);
    if (!r.out)
        r.out = strdup("");
    if (!r.err)
        r.err = strdup("");
    return r;
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static bool matches(const char *text, const char *pattern)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0, "bad regex %s", pattern);
    bool ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

Test(tools, topics_create_list_describe_delete)
{
    const char *create[] = { "strand-topics", "--bootstrap-server", broker.bootstrap, "--create",
                             "--topic", "tt", "--partitions", "3", "--replication-factor", "1", NULL };
    run_t r = run(create, NULL);
    cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
    cr_expect_str_eq(r.out, "Created topic tt.\n");
    run_free(&r);

    r = run(create, NULL);
    cr_expect_eq(r.rc, 1);
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    cr_expect(strstr(r.err, "already exists") != NULL, "%s", r.err);
    run_free(&r);

    const char *list[] = { "strand-topics", "--bootstrap-server", broker.bootstrap, "--list", NULL };
    r = run(list, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect(matches(r.out, "^tt$"), "%s", r.out);
    run_free(&r);

    const char *describe[] = { "strand-topics", "--bootstrap-server", broker.bootstrap, "--describe",
                               "--topic", "tt", NULL };
    r = run(describe, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect(matches(r.out, "^Topic: tt\tTopicId: [A-Za-z0-9_-]+\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: "),
              "%s", r.out);
    for (int p = 0; p < 3; p++) {
        char pat[128];
        snprintf(pat, sizeof(pat), "^\tTopic: tt\tPartition: %d\tLeader: [0-9]+\tReplicas: [0-9]+\tIsr: [0-9]+$", p);
        cr_expect(matches(r.out, pat), "partition %d line missing:\n%s", p, r.out);
    }
    cr_expect_eq(count_lines(r.out), 4);
    run_free(&r);

    const char *del[] = { "strand-topics", "--bootstrap-server", broker.bootstrap, "--delete",
                          "--topic", "tt", NULL };
    r = run(del, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    r = run(describe, NULL);
    cr_expect_eq(r.rc, 1);
    cr_expect(strstr(r.err, "does not exist") != NULL, "%s", r.err);
    run_free(&r);
}

Test(tools, console_producer_to_console_consumer_with_keys)
{
    ct_create_topic(&broker, "console", 2);
    const char *prod[] = { "strand-console-producer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "console", "--property", "parse.key=true", "--property",
                           "key.separator=:", "--producer-property", "acks=all",
                           "--compression-codec", "lz4", NULL };
    const char *input = "alpha:one\nbeta:two\nalpha:three\ngamma:four\n";
    run_t r = run(prod, input);
    cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
    run_free(&r);

    const char *cons[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "console", "--from-beginning", "--max-messages", "4",
                           "--property", "print.key=true", "--property", "key.separator=:",
                           "--timeout-ms", "10000", NULL };
    r = run(cons, NULL);
    cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
    cr_expect_eq(count_lines(r.out), 4, "%s", r.out);
    cr_expect(strstr(r.out, "alpha:one\n") && strstr(r.out, "beta:two\n") &&
              strstr(r.out, "alpha:three\n") && strstr(r.out, "gamma:four\n"), "%s", r.out);
    /* Same key, same partition, in order. */
    cr_expect_lt(strstr(r.out, "alpha:one"), strstr(r.out, "alpha:three"));
    cr_expect(strstr(r.err, "Processed a total of 4 messages") != NULL, "%s", r.err);
    run_free(&r);

    /* One partition from an offset, with offsets and partitions printed. */
    char part[8];
    int32_t pa = strand_partition_for_key("alpha", 5, 2);
    snprintf(part, sizeof(part), "%d", pa);
    /* "three" is the third input line: its offset counts the earlier lines on its partition. */
    int off_three = 1 + (strand_partition_for_key("beta", 4, 2) == pa);
    char off_str[8];
    snprintf(off_str, sizeof(off_str), "%d", off_three);
    const char *one[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                          "--topic", "console", "--partition", part, "--offset", off_str,
                          "--property", "print.offset=true", "--property", "print.partition=true",
                          "--timeout-ms", "1500", NULL };
    r = run(one, NULL);
    cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
    char want[64];
    snprintf(want, sizeof(want), "Partition:%s\tOffset:%d\tthree\n", part, off_three);
    cr_expect(strncmp(r.out, want, strlen(want)) == 0, "want %s first in:\n%s", want, r.out);
    run_free(&r);
}

Test(tools, console_headers_and_null_marker)
{
    ct_create_topic(&broker, "hdrs", 1);
    const char *prod[] = { "strand-console-producer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "hdrs", "--property", "parse.headers=true", "--property",
                           "parse.key=true", "--property", "null.marker=NULL", NULL };
    run_t r = run(prod, "h1:v1,h2:v2\tk\tval\n\tNULL\tnokey\n");
    cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
    run_free(&r);
    const char *cons[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "hdrs", "--from-beginning", "--max-messages", "2",
                           "--property", "print.headers=true", "--property", "print.key=true",
                           "--timeout-ms", "10000", NULL };
    r = run(cons, NULL);
    cr_assert_eq(r.rc, 0, "stderr: %s", r.err);
    cr_expect_str_eq(r.out, "h1:v1,h2:v2\tk\tval\nNO_HEADERS\tnull\tnokey\n");
    run_free(&r);
}

Test(tools, producer_rejects_line_without_separator)
{
    ct_create_topic(&broker, "nosep", 1);
    const char *prod[] = { "strand-console-producer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "nosep", "--property", "parse.key=true", NULL };
    run_t r = run(prod, "no separator here\n");
    cr_expect_eq(r.rc, 1);
    cr_expect(strstr(r.err, "line number 1") != NULL, "%s", r.err);
    run_free(&r);
}

Test(tools, get_offsets)
{
    ct_create_topic(&broker, "offs", 2);
    const char *prod[] = { "strand-console-producer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "offs", "--property", "parse.key=true", NULL };
    run_t r = run(prod, "a\t1\na\t2\na\t3\n");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    int32_t pa = strand_partition_for_key("a", 1, 2);
    const char *latest[] = { "strand-get-offsets", "--bootstrap-server", broker.bootstrap,
                             "--topic", "offs", NULL };
    r = run(latest, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    char want[64];
    snprintf(want, sizeof(want), "offs:%d:3\n", pa);
    cr_expect(strstr(r.out, want) != NULL, "%s", r.out);
    snprintf(want, sizeof(want), "offs:%d:0\n", 1 - pa);
    cr_expect(strstr(r.out, want) != NULL, "%s", r.out);
    run_free(&r);
    char pstr[8];
    snprintf(pstr, sizeof(pstr), "%d", pa);
    const char *earliest[] = { "strand-get-offsets", "--bootstrap-server", broker.bootstrap,
                               "--topic", "offs", "--partitions", pstr, "--time", "-2", NULL };
    r = run(earliest, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    snprintf(want, sizeof(want), "offs:%d:0\n", pa);
    cr_expect_str_eq(r.out, want);
    run_free(&r);
}

Test(tools, perf_tests_small)
{
    ct_create_topic(&broker, "perf", 1);
    char props[128];
    snprintf(props, sizeof(props), "bootstrap.servers=%s", broker.bootstrap);
    const char *pp[] = { "strand-producer-perf-test", "--topic", "perf", "--num-records", "20000",
                         "--record-size", "100", "--throughput", "-1", "--producer-props", props,
                         "acks=1", "linger.ms=1", NULL };
    run_t r = run(pp, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect(matches(r.out, "^20000 records sent, [0-9.]+ records/sec \\([0-9.]+ MB/sec\\), [0-9.]+ ms avg "
                             "latency, [0-9.]+ ms max latency, [0-9]+ ms 50th, [0-9]+ ms 95th, [0-9]+ ms "
                             "99th, [0-9]+ ms 99.9th\\.$"), "%s", r.out);
    run_free(&r);
    const char *cp[] = { "strand-consumer-perf-test", "--bootstrap-server", broker.bootstrap,
                         "--topic", "perf", "--messages", "20000", "--timeout", "10000", NULL };
    r = run(cp, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect(matches(r.out, "^start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, "
                             "nMsg.sec"), "%s", r.out);
    cr_expect(matches(r.out, "^[0-9-]+ [0-9:]+, [0-9-]+ [0-9:]+, 1\\.9073, [0-9.]+, 20000, [0-9.]+"),
              "%s", r.out);
    run_free(&r);
}

Test(tools, bad_flags_exit_1_with_one_line)
{
    const char *cases[][8] = {
        { "strand-topics", "--bootstrap-server", "127.0.0.1:1", "--lst", NULL },
        { "strand-topics", "--list", NULL },
        { "strand-console-producer", "--topic", "x", NULL },
        { "strand-console-consumer", "--bootstrap-server", "h:1", "--topic", "x", "--offset", "5", NULL },
        { "strand-get-offsets", "--bootstrap-server", "h:1", "--time", "soon", NULL },
        { "strand-producer-perf-test", "--topic", "x", "--num-records", "ten", NULL },
        { "strand-consumer-perf-test", "--bootstrap-server", NULL },
        { "strand-console-producer", "--bootstrap-server", "h:1", "--topic", "x",
          "--producer-property", "compression.type=zstd", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_t r = run(cases[i], NULL);
        cr_expect_eq(r.rc, 1, "%s: rc %d", cases[i][0], r.rc);
        cr_expect_eq(count_lines(r.err), 1, "%s: stderr '%s'", cases[i][0], r.err);
        cr_expect(strncmp(r.err, cases[i][0], strlen(cases[i][0])) == 0, "%s", r.err);
        run_free(&r);
    }
    const char *help[] = { "strand-console-consumer", "--help", NULL };
    run_t r = run(help, NULL);
    cr_expect_eq(r.rc, 0);
    cr_expect(strstr(r.out, "--from-beginning") != NULL);
    run_free(&r);
}

Test(tools, unreachable_broker_exit_1_naming_address)
{
    char addr[32];
    int port = broker.port;
    st_test_broker_stop(&broker, SIGKILL);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    const char *cases[][12] = {
        { "strand-topics", "--bootstrap-server", addr, "--list", NULL },
        { "strand-console-consumer", "--bootstrap-server", addr, "--topic", "x", NULL },
        { "strand-console-producer", "--bootstrap-server", addr, "--topic", "x", NULL },
        { "strand-get-offsets", "--bootstrap-server", addr, "--topic", "x", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_t r = run(cases[i], "line\n");
        cr_expect_eq(r.rc, 1, "%s: rc %d", cases[i][0], r.rc);
        cr_expect_eq(count_lines(r.err), 1, "%s: '%s'", cases[i][0], r.err);
        cr_expect(strstr(r.err, addr) && strstr(r.err, "Connection refused"), "%s: '%s'", cases[i][0], r.err);
        run_free(&r);
    }
}
