/* ZooKeeper znode paths and JSON payload codecs (jansson), Kafka's ZooKeeper-mode formats.
 * Decoders are strict about types (a hand-edited znode gets a clear error naming its path),
 * lenient about key order and unknown keys. See st_znode.h. */
#include "st_znode.h"

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

const char *const st_znode_persistent_paths[] = {
    "/consumers", "/brokers/ids", "/brokers/topics", "/config/changes", "/admin/delete_topics",
    "/brokers/seqid", "/isr_change_notification", "/latest_producer_id_block",
    "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",
    "/config/brokers", "/config/ips", NULL,
};

/* ---- small helpers ---------------------------------------------------------------------- */

static int fail(char *errbuf, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *errbuf, size_t errlen, const char *path, const char *fmt, ...)
{
    if (errbuf && errlen) {
        int n = snprintf(errbuf, errlen, "%s: ", path ? path : "(znode)");
        if (n < 0 || (size_t)n >= errlen)
            n = 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int pathf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int st_zpath_broker(char *buf, size_t size, int32_t id)
{
    return pathf(buf, size, "/brokers/ids/%d", id);
}
int st_zpath_topic(char *buf, size_t size, const char *topic)
{
    return pathf(buf, size, "/brokers/topics/%s", topic);
}
int st_zpath_partition_state(char *buf, size_t size, const char *topic, int32_t partition)
{
    return pathf(buf, size, "/brokers/topics/%s/partitions/%d/state", topic, partition);
}
int st_zpath_topic_config(char *buf, size_t size, const char *topic)
{
    return pathf(buf, size, "/config/topics/%s", topic);
}
int st_zpath_delete_topic(char *buf, size_t size, const char *topic)
{
    return pathf(buf, size, "/admin/delete_topics/%s", topic);
}

/* Parses the payload as a JSON object. */
static json_t *load_object(const char *path, const char *data, size_t len, char *errbuf,
                           size_t errlen)
{
    if (!data || len == 0) {
        fail(errbuf, errlen, path, "no data (expected a JSON object)");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);
    if (!root) {
        fail(errbuf, errlen, path, "not valid JSON (%s at line %d column %d)", jerr.text,
             jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(errbuf, errlen, path, "not a JSON object");
        return NULL;
    }
    return root;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* An int32 field; required unless def_ok (then *out = def when absent). */
static int get_i32(const char *path, json_t *obj, const char *key, bool required, int32_t def,
                   int32_t *out, char *errbuf, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return fail(errbuf, errlen, path, "\"%s\" is missing", key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(errbuf, errlen, path, "\"%s\" is %s, not an integer", key, json_kind(v));
    json_int_t x = json_integer_value(v);
    if (x < INT32_MIN || x > INT32_MAX)
        return fail(errbuf, errlen, path, "\"%s\" (%lld) is out of range", key, (long long)x);
    *out = (int32_t)x;
    return 0;
}

/* "123" -> 123 (the whole string a decimal integer). */
static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return false;
    *out = x;
    return true;
}

static int int_list_from_json(const char *path, const char *what, json_t *arr, st_int_list_t *out,
                              char *errbuf, size_t errlen)
{
    if (!json_is_array(arr))
        return fail(errbuf, errlen, path, "%s is %s, not an array", what, json_kind(arr));
    size_t n = json_array_size(arr);
    int32_t *v = n ? calloc(n, sizeof(*v)) : NULL;
    if (n && !v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_integer(e) || json_integer_value(e) < INT32_MIN ||
            json_integer_value(e) > INT32_MAX) {
            free(v);
            return fail(errbuf, errlen, path, "%s: entry %zu is %s, not a broker id", what, i,
                        json_kind(e));
        }
        v[i] = (int32_t)json_integer_value(e);
    }
    out->v = v;
    out->n = n;
    return 0;
}

static json_t *int_list_to_json(const st_int_list_t *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l->n; i++)
        json_array_append_new(arr, json_integer(l->v[i]));
    return arr;
}

static char *dump(json_t *root)
{
    if (!root)
        return NULL;
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

bool st_int_list_contains(const st_int_list_t *l, int32_t x)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == x)
            return true;
    return false;
}

int st_int_list_copy(st_int_list_t *dst, const st_int_list_t *src)
{
    int32_t *v = NULL;
    if (src->n) {
        v = malloc(src->n * sizeof(*v));
        if (!v)
            return -ENOMEM;
        memcpy(v, src->v, src->n * sizeof(*v));
    }
    dst->v = v;
    dst->n = src->n;
    return 0;
}

void st_int_list_free(st_int_list_t *l)
{
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void st_tp_list_free(st_tp_list_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].topic);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* ---- /brokers/ids/<id> ------------------------------------------------------------------- */

char *st_znode_broker_encode(const st_broker_reg_t *reg)
{
    json_t *root = json_object();
    json_t *eps = json_array();
    json_t *map = json_object();
    const st_endpoint_t *plain = NULL;
    char buf[600];
    for (size_t i = 0; i < reg->n_endpoints; i++) {
        const st_endpoint_t *ep = &reg->endpoints[i];
        if (!ep->listener || !ep->security_protocol || !ep->host || !*ep->listener) {
            json_decref(root); json_decref(eps); json_decref(map);
            return NULL;
        }
        bool v6 = strchr(ep->host, ':') != NULL;
        snprintf(buf, sizeof(buf), v6 ? "%s://[%s]:%d" : "%s://%s:%d", ep->listener, ep->host,
                 ep->port);
        json_array_append_new(eps, json_string(buf));
        json_object_set_new(map, ep->listener, json_string(ep->security_protocol));
        if (!plain && strcmp(ep->security_protocol, "PLAINTEXT") == 0)
            plain = ep;
    }
    json_object_set_new(root, "listener_security_protocol_map", map);
    json_object_set_new(root, "endpoints", eps);
    json_object_set_new(root, "jmx_port", json_integer(reg->jmx_port));
    json_object_set_new(root, "features", json_object());
    json_object_set_new(root, "host", plain ? json_string(plain->host) : json_null());
    snprintf(buf, sizeof(buf), "%" PRId64, reg->timestamp_ms);
    json_object_set_new(root, "timestamp", json_string(buf));
    json_object_set_new(root, "port", json_integer(plain ? plain->port : -1));
    if (reg->rack)
        json_object_set_new(root, "rack", json_string(reg->rack));
    json_object_set_new(root, "version", json_integer(5));
    return dump(root);
}

static void endpoint_free(st_endpoint_t *ep)
{
    free(ep->listener);
    free(ep->security_protocol);
    free(ep->host);
}

void st_broker_reg_free(st_broker_reg_t *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n_endpoints; i++)
        endpoint_free(&reg->endpoints[i]);
    free(reg->endpoints);
    free(reg->rack);
    free(reg->host);
    memset(reg, 0, sizeof(*reg));
}

/* "NAME://host:port" or "NAME://[v6]:port". */
static int parse_endpoint(const char *path, const char *s, st_endpoint_t *ep, char *errbuf,
                          size_t errlen)
{
    const char *sep = strstr(s, "://");
    if (!sep || sep == s)
        return fail(errbuf, errlen, path, "endpoint \"%s\" is not LISTENER://host:port", s);
    const char *h = sep + 3, *hend, *colon;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend || hend[1] != ':')
            return fail(errbuf, errlen, path, "endpoint \"%s\" has a bad IPv6 host", s);
        colon = hend + 1;
        h++;
    } else {
        colon = strrchr(h, ':');
        if (!colon)
            return fail(errbuf, errlen, path, "endpoint \"%s\" has no port", s);
        hend = colon;
    }
    int64_t port;
    if (!parse_i64(colon + 1, &port) || port < 0 || port > 65535)
        return fail(errbuf, errlen, path, "endpoint \"%s\" has a bad port", s);
    ep->listener = strndup(s, (size_t)(sep - s));
    ep->host = strndup(h, (size_t)(hend - h));
    ep->port = (int32_t)port;
    if (!ep->listener || !ep->host) {
        endpoint_free(ep);
        return -ENOMEM;
    }
    return 0;
}

int st_znode_broker_decode(const char *path, const char *data, size_t len, st_broker_reg_t *ret,
                           char *errbuf, size_t errlen)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    int64_t id;
    if (!slash || !parse_i64(slash + 1, &id) || id < 0 || id > INT32_MAX)
        return fail(errbuf, errlen, path, "the znode name is not a broker id");
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    st_broker_reg_t reg = { .id = (int32_t)id, .jmx_port = -1, .port = -1 };
    int32_t version;
    int r = get_i32(path, root, "version", true, 0, &version, errbuf, errlen);
    if (r == 0)
        r = get_i32(path, root, "jmx_port", false, -1, &reg.jmx_port, errbuf, errlen);
    if (r == 0)
        r = get_i32(path, root, "port", false, -1, &reg.port, errbuf, errlen);
    if (r < 0)
        goto out;
    reg.version = version;
    json_t *v = json_object_get(root, "host");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) {
            r = fail(errbuf, errlen, path, "\"host\" is %s, not a string", json_kind(v));
            goto out;
        }
        reg.host = strdup(json_string_value(v));
    }
    v = json_object_get(root, "rack");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) {
            r = fail(errbuf, errlen, path, "\"rack\" is %s, not a string", json_kind(v));
            goto out;
        }
        reg.rack = strdup(json_string_value(v));
    }
    v = json_object_get(root, "timestamp");
    if (v) {
        int64_t ts = 0;
        if (json_is_string(v) ? !parse_i64(json_string_value(v), &ts)
                              : !json_is_integer(v)) {
            r = fail(errbuf, errlen, path, "\"timestamp\" is not a number of milliseconds");
            goto out;
        }
        reg.timestamp_ms = json_is_integer(v) ? json_integer_value(v) : ts;
    }
    json_t *map = json_object_get(root, "listener_security_protocol_map");
    if (map && !json_is_object(map)) {
        r = fail(errbuf, errlen, path, "\"listener_security_protocol_map\" is %s, not an object",
                 json_kind(map));
        goto out;
    }
    json_t *eps = json_object_get(root, "endpoints");
    if (!eps) {
        r = fail(errbuf, errlen, path, "\"endpoints\" is missing");
        goto out;
    }
    if (!json_is_array(eps)) {
        r = fail(errbuf, errlen, path, "\"endpoints\" is %s, not an array", json_kind(eps));
        goto out;
    }
    size_t n = json_array_size(eps);
    reg.endpoints = n ? calloc(n, sizeof(*reg.endpoints)) : NULL;
    if (n && !reg.endpoints) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(eps, i);
        if (!json_is_string(e)) {
            r = fail(errbuf, errlen, path, "endpoint %zu is %s, not a string", i, json_kind(e));
            goto out;
        }
        st_endpoint_t *ep = &reg.endpoints[i];
        r = parse_endpoint(path, json_string_value(e), ep, errbuf, errlen);
        if (r < 0)
            goto out;
        reg.n_endpoints = i + 1;
        json_t *proto = map ? json_object_get(map, ep->listener) : NULL;
        if (proto && !json_is_string(proto)) {
            r = fail(errbuf, errlen, path, "the security protocol of listener %s is %s, not a string",
                     ep->listener, json_kind(proto));
            goto out;
        }
        const char *p = proto ? json_string_value(proto) : NULL;
        if (!p) {
            /* Kafka's default map: a listener named after a protocol uses that protocol. */
            if (strcmp(ep->listener, "PLAINTEXT") && strcmp(ep->listener, "SSL")) {
                r = fail(errbuf, errlen, path,
                         "listener %s has no entry in listener_security_protocol_map",
                         ep->listener);
                goto out;
            }
            p = ep->listener;
        }
        ep->security_protocol = strdup(p);
        if (!ep->security_protocol) {
            r = -ENOMEM;
            goto out;
        }
    }
    *ret = reg;
    json_decref(root);
    return 0;
out:
    st_broker_reg_free(&reg);
    json_decref(root);
    return r;
}

const st_endpoint_t *st_broker_reg_endpoint(const st_broker_reg_t *reg, const char *listener)
{
    for (size_t i = 0; i < reg->n_endpoints; i++)
        if (strcmp(reg->endpoints[i].listener, listener) == 0)
            return &reg->endpoints[i];
    return NULL;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

int st_broker_reg_copy(st_broker_reg_t *dst, const st_broker_reg_t *src)
{
    bool oom = false;
    st_broker_reg_t c = *src;
    c.endpoints = src->n_endpoints ? calloc(src->n_endpoints, sizeof(*c.endpoints)) : NULL;
    c.n_endpoints = c.endpoints ? src->n_endpoints : 0;
    if (src->n_endpoints && !c.endpoints)
        oom = true;
    for (size_t i = 0; i < c.n_endpoints; i++) {
        c.endpoints[i].listener = dup_or_null(src->endpoints[i].listener, &oom);
        c.endpoints[i].security_protocol = dup_or_null(src->endpoints[i].security_protocol, &oom);
        c.endpoints[i].host = dup_or_null(src->endpoints[i].host, &oom);
        c.endpoints[i].port = src->endpoints[i].port;
    }
    c.rack = dup_or_null(src->rack, &oom);
    c.host = dup_or_null(src->host, &oom);
    if (oom) {
        st_broker_reg_free(&c);
        return -ENOMEM;
    }
    *dst = c;
    return 0;
}

void st_broker_reg_describe(const st_broker_reg_t *reg, char *buf, size_t size)
{
    size_t off = 0;
    if (size)
        buf[0] = 0;
    for (size_t i = 0; i < reg->n_endpoints && off < size; i++) {
        const st_endpoint_t *ep = &reg->endpoints[i];
        int n = snprintf(buf + off, size - off, "%s%s://%s:%d", i ? "," : "", ep->listener,
                         ep->host, ep->port);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    if (reg->n_endpoints == 0 && size)
        snprintf(buf, size, "(no endpoints)");
}

/* ---- /brokers/topics/<t> ----------------------------------------------------------------- */

char *st_znode_topic_encode(const st_topic_assignment_t *ta)
{
    json_t *root = json_object();
    json_t *parts = json_object(), *adding = json_object(), *removing = json_object();
    char key[16];
    for (int32_t p = 0; p < ta->n_partitions; p++) {
        snprintf(key, sizeof(key), "%d", p);
        json_object_set_new(parts, key, int_list_to_json(&ta->replicas[p]));
        if (ta->adding && ta->adding[p].n)
            json_object_set_new(adding, key, int_list_to_json(&ta->adding[p]));
        if (ta->removing && ta->removing[p].n)
            json_object_set_new(removing, key, int_list_to_json(&ta->removing[p]));
    }
    json_object_set_new(root, "version", json_integer(ta->topic_id ? 3 : 2));
    json_object_set_new(root, "partitions", parts);
    json_object_set_new(root, "adding_replicas", adding);
    json_object_set_new(root, "removing_replicas", removing);
    if (ta->topic_id)
        json_object_set_new(root, "topic_id", json_string(ta->topic_id));
    return dump(root);
}

void st_topic_assignment_free(st_topic_assignment_t *ta)
{
    if (!ta)
        return;
    for (int32_t p = 0; p < ta->n_partitions; p++) {
        if (ta->replicas)
            st_int_list_free(&ta->replicas[p]);
        if (ta->adding)
            st_int_list_free(&ta->adding[p]);
        if (ta->removing)
            st_int_list_free(&ta->removing[p]);
    }
    free(ta->replicas);
    free(ta->adding);
    free(ta->removing);
    free(ta->topic_id);
    memset(ta, 0, sizeof(*ta));
}

#define ST_ZNODE_MAX_PARTITIONS 1000000

static int partition_key(const char *path, const char *what, const char *key, int32_t limit,
                         int32_t *out, char *errbuf, size_t errlen)
{
    int64_t p;
    if (!parse_i64(key, &p))
        return fail(errbuf, errlen, path, "%s: partition \"%s\" is not a number", what, key);
    if (p < 0 || p >= limit)
        return fail(errbuf, errlen, path, "%s: partition %s is out of range", what, key);
    *out = (int32_t)p;
    return 0;
}

/* adding_replicas / removing_replicas: {"<p>":[ids]} for partitions < n. */
static int decode_replica_map(const char *path, const char *what, json_t *obj, int32_t n,
                              st_int_list_t *lists, char *errbuf, size_t errlen)
{
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return fail(errbuf, errlen, path, "\"%s\" is %s, not an object", what, json_kind(obj));
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        int32_t p = 0;
        int r = partition_key(path, what, key, n, &p, errbuf, errlen);
        if (r < 0)
            return r;
        char where[64];
        snprintf(where, sizeof(where), "%s of partition %d", what, p);
        st_int_list_free(&lists[p]);
        r = int_list_from_json(path, where, val, &lists[p], errbuf, errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

int st_znode_topic_decode(const char *path, const char *data, size_t len,
                          st_topic_assignment_t *ret, char *errbuf, size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    st_topic_assignment_t ta = { 0 };
    int32_t version;
    int r = get_i32(path, root, "version", true, 0, &version, errbuf, errlen);
    if (r < 0)
        goto out;
    ta.version = version;
    json_t *parts = json_object_get(root, "partitions");
    if (!parts) {
        r = fail(errbuf, errlen, path, "\"partitions\" is missing");
        goto out;
    }
    if (!json_is_object(parts)) {
        r = fail(errbuf, errlen, path, "\"partitions\" is %s, not an object", json_kind(parts));
        goto out;
    }
    size_t n = json_object_size(parts);
    if (n == 0) {
        r = fail(errbuf, errlen, path, "\"partitions\" is empty");
        goto out;
    }
    if (n > ST_ZNODE_MAX_PARTITIONS) {
        r = fail(errbuf, errlen, path, "too many partitions (%zu)", n);
        goto out;
    }
    ta.replicas = calloc(n, sizeof(*ta.replicas));
    ta.adding = calloc(n, sizeof(*ta.adding));
    ta.removing = calloc(n, sizeof(*ta.removing));
    if (!ta.replicas || !ta.adding || !ta.removing) {
        r = -ENOMEM;
        goto out;
    }
    ta.n_partitions = (int32_t)n;
    bool *seen = calloc(n, 1);
    if (!seen) {
        r = -ENOMEM;
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(parts, key, val) {
        int32_t p = 0;
        int64_t raw;
        if (parse_i64(key, &raw) && raw >= (int64_t)n && raw >= 0) {
            r = fail(errbuf, errlen, path,
                     "partition %s is out of range: %zu partitions must be numbered 0..%zu", key,
                     n, n - 1);
            break;
        }
        r = partition_key(path, "partitions", key, (int32_t)n, &p, errbuf, errlen);
        if (r < 0)
            break;
        if (seen[p]) {
            r = fail(errbuf, errlen, path, "partition %d appears twice", p);
            break;
        }
        seen[p] = true;
        char where[48];
        snprintf(where, sizeof(where), "the replicas of partition %d", p);
        r = int_list_from_json(path, where, val, &ta.replicas[p], errbuf, errlen);
        if (r < 0)
            break;
        if (ta.replicas[p].n == 0) {
            r = fail(errbuf, errlen, path, "partition %d has no replicas", p);
            break;
        }
        for (size_t i = 0; i < ta.replicas[p].n && r == 0; i++) {
            if (ta.replicas[p].v[i] < 0)
                r = fail(errbuf, errlen, path, "partition %d: replica %d is not a broker id", p,
                         ta.replicas[p].v[i]);
            for (size_t j = 0; j < i && r == 0; j++)
                if (ta.replicas[p].v[j] == ta.replicas[p].v[i])
                    r = fail(errbuf, errlen, path, "partition %d: replica %d is listed twice",
                             p, ta.replicas[p].v[i]);
        }
        if (r < 0)
            break;
    }
    free(seen);
    if (r < 0)
        goto out;
    r = decode_replica_map(path, "adding_replicas", json_object_get(root, "adding_replicas"),
                           ta.n_partitions, ta.adding, errbuf, errlen);
    if (r == 0)
        r = decode_replica_map(path, "removing_replicas",
                               json_object_get(root, "removing_replicas"), ta.n_partitions,
                               ta.removing, errbuf, errlen);
    if (r < 0)
        goto out;
    json_t *tid = json_object_get(root, "topic_id");
    if (tid && !json_is_null(tid)) {
        if (!json_is_string(tid)) {
            r = fail(errbuf, errlen, path, "\"topic_id\" is %s, not a string", json_kind(tid));
            goto out;
        }
        ta.topic_id = strdup(json_string_value(tid));
    }
    *ret = ta;
    json_decref(root);
    return 0;
out:
    st_topic_assignment_free(&ta);
    json_decref(root);
    return r;
}

/* ---- partition state ---------------------------------------------------------------------- */

char *st_znode_lisr_encode(const st_lisr_t *lisr)
{
    json_t *root = json_object();
    json_object_set_new(root, "controller_epoch", json_integer(lisr->controller_epoch));
    json_object_set_new(root, "leader", json_integer(lisr->leader));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "leader_epoch", json_integer(lisr->leader_epoch));
    json_object_set_new(root, "isr", int_list_to_json(&lisr->isr));
    return dump(root);
}

int st_znode_lisr_decode(const char *path, const char *data, size_t len, st_lisr_t *ret,
                         char *errbuf, size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    st_lisr_t l = { 0 };
    int32_t version;
    int r = get_i32(path, root, "version", true, 0, &version, errbuf, errlen);
    if (r == 0)
        r = get_i32(path, root, "controller_epoch", true, 0, &l.controller_epoch, errbuf, errlen);
    if (r == 0)
        r = get_i32(path, root, "leader", true, 0, &l.leader, errbuf, errlen);
    if (r == 0)
        r = get_i32(path, root, "leader_epoch", true, 0, &l.leader_epoch, errbuf, errlen);
    if (r == 0 && l.leader < ST_LEADER_DURING_DELETE)
        r = fail(errbuf, errlen, path, "\"leader\" (%d) is not a broker id, -1 or -2", l.leader);
    if (r == 0 && l.leader_epoch < 0)
        r = fail(errbuf, errlen, path, "\"leader_epoch\" (%d) is negative", l.leader_epoch);
    if (r == 0) {
        json_t *isr = json_object_get(root, "isr");
        r = isr ? int_list_from_json(path, "\"isr\"", isr, &l.isr, errbuf, errlen)
                : fail(errbuf, errlen, path, "\"isr\" is missing");
    }
    json_decref(root);
    if (r < 0)
        return r;
    *ret = l;
    return 0;
}

void st_lisr_free(st_lisr_t *lisr)
{
    if (lisr)
        st_int_list_free(&lisr->isr);
}

int st_lisr_copy(st_lisr_t *dst, const st_lisr_t *src)
{
    st_lisr_t c = *src;
    if (st_int_list_copy(&c.isr, &src->isr) < 0)
        return -ENOMEM;
    *dst = c;
    return 0;
}

/* ---- /controller, /controller_epoch ------------------------------------------------------- */

char *st_znode_controller_encode(int32_t broker_id, int64_t timestamp_ms)
{
    char ts[24];
    snprintf(ts, sizeof(ts), "%" PRId64, timestamp_ms);
    json_t *root = json_object();
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "brokerid", json_integer(broker_id));
    json_object_set_new(root, "timestamp", json_string(ts));
    return dump(root);
}

int st_znode_controller_decode(const char *path, const char *data, size_t len,
                               int32_t *ret_broker_id, char *errbuf, size_t errlen)
{
    json_t *root = load_object(path, data, len, errbuf, errlen);
    if (!root)
        return -EINVAL;
    int32_t id = 0;
    int r = get_i32(path, root, "brokerid", true, 0, &id, errbuf, errlen);
    json_decref(root);
    if (r == 0 && id < 0)
        r = fail(errbuf, errlen, path, "\"brokerid\" (%d) is negative", id);
    if (r == 0)
        *ret_broker_id = id;
    return r;
}

char *st_znode_controller_epoch_encode(int32_t epoch)
{
    char *s = malloc(16);
    if (s)
        snprintf(s, 16, "%d", epoch);
    return s;
}

int st_znode_controller_epoch_decode(const char *path, const char *data, size_t len,
                                     int32_t *ret_epoch, char *errbuf, size_t errlen)
{
    char buf[32];
    if (!data || len == 0)
        return fail(errbuf, errlen, path, "no data (expected an integer)");
    /* tolerate surrounding whitespace from a hand edit */
    while (len && (*data == ' ' || *data == '\n' || *data == '\t' || *data == '\r'))
        data++, len--;
    while (len && (data[len - 1] == ' ' || data[len - 1] == '\n' || data[len - 1] == '\r' ||
                   data[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return fail(errbuf, errlen, path, "not an integer");
    memcpy(buf, data, len);
    buf[len] = 0;
    int64_t x;
    if (!parse_i64(buf, &x))
        return fail(errbuf, errlen, path, "\"%s\" is not an integer", buf);
    if (x < 0 || x > INT32_MAX)
        return fail(errbuf, errlen, path, "epoch %s is out of range", buf);
    *ret_epoch = (int32_t)x;
    return 0;
}

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
