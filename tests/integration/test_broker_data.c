/* Broker integration tests, data path, on one broker that is its own controller (a ZooKeeper
 * chroot of its own): topic creation and metadata, produce + fetch round trips of
 * st_batch_writer batches, acks=0, per-partition errors (unknown topic, offsets out of range,
 * corrupt and oversized batches, invalid acks) with the connection and the broker still
 * serving, long-poll fetch, ListOffsets, fetch size limits, DeleteTopics and auto-creation. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker_wire.h"
#include "harness.h"
#include "st_error.h"

static st_test_broker_t broker;
static int fd = -1;

static void start(void)
{
    static const char *const overrides[] = { "message.max.bytes=65536",
                                             "auto.create.topics.enable=true",
                                             "num.partitions=3",
                                             "log.retention.check.interval.ms=200", NULL };
    cr_assert_eq(st_test_broker_start(&broker, overrides), 0, "broker did not start");
    fd = st_test_connect(broker.port);
    cr_assert_geq(fd, 0);
}

static void stop(void)
{
    if (fd >= 0)
        close(fd);
    fd = -1;
    st_test_broker_cleanup(&broker);
}

TestSuite(broker_data, .init = start, .fini = stop, .timeout = 60);

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void create(const char *name, int partitions)
{
    Strand__CreateTopicsResponse *resp = tw_create_topic(fd, 1, name, partitions, 1, NULL);
    cr_assert_not_null(resp);
    cr_assert_eq(resp->n_topics, 1);
    cr_assert_eq(resp->topics[0]->error_code, ST_ERR_NONE, "create %s: %s", name,
                 resp->topics[0]->error_message);
    strand__create_topics_response__free_unpacked(resp, NULL);
}

/* Produces one batch of n records; returns the base offset (asserts success). */
static int64_t produce(const char *topic, int32_t partition, int n, size_t value_len)
{
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(n, value_len, 1700000000000LL, &batch, &len), 0);
    Strand__ProduceResponse *resp = tw_produce(fd, 2, topic, partition, 1, batch, len);
    free(batch);
    cr_assert_not_null(resp);
    Strand__ProducePartitionResponse *pr = resp->responses[0]->partitions[0];
    cr_assert_eq(pr->error_code, ST_ERR_NONE, "produce: %s", pr->error_message);
    int64_t base = pr->base_offset;
    strand__produce_response__free_unpacked(resp, NULL);
    return base;
}

static int32_t produce_error(const uint8_t *records, size_t len, const char *topic, int32_t acks)
{
    Strand__ProduceResponse *resp = tw_produce(fd, 3, topic, 0, acks, records, len);
    cr_assert_not_null(resp);
    int32_t code = resp->responses[0]->partitions[0]->error_code;
    strand__produce_response__free_unpacked(resp, NULL);
    return code;
}

static int32_t fetch_error(const char *topic, int32_t partition, int64_t offset)
{
    Strand__FetchResponse *resp = tw_fetch(fd, 4, topic, partition, offset, 0, 1, 0, 0, NULL, NULL);
    cr_assert_not_null(resp);
    int32_t code = resp->responses[0]->partitions[0]->error_code;
    strand__fetch_response__free_unpacked(resp, NULL);
    return code;
}

Test(broker_data, create_topic_and_metadata)
{
    create("orders", 4);
    Strand__MetadataResponse *md = tw_metadata(fd, 5, "orders", false);
    cr_assert_not_null(md);
    cr_expect_eq(md->n_brokers, 1);
    cr_expect_eq(md->brokers[0]->node_id, 0);
    cr_expect_str_eq(md->brokers[0]->host, "127.0.0.1");
    cr_expect_eq(md->brokers[0]->port, broker.port);
    cr_expect_eq(md->controller_id, 0);
    cr_expect_gt(strlen(md->cluster_id), 10);
    cr_assert_eq(md->n_topics, 1);
    cr_expect_eq(md->topics[0]->error_code, 0);
    cr_assert_eq(md->topics[0]->n_partitions, 4);
    for (int i = 0; i < 4; i++) {
        Strand__PartitionMetadata *pm = md->topics[0]->partitions[i];
        cr_expect_eq(pm->partition, i);
        cr_expect_eq(pm->leader, 0);
        cr_expect_eq(pm->leader_epoch, 0);
        cr_expect_eq(pm->n_replicas, 1);
        cr_expect_eq(pm->n_isr, 1);
    }
    strand__metadata_response__free_unpacked(md, NULL);

    /* Already exists; bad names; bad partition count; replication factor > brokers. */
    Strand__CreateTopicsResponse *ct = tw_create_topic(fd, 6, "orders", 1, 1, NULL);
    cr_expect_eq(ct->topics[0]->error_code, ST_ERR_TOPIC_ALREADY_EXISTS);
    strand__create_topics_response__free_unpacked(ct, NULL);
    const char *bad[] = { "bad name", "..", ".", "", "a/b" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ct = tw_create_topic(fd, 7, bad[i], 1, 1, NULL);
        cr_expect_eq(ct->topics[0]->error_code, ST_ERR_INVALID_TOPIC_EXCEPTION, "name '%s'", bad[i]);
        strand__create_topics_response__free_unpacked(ct, NULL);
    }
    char longname[251];
    memset(longname, 'x', 250);
    longname[250] = '\0';
    ct = tw_create_topic(fd, 8, longname, 1, 1, NULL);
    cr_expect_eq(ct->topics[0]->error_code, ST_ERR_INVALID_TOPIC_EXCEPTION);
    strand__create_topics_response__free_unpacked(ct, NULL);
    ct = tw_create_topic(fd, 9, "zero", 0, 1, NULL);
    cr_expect_eq(ct->topics[0]->error_code, ST_ERR_INVALID_PARTITIONS);
    strand__create_topics_response__free_unpacked(ct, NULL);
    ct = tw_create_topic(fd, 10, "rf3", 1, 3, NULL);
    cr_expect_eq(ct->topics[0]->error_code, ST_ERR_INVALID_REPLICATION_FACTOR);
    cr_expect_not_null(strstr(ct->topics[0]->error_message, "available brokers"));
    strand__create_topics_response__free_unpacked(ct, NULL);
    const char *cfg_bad[] = { "retention.ms", "soon", NULL };
    ct = tw_create_topic(fd, 11, "cfgbad", 1, 1, cfg_bad);
    cr_expect_eq(ct->topics[0]->error_code, ST_ERR_INVALID_CONFIG);
    strand__create_topics_response__free_unpacked(ct, NULL);
    const char *cfg_unknown[] = { "no.such.config", "1", NULL };
    ct = tw_create_topic(fd, 12, "cfgunknown", 1, 1, cfg_unknown);
    cr_expect_eq(ct->topics[0]->error_code, ST_ERR_INVALID_CONFIG);
    strand__create_topics_response__free_unpacked(ct, NULL);
    const char *cfg_ok[] = { "retention.ms", "3600000", "cleanup.policy", "compact,delete",
                             "segment.bytes", "1048576", NULL };
    ct = tw_create_topic(fd, 13, "cfgok", 2, -1, cfg_ok);
    cr_expect_eq(ct->topics[0]->error_code, ST_ERR_NONE);
    cr_expect_eq(ct->topics[0]->num_partitions, 2);
    cr_expect_eq(ct->topics[0]->replication_factor, 1);
    strand__create_topics_response__free_unpacked(ct, NULL);
}

Test(broker_data, produce_fetch_round_trip)
{
    create("rt", 2);
    int64_t base0 = produce("rt", 0, 100, 100);
    int64_t base1 = produce("rt", 0, 50, 100);
    int64_t other = produce("rt", 1, 10, 10);
    cr_expect_eq(base0, 0);
    cr_expect_eq(base1, 100);
    cr_expect_eq(other, 0);

    uint8_t *tail = NULL;
    size_t tail_len = 0;
    Strand__FetchResponse *resp = tw_fetch(fd, 20, "rt", 0, 0, 0, 1, 0, 0, &tail, &tail_len);
    cr_assert_not_null(resp);
    Strand__FetchPartitionResponse *pr = resp->responses[0]->partitions[0];
    cr_expect_eq(pr->error_code, 0);
    cr_expect_eq(pr->high_watermark, 150);
    cr_expect_eq(pr->log_start_offset, 0);
    cr_expect_eq(pr->records_size, tail_len);
    int64_t first = -1, last = -1;
    cr_expect_eq(tw_count_records(tail, tail_len, &first, &last), 150);
    cr_expect_eq(first, 0);
    cr_expect_eq(last, 149);
    free(tail);
    strand__fetch_response__free_unpacked(resp, NULL);

    /* From the middle of the second batch: the whole batch comes back. */
    resp = tw_fetch(fd, 21, "rt", 0, 120, 0, 1, 0, 0, &tail, &tail_len);
    cr_assert_not_null(resp);
    cr_expect_eq(tw_count_records(tail, tail_len, &first, &last), 50);
    cr_expect_eq(first, 100);
    free(tail);
    strand__fetch_response__free_unpacked(resp, NULL);

    /* At the end: nothing, no error. */
    cr_expect_eq(fetch_error("rt", 0, 150), ST_ERR_NONE);
}

Test(broker_data, fetch_limits_kip74)
{
    create("limits", 1);
    for (int i = 0; i < 5; i++)
        produce("limits", 0, 10, 1000);   /* ~10 KiB batches */
    uint8_t *tail = NULL;
    size_t tail_len = 0;
    /* partition_max_bytes 100: still one whole batch (first non-empty partition). */
    Strand__FetchResponse *resp = tw_fetch(fd, 30, "limits", 0, 0, 0, 1, 100, 100, &tail, &tail_len);
    cr_assert_not_null(resp);
    cr_expect_eq(tw_count_records(tail, tail_len, NULL, NULL), 10);
    free(tail);
    strand__fetch_response__free_unpacked(resp, NULL);
    /* 25 KB total: two whole batches, never a partial one. */
    resp = tw_fetch(fd, 31, "limits", 0, 0, 0, 1, 25000, 1 << 20, &tail, &tail_len);
    cr_assert_not_null(resp);
    cr_expect_eq(tw_count_records(tail, tail_len, NULL, NULL), 20);
    cr_expect_leq(tail_len, 25000);
    free(tail);
    strand__fetch_response__free_unpacked(resp, NULL);
}

Test(broker_data, produce_acks_zero)
{
    create("fire", 1);
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(5, 20, 1, &batch, &len), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_null(tw_produce(fd, 100 + i, "fire", 0, 0, batch, len));
    free(batch);
    /* No response to acks=0: the next answer on the connection is the ListOffsets one. */
    Strand__ListOffsetsResponse *lo = tw_list_offsets(fd, 200, "fire", 0, -1);
    cr_assert_not_null(lo, "acks=0 produce got a response (or nothing came back)");
    cr_expect_eq(lo->topics[0]->partitions[0]->offset, 50);
    strand__list_offsets_response__free_unpacked(lo, NULL);

    /* acks=0 to an unknown topic: the broker closes the connection (Kafka semantics). */
    cr_assert_eq(tw_make_batch(1, 1, 1, &batch, &len), 0);
    tw_produce(fd, 201, "nope", 0, 0, batch, len);
    free(batch);
    cr_expect(tw_wait_closed(fd, 5000));
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_data, unknown_topic_and_invalid_acks)
{
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(1, 10, 1, &batch, &len), 0);
    cr_expect_eq(produce_error(batch, len, "missing", 1), ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_expect_eq(fetch_error("missing", 0, 0), ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    create("acks", 1);
    cr_expect_eq(produce_error(batch, len, "acks", 2), ST_ERR_INVALID_REQUIRED_ACKS);
    cr_expect_eq(produce_error(batch, len, "acks", -1), ST_ERR_NONE);
    cr_expect_eq(fetch_error("acks", 5, 0), ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    free(batch);
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_data, fetch_offsets_out_of_range)
{
    create("range", 1);
    produce("range", 0, 10, 10);
    cr_expect_eq(fetch_error("range", 0, -1), ST_ERR_OFFSET_OUT_OF_RANGE);
    cr_expect_eq(fetch_error("range", 0, -100), ST_ERR_OFFSET_OUT_OF_RANGE);
    cr_expect_eq(fetch_error("range", 0, 11), ST_ERR_OFFSET_OUT_OF_RANGE);
    cr_expect_eq(fetch_error("range", 0, 1000000), ST_ERR_OFFSET_OUT_OF_RANGE);
    cr_expect_eq(fetch_error("range", 0, 10), ST_ERR_NONE);
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_data, corrupt_batch_rejected)
{
    create("crc", 1);
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(3, 30, 1, &batch, &len), 0);
    batch[len - 1] ^= 0x55;   /* payload bit flip: CRC mismatch */
    cr_expect_eq(produce_error(batch, len, "crc", 1), ST_ERR_CORRUPT_MESSAGE);
    batch[len - 1] ^= 0x55;
    batch[16] = 1;            /* magic 1 */
    cr_expect_eq(produce_error(batch, len, "crc", 1), ST_ERR_CORRUPT_MESSAGE);
    batch[16] = 2;
    cr_expect_eq(produce_error(batch, len - 7, "crc", 1), ST_ERR_CORRUPT_MESSAGE);  /* torn */
    cr_expect_eq(produce_error(batch, 0, "crc", 1), ST_ERR_CORRUPT_MESSAGE);        /* empty */
    /* Same connection: a good batch still goes in at offset 0. */
    cr_expect_eq(produce_error(batch, len, "crc", 1), ST_ERR_NONE);
    free(batch);
    cr_expect_eq(fetch_error("crc", 0, 0), ST_ERR_NONE);
    cr_expect(tw_wait_file_contains(broker.log_path, "CORRUPT_MESSAGE", 2000));
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_data, message_too_large)
{
    create("big", 1);
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(100, 1000, 1, &batch, &len), 0);   /* ~100 KB > 64 KiB */
    cr_expect_eq(produce_error(batch, len, "big", 1), ST_ERR_MESSAGE_TOO_LARGE);
    free(batch);
    cr_expect(st_test_file_contains(broker.log_path, "max.message.bytes"));
    /* The same connection keeps working. */
    cr_expect_eq(produce("big", 0, 10, 100), 0);
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_data, long_poll_wakes_on_produce)
{
    create("poll", 1);
    int consumer = st_test_connect(broker.port);
    cr_assert_geq(consumer, 0);
    int64_t t0 = now_ms();
    cr_assert_eq(tw_send_fetch(consumer, 50, "poll", 0, 0, 5000, 1), 0);
    /* Give the fetch time to park, then produce on another connection. */
    struct timespec ts = { 0, 200 * 1000000L };
    nanosleep(&ts, NULL);
    produce("poll", 0, 3, 10);
    uint8_t *tail = NULL;
    size_t tail_len = 0;
    Strand__FetchResponse *resp = (Strand__FetchResponse *)tw_recv_response(
        consumer, 50, &strand__fetch_response__descriptor, &tail, &tail_len);
    int64_t took = now_ms() - t0;
    cr_assert_not_null(resp);
    cr_expect_eq(tw_count_records(tail, tail_len, NULL, NULL), 3);
    cr_expect_lt(took, 3000, "long poll answered after %lld ms, not on data arrival",
                 (long long)took);
    free(tail);
    strand__fetch_response__free_unpacked(resp, NULL);
    close(consumer);
}

Test(broker_data, long_poll_times_out_empty)
{
    create("quiet", 1);
    int64_t t0 = now_ms();
    uint8_t *tail = NULL;
    size_t tail_len = 0;
    Strand__FetchResponse *resp = tw_fetch(fd, 60, "quiet", 0, 0, 500, 1, 0, 0, &tail, &tail_len);
    int64_t took = now_ms() - t0;
    cr_assert_not_null(resp);
    cr_expect_eq(resp->responses[0]->partitions[0]->error_code, 0);
    cr_expect_eq(tail_len, 0);
    cr_expect_geq(took, 450, "answered after %lld ms, before max_wait_ms", (long long)took);
    cr_expect_lt(took, 3000);
    free(tail);
    strand__fetch_response__free_unpacked(resp, NULL);
    /* The connection continues with the next request. */
    cr_expect_eq(produce("quiet", 0, 1, 1), 0);
}

Test(broker_data, list_offsets)
{
    create("lo", 1);
    produce("lo", 0, 10, 10);   /* timestamps 1700000000000 + i */
    produce("lo", 0, 10, 10);
    Strand__ListOffsetsResponse *lo = tw_list_offsets(fd, 70, "lo", 0, -2);
    cr_assert_not_null(lo);
    cr_expect_eq(lo->topics[0]->partitions[0]->offset, 0);
    strand__list_offsets_response__free_unpacked(lo, NULL);
    lo = tw_list_offsets(fd, 71, "lo", 0, -1);
    cr_expect_eq(lo->topics[0]->partitions[0]->offset, 20);
    strand__list_offsets_response__free_unpacked(lo, NULL);
    lo = tw_list_offsets(fd, 72, "lo", 0, 1700000000000LL);
    cr_expect_eq(lo->topics[0]->partitions[0]->offset, 0);
    strand__list_offsets_response__free_unpacked(lo, NULL);
    /* Inside a batch: the exact record (offset 5 has timestamp 1700000000000 + 5), not the
     * batch's base offset, and that record's timestamp. */
    lo = tw_list_offsets(fd, 75, "lo", 0, 1700000000005LL);
    cr_assert_not_null(lo);
    cr_expect_eq(lo->topics[0]->partitions[0]->offset, 5);
    cr_expect_eq(lo->topics[0]->partitions[0]->timestamp, 1700000000005LL);
    strand__list_offsets_response__free_unpacked(lo, NULL);
    lo = tw_list_offsets(fd, 73, "lo", 0, 1800000000000LL);
    cr_expect_eq(lo->topics[0]->partitions[0]->offset, -1);
    strand__list_offsets_response__free_unpacked(lo, NULL);
    lo = tw_list_offsets(fd, 74, "nothere", 0, -1);
    cr_expect_eq(lo->topics[0]->partitions[0]->error_code, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    strand__list_offsets_response__free_unpacked(lo, NULL);
}

Test(broker_data, delete_topic)
{
    create("gone", 2);
    produce("gone", 0, 5, 5);
    Strand__DeleteTopicsResponse *dt = tw_delete_topic(fd, 80, "gone");
    cr_assert_not_null(dt);
    cr_expect_eq(dt->responses[0]->error_code, ST_ERR_NONE);
    strand__delete_topics_response__free_unpacked(dt, NULL);
    cr_expect_eq(fetch_error("gone", 0, 0), ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    dt = tw_delete_topic(fd, 81, "gone");
    cr_expect_eq(dt->responses[0]->error_code, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    strand__delete_topics_response__free_unpacked(dt, NULL);
    /* Re-creating it starts from offset 0. */
    create("gone", 1);
    cr_expect_eq(produce("gone", 0, 1, 1), 0);
}

/* Auto-creation writes the topic to ZooKeeper and answers LEADER_NOT_AVAILABLE until the
 * controller has elected its leaders, as Kafka does; the client retries (here: 10 s at most). */
Test(broker_data, metadata_auto_create)
{
    Strand__MetadataResponse *md = tw_metadata(fd, 90, "auto1", false);
    cr_assert_not_null(md);
    cr_expect_eq(md->topics[0]->error_code, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    strand__metadata_response__free_unpacked(md, NULL);
    md = tw_metadata(fd, 91, "auto1", true);
    cr_assert_not_null(md);
    cr_expect(md->topics[0]->error_code == ST_ERR_LEADER_NOT_AVAILABLE ||
              md->topics[0]->error_code == ST_ERR_NONE, "first answer: error %d",
              md->topics[0]->error_code);
    int64_t deadline = now_ms() + 10000;
    while (md->topics[0]->error_code != ST_ERR_NONE && now_ms() < deadline) {
        strand__metadata_response__free_unpacked(md, NULL);
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
        md = tw_metadata(fd, 91, "auto1", true);
        cr_assert_not_null(md);
    }
    cr_expect_eq(md->topics[0]->error_code, ST_ERR_NONE);
    cr_expect_eq(md->topics[0]->n_partitions, 3);   /* num.partitions=3 */
    strand__metadata_response__free_unpacked(md, NULL);
    cr_expect_eq(produce("auto1", 2, 1, 1), 0, "the auto-created topic takes records");
    md = tw_metadata(fd, 92, "bad/name", true);
    cr_expect_eq(md->topics[0]->error_code, ST_ERR_INVALID_TOPIC_EXCEPTION);
    strand__metadata_response__free_unpacked(md, NULL);
    md = tw_metadata(fd, 93, NULL, false);
    cr_expect_eq(md->n_topics, 1);
    strand__metadata_response__free_unpacked(md, NULL);
}

/* Several producers on different connections (so on different loops) into one partition,
 * with a consumer long-polling: every record arrives exactly once, offsets dense. */
static int producer_port;

static void *producer_thread(void *arg)
{
    (void)arg;
    int pfd = st_test_connect(producer_port);
    uint8_t *batch;
    size_t len;
    tw_make_batch(20, 50, 1, &batch, &len);
    for (int i = 0; i < 50; i++) {
        Strand__ProduceResponse *resp = tw_produce(pfd, i, "shared", 0, 1, batch, len);
        if (resp)
            strand__produce_response__free_unpacked(resp, NULL);
    }
    free(batch);
    close(pfd);
    return NULL;
}

Test(broker_data, concurrent_producers_one_partition)
{
    create("shared", 1);
    producer_port = broker.port;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, producer_thread, NULL);
    int64_t next = 0;
    int64_t deadline = now_ms() + 20000;
    while (next < 4000 && now_ms() < deadline) {
        uint8_t *tail = NULL;
        size_t tail_len = 0;
        Strand__FetchResponse *resp = tw_fetch(fd, 7, "shared", 0, next, 1000, 1, 0, 0, &tail,
                                               &tail_len);
        cr_assert_not_null(resp);
        cr_assert_eq(resp->responses[0]->partitions[0]->error_code, 0);
        int64_t first = -1, last = -1;
        int n = tw_count_records(tail, tail_len, &first, &last);
        cr_assert_geq(n, 0);
        if (n > 0) {
            cr_assert_leq(first, next);
            next = last + 1;
        }
        free(tail);
        strand__fetch_response__free_unpacked(resp, NULL);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cr_expect_eq(next, 4000);
}

/* The maintenance thread applies retention: old closed segments go, the log start advances. */
Test(broker_data, retention_runs_in_background)
{
    const char *cfg[] = { "retention.ms", "1000", "segment.bytes", "2048", NULL };
    Strand__CreateTopicsResponse *ct = tw_create_topic(fd, 1, "short", 1, 1, cfg);
    cr_assert_not_null(ct);
    cr_assert_eq(ct->topics[0]->error_code, 0, "%s", ct->topics[0]->error_message);
    strand__create_topics_response__free_unpacked(ct, NULL);
    for (int i = 0; i < 10; i++)
        produce("short", 0, 10, 100);   /* ~1.2 KB batches, old timestamps: a segment each */
    int64_t start = 0;
    int64_t deadline = now_ms() + 10000;
    while (start == 0 && now_ms() < deadline) {
        Strand__ListOffsetsResponse *lo = tw_list_offsets(fd, 2, "short", 0, -2);
        cr_assert_not_null(lo);
        start = lo->topics[0]->partitions[0]->offset;
        strand__list_offsets_response__free_unpacked(lo, NULL);
        if (start == 0) {
            struct timespec ts = { 0, 50 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    cr_expect_gt(start, 0, "retention never advanced the log start");
    cr_expect_eq(fetch_error("short", 0, 0), ST_ERR_OFFSET_OUT_OF_RANGE);
    cr_expect_eq(fetch_error("short", 0, start), ST_ERR_NONE);
}
