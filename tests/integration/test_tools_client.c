/* The command-line tools end to end against a real broker: strand-topics (create, list,
 * describe in Kafka's layout, delete), console producer -> console consumer with keys and
 * headers, strand-get-offsets, the perf tests with small counts, and the error contract: a bad
 * flag or an unreachable broker gives exit code 1 and one clear line on stderr.
 * Also Kafka's habits the tools keep: --topic as a regular expression (strand-topics through
 * --bootstrap-server and --zookeeper, strand-get-offsets) and "Topic 'x' does not exist as
 * expected"; errors retrying cannot cure end a tool at once; retries are one WARN line per
 * condition; a record over max.request.size is named and skipped; auto.offset.reset and
 * --from-beginning as in kafka-console-consumer; --max-messages -1; --broker-list. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <regex.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The same with a time limit of its own (rc -1 when the tool had to be killed). */
static run_t run_within(const char *const *argv, const char *input, int timeout_ms)
{
    run_t r = { 0 };
    r.rc = st_test_run_tool(argv, input, &r.out, &r.err, timeout_ms);
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

/* ---- --topic as a regular expression ------------------------------------------------------ */

static void topics_regex(const char *mode_flag, const char *mode_value)
{
    const char *names[] = { "rx-a", "rx-b", "rxc", NULL };
    for (int i = 0; names[i]; i++)
        ct_create_topic(&broker, names[i], 1);
    const char *list[] = { "strand-topics", mode_flag, mode_value, "--list", "--topic", "rx-.*", NULL };
    run_t r = run(list, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "rx-a\nrx-b\n");
    run_free(&r);
    /* Anchored: "rx" matches no whole name; ',' separates alternatives as in Kafka. */
    const char *list2[] = { "strand-topics", mode_flag, mode_value, "--list", "--topic", "rx", NULL };
    r = run(list2, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "");
    run_free(&r);
    const char *list3[] = { "strand-topics", mode_flag, mode_value, "--list", "--topic", "rxc, rx-b", NULL };
    r = run(list3, NULL);
    cr_expect_str_eq(r.out, "rx-b\nrxc\n");
    run_free(&r);

    const char *describe[] = { "strand-topics", mode_flag, mode_value, "--describe", "--topic",
                               "rx-.*", NULL };
    r = run(describe, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect(matches(r.out, "^Topic: rx-a\t") && matches(r.out, "^Topic: rx-b\t") &&
              !strstr(r.out, "rxc"), "%s", r.out);
    cr_expect_eq(count_lines(r.out), 4, "%s", r.out);
    run_free(&r);

    const char *alter[] = { "strand-topics", mode_flag, mode_value, "--alter", "--topic", "rx-.*",
                            "--partitions", "2", NULL };
    r = run(alter, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    r = run(describe, NULL);
    cr_expect(matches(r.out, "^Topic: rx-a\tTopicId: [^\t]+\tPartitionCount: 2\t") &&
              matches(r.out, "^Topic: rx-b\tTopicId: [^\t]+\tPartitionCount: 2\t"), "%s", r.out);
    run_free(&r);

    const char *del[] = { "strand-topics", mode_flag, mode_value, "--delete", "--topic", "rx-.*", NULL };
    r = run(del, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    /* Deletion completes in the background (ZooKeeper mode marks the topics). */
    int64_t until = ct_now_ms() + 15000;
    do {
        r = run(list, NULL);
        bool gone = r.rc == 0 && !*r.out;
        run_free(&r);
        if (gone)
            break;
        usleep(100000);
    } while (ct_now_ms() < until);
    r = run(list, NULL);
    cr_expect_str_eq(r.out, "", "rx-a and rx-b deleted");
    run_free(&r);

    /* Nothing matches: Kafka's message and exit 1 for --describe, --delete and --alter ... */
    const char *const *none[] = { describe, del, alter };
    for (int i = 0; i < 3; i++) {
        r = run(none[i], NULL);
        cr_expect_eq(r.rc, 1, "%s %s: rc %d", mode_flag, none[i][3], r.rc);
        cr_expect_str_eq(r.err, "strand-topics: Error while executing topic command : Topic "
                         "'rx-.*' does not exist as expected\n");
        cr_expect_str_eq(r.out, "");
        run_free(&r);
    }
    /* ... and nothing at all with --if-exists. */
    const char *quiet[] = { "strand-topics", mode_flag, mode_value, "--describe", "--topic",
                            "rx-.*", "--if-exists", NULL };
    r = run(quiet, NULL);
    cr_expect_eq(r.rc, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "");
    cr_expect_str_eq(r.err, "");
    run_free(&r);
    const char *quiet_del[] = { "strand-topics", mode_flag, mode_value, "--delete", "--topic",
                                "rx-.*", "--if-exists", NULL };
    r = run(quiet_del, NULL);
    cr_expect_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    /* An expression that does not compile. */
    const char *bad[] = { "strand-topics", mode_flag, mode_value, "--describe", "--topic", "rx-(",
                          NULL };
    r = run(bad, NULL);
    cr_expect_eq(r.rc, 1);
    cr_expect_str_eq(r.err, "strand-topics: rx-( is an invalid regex.\n");
    run_free(&r);
}

Test(tools, topic_regex_through_bootstrap_server)
{
    topics_regex("--bootstrap-server", broker.bootstrap);
}

Test(tools, topic_regex_through_zookeeper)
{
    topics_regex("--zookeeper", broker.zk_connect);
}

Test(tools, get_offsets_topic_regex)
{
    ct_create_topic(&broker, "go-1", 1);
    ct_create_topic(&broker, "go-2", 2);
    ct_create_topic(&broker, "other", 1);
    const char *prod[] = { "strand-console-producer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "go-1", NULL };
    run_t r = run(prod, "a\nb\n");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    const char *go[] = { "strand-get-offsets", "--bootstrap-server", broker.bootstrap, "--topic",
                         "go-.*", NULL };
    r = run(go, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "go-1:0:2\ngo-2:0:0\ngo-2:1:0\n");
    run_free(&r);
    const char *go_p1[] = { "strand-get-offsets", "--bootstrap-server", broker.bootstrap, "--topic",
                            "go-.*", "--partitions", "1", NULL };
    r = run(go_p1, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "go-2:1:0\n");
    run_free(&r);
    const char *none[] = { "strand-get-offsets", "--bootstrap-server", broker.bootstrap, "--topic",
                           "nothing-.*", NULL };
    r = run(none, NULL);
    cr_expect_eq(r.rc, 1);
    cr_expect_str_eq(r.err, "strand-get-offsets: Could not match any topic-partitions with the "
                     "specified filters\n");
    run_free(&r);
}

/* ---- fail fast, and say what is being retried -------------------------------------------- */

/* An invalid topic name is final: the tools stop at the first answer instead of retrying until
 * max.block.ms (60 s) or request.timeout.ms (30 s; the run below gives up after 30 s). */
Test(tools, invalid_topic_fails_at_once)
{
    const char *prod[] = { "strand-console-producer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "no spaces allowed", NULL };
    int64_t t0 = ct_now_ms();
    run_t r = run(prod, "x\n");
    cr_expect_eq(r.rc, 1, "rc %d after %lld ms", r.rc, (long long)(ct_now_ms() - t0));
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    cr_expect(strstr(r.err, "INVALID_TOPIC_EXCEPTION") && strstr(r.err, "no spaces allowed"),
              "%s", r.err);
    run_free(&r);
    const char *cons[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "no spaces allowed", NULL };
    r = run(cons, NULL);
    cr_expect_eq(r.rc, 1, "rc %d", r.rc);
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    cr_expect(strstr(r.err, "INVALID_TOPIC_EXCEPTION"), "%s", r.err);
    run_free(&r);
}

/* min.insync.replicas above the replica count: every acks=all write gets NOT_ENOUGH_REPLICAS,
 * retried (every 50 ms) until delivery.timeout.ms. stderr says so once, in Kafka's words, then
 * names the record that failed. */
Test(tools, retries_are_one_warn_line)
{
    const char *create[] = { "strand-topics", "--bootstrap-server", broker.bootstrap, "--create",
                             "--topic", "minisr", "--partitions", "1", "--replication-factor", "1",
                             "--config", "min.insync.replicas=2", NULL };
    run_t r = run(create, NULL);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    const char *prod[] = { "strand-console-producer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "minisr", "--producer-property", "acks=all",
                           "--producer-property", "retry.backoff.ms=50", "--producer-property",
                           "request.timeout.ms=1000", "--producer-property",
                           "delivery.timeout.ms=3000", NULL };
    r = run(prod, "hello\n");
    cr_expect_eq(r.rc, 1);
    cr_expect(matches(r.err, "^\\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8},[0-9]{3}\\] WARN \\[Producer "
                             "clientId=strand\\] Got error produce response with correlation id "
                             "[0-9]+ on topic-partition minisr-0, retrying \\([0-9]+ attempts "
                             "left\\)\\. Error: NOT_ENOUGH_REPLICAS.* \\(strand\\.producer\\)$"),
              "%s", r.err);
    int warns = 0;
    for (const char *p = r.err; (p = strstr(p, "Got error produce response")); p++)
        warns++;
    cr_expect_eq(warns, 1, "one line for ~60 retries:\n%s", r.err);
    /* Two ways to run out of time, both Kafka's: the deadline passes while the batch waits for
     * its next try (TIMED_OUT, naming the last error), or the answer to a try arrives after it
     * (that answer's error, naming delivery.timeout.ms). Which one depends on timing (an ASan
     * build hit the second). */
    cr_expect(matches(r.err, "^strand-console-producer: Error when sending message to topic minisr "
                             "with key: null, value: 5 bytes with error: (TIMED_OUT: minisr-0: not "
                             "delivered within delivery\\.timeout\\.ms \\(3000 ms\\); last error: "
                             "NOT_ENOUGH_REPLICAS|NOT_ENOUGH_REPLICAS: minisr-0: NOT_ENOUGH_REPLICAS: "
                             ".* \\(delivery\\.timeout\\.ms 3000 exceeded\\))$"),
              "%s", r.err);
    run_free(&r);
}

/* ---- producer and consumer details --------------------------------------------------------- */

Test(tools, record_over_max_request_size_is_skipped)
{
    ct_create_topic(&broker, "big", 1);
    size_t big = 2000000;
    char *input = malloc(big + 64);
    char *p = input + sprintf(input, "small\n");
    memset(p, 'x', big);
    p += big;
    sprintf(p, "\nafter\n");
    const char *prod[] = { "strand-console-producer", "--broker-list", broker.bootstrap,
                           "--topic", "big", NULL };
    run_t r = run(prod, input);
    free(input);
    cr_expect_eq(r.rc, 1, "a record failed: exit 1");
    cr_expect_str_eq(r.err, "strand-console-producer: Error when sending message to topic big with "
                     "key: null, value: 2000000 bytes with error: MESSAGE_TOO_LARGE: The message is "
                     "2000088 bytes when serialized which is larger than 1048576, which is the "
                     "value of the max.request.size configuration.\n"
                     "strand-console-producer: 1 record(s) failed delivery\n");
    run_free(&r);
    const char *cons[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "big", "--from-beginning", "--max-messages", "-1",
                           "--timeout-ms", "1500", NULL };
    r = run(cons, NULL);
    cr_expect_eq(r.rc, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "small\nafter\n", "the lines around it were sent");
    cr_expect(strstr(r.err, "Processed a total of 2 messages"), "%s", r.err);
    run_free(&r);
}

Test(tools, console_consumer_auto_offset_reset)
{
    ct_create_topic(&broker, "aor", 2);
    const char *prod[] = { "strand-console-producer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "aor", NULL };
    run_t r = run(prod, "1\n2\n3\n");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    const char *earliest[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                               "--topic", "aor", "--consumer-property", "auto.offset.reset=earliest",
                               "--timeout-ms", "1500", NULL };
    r = run(earliest, NULL);
    cr_expect_eq(r.rc, 0, "%s", r.err);
    cr_expect_eq(count_lines(r.out), 3, "%s", r.out);
    run_free(&r);
    const char *latest[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                             "--topic", "aor", "--timeout-ms", "1000", NULL };
    r = run(latest, NULL);
    cr_expect_eq(r.rc, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "", "latest by default");
    run_free(&r);
    const char *none[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                           "--topic", "aor", "--consumer-property", "auto.offset.reset=none",
                           "--timeout-ms", "5000", NULL };
    r = run(none, NULL);
    cr_expect_eq(r.rc, 1);
    cr_expect(strstr(r.err, "Undefined offset with no reset policy for partitions: [aor-"), "%s",
              r.err);
    run_free(&r);
    const char *clash[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                            "--topic", "aor", "--from-beginning", "--consumer-property",
                            "auto.offset.reset=latest", NULL };
    r = run(clash, NULL);
    cr_expect_eq(r.rc, 1);
    cr_expect_str_eq(r.err, "strand-console-consumer: Can't simultaneously specify --from-beginning "
                     "and 'auto.offset.reset=latest', please remove one option (try --help)\n");
    run_free(&r);
    /* --from-beginning with auto.offset.reset=earliest agree. */
    const char *agree[] = { "strand-console-consumer", "--bootstrap-server", broker.bootstrap,
                            "--topic", "aor", "--from-beginning", "--consumer-property",
                            "auto.offset.reset=earliest", "--max-messages", "3", NULL };
    r = run(agree, NULL);
    cr_expect_eq(r.rc, 0, "%s", r.err);
    cr_expect_eq(count_lines(r.out), 3, "%s", r.out);
    run_free(&r);
}

/* Usage errors in every tool: one line, naming the flag, pointing at --help, exit 1. */
Test(tools, usage_errors_one_line_in_every_tool)
{
    const char *cases[][10] = {
        { "strand-topics", "--bootstrap-server", "h:1", "--list", "--topic", NULL },
        { "strand-topics", "--bootstrap-server", "h:1", "--create", "--topic", "t", "--partitions", "x", NULL },
        { "strand-console-producer", "--bootstrap-server", "h:1", "--topic", "--sync", NULL },
        { "strand-console-consumer", "--bootstrap-server", "h:1", "--topic", "t", "--max-messages", "-2", NULL },
        { "strand-console-consumer", "--bootstrap-server", "h:1", "--topic", "t", "--nope", NULL },
        { "strand-get-offsets", "--bootstrap-server", "h:1", "--partitions", "1,x", NULL },
        { "strand-producer-perf-test", "--topic", "t", "--num-records", "1", "--throughput", NULL },
        { "strand-consumer-perf-test", "--bootstrap-server", "h:1", "--topic", "t", "--messages", "0",
          NULL },
        { "strand-leader-election", "--bootstrap-server", "h:1", "--election-typ", "preferred", NULL },
        { "strand-preferred-replica-election", "--zookeeper", NULL },
    };
    static const char *const names[] = { "--topic", "--partitions", "--topic", "--max-messages",
                                         "--nope", "--partitions", "--throughput", "--messages",
                                         "--election-typ", "--zookeeper" };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_t r = run(cases[i], NULL);
        cr_expect_eq(r.rc, 1, "%s: rc %d", cases[i][0], r.rc);
        cr_expect_eq(count_lines(r.err), 1, "%s: stderr '%s'", cases[i][0], r.err);
        cr_expect(strncmp(r.err, cases[i][0], strlen(cases[i][0])) == 0 && strstr(r.err, names[i]) &&
                  strstr(r.err, "(try --help)\n"), "%s: '%s'", cases[i][0], r.err);
        run_free(&r);
    }
}

Test(tools, broker_list_where_kafka_3_takes_it)
{
    ct_create_topic(&broker, "bl", 1);
    const char *prod[] = { "strand-console-producer", "--broker-list", broker.bootstrap, "--topic",
                           "bl", NULL };
    run_t r = run(prod, "one\n");
    cr_expect_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
    const char *go[] = { "strand-get-offsets", "--broker-list", broker.bootstrap, "--topic", "bl", NULL };
    r = run(go, NULL);
    cr_expect_eq(r.rc, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "bl:0:1\n");
    run_free(&r);
    const char *cp[] = { "strand-consumer-perf-test", "--broker-list", broker.bootstrap, "--topic",
                         "bl", "--messages", "1", "--hide-header", NULL };
    r = run(cp, NULL);
    cr_expect_eq(r.rc, 0, "%s", r.err);
    run_free(&r);
}

/* A "broker" that accepts connections and never answers: --timeout-ms bounds the start-up too
 * (connection setup and the first requests), not only the wait for records. Without that the
 * consumer tools sat out socket.connection.setup.timeout.ms (10 s) per attempt; the tools are
 * killed here after 8 s. */
Test(tools, timeout_bounds_every_wait)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 16), 0);   /* the kernel completes connections; nobody reads */
    getsockname(fd, (struct sockaddr *)&a, &alen);
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(a.sin_port));
    const char *cons[] = { "strand-console-consumer", "--bootstrap-server", addr, "--topic", "x",
                           "--timeout-ms", "1000", NULL };
    run_t r = run_within(cons, NULL, 8000);
    cr_expect_eq(r.rc, 1, "rc %d (-1: still running after 8 s)", r.rc);
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    cr_expect(strstr(r.err, addr), "%s", r.err);
    run_free(&r);
    const char *perf[] = { "strand-consumer-perf-test", "--bootstrap-server", addr, "--topic", "x",
                           "--messages", "1", "--timeout", "1000", NULL };
    r = run_within(perf, NULL, 8000);
    cr_expect_eq(r.rc, 1, "rc %d (-1: still running after 8 s)", r.rc);
    cr_expect(strstr(r.err, addr), "%s", r.err);
    run_free(&r);
    close(fd);
}
