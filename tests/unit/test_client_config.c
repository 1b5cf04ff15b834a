/* Client configuration: Kafka property names, defaults, validation messages naming the key and
 * the accepted values, properties files with file:line errors, and bootstrap.servers parsing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "st_client_conf.h"
#include "strand.h"

static strand_conf_t *conf;

static void setup(void)
{
    conf = strand_conf_new();
    cr_assert_not_null(conf);
}

static void teardown(void)
{
    strand_conf_destroy(conf);
}

TestSuite(client_config, .init = setup, .fini = teardown);

static const char *get(const char *key)
{
    static char buf[256];
    cr_assert_eq(strand_conf_get(conf, key, buf, sizeof(buf)), 0, "get %s", key);
    return buf;
}

Test(client_config, kafka_defaults)
{
    cr_expect_str_eq(get("linger.ms"), "5");
    cr_expect_str_eq(get("batch.size"), "65536");
    cr_expect_str_eq(get("acks"), "all");
    cr_expect_str_eq(get("compression.type"), "none");
    cr_expect_str_eq(get("auto.offset.reset"), "latest");
    cr_expect_str_eq(get("fetch.max.bytes"), "52428800");
    cr_expect_str_eq(get("max.partition.fetch.bytes"), "1048576");
    cr_expect_str_eq(get("fetch.max.wait.ms"), "500");
    cr_expect_str_eq(get("fetch.min.bytes"), "1");
    cr_expect_str_eq(get("max.in.flight.requests.per.connection"), "5");
    cr_expect_str_eq(get("buffer.memory"), "33554432");
    cr_expect_str_eq(get("enable.idempotence"), "false");
    cr_expect_str_eq(get("security.protocol"), "PLAINTEXT");
    cr_expect_str_eq(get("request.timeout.ms"), "30000");
    cr_expect_str_eq(get("delivery.timeout.ms"), "120000");
    cr_expect_str_eq(get("socket.connection.setup.timeout.ms"), "10000");
    cr_expect_str_eq(get("bootstrap.servers"), "");
}

Test(client_config, set_and_get)
{
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", "a:1, b:2", err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(get("bootstrap.servers"), "a:1,b:2");
    cr_assert_eq(strand_conf_set(conf, "acks", "-1", err, sizeof(err)), 0);
    cr_expect_eq(st_client_conf_acks(&conf->props), -1);
    cr_assert_eq(strand_conf_set(conf, "acks", "all", err, sizeof(err)), 0);
    cr_expect_eq(st_client_conf_acks(&conf->props), -1);
    cr_assert_eq(strand_conf_set(conf, "acks", "0", err, sizeof(err)), 0);
    cr_expect_eq(st_client_conf_acks(&conf->props), 0);
    cr_assert_eq(strand_conf_set(conf, "acks", "1", err, sizeof(err)), 0);
    cr_expect_eq(st_client_conf_acks(&conf->props), 1);
    cr_assert_eq(strand_conf_set(conf, "compression.type", "LZ4", err, sizeof(err)), 0);
    cr_expect_str_eq(get("compression.type"), "lz4");
    cr_assert_eq(strand_conf_set_kv(conf, " linger.ms = 20 ", err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(conf->props.linger_ms, 20);
    cr_assert_eq(strand_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err)), 0);
    cr_assert_eq(strand_conf_set(conf, "enable.idempotence", "false", err, sizeof(err)), 0);
}

Test(client_config, unknown_key_is_named)
{
    char err[512] = "";
    cr_assert_eq(strand_conf_set(conf, "linger.mss", "5", err, sizeof(err)), ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "linger.mss") != NULL, "%s", err);
}

Test(client_config, bad_values_name_key_and_accepted_values)
{
    char err[512] = "";
    cr_assert_eq(strand_conf_set(conf, "acks", "2", err, sizeof(err)), ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "acks") && strstr(err, "0,1,-1,all"), "%s", err);
    cr_assert_eq(strand_conf_set(conf, "linger.ms", "-1", err, sizeof(err)), ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "linger.ms") != NULL, "%s", err);
    cr_assert_eq(strand_conf_set(conf, "batch.size", "lots", err, sizeof(err)), ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "batch.size") != NULL, "%s", err);
    cr_assert_eq(strand_conf_set(conf, "auto.offset.reset", "smallest", err, sizeof(err)),
                 ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "earliest,latest,none") != NULL, "%s", err);
    cr_assert_eq(strand_conf_set(conf, "security.protocol", "SASL_SSL", err, sizeof(err)),
                 ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "security.protocol") != NULL, "%s", err);
    cr_assert_eq(strand_conf_set_kv(conf, "novalue", err, sizeof(err)), ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "key=value") != NULL, "%s", err);
    /* Values were not changed by the failed sets. */
    cr_expect_str_eq(get("acks"), "all");
    cr_expect_str_eq(get("linger.ms"), "5");
}

Test(client_config, unsupported_codecs_rejected_clearly)
{
    const char *codecs[] = { "gzip", "snappy", "zstd" };
    for (size_t i = 0; i < 3; i++) {
        char err[512] = "";
        cr_assert_eq(strand_conf_set(conf, "compression.type", codecs[i], err, sizeof(err)),
                     ST_ERR_INVALID_CONFIG);
        cr_expect(strstr(err, "compression.type") && strstr(err, codecs[i]) &&
                  strstr(err, "not supported") && strstr(err, "none, lz4"), "%s", err);
    }
    char err[512] = "";
    cr_assert_eq(strand_conf_set(conf, "compression.type", "brotli", err, sizeof(err)),
                 ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "compression.type") != NULL, "%s", err);
}

Test(client_config, idempotence_only_false)
{
    char err[512] = "";
    cr_assert_eq(strand_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)),
                 ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "enable.idempotence") != NULL, "%s", err);
}

Test(client_config, bootstrap_parsing)
{
    st_hostport_t *list = NULL;
    size_t n = 0;
    char err[256];
    cr_assert_eq(st_client_parse_bootstrap("localhost:9092, 10.0.0.1:19092,[::1]:9093", &list, &n,
                                           err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 3);
    cr_expect_str_eq(list[0].host, "localhost");
    cr_expect_eq(list[0].port, 9092);
    cr_expect_str_eq(list[1].host, "10.0.0.1");
    cr_expect_eq(list[1].port, 19092);
    cr_expect_str_eq(list[2].host, "::1");
    cr_expect_eq(list[2].port, 9093);
    free(list);
    const char *bad[] = { "localhost", "host:0", "host:70000", ":9092", "host:12x", "", " , " };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_expect_lt(st_client_parse_bootstrap(bad[i], &list, &n, err, sizeof(err)), 0, "'%s'", bad[i]);
        cr_expect(strstr(err, "bootstrap.servers") != NULL, "%s", err);
    }
    cr_expect_eq(strand_conf_set(conf, "bootstrap.servers", "nohostport", err, sizeof(err)),
                 ST_ERR_INVALID_CONFIG);
}

Test(client_config, properties_file)
{
    char path[] = "/tmp/strand-conf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# producer settings\n! another comment\n\nbootstrap.servers=127.0.0.1:9092\n"
               "linger.ms: 50\n  acks = 1  \n");
    fclose(f);
    char err[512] = "";
    cr_assert_eq(strand_conf_load_file(conf, path, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(conf->props.linger_ms, 50);
    cr_expect_str_eq(get("acks"), "1");
    cr_expect_str_eq(get("bootstrap.servers"), "127.0.0.1:9092");

    f = fopen(path, "w");
    fprintf(f, "acks=1\ncompression.type=snappy\n");
    fclose(f);
    cr_assert_eq(strand_conf_load_file(conf, path, err, sizeof(err)), ST_ERR_INVALID_CONFIG);
    char where[300];
    snprintf(where, sizeof(where), "%s:2:", path);
    cr_expect(strstr(err, where) && strstr(err, "snappy"), "%s", err);

    f = fopen(path, "w");
    fprintf(f, "acks=1\nbogus.key=3\n");
    fclose(f);
    cr_assert_eq(strand_conf_load_file(conf, path, err, sizeof(err)), ST_ERR_INVALID_CONFIG);
    snprintf(where, sizeof(where), "%s:2:", path);
    cr_expect(strstr(err, where) && strstr(err, "bogus.key"), "%s", err);
    unlink(path);

    cr_assert_eq(strand_conf_load_file(conf, "/nonexistent/strand.properties", err, sizeof(err)),
                 ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "/nonexistent/strand.properties") != NULL, "%s", err);
}

Test(client_config, dup_is_deep)
{
    char err[256];
    cr_assert_eq(strand_conf_set(conf, "client.id", "one", err, sizeof(err)), 0);
    strand_conf_t *copy = strand_conf_dup(conf);
    cr_assert_not_null(copy);
    cr_assert_eq(strand_conf_set(conf, "client.id", "two", err, sizeof(err)), 0);
    char buf[64];
    strand_conf_get(copy, "client.id", buf, sizeof(buf));
    cr_expect_str_eq(buf, "one");
    strand_conf_destroy(copy);
}

Test(client_config, cross_key_checks)
{
    char err[256] = "";
    cr_expect_eq(st_client_conf_check(&conf->props, err, sizeof(err)), ST_ERR_INVALID_CONFIG);
    cr_expect(strstr(err, "bootstrap.servers") != NULL, "%s", err);
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", "h:1", err, sizeof(err)), 0);
    cr_expect_eq(st_client_conf_check(&conf->props, err, sizeof(err)), 0, "%s", err);
}

Test(client_config, help_lists_every_key)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    strand_conf_print_help(f);
    fclose(f);
    for (const st_cfg_def_t *def = st_client_conf_table; def->name; def++)
        cr_expect(strstr(text, def->name) != NULL, "%s missing from help", def->name);
    free(text);
}

Test(client_config, group_defaults_are_kafka_3)
{
    cr_expect_str_eq(get("group.id"), "");
    cr_expect_str_eq(get("group.instance.id"), "");
    cr_expect_str_eq(get("partition.assignment.strategy"), "range");
    cr_expect_str_eq(get("session.timeout.ms"), "45000");
    cr_expect_str_eq(get("heartbeat.interval.ms"), "3000");
    cr_expect_str_eq(get("max.poll.interval.ms"), "300000");
    cr_expect_str_eq(get("enable.auto.commit"), "true");
    cr_expect_str_eq(get("auto.commit.interval.ms"), "5000");
    cr_expect_str_eq(get("exclude.internal.topics"), "true");
}

Test(client_config, assignment_strategy_names_and_lists)
{
    char err[512];
    const char *good[] = {
        "range", "roundrobin", "sticky", "cooperative-sticky",
        "org.apache.kafka.clients.consumer.RangeAssignor",
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
        "RoundRobinAssignor", "range, cooperative-sticky",
        "org.apache.kafka.clients.consumer.StickyAssignor,roundrobin",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_expect_eq(strand_conf_set(conf, "partition.assignment.strategy", good[i], err,
                                     sizeof(err)), 0, "%s: %s", good[i], err);
    struct { const char *value, *want; } bad[] = {
        { "fair", "'fair' is not an assignor" },
        { "range,,sticky", "'' is not an assignor" },
        { "range,range", "range is listed twice" },
        { "org.apache.kafka.clients.consumer.Range", "is not an assignor" },
        { "", "no assignor given" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_expect_eq(strand_conf_set(conf, "partition.assignment.strategy", bad[i].value, err,
                                     sizeof(err)), ST_ERR_INVALID_CONFIG, "'%s' accepted", bad[i].value);
        cr_expect(strstr(err, "partition.assignment.strategy") && strstr(err, bad[i].want),
                  "'%s': %s", bad[i].value, err);
    }
}

/* Settings checked when the consumer is created, before it connects anywhere. */
static void expect_consumer_refused(const char *const *kvs, const char *want)
{
    char err[512] = "";
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", "127.0.0.1:9", err, sizeof(err)), 0);
    for (size_t i = 0; kvs[i]; i++)
        cr_assert_eq(strand_conf_set_kv(conf, kvs[i], err, sizeof(err)), 0, "%s", err);
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_expect_null(c, "accepted");
    strand_consumer_destroy(c);
    cr_expect(strstr(err, want), "expected '%s' in: %s", want, err);
}

Test(client_config, group_settings_checked_at_creation)
{
    const char *hb[] = { "group.id=g", "session.timeout.ms=3000", "heartbeat.interval.ms=3000",
                         NULL };
    expect_consumer_refused(hb, "heartbeat.interval.ms (3000) must be lower than "
                                "session.timeout.ms (3000)");
    const char *inst[] = { "group.id=g", "group.instance.id=has space", NULL };
    expect_consumer_refused(inst, "group.instance.id: 'has space' is not valid");
}
