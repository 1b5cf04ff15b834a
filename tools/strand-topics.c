/* strand-topics: create, list, describe, alter (add partitions) and delete topics, with the
 * flags and output layout of Kafka's kafka-topics.sh, through a broker (--bootstrap-server,
 * the admin client) or straight through ZooKeeper (--zookeeper, as Kafka 2.x did: the same
 * znode writes the brokers make, controller/st_topic_admin.h). Includes the describe filters (--under-replicated-partitions,
 * --unavailable-partitions, --under-min-isr-partitions, --at-min-isr-partitions: with one, only
 * the matching partition lines print, no topic line).
 *
 * --topic is a regular expression for --list, --describe, --delete and --alter, as in Kafka's
 * TopicCommand (tool_topic_filter: matched against whole names); one that matches no topic is
 * "Topic 'x' does not exist as expected" and exit 1, unless --if-exists (then nothing happens,
 * exit 0); --list just prints the names that match (none: nothing), as Kafka does. --create
 * takes the name as it is.
 *
 * Topic configs: `Configs:` lists, with --zookeeper, the overrides in /config/topics/<t>; with
 * --bootstrap-server every value DescribeConfigs does not report as DEFAULT_CONFIG (Kafka's
 * !isDefault: overrides and the broker's non-default settings). --topics-with-overrides
 * prints only the topic lines of topics with some. --alter --config k=v / --delete-config k
 * change overrides through ZooKeeper (Kafka 2.x's --zookeeper mode); with --bootstrap-server
 * Kafka refuses them and points to kafka-configs (here strand-configs).
 *
 * min.insync.replicas for the min-ISR filters comes from DescribeConfigs with
 * --bootstrap-server (the topic's override or the broker default), from the override with
 * --zookeeper; none counts as 1, Kafka's default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_assign.h"
#include "tool_common.h"
#include "tool_zk.h"

/* Kafka prints the all-zero Uuid when a topic has no id; Strand's protocol carries none yet. */
#define ZERO_TOPIC_ID "AAAAAAAAAAAAAAAAAAAAAA"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: server to connect to>",
      "The Strand server to connect to (host:port[,host:port]); this or --zookeeper is required.",
      false, NULL, NULL, 0 },
    { "--zookeeper", TOOL_VALUE, "<String: hosts>",
      "The ZooKeeper connection string (host:port[,host:port][/chroot]): act on ZooKeeper directly.",
      false, NULL, NULL, 0 },
    { "--alter", TOOL_FLAG, NULL, "Alter the number of partitions of a topic (with --partitions).",
      false, NULL, NULL, 0 },
    { "--replica-assignment", TOOL_VALUE, "<String: broker_id_for_part1_replica1:broker_id_for_part1_replica2,...>",
      "A list of manual partition-to-broker assignments for the topic being created or altered.",
      false, NULL, NULL, 0 },
    { "--disable-rack-aware", TOOL_FLAG, NULL, "Disable rack aware replica assignment (--zookeeper).",
      false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: command config property file>",
      "Property file containing configs to be passed to the admin client.", false, NULL, NULL, 0 },
    { "--create", TOOL_FLAG, NULL, "Create a new topic.", false, NULL, NULL, 0 },
    { "--list", TOOL_FLAG, NULL, "List all available topics.", false, NULL, NULL, 0 },
    { "--describe", TOOL_FLAG, NULL, "List details for the given topics.", false, NULL, NULL, 0 },
    { "--delete", TOOL_FLAG, NULL, "Delete a topic.", false, NULL, NULL, 0 },
    { "--topic", TOOL_VALUE, "<String: topic>",
      "The topic to create, alter, describe or delete. Except with --create it is a regular "
      "expression matched against whole topic names (',' separates alternatives).",
      false, NULL, NULL, 0 },
    { "--partitions", TOOL_VALUE, "<Integer: # of partitions>",
      "The number of partitions for the topic being created (default: the broker's num.partitions).",
      false, NULL, NULL, 0 },
    { "--replication-factor", TOOL_VALUE, "<Integer: replication factor>",
      "The replication factor for each partition (default: the broker's default.replication.factor).",
      false, NULL, NULL, 0 },
    { "--config", TOOL_MULTI, "<String: name=value>",
      "A topic configuration override for the topic being created or altered (repeatable; "
      "altering: --zookeeper only, else use strand-configs).", false, NULL, NULL, 0 },
    { "--delete-config", TOOL_MULTI, "<String: name>",
      "A topic configuration override to be removed for an existing topic (repeatable; "
      "--zookeeper only).", false, NULL, NULL, 0 },
    { "--topics-with-overrides", TOOL_FLAG, NULL,
      "With --describe: only the topic lines of topics that have overridden configs.", false,
      NULL, NULL, 0 },
    { "--if-not-exists", TOOL_FLAG, NULL, "With --create: do nothing if the topic already exists.",
      false, NULL, NULL, 0 },
    { "--if-exists", TOOL_FLAG, NULL,
      "With --alter, --delete or --describe: do nothing if no topic matches --topic.",
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

/* One of the two ways to reach the cluster. */
typedef struct backend {
    strand_admin_t *admin;     /* --bootstrap-server */
    st_zk_t *zk;               /* --zookeeper */
} backend_t;

/* Every topic name (sorted), internal ones too unless exclude_internal. */
static char **all_topics(const backend_t *be, bool exclude_internal, size_t *ret_n)
{
    char **names = NULL;
    size_t n = 0;
    if (be->zk) {
        char err[1024];
        if (st_topic_admin_list(be->zk, &names, &n, err, sizeof(err)) != ST_ERR_NONE)
            tool_die("%s", err);
    } else {
        int e = strand_admin_list_topics(be->admin, !exclude_internal, -1, &names, &n);
        if (e)
            tool_die("Error while executing topic command : cannot list topics: %s",
                     strand_err_desc(e));
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (exclude_internal && tool_topic_is_internal(names[i]))
            free(names[i]);
        else
            names[k++] = names[i];
    }
    *ret_n = k;
    return names;
}

/* The topics --topic selects (Kafka's TopicCommand.getTopics + ensureTopicExists): NULL with
 * *ret_n 0 and nothing matched is "Topic 'x' does not exist as expected" (exit 1) unless
 * if_exists. *ret_all holds the names the result points into (strand_names_free). */
static const char **select_topics(const backend_t *be, const char *pattern, bool exclude_internal,
                                  bool if_exists, char ***ret_all, size_t *ret_all_n,
                                  size_t *ret_n)
{
    tool_topic_filter_t *filter = tool_topic_filter_new(pattern);
    *ret_all = all_topics(be, exclude_internal, ret_all_n);
    const char **matched = tool_topic_filter_apply(filter, *ret_all, *ret_all_n, ret_n);
    tool_topic_filter_free(filter);
    if (*ret_n == 0 && !if_exists && *pattern)
        tool_die("Error while executing topic command : Topic '%s' does not exist as expected",
                 pattern);
    return matched;
}

/* With --bootstrap-server: the topic's values that are not Kafka's defaults, "k=v,k=v" (Kafka's
 * !isDefault), and its min.insync.replicas. "" when the broker cannot describe it. */
static char *bootstrap_configs(strand_admin_t *admin, const char *topic, int32_t *ret_min_isr)
{
    strand_config_entry_t *entries = NULL;
    size_t n = 0;
    char err[1024];
    int e = strand_admin_describe_configs(admin, STRAND_RESOURCE_TOPIC, topic, NULL, 0, false,
                                          false, -1, &entries, &n, err, sizeof(err));
    if (e) {
        if (e != ST_ERR_UNKNOWN_TOPIC_OR_PARTITION)
            tool_warn("cannot describe the configs of topic %s: %s", topic, err);
        return strdup("");
    }
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(entries[i].name) + (entries[i].value ? strlen(entries[i].value) : 4) + 2;
    char *out = calloc(1, len);
    for (size_t i = 0; out && i < n; i++) {
        if (strcmp(entries[i].name, "min.insync.replicas") == 0 && entries[i].value)
            *ret_min_isr = (int32_t)strtol(entries[i].value, NULL, 10);
        if (entries[i].source == STRAND_CONFIG_SOURCE_DEFAULT)
            continue;
        snprintf(out + strlen(out), len - strlen(out), "%s%s=%s", *out ? "," : "",
                 entries[i].name, entries[i].value ? entries[i].value : "null");
    }
    strand_config_entries_free(entries, n);
    return out;
}

static int describe(const backend_t *be, const char *const *names, size_t n_names,
                    bool exclude_internal, describe_filter_t filter, bool with_overrides)
{
    strand_topic_info_t *infos = NULL;
    tool_zk_extra_t *extra = NULL;
    size_t n = 0;
    strand_broker_info_t *brokers = NULL;
    size_t n_brokers = 0;
    if (be->zk) {
        tool_zk_describe(be->zk, names, n_names, &infos, &n, &extra);
        if (filter != FILTER_NONE)
            tool_zk_brokers(be->zk, &brokers, &n_brokers);
    } else {
        int err = strand_admin_describe_topics(be->admin, names, n_names, -1, &infos, &n);
        if (err)
            tool_die("describe failed: %s", strand_err_desc(err));
        if (filter != FILTER_NONE) {
            int32_t controller = -1;
            char *cluster_id = NULL;
            err = strand_admin_describe_cluster(be->admin, -1, &brokers, &n_brokers, &controller,
                                                &cluster_id);
            if (err)
                tool_die("describe failed: %s", strand_err_desc(err));
            free(cluster_id);
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const strand_topic_info_t *t = &infos[i];
        if (t->error == ST_ERR_UNKNOWN_TOPIC_OR_PARTITION && n_names)
            continue;   /* deleted since it was listed */
        if (t->is_internal && exclude_internal)
            continue;
        if (t->error && t->partition_count == 0) {
            /* Nothing to show (a topic still being created, an unreadable znode): an error,
             * said on stderr, and the exit code says so (never an error row with exit 0). */
            fflush(stdout);
            fprintf(stderr, "%s: Error while executing topic command : topic '%s': %s: %s\n",
                    tool_name(), t->name, strand_err_name(t->error), strand_err_desc(t->error));
            rc = 1;
            continue;
        }
        char *configs = NULL;
        if (!extra && (filter == FILTER_NONE || filter == FILTER_UNDER_MIN_ISR ||
                       filter == FILTER_AT_MIN_ISR || with_overrides))
            configs = bootstrap_configs(be->admin, t->name, &infos[i].min_insync_replicas);
        const char *cfgs = extra ? extra[i].configs : configs ? configs : "";
        if (with_overrides && !*cfgs) {
            free(configs);
            continue;
        }
        if (filter == FILTER_NONE) {
            size_t rf = t->partition_count ? t->partitions[0].replica_count : 0;
            printf("Topic: %s\tTopicId: %s\tPartitionCount: %zu\tReplicationFactor: %zu\tConfigs: %s%s\n",
                   t->name, ZERO_TOPIC_ID, t->partition_count, rf, cfgs,
                   extra && extra[i].marked_for_deletion ? "\tMarkedForDeletion: true" : "");
            if (t->error) {
                fflush(stdout);
                fprintf(stderr, "%s: Error while executing topic command : topic '%s': %s: %s\n",
                        tool_name(), t->name, strand_err_name(t->error),
                        strand_err_desc(t->error));
                rc = 1;
            }
        }
        free(configs);
        if (with_overrides)
            continue;   /* Kafka: the topic lines only */
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
    tool_zk_extra_free(extra, n);
    strand_topic_infos_free(infos, n);
    return rc;
}

/* --replica-assignment: rows of broker ids (Kafka's syntax), checked for shape here; the broker
 * or st_topic_admin checks the ids against the registered brokers. */
static int32_t *parse_assignment(const char *spec, int32_t *ret_partitions, int32_t *ret_rf)
{
    int32_t *rows = NULL;
    char msg[512];
    int code = st_assign_parse(spec, NULL, &rows, ret_partitions, ret_rf, msg, sizeof(msg));
    if (code != ST_ERR_NONE)
        tool_die("--replica-assignment: %s", msg);
    return rows;
}

static void create(const backend_t *be, const char *topic, int32_t partitions, int32_t rf,
                   const char **keys, const char **values, size_t n_configs,
                   const char *assignment, bool rack_aware, bool if_not_exists)
{
    int32_t *rows = NULL, rows_rf = 0, rows_n = 0;
    if (assignment) {
        if (partitions != -1 || rf != -1)
            tool_die("Option \"[replica-assignment]\" can't be used with option "
                     "\"[partitions],[replication-factor]\"");
        rows = parse_assignment(assignment, &rows_n, &rows_rf);
        partitions = rows_n;
        rf = rows_rf;
    }
    char err[1024];
    int e;
    if (be->zk) {
        if (partitions == -1 || rf == -1)
            tool_die("Missing required argument \"[%s]\"", partitions == -1 ? "partitions"
                                                                           : "replication-factor");
        st_topic_spec_t spec = {
            .name = topic, .n_partitions = partitions, .replication_factor = rf,
            .assignment = rows, .n_assignment_rf = rows_rf,
            .config_keys = keys, .config_values = values, .n_configs = n_configs,
            .rack_aware = rack_aware,
        };
        e = st_topic_admin_create(be->zk, &spec, NULL, err, sizeof(err));
    } else {
        strand_new_topic_t nt = { .name = topic, .num_partitions = partitions,
                                  .replication_factor = rf, .config_keys = keys,
                                  .config_values = values, .config_count = n_configs,
                                  .replica_assignment = rows };
        e = strand_admin_create_topic(be->admin, &nt, -1, err, sizeof(err));
    }
    free(rows);
    if (e == ST_ERR_TOPIC_ALREADY_EXISTS && if_not_exists)
        return;
    if (e)
        tool_die("Error while executing topic command : %s", err);
    printf("Created topic %s.\n", topic);
}

/* --alter --config / --delete-config (--zookeeper): Kafka 2.x's deprecated way. */
static void alter_configs(const backend_t *be, const char *topic, const char **keys,
                          const char **values, size_t n_add, const tool_opt_t *del)
{
    printf("WARNING: Altering topic configuration from this script has been deprecated and may be "
           "removed in future releases.\n         Going forward, please use strand-configs for "
           "this functionality\n");
    tool_zk_alter_config(be->zk, ST_ENTITY_TOPICS, topic, keys, values, n_add, del->values,
                         del->n_values);
    printf("Updated config for topic %s.\n", topic);
}

static void alter(const backend_t *be, const char *topic, int32_t partitions,
                  const char *assignment)
{
    if (partitions == -1)
        tool_usage_die("--alter needs --partitions (the new partition count)");
    int32_t *rows = NULL, rows_rf = 0, rows_n = 0;
    if (assignment)
        rows = parse_assignment(assignment, &rows_n, &rows_rf);
    char err[1024];
    int e;
    if (be->zk)
        e = st_topic_admin_add_partitions(be->zk, topic, partitions, rows, (size_t)rows_n,
                                          (size_t)rows_rf, false, err, sizeof(err));
    else
        e = strand_admin_create_partitions(be->admin, topic, partitions, rows, (size_t)rows_n,
                                           (size_t)rows_rf, -1, err, sizeof(err));
    free(rows);
    if (e)
        tool_die("Error while executing topic command : %s", err);
    if (be->zk)
        printf("WARNING: If partitions are increased for a topic that has a key, the partition "
               "logic or ordering of the messages will be affected\nAdding partitions succeeded!\n");
}

/* Deletes one topic; 0, or 1 after saying why on stderr. */
static int delete(const backend_t *be, const char *topic, bool if_exists)
{
    char err[1024];
    int e = be->zk ? st_topic_admin_delete(be->zk, topic, err, sizeof(err))
                   : strand_admin_delete_topic(be->admin, topic, -1, err, sizeof(err));
    if (e == ST_ERR_UNKNOWN_TOPIC_OR_PARTITION && if_exists)
        return 0;
    if (e) {
        fflush(stdout);
        fprintf(stderr, "%s: Error while executing topic command : %s\n", tool_name(), err);
        return 1;
    }
    if (be->zk)
        printf("Topic %s is marked for deletion.\nNote: This will have no impact if "
               "delete.topic.enable is not set to true.\n", topic);
    return 0;
}

static void list(const backend_t *be, const char *topic, bool exclude_internal)
{
    size_t n = 0;
    char **names = all_topics(be, exclude_internal, &n);
    tool_topic_filter_t *filter = topic ? tool_topic_filter_new(topic) : NULL;
    for (size_t i = 0; i < n; i++)
        if (!filter || tool_topic_filter_match(filter, names[i]))
            printf("%s\n", names[i]);
    tool_topic_filter_free(filter);
    strand_names_free(names, n);
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "Create, delete, describe, alter or list topics.");
    tool_parse(opts, argc, argv);
    const char *bootstrap = tool_opt(opts, "--bootstrap-server")->value;
    const char *zk = tool_opt(opts, "--zookeeper")->value;
    if ((bootstrap != NULL) == (zk != NULL))
        tool_die("Only one of --bootstrap-server or --zookeeper must be specified");
    int actions = tool_opt(opts, "--create")->given + tool_opt(opts, "--list")->given +
                  tool_opt(opts, "--describe")->given + tool_opt(opts, "--delete")->given +
                  tool_opt(opts, "--alter")->given;
    if (actions != 1)
        tool_die("Command must include exactly one action: --list, --describe, --create, --alter "
                 "or --delete");
    const char *topic = tool_opt(opts, "--topic")->value;
    bool creating = tool_opt(opts, "--create")->given;
    bool deleting = tool_opt(opts, "--delete")->given;
    bool altering = tool_opt(opts, "--alter")->given;
    if ((creating || deleting || altering) && !topic)
        tool_usage_die("Missing required argument \"[topic]\"");
    if (!creating && !altering && (tool_opt(opts, "--partitions")->given ||
                                   tool_opt(opts, "--replica-assignment")->given))
        tool_usage_die("--partitions and --replica-assignment go with --create or --alter");
    if (!creating && tool_opt(opts, "--replication-factor")->given)
        tool_usage_die("--replication-factor goes with --create");
    bool cfg_given = tool_opt(opts, "--config")->given;
    bool del_given = tool_opt(opts, "--delete-config")->given;
    if (!creating && !altering && (cfg_given || del_given))
        tool_usage_die("--config goes with --create or --alter, --delete-config with --alter");
    if (creating && del_given)
        tool_usage_die("--delete-config goes with --alter");
    if (altering && bootstrap && (cfg_given || del_given))
        tool_usage_die("Option combination \"[bootstrap-server],[%s]\" can't be used with option "
                       "\"[alter]\" (the strand-configs CLI supports altering topic configs with "
                       "a --bootstrap-server option)", cfg_given ? "config" : "delete-config");
    if (tool_opt(opts, "--topics-with-overrides")->given && !tool_opt(opts, "--describe")->given)
        tool_usage_die("--topics-with-overrides goes with --describe");
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

    backend_t be = { NULL, NULL };
    if (zk) {
        if (tool_opt(opts, "--command-config")->given)
            tool_die("--command-config goes with --bootstrap-server");
        be.zk = tool_zk_open(zk);
    } else {
        strand_conf_t *conf = tool_conf(bootstrap, tool_opt(opts, "--command-config")->value,
                                        NULL, NULL, 0);
        char err[1024];
        be.admin = strand_admin_new(conf, err, sizeof(err));
        if (!be.admin)
            tool_die("%s", err);
        strand_conf_destroy(conf);
    }
    const char *assignment = tool_opt(opts, "--replica-assignment")->value;
    bool if_exists = tool_opt(opts, "--if-exists")->given;
    bool exclude_internal = tool_opt(opts, "--exclude-internal")->given;
    int rc = 0;
    char **all = NULL;
    size_t n_all = 0, n_sel = 0;
    const char **sel = NULL;
    if (topic && !creating && !tool_opt(opts, "--list")->given)
        sel = select_topics(&be, topic, exclude_internal, if_exists, &all, &n_all, &n_sel);
    if (creating)
        create(&be, topic, partitions, rf, keys, values, cfg->n_values, assignment,
               !tool_opt(opts, "--disable-rack-aware")->given,
               tool_opt(opts, "--if-not-exists")->given);
    else if (altering)
        for (size_t i = 0; i < n_sel; i++) {
            bool configs = cfg_given || del_given;
            if (configs)
                alter_configs(&be, sel[i], keys, values, cfg->n_values,
                              tool_opt(opts, "--delete-config"));
            if (!configs || partitions != -1)
                alter(&be, sel[i], partitions, assignment);
        }
    else if (deleting)
        for (size_t i = 0; i < n_sel; i++)
            rc |= delete(&be, sel[i], if_exists);
    else if (tool_opt(opts, "--list")->given)
        list(&be, topic, exclude_internal);
    else if (!topic || n_sel)
        rc = describe(&be, sel, n_sel, exclude_internal, filter,
                      tool_opt(opts, "--topics-with-overrides")->given);
    free(sel);
    strand_names_free(all, n_all);
    if (be.admin)
        strand_admin_destroy(be.admin);
    st_zk_close(be.zk);
    for (size_t i = 0; i < cfg->n_values; i++)
        free((char *)keys[i]);
    free(keys);
    free(values);
    return rc;
}
