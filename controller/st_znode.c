/* ZooKeeper znode paths and JSON payload codecs (jansson), Kafka's ZooKeeper-mode formats:
 * broker registrations, topic assignments, partition states, /controller and
 * /controller_epoch. The admin znodes (topic-partition lists, reassignments, topic configs,
 * /cluster/id) are in st_znode_admin.c; both share st_znode_json.h. Decoders are strict about
 * types (a hand-edited znode gets a clear error naming its path), lenient about key order and
 * unknown keys. See st_znode.h. */
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

const char *const st_znode_persistent_paths[] = {
    "/consumers", "/brokers/ids", "/brokers/topics", "/config/changes", "/admin/delete_topics",
    "/brokers/seqid", "/isr_change_notification", "/latest_producer_id_block",
    "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",
    "/config/brokers", "/config/ips", NULL,
};

/* ---- paths -------------------------------------------------------------------------------- */

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
int st_zpath_entity_config(char *buf, size_t size, const char *entity_type, const char *name)
{
    return pathf(buf, size, "/config/%s/%s", entity_type, name);
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

void st_broker_reg_free(st_broker_reg_t *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n_endpoints; i++)
        st_endpoint_free(&reg->endpoints[i]);
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
    for (const char *c = h; c < hend; c++)
        if (*c == '[' || *c == ']')   /* "![::1]": written back as "[![::1]]", unreadable */
            return fail(errbuf, errlen, path, "endpoint \"%s\" has a bad host", s);
    int64_t port;
    if (!parse_i64(colon + 1, &port) || port < 0 || port > 65535)
        return fail(errbuf, errlen, path, "endpoint \"%s\" has a bad port", s);
    ep->listener = strndup(s, (size_t)(sep - s));
    ep->host = strndup(h, (size_t)(hend - h));
    ep->port = (int32_t)port;
    if (!ep->listener || !ep->host) {
        st_endpoint_free(ep);
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
    /* An ISR is a set of broker ids: [3,3] or [-1] would make every broker refuse the whole
     * UpdateMetadata that carries it (broker/cluster/metadata_cache.c validate_partition). */
    for (size_t i = 0; r == 0 && i < l.isr.n; i++) {
        if (l.isr.v[i] < 0)
            r = fail(errbuf, errlen, path, "\"isr\": %d is not a broker id", l.isr.v[i]);
        for (size_t j = 0; r == 0 && j < i; j++)
            if (l.isr.v[j] == l.isr.v[i])
                r = fail(errbuf, errlen, path, "\"isr\" lists broker %d twice", l.isr.v[i]);
    }
    if (r < 0)
        st_int_list_free(&l.isr);
    json_decref(root);
    if (r < 0)
        return r;
    *ret = l;
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
    int32_t id = -1;
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

