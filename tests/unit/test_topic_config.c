/* Unit tests of the topic configuration table (common/cluster/st_topic_config.c) and its broker
 * side (broker/topic_config.c): every Kafka topic key is there with a valid default and broker
 * synonyms the broker knows, validation names key and value, the enum/set types round-trip,
 * topic defaults come from the broker's synonyms (ms > minutes > hours, dynamic layers first),
 * and only the primary synonyms may change dynamically. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "broker_config.h"
#include "config_describe.h"
#include "topic_config.h"

static const char *const kafka_keys[] = {
    "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms",
    "flush.messages", "flush.ms", "index.interval.bytes", "max.compaction.lag.ms",
    "max.message.bytes", "message.downconversion.enable", "message.timestamp.difference.max.ms",
    "message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms",
    "min.insync.replicas", "preallocate", "retention.bytes", "retention.ms", "segment.bytes",
    "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
    NULL,
};

Test(topic_table, every_kafka_key_with_valid_default_and_known_synonyms)
{
    size_t n = 0;
    for (const st_topic_cfg_def_t *d = st_topic_config_table; d->cfg.name; d++, n++) {
        if (d != st_topic_config_table)
            cr_expect_lt(strcmp(d[-1].cfg.name, d->cfg.name), 0, "not sorted at %s", d->cfg.name);
        cr_expect(d->cfg.doc && *d->cfg.doc, "%s has no doc", d->cfg.name);
        if (!d->applied)
            cr_expect(strstr(d->cfg.doc, "Accepted without effect"),
                      "%s is not applied but its doc does not say so: %s", d->cfg.name,
                      d->cfg.doc);
        /* every synonym is a key of the broker table: the default really comes from there */
        char syn[128];
        int k = 0;
        for (; st_topic_config_synonym(d, k, syn, sizeof(syn)); k++)
            cr_expect_not_null(st_cfg_find(st_broker_config_table, syn),
                               "%s: synonym %s is not a broker key", d->cfg.name, syn);
        cr_expect_gt(k, 0, "%s has no broker synonym", d->cfg.name);
        /* the default validates */
        char why[512];
        cr_expect_eq(st_topic_config_set(NULL, d->cfg.name, d->cfg.default_value, why,
                                         sizeof(why)), 0, "%s", why);
    }
    size_t k = 0;
    for (; kafka_keys[k]; k++)
        cr_expect_not_null(st_topic_config_find(kafka_keys[k]), "%s missing", kafka_keys[k]);
    cr_expect_eq(n, k);
}

Test(topic_table, validation_names_key_and_value)
{
    st_topic_config_t tc;
    st_topic_config_defaults(&tc);
    st_topic_config_t before = tc;
    char why[512];
    cr_expect_eq(st_topic_config_set(&tc, "retention.msx", "1", why, sizeof(why)), -ENOENT);
    cr_expect_str_eq(why, "Unknown topic config name: retention.msx (did you mean 'retention.ms'?)");
    cr_expect_eq(st_topic_config_set(&tc, "no.such.thing", "1", why, sizeof(why)), -ENOENT);
    cr_expect_str_eq(why, "Unknown topic config name: no.such.thing");
    cr_expect_eq(st_topic_config_set(&tc, "segment.bytes", "13", why, sizeof(why)), -EINVAL);
    cr_expect_str_eq(why, "Invalid value 13 for configuration segment.bytes: expected an integer "
                          "in [14, 2147483647]");
    cr_expect_eq(st_topic_config_set(&tc, "retention.ms", "soon", why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "Invalid value soon for configuration retention.ms"), "%s", why);
    cr_expect_eq(st_topic_config_set(&tc, "min.cleanable.dirty.ratio", "1.5", why, sizeof(why)),
                 -EINVAL);
    cr_expect(strstr(why, "1.5") && strstr(why, "min.cleanable.dirty.ratio"), "%s", why);
    cr_expect_eq(st_topic_config_set(&tc, "compression.type", "gzip", why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "Strand supports only lz4"), "%s", why);
    cr_expect_eq(st_topic_config_set(&tc, "compression.type", "brotli", why, sizeof(why)),
                 -EINVAL);
    cr_expect(strstr(why, "brotli") && strstr(why, "producer,uncompressed,lz4"), "%s", why);
    cr_expect_eq(st_topic_config_set(&tc, "cleanup.policy", "compact,never", why, sizeof(why)),
                 -EINVAL);
    cr_expect_eq(st_topic_config_set(&tc, "cleanup.policy", "", why, sizeof(why)), -EINVAL);
    cr_expect_eq(st_topic_config_set(&tc, "unclean.leader.election.enable", "yes", why,
                                     sizeof(why)), -EINVAL);
    cr_expect_eq(memcmp(&tc, &before, sizeof(tc)), 0, "a refused value changed the config");

    const char *keys[] = { "retention.ms", "retention.ms" }, *values[] = { "1", "2" };
    cr_expect_eq(st_topic_config_validate(keys, values, 2, why, sizeof(why)), -EINVAL);
    cr_expect_str_eq(why, "Config retention.ms is given twice");
}

Test(topic_table, enum_and_set_round_trip)
{
    st_topic_config_t tc;
    st_topic_config_defaults(&tc);
    char why[512], out[128];
    const st_topic_cfg_def_t *policy = st_topic_config_find("cleanup.policy");
    const st_topic_cfg_def_t *ts = st_topic_config_find("message.timestamp.type");
    const st_topic_cfg_def_t *ratio = st_topic_config_find("min.cleanable.dirty.ratio");
    st_topic_config_format(policy, &tc, out, sizeof(out));
    cr_expect_str_eq(out, "delete");
    cr_expect_eq(st_topic_config_set(&tc, "cleanup.policy", " delete , COMPACT", why, sizeof(why)),
                 0, "%s", why);
    cr_expect_eq(tc.cleanup_policy, ST_CLEANUP_COMPACT | ST_CLEANUP_DELETE);
    st_topic_config_format(policy, &tc, out, sizeof(out));
    cr_expect_str_eq(out, "compact,delete");
    cr_expect_eq(st_topic_config_set(&tc, "message.timestamp.type", "logappendtime", why,
                                     sizeof(why)), 0);
    cr_expect_eq(tc.message_timestamp_type, ST_TIMESTAMP_LOG_APPEND_TIME);
    st_topic_config_format(ts, &tc, out, sizeof(out));
    cr_expect_str_eq(out, "LogAppendTime");
    st_topic_config_format(ratio, &tc, out, sizeof(out));
    cr_expect_str_eq(out, "0.5");
    cr_expect_eq(st_topic_config_set(&tc, "compression.type", "LZ4", why, sizeof(why)), 0);
    cr_expect_eq(tc.compression_type, ST_TOPIC_COMPRESSION_LZ4);
}

/* ---- defaults from the broker --------------------------------------------------------------- */

static st_broker_config_t bc;

static void bc_setup(void) { st_broker_config_init(&bc); }
static void bc_teardown(void) { st_broker_config_free(&bc); }
static void bset(const char *kv)
{
    st_cfg_error_t err;
    cr_assert_eq(st_cfg_set_kv(st_broker_config_table, &bc, kv, &err), 0, "%s", err.msg);
}

TestSuite(topic_defaults, .init = bc_setup, .fini = bc_teardown);

Test(topic_defaults, from_broker_synonyms)
{
    st_topic_config_t tc;
    st_topic_config_broker_defaults(&bc, NULL, NULL, &tc);
    cr_expect_eq(tc.retention_ms, 168LL * 3600 * 1000, "log.retention.hours=168");
    cr_expect_eq(tc.segment_ms, 168LL * 3600 * 1000, "log.roll.hours=168");
    cr_expect_eq(tc.segment_bytes, 1073741824);
    cr_expect_eq(tc.max_message_bytes, 1048588);
    cr_expect_eq(tc.cleanup_policy, ST_CLEANUP_DELETE);

    bset("log.retention.hours=2");
    bset("log.segment.bytes=100000");
    bset("message.max.bytes=5000");
    bset("log.cleanup.policy=compact");
    bset("min.insync.replicas=2");
    bset("unclean.leader.election.enable=true");
    bset("log.message.timestamp.type=LogAppendTime");
    bset("log.roll.hours=1");
    st_topic_config_broker_defaults(&bc, NULL, NULL, &tc);
    cr_expect_eq(tc.retention_ms, 7200000);
    cr_expect_eq(tc.segment_bytes, 100000);
    cr_expect_eq(tc.max_message_bytes, 5000);
    cr_expect_eq(tc.cleanup_policy, ST_CLEANUP_COMPACT);
    cr_expect_eq(tc.min_insync_replicas, 2);
    cr_expect(tc.unclean_leader_election_enable);
    cr_expect_eq(tc.message_timestamp_type, ST_TIMESTAMP_LOG_APPEND_TIME);
    cr_expect_eq(tc.segment_ms, 3600000);

    bset("log.retention.minutes=3");       /* minutes beat hours */
    st_topic_config_broker_defaults(&bc, NULL, NULL, &tc);
    cr_expect_eq(tc.retention_ms, 180000);
    bset("log.retention.ms=1234");         /* ms beats minutes */
    bset("log.roll.ms=999");
    st_topic_config_broker_defaults(&bc, NULL, NULL, &tc);
    cr_expect_eq(tc.retention_ms, 1234);
    cr_expect_eq(tc.segment_ms, 999);
    bset("log.retention.ms=-1");
    st_topic_config_broker_defaults(&bc, NULL, NULL, &tc);
    cr_expect_eq(tc.retention_ms, -1);
}

Test(topic_defaults, dynamic_layers_win_per_broker_first)
{
    bset("log.retention.ms=1000");
    const char *dk[] = { "log.retention.ms", "log.segment.bytes" }, *dv[] = { "2000", "5000" };
    const char *bk[] = { "log.retention.ms" }, *bv[] = { "3000" };
    st_cfg_layer_t dflt = { dk, dv, 2 }, per = { bk, bv, 1 };
    st_topic_config_t tc;
    st_topic_config_broker_defaults(&bc, NULL, &dflt, &tc);
    cr_expect_eq(tc.retention_ms, 2000);
    cr_expect_eq(tc.segment_bytes, 5000);
    st_topic_config_broker_defaults(&bc, &per, &dflt, &tc);
    cr_expect_eq(tc.retention_ms, 3000);
    cr_expect_eq(tc.segment_bytes, 5000);
    st_topic_config_broker_defaults(&bc, &per, NULL, &tc);
    cr_expect_eq(tc.segment_bytes, 1073741824);
}

Test(topic_defaults, dynamic_broker_keys)
{
    char why[512];
    cr_expect_eq(st_dynamic_broker_check("log.retention.ms", "60000", why, sizeof(why)), 0);
    cr_expect_eq(st_dynamic_broker_check("min.insync.replicas", "2", why, sizeof(why)), 0);
    cr_expect_eq(st_dynamic_broker_check("log.cleanup.policy", "compact", why, sizeof(why)), 0);
    cr_expect_eq(st_dynamic_broker_check("log.retention.hours", "1", why, sizeof(why)), -EPERM);
    cr_expect_str_eq(why, "Cannot update these configs dynamically: Set(log.retention.hours)");
    cr_expect_eq(st_dynamic_broker_check("log.dirs", "/tmp/x", why, sizeof(why)), -EPERM);
    cr_expect_str_eq(why, "Cannot update these configs dynamically: Set(log.dirs)");
    cr_expect_eq(st_dynamic_broker_check("no.such.key", "1", why, sizeof(why)), -ENOENT);
    cr_expect_eq(st_dynamic_broker_check("log.segment.bytes", "10", why, sizeof(why)), -EINVAL);
    cr_expect_str_eq(why, "Invalid value 10 for configuration log.segment.bytes: expected an "
                          "integer in [14, 2147483647]");
    cr_expect_eq(st_dynamic_broker_check("log.cleanup.policy", "never", why, sizeof(why)),
                 -EINVAL);
    cr_expect(strstr(why, "never") && strstr(why, "log.cleanup.policy"), "%s", why);
    cr_expect(st_dynamic_broker_key("message.max.bytes"));
    cr_expect_not(st_dynamic_broker_key("log.roll.hours"));
}

/* ---- DescribeConfigs entries (broker/config_describe.c) ---------------------------------- */

static const Strand__DescribeConfigsResourceResult *entry(const st_config_entries_t *e,
                                                          const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->v[i]->name, name) == 0)
            return e->v[i];
    return NULL;
}

/* "SOURCE:name=value, ..." of an entry's synonyms (sources as numbers). */
static void synonyms_text(const Strand__DescribeConfigsResourceResult *r, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_synonyms; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%d:%s=%s", i ? ", " : "",
                 r->synonyms[i]->source, r->synonyms[i]->name,
                 r->synonyms[i]->value_null ? "null" : r->synonyms[i]->value);
}

Test(topic_defaults, describe_topic_sources_and_synonyms)
{
    bset("log.retention.minutes=5");
    bset("log.segment.bytes=50000");
    const char *dk[] = { "min.insync.replicas" }, *dv[] = { "2" };
    st_cfg_layer_t dflt = { dk, dv, 1 };
    st_config_view_t view = { &bc, NULL, &dflt };
    const char *ok[] = { "retention.ms", "cleanup.policy" }, *ov[] = { "1000", "compact" };
    st_cfg_layer_t overrides = { ok, ov, 2 };
    st_config_entries_t e;
    cr_assert_eq(st_config_describe_topic(&view, &overrides, NULL, 0, true, false, &e), 0);
    char syn[1024];
    const Strand__DescribeConfigsResourceResult *r = entry(&e, "retention.ms");
    cr_assert(r);
    cr_expect_str_eq(r->value, "1000");
    cr_expect_eq(r->config_source, ST_CONFIG_SOURCE_DYNAMIC_TOPIC);
    synonyms_text(r, syn, sizeof(syn));
    cr_expect_str_eq(syn, "1:retention.ms=1000", "Kafka drops the synonyms before log.retention.ms");
    r = entry(&e, "segment.bytes");
    cr_expect_str_eq(r->value, "50000");
    cr_expect_eq(r->config_source, ST_CONFIG_SOURCE_STATIC_BROKER);
    synonyms_text(r, syn, sizeof(syn));
    cr_expect_str_eq(syn, "4:log.segment.bytes=50000, 5:log.segment.bytes=1073741824");
    r = entry(&e, "min.insync.replicas");
    cr_expect_str_eq(r->value, "2");
    cr_expect_eq(r->config_source, ST_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
    r = entry(&e, "cleanup.policy");
    synonyms_text(r, syn, sizeof(syn));
    cr_expect_str_eq(syn, "1:cleanup.policy=compact, 5:log.cleanup.policy=delete");
    cr_expect_eq(r->config_type, 7, "a list");
    cr_expect_not(r->read_only);
    cr_expect_eq(e.n, 23, "every topic key");
    st_config_entries_free(&e);

    char *only[] = { "segment.ms" };
    cr_assert_eq(st_config_describe_topic(&view, &overrides, only, 1, false, true, &e), 0);
    cr_assert_eq(e.n, 1);
    cr_expect_str_eq(e.v[0]->value, "604800000");
    cr_expect_eq(e.v[0]->n_synonyms, 0, "without include_synonyms");
    cr_expect_gt(strlen(e.v[0]->documentation), 0);
    st_config_entries_free(&e);
}

Test(topic_defaults, describe_broker)
{
    bset("ssl.key.password=hunter2");
    bset("log.retention.hours=24");
    const char *pk[] = { "log.retention.ms" }, *pv[] = { "60000" };
    const char *dk[] = { "log.retention.ms", "message.max.bytes" }, *dv[] = { "120000", "5000" };
    st_cfg_layer_t per = { pk, pv, 1 }, dflt = { dk, dv, 2 };
    st_config_view_t view = { &bc, &per, &dflt };
    st_config_entries_t e;
    cr_assert_eq(st_config_describe_broker(&view, false, NULL, 0, true, false, &e), 0);
    char syn[1024];
    const Strand__DescribeConfigsResourceResult *r = entry(&e, "log.retention.ms");
    cr_expect_str_eq(r->value, "60000");
    cr_expect_eq(r->config_source, ST_CONFIG_SOURCE_DYNAMIC_BROKER);
    cr_expect_not(r->read_only);
    synonyms_text(r, syn, sizeof(syn));
    cr_expect_str_eq(syn, "2:log.retention.ms=60000, 3:log.retention.ms=120000, "
                          "4:log.retention.hours=24, 5:log.retention.hours=168");
    r = entry(&e, "log.retention.hours");
    cr_expect_str_eq(r->value, "24");
    cr_expect(r->read_only, "log.retention.hours needs a restart");
    synonyms_text(r, syn, sizeof(syn));
    cr_expect_str_eq(syn, "4:log.retention.hours=24, 5:log.retention.hours=168");
    r = entry(&e, "ssl.key.password");
    cr_expect(r->is_sensitive && r->value_null);
    cr_expect_eq(r->config_type, 9);
    synonyms_text(r, syn, sizeof(syn));
    cr_expect_str_eq(syn, "4:ssl.key.password=null");
    r = entry(&e, "log.dirs");
    cr_expect(r->value_null, "log.dirs is unset here");
    cr_expect(r->read_only);
    st_config_entries_free(&e);

    cr_assert_eq(st_config_describe_broker(&view, true, NULL, 0, true, false, &e), 0);
    cr_assert_eq(e.n, 2, "the cluster default lists what it sets");
    r = entry(&e, "log.retention.ms");
    cr_expect_str_eq(r->value, "120000");
    synonyms_text(r, syn, sizeof(syn));
    cr_expect_str_eq(syn, "3:log.retention.ms=120000");
    st_config_entries_free(&e);
}
