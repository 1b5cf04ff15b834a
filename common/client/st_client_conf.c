/* The client library's configuration table (Kafka property names) and the strand_conf_* API of
 * strand.h built on the shared st_config machinery. */
#include "st_client_conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "st_assignor.h"
#include "st_batch.h"

#define OFF(f) offsetof(st_client_conf_t, f)
#define IMAX INT32_MAX
#define LMAX INT64_MAX

const st_cfg_def_t st_client_conf_table[] = {
    { "bootstrap.servers", ST_CFG_LIST, NULL, 0, 0, NULL, OFF(bootstrap_servers),
      "host:port pairs of brokers to bootstrap from, comma-separated", false },
    { "client.id", ST_CFG_STRING, "strand", 0, 0, NULL, OFF(client_id),
      "Id sent in every request header, for the broker's logs", false },
    { "security.protocol", ST_CFG_STRING, "PLAINTEXT", 0, 0, "PLAINTEXT,SSL", OFF(security_protocol),
      "Transport to the brokers: PLAINTEXT or SSL (TLS)", false },
    { "ssl.ca.location", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_ca_location),
      "SSL: PEM file (or c_rehash'd directory) of the CAs that sign broker certificates; unset: "
      "the system's trusted CAs", false },
    { "ssl.certificate.location", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_certificate_location),
      "SSL: PEM client certificate (mutual TLS; the broker sees User:<its subject>)", false },
    { "ssl.key.location", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_key_location),
      "SSL: PEM private key of the client certificate", false },
    { "ssl.key.password", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_key_password),
      "SSL: password of an encrypted ssl.key.location", true },
    { "ssl.endpoint.identification.algorithm", ST_CFG_STRING, "https", 0, 0, NULL,
      OFF(ssl_endpoint_identification_algorithm),
      "SSL: https checks that the broker certificate names the host connected to (DNS or IP "
      "subjectAltName); empty turns the check off", false },
    { "ssl.enabled.protocols", ST_CFG_LIST, "TLSv1.3,TLSv1.2", 0, 0, NULL, OFF(ssl_enabled_protocols),
      "SSL: TLS versions offered (TLSv1.3, TLSv1.2, TLSv1.1, TLSv1)", false },
    { "ssl.cipher.suites", ST_CFG_LIST, NULL, 0, 0, NULL, OFF(ssl_cipher_suites),
      "SSL: cipher suites offered, IANA or OpenSSL names; unset: OpenSSL's defaults, AES-GCM first",
      false },
    { "socket.connection.setup.timeout.ms", ST_CFG_INT, "10000", 1, IMAX, NULL,
      OFF(socket_connection_setup_timeout_ms),
      "Time allowed for a connection (TCP connect, handshake, ApiVersions) to be set up", false },
    { "reconnect.backoff.ms", ST_CFG_INT, "50", 0, IMAX, NULL, OFF(reconnect_backoff_ms),
      "Wait before reconnecting to a broker after a failure (doubles up to the max)", false },
    { "reconnect.backoff.max.ms", ST_CFG_INT, "1000", 0, IMAX, NULL, OFF(reconnect_backoff_max_ms),
      "Upper bound of the reconnect backoff", false },
    { "request.timeout.ms", ST_CFG_INT, "30000", 1, IMAX, NULL, OFF(request_timeout_ms),
      "A request without a response after this long fails and its connection is closed", false },
    { "metadata.max.age.ms", ST_CFG_LONG, "300000", 0, LMAX, NULL, OFF(metadata_max_age_ms),
      "Refresh metadata at least this often", false },
    { "retry.backoff.ms", ST_CFG_INT, "100", 0, IMAX, NULL, OFF(retry_backoff_ms),
      "Wait before retrying a failed request", false },
    /* producer */
    { "acks", ST_CFG_STRING, "all", 0, 0, "0,1,-1,all", OFF(acks),
      "Producer: acknowledgements the leader waits for (0 none, 1 leader, -1/all all ISR)", false },
    { "linger.ms", ST_CFG_INT, "5", 0, IMAX, NULL, OFF(linger_ms),
      "Producer: wait up to this long for more records before sending a batch", false },
    { "batch.size", ST_CFG_INT, "65536", 1, IMAX, NULL, OFF(batch_size),
      "Producer: bytes of records per partition batch", false },
    { "compression.type", ST_CFG_STRING, "none", 0, 0, "none,lz4", OFF(compression_type),
      "Producer: batch compression (none or lz4; gzip, snappy and zstd are not supported)", false },
    { "retries", ST_CFG_INT, "2147483647", 0, IMAX, NULL, OFF(retries),
      "Producer: retries of a batch that failed with a retriable error", false },
    { "delivery.timeout.ms", ST_CFG_INT, "120000", 1, IMAX, NULL, OFF(delivery_timeout_ms),
      "Producer: upper bound from strand_produce() to the delivery report", false },
    { "max.in.flight.requests.per.connection", ST_CFG_INT, "5", 1, 1000, NULL, OFF(max_in_flight),
      "Producer: unacknowledged produce requests per broker connection", false },
    { "max.request.size", ST_CFG_INT, "1048576", 1024, IMAX, NULL, OFF(max_request_size),
      "Producer: bytes of record batches in one produce request (and the largest record)", false },
    { "buffer.memory", ST_CFG_LONG, "33554432", 1024, LMAX, NULL, OFF(buffer_memory),
      "Producer: bytes of batches buffered before strand_produce() blocks", false },
    { "max.block.ms", ST_CFG_LONG, "60000", 0, LMAX, NULL, OFF(max_block_ms),
      "Producer: how long strand_produce() may block for buffer space or metadata", false },
    { "enable.idempotence", ST_CFG_BOOL, "false", 0, 0, NULL, OFF(enable_idempotence),
      "Producer: idempotent writes (not supported yet: only false is accepted)", false },
    /* consumer */
    { "fetch.min.bytes", ST_CFG_INT, "1", 0, IMAX, NULL, OFF(fetch_min_bytes),
      "Consumer: the broker waits for this many bytes before answering a fetch", false },
    { "fetch.max.bytes", ST_CFG_INT, "52428800", 1024, IMAX, NULL, OFF(fetch_max_bytes),
      "Consumer: bytes one fetch response may carry", false },
    { "fetch.max.wait.ms", ST_CFG_INT, "500", 0, IMAX, NULL, OFF(fetch_max_wait_ms),
      "Consumer: longest the broker waits for fetch.min.bytes", false },
    { "max.partition.fetch.bytes", ST_CFG_INT, "1048576", 1, IMAX, NULL,
      OFF(max_partition_fetch_bytes), "Consumer: bytes per partition in one fetch", false },
    { "max.poll.records", ST_CFG_INT, "500", 1, 1000000, NULL, OFF(max_poll_records),
      "Consumer: most records returned by one poll", false },
    { "auto.offset.reset", ST_CFG_STRING, "latest", 0, 0, "earliest,latest,none",
      OFF(auto_offset_reset),
      "Consumer: where to start with no valid position (none: report an error)", false },
    { "check.crcs", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(check_crcs),
      "Consumer: verify the CRC-32C of fetched batches", false },
    /* consumer groups */
    { "group.id", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(group_id),
      "Consumer: the consumer group this consumer belongs to; needed by subscribe and by "
      "committed offsets", false },
    { "group.instance.id", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(group_instance_id),
      "Consumer: static membership (KIP-345): a restart within session.timeout.ms keeps the "
      "assignment without a rebalance; unset: a dynamic member", false },
    { "partition.assignment.strategy", ST_CFG_LIST, "range", 0, 0, NULL,
      OFF(partition_assignment_strategy),
      "Consumer: assignors in order of preference: range, roundrobin, sticky, "
      "cooperative-sticky (or Kafka's class names, e.g. "
      "org.apache.kafka.clients.consumer.CooperativeStickyAssignor)", false },
    { "session.timeout.ms", ST_CFG_INT, "45000", 1, IMAX, NULL, OFF(session_timeout_ms),
      "Consumer: a member without a heartbeat for this long is removed from its group", false },
    { "heartbeat.interval.ms", ST_CFG_INT, "3000", 1, IMAX, NULL, OFF(heartbeat_interval_ms),
      "Consumer: time between heartbeats to the group coordinator (below session.timeout.ms)",
      false },
    { "max.poll.interval.ms", ST_CFG_INT, "300000", 1, IMAX, NULL, OFF(max_poll_interval_ms),
      "Consumer: longest time between polls before the member leaves its group; also the "
      "rebalance timeout sent in JoinGroup", false },
    { "enable.auto.commit", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(enable_auto_commit),
      "Consumer: commit positions every auto.commit.interval.ms, before a revocation and on "
      "close (needs group.id)", false },
    { "auto.commit.interval.ms", ST_CFG_INT, "5000", 0, IMAX, NULL, OFF(auto_commit_interval_ms),
      "Consumer: how often positions are committed with enable.auto.commit", false },
    { "exclude.internal.topics", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(exclude_internal_topics),
      "Consumer: a pattern subscription never matches internal topics (__consumer_offsets)",
      false },
    ST_CFG_END
};

static void put_err(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put_err(char *errstr, size_t size, const char *fmt, ...)
{
    if (!errstr || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, size, fmt, ap);
    va_end(ap);
}

/* Edit distance between a and b (both short), for "did you mean" suggestions. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The configuration key closest to an unknown one, if it is plausibly a typo. */
static const char *closest_key(const char *key)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (const st_cfg_def_t *def = st_client_conf_table; def->name; def++) {
        size_t d = edit_distance(key, def->name);
        if (d < best_d) {
            best_d = d;
            best = def->name;
        }
    }
    return best_d <= 3 ? best : NULL;
}

strand_conf_t *strand_conf_new(void)
{
    strand_conf_t *conf = calloc(1, sizeof(*conf));
    if (!conf)
        return NULL;
    st_cfg_init(st_client_conf_table, &conf->props);
    return conf;
}

void strand_conf_destroy(strand_conf_t *conf)
{
    if (!conf)
        return;
    st_cfg_free(st_client_conf_table, &conf->props);
    free(conf);
}

strand_conf_t *strand_conf_dup(const strand_conf_t *conf)
{
    strand_conf_t *copy = malloc(sizeof(*copy));
    if (!copy)
        return NULL;
    *copy = *conf;
    for (const st_cfg_def_t *def = st_client_conf_table; def->name; def++) {
        if (def->type != ST_CFG_STRING && def->type != ST_CFG_LIST)
            continue;
        char **slot = (char **)((char *)&copy->props + def->offset);
        if (*slot && !(*slot = strdup(*slot))) {
            /* Null the remaining (still shared) pointers before freeing what was copied. */
            for (const st_cfg_def_t *d = def + 1; d->name; d++)
                if (d->type == ST_CFG_STRING || d->type == ST_CFG_LIST)
                    *(char **)((char *)&copy->props + d->offset) = NULL;
            strand_conf_destroy(copy);
            return NULL;
        }
    }
    return copy;
}

int strand_conf_set(strand_conf_t *conf, const char *key, const char *value, char *errstr,
                    size_t errstr_size)
{
    if (!conf || !key || !value) {
        put_err(errstr, errstr_size, "strand_conf_set: NULL argument");
        return ST_ERR_INVALID_ARG;
    }
    if (strcmp(key, "compression.type") == 0) {
        st_compression_t codec;
        int r = st_compression_parse(value, &codec);
        if (r == -ENOTSUP) {
            put_err(errstr, errstr_size,
                    "compression.type=%s: '%s' is not supported by Strand (accepted: none, lz4)",
                    value, value);
            return ST_ERR_INVALID_CONFIG;
        }
    } else if (strcmp(key, "enable.idempotence") == 0 && strcasecmp(value, "true") == 0) {
        put_err(errstr, errstr_size,
                "enable.idempotence=true: idempotent production is not supported yet "
                "(accepted: false)");
        return ST_ERR_INVALID_CONFIG;
    } else if (strcmp(key, "partition.assignment.strategy") == 0) {
        if (st_assignor_parse_list(value, NULL, NULL, errstr, errstr_size) < 0)
            return ST_ERR_INVALID_CONFIG;
    } else if (strcmp(key, "bootstrap.servers") == 0) {
        st_hostport_t *list = NULL;
        size_t n = 0;
        if (st_client_parse_bootstrap(value, &list, &n, errstr, errstr_size) < 0)
            return ST_ERR_INVALID_CONFIG;
        free(list);
    }
    st_cfg_error_t err;
    int r = st_cfg_set(st_client_conf_table, &conf->props, key, value, &err);
    if (r == -ENOENT) {
        const char *near = closest_key(key);
        if (near)
            put_err(errstr, errstr_size, "unknown configuration property '%s' (did you mean "
                    "'%s'? --help-config lists them all)", key, near);
        else
            put_err(errstr, errstr_size, "unknown configuration property '%s' "
                    "(--help-config lists the accepted ones)", key);
        return ST_ERR_INVALID_CONFIG;
    }
    if (r < 0) {
        put_err(errstr, errstr_size, "%s", err.msg);
        return ST_ERR_INVALID_CONFIG;
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int strand_conf_set_kv(strand_conf_t *conf, const char *kv, char *errstr, size_t errstr_size)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq || eq == kv) {
        put_err(errstr, errstr_size, "'%s': expected key=value", kv ? kv : "(null)");
        return ST_ERR_INVALID_CONFIG;
    }
    char *copy = strdup(kv);
    if (!copy) {
        put_err(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    copy[eq - kv] = '\0';
    int r = strand_conf_set(conf, trim(copy), trim(copy + (eq - kv) + 1), errstr, errstr_size);
    free(copy);
    return r;
}

int strand_conf_load_file(strand_conf_t *conf, const char *path, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        put_err(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        return ST_ERR_INVALID_CONFIG;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, ret = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *sep = s + strcspn(s, "=:");
        if (!*sep || sep == s) {
            put_err(errstr, errstr_size, "%s:%d: expected key=value, got '%s'", path, lineno, s);
            ret = ST_ERR_INVALID_CONFIG;
            break;
        }
        *sep = '\0';
        char msg[512];
        int r = strand_conf_set(conf, trim(s), trim(sep + 1), msg, sizeof(msg));
        if (r != 0) {
            put_err(errstr, errstr_size, "%s:%d: %s", path, lineno, msg);
            ret = r;
            break;
        }
    }
    free(line);
    fclose(f);
    return ret;
}

int strand_conf_get(const strand_conf_t *conf, const char *key, char *buf, size_t buf_size)
{
    const st_cfg_def_t *def = st_cfg_find(st_client_conf_table, key);
    if (!def || !buf || buf_size == 0)
        return def ? ST_ERR_INVALID_ARG : ST_ERR_INVALID_CONFIG;
    const void *field = (const char *)&conf->props + def->offset;
    switch (def->type) {
    case ST_CFG_INT: snprintf(buf, buf_size, "%" PRId32, *(const int32_t *)field); break;
    case ST_CFG_LONG: snprintf(buf, buf_size, "%" PRId64, *(const int64_t *)field); break;
    case ST_CFG_BOOL: snprintf(buf, buf_size, "%s", *(const bool *)field ? "true" : "false"); break;
    case ST_CFG_DOUBLE: snprintf(buf, buf_size, "%g", *(const double *)field); break;
    case ST_CFG_STRING:
    case ST_CFG_LIST: {
        const char *s = *(char *const *)field;
        snprintf(buf, buf_size, "%s", s ? s : "");
        break;
    }
    case ST_CFG_ENUM:
    case ST_CFG_SET:
        st_cfg_format_one(def, &conf->props, buf, buf_size);
        break;
    }
    return 0;
}

void strand_conf_print_help(FILE *out)
{
    st_cfg_print_help(st_client_conf_table, out);
}

void strand_conf_set_delivery_cb(strand_conf_t *conf, strand_delivery_cb_t *cb, void *opaque)
{
    conf->delivery_cb = cb;
    conf->delivery_opaque = opaque;
}

void strand_conf_set_rebalance_cb(strand_conf_t *conf, strand_rebalance_cb_t *cb, void *opaque)
{
    conf->rebalance_cb = cb;
    conf->rebalance_opaque = opaque;
}

void strand_conf_set_log_cb(strand_conf_t *conf, strand_log_cb_t *cb, void *opaque)
{
    conf->log_cb = cb;
    conf->log_opaque = opaque;
}

int st_client_parse_bootstrap(const char *servers, st_hostport_t **ret_list, size_t *ret_count,
                              char *errstr, size_t errstr_size)
{
    char *copy = strdup(servers ? servers : "");
    if (!copy)
        return -ENOMEM;
    size_t cap = 4, n = 0;
    st_hostport_t *list = calloc(cap, sizeof(*list));
    int ret = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); list && tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        if (!*tok)
            continue;
        char *host = tok, *colon;
        if (*tok == '[') {
            char *close = strchr(tok, ']');
            colon = close ? close + 1 : NULL;
            if (!close || *colon != ':')
                colon = NULL;
            else {
                *close = '\0';
                host = tok + 1;
            }
        } else {
            colon = strrchr(tok, ':');
        }
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == host || !end || *end || end == colon + 1 || port <= 0 || port > 65535) {
            put_err(errstr, errstr_size, "bootstrap.servers: '%s' is not host:port "
                    "(port 1-65535)", tok);
            ret = -EINVAL;
            break;
        }
        *colon = '\0';
        if (strlen(host) >= sizeof(list[0].host)) {
            put_err(errstr, errstr_size, "bootstrap.servers: host name too long");
            ret = -EINVAL;
            break;
        }
        if (n == cap) {
            st_hostport_t *grown = realloc(list, 2 * cap * sizeof(*list));
            if (!grown) {
                ret = -ENOMEM;
                break;
            }
            list = grown;
            cap *= 2;
        }
        snprintf(list[n].host, sizeof(list[n].host), "%s", host);
        list[n].port = (int)port;
        n++;
    }
    free(copy);
    if (!list)
        return -ENOMEM;
    if (ret == 0 && n == 0) {
        put_err(errstr, errstr_size, "bootstrap.servers: no host:port given");
        ret = -EINVAL;
    }
    if (ret < 0) {
        free(list);
        return ret;
    }
    *ret_list = list;
    *ret_count = n;
    return 0;
}

int st_client_conf_acks(const st_client_conf_t *conf)
{
    if (strcmp(conf->acks, "0") == 0)
        return 0;
    if (strcmp(conf->acks, "1") == 0)
        return 1;
    return -1;
}

int st_client_conf_check(const st_client_conf_t *conf, char *errstr, size_t errstr_size)
{
    if (!conf->bootstrap_servers || !*conf->bootstrap_servers) {
        put_err(errstr, errstr_size, "bootstrap.servers is required (host:port[,host:port])");
        return ST_ERR_INVALID_CONFIG;
    }
    if (conf->reconnect_backoff_max_ms < conf->reconnect_backoff_ms) {
        put_err(errstr, errstr_size, "reconnect.backoff.max.ms (%d) is below reconnect.backoff.ms (%d)",
                conf->reconnect_backoff_max_ms, conf->reconnect_backoff_ms);
        return ST_ERR_INVALID_CONFIG;
    }
    if (conf->fetch_max_bytes < conf->fetch_min_bytes) {
        put_err(errstr, errstr_size, "fetch.max.bytes (%d) is below fetch.min.bytes (%d)",
                conf->fetch_max_bytes, conf->fetch_min_bytes);
        return ST_ERR_INVALID_CONFIG;
    }
    return 0;
}
