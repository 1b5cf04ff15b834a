/* strand-configs: describe and change topic and broker configurations without a restart, with
 * the flags and output of Kafka's kafka-configs.sh (ConfigCommand, 2.8):
 *
 *   --bootstrap-server H:P  DescribeConfigs / IncrementalAlterConfigs through a broker:
 *       "Dynamic configs for topic t are:" then "  k=v sensitive=false synonyms={...}" lines
 *       (--all: "All configs for topic t are:" and every key); brokers: "Dynamic configs for
 *       broker 1 are:", "Default configs for brokers in the cluster are:" (--entity-default);
 *       --alter prints "Completed updating config for topic t." (broker 1 / "default config for
 *       brokers in the cluster").
 *   --zookeeper Z           the znodes directly (Kafka 2.x): "Configs for topic 't' are k=v,k=v"
 *       and "Completed updating config for entity: topic 't'."; dynamic broker configs only
 *       while the broker (any broker, for the default) is not running, as Kafka.
 *
 * --add-config k=v,k2=[v1,v2] (square brackets group a value holding commas), --delete-config
 * k1,k2 (each must be set now: "Invalid config(s): k"). Keys and values are validated by the
 * broker (or, with --zookeeper, by the same topic table here). Any failure: one line on stderr,
 * exit 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_config_admin.h"
#include "st_error.h"
#include "st_topic_config.h"
#include "tool_common.h"
#include "tool_zk.h"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: server to connect to>",
      "The Strand server to connect to (host:port[,host:port]); this or --zookeeper is required.",
      false, NULL, NULL, 0 },
    { "--zookeeper", TOOL_VALUE, "<String: urls>",
      "The ZooKeeper connection string (host:port[,host:port][/chroot]): act on the znodes directly.",
      false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: command config property file>",
      "Property file containing configs to be passed to the admin client (with --bootstrap-server).",
      false, NULL, NULL, 0 },
    { "--entity-type", TOOL_VALUE, "<String>", "Type of entity (topics/brokers).", false, NULL,
      NULL, 0 },
    { "--entity-name", TOOL_VALUE, "<String>", "Name of entity (topic name/broker id).", false,
      NULL, NULL, 0 },
    { "--entity-default", TOOL_FLAG, NULL,
      "Default entity name for brokers (the cluster-wide default, /config/brokers/<default>).",
      false, NULL, NULL, 0 },
    { "--describe", TOOL_FLAG, NULL, "List configs for the given entity.", false, NULL, NULL, 0 },
    { "--all", TOOL_FLAG, NULL,
      "With --describe and --bootstrap-server: every config, not only the dynamic ones.", false,
      NULL, NULL, 0 },
    { "--alter", TOOL_FLAG, NULL, "Alter the configuration for the entity.", false, NULL, NULL, 0 },
    { "--add-config", TOOL_VALUE, "<String>",
      "Key Value pairs of configs to add. Square brackets can be used to group values which "
      "contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'.", false, NULL, NULL, 0 },
    { "--delete-config", TOOL_MULTI, "<String>", "config keys to remove 'k1,k2'", false, NULL,
      NULL, 0 },
    TOOL_OPT_END
};

/* ---- --add-config / --delete-config ---------------------------------------------------------- */

typedef struct kv_list {
    char **keys, **values;
    size_t n;
} kv_list_t;

static void kv_push(kv_list_t *l, const char *k, size_t kn, const char *v, size_t vn)
{
    char **nk = realloc(l->keys, (l->n + 1) * sizeof(char *));
    char **nv = nk ? realloc(l->values, (l->n + 1) * sizeof(char *)) : NULL;
    if (!nk || !nv)
        tool_die("out of memory");
    l->keys = nk;
    l->values = nv;
    l->keys[l->n] = strndup(k, kn);
    l->values[l->n] = v ? strndup(v, vn) : NULL;
    if (!l->keys[l->n] || (v && !l->values[l->n]))
        tool_die("out of memory");
    l->n++;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Kafka's parsing: split on commas outside [], each "key=value", brackets removed from values. */
static void parse_add(const char *spec, kv_list_t *out)
{
    char *copy = strdup(spec);
    if (!copy)
        tool_die("out of memory");
    int depth = 0;
    char *start = copy;
    for (char *p = copy;; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']' && depth > 0)
            depth--;
        if (*p && !(*p == ',' && depth == 0))
            continue;
        bool end = !*p;
        *p = '\0';
        char *item = trim(start);
        char *eq = strchr(item, '=');
        if (!eq || eq == item)
            tool_die("Invalid entity config: all configs to be added must be in the format "
                     "\"key=val\" (got '%s').", item);
        *eq = '\0';
        char *key = trim(item), *value = trim(eq + 1);
        /* drop the grouping brackets */
        char *w = value;
        for (char *r = value; *r; r++)
            if (*r != '[' && *r != ']')
                *w++ = *r;
        *w = '\0';
        for (size_t i = 0; i < out->n; i++)
            if (strcmp(out->keys[i], key) == 0)
                tool_die("Invalid entity config: %s is given twice", key);
        kv_push(out, key, strlen(key), value, strlen(value));
        if (end)
            break;
        start = p + 1;
    }
    free(copy);
}

static void parse_delete(const tool_opt_t *opt, kv_list_t *out)
{
    for (size_t i = 0; i < opt->n_values; i++) {
        for (const char *p = opt->values[i]; *p;) {
            size_t k = strcspn(p, ",");
            char buf[256];
            snprintf(buf, sizeof(buf), "%.*s", (int)k, p);
            char *key = trim(buf);
            if (*key)
                kv_push(out, key, strlen(key), NULL, 0);
            p += k + (p[k] == ',');
        }
    }
}

static void kv_free(kv_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->values[i]);
    }
    free(l->keys);
    free(l->values);
}

/* ---- --bootstrap-server ------------------------------------------------------------------- */

static void print_entry(const strand_config_entry_t *e)
{
    printf("  %s=%s sensitive=%s synonyms={", e->name, e->value ? e->value : "null",
           e->is_sensitive ? "true" : "false");
    for (size_t k = 0; k < e->synonym_count; k++)
        printf("%s%s:%s=%s", k ? ", " : "", strand_config_source_name(e->synonyms[k].source),
               e->synonyms[k].name, e->synonyms[k].value ? e->synonyms[k].value : "null");
    printf("}\n");
}

/* One resource: the header and its (dynamic, or every with --all) entries. */
static void describe_resource(strand_admin_t *admin, strand_resource_type_t type,
                              const char *name, bool all)
{
    strand_config_entry_t *entries = NULL;
    size_t n = 0;
    char err[1024];
    int e = strand_admin_describe_configs(admin, type, name, NULL, 0, true, false, -1, &entries,
                                          &n, err, sizeof(err));
    if (e)
        tool_die("Error while executing config command: %s", err);
    int want;
    if (type == STRAND_RESOURCE_TOPIC) {
        printf("%s configs for topic %s are:\n", all ? "All" : "Dynamic", name);
        want = STRAND_CONFIG_SOURCE_DYNAMIC_TOPIC;
    } else if (*name) {
        printf("%s configs for broker %s are:\n", all ? "All" : "Dynamic", name);
        want = STRAND_CONFIG_SOURCE_DYNAMIC_BROKER;
    } else {
        printf("Default configs for brokers in the cluster are:\n");
        want = STRAND_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
    }
    for (size_t i = 0; i < n; i++)
        if (all || entries[i].source == want)
            print_entry(&entries[i]);
    strand_config_entries_free(entries, n);
}

static void bootstrap_describe(strand_admin_t *admin, bool topics, const char *name, bool dflt,
                               bool all)
{
    if (name || dflt) {
        describe_resource(admin, topics ? STRAND_RESOURCE_TOPIC : STRAND_RESOURCE_BROKER,
                          name ? name : "", all);
        return;
    }
    if (topics) {
        char **names = NULL;
        size_t n = 0;
        int e = strand_admin_list_topics(admin, false, -1, &names, &n);
        if (e)
            tool_die("Error while executing config command: listing topics: %s",
                     strand_err_desc(e));
        for (size_t i = 0; i < n; i++)
            describe_resource(admin, STRAND_RESOURCE_TOPIC, names[i], all);
        strand_names_free(names, n);
        return;
    }
    strand_broker_info_t *brokers = NULL;
    size_t n = 0;
    int e = strand_admin_describe_cluster(admin, -1, &brokers, &n, NULL, NULL);
    if (e)
        tool_die("Error while executing config command: listing brokers: %s", strand_err_desc(e));
    for (size_t i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", brokers[i].node_id);
        describe_resource(admin, STRAND_RESOURCE_BROKER, id, all);
    }
    strand_broker_infos_free(brokers, n);
    describe_resource(admin, STRAND_RESOURCE_BROKER, "", all);
}

static void bootstrap_alter(strand_admin_t *admin, bool topics, const char *name,
                            const kv_list_t *add, const kv_list_t *del)
{
    strand_resource_type_t type = topics ? STRAND_RESOURCE_TOPIC : STRAND_RESOURCE_BROKER;
    char err[1024];
    /* Kafka's check: every key to delete is set dynamically now */
    if (del->n) {
        strand_config_entry_t *entries = NULL;
        size_t n = 0;
        int e = strand_admin_describe_configs(admin, type, name, NULL, 0, false, false, -1,
                                              &entries, &n, err, sizeof(err));
        if (e)
            tool_die("Error while executing config command: %s", err);
        int want = topics ? STRAND_CONFIG_SOURCE_DYNAMIC_TOPIC
                          : *name ? STRAND_CONFIG_SOURCE_DYNAMIC_BROKER
                                  : STRAND_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
        char missing[1024] = "";
        for (size_t d = 0; d < del->n; d++) {
            bool set = false;
            for (size_t i = 0; i < n && !set; i++)
                set = strcmp(entries[i].name, del->keys[d]) == 0 && entries[i].source == want;
            if (!set)
                snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
                         *missing ? "," : "", del->keys[d]);
        }
        strand_config_entries_free(entries, n);
        if (*missing)
            tool_die("Invalid config(s): %s", missing);
    }
    strand_alter_config_t *ops = calloc(add->n + del->n + 1, sizeof(*ops));
    if (!ops)
        tool_die("out of memory");
    size_t k = 0;
    for (size_t i = 0; i < add->n; i++)
        ops[k++] = (strand_alter_config_t){ add->keys[i], STRAND_ALTER_SET, add->values[i] };
    for (size_t i = 0; i < del->n; i++)
        ops[k++] = (strand_alter_config_t){ del->keys[i], STRAND_ALTER_DELETE, NULL };
    int e = strand_admin_incremental_alter_configs(admin, type, name, ops, k, false, -1, err,
                                                   sizeof(err));
    free(ops);
    if (e)
        tool_die("Error while executing config command: %s", err);
    if (topics)
        printf("Completed updating config for topic %s.\n", name);
    else if (*name)
        printf("Completed updating config for broker %s.\n", name);
    else
        printf("Completed updating default config for brokers in the cluster.\n");
}

/* ---- --zookeeper ------------------------------------------------------------------------ */

/* Kafka's entity names in messages: topic 't', brokers '1', default brokers. */
static void entity_label(bool topics, const char *name, char *buf, size_t len)
{
    if (!topics && strcmp(name, ST_CONFIG_ENTITY_DEFAULT) == 0)
        snprintf(buf, len, "default brokers");
    else
        snprintf(buf, len, "%s '%s'", topics ? "topic" : "brokers", name);
}

static void zk_describe_one(st_zk_t *zk, bool topics, const char *name)
{
    st_topic_overrides_t o = { 0 };
    char msg[1024], label[300];
    int code = st_config_admin_read(zk, topics ? ST_ENTITY_TOPICS : ST_ENTITY_BROKERS, name, &o,
                                    NULL, msg, sizeof(msg));
    if (code != ST_ERR_NONE)
        tool_die("%s", msg);
    entity_label(topics, name, label, sizeof(label));
    printf("Configs for %s are ", label);
    for (size_t i = 0; i < o.n; i++)
        printf("%s%s=%s", i ? "," : "", o.keys[i], o.values[i]);
    printf("\n");
    st_topic_overrides_free(&o);
}

static void zk_describe(st_zk_t *zk, bool topics, const char *name)
{
    if (name) {
        zk_describe_one(zk, topics, name);
        return;
    }
    char **names = NULL;
    size_t n = 0;
    const char *parent = topics ? ST_ZPATH_CONFIG_TOPICS : ST_ZPATH_CONFIG_BROKERS;
    int r = st_zk_children(zk, parent, false, &names, &n);
    if (r < 0 && r != -ENOENT)
        tool_die("listing %s: %s", parent, st_zk_strerror(r));
    for (size_t i = 0; i < n; i++)
        zk_describe_one(zk, topics, names[i]);
    st_zk_free_strings(names, n);
}

static void zk_alter(st_zk_t *zk, bool topics, const char *name, const kv_list_t *add,
                     const kv_list_t *del)
{
    char label[300];
    tool_zk_alter_config(zk, topics ? ST_ENTITY_TOPICS : ST_ENTITY_BROKERS, name,
                         (const char *const *)add->keys, (const char *const *)add->values, add->n,
                         (const char *const *)del->keys, del->n);
    entity_label(topics, name, label, sizeof(label));
    printf("Completed updating config for entity: %s.\n", label);
}

/* ---- main ------------------------------------------------------------------------------- */

/* --add-config's help lists the valid keys, as Kafka's does: every topic key (with what Strand
 * does with it) and the dynamic broker keys (the first broker synonym of each topic key). */
static void add_config_help(void)
{
    static char help[8192];
    size_t used = (size_t)snprintf(help, sizeof(help), "%s The following is a list of valid "
                                   "configurations: For entity-type 'topics':",
                                   tool_opt(opts, "--add-config")->help);
    for (const st_topic_cfg_def_t *d = st_topic_config_table; d->cfg.name && used < sizeof(help);
         d++)
        used += (size_t)snprintf(help + used, sizeof(help) - used, " %s%s%s", d->cfg.name,
                                 d->applied ? "" : " (accepted, no effect)",
                                 d[1].cfg.name ? "," : ".");
    if (used < sizeof(help))
        used += (size_t)snprintf(help + used, sizeof(help) - used,
                                 " For entity-type 'brokers':");
    for (const st_topic_cfg_def_t *d = st_topic_config_table; d->cfg.name && used < sizeof(help);
         d++) {
        char syn[128];
        if (st_topic_config_synonym(d, 0, syn, sizeof(syn)))
            used += (size_t)snprintf(help + used, sizeof(help) - used, " %s%s", syn,
                                     d[1].cfg.name ? "," : ".");
    }
    tool_opt(opts, "--add-config")->help = help;
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "Add/Remove entity config for a topic or broker");
    add_config_help();
    tool_parse(opts, argc, argv);
    const char *bootstrap = tool_opt(opts, "--bootstrap-server")->value;
    const char *zk_connect = tool_opt(opts, "--zookeeper")->value;
    bool describe = tool_opt(opts, "--describe")->given, alter = tool_opt(opts, "--alter")->given;
    if (describe == alter)
        tool_die("Command must include exactly one action: --describe, --alter");
    if ((bootstrap != NULL) == (zk_connect != NULL))
        tool_die("Only one of --bootstrap-server or --zookeeper must be specified");
    const char *type = tool_opt(opts, "--entity-type")->value;
    if (!type)
        tool_die("At least one --entity-type must be specified");
    bool topics = strcmp(type, "topics") == 0;
    if (!topics && strcmp(type, "brokers") != 0)
        tool_die("Invalid entity-type %s, --entity-type must be one of topics, brokers", type);
    const char *name = tool_opt(opts, "--entity-name")->value;
    bool dflt = tool_opt(opts, "--entity-default")->given;
    if (name && dflt)
        tool_die("Only one of --entity-name or --entity-default may be specified");
    if (dflt && topics)
        tool_die("--entity-default is only for --entity-type brokers");
    if (!topics && name) {
        char msg[512];
        if (st_config_admin_check_entity(ST_ENTITY_BROKERS, name, msg, sizeof(msg)) != ST_ERR_NONE ||
            strcmp(name, ST_CONFIG_ENTITY_DEFAULT) == 0)
            tool_die("The entity name for brokers must be a valid integer broker id, found: %s",
                     name);
    }
    if (describe && (tool_opt(opts, "--add-config")->given ||
                     tool_opt(opts, "--delete-config")->given))
        tool_die("Option \"[describe]\" can't be used with option \"[add-config],[delete-config]\"");
    if (tool_opt(opts, "--all")->given && (!describe || zk_connect))
        tool_die("--all goes with --describe and --bootstrap-server");
    kv_list_t add = { 0 }, del = { 0 };
    if (alter) {
        if (!name && !dflt)
            tool_die(topics ? "--entity-name must be specified with --alter of topics"
                            : "--entity-name or --entity-default must be specified with --alter "
                              "of brokers");
        if (!tool_opt(opts, "--add-config")->given && !tool_opt(opts, "--delete-config")->given)
            tool_die("At least one of --add-config or --delete-config must be specified with "
                     "--alter");
        if (tool_opt(opts, "--add-config")->given)
            parse_add(tool_opt(opts, "--add-config")->value, &add);
        parse_delete(tool_opt(opts, "--delete-config"), &del);
        for (size_t i = 0; i < del.n; i++)
            for (size_t j = 0; j < add.n; j++)
                if (strcmp(del.keys[i], add.keys[j]) == 0)
                    tool_die("Invalid entity config: %s is both added and deleted", add.keys[j]);
    }
    bool all = tool_opt(opts, "--all")->given;
    if (zk_connect) {
        if (tool_opt(opts, "--command-config")->given)
            tool_die("--command-config goes with --bootstrap-server");
        st_zk_t *zk = tool_zk_open(zk_connect);
        const char *zname = dflt ? ST_CONFIG_ENTITY_DEFAULT : name;
        if (describe)
            zk_describe(zk, topics, zname);
        else
            zk_alter(zk, topics, zname, &add, &del);
        st_zk_close(zk);
    } else {
        strand_conf_t *conf = tool_conf(bootstrap, tool_opt(opts, "--command-config")->value,
                                        NULL, NULL, 0);
        char err[1024];
        strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
        strand_conf_destroy(conf);
        if (!admin)
            tool_die("%s", err);
        if (describe)
            bootstrap_describe(admin, topics, name, dflt, all);
        else
            bootstrap_alter(admin, topics, dflt ? "" : name, &add, &del);
        strand_admin_destroy(admin);
    }
    kv_free(&add);
    kv_free(&del);
    return 0;
}
