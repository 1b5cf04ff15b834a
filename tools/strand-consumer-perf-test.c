/* strand-consumer-perf-test: consumer throughput, with the flags and the summary columns of
 * Kafka's kafka-consumer-perf-test.sh (start.time, end.time, data.consumed.in.MB, MB.sec,
 * data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec,
 * fetch.nMsg.sec). With --group G the consumer subscribes as a member of group G (as Kafka's
 * tool always does): several perf tests with the same --group share the partitions, each reads
 * from its partitions' committed offsets (from the beginning, or the end with --from-latest,
 * where none is committed), and rebalance.time.ms is the time until the group assigned it its
 * partitions (Kafka's joinGroupTimeInMs), which fetch.time.ms leaves out. Without --group every
 * partition of the topic is assigned from the beginning (or the end). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool_common.h"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: server to connect to>",
      "REQUIRED: The server(s) to connect to.", false, NULL, NULL, 0 },
    { "--broker-list", TOOL_VALUE, "<String: broker-list>", "DEPRECATED, use --bootstrap-server.",
      false, NULL, NULL, 0 },
    { "--topic", TOOL_VALUE, "<String: topic>", "REQUIRED: The topic to consume from.", false, NULL, NULL, 0 },
    { "--messages", TOOL_VALUE, "<Long: count>", "REQUIRED: The number of messages to consume.",
      false, NULL, NULL, 0 },
    { "--timeout", TOOL_VALUE, "<Long: milliseconds>",
      "The maximum allowed time in milliseconds between returned records (default 10000).",
      false, NULL, NULL, 0 },
    { "--fetch-size", TOOL_VALUE, "<Integer: size>", "max.partition.fetch.bytes (default 1048576).",
      false, NULL, NULL, 0 },
    { "--from-latest", TOOL_FLAG, NULL, "Start from the latest offset instead of the earliest.",
      false, NULL, NULL, 0 },
    { "--group", TOOL_VALUE, "<String: gid>",
      "The group id to consume on (default: no group, every partition assigned).",
      false, NULL, NULL, 0 },
    { "--consumer.config", TOOL_VALUE, "<String: config file>", "Consumer config properties file.",
      false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: config file>",
      "Client config properties file (security.protocol, ssl.*, ...); same as --consumer.config.",
      false, NULL, NULL, 0 },
    { "--hide-header", TOOL_FLAG, NULL, "Skip printing the header for the stats.", false, NULL, NULL, 0 },
    { "--show-detailed-stats", TOOL_FLAG, NULL, "Report stats every --reporting-interval ms.",
      false, NULL, NULL, 0 },
    { "--reporting-interval", TOOL_VALUE, "<Integer: interval_ms>",
      "Interval in milliseconds at which to print progress info (default 5000).", false, NULL, NULL, 0 },
    TOOL_OPT_END
};

/* --group: the time the first assignment took (Kafka's onPartitionsAssigned joinTime). */
static int64_t join_start_ms, join_ms = -1;

static void on_rebalance(strand_consumer_t *c, strand_rebalance_event_t ev,
                         const strand_topic_partition_t *tps, size_t n, void *opaque)
{
    (void)c;
    (void)tps;
    (void)n;
    (void)opaque;
    if (ev == STRAND_REBALANCE_ASSIGNED && join_ms < 0)
        join_ms = tool_now_ms() - join_start_ms;
}

static void fmt_time(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + n, len - n, ":%03d", (int)(ms % 1000));
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "This tool is used to verify the consumer performance.");
    tool_parse(opts, argc, argv);
    const char *bootstrap = tool_bootstrap(opts);
    const char *topic = tool_require(opts, "--topic");
    const char *group = tool_opt(opts, "--group")->value;
    int64_t messages = tool_int("--messages", tool_require(opts, "--messages"), 1, INT64_MAX);
    int64_t timeout = 10000, interval = 5000;
    if (tool_opt(opts, "--timeout")->given)
        timeout = tool_int("--timeout", tool_opt(opts, "--timeout")->value, 1, INT32_MAX);
    if (tool_opt(opts, "--reporting-interval")->given)
        interval = tool_int("--reporting-interval", tool_opt(opts, "--reporting-interval")->value, 1, INT32_MAX);
    strand_conf_t *conf = tool_conf(bootstrap, tool_config_file(opts, "--consumer.config"), NULL, NULL, 0);
    if (tool_opt(opts, "--fetch-size")->given)
        tool_conf_set(conf, "max.partition.fetch.bytes", tool_opt(opts, "--fetch-size")->value, "--fetch-size");
    if (group) {
        tool_conf_set(conf, "group.id", group, "--group");
        tool_conf_set(conf, "auto.offset.reset",
                      tool_opt(opts, "--from-latest")->given ? "latest" : "earliest", "--group");
        strand_conf_set_rebalance_cb(conf, on_rebalance, NULL);
    }
    int64_t start_wall = tool_wall_ms();
    tool_bound_waits(conf, timeout, "--timeout");
    char err[1024];
    strand_consumer_t *consumer = strand_consumer_new(conf, err, sizeof(err));
    if (!consumer)
        tool_die("%s", err);
    strand_conf_destroy(conf);
    int32_t count = 0;
    /* --timeout bounds the wait for the topic's metadata too. */
    if (strand_consumer_partition_count(consumer, topic, (int)timeout, &count) != 0)
        tool_die("%s", strand_last_errstr());
    int e;
    if (group) {
        const char *topics[] = { topic };
        join_start_ms = tool_now_ms();
        if ((e = strand_consumer_subscribe(consumer, topics, 1)) != 0)
            tool_die("cannot subscribe to '%s': %s", topic, strand_err_desc(e));
    } else {
        strand_topic_partition_t *tps = calloc((size_t)count, sizeof(*tps));
        if (!tps)
            tool_die("out of memory");
        int64_t start_off = tool_opt(opts, "--from-latest")->given ? STRAND_OFFSET_END
                                                                   : STRAND_OFFSET_BEGINNING;
        for (int32_t i = 0; i < count; i++)
            tps[i] = (strand_topic_partition_t){ topic, i, start_off, 0 };
        e = strand_consumer_assign(consumer, tps, (size_t)count);
        if (e)
            tool_die("cannot assign partitions of '%s': %s", topic, strand_last_errstr());
        free(tps);
    }

    bool detailed = tool_opt(opts, "--show-detailed-stats")->given;
    if (!tool_opt(opts, "--hide-header")->given) {
        if (detailed)
            printf("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                   "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
        else
            printf("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                   "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
    }
    volatile int *stop = tool_stop_flag();
    int64_t n = 0, bytes = 0;
    int64_t fetch_start = tool_now_ms(), last_record = fetch_start, last_report = fetch_start;
    int64_t report_n = 0, report_bytes = 0;
    int rc = 0;
    while (n < messages && !*stop) {
        const strand_message_t *msgs;
        size_t got = 0;
        e = strand_consumer_poll(consumer, 100, &msgs, &got);
        if (e) {
            char why[512];
            strand_consumer_fatal_error(consumer, why, sizeof(why));
            tool_warn("%s: %s", strand_err_name(e), why[0] ? why : strand_err_desc(e));
            rc = 1;
            break;
        }
        int64_t now = tool_now_ms();
        if (group && join_ms < 0) {
            /* Not assigned yet: the fetch time starts with the assignment (the --timeout runs
             * from the start, as in Kafka's tool). */
            fetch_start = last_report = now;
            if (now - last_record > timeout) {
                fprintf(stderr, "WARNING: Exiting before consuming the expected number of "
                        "messages: timeout (%lld ms) exceeded while joining group %s. You can use "
                        "the --timeout option to increase the timeout.\n", (long long)timeout,
                        group);
                break;
            }
            continue;
        }
        for (size_t i = 0; i < got && n < messages; i++) {
            if (msgs[i].error) {
                tool_warn("error consuming %s-%d: %s", msgs[i].topic, msgs[i].partition, msgs[i].errstr);
                rc = 1;
                *stop = 1;
                break;
            }
            n++;
            bytes += (int64_t)msgs[i].value_len + (int64_t)msgs[i].key_len;
        }
        if (got)
            last_record = now;
        else if (now - last_record > timeout) {
            fprintf(stderr, "WARNING: Exiting before consuming the expected number of messages: "
                    "timeout (%lld ms) exceeded. You can use the --timeout option to increase the timeout.\n",
                    (long long)timeout);
            break;
        }
        if (detailed && now - last_report >= interval) {
            char tbuf[64];
            fmt_time(tool_wall_ms(), tbuf, sizeof(tbuf));
            double secs = (double)(now - last_report) / 1000.0;
            double mb = (double)(bytes - report_bytes) / (1024.0 * 1024.0);
            printf("%s, %d, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n", tbuf, 0,
                   (double)bytes / (1024.0 * 1024.0), mb / secs, (long long)n,
                   (double)(n - report_n) / secs, (long long)(join_ms < 0 ? 0 : join_ms),
                   (long long)(now - last_report), mb / secs, (double)(n - report_n) / secs);
            fflush(stdout);
            last_report = now;
            report_n = n;
            report_bytes = bytes;
        }
    }
    int64_t end_wall = tool_wall_ms();
    int64_t fetch_ms = tool_now_ms() - fetch_start;
    int64_t rebalance_ms = join_ms < 0 ? 0 : join_ms;
    strand_consumer_destroy(consumer);
    double total_s = (double)(end_wall - start_wall) / 1000.0;
    double fetch_s = (double)fetch_ms / 1000.0;
    if (total_s <= 0)
        total_s = 0.001;
    if (fetch_s <= 0)
        fetch_s = 0.001;
    double mb = (double)bytes / (1024.0 * 1024.0);
    if (!detailed) {
        char sbuf[64], ebuf[64];
        fmt_time(start_wall, sbuf, sizeof(sbuf));
        fmt_time(end_wall, ebuf, sizeof(ebuf));
        printf("%s, %s, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n", sbuf, ebuf, mb,
               mb / total_s, (long long)n, (double)n / total_s, (long long)rebalance_ms,
               (long long)fetch_ms, mb / fetch_s, (double)n / fetch_s);
    }
    return rc;
}
