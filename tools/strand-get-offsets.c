/* strand-get-offsets: prints topic:partition:offset for partitions of topics at a time (-1
 * latest, -2 earliest, or a timestamp in ms), like Kafka's kafka-get-offsets.sh (GetOffsetShell).
 * --topic is a regular expression matched against whole topic names (Kafka's IncludeList,
 * tool_topic_filter); without it every topic is queried (internal ones too unless
 * --exclude-internal-topics). Nothing matching the filters is Kafka's "Could not match any
 * topic-partitions with the specified filters", exit 1. A partition whose offset cannot be
 * read is named on stderr and the exit code is 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: HOST1:PORT1,...>",
      "REQUIRED: The server(s) to connect to.", false, NULL, NULL, 0 },
    { "--broker-list", TOOL_VALUE, "<String: HOST1:PORT1,...>",
      "DEPRECATED, use --bootstrap-server instead.", false, NULL, NULL, 0 },
    { "--topic", TOOL_VALUE, "<String: topic>",
      "The topic to get the offsets for. It also accepts a regular expression. If not present, "
      "all topics are queried.", false, NULL, NULL, 0 },
    { "--partitions", TOOL_VALUE, "<String: partition ids>",
      "Comma-separated list of partition ids (default: all).", false, NULL, NULL, 0 },
    { "--time", TOOL_VALUE, "<String: timestamp/-1(latest)/-2(earliest)>",
      "Timestamp of the offsets before that: -1 or latest, -2 or earliest, or ms (default -1).",
      false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: config file>",
      "Property file containing configs to be passed to the consumer client.", false, NULL, NULL, 0 },
    { "--exclude-internal-topics", TOOL_FLAG, NULL, "Exclude internal topics when listing all topics.",
      false, NULL, NULL, 0 },
    TOOL_OPT_END
};

static int32_t *parse_partitions(const char *list, size_t *ret_n)
{
    size_t n = 0, cap = 8;
    int32_t *out = malloc(cap * sizeof(*out));
    char *copy = strdup(list), *save = NULL;
    if (!out || !copy)
        tool_die("out of memory");
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == cap && !(out = realloc(out, (cap *= 2) * sizeof(*out))))
            tool_die("out of memory");
        out[n++] = (int32_t)tool_int("--partitions", tok, 0, INT32_MAX);
    }
    free(copy);
    if (!n)
        tool_usage_die("--partitions: no partition ids given");
    *ret_n = n;
    return out;
}

static bool wanted_partition(const int32_t *only, size_t n_only, int32_t p)
{
    if (!only)
        return true;
    for (size_t k = 0; k < n_only; k++)
        if (only[k] == p)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "An interactive shell for getting topic-partition offsets.");
    tool_parse(opts, argc, argv);
    const char *bootstrap = tool_bootstrap(opts);
    int64_t when = STRAND_OFFSET_END;
    const char *t = tool_opt(opts, "--time")->value;
    if (t) {
        if (strcmp(t, "latest") == 0)
            when = -1;
        else if (strcmp(t, "earliest") == 0)
            when = -2;
        else
            when = tool_int("--time", t, -2, INT64_MAX);
    }
    size_t n_only = 0;
    int32_t *only = tool_opt(opts, "--partitions")->given
                        ? parse_partitions(tool_opt(opts, "--partitions")->value, &n_only) : NULL;
    tool_topic_filter_t *filter = tool_topic_filter_new(
        tool_opt(opts, "--topic")->given ? tool_opt(opts, "--topic")->value : ".*");

    strand_conf_t *conf = tool_conf(bootstrap, tool_opt(opts, "--command-config")->value, NULL, NULL, 0);
    char err[1024];
    char **topics = NULL;
    size_t n_topics = 0;
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    if (!admin)
        tool_die("%s", err);
    int e = strand_admin_list_topics(admin, !tool_opt(opts, "--exclude-internal-topics")->given,
                                     -1, &topics, &n_topics);
    if (e)
        tool_die("cannot list topics: %s", strand_err_desc(e));
    strand_admin_destroy(admin);
    size_t n_matched = 0;
    const char **matched = tool_topic_filter_apply(filter, topics, n_topics, &n_matched);
    tool_topic_filter_free(filter);

    strand_consumer_t *consumer = strand_consumer_new(conf, err, sizeof(err));
    if (!consumer)
        tool_die("%s", err);
    strand_conf_destroy(conf);
    /* Every partition the filters select, topic by topic. */
    size_t n = 0, cap = 16;
    strand_topic_partition_t *tps = malloc(cap * sizeof(*tps));
    if (!tps)
        tool_die("out of memory");
    for (size_t ti = 0; ti < n_matched; ti++) {
        int32_t count = tool_partition_count(consumer, matched[ti]);
        for (int32_t p = 0; p < count; p++) {
            if (!wanted_partition(only, n_only, p))
                continue;
            if (n == cap && !(tps = realloc(tps, (cap *= 2) * sizeof(*tps))))
                tool_die("out of memory");
            tps[n++] = (strand_topic_partition_t){ matched[ti], p, when, 0 };
        }
    }
    int rc = 0;
    if (n == 0) {   /* one line and exit 1, as tool_die, but through the cleanup below */
        tool_warn("Could not match any topic-partitions with the specified filters");
        rc = 1;
    } else {
        e = strand_consumer_list_offsets(consumer, tps, n, -1);
        if (e)
            tool_die("ListOffsets failed: %s", strand_err_desc(e));
        for (size_t i = 0; i < n; i++) {
            if (tps[i].error) {
                tool_warn("Skip getting offsets for topic-partition %s-%d due to error: %s: %s",
                          tps[i].topic, tps[i].partition, strand_err_name(tps[i].error),
                          strand_err_desc(tps[i].error));
                rc = 1;
            } else if (tps[i].offset >= 0) {
                printf("%s:%d:%lld\n", tps[i].topic, tps[i].partition,
                       (long long)tps[i].offset);
            }
        }
    }
    free(tps);
    strand_consumer_destroy(consumer);
    free(matched);
    strand_names_free(topics, n_topics);
    free(only);
    return rc;
}
