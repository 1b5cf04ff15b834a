/* Entity configuration znodes and change notifications (see st_config_admin.h). */
#include "st_config_admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_error.h"
#include "st_names.h"

#define PATH_LEN 512

static int zk_fail(int r, const char *what, const char *path, char *msg, size_t msg_len)
{
    snprintf(msg, msg_len, "%s %s: %s", what, path, st_zk_strerror(r));
    return r == -ETIMEDOUT || r == -ESHUTDOWN ? ST_ERR_REQUEST_TIMED_OUT
                                              : ST_ERR_UNKNOWN_SERVER_ERROR;
}

int st_config_admin_check_entity(const char *type, const char *name, char *msg, size_t msg_len)
{
    if (!name)
        name = "";
    if (strcmp(type, ST_ENTITY_TOPICS) == 0) {
        char why[256];
        if (!st_topic_name_valid(name, why, sizeof(why))) {
            snprintf(msg, msg_len, "%s", why);
            return ST_ERR_INVALID_TOPIC_EXCEPTION;
        }
        return ST_ERR_NONE;
    }
    if (strcmp(type, ST_ENTITY_BROKERS) == 0) {
        if (strcmp(name, ST_CONFIG_ENTITY_DEFAULT) == 0)
            return ST_ERR_NONE;
        bool digits = *name && strlen(name) <= 10;
        for (const char *p = name; digits && *p; p++)
            digits = *p >= '0' && *p <= '9';
        if (!digits) {
            snprintf(msg, msg_len, "Error parsing broker %s. The broker's Entity Name must be "
                     "a valid integer broker id", name);
            return ST_ERR_INVALID_REQUEST;
        }
        return ST_ERR_NONE;
    }
    snprintf(msg, msg_len, "Unknown entity type %s (topics or brokers)", type);
    return ST_ERR_INVALID_REQUEST;
}

int st_config_admin_read(st_zk_t *zk, const char *type, const char *name,
                         st_topic_overrides_t *ret, int *ret_version, char *msg, size_t msg_len)
{
    char path[PATH_LEN];
    if (st_zpath_entity_config(path, sizeof(path), type, name) < 0) {
        snprintf(msg, msg_len, "entity name '%s' is too long", name);
        return ST_ERR_INVALID_REQUEST;
    }
    char *data = NULL;
    int len = 0;
    struct Stat st;
    int r = st_zk_get(zk, path, false, &data, &len, &st);
    if (r == -ENOENT) {
        memset(ret, 0, sizeof(*ret));
        if (ret_version)
            *ret_version = -1;
        return ST_ERR_NONE;
    }
    if (r < 0)
        return zk_fail(r, "reading", path, msg, msg_len);
    st_topic_overrides_t cfg = { 0 };
    char err[512];
    r = st_znode_topic_config_decode(path, data, data ? (size_t)len : 0, &cfg, err, sizeof(err));
    free(data);
    if (r < 0) {
        snprintf(msg, msg_len, "%s", r == -ENOMEM ? "out of memory" : err);
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    *ret = cfg;
    if (ret_version)
        *ret_version = st.version;
    return ST_ERR_NONE;
}

int st_config_admin_write(st_zk_t *zk, const char *type, const char *name,
                          const st_topic_overrides_t *cfg, int version, char *msg, size_t msg_len)
{
    char path[PATH_LEN], topic_path[PATH_LEN], change_prefix[PATH_LEN], created[PATH_LEN];
    if (st_zpath_entity_config(path, sizeof(path), type, name) < 0) {
        snprintf(msg, msg_len, "entity name '%s' is too long", name);
        return ST_ERR_INVALID_REQUEST;
    }
    bool topic = strcmp(type, ST_ENTITY_TOPICS) == 0;
    if (topic)
        st_zpath_topic(topic_path, sizeof(topic_path), name);
    snprintf(change_prefix, sizeof(change_prefix), "%s/%s", ST_ZPATH_CONFIG_CHANGES,
             ST_CONFIG_CHANGE_PREFIX);
    /* a ZooKeeper nobody started a broker against yet (the tools' --zookeeper mode) */
    char parent[PATH_LEN];
    snprintf(parent, sizeof(parent), "/config/%s", type);
    int r = st_zk_ensure_path(zk, parent);
    if (r < 0)
        return zk_fail(r, "creating", parent, msg, msg_len);
    if ((r = st_zk_ensure_path(zk, ST_ZPATH_CONFIG_CHANGES)) < 0)
        return zk_fail(r, "creating", ST_ZPATH_CONFIG_CHANGES, msg, msg_len);
    /* keys in name order: every writer produces the same znode for the same configuration */
    char **keys = calloc(cfg->n + 1, sizeof(char *)), **values = calloc(cfg->n + 1, sizeof(char *));
    if (!keys || !values) {
        free(keys);
        free(values);
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    for (size_t i = 0; i < cfg->n; i++) {
        size_t k = i;
        while (k > 0 && strcmp(keys[k - 1], cfg->keys[i]) > 0) {
            keys[k] = keys[k - 1];
            values[k] = values[k - 1];
            k--;
        }
        keys[k] = cfg->keys[i];
        values[k] = cfg->values[i];
    }
    st_topic_overrides_t sorted = { keys, values, cfg->n };
    char *json = st_znode_topic_config_encode(&sorted);
    free(keys);
    free(values);
    char *note = st_znode_config_change_encode(type, name);
    if (!json || !note) {
        free(json);
        free(note);
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    zoo_op_t ops[3];
    zoo_op_result_t res[3];
    int n = 0, check_at = -1, config_at, note_at;
    if (topic) {
        check_at = n;
        zoo_check_op_init(&ops[n++], topic_path, -1);
    }
    config_at = n;
    if (version < 0)
        zoo_create_op_init(&ops[n++], path, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, 0,
                           NULL, 0);
    else
        zoo_set_op_init(&ops[n++], path, json, (int)strlen(json), version, NULL);
    note_at = n;
    zoo_create_op_init(&ops[n++], change_prefix, note, (int)strlen(note), &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_SEQUENCE, created, sizeof(created));
    int failed = -1;
    r = st_zk_multi(zk, n, ops, res, &failed);
    free(json);
    free(note);
    if (r == 0)
        return ST_ERR_NONE;
    if (failed == check_at && check_at >= 0 && r == -ENOENT) {
        snprintf(msg, msg_len, "Topic '%s' does not exist.", name);
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (failed == config_at && (r == -ESTALE || r == -ENOENT || r == -EEXIST)) {
        snprintf(msg, msg_len, "%s changed while it was being updated", path);
        return ST_ERR_INVALID_UPDATE_VERSION;
    }
    return zk_fail(r, failed == note_at ? "creating a notification under" : "writing",
                   failed == note_at ? ST_ZPATH_CONFIG_CHANGES : path, msg, msg_len);
}

/* ---- operations ------------------------------------------------------------------------------ */

static int find(const st_topic_overrides_t *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->keys[i], key) == 0)
            return (int)i;
    return -1;
}

static int put(st_topic_overrides_t *cfg, const char *key, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    int i = find(cfg, key);
    if (i >= 0) {
        free(cfg->values[i]);
        cfg->values[i] = v;
        return 0;
    }
    char **nk = realloc(cfg->keys, (cfg->n + 1) * sizeof(char *));
    if (nk)
        cfg->keys = nk;
    char **nv = nk ? realloc(cfg->values, (cfg->n + 1) * sizeof(char *)) : NULL;
    if (nv)
        cfg->values = nv;
    char *k = nv ? strdup(key) : NULL;
    if (!k) {
        free(v);
        return -ENOMEM;
    }
    cfg->keys[cfg->n] = k;
    cfg->values[cfg->n] = v;
    cfg->n++;
    return 0;
}

static void drop(st_topic_overrides_t *cfg, const char *key)
{
    int i = find(cfg, key);
    if (i < 0)
        return;
    free(cfg->keys[i]);
    free(cfg->values[i]);
    for (size_t k = (size_t)i + 1; k < cfg->n; k++) {
        cfg->keys[k - 1] = cfg->keys[k];
        cfg->values[k - 1] = cfg->values[k];
    }
    cfg->n--;
}

/* True when item (n bytes) is one of the comma-separated words of list. */
static bool has_item(const char *list, const char *item, size_t n)
{
    for (const char *p = list; p && *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncmp(p, item, n) == 0)
            return true;
        p += k + (p[k] == ',');
    }
    return false;
}

/* Appends (add) or removes the items of `items` from `cur` into a new malloc'd list. */
static char *merge_list(const char *cur, const char *items, bool add)
{
    size_t cap = strlen(cur) + strlen(items) + 2;
    char *out = calloc(1, cap);
    if (!out)
        return NULL;
    for (const char *p = cur; *p;) {
        size_t k = strcspn(p, ",");
        if (k && (add || !has_item(items, p, k)) && !has_item(out, p, k))
            snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", *out ? "," : "", (int)k, p);
        p += k + (p[k] == ',');
    }
    for (const char *p = items; add && *p;) {
        size_t k = strcspn(p, ",");
        if (k && !has_item(out, p, k))
            snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", *out ? "," : "", (int)k, p);
        p += k + (p[k] == ',');
    }
    return out;
}

int st_config_admin_apply(st_topic_overrides_t *cfg, const char *key, st_config_op_t op,
                          const char *value, bool list, char *msg, size_t msg_len)
{
    int r = 0;
    switch (op) {
    case ST_CONFIG_OP_SET:
        if (!value) {
            snprintf(msg, msg_len, "Null value not supported for : SET:%s", key);
            return ST_ERR_INVALID_REQUEST;
        }
        r = put(cfg, key, value);
        break;
    case ST_CONFIG_OP_DELETE:
        drop(cfg, key);
        break;
    case ST_CONFIG_OP_APPEND:
    case ST_CONFIG_OP_SUBTRACT: {
        if (!list) {
            snprintf(msg, msg_len, "Config value %s is not allowed for config key: %s",
                     op == ST_CONFIG_OP_APPEND ? "append" : "subtract", key);
            return ST_ERR_INVALID_REQUEST;
        }
        int i = find(cfg, key);
        char *merged = merge_list(i >= 0 ? cfg->values[i] : "", value ? value : "",
                                  op == ST_CONFIG_OP_APPEND);
        if (!merged) {
            r = -ENOMEM;
            break;
        }
        r = put(cfg, key, merged);
        free(merged);
        break;
    }
    default:
        snprintf(msg, msg_len, "Unknown config operation %d for config key: %s", (int)op, key);
        return ST_ERR_INVALID_REQUEST;
    }
    if (r < 0) {
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    return ST_ERR_NONE;
}
