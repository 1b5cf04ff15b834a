/* The inter-broker authorization check (broker/cluster/inter_broker.c): which listener is the
 * inter-broker one (inter.broker.listener.name, else security.inter.broker.protocol), the
 * super.users list, and st_request_is_inter_broker on fake connections (the two st_conn_*
 * accessors it uses are stubbed here). */
#include <criterion/criterion.h>
#include <string.h>

#include "inter_broker.h"
#include "request.h"

static st_listener_t fake_listener;
static const char *fake_principal = "User:ANONYMOUS";

const st_listener_t *st_conn_listener(const st_conn_t *conn)
{
    (void)conn;
    return &fake_listener;
}

const char *st_conn_principal(const st_conn_t *conn)
{
    (void)conn;
    return fake_principal;
}

static st_broker_t broker;

static void configure(const char *const *kvs)
{
    st_broker_config_free(&broker.cfg);
    st_broker_config_init(&broker.cfg);
    st_cfg_error_t err;
    cr_assert_eq(st_cfg_set_kv(st_broker_config_table, &broker.cfg,
                               "zookeeper.connect=127.0.0.1:2181", &err), 0);   /* required */
    for (size_t i = 0; kvs[i]; i++)
        cr_assert_eq(st_cfg_set_kv(st_broker_config_table, &broker.cfg, kvs[i], &err), 0, "%s", err.msg);
    cr_assert_eq(st_broker_config_finish(&broker.cfg, &err), 0, "%s", err.msg);
}

static bool allowed_on(const char *listener, const char *principal)
{
    const st_listener_cfg_t *l = NULL;
    for (size_t i = 0; i < broker.cfg.n_listeners; i++)
        if (strcmp(broker.cfg.listener_list[i].name, listener) == 0)
            l = &broker.cfg.listener_list[i];
    cr_assert_not_null(l, "no listener %s", listener);
    fake_listener.cfg = *l;
    fake_principal = principal;
    st_request_t req;
    memset(&req, 0, sizeof(req));
    req.broker = &broker;
    char why[256] = "";
    return st_request_is_inter_broker(&req, why, sizeof(why));
}

static void fini(void)
{
    st_broker_config_free(&broker.cfg);
}

TestSuite(inter_broker, .fini = fini);

Test(inter_broker, single_plaintext_listener_accepts_everyone)
{
    configure((const char *[]){ "log.dir=/tmp/x", NULL });
    cr_expect_str_eq(st_inter_broker_listener(&broker.cfg)->name, "PLAINTEXT");
    cr_expect(allowed_on("PLAINTEXT", "User:ANONYMOUS"));
}

Test(inter_broker, named_listener_only)
{
    configure((const char *[]){ "listeners=CLIENT://:9092,INTERNAL://:9093",
                                "listener.security.protocol.map=CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT",
                                "inter.broker.listener.name=INTERNAL", NULL });
    cr_expect_str_eq(st_inter_broker_listener(&broker.cfg)->name, "INTERNAL");
    cr_expect(allowed_on("INTERNAL", "User:ANONYMOUS"));
    cr_expect_not(allowed_on("CLIENT", "User:ANONYMOUS"));
}

Test(inter_broker, by_security_protocol_when_unnamed)
{
    configure((const char *[]){ "listeners=CLIENT://:9092,REPL://:9093",
                                "listener.security.protocol.map=CLIENT:PLAINTEXT,REPL:SSL",
                                "security.inter.broker.protocol=SSL", NULL });
    cr_expect_str_eq(st_inter_broker_listener(&broker.cfg)->name, "REPL");
}

Test(inter_broker, unknown_listener_name_is_a_config_error)
{
    st_broker_config_init(&broker.cfg);
    st_cfg_error_t err;
    cr_assert_eq(st_cfg_set_kv(st_broker_config_table, &broker.cfg,
                               "zookeeper.connect=127.0.0.1:2181", &err), 0);
    cr_assert_eq(st_cfg_set_kv(st_broker_config_table, &broker.cfg,
                               "inter.broker.listener.name=NOPE", &err), 0);
    cr_expect_lt(st_broker_config_finish(&broker.cfg, &err), 0);
    cr_expect(strstr(err.msg, "inter.broker.listener.name") != NULL, "%s", err.msg);
}

Test(inter_broker, ssl_needs_a_super_user)
{
    configure((const char *[]){ "listeners=CLIENT://:9092,INTERNAL://:9093",
                                "listener.security.protocol.map=CLIENT:PLAINTEXT,INTERNAL:SSL",
                                "inter.broker.listener.name=INTERNAL",
                                "super.users=User:CN=broker1,O=acme; User:CN=broker2 ", NULL });
    cr_expect(allowed_on("INTERNAL", "User:CN=broker1,O=acme"));
    cr_expect(allowed_on("INTERNAL", "User:CN=broker2"));
    cr_expect_not(allowed_on("INTERNAL", "User:CN=broker1"));
    cr_expect_not(allowed_on("INTERNAL", "User:ANONYMOUS"));
    cr_expect_not(allowed_on("CLIENT", "User:CN=broker2"));
    cr_expect(st_super_user(&broker.cfg, "User:CN=broker2"));
    cr_expect_not(st_super_user(&broker.cfg, "User:CN=broker"));
}
