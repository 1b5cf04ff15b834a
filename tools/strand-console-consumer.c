/* strand-console-consumer: prints records of a topic to stdout, with the flags and formatter
 * properties of Kafka's kafka-console-consumer.sh. With --group G (or group.id from
 * --consumer-property / --consumer.config) it subscribes to the topic as a member of group G:
 * the group shares the partitions out, each starts at the group's committed offset, and offsets
 * are committed as it goes and on exit (enable.auto.commit). Without a group, or with
 * --partition, it assigns the partitions itself (all of them, or the one given). Prints
 * "Processed a total of N messages" on stderr at the end.
 *
 * Where it starts, as in Kafka's ConsoleConsumer: with --partition, at --offset (earliest,
 * latest or a number), else the beginning with --from-beginning, else the end. Without
 * --partition the partitions have no position (the group's committed offset, if any, first) and
 * auto.offset.reset decides: --from-beginning means earliest, --consumer-property
 * auto.offset.reset=earliest|latest|none may say so too (a conflicting pair is refused), latest
 * by default; none makes the consumer stop with "Undefined offset with no reset policy".
 * --timeout-ms bounds every wait, the start-up lookups included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: server to connect to>",
      "REQUIRED: The server(s) to connect to (host:port[,host:port]).", false, NULL, NULL, 0 },
    { "--topic", TOOL_VALUE, "<String: topic>", "REQUIRED: The topic to consume on.", false, NULL, NULL, 0 },
    { "--from-beginning", TOOL_FLAG, NULL,
      "Start with the earliest message present in the log rather than the latest.", false, NULL, NULL, 0 },
    { "--partition", TOOL_VALUE, "<Integer: partition>",
      "The partition to consume from (default: all partitions).", false, NULL, NULL, 0 },
    { "--offset", TOOL_VALUE, "<String: consume offset>",
      "The offset to consume from (a non-negative number, 'earliest' or 'latest'; needs --partition).",
      false, NULL, NULL, 0 },
    { "--max-messages", TOOL_VALUE, "<Integer: num_messages>",
      "The maximum number of messages to consume before exiting (-1, the default: no limit).",
      false, NULL, NULL, 0 },
    { "--timeout-ms", TOOL_VALUE, "<Integer: timeout_ms>",
      "Exit if no message is available for consumption for this long.", false, NULL, NULL, 0 },
    { "--property", TOOL_MULTI, "<String: prop>",
      "Formatter properties: print.timestamp, print.key, print.offset, print.partition, "
      "print.headers, print.value, key.separator, line.separator, headers.separator, "
      "headers.key.separator, null.literal.", false, NULL, NULL, 0 },
    { "--consumer-property", TOOL_MULTI, "<String: consumer_prop>",
      "A consumer property k=v (any key of the client library, repeatable).", false, NULL, NULL, 0 },
    { "--consumer.config", TOOL_VALUE, "<String: config file>", "Consumer config properties file.",
      false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: config file>",
      "Client config properties file (security.protocol, ssl.*, ...); same as --consumer.config.",
      false, NULL, NULL, 0 },
    { "--group", TOOL_VALUE, "<String: consumer group id>",
      "The consumer group id of the consumer (it subscribes to the topic as a member).",
      false, NULL, NULL, 0 },
    TOOL_OPT_END
};

typedef struct fmt {
    bool ts, key, offset, partition, headers, value;
    const char *key_sep, *line_sep, *hdr_sep, *hdr_key_sep, *null_lit;
} fmt_t;

static void put(const void *data, size_t len, const char *null_lit)
{
    if (data)
        fwrite(data, 1, len, stdout);
    else
        fputs(null_lit, stdout);
}

static void print_record(const fmt_t *f, const strand_message_t *m)
{
    bool more;
    if (f->ts) {
        printf("%s:%lld", m->timestamp_type ? "LogAppendTime" : "CreateTime", (long long)m->timestamp);
        more = f->partition || f->offset || f->headers || f->key || f->value;
        if (more)
            fputs(f->key_sep, stdout);
    }
    if (f->partition) {
        printf("Partition:%d", m->partition);
        if (f->offset || f->headers || f->key || f->value)
            fputs(f->key_sep, stdout);
    }
    if (f->offset) {
        printf("Offset:%lld", (long long)m->offset);
        if (f->headers || f->key || f->value)
            fputs(f->key_sep, stdout);
    }
    if (f->headers) {
        size_t pos = 0;
        strand_header_t h;
        int n = 0;
        while (strand_message_header(m, &pos, &h) == 1) {
            if (n++)
                fputs(f->hdr_sep, stdout);
            fwrite(h.key, 1, h.key_len, stdout);
            fputs(f->hdr_key_sep, stdout);
            put(h.value, h.value_len, f->null_lit);
        }
        if (!n)
            fputs("NO_HEADERS", stdout);
        if (f->key || f->value)
            fputs(f->key_sep, stdout);
    }
    if (f->key) {
        put(m->key, m->key_len, f->null_lit);
        if (f->value)
            fputs(f->key_sep, stdout);
    }
    if (f->value)
        put(m->value, m->value_len, f->null_lit);
    fputs(f->line_sep, stdout);
}

/* Kafka's ConsoleConsumerOptions.setAutoOffsetReset: an auto.offset.reset given (in the config
 * file or --consumer-property) wins, but must not contradict --from-beginning; else
 * --from-beginning means earliest and the default is latest. Whether it was given is told by
 * building the same configuration again from a different starting value: a value the user set
 * survives both. */
static void set_offset_reset(strand_conf_t *conf, const char *config_file, const tool_opt_t *cp,
                             bool from_beginning)
{
    char value[32] = "", probe_value[32] = "";
    strand_conf_get(conf, "auto.offset.reset", value, sizeof(value));
    strand_conf_t *probe = strand_conf_new();
    if (!probe)
        tool_die("out of memory");
    tool_conf_set(probe, "auto.offset.reset", strcmp(value, "earliest") ? "earliest" : "latest",
                  "--consumer-property");
    char err[1024];
    if (config_file && strand_conf_load_file(probe, config_file, err, sizeof(err)) != 0)
        tool_die("%s", err);
    for (size_t i = 0; i < cp->n_values; i++)
        if (strand_conf_set_kv(probe, cp->values[i], err, sizeof(err)) != 0)
            tool_die("--consumer-property: %s", err);
    strand_conf_get(probe, "auto.offset.reset", probe_value, sizeof(probe_value));
    strand_conf_destroy(probe);
    bool given = strcmp(value, probe_value) == 0;
    if (given && from_beginning && strcmp(value, "earliest") != 0)
        tool_usage_die("Can't simultaneously specify --from-beginning and 'auto.offset.reset=%s', "
                       "please remove one option", value);
    if (!given)
        tool_conf_set(conf, "auto.offset.reset", from_beginning ? "earliest" : "latest",
                      "--from-beginning");
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "Consume records from a Strand topic and print them to standard output.");
    tool_parse(opts, argc, argv);
    const char *bootstrap = tool_require(opts, "--bootstrap-server");
    const char *topic = tool_require(opts, "--topic");
    bool from_beginning = tool_opt(opts, "--from-beginning")->given;
    int32_t partition = -1;
    if (tool_opt(opts, "--partition")->given)
        partition = (int32_t)tool_int("--partition", tool_opt(opts, "--partition")->value, 0, INT32_MAX);
    /* Without --partition: no position, auto.offset.reset decides (see the top). */
    int64_t start = partition < 0 ? STRAND_OFFSET_INVALID
                    : from_beginning ? STRAND_OFFSET_BEGINNING : STRAND_OFFSET_END;
    if (tool_opt(opts, "--offset")->given) {
        const char *o = tool_opt(opts, "--offset")->value;
        if (partition < 0)
            tool_usage_die("The partition is required when offset is specified.");
        if (from_beginning)
            tool_usage_die("Options from-beginning and offset cannot be specified together.");
        if (strcmp(o, "earliest") == 0)
            start = STRAND_OFFSET_BEGINNING;
        else if (strcmp(o, "latest") == 0)
            start = STRAND_OFFSET_END;
        else
            start = tool_int("--offset", o, 0, INT64_MAX);
    }
    int64_t max_messages = -1, timeout_ms = -1;
    if (tool_opt(opts, "--max-messages")->given)
        max_messages = tool_int("--max-messages", tool_opt(opts, "--max-messages")->value, -1, INT64_MAX);
    if (tool_opt(opts, "--timeout-ms")->given)
        timeout_ms = tool_int("--timeout-ms", tool_opt(opts, "--timeout-ms")->value, 0, INT32_MAX);

    tool_opt_t *propopt = tool_opt(opts, "--property");
    tool_props_t props = { propopt->values, propopt->n_values };
    tool_props_check(&props, "print.timestamp,print.key,print.offset,print.partition,print.headers,"
                             "print.value,key.separator,line.separator,headers.separator,"
                             "headers.key.separator,null.literal");
    fmt_t f = {
        .ts = tool_prop_bool(&props, "print.timestamp", false),
        .key = tool_prop_bool(&props, "print.key", false),
        .offset = tool_prop_bool(&props, "print.offset", false),
        .partition = tool_prop_bool(&props, "print.partition", false),
        .headers = tool_prop_bool(&props, "print.headers", false),
        .value = tool_prop_bool(&props, "print.value", true),
        .key_sep = tool_prop(&props, "key.separator", "\t"),
        .line_sep = tool_prop(&props, "line.separator", "\n"),
        .hdr_sep = tool_prop(&props, "headers.separator", ","),
        .hdr_key_sep = tool_prop(&props, "headers.key.separator", ":"),
        .null_lit = tool_prop(&props, "null.literal", "null"),
    };

    tool_opt_t *cp = tool_opt(opts, "--consumer-property");
    const char *config_file = tool_config_file(opts, "--consumer.config");
    strand_conf_t *conf = tool_conf(bootstrap, config_file, "--consumer-property", cp->values,
                                    cp->n_values);
    set_offset_reset(conf, config_file, cp, from_beginning);
    /* Kafka's ConsoleConsumer: --group and a group.id from the properties must agree. */
    char group[256];
    strand_conf_get(conf, "group.id", group, sizeof(group));
    const char *group_flag = tool_opt(opts, "--group")->value;
    if (group_flag && group[0] && strcmp(group, group_flag) != 0)
        tool_usage_die("The group ids provided in different places (directly using '--group', via "
                       "'--consumer-property', or via '--consumer.config') do not match. Detected "
                       "group ids: '%s', '%s'", group_flag, group);
    if (group_flag)
        tool_conf_set(conf, "group.id", group_flag, "--group");
    bool subscribe = (group_flag || group[0]) && partition < 0;
    tool_bound_waits(conf, timeout_ms, "--timeout-ms");
    char err[1024];
    strand_consumer_t *consumer = strand_consumer_new(conf, err, sizeof(err));
    if (!consumer)
        tool_die("%s", err);
    strand_conf_destroy(conf);
    int32_t count = 0;
    int e = strand_consumer_partition_count(consumer, topic, timeout_ms >= 0 ? (int)timeout_ms : -1,
                                            &count);
    if (e)
        tool_die("%s", strand_last_errstr());
    if (subscribe) {
        const char *topics[] = { topic };
        e = strand_consumer_subscribe(consumer, topics, 1);
        if (e)
            tool_die("cannot subscribe to '%s': %s", topic, strand_err_desc(e));
    } else if (partition >= count)
        tool_die("--partition %d: topic '%s' has %d partition(s)", partition, topic, count);
    size_t n = subscribe ? 0 : partition >= 0 ? 1 : (size_t)count;
    if (n) {
        strand_topic_partition_t *tps = calloc(n, sizeof(*tps));
        if (!tps)
            tool_die("out of memory");
        for (size_t i = 0; i < n; i++)
            tps[i] = (strand_topic_partition_t){ topic, partition >= 0 ? partition : (int32_t)i,
                                                 start, 0 };
        e = strand_consumer_assign(consumer, tps, n);
        if (e)
            tool_die("cannot assign partitions of '%s': %s", topic, strand_last_errstr());
        free(tps);
    }

    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    volatile int *stop = tool_stop_flag();
    int64_t total = 0;
    int64_t last = tool_now_ms();
    int rc = 0;
    while (!*stop && (max_messages < 0 || total < max_messages)) {
        int wait = 200;
        if (timeout_ms >= 0 && timeout_ms < wait)
            wait = (int)timeout_ms;
        const strand_message_t *msgs;
        size_t got = 0;
        e = strand_consumer_poll(consumer, wait, &msgs, &got);
        if (e) {
            /* A fatal group error (FENCED_INSTANCE_ID, ...): the consumer cannot go on. */
            fflush(stdout);
            strand_consumer_fatal_error(consumer, err, sizeof(err));
            tool_warn("%s: %s", strand_err_name(e), err[0] ? err : strand_err_desc(e));
            rc = 1;
            break;
        }
        for (size_t i = 0; i < got && (max_messages < 0 || total < max_messages); i++) {
            if (msgs[i].error) {
                fflush(stdout);
                tool_warn("error consuming %s-%d: %s", msgs[i].topic, msgs[i].partition, msgs[i].errstr);
                rc = 1;
                *stop = 1;
                break;
            }
            print_record(&f, &msgs[i]);
            total++;
        }
        if (got) {
            last = tool_now_ms();
            fflush(stdout);
        } else if (timeout_ms >= 0 && tool_now_ms() - last >= timeout_ms) {
            break;
        }
    }
    fflush(stdout);
    strand_consumer_destroy(consumer);
    fprintf(stderr, "Processed a total of %lld messages\n", (long long)total);
    return rc;
}
