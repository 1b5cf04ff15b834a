/* Unit tests of the connection quotas (broker/conn_quota.c) and their config keys:
 * max.connections with and without a protected (inter-broker) listener, max.connections.per.ip
 * per address, IPv4 vs IPv6 keys, max.connections.per.ip.overrides parsing (ip, [v6], host
 * names, the later entry winning) and its errors, and slots given back on release. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "broker_config.h"
#include "conn_quota.h"

static st_broker_config_t cfg;
static st_cfg_error_t err;

static int set(const char *kv) { return st_cfg_set_kv(st_broker_config_table, &cfg, kv, &err); }

static void setup(void)
{
    st_broker_config_init(&cfg);
    memset(&err, 0, sizeof(err));
    cr_assert_eq(set("zookeeper.connect=127.0.0.1:2181/strand"), 0);
}

static void teardown(void) { st_broker_config_free(&cfg); }

TestSuite(conn_quota, .init = setup, .fini = teardown);

static st_quota_addr_t v4(const char *ip)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    cr_assert_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    st_quota_addr_t a;
    st_quota_addr_from_sockaddr((struct sockaddr *)&sa, &a);
    return a;
}

static st_quota_addr_t v6(const char *ip)
{
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
    cr_assert_eq(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
    st_quota_addr_t a;
    st_quota_addr_from_sockaddr((struct sockaddr *)&sa, &a);
    return a;
}

static st_quota_verdict_t take(st_conn_quota_t *q, st_quota_addr_t a, bool protected_listener)
{
    return st_conn_quota_acquire(q, &a, protected_listener, NULL, NULL);
}

Test(conn_quota, defaults_are_kafkas)
{
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.max_connections, 2147483647);
    cr_expect_eq(cfg.max_connections_per_ip, 2147483647);
    cr_expect_eq(cfg.n_ip_limits, 0);
}

Test(conn_quota, max_connections_and_protected_listener)
{
    cr_assert_eq(set("max.connections=3"), 0);
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    st_conn_quota_t *q = st_conn_quota_new(&cfg);
    cr_assert_not_null(q);
    st_quota_addr_t a = v4("10.0.0.1"), b = v4("10.0.0.2");
    cr_expect_eq(take(q, a, false), ST_QUOTA_OK);
    cr_expect_eq(take(q, b, false), ST_QUOTA_OK);
    cr_expect_eq(take(q, b, true), ST_QUOTA_OK);       /* inter-broker: counted */
    int32_t limit = 0;
    int64_t open = 0;
    cr_expect_eq(st_conn_quota_acquire(q, &a, false, &limit, &open), ST_QUOTA_MAX_CONNECTIONS);
    cr_expect_eq(limit, 3);
    cr_expect_eq(open, 3);
    cr_expect_eq(take(q, a, true), ST_QUOTA_OK, "a protected listener is never refused");
    cr_expect_eq(st_conn_quota_open(q, NULL), 4);
    st_conn_quota_release(q, &a);
    cr_expect_eq(take(q, a, false), ST_QUOTA_MAX_CONNECTIONS, "3 still open");
    st_conn_quota_release(q, &b);
    cr_expect_eq(take(q, a, false), ST_QUOTA_OK, "2 were open");
    cr_expect_eq(st_conn_quota_open(q, &a), 2);
    cr_expect_eq(st_conn_quota_open(q, &b), 1);
    cr_expect_eq(st_conn_quota_open(q, NULL), 3);
    st_conn_quota_free(q);
}

Test(conn_quota, per_ip_and_overrides)
{
    cr_assert_eq(set("max.connections.per.ip=2"), 0);
    cr_assert_eq(set("max.connections.per.ip.overrides=127.0.0.2:0, 127.0.0.3:5,[::1]:1,"
                     "127.0.0.3:4"), 0);
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.n_ip_limits, 3, "127.0.0.3 twice: the later entry wins, one entry");
    st_conn_quota_t *q = st_conn_quota_new(&cfg);
    st_quota_addr_t one = v4("127.0.0.1"), two = v4("127.0.0.2"), three = v4("127.0.0.3");
    st_quota_addr_t lo6 = v6("::1"), mapped = v6("::ffff:127.0.0.1");
    cr_expect_eq(take(q, one, false), ST_QUOTA_OK);
    cr_expect_eq(take(q, mapped, false), ST_QUOTA_OK, "::ffff:127.0.0.1 is 127.0.0.1");
    int32_t limit = 0;
    int64_t open = 0;
    cr_expect_eq(st_conn_quota_acquire(q, &one, true, &limit, &open), ST_QUOTA_PER_IP,
                 "per-IP applies on the inter-broker listener too (as in Kafka)");
    cr_expect_eq(limit, 2);
    cr_expect_eq(open, 2);
    cr_expect_not(st_conn_quota_is_override(q, &one));
    cr_expect_eq(take(q, two, false), ST_QUOTA_PER_IP, "override 0: never");
    for (int i = 0; i < 4; i++)
        cr_expect_eq(take(q, three, false), ST_QUOTA_OK, "127.0.0.3 connection %d", i);
    cr_expect_eq(take(q, three, false), ST_QUOTA_PER_IP);
    cr_expect(st_conn_quota_is_override(q, &three));
    cr_expect_eq(take(q, lo6, false), ST_QUOTA_OK);
    cr_expect_eq(take(q, lo6, false), ST_QUOTA_PER_IP);
    st_conn_quota_release(q, &three);
    cr_expect_eq(take(q, three, false), ST_QUOTA_OK);
    cr_expect_eq(st_conn_quota_open(q, NULL), 7);
    char text[64];
    st_quota_addr_format(&mapped, text, sizeof(text));
    cr_expect_str_eq(text, "127.0.0.1");
    st_quota_addr_format(&lo6, text, sizeof(text));
    cr_expect_str_eq(text, "::1");
    st_conn_quota_free(q);
}

Test(conn_quota, many_addresses_grow_and_shrink)
{
    cr_assert_eq(set("max.connections.per.ip=1"), 0);
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    st_conn_quota_t *q = st_conn_quota_new(&cfg);
    for (int i = 0; i < 5000; i++) {
        st_quota_addr_t a = { { 0x20, 0x01, 0x0d, 0xb8 } };
        a.bytes[14] = (uint8_t)(i >> 8);
        a.bytes[15] = (uint8_t)i;
        cr_assert_eq(take(q, a, false), ST_QUOTA_OK);
        cr_assert_eq(take(q, a, false), ST_QUOTA_PER_IP);
    }
    cr_expect_eq(st_conn_quota_open(q, NULL), 5000);
    for (int i = 0; i < 5000; i++) {
        st_quota_addr_t a = { { 0x20, 0x01, 0x0d, 0xb8 } };
        a.bytes[14] = (uint8_t)(i >> 8);
        a.bytes[15] = (uint8_t)i;
        st_conn_quota_release(q, &a);
        cr_assert_eq(st_conn_quota_open(q, &a), 0);
    }
    cr_expect_eq(st_conn_quota_open(q, NULL), 0);
    st_conn_quota_free(q);
}

Test(conn_quota, host_name_override_resolves)
{
    cr_assert_eq(set("max.connections.per.ip.overrides=localhost:7"), 0);
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    cr_assert_geq(cfg.n_ip_limits, 1);
    st_conn_quota_t *q = st_conn_quota_new(&cfg);
    st_quota_addr_t one = v4("127.0.0.1");
    st_quota_addr_t lo6 = v6("::1");
    cr_expect(st_conn_quota_is_override(q, &one) || st_conn_quota_is_override(q, &lo6),
              "localhost resolved to neither 127.0.0.1 nor ::1");
    st_conn_quota_free(q);
}

Test(conn_quota, config_errors_name_the_key)
{
    static const struct { const char *kv, *needle; } cases[] = {
        { "max.connections.per.ip=0", "max.connections.per.ip=0 refuses every connection" },
        { "max.connections.per.ip.overrides=10.0.0.1", "'10.0.0.1' is not host:count" },
        { "max.connections.per.ip.overrides=10.0.0.1:", "'10.0.0.1:' is not host:count" },
        { "max.connections.per.ip.overrides=:5", "':5' is not host:count" },
        { "max.connections.per.ip.overrides=10.0.0.1:-1", "count '-1' of 10.0.0.1" },
        { "max.connections.per.ip.overrides=10.0.0.1:3000000000", "count '3000000000'" },
        { "max.connections.per.ip.overrides=no-such-host.invalid:3", "cannot resolve 'no-such-host.invalid'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        teardown();
        setup();
        cr_assert_eq(set(cases[i].kv), 0, "%s: %s", cases[i].kv, err.msg);
        cr_expect_eq(st_broker_config_finish(&cfg, &err), -EINVAL, "%s accepted", cases[i].kv);
        cr_expect(strstr(err.msg, cases[i].needle), "%s: '%s' not in: %s", cases[i].kv,
                  cases[i].needle, err.msg);
        cr_expect(strstr(err.msg, "max.connections.per.ip"), "%s: the key is not named: %s",
                  cases[i].kv, err.msg);
    }
    teardown();
    setup();
    cr_expect_neq(set("max.connections=-1"), 0);
    cr_expect(strstr(err.msg, "max.connections"), "%s", err.msg);
    cr_assert_eq(set("max.connections.per.ip=0"), 0);
    cr_assert_eq(set("max.connections.per.ip.overrides=10.0.0.9:2"), 0);
    cr_expect_eq(st_broker_config_finish(&cfg, &err), 0, "0 with overrides is allowed: %s",
                 err.msg);
}
