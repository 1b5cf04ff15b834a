/* --zookeeper plumbing of the topic tools (see tool_zk.h). */
#include "tool_zk.h"

#include <stdlib.h>
#include <string.h>

#include "st_error.h"
#include "st_topic_config.h"
#include "tool_common.h"

st_zk_t *tool_zk_open(const char *connect)
{
    st_zk_config_t cfg = { .connect = connect, .session_timeout_ms = 30000,
                           .connection_timeout_ms = 10000 };
    st_zk_t *zk = NULL;
    char err[512];
    if (st_zk_open(&cfg, &zk, err, sizeof(err)) < 0)
        tool_die("%s", err);
    return zk;
}

static int32_t *copy_ids(const int32_t *ids, size_t n)
{
    int32_t *out = malloc((n ? n : 1) * sizeof(int32_t));
    if (!out)
        tool_die("out of memory");
    if (n)
        memcpy(out, ids, n * sizeof(int32_t));
    return out;
}

static void fill_topic(st_zk_t *zk, const char *name, const st_admin_broker_t *live,
                       size_t n_live, strand_topic_info_t *t, tool_zk_extra_t *extra)
{
    t->name = strdup(name);
    if (!t->name)
        tool_die("out of memory");
    t->is_internal = strncmp(name, "__", 2) == 0;
    st_topic_desc_t d;
    char msg[1024];
    int code = st_topic_admin_describe(zk, name, &d, msg, sizeof(msg));
    if (code == ST_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        t->error = code;
        return;
    }
    if (code != ST_ERR_NONE)
        tool_die("%s", msg);
    const char *min_isr = st_topic_overrides_get(&d.config, "min.insync.replicas");
    t->min_insync_replicas = min_isr ? (int32_t)strtol(min_isr, NULL, 10) : 0;
    if (extra) {
        size_t len = 1;
        for (size_t i = 0; i < d.config.n; i++)
            len += strlen(d.config.keys[i]) + strlen(d.config.values[i]) + 2;
        extra->configs = calloc(1, len);
        if (!extra->configs)
            tool_die("out of memory");
        for (size_t i = 0; i < d.config.n; i++)
            sprintf(extra->configs + strlen(extra->configs), "%s%s=%s", i ? "," : "",
                    d.config.keys[i], d.config.values[i]);
        extra->marked_for_deletion = d.marked_for_deletion;
    }
    size_t n = (size_t)d.assignment.n_partitions;
    t->partitions = calloc(n ? n : 1, sizeof(*t->partitions));
    if (!t->partitions)
        tool_die("out of memory");
    t->partition_count = n;
    for (size_t p = 0; p < n; p++) {
        strand_partition_info_t *pi = &t->partitions[p];
        const st_int_list_t *reps = &d.assignment.replicas[p];
        pi->partition = (int32_t)p;
        pi->leader = d.has_state[p] ? d.states[p].leader : -1;
        if (pi->leader < 0)
            pi->leader = -1;
        pi->leader_epoch = d.has_state[p] ? d.states[p].leader_epoch : -1;
        pi->error = pi->leader < 0 ? ST_ERR_LEADER_NOT_AVAILABLE : 0;
        pi->replicas = copy_ids(reps->v, reps->n);
        pi->replica_count = reps->n;
        pi->isr = copy_ids(d.states[p].isr.v, d.states[p].isr.n);
        pi->isr_count = d.states[p].isr.n;
        pi->offline = malloc((reps->n ? reps->n : 1) * sizeof(int32_t));
        if (!pi->offline)
            tool_die("out of memory");
        for (size_t r = 0; r < reps->n; r++) {
            bool up = false;
            for (size_t b = 0; b < n_live && !up; b++)
                up = live[b].id == reps->v[r];
            if (!up)
                pi->offline[pi->offline_count++] = reps->v[r];
        }
    }
    st_topic_desc_free(&d);
}

void tool_zk_extra_free(tool_zk_extra_t *extra, size_t n)
{
    for (size_t i = 0; extra && i < n; i++)
        free(extra[i].configs);
    free(extra);
}

void tool_zk_brokers(st_zk_t *zk, strand_broker_info_t **ret, size_t *ret_n)
{
    char msg[1024];
    st_admin_broker_t *live = NULL;
    size_t n = 0;
    if (st_topic_admin_brokers(zk, &live, &n, msg, sizeof(msg)) != ST_ERR_NONE)
        tool_die("%s", msg);
    strand_broker_info_t *out = calloc(n ? n : 1, sizeof(*out));
    if (!out)
        tool_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        out[i].node_id = live[i].id;
        out[i].host = strdup("");
        out[i].rack = strdup(live[i].rack);
        if (!out[i].host || !out[i].rack)
            tool_die("out of memory");
    }
    free(live);
    *ret = out;
    *ret_n = n;
}

void tool_zk_describe(st_zk_t *zk, const char *const *names, size_t count,
                      strand_topic_info_t **ret, size_t *ret_n, tool_zk_extra_t **ret_extra)
{
    char msg[1024];
    char **all = NULL;
    size_t n_all = 0;
    if (count == 0) {
        if (st_topic_admin_list(zk, &all, &n_all, msg, sizeof(msg)) != ST_ERR_NONE)
            tool_die("%s", msg);
        names = (const char *const *)all;
        count = n_all;
    }
    st_admin_broker_t *live = NULL;
    size_t n_live = 0;
    if (st_topic_admin_brokers(zk, &live, &n_live, msg, sizeof(msg)) != ST_ERR_NONE)
        tool_die("%s", msg);
    strand_topic_info_t *out = calloc(count ? count : 1, sizeof(*out));
    tool_zk_extra_t *extra = ret_extra ? calloc(count ? count : 1, sizeof(*extra)) : NULL;
    if (!out || (ret_extra && !extra))
        tool_die("out of memory");
    for (size_t i = 0; i < count; i++)
        fill_topic(zk, names[i], live, n_live, &out[i], extra ? &extra[i] : NULL);
    if (ret_extra)
        *ret_extra = extra;
    free(live);
    st_zk_free_strings(all, n_all);
    *ret = out;
    *ret_n = count;
}

void tool_zk_all_partitions(st_zk_t *zk, st_tp_list_t *ret)
{
    strand_topic_info_t *topics = NULL;
    size_t n = 0;
    tool_zk_describe(zk, NULL, 0, &topics, &n, NULL);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += topics[i].partition_count;
    ret->v = calloc(total ? total : 1, sizeof(*ret->v));
    ret->n = 0;
    if (!ret->v)
        tool_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < topics[i].partition_count; p++) {
            ret->v[ret->n].topic = strdup(topics[i].name);
            ret->v[ret->n].partition = topics[i].partitions[p].partition;
            if (!ret->v[ret->n].topic)
                tool_die("out of memory");
            ret->n++;
        }
    }
    strand_topic_infos_free(topics, n);
}

/* ---- dynamic configuration ------------------------------------------------------------------ */

/* The topic table's checks (the broker's, without a broker); for a broker key: the first
 * synonym of a topic key (the dynamic ones) with a value that fits that topic key. */
static void check_config(bool topics, const char *key, const char *value)
{
    char why[512];
    if (topics) {
        if (st_topic_config_set(NULL, key, value, why, sizeof(why)) < 0)
            tool_die("%s", why);
        return;
    }
    int idx = -1;
    const st_topic_cfg_def_t *d = st_topic_config_for_synonym(key, &idx);
    if (!d || idx != 0)
        tool_die("Cannot update these configs dynamically: Set(%s)", key);
    st_topic_config_t tc;
    st_topic_config_defaults(&tc);
    if (st_topic_config_set_from_broker(&tc, d, key, value, why, sizeof(why)) < 0)
        tool_die("Invalid value %s for configuration %s", value, key);
}

/* Kafka: dynamic broker configs go through a running broker, which validates them. */
static void refuse_running_broker(st_zk_t *zk, const char *name, const char *const *keys,
                                  size_t n)
{
    char msg[1024];
    st_admin_broker_t *live = NULL;
    size_t n_live = 0;
    if (st_topic_admin_brokers(zk, &live, &n_live, msg, sizeof(msg)) != ST_ERR_NONE)
        tool_die("%s", msg);
    bool dflt = strcmp(name, ST_CONFIG_ENTITY_DEFAULT) == 0;
    bool running = dflt && n_live > 0;
    for (size_t i = 0; !dflt && i < n_live; i++)
        running |= live[i].id == (int32_t)strtol(name, NULL, 10);
    free(live);
    if (!running)
        return;
    char list[512] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", keys[i]);
    tool_die("--bootstrap-server option must be specified to update broker configs Set(%s) %s. "
             "Broker configuration updates using ZooKeeper are supported for bootstrapping "
             "before brokers are started.", list,
             dflt ? "for default cluster if any broker is running" : "when the broker is running");
}

void tool_zk_alter_config(st_zk_t *zk, const char *type, const char *name,
                          const char *const *add_keys, const char *const *add_values, size_t n_add,
                          const char *const *del_keys, size_t n_del)
{
    bool topics = strcmp(type, ST_ENTITY_TOPICS) == 0;
    char msg[1024];
    int code = st_config_admin_check_entity(type, name, msg, sizeof(msg));
    if (code != ST_ERR_NONE)
        tool_die("%s", msg);
    for (size_t i = 0; i < n_add; i++)
        check_config(topics, add_keys[i], add_values[i]);
    if (!topics && n_add)
        refuse_running_broker(zk, name, add_keys, n_add);
    for (int attempt = 0;; attempt++) {
        st_topic_overrides_t o = { 0 };
        int version = -1;
        code = st_config_admin_read(zk, type, name, &o, &version, msg, sizeof(msg));
        if (code != ST_ERR_NONE)
            tool_die("%s", msg);
        char missing[1024] = "";
        for (size_t i = 0; i < n_del; i++)
            if (!st_topic_overrides_get(&o, del_keys[i]))
                snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
                         *missing ? "," : "", del_keys[i]);
        if (*missing)
            tool_die("Invalid config(s): %s", missing);
        for (size_t i = 0; i < n_add && code == ST_ERR_NONE; i++)
            code = st_config_admin_apply(&o, add_keys[i], ST_CONFIG_OP_SET, add_values[i], false,
                                         msg, sizeof(msg));
        for (size_t i = 0; i < n_del && code == ST_ERR_NONE; i++)
            code = st_config_admin_apply(&o, del_keys[i], ST_CONFIG_OP_DELETE, NULL, false, msg,
                                         sizeof(msg));
        if (code == ST_ERR_NONE)
            code = st_config_admin_write(zk, type, name, &o, version, msg, sizeof(msg));
        st_topic_overrides_free(&o);
        if (code == ST_ERR_INVALID_UPDATE_VERSION && attempt < 5)
            continue;
        if (code != ST_ERR_NONE)
            tool_die("%s", msg);
        return;
    }
}
