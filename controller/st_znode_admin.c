/* The admin znodes' codecs (Kafka's ZooKeeper-mode formats): topic-partition lists
 * (/admin/preferred_replica_election, /isr_change_notification), /admin/reassign_partitions,
 * /config/topics/<t> and /cluster/id (with the id generator). See st_znode.h. */
#include "st_znode.h"
#include "st_znode_json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <jansson.h>

/* ---- topic-partition lists ---------------------------------------------------------------- */

char *st_znode_tp_list_encode(const st_tp_list_t *tps)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    for (size_t i = 0; i < tps->n; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "topic", json_string(tps->v[i].topic));
        json_object_set_new(e, "partition", json_integer(tps->v[i].partition));
        json_array_append_new(arr, e);
    }
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "partitions", arr);
    return dump(root);
}

/* Shared by tp lists and reassignments: each entry must have topic and partition. */
static int decode_tp_entry(const char *path, json_t *e, size_t i, char **topic, int32_t *part,
                           char *errbuf, size_t errlen)
{
    if (!json_is_object(e))
        return fail(errbuf, errlen, path, "partitions[%zu] is %s, not an object", i, json_kind(e));
    json_t *t = json_object_get(e, "topic");
    if (!t || !json_is_string(t) || !*json_string_value(t))
        return fail(errbuf, errlen, path, "partitions[%zu]: \"topic\" is missing or not a string", i);
    char where[40];
    snprintf(where, sizeof(where), "partitions[%zu]", i);
    json_t *p = json_object_get(e, "partition");
    if (!p)
        return fail(errbuf, errlen, path, "%s: \"partition\" is missing", where);
    if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > INT32_MAX)
        return fail(errbuf, errlen, path, "%s: \"partition\" is not a partition number", where);
    *topic = strdup(json_string_value(t));
    if (!*topic)
        return -ENOMEM;
    *part = (int32_t)json_integer_value(p);
    return 0;
}

static json_t *partitions_array(const char *path, json_t *root, char *errbuf, size_t errlen)
{
    json_t *arr = json_object_get(root, "partitions");
    if (!arr) {
        fail(errbuf, errlen, path, "\"partitions\" is missing");
        return NULL;
    }
    if (!json_is_array(arr)) {
        fail(errbuf, errlen, path, "\"partitions\" is %s, not an array", json_kind(arr));
        return NULL;
    }
    return arr;
}

int st_znode_tp_list_decode(const char *path, const char *data, size_t len, st_tp_list_t *ret,
                            char *errbuf, size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    json_t *arr = partitions_array(path, root, errbuf, errlen);
    if (!arr) {
        json_decref(root);
        return -EINVAL;
    }
    st_tp_list_t l = { 0 };
    size_t n = json_array_size(arr);
    l.v = n ? calloc(n, sizeof(*l.v)) : NULL;
    int r = n && !l.v ? -ENOMEM : 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        r = decode_tp_entry(path, json_array_get(arr, i), i, &l.v[i].topic, &l.v[i].partition,
                            errbuf, errlen);
        if (r == 0)
            l.n = i + 1;
    }
    json_decref(root);
    if (r < 0) {
        st_tp_list_free(&l);
        return r;
    }
    *ret = l;
    return 0;
}

/* ---- /admin/reassign_partitions ----------------------------------------------------------- */

void st_reassignment_list_free(st_reassignment_list_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].topic);
        st_int_list_free(&l->v[i].replicas);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int st_znode_reassign_decode(const char *path, const char *data, size_t len,
                             st_reassignment_list_t *ret, char *errbuf, size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    json_t *arr = partitions_array(path, root, errbuf, errlen);
    if (!arr) {
        json_decref(root);
        return -EINVAL;
    }
    st_reassignment_list_t l = { 0 };
    size_t n = json_array_size(arr);
    l.v = n ? calloc(n, sizeof(*l.v)) : NULL;
    int r = n && !l.v ? -ENOMEM : 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        json_t *e = json_array_get(arr, i);
        r = decode_tp_entry(path, e, i, &l.v[i].topic, &l.v[i].partition, errbuf, errlen);
        if (r < 0)
            break;
        l.n = i + 1;
        json_t *reps = json_object_get(e, "replicas");
        char where[48];
        snprintf(where, sizeof(where), "partitions[%zu].replicas", i);
        r = reps ? int_list_from_json(path, where, reps, &l.v[i].replicas, errbuf, errlen)
                 : fail(errbuf, errlen, path, "%s is missing", where);
    }
    json_decref(root);
    if (r < 0) {
        st_reassignment_list_free(&l);
        return r;
    }
    *ret = l;
    return 0;
}

/* ---- /config/topics/<t> ------------------------------------------------------------------- */

char *st_znode_topic_config_encode(const st_topic_overrides_t *cfg)
{
    json_t *root = json_object();
    json_t *c = json_object();
    for (size_t i = 0; i < cfg->n; i++)
        json_object_set_new(c, cfg->keys[i], json_string(cfg->values[i]));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "config", c);
    return dump(root);
}

void st_topic_overrides_free(st_topic_overrides_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->keys[i]);
        free(cfg->values[i]);
    }
    free(cfg->keys);
    free(cfg->values);
    memset(cfg, 0, sizeof(*cfg));
}

int st_znode_topic_config_decode(const char *path, const char *data, size_t len,
                                 st_topic_overrides_t *ret, char *errbuf, size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    st_topic_overrides_t cfg = { 0 };
    int r = 0;
    json_t *c = json_object_get(root, "config");
    if (!c) {
        r = fail(errbuf, errlen, path, "\"config\" is missing");
        goto out;
    }
    if (!json_is_object(c)) {
        r = fail(errbuf, errlen, path, "\"config\" is %s, not an object", json_kind(c));
        goto out;
    }
    size_t n = json_object_size(c);
    cfg.keys = n ? calloc(n, sizeof(char *)) : NULL;
    cfg.values = n ? calloc(n, sizeof(char *)) : NULL;
    if (n && (!cfg.keys || !cfg.values)) {
        r = -ENOMEM;
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(c, key, val) {
        if (!json_is_string(val)) {
            r = fail(errbuf, errlen, path, "config \"%s\" is %s, not a string", key,
                     json_kind(val));
            goto out;
        }
        cfg.keys[cfg.n] = strdup(key);
        cfg.values[cfg.n] = strdup(json_string_value(val));
        cfg.n++;
        if (!cfg.keys[cfg.n - 1] || !cfg.values[cfg.n - 1]) {
            r = -ENOMEM;
            goto out;
        }
    }
    *ret = cfg;
    json_decref(root);
    return 0;
out:
    st_topic_overrides_free(&cfg);
    json_decref(root);
    return r;
}

const char *st_topic_overrides_get(const st_topic_overrides_t *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->keys[i], key) == 0)
            return cfg->values[i];
    return NULL;
}

/* ---- /config/changes/config_change_<n> ------------------------------------------------------ */

char *st_znode_config_change_encode(const char *entity_type, const char *name)
{
    size_t len = strlen(entity_type) + strlen(name) + 2;
    char *ep = malloc(len);
    if (!ep)
        return NULL;
    snprintf(ep, len, "%s/%s", entity_type, name);
    json_t *root = json_object();
    json_object_set_new(root, "version", json_integer(2));
    json_object_set_new(root, "entity_path", json_string(ep));
    free(ep);
    return dump(root);
}

int st_znode_config_change_decode(const char *path, const char *data, size_t len,
                                  char **ret_type, char **ret_name, char *errbuf, size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    json_t *ver = json_object_get(root, "version");
    int r = 0;
    char *type = NULL, *name = NULL;
    if (!json_is_integer(ver)) {
        r = fail(errbuf, errlen, path, "\"version\" is %s, not an integer",
                 ver ? json_kind(ver) : "missing");
    } else if (json_integer_value(ver) == 1) {
        json_t *t = json_object_get(root, "entity_type"), *n = json_object_get(root, "entity_name");
        if (!json_is_string(t) || !json_is_string(n) || !*json_string_value(t) ||
            !*json_string_value(n)) {
            r = fail(errbuf, errlen, path, "version 1 needs \"entity_type\" and \"entity_name\" "
                     "strings");
        } else {
            type = strdup(json_string_value(t));
            name = strdup(json_string_value(n));
        }
    } else if (json_integer_value(ver) == 2) {
        json_t *e = json_object_get(root, "entity_path");
        const char *ep = json_is_string(e) ? json_string_value(e) : NULL;
        const char *slash = ep ? strchr(ep, '/') : NULL;
        if (!ep) {
            r = fail(errbuf, errlen, path, "\"entity_path\" is %s, not a string",
                     e ? json_kind(e) : "missing");
        } else if (!slash || slash == ep || !slash[1] || strchr(slash + 1, '/')) {
            r = fail(errbuf, errlen, path, "\"entity_path\" \"%s\" is not <type>/<name>", ep);
        } else {
            type = strndup(ep, (size_t)(slash - ep));
            name = strdup(slash + 1);
        }
    } else {
        r = fail(errbuf, errlen, path, "unknown \"version\" %" JSON_INTEGER_FORMAT,
                 json_integer_value(ver));
    }
    json_decref(root);
    if (r == 0 && (!type || !name))
        r = -ENOMEM;
    if (r < 0) {
        free(type);
        free(name);
        return r;
    }
    *ret_type = type;
    *ret_name = name;
    return 0;
}

int64_t st_config_change_seq(const char *name)
{
    size_t plen = strlen(ST_CONFIG_CHANGE_PREFIX);
    if (strncmp(name, ST_CONFIG_CHANGE_PREFIX, plen) != 0 || !name[plen])
        return -1;
    int64_t v = 0;
    for (const char *p = name + plen; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* ---- /cluster/id ---------------------------------------------------------------------------- */

char *st_znode_cluster_id_encode(const char *id)
{
    json_t *root = json_object();
    json_object_set_new(root, "version", json_string("1"));
    json_object_set_new(root, "id", json_string(id));
    return dump(root);
}

int st_znode_cluster_id_decode(const char *path, const char *data, size_t len, char **ret_id,
                               char *errbuf, size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    json_t *id = json_object_get(root, "id");
    int r = 0;
    if (!id)
        r = fail(errbuf, errlen, path, "\"id\" is missing");
    else if (!json_is_string(id) || !*json_string_value(id))
        r = fail(errbuf, errlen, path, "\"id\" is %s, not a non-empty string", json_kind(id));
    char *s = r == 0 ? strdup(json_string_value(id)) : NULL;
    json_decref(root);
    if (r < 0)
        return r;
    if (!s)
        return -ENOMEM;
    *ret_id = s;
    return 0;
}

int st_cluster_id_generate(char *buf, size_t size)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (size < 23)
        return -ENOSPC;
    uint8_t u[16];
    ssize_t got = getrandom(u, sizeof(u), 0);
    if (got != (ssize_t)sizeof(u))
        return got < 0 ? -errno : -EIO;
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);   /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);   /* IETF variant */
    size_t o = 0;
    for (size_t i = 0; i < 15; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16 | (uint32_t)u[i + 1] << 8 | u[i + 2];
        buf[o++] = b64[(v >> 18) & 63];
        buf[o++] = b64[(v >> 12) & 63];
        buf[o++] = b64[(v >> 6) & 63];
        buf[o++] = b64[v & 63];
    }
    uint32_t v = (uint32_t)u[15] << 16;
    buf[o++] = b64[(v >> 18) & 63];
    buf[o++] = b64[(v >> 12) & 63];
    buf[o] = 0;
    return 0;
}

/* ---- /log_dir_event_notification/log_dir_event_N --------------------------------------------- */

char *st_znode_log_dir_event_encode(int32_t broker_id, int32_t event)
{
    json_t *root = json_object();
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "broker", json_integer(broker_id));
    json_object_set_new(root, "event", json_integer(event));
    return dump(root);
}

int st_znode_log_dir_event_decode(const char *path, const char *data, size_t len,
                                  int32_t *ret_broker_id, int32_t *ret_event, char *errbuf,
                                  size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    int32_t version = 0, broker = -1, event = 0;
    int r = get_i32(path, root, "version", true, 0, &version, errbuf, errlen);
    if (r == 0 && version != 1)
        r = fail(errbuf, errlen, path, "\"version\" is %" PRId32 ", expected 1", version);
    if (r == 0)
        r = get_i32(path, root, "broker", true, 0, &broker, errbuf, errlen);
    if (r == 0 && broker < 0)
        r = fail(errbuf, errlen, path, "\"broker\" is %" PRId32 ", not a broker id", broker);
    if (r == 0)
        r = get_i32(path, root, "event", true, 0, &event, errbuf, errlen);
    json_decref(root);
    if (r < 0)
        return r;
    *ret_broker_id = broker;
    *ret_event = event;
    return 0;
}
