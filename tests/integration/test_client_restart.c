/* Client library across broker restarts: acknowledged records survive a SIGTERM restart and a
 * SIGKILL restart; a producer and a consumer created before the restart carry on after it
 * (reconnect, retries); an unreachable broker fails cleanly naming its address. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"

static st_test_broker_t broker;

static void start(void)
{
    cr_assert_eq(st_test_broker_start(&broker, NULL), 0, "broker did not start");
}

static void stop(void)
{
    st_test_broker_cleanup(&broker);
}

TestSuite(client_restart, .init = start, .fini = stop, .timeout = 90);

static void produce_range(strand_producer_t *p, const char *topic, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        char v[32];
        snprintf(v, sizeof(v), "rec-%zu", i);
        cr_assert_eq(strand_produce(p, topic, 0, NULL, 0, v, strlen(v), NULL, 0, 0, (void *)(intptr_t)i), 0);
    }
}

static void check_all(const char *topic, size_t total)
{
    int32_t part0 = 0;
    ct_rec_t *recs;
    size_t n = ct_consume(&broker, topic, &part0, 1, total, 20000, &recs);
    cr_assert_eq(n, total, "only %zu of %zu acknowledged records came back", n, total);
    for (size_t i = 0; i < n; i++) {
        char v[32];
        snprintf(v, sizeof(v), "rec-%zu", i);
        cr_assert_str_eq(recs[i].value, v);
        cr_assert_eq(recs[i].offset, (int64_t)i);
    }
    ct_recs_free(recs, n);
}

static void acked_survive(int sig)
{
    ct_create_topic(&broker, "durable", 1);
    size_t total = 20000;
    ct_dr_t *rows = calloc(total, sizeof(*rows));
    ct_dr_table_t t = { rows, total, 0, 0, "" };
    const char *kvs[] = { "acks=1", NULL };
    strand_conf_t *conf = ct_conf(&broker, kvs);
    strand_conf_set_delivery_cb(conf, ct_dr_cb, &t);
    char err[512];
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    produce_range(p, "durable", 0, total);
    cr_assert_eq(strand_producer_flush(p, 20000), 0);
    cr_assert_eq(t.errors, 0, "%s", t.first_error);
    strand_producer_destroy(p);
    strand_conf_destroy(conf);

    st_test_broker_stop(&broker, sig);
    cr_assert_eq(st_test_broker_restart(&broker), 0);
    check_all("durable", total);
    free(rows);
}

Test(client_restart, acked_records_survive_sigterm)
{
    acked_survive(SIGTERM);
}

Test(client_restart, acked_records_survive_sigkill)
{
    acked_survive(SIGKILL);
}

Test(client_restart, clients_carry_on_across_restart)
{
    ct_create_topic(&broker, "carry", 1);
    size_t total = 2000;
    ct_dr_t *rows = calloc(total, sizeof(*rows));
    ct_dr_table_t t = { rows, total, 0, 0, "" };
    const char *kvs[] = { "acks=1", "retry.backoff.ms=50", "reconnect.backoff.max.ms=200",
                          "auto.offset.reset=earliest", NULL };
    strand_conf_t *conf = ct_conf(&broker, kvs);
    strand_conf_set_delivery_cb(conf, ct_dr_cb, &t);
    char err[512];
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t tp = { "carry", 0, STRAND_OFFSET_BEGINNING, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);

    produce_range(p, "carry", 0, total / 2);
    cr_assert_eq(strand_producer_flush(p, 20000), 0);
    cr_assert_eq(t.errors, 0, "%s", t.first_error);

    st_test_broker_stop(&broker, SIGKILL);
    /* Records queued while the broker is down are retried once it is back. */
    produce_range(p, "carry", total / 2, total);
    usleep(300 * 1000);
    cr_assert_eq(st_test_broker_restart(&broker), 0);
    cr_assert_eq(strand_producer_flush(p, 30000), 0, "records not delivered after the restart");
    cr_expect_eq(t.errors, 0, "%s", t.first_error);
    strand_producer_destroy(p);

    /* The consumer reconnects too; at-least-once: a retry may have duplicated records, but every
     * record is there and the log is in order. */
    size_t seen = 0;
    bool *got = calloc(total, sizeof(*got));
    int64_t next = 0, deadline = ct_now_ms() + 30000;
    while (seen < total && ct_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 100, &msgs, &n), 0);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(msgs[i].error, 0, "%s", msgs[i].errstr);
            cr_assert_eq(msgs[i].offset, next, "offsets continuous across the restart");
            next++;
            size_t idx;
            cr_assert_eq(sscanf(msgs[i].value, "rec-%zu", &idx), 1);
            cr_assert_lt(idx, total);
            if (!got[idx]) {
                got[idx] = true;
                seen++;
            }
        }
    }
    cr_expect_eq(seen, total);
    strand_consumer_destroy(c);
    free(got);
    free(rows);
}

Test(client_restart, broker_gone_fails_with_address)
{
    strand_conf_t *conf = ct_conf(&broker, NULL);
    st_test_broker_stop(&broker, SIGKILL);
    char err[512] = "";
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_null(p);
    cr_expect(strstr(err, broker.bootstrap) && strstr(err, "Connection refused"), "%s", err);
    strand_conf_destroy(conf);
}

Test(client_restart, delivery_timeout_when_broker_stays_down)
{
    ct_create_topic(&broker, "lost", 1);
    ct_dr_t rows[3] = { 0 };
    ct_dr_table_t t = { rows, 3, 0, 0, "" };
    const char *kvs[] = { "delivery.timeout.ms=1500", "request.timeout.ms=1000",
                          "reconnect.backoff.max.ms=100", NULL };
    strand_conf_t *conf = ct_conf(&broker, kvs);
    strand_conf_set_delivery_cb(conf, ct_dr_cb, &t);
    char err[512];
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    strand_conf_destroy(conf);
    int32_t n;
    cr_assert_eq(strand_producer_partition_count(p, "lost", 5000, &n), 0);
    st_test_broker_stop(&broker, SIGKILL);
    for (intptr_t i = 0; i < 3; i++)
        cr_assert_eq(strand_produce(p, "lost", 0, NULL, 0, "x", 1, NULL, 0, 0, (void *)i), 0);
    int64_t t0 = ct_now_ms();
    cr_expect_eq(strand_producer_flush(p, 10000), 0, "reports must arrive within delivery.timeout.ms");
    cr_expect_lt(ct_now_ms() - t0, 5000);
    cr_expect_eq(t.errors, 3);
    cr_expect_neq(rows[0].error, 0);
    strand_producer_destroy(p);
}
