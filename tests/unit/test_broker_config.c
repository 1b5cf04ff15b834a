/* Unit tests of the broker's configuration pieces: the st_cfg_def_t table (defaults, ranges),
 * listener parsing, retention/roll precedence, log dirs, topic names and topic-level configs,
 * and the per-connection arena. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "broker_config.h"
#include "topic_config.h"

static st_broker_config_t cfg;
static st_cfg_error_t err;

static int set(const char *kv) { return st_cfg_set_kv(st_broker_config_table, &cfg, kv, &err); }

/* zookeeper.connect is required: every test starts from a config that has one. */
static void init_cfg(void)
{
    st_broker_config_init(&cfg);
    memset(&err, 0, sizeof(err));
    cr_assert_eq(set("zookeeper.connect=127.0.0.1:2181/strand"), 0);
}

static void setup(void) { init_cfg(); }
static void teardown(void) { st_broker_config_free(&cfg); }

TestSuite(broker_config, .init = setup, .fini = teardown);

Test(broker_config, zookeeper_connect_required)
{
    st_broker_config_free(&cfg);
    st_broker_config_init(&cfg);
    cr_expect_eq(st_broker_config_finish(&cfg, &err), -EINVAL);
    cr_expect(strstr(err.msg, "Missing required configuration \"zookeeper.connect\""), "%s",
              err.msg);
    st_broker_config_free(&cfg);
    init_cfg();
    cr_assert_eq(set("zookeeper.connect="), 0);
    cr_expect_eq(st_broker_config_finish(&cfg, &err), -EINVAL);
    cr_expect(strstr(err.msg, "zookeeper.connect"), "%s", err.msg);
}

Test(broker_config, defaults_are_kafkas)
{
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.message_max_bytes, 1048588);
    cr_expect_eq(cfg.socket_request_max_bytes, 104857600);
    cr_expect_eq(cfg.connections_max_idle_ms, 600000);
    cr_expect_eq(cfg.retention_ms, 168LL * 3600000);
    cr_expect_eq(cfg.roll_ms, 168LL * 3600000);
    cr_expect(cfg.cleanup_delete && !cfg.cleanup_compact);
    cr_expect_geq(cfg.num_network_threads, 1);
    cr_assert_eq(cfg.n_listeners, 1);
    cr_expect_eq(cfg.listener_list[0].port, 9092);
    cr_expect_str_eq(cfg.listener_list[0].host, "");
    cr_expect_str_neq(cfg.advertised_list[0].host, "");   /* host name filled in */
    cr_assert_eq(cfg.n_dirs, 1);
    cr_expect_str_eq(cfg.dirs[0], "/tmp/strand-logs");
    st_log_config_t lc;
    st_broker_config_log_defaults(&cfg, &lc);
    cr_expect_eq(lc.segment_bytes, 1073741824);
    cr_expect_eq(lc.retention_bytes, -1);
}

Test(broker_config, bad_values_name_key_and_range)
{
    cr_expect_eq(set("num.partitions=0"), -EINVAL);
    cr_expect(strstr(err.msg, "num.partitions") && strstr(err.msg, "[1, 2147483647]"), "%s", err.msg);
    cr_expect_eq(set("num.network.threads=257"), -EINVAL);
    cr_expect_eq(set("ssl.client.auth=maybe"), -EINVAL);
    cr_expect(strstr(err.msg, "none,requested,required"), "%s", err.msg);
    cr_expect_eq(set("delete.topic.enable=yes"), -EINVAL);
    cr_expect_eq(set("no.such.key=1"), -ENOENT);
    cr_expect_eq(set("ssl.client.auth=REQUIRED"), 0);
    cr_expect_str_eq(cfg.ssl_client_auth, "required");
}

Test(broker_config, listeners)
{
    cr_assert_eq(set("listeners=PLAINTEXT://127.0.0.1:9092, SSL://[::1]:9093"), 0);
    cr_assert_eq(set("advertised.listeners=SSL://broker.example:19093"), 0);
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    cr_assert_eq(cfg.n_listeners, 2);
    cr_expect_str_eq(cfg.listener_list[0].name, "PLAINTEXT");
    cr_expect_eq(cfg.listener_list[0].protocol, ST_PROTO_PLAINTEXT);
    cr_expect_str_eq(cfg.listener_list[1].host, "::1");
    cr_expect_eq(cfg.listener_list[1].protocol, ST_PROTO_SSL);
    cr_expect_eq(cfg.listener_list[1].port, 9093);
    cr_expect_str_eq(cfg.advertised_list[0].host, "127.0.0.1");
    cr_expect_str_eq(cfg.advertised_list[1].host, "broker.example");
    cr_expect_eq(cfg.advertised_list[1].port, 19093);
}

Test(broker_config, bad_listeners)
{
    const char *bad[] = { "FOO://:9092", "PLAINTEXT://:99999", "PLAINTEXT://host", "localhost:9092",
                          "PLAINTEXT://:1,PLAINTEXT://:2", "PLAINTEXT://:x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st_listener_cfg_t *list = NULL;
        size_t n = 0;
        cr_expect_eq(st_broker_parse_listeners("listeners", bad[i], &list, &n, &err), -EINVAL,
                     "'%s' accepted", bad[i]);
        cr_expect(strstr(err.msg, "listeners"), "%s", err.msg);
    }
    cr_assert_eq(set("listeners=PLAINTEXT://:1"), 0);
    cr_assert_eq(set("advertised.listeners=SSL://x:2"), 0);
    cr_expect_eq(st_broker_config_finish(&cfg, &err), -EINVAL);
    cr_expect(strstr(err.msg, "advertised.listeners"), "%s", err.msg);
}

Test(broker_config, retention_precedence_and_dirs)
{
    cr_assert_eq(set("log.retention.hours=1"), 0);
    cr_assert_eq(set("log.retention.minutes=2"), 0);
    cr_assert_eq(set("log.roll.ms=5000"), 0);
    cr_assert_eq(set("log.dirs=/a/b/, /c"), 0);
    cr_assert_eq(set("log.cleanup.policy=compact,delete"), 0);
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.retention_ms, 120000);
    cr_expect_eq(cfg.roll_ms, 5000);
    cr_assert_eq(cfg.n_dirs, 2);
    cr_expect_str_eq(cfg.dirs[0], "/a/b");
    cr_expect_str_eq(cfg.dirs[1], "/c");
    cr_expect(cfg.cleanup_delete && cfg.cleanup_compact);
}

Test(broker_config, retention_ms_wins_and_unlimited)
{
    cr_assert_eq(set("log.retention.minutes=2"), 0);
    cr_assert_eq(set("log.retention.ms=-1"), 0);
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.retention_ms, -1);
}

Test(broker_config, relative_log_dir_and_bad_policy_rejected)
{
    cr_assert_eq(set("log.dirs=relative/dir"), 0);
    cr_expect_eq(st_broker_config_finish(&cfg, &err), -EINVAL);
    cr_expect(strstr(err.msg, "log.dirs"), "%s", err.msg);
    st_broker_config_free(&cfg);
    init_cfg();
    cr_assert_eq(set("log.cleanup.policy=shred"), 0);
    cr_expect_eq(st_broker_config_finish(&cfg, &err), -EINVAL);
    cr_expect(strstr(err.msg, "log.cleanup.policy"), "%s", err.msg);
}

Test(broker_config, non_default_summary_masks_secrets)
{
    cr_assert_eq(set("ssl.key.password=hunter2"), 0);
    cr_assert_eq(set("num.partitions=7"), 0);
    char out[2048];
    st_broker_config_describe_non_default(&cfg, out, sizeof(out));
    cr_expect(strstr(out, "num.partitions=7"), "%s", out);
    cr_expect(strstr(out, "ssl.key.password=[hidden]"), "%s", out);
    cr_expect_null(strstr(out, "hunter2"));
    cr_expect_null(strstr(out, "log.segment.bytes"));
}

Test(topic_config, names)
{
    char why[256];
    cr_expect(st_topic_name_valid("orders.v1_x-y", why, sizeof(why)));
    cr_expect_not(st_topic_name_valid("", why, sizeof(why)));
    cr_expect_not(st_topic_name_valid(".", why, sizeof(why)));
    cr_expect_not(st_topic_name_valid("..", why, sizeof(why)));
    cr_expect_not(st_topic_name_valid("a b", why, sizeof(why)));
    cr_expect(strstr(why, "position 1"), "%s", why);
    char name[251];
    memset(name, 'a', 250);
    name[250] = '\0';
    cr_expect_not(st_topic_name_valid(name, why, sizeof(why)));
    name[249] = '\0';
    cr_expect(st_topic_name_valid(name, why, sizeof(why)));
}

Test(topic_config, overrides)
{
    st_topic_config_t tc;
    st_topic_config_defaults(&tc);
    char why[512];
    cr_expect_eq(st_topic_config_set(&tc, "retention.ms", "1000", why, sizeof(why)), 0);
    cr_expect_eq(tc.retention_ms, 1000);
    cr_expect_eq(st_topic_config_set(&tc, "cleanup.policy", "compact", why, sizeof(why)), 0);
    st_log_config_t lc;
    st_topic_config_to_log(&tc, &lc);
    cr_expect(lc.cleanup_compact && !lc.cleanup_delete);
    cr_expect_eq(lc.retention_ms, 1000);
    cr_expect_eq(st_topic_config_set(&tc, "max.message.bytes", "2048", why, sizeof(why)), 0);
    cr_expect_eq(tc.max_message_bytes, 2048);
    cr_expect_eq(st_topic_config_set(&tc, "segment.bytes", "10", why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "segment.bytes"), "%s", why);
    cr_expect_eq(st_topic_config_set(&tc, "cleanup.policy", "never", why, sizeof(why)), -EINVAL);
    cr_expect_eq(st_topic_config_set(&tc, "bogus", "1", why, sizeof(why)), -ENOENT);
}

Test(arena, alloc_reset)
{
    st_arena_t a;
    st_arena_init(&a, 4096);
    char *p = st_arena_alloc(&a, 10);
    cr_assert_not_null(p);
    cr_expect_eq((uintptr_t)p % 16, 0);
    void *big = st_arena_alloc(&a, 100000);      /* own block */
    cr_assert_not_null(big);
    memset(big, 1, 100000);
    for (int i = 0; i < 1000; i++)
        cr_assert_not_null(st_arena_alloc(&a, 100));
    char *s = st_arena_strdup(&a, "hello");
    cr_expect_str_eq(s, "hello");
    st_arena_reset(&a);
    char *q = st_arena_alloc(&a, 10);
    cr_expect_eq(q, p, "the first block is reused after a reset");
    int *z = st_arena_calloc(&a, 10, sizeof(int));
    for (int i = 0; i < 10; i++)
        cr_expect_eq(z[i], 0);
    st_arena_destroy(&a);
}
