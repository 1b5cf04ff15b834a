/* Client library against a real broker: round trips with keys, headers, null keys and values,
 * LZ4; order within a partition; the Kafka partitioner; one million records intact and in
 * order; seek by offset and timestamp, ListOffsets; auto.offset.reset; admin calls. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(client, .init = start, .fini = stop, .timeout = 60);

static strand_producer_t *producer(ct_dr_table_t *t, const char *const *kvs)
{
    strand_conf_t *conf = ct_conf(&broker, kvs);
    strand_conf_set_delivery_cb(conf, ct_dr_cb, t);
    char err[512];
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    strand_conf_destroy(conf);
    return p;
}

static void roundtrip(const char *topic, const char *const *kvs)
{
    ct_create_topic(&broker, topic, 1);
    ct_dr_t rows[6] = { 0 };
    ct_dr_table_t t = { rows, 6, 0, 0, "" };
    strand_producer_t *p = producer(&t, kvs);
    strand_header_t hdrs[2] = { { "h1", 2, "v1", 2 }, { "nullh", 5, NULL, 0 } };
    /* 0: key+value+headers  1: null key  2: null value  3: empty key and value
     * 4: binary value with NULs  5: explicit timestamp */
    cr_assert_eq(strand_produce(p, topic, 0, "key0", 4, "value0", 6, hdrs, 2, 0, (void *)0), 0);
    cr_assert_eq(strand_produce(p, topic, 0, NULL, 0, "value1", 6, NULL, 0, 0, (void *)1), 0);
    cr_assert_eq(strand_produce(p, topic, 0, "key2", 4, NULL, 0, NULL, 0, 0, (void *)2), 0);
    cr_assert_eq(strand_produce(p, topic, 0, "", 0, "", 0, NULL, 0, 0, (void *)3), 0);
    cr_assert_eq(strand_produce(p, topic, 0, "k4", 2, "a\0b\0c", 5, NULL, 0, 0, (void *)4), 0);
    cr_assert_eq(strand_produce(p, topic, 0, "k5", 2, "v5", 2, NULL, 0, 1234567890123LL, (void *)5), 0);
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    cr_assert_eq(strand_producer_outq_len(p), 0);
    strand_producer_destroy(p);
    cr_assert_eq(t.errors, 0, "%s", t.first_error);
    for (int i = 0; i < 6; i++) {
        cr_expect(rows[i].done);
        cr_expect_eq(rows[i].partition, 0);
        cr_expect_eq(rows[i].offset, i, "record %d at offset %lld", i, (long long)rows[i].offset);
    }

    int32_t part0 = 0;
    ct_rec_t *recs;
    size_t n = ct_consume(&broker, topic, &part0, 1, 6, 10000, &recs);
    cr_assert_eq(n, 6);
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(recs[i].offset, (int64_t)i);
    cr_expect_str_eq(recs[0].key, "key0");
    cr_expect_str_eq(recs[0].value, "value0");
    cr_assert_eq(recs[0].n_headers, 2);
    cr_expect_str_eq(recs[0].headers[0].key, "h1");
    cr_expect_str_eq(recs[0].headers[0].value, "v1");
    cr_expect_str_eq(recs[0].headers[1].key, "nullh");
    cr_expect_null(recs[0].headers[1].value);
    cr_expect_null(recs[1].key);
    cr_expect_str_eq(recs[1].value, "value1");
    cr_expect_str_eq(recs[2].key, "key2");
    cr_expect_null(recs[2].value);
    cr_expect_not_null(recs[3].key);
    cr_expect_eq(recs[3].key_len, 0);
    cr_expect_not_null(recs[3].value);
    cr_expect_eq(recs[3].value_len, 0);
    cr_expect_eq(recs[4].value_len, 5);
    cr_expect_eq(memcmp(recs[4].value, "a\0b\0c", 5), 0);
    cr_expect_eq(recs[5].timestamp, 1234567890123LL);
    cr_expect_gt(recs[0].timestamp, 1600000000000LL, "timestamp 0 means now");
    ct_recs_free(recs, n);
}

Test(client, roundtrip_plain)
{
    roundtrip("rt-plain", NULL);
}

Test(client, roundtrip_lz4)
{
    const char *kvs[] = { "compression.type=lz4", NULL };
    roundtrip("rt-lz4", kvs);
}

Test(client, roundtrip_acks0_and_acks1)
{
    const char *kvs1[] = { "acks=1", NULL };
    roundtrip("rt-acks1", kvs1);
    /* acks=0: reports come without offsets but the data is there. */
    ct_create_topic(&broker, "rt-acks0", 1);
    ct_dr_t rows[10] = { 0 };
    ct_dr_table_t t = { rows, 10, 0, 0, "" };
    const char *kvs0[] = { "acks=0", NULL };
    strand_producer_t *p = producer(&t, kvs0);
    for (intptr_t i = 0; i < 10; i++)
        cr_assert_eq(strand_produce(p, "rt-acks0", 0, NULL, 0, "x", 1, NULL, 0, 0, (void *)i), 0);
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    strand_producer_destroy(p);
    cr_expect_eq(t.errors, 0);
    cr_expect_eq(rows[9].offset, -1);
    int32_t part0 = 0;
    ct_rec_t *recs;
    cr_expect_eq(ct_consume(&broker, "rt-acks0", &part0, 1, 10, 10000, &recs), 10);
    ct_recs_free(recs, 10);
}

Test(client, keyed_partitioning_and_order)
{
    const int parts = 4, per_key = 500, keys = 8;
    ct_create_topic(&broker, "order", parts);
    size_t total = (size_t)per_key * keys;
    ct_dr_t *rows = calloc(total, sizeof(*rows));
    ct_dr_table_t t = { rows, total, 0, 0, "" };
    const char *kvs[] = { "linger.ms=2", "batch.size=2048", NULL };
    strand_producer_t *p = producer(&t, kvs);
    for (int i = 0; i < per_key; i++) {
        for (int k = 0; k < keys; k++) {
            char key[16], value[32];
            snprintf(key, sizeof(key), "key-%d", k);
            snprintf(value, sizeof(value), "%d:%d", k, i);
            intptr_t idx = (intptr_t)i * keys + k;
            cr_assert_eq(strand_produce(p, "order", STRAND_PARTITION_ANY, key, strlen(key), value,
                                        strlen(value), NULL, 0, 0, (void *)idx), 0);
        }
    }
    cr_assert_eq(strand_producer_flush(p, 20000), 0);
    strand_producer_destroy(p);
    cr_assert_eq(t.errors, 0, "%s", t.first_error);
    /* Every key went to murmur2(key) % partitions, as Kafka would place it. */
    for (int k = 0; k < keys; k++) {
        char key[16];
        snprintf(key, sizeof(key), "key-%d", k);
        int32_t want = strand_partition_for_key(key, strlen(key), parts);
        for (int i = 0; i < per_key; i++)
            cr_assert_eq(rows[i * keys + k].partition, want);
    }
    free(rows);
    int32_t all[4] = { 0, 1, 2, 3 };
    ct_rec_t *recs;
    size_t n = ct_consume(&broker, "order", all, 4, total, 20000, &recs);
    cr_assert_eq(n, total);
    int next[8] = { 0 };
    int64_t last_off[4] = { -1, -1, -1, -1 };
    for (size_t i = 0; i < n; i++) {
        int k, seq;
        cr_assert_eq(sscanf(recs[i].value, "%d:%d", &k, &seq), 2);
        cr_assert_eq(seq, next[k], "key %d: got %d, expected %d (order within a partition)", k, seq, next[k]);
        next[k]++;
        cr_assert_gt(recs[i].offset, last_off[recs[i].partition]);
        last_off[recs[i].partition] = recs[i].offset;
    }
    ct_recs_free(recs, n);
}

Test(client, sticky_partitioning_spreads_null_keys)
{
    ct_create_topic(&broker, "sticky", 3);
    size_t total = 3000;
    ct_dr_t *rows = calloc(total, sizeof(*rows));
    ct_dr_table_t t = { rows, total, 0, 0, "" };
    const char *kvs[] = { "batch.size=1024", "linger.ms=50", NULL };
    strand_producer_t *p = producer(&t, kvs);
    char value[100];
    memset(value, 'v', sizeof(value));
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(strand_produce(p, "sticky", STRAND_PARTITION_ANY, NULL, 0, value, sizeof(value),
                                    NULL, 0, 0, (void *)(intptr_t)i), 0);
    cr_assert_eq(strand_producer_flush(p, 20000), 0);
    strand_producer_destroy(p);
    cr_assert_eq(t.errors, 0, "%s", t.first_error);
    size_t per[3] = { 0 }, switches = 0;
    for (size_t i = 0; i < total; i++) {
        per[rows[i].partition]++;
        if (i && rows[i].partition != rows[i - 1].partition)
            switches++;
    }
    /* Sticky: long runs on one partition (about a batch each), yet every partition is used. */
    cr_expect(per[0] && per[1] && per[2], "%zu %zu %zu", per[0], per[1], per[2]);
    cr_expect_lt(switches, total / 4, "%zu partition switches: not sticky", switches);
    free(rows);
}

Test(client, explicit_partition_out_of_range)
{
    ct_create_topic(&broker, "two", 2);
    ct_dr_table_t t = { NULL, 0, 0, 0, "" };
    strand_producer_t *p = producer(&t, NULL);
    cr_expect_eq(strand_produce(p, "two", 2, NULL, 0, "x", 1, NULL, 0, 0, NULL),
                 ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_expect_eq(strand_produce(p, "two", -5, NULL, 0, "x", 1, NULL, 0, 0, NULL), ST_ERR_INVALID_ARG);
    int32_t count = 0;
    cr_expect_eq(strand_producer_partition_count(p, "two", 5000, &count), 0);
    cr_expect_eq(count, 2);
    strand_producer_destroy(p);
}

Test(client, million_records_intact_and_in_order, .timeout = 120)
{
    const size_t total = 1000000;
    ct_create_topic(&broker, "million", 2);
    const char *kvs[] = { "acks=1", NULL };
    strand_conf_t *conf = ct_conf(&broker, kvs);
    char err[512];
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    int64_t t0 = ct_now_ms();
    char value[100];
    memset(value, '.', sizeof(value));
    for (size_t i = 0; i < total; i++) {
        /* Partition by parity so each partition's offsets map to known indexes. */
        int n = snprintf(value, sizeof(value), "%zu|", i);
        value[n] = '.';
        cr_assert_eq(strand_produce(p, "million", (int32_t)(i & 1), NULL, 0, value, sizeof(value),
                                    NULL, 0, 0, NULL), 0);
    }
    cr_assert_eq(strand_producer_flush(p, 30000), 0);
    strand_producer_destroy(p);
    int64_t t1 = ct_now_ms();

    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t tps[2] = { { "million", 0, STRAND_OFFSET_BEGINNING, 0 },
                                        { "million", 1, STRAND_OFFSET_BEGINNING, 0 } };
    cr_assert_eq(strand_consumer_assign(c, tps, 2), 0);
    int64_t next_off[2] = { 0, 0 };
    size_t seen = 0;
    int64_t deadline = ct_now_ms() + 60000;
    while (seen < total && ct_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t got;
        cr_assert_eq(strand_consumer_poll(c, 200, &msgs, &got), 0);
        for (size_t i = 0; i < got; i++) {
            const strand_message_t *m = &msgs[i];
            cr_assert_eq(m->error, 0, "%s", m->errstr);
            cr_assert_eq(m->offset, next_off[m->partition], "partition %d: offset %lld, expected %lld",
                         m->partition, (long long)m->offset, (long long)next_off[m->partition]);
            size_t idx = (size_t)m->offset * 2 + (size_t)m->partition;
            char expect[100];
            memset(expect, '.', sizeof(expect));
            int n = snprintf(expect, sizeof(expect), "%zu|", idx);
            expect[n] = '.';
            cr_assert_eq(m->value_len, sizeof(expect));
            cr_assert_eq(memcmp(m->value, expect, sizeof(expect)), 0, "value at %d/%lld", m->partition,
                         (long long)m->offset);
            cr_assert_null(m->key);
            next_off[m->partition]++;
            seen++;
        }
    }
    int64_t t2 = ct_now_ms();
    strand_consumer_destroy(c);
    cr_assert_eq(seen, total);
    cr_log_info("1M records: produce+flush %lld ms, consume %lld ms", (long long)(t1 - t0),
                (long long)(t2 - t1));
}

Test(client, seek_list_offsets_and_timestamps)
{
    ct_create_topic(&broker, "seek", 1);
    ct_dr_table_t t = { NULL, 0, 0, 0, "" };
    strand_producer_t *p = producer(&t, NULL);
    for (int i = 0; i < 100; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        cr_assert_eq(strand_produce(p, "seek", 0, NULL, 0, v, strlen(v), NULL, 0,
                                    1000000 + (int64_t)i * 10, NULL), 0);
    }   /* one batch: the lookup must find the exact record inside it, as Kafka does */
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    strand_producer_destroy(p);

    strand_conf_t *conf = ct_conf(&broker, NULL);
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t lo[3] = { { "seek", 0, STRAND_OFFSET_BEGINNING, 0 },
                                       { "seek", 0, STRAND_OFFSET_END, 0 },
                                       { "seek", 0, 1000000 + 425, 0 } };
    cr_assert_eq(strand_consumer_list_offsets(c, lo, 3, 5000), 0);
    cr_expect_eq(lo[0].error, 0);
    cr_expect_eq(lo[0].offset, 0);
    cr_expect_eq(lo[1].offset, 100);
    cr_expect_eq(lo[2].offset, 43, "first record with ts >= 1000425 is offset 43, got %lld",
                 (long long)lo[2].offset);

    strand_topic_partition_t tp = { "seek", 0, 50, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    const strand_message_t *msgs;
    size_t got = 0;
    int64_t deadline = ct_now_ms() + 10000;
    while (!got && ct_now_ms() < deadline)
        strand_consumer_poll(c, 100, &msgs, &got);
    cr_assert_gt(got, 0);
    cr_expect_eq(msgs[0].offset, 50, "records below the position are skipped");
    cr_expect_eq(msgs[0].timestamp, 1000500);

    cr_assert_eq(strand_consumer_seek_timestamp(c, "seek", 0, 1000000 + 901), 0);
    got = 0;
    deadline = ct_now_ms() + 10000;
    while (!got && ct_now_ms() < deadline)
        strand_consumer_poll(c, 100, &msgs, &got);
    cr_assert_gt(got, 0);
    cr_expect_eq(msgs[0].offset, 91);

    cr_assert_eq(strand_consumer_seek(c, "seek", 0, STRAND_OFFSET_BEGINNING), 0);
    got = 0;
    deadline = ct_now_ms() + 10000;
    while (!got && ct_now_ms() < deadline)
        strand_consumer_poll(c, 100, &msgs, &got);
    cr_assert_gt(got, 0);
    cr_expect_eq(msgs[0].offset, 0);
    int64_t pos = -5;
    cr_expect_eq(strand_consumer_position(c, "seek", 0, &pos), 0);
    cr_expect_eq(pos, msgs[got - 1].offset + 1);
    cr_expect_eq(strand_consumer_seek(c, "seek", 7, 0), ST_ERR_INVALID_ARG, "not assigned");
    strand_consumer_destroy(c);
}

Test(client, offset_out_of_range_policies)
{
    ct_create_topic(&broker, "oor", 1);
    ct_dr_table_t t = { NULL, 0, 0, 0, "" };
    strand_producer_t *p = producer(&t, NULL);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(strand_produce(p, "oor", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    strand_producer_destroy(p);

    const char *none[] = { "auto.offset.reset=none", NULL };
    strand_conf_t *conf = ct_conf(&broker, none);
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t tp = { "oor", 0, 1000, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    const strand_message_t *msgs;
    size_t got = 0;
    int64_t deadline = ct_now_ms() + 10000;
    while (!got && ct_now_ms() < deadline)
        strand_consumer_poll(c, 100, &msgs, &got);
    cr_assert_eq(got, 1);
    cr_expect_eq(msgs[0].error, ST_ERR_OFFSET_OUT_OF_RANGE);
    cr_expect(strstr(msgs[0].errstr, "oor-0") != NULL, "%s", msgs[0].errstr);
    strand_consumer_destroy(c);

    const char *earliest[] = { "auto.offset.reset=earliest", NULL };
    conf = ct_conf(&broker, earliest);
    c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    got = 0;
    deadline = ct_now_ms() + 10000;
    while (!got && ct_now_ms() < deadline)
        strand_consumer_poll(c, 100, &msgs, &got);
    cr_assert_gt(got, 0);
    cr_expect_eq(msgs[0].error, 0, "%s", msgs[0].errstr);
    cr_expect_eq(msgs[0].offset, 0);
    strand_consumer_destroy(c);
}

Test(client, unknown_topics)
{
    strand_conf_t *conf = ct_conf(&broker, NULL);
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_topic_partition_t tp = { "does-not-exist", 0, 0, 0 };
    cr_expect_eq(strand_consumer_assign(c, &tp, 1), ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    int32_t n;
    cr_expect_eq(strand_consumer_partition_count(c, "does-not-exist", 2000, &n),
                 ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    strand_consumer_destroy(c);
    strand_conf_destroy(conf);
}

Test(client, admin_topics)
{
    strand_conf_t *conf = ct_conf(&broker, NULL);
    char err[512];
    strand_admin_t *a = strand_admin_new(conf, err, sizeof(err));
    cr_assert_not_null(a, "%s", err);
    strand_conf_destroy(conf);
    strand_new_topic_t nt = { .name = "adm", .num_partitions = 3, .replication_factor = 1 };
    cr_assert_eq(strand_admin_create_topic(a, &nt, 10000, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(strand_admin_create_topic(a, &nt, 10000, err, sizeof(err)), ST_ERR_TOPIC_ALREADY_EXISTS);
    cr_expect(strstr(err, "adm") != NULL, "%s", err);
    strand_new_topic_t bad = { .name = "adm-bad", .num_partitions = 0, .replication_factor = 1 };
    cr_expect_neq(strand_admin_create_topic(a, &bad, 10000, err, sizeof(err)), 0);

    char **names;
    size_t n;
    cr_assert_eq(strand_admin_list_topics(a, false, 5000, &names, &n), 0);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found = found || strcmp(names[i], "adm") == 0;
    cr_expect(found);
    strand_names_free(names, n);

    const char *which[2] = { "adm", "nope" };
    strand_topic_info_t *infos;
    cr_assert_eq(strand_admin_describe_topics(a, which, 2, 5000, &infos, &n), 0);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(infos[0].name, "adm");
    cr_expect_eq(infos[0].error, 0);
    cr_assert_eq(infos[0].partition_count, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_expect_eq(infos[0].partitions[i].partition, (int32_t)i);
        cr_expect_geq(infos[0].partitions[i].leader, 0);
        cr_expect_eq(infos[0].partitions[i].replica_count, 1);
        cr_expect_eq(infos[0].partitions[i].isr_count, 1);
    }
    cr_expect_eq(infos[1].error, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    strand_topic_infos_free(infos, n);

    strand_broker_info_t *brokers;
    int32_t controller = -2;
    char *cluster = NULL;
    cr_assert_eq(strand_admin_describe_cluster(a, 5000, &brokers, &n, &controller, &cluster), 0);
    cr_expect_eq(n, 1);
    cr_expect_eq(brokers[0].port, broker.port);
    strand_broker_infos_free(brokers, n);
    free(cluster);

    cr_assert_eq(strand_admin_delete_topic(a, "adm", 10000, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(strand_admin_delete_topic(a, "adm", 10000, err, sizeof(err)),
                 ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    strand_admin_destroy(a);
}

Test(client, destroy_without_flush_reports_every_record)
{
    ct_create_topic(&broker, "destroy", 1);
    size_t total = 1000;
    ct_dr_t *rows = calloc(total, sizeof(*rows));
    ct_dr_table_t t = { rows, total, 0, 0, "" };
    const char *kvs[] = { "linger.ms=10000", NULL };
    strand_producer_t *p = producer(&t, kvs);
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(strand_produce(p, "destroy", 0, NULL, 0, "x", 1, NULL, 0, 0, (void *)(intptr_t)i), 0);
    strand_producer_destroy(p);
    cr_expect_eq(t.reports, (long)total, "every record gets exactly one report");
    cr_expect_eq(rows[0].error, ST_ERR_DESTROYED);
    free(rows);
}
