/* strand-topics: create, list, describe and delete topics, with the flags and output layout of
 * Kafka's kafka-topics.sh, including the describe filters (--under-replicated-partitions,
 * --unavailable-partitions, --under-min-isr-partitions, --at-min-isr-partitions: with one, only
 * the matching partition lines print, no topic line).
 *
 * min.insync.replicas for the min-ISR filters comes from the Metadata response's hint (Strand
 * has no DescribeConfigs yet): exact in single-broker mode; in cluster mode it is the answering
 * broker's default min.insync.replicas, so a topic-level override is not seen there. A broker
 * that reports none (older broker) counts as 1, Kafka's default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"

/* Kafka prints the all-zero Uuid when a topic has no id; Strand's protocol carries none yet. */
#define ZERO_TOPIC_ID "AAAAAAAAAAAAAAAAAAAAAA"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: server to connect to>",
      "REQUIRED: The Strand server to connect to (host:port[,host:port]).", false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: command config property file>",
      "Property file containing configs to be passed to the admin client.", false, NULL, NULL, 0 },
    { "--create", TOOL_FLAG, NULL, "Create a new topic.", false, NULL, NULL, 0 },
    { "--list", TOOL_FLAG, NULL, "List all available topics.", false, NULL, NULL, 0 },
    { "--describe", TOOL_FLAG, NULL, "List details for the given topics.", false, NULL, NULL, 0 },
    { "--delete", TOOL_FLAG, NULL, "Delete a topic.", false, NULL, NULL, 0 },
    { "--topic", TOOL_VALUE, "<String: topic>", "The topic to create, describe or delete.",
      false, NULL, NULL, 0 },
    { "--partitions", TOOL_VALUE, "<Integer: # of partitions>",
      "The number of partitions for the topic being created (default: the broker's num.partitions).",
      false, NULL, NULL, 0 },
    { "--replication-factor", TOOL_VALUE, "<Integer: replication factor>",
      "The replication factor for each partition (default: the broker's default.replication.factor).",
      false, NULL, NULL, 0 },
    { "--config", TOOL_MULTI, "<String: name=value>",
      "A topic configuration override for the topic being created (repeatable).", false, NULL, NULL, 0 },
    { "--if-not-exists", TOOL_FLAG, NULL, "With --create: do nothing if the topic already exists.",
      false, NULL, NULL, 0 },
    { "--if-exists", TOOL_FLAG, NULL, "With --delete or --describe: do nothing if the topic does not exist.",
      false, NULL, NULL, 0 },
    { "--exclude-internal", TOOL_FLAG, NULL, "Exclude internal topics from --list and --describe.",
      false, NULL, NULL, 0 },
    { "--under-replicated-partitions", TOOL_FLAG, NULL,
      "With --describe: only partitions whose ISR is smaller than the replica list.", false, NULL, NULL, 0 },
    { "--unavailable-partitions", TOOL_FLAG, NULL,
      "With --describe: only partitions without a leader or whose leader is not a live broker.",
      false, NULL, NULL, 0 },
    { "--under-min-isr-partitions", TOOL_FLAG, NULL,
      "With --describe: only partitions without a leader or whose ISR is smaller than min.insync.replicas.",
      false, NULL, NULL, 0 },
    { "--at-min-isr-partitions", TOOL_FLAG, NULL,
      "With --describe: only partitions whose ISR size equals min.insync.replicas.", false, NULL, NULL, 0 },
    TOOL_OPT_END
};

static void print_ids(const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", ids[i]);
}

typedef enum describe_filter {
    FILTER_NONE,
    FILTER_UNDER_REPLICATED,
    FILTER_UNAVAILABLE,
    FILTER_UNDER_MIN_ISR,
    FILTER_AT_MIN_ISR,
} describe_filter_t;

static bool is_live(int32_t id, const strand_broker_info_t *brokers, size_t n_brokers)
{
    for (size_t i = 0; i < n_brokers; i++)
        if (brokers[i].node_id == id)
            return true;
    return false;
}

/* Kafka's TopicCommand rules (kafka@2.8.0, PartitionDescription). */
static bool partition_matches(describe_filter_t filter, const strand_topic_info_t *t,
                              const strand_partition_info_t *p, const strand_broker_info_t *brokers,
                              size_t n_brokers)
{
    bool has_leader = p->leader >= 0 && is_live(p->leader, brokers, n_brokers);
    int32_t min_isr = t->min_insync_replicas > 0 ? t->min_insync_replicas : 1;
    switch (filter) {
    case FILTER_NONE:
        return true;
    case FILTER_UNDER_REPLICATED:
        return p->isr_count < p->replica_count;
    case FILTER_UNAVAILABLE:
        return !has_leader;
    case FILTER_UNDER_MIN_ISR:
        return !has_leader || (int64_t)p->isr_count < min_isr;
    case FILTER_AT_MIN_ISR:
        return (int64_t)p->isr_count == min_isr;
    }
    return true;
}

static int describe(strand_admin_t *admin, const char *topic, bool if_exists, bool exclude_internal,
                    describe_filter_t filter)
{
    strand_topic_info_t *infos = NULL;
    size_t n = 0;
    const char *names[1] = { topic };
    int err = strand_admin_describe_topics(admin, topic ? names : NULL, topic ? 1 : 0, -1, &infos, &n);
    if (err)
        tool_die("describe failed: %s", strand_err_desc(err));
    strand_broker_info_t *brokers = NULL;
    size_t n_brokers = 0;
    int32_t controller = -1;
    char *cluster_id = NULL;
    if (filter != FILTER_NONE) {
        err = strand_admin_describe_cluster(admin, -1, &brokers, &n_brokers, &controller,
                                            &cluster_id);
        if (err)
            tool_die("describe failed: %s", strand_err_desc(err));
        free(cluster_id);
    }
    for (size_t i = 0; i < n; i++) {
        const strand_topic_info_t *t = &infos[i];
        if (t->error == ST_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
            if (if_exists)
                continue;
            char name[256];
            snprintf(name, sizeof(name), "%s", t->name);
            strand_topic_infos_free(infos, n);
            tool_die("Topic '%s' does not exist as expected", name);
        }
        if (t->is_internal && exclude_internal)
            continue;
        if (filter == FILTER_NONE) {
            size_t rf = t->partition_count ? t->partitions[0].replica_count : 0;
            printf("Topic: %s\tTopicId: %s\tPartitionCount: %zu\tReplicationFactor: %zu\tConfigs: %s\n",
                   t->name, ZERO_TOPIC_ID, t->partition_count, rf, "");
            if (t->error)
                printf("\tTopic: %s\tError: %s\n", t->name, strand_err_name(t->error));
        }
        for (size_t k = 0; k < t->partition_count; k++) {
            const strand_partition_info_t *p = &t->partitions[k];
            if (!partition_matches(filter, t, p, brokers, n_brokers))
                continue;
            printf("\tTopic: %s\tPartition: %d\tLeader: ", t->name, p->partition);
            if (p->leader >= 0)
                printf("%d", p->leader);
            else
                printf("none");
            printf("\tReplicas: ");
            print_ids(p->replicas, p->replica_count);
            printf("\tIsr: ");
            print_ids(p->isr, p->isr_count);
            printf("\n");
        }
    }
    strand_broker_infos_free(brokers, n_brokers);
    strand_topic_infos_free(infos, n);
    return 0;
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "Create, delete, describe or list topics.");
    tool_parse(opts, argc, argv);
    const char *bootstrap = tool_require(opts, "--bootstrap-server");
    int actions = tool_opt(opts, "--create")->given + tool_opt(opts, "--list")->given +
                  tool_opt(opts, "--describe")->given + tool_opt(opts, "--delete")->given;
    if (actions != 1)
        tool_die("exactly one of --create, --list, --describe or --delete must be given");
    const char *topic = tool_opt(opts, "--topic")->value;
    bool creating = tool_opt(opts, "--create")->given;
    bool deleting = tool_opt(opts, "--delete")->given;
    if ((creating || deleting) && !topic)
        tool_die("missing required option --topic (see --help)");
    if (!creating && (tool_opt(opts, "--partitions")->given ||
                      tool_opt(opts, "--replication-factor")->given || tool_opt(opts, "--config")->given))
        tool_die("--partitions, --replication-factor and --config go with --create");
    describe_filter_t filter = FILTER_NONE;
    int n_filters = 0;
    static const struct { const char *flag; describe_filter_t filter; } filters[] = {
        { "--under-replicated-partitions", FILTER_UNDER_REPLICATED },
        { "--unavailable-partitions", FILTER_UNAVAILABLE },
        { "--under-min-isr-partitions", FILTER_UNDER_MIN_ISR },
        { "--at-min-isr-partitions", FILTER_AT_MIN_ISR },
    };
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        if (tool_opt(opts, filters[i].flag)->given) {
            filter = filters[i].filter;
            n_filters++;
        }
    }
    if (n_filters > 1)
        tool_die("only one of --under-replicated-partitions, --unavailable-partitions, "
                 "--under-min-isr-partitions and --at-min-isr-partitions may be given");
    if (n_filters && !tool_opt(opts, "--describe")->given)
        tool_die("--under-replicated-partitions, --unavailable-partitions, "
                 "--under-min-isr-partitions and --at-min-isr-partitions go with --describe");
    int32_t partitions = -1, rf = -1;
    if (tool_opt(opts, "--partitions")->given)
        partitions = (int32_t)tool_int("--partitions", tool_opt(opts, "--partitions")->value, 1, INT32_MAX);
    if (tool_opt(opts, "--replication-factor")->given)
        rf = (int32_t)tool_int("--replication-factor", tool_opt(opts, "--replication-factor")->value,
                               1, INT16_MAX);
    tool_opt_t *cfg = tool_opt(opts, "--config");
    const char **keys = calloc(cfg->n_values + 1, sizeof(*keys));
    const char **values = calloc(cfg->n_values + 1, sizeof(*values));
    for (size_t i = 0; i < cfg->n_values; i++) {
        char *kv = strdup(cfg->values[i]);
        char *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq || eq == kv)
            tool_die("--config '%s': expected name=value", cfg->values[i]);
        *eq = '\0';
        keys[i] = kv;
        values[i] = eq + 1;
    }

    strand_conf_t *conf = tool_conf(bootstrap, tool_opt(opts, "--command-config")->value, NULL, NULL, 0);
    char err[1024];
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    if (!admin)
        tool_die("%s", err);
    strand_conf_destroy(conf);
    int rc = 0;
    if (creating) {
        strand_new_topic_t nt = { topic, partitions, rf, keys, values, cfg->n_values, NULL };
        int e = strand_admin_create_topic(admin, &nt, -1, err, sizeof(err));
        if (e == ST_ERR_TOPIC_ALREADY_EXISTS && tool_opt(opts, "--if-not-exists")->given)
            e = 0;
        else if (!e)
            printf("Created topic %s.\n", topic);
        if (e)
            tool_die("Error while executing topic command: %s", err);
    } else if (deleting) {
        int e = strand_admin_delete_topic(admin, topic, -1, err, sizeof(err));
        if (e == ST_ERR_UNKNOWN_TOPIC_OR_PARTITION && tool_opt(opts, "--if-exists")->given)
            e = 0;
        if (e)
            tool_die("Error while executing topic command: %s", err);
    } else if (tool_opt(opts, "--list")->given) {
        char **names = NULL;
        size_t n = 0;
        int e = strand_admin_list_topics(admin, !tool_opt(opts, "--exclude-internal")->given, -1,
                                         &names, &n);
        if (e)
            tool_die("list failed: %s", strand_err_desc(e));
        for (size_t i = 0; i < n; i++)
            if (!topic || strcmp(topic, names[i]) == 0)
                printf("%s\n", names[i]);
        strand_names_free(names, n);
    } else {
        rc = describe(admin, topic, tool_opt(opts, "--if-exists")->given,
                      tool_opt(opts, "--exclude-internal")->given, filter);
    }
    strand_admin_destroy(admin);
    for (size_t i = 0; i < cfg->n_values; i++)
        free((char *)keys[i]);
    free(keys);
    free(values);
    return rc;
}
