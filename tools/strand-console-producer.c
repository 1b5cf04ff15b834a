/* strand-console-producer: reads records from stdin, one per line, and produces them, with the
 * flags of Kafka's kafka-console-producer.sh (--property parse.key=true key.separator=: ...,
 * --producer-property, --producer.config, --compression-codec, --broker-list as Kafka 3.x still
 * accepts it). A record that cannot be sent (larger than max.request.size, or failed delivery)
 * is logged as Kafka's ErrorLoggingCallback does and the next line is read; an error that
 * would fail every line (the topic is invalid, forbidden or never appears) ends the tool.
 * Exits 1 if any record failed. Retries are logged on stderr (tool_log_to_stderr). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: server to connect to>",
      "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to "
      "(host:port[,host:port]).", false, NULL, NULL, 0 },
    { "--broker-list", TOOL_VALUE, "<String: broker-list>",
      "DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is specified.",
      false, NULL, NULL, 0 },
    { "--topic", TOOL_VALUE, "<String: topic>", "REQUIRED: The topic id to produce messages to.",
      false, NULL, NULL, 0 },
    { "--property", TOOL_MULTI, "<String: prop>",
      "Line reader properties: parse.key, key.separator (default \\t), parse.headers, "
      "headers.delimiter (\\t), headers.separator (,), headers.key.separator (:), "
      "null.marker, ignore.error.", false, NULL, NULL, 0 },
    { "--producer-property", TOOL_MULTI, "<String: producer_prop>",
      "A producer property k=v (any key of the client library, repeatable).", false, NULL, NULL, 0 },
    { "--producer.config", TOOL_VALUE, "<String: config file>",
      "Producer config properties file (--producer-property wins).", false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: config file>",
      "Client config properties file (security.protocol, ssl.*, ...); same as --producer.config.",
      false, NULL, NULL, 0 },
    { "--compression-codec", TOOL_OPTIONAL, "[String: compression-codec]",
      "'none' or 'lz4' (gzip, snappy and zstd are not supported). Without a value: lz4.",
      false, NULL, NULL, 0 },
    { "--request-required-acks", TOOL_VALUE, "<String: acks>", "acks: 0, 1, -1 or all (default -1).",
      false, NULL, NULL, 0 },
    { "--batch-size", TOOL_VALUE, "<Integer: size>", "batch.size in bytes.", false, NULL, NULL, 0 },
    { "--timeout", TOOL_VALUE, "<Integer: timeout_ms>", "linger.ms: how long to wait for a batch to fill.",
      false, NULL, NULL, 0 },
    { "--request-timeout-ms", TOOL_VALUE, "<Integer: ms>", "request.timeout.ms.", false, NULL, NULL, 0 },
    { "--max-block-ms", TOOL_VALUE, "<Long: ms>", "max.block.ms.", false, NULL, NULL, 0 },
    { "--message-send-max-retries", TOOL_VALUE, "<Integer>", "retries.", false, NULL, NULL, 0 },
    { "--retry-backoff-ms", TOOL_VALUE, "<Integer>", "retry.backoff.ms.", false, NULL, NULL, 0 },
    { "--sync", TOOL_FLAG, NULL, "Wait for each record to be acknowledged before sending the next.",
      false, NULL, NULL, 0 },
    TOOL_OPT_END
};

static atomic_long failures;
static atomic_long delivered;

/* A record's key and value sizes travel as its delivery opaque: key size + 1 (0 = null key) in
 * the high 32 bits, the value size in the low ones. */
static void *sizes_opaque(const char *key, const char *value)
{
    uint64_t k = key ? (uint64_t)strlen(key) + 1 : 0, v = value ? strlen(value) : 0;
    return (void *)(uintptr_t)((k << 32) | (v & 0xffffffffu));
}

/* Kafka's ErrorLoggingCallback line: "Error when sending message to topic t with key: null,
 * value: 5 bytes with error: ...". */
static void say_send_error(const char *topic, void *sizes, int err, const char *why)
{
    uint64_t v = (uint64_t)(uintptr_t)sizes;
    char key[32];
    if (v >> 32)
        snprintf(key, sizeof(key), "%llu bytes", (unsigned long long)((v >> 32) - 1));
    else
        snprintf(key, sizeof(key), "null");
    tool_warn("Error when sending message to topic %s with key: %s, value: %llu bytes with error: "
              "%s: %s", topic, key, (unsigned long long)(v & 0xffffffffu), strand_err_name(err),
              why);
}

static void on_delivery(const strand_delivery_report_t *rep, void *opaque)
{
    (void)opaque;
    if (rep->error) {
        if (atomic_fetch_add(&failures, 1) < 10)
            say_send_error(rep->topic, rep->msg_opaque, rep->error, rep->errstr);
    } else {
        atomic_fetch_add(&delivered, 1);
    }
}

/* Splits *s at the first occurrence of sep: returns the part before, leaves *s after it; NULL
 * (with *s untouched) when sep does not occur. */
static char *split(char **s, const char *sep)
{
    char *at = strstr(*s, sep);
    if (!at)
        return NULL;
    char *head = *s;
    *at = '\0';
    *s = at + strlen(sep);
    return head;
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "Read data from standard input and publish it to Strand.");
    tool_parse(opts, argc, argv);
    const char *bootstrap = tool_bootstrap(opts);
    const char *topic = tool_require(opts, "--topic");
    tool_opt_t *pp = tool_opt(opts, "--producer-property");
    strand_conf_t *conf = strand_conf_new();
    if (!conf)
        tool_die("out of memory");
    tool_conf_set(conf, "acks", "-1", "--request-required-acks");
    char err[1024];
    const char *config_file = tool_config_file(opts, "--producer.config");
    if (config_file && strand_conf_load_file(conf, config_file, err, sizeof(err)))
        tool_die("%s", err);
    struct { const char *flag, *key; } direct[] = {
        { "--request-required-acks", "acks" }, { "--batch-size", "batch.size" },
        { "--timeout", "linger.ms" }, { "--request-timeout-ms", "request.timeout.ms" },
        { "--max-block-ms", "max.block.ms" }, { "--message-send-max-retries", "retries" },
        { "--retry-backoff-ms", "retry.backoff.ms" },
    };
    for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
        if (tool_opt(opts, direct[i].flag)->given)
            tool_conf_set(conf, direct[i].key, tool_opt(opts, direct[i].flag)->value, direct[i].flag);
    tool_opt_t *codec = tool_opt(opts, "--compression-codec");
    if (codec->given)
        tool_conf_set(conf, "compression.type", codec->value ? codec->value : "lz4", "--compression-codec");
    for (size_t i = 0; i < pp->n_values; i++)
        if (strand_conf_set_kv(conf, pp->values[i], err, sizeof(err)))
            tool_die("--producer-property: %s", err);
    tool_conf_set(conf, "bootstrap.servers", bootstrap, "--bootstrap-server");
    strand_conf_set_delivery_cb(conf, on_delivery, NULL);
    tool_log_to_stderr(conf);

    tool_opt_t *propopt = tool_opt(opts, "--property");
    tool_props_t props = { propopt->values, propopt->n_values };
    tool_props_check(&props, "parse.key,key.separator,parse.headers,headers.delimiter,"
                             "headers.separator,headers.key.separator,null.marker,ignore.error");
    bool parse_key = tool_prop_bool(&props, "parse.key", false);
    bool parse_headers = tool_prop_bool(&props, "parse.headers", false);
    bool ignore_error = tool_prop_bool(&props, "ignore.error", false);
    const char *key_sep = tool_prop(&props, "key.separator", "\t");
    const char *hdr_delim = tool_prop(&props, "headers.delimiter", "\t");
    const char *hdr_sep = tool_prop(&props, "headers.separator", ",");
    const char *hdr_key_sep = tool_prop(&props, "headers.key.separator", ":");
    const char *null_marker = tool_prop(&props, "null.marker", NULL);
    if (!*key_sep || !*hdr_delim || !*hdr_sep || !*hdr_key_sep)
        tool_usage_die("--property: separators must not be empty");

    strand_producer_t *producer = strand_producer_new(conf, err, sizeof(err));
    if (!producer)
        tool_die("%s", err);
    strand_conf_destroy(conf);
    volatile int *stop = tool_stop_flag();
    bool sync = tool_opt(opts, "--sync")->given;

    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    strand_header_t *headers = NULL;
    size_t hcap = 0;
    while (!*stop && (len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        char *rest = line;
        size_t nh = 0;
        if (parse_headers) {
            char *hpart = split(&rest, hdr_delim);
            if (!hpart) {
                if (ignore_error)
                    hpart = NULL;
                else {
                    tool_warn("no headers delimiter found on line number %ld: '%s'", lineno, line);
                    rc = 1;
                    break;
                }
            }
            while (hpart && *hpart) {
                char *next = strstr(hpart, hdr_sep);
                if (next) {
                    *next = '\0';
                    next += strlen(hdr_sep);
                }
                if (nh == hcap) {
                    hcap = hcap ? hcap * 2 : 8;
                    headers = realloc(headers, hcap * sizeof(*headers));
                    if (!headers)
                        tool_die("out of memory");
                }
                char *hv = strstr(hpart, hdr_key_sep);
                if (hv) {
                    *hv = '\0';
                    hv += strlen(hdr_key_sep);
                }
                bool hnull = !hv || (null_marker && strcmp(hv, null_marker) == 0);
                headers[nh++] = (strand_header_t){ hpart, strlen(hpart), hnull ? NULL : hv,
                                                   hnull ? 0 : strlen(hv) };
                hpart = next;
            }
        }
        char *key = NULL;
        if (parse_key) {
            key = split(&rest, key_sep);
            if (!key) {
                if (!ignore_error) {
                    tool_warn("no key separator found on line number %ld: '%s'", lineno, line);
                    rc = 1;
                    break;
                }
            } else if (null_marker && strcmp(key, null_marker) == 0) {
                key = NULL;
            }
        }
        char *value = rest;
        if (null_marker && strcmp(value, null_marker) == 0)
            value = NULL;
        void *sizes = sizes_opaque(key, value);
        int e = strand_produce(producer, topic, STRAND_PARTITION_ANY, key, key ? strlen(key) : 0,
                               value, value ? strlen(value) : 0, headers, nh, 0, sizes);
        if (e == ST_ERR_MESSAGE_TOO_LARGE) {
            /* This record only: say so and go on with the next line, as Kafka's does. */
            say_send_error(topic, sizes, e, strand_last_errstr());
            atomic_fetch_add(&failures, 1);
            continue;
        }
        if (e) {
            tool_warn("cannot send line %ld to topic %s: %s: %s", lineno, topic,
                      strand_err_name(e), strand_last_errstr());
            rc = 1;
            break;
        }
        if (sync)
            strand_producer_flush(producer, -1);
    }
    free(line);
    free(headers);
    if (strand_producer_flush(producer, -1) != 0)
        rc = 1;
    strand_producer_destroy(producer);
    if (atomic_load(&failures) > 0) {
        tool_warn("%ld record(s) failed delivery", atomic_load(&failures));
        rc = 1;
    }
    return rc;
}
