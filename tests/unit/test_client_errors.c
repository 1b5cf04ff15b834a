/* How the client library meets errors, against an in-process mock broker (mock_broker.c):
 *   - errors retrying cannot cure fail at once: a topic the broker calls invalid or forbidden in
 *     Metadata (producer and consumer), in a Fetch or a ListOffsets -- one request, one error,
 *     instead of retries until max.block.ms / request.timeout.ms;
 *   - retried conditions are visible: the log callback gets Kafka's lines ("Got error produce
 *     response ... retrying", "Connection to node N ... could not be established", "Error while
 *     fetching metadata ..."), one per condition however many retries, and retriable fetch errors
 *     never reach poll();
 *   - a record over max.request.size gets Kafka's message with the size;
 *   - a producer's first record is not held back by retry.backoff.ms (the metadata request for a
 *     new topic goes out at once: asserted by counting, with a backoff of an hour);
 *   - auto.offset.reset (earliest, latest, none) for partitions assigned without a position. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_broker.h"
#include "st_buf.h"
#include "strand.h"
#include "strand.pb-c.h"

#define MAX_LINES 64

static struct {
    mock_server_t srv;
    atomic_bool stop;
    mock_log_t log;
    /* behaviour */
    const char *bad_topic;          /* Metadata answers bad_topic_code for this topic */
    int bad_topic_code;
    atomic_int missing_responses;   /* "later" is UNKNOWN_TOPIC_OR_PARTITION this many times */
    int dead_port;                  /* > 0: Metadata puts broker 1 at this (closed) port */
    atomic_int produce_fail_left;
    int produce_fail_codes[4];      /* cycled through while produce_fail_left > 0 */
    int n_produce_fail_codes;
    atomic_int fetch_fail_left;
    int fetch_fail_code;
    int list_offsets_code;
    /* counters */
    atomic_int n_metadata, n_metadata_naming[2];   /* [0] bad_topic, [1] "later" */
    atomic_int n_produce, n_fetch, n_list_offsets;
    int metadata_topics[8];         /* topics named by each of the first 8 Metadata requests */
} mk;

/* What the log callback received. */
static struct {
    pthread_mutex_t lock;
    int n;
    char lines[MAX_LINES][1500];
} logged = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_log(int level, const char *source, const char *message, void *opaque)
{
    (void)opaque;
    cr_assert_eq(level, STRAND_LOG_WARN);
    cr_assert(strncmp(source, "strand.", 7) == 0);
    pthread_mutex_lock(&logged.lock);
    if (logged.n < MAX_LINES)
        snprintf(logged.lines[logged.n++], sizeof(logged.lines[0]), "%s", message);
    pthread_mutex_unlock(&logged.lock);
}

/* Lines logged that contain every one of the (NULL-terminated) strings. */
static int lines_with(const char *a, const char *b)
{
    int n = 0;
    pthread_mutex_lock(&logged.lock);
    for (int i = 0; i < logged.n; i++)
        if (strstr(logged.lines[i], a) && (!b || strstr(logged.lines[i], b)))
            n++;
    pthread_mutex_unlock(&logged.lock);
    return n;
}

static void dump_lines(void)
{
    pthread_mutex_lock(&logged.lock);
    for (int i = 0; i < logged.n; i++)
        fprintf(stderr, "logged: %s\n", logged.lines[i]);
    pthread_mutex_unlock(&logged.lock);
}

static void send_metadata(int fd, int32_t corr, const Strand__MetadataRequest *req)
{
    Strand__BrokerMetadata b = STRAND__BROKER_METADATA__INIT, *bp = &b;
    b.node_id = 1;
    b.host = "127.0.0.1";
    b.port = mk.dead_port > 0 ? mk.dead_port : mk.srv.port;
    int32_t one = 1;
    Strand__PartitionMetadata pm = STRAND__PARTITION_METADATA__INIT, *pmp = &pm;
    pm.leader = 1;
    pm.n_replicas = pm.n_isr = 1;
    pm.replicas = pm.isr = &one;
    Strand__TopicMetadata tm[8], *tmp[8];
    size_t n = 0;
    for (size_t i = 0; i < req->n_topics && n < 8; i++) {
        const char *name = req->topics[i];
        strand__topic_metadata__init(&tm[n]);
        tm[n].name = (char *)name;
        bool usable = strcmp(name, "t") == 0;
        if (mk.bad_topic && strcmp(name, mk.bad_topic) == 0) {
            tm[n].error_code = mk.bad_topic_code;
            atomic_fetch_add(&mk.n_metadata_naming[0], 1);
        } else if (strcmp(name, "later") == 0) {
            atomic_fetch_add(&mk.n_metadata_naming[1], 1);
            usable = atomic_fetch_sub(&mk.missing_responses, 1) <= 0;
            if (!usable)
                tm[n].error_code = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        } else if (!usable) {
            tm[n].error_code = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        if (usable) {
            tm[n].n_partitions = 1;
            tm[n].partitions = &pmp;
        }
        tmp[n] = &tm[n];
        n++;
    }
    Strand__MetadataResponse resp = STRAND__METADATA_RESPONSE__INIT;
    resp.n_brokers = 1;
    resp.brokers = &bp;
    resp.controller_id = 1;
    resp.n_topics = n;
    resp.topics = tmp;
    mock_send_resp(fd, corr, &resp.base, NULL, 0);
}

static bool handle(void *arg, int fd, const Strand__RequestHeader *h, const uint8_t *body,
                   size_t body_len)
{
    (void)arg;
    int32_t corr = h->correlation_id;
    switch (h->api_key) {
    case STRAND__API_KEY__API_VERSIONS: {
        static const int keys[] = { 0, 1, 2, 3, 18, 19, 20 };
        mock_send_api_versions(fd, corr, keys, 7);
        break;
    }
    case STRAND__API_KEY__METADATA: {
        Strand__MetadataRequest *req = strand__metadata_request__unpack(NULL, body_len, body);
        int i = atomic_fetch_add(&mk.n_metadata, 1);
        if (i < 8)
            mk.metadata_topics[i] = (int)req->n_topics;
        send_metadata(fd, corr, req);
        strand__metadata_request__free_unpacked(req, NULL);
        break;
    }
    case STRAND__API_KEY__LIST_OFFSETS: {
        atomic_fetch_add(&mk.n_list_offsets, 1);
        Strand__ListOffsetsRequest *req = strand__list_offsets_request__unpack(NULL, body_len, body);
        Strand__ListOffsetsPartitionResponse pr = STRAND__LIST_OFFSETS_PARTITION_RESPONSE__INIT;
        pr.error_code = mk.list_offsets_code;
        pr.offset = req->topics[0]->partitions[0]->timestamp == -2 ? 0 : mk.log.end;
        mock_send_list_offsets(fd, corr, req->topics[0]->name, &pr);
        strand__list_offsets_request__free_unpacked(req, NULL);
        break;
    }
    case STRAND__API_KEY__FETCH: {
        atomic_fetch_add(&mk.n_fetch, 1);
        Strand__FetchRequest *req = strand__fetch_request__unpack(NULL, body_len, body);
        const Strand__FetchPartition *fp = req->topics[0]->partitions[0];
        Strand__FetchPartitionResponse pr = STRAND__FETCH_PARTITION_RESPONSE__INIT;
        pr.high_watermark = mk.log.end;
        size_t from = 0, len = 0;
        if (atomic_fetch_sub(&mk.fetch_fail_left, 1) > 0) {
            pr.error_code = mk.fetch_fail_code;
        } else {
            from = mock_log_pos(&mk.log, fp->fetch_offset, NULL);
            len = mk.log.buf.len - from;
            if (!len)
                usleep(20000);
        }
        pr.records_size = (uint32_t)len;
        mock_send_fetch(fd, corr, req->topics[0]->topic, &pr, mk.log.buf.data + from, len);
        strand__fetch_request__free_unpacked(req, NULL);
        break;
    }
    case STRAND__API_KEY__PRODUCE: {
        int i = atomic_fetch_add(&mk.n_produce, 1);
        Strand__ProduceRequest *req = strand__produce_request__unpack(NULL, body_len, body);
        Strand__ProducePartitionResponse pr = STRAND__PRODUCE_PARTITION_RESPONSE__INIT;
        pr.partition = req->topics[0]->partitions[0]->partition;
        pr.log_append_time_ms = -1;
        if (atomic_fetch_sub(&mk.produce_fail_left, 1) > 0) {
            pr.error_code = mk.produce_fail_codes[i % mk.n_produce_fail_codes];
            pr.error_message = "injected by the mock";
        }
        if (req->acks != 0)
            mock_send_produce(fd, corr, req->topics[0]->name, &pr);
        strand__produce_request__free_unpacked(req, NULL);
        break;
    }
    default:
        break;
    }
    return true;
}

static void start(void)
{
    memset(&mk, 0, sizeof(mk));
    pthread_mutex_lock(&logged.lock);
    logged.n = 0;
    pthread_mutex_unlock(&logged.lock);
    mock_log_append(&mk.log, 10, 0);   /* offsets 0..9 */
    mk.srv.stop = &mk.stop;
    mk.srv.handle = handle;
    mock_server_start(&mk.srv);
}

static void stop(void)
{
    atomic_store(&mk.stop, true);
    mock_server_join(&mk.srv);
    st_buf_free(&mk.log.buf);
}

TestSuite(client_errors, .init = start, .fini = stop, .timeout = 45);

static strand_conf_t *conf_for(const char *const *kvs)
{
    strand_conf_t *conf = strand_conf_new();
    char servers[64], err[512];
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", mk.srv.port);
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)), 0);
    for (size_t i = 0; kvs && kvs[i]; i++)
        cr_assert_eq(strand_conf_set_kv(conf, kvs[i], err, sizeof(err)), 0, "%s", err);
    strand_conf_set_log_cb(conf, on_log, NULL);
    return conf;
}

static strand_producer_t *producer_for(mock_reports_t *r, const char *const *kvs)
{
    strand_conf_t *conf = conf_for(kvs);
    strand_conf_set_delivery_cb(conf, mock_on_report, r);
    char err[512];
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    strand_conf_destroy(conf);
    return p;
}

static strand_consumer_t *consumer_for(const char *const *kvs)
{
    strand_conf_t *conf = conf_for(kvs);
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    return c;
}

/* ---- the first record --------------------------------------------------------------------- */

/* With retry.backoff.ms at an hour, a producer whose first metadata request for the topic waited
 * for the backoff would block until max.block.ms and fail: the record is accepted only if the
 * topic's metadata was asked for at once. Bootstrap asks about no topic, the record's Metadata
 * request names it: two requests in all, no retry in between. */
Test(client_errors, first_record_costs_one_metadata_round_trip)
{
    mock_reports_t r = { 0 };
    const char *kvs[] = { "retry.backoff.ms=3600000", "max.block.ms=20000", "acks=1", NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    cr_assert_eq(atomic_load(&mk.n_metadata), 1, "bootstrap: one Metadata request");
    int e = strand_produce(p, "t", STRAND_PARTITION_ANY, NULL, 0, "x", 1, NULL, 0, 0, NULL);
    cr_assert_eq(e, 0, "%s: %s", strand_err_name(e), strand_last_errstr());
    cr_expect_eq(atomic_load(&mk.n_metadata), 2);
    cr_expect_eq(mk.metadata_topics[0], 0, "bootstrap names no topic");
    cr_expect_eq(mk.metadata_topics[1], 1, "the second request names the record's topic");
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    cr_expect_eq(atomic_load(&r.errors), 0, "%s", r.last_errstr);
    strand_producer_destroy(p);
}

/* The same for a consumer looking a topic up. */
Test(client_errors, consumer_topic_lookup_not_held_by_backoff)
{
    const char *kvs[] = { "retry.backoff.ms=3600000", NULL };
    strand_consumer_t *c = consumer_for(kvs);
    int32_t n = 0;
    cr_assert_eq(strand_consumer_partition_count(c, "t", 20000, &n), 0, "%s", strand_last_errstr());
    cr_expect_eq(n, 1);
    cr_expect_eq(atomic_load(&mk.n_metadata), 2);
    strand_consumer_destroy(c);
}

/* ---- errors retrying cannot cure ---------------------------------------------------------- */

static void producer_fails_at_once(int code)
{
    mk.bad_topic = "bad topic!";
    mk.bad_topic_code = code;
    mock_reports_t r = { 0 };
    const char *kvs[] = { "max.block.ms=60000", "retry.backoff.ms=10", NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    int e = strand_produce(p, "bad topic!", STRAND_PARTITION_ANY, NULL, 0, "x", 1, NULL, 0, 0, NULL);
    cr_expect_eq(e, code, "got %s: %s", strand_err_name(e), strand_last_errstr());
    cr_expect(strstr(strand_last_errstr(), "bad topic!") && strstr(strand_last_errstr(),
              strand_err_name(code)), "%s", strand_last_errstr());
    cr_expect_eq(atomic_load(&mk.n_metadata_naming[0]), 1, "one Metadata request, no retries");
    strand_producer_destroy(p);
}

Test(client_errors, invalid_topic_fails_the_producer_at_once)
{
    producer_fails_at_once(ST_ERR_INVALID_TOPIC_EXCEPTION);
}

Test(client_errors, unauthorized_topic_fails_the_producer_at_once)
{
    producer_fails_at_once(ST_ERR_TOPIC_AUTHORIZATION_FAILED);
}

Test(client_errors, invalid_topic_fails_the_consumer_at_once)
{
    mk.bad_topic = "bad topic!";
    mk.bad_topic_code = ST_ERR_INVALID_TOPIC_EXCEPTION;
    const char *kvs[] = { "retry.backoff.ms=10", NULL };
    strand_consumer_t *c = consumer_for(kvs);
    int32_t n = 0;
    cr_expect_eq(strand_consumer_partition_count(c, "bad topic!", 30000, &n),
                 ST_ERR_INVALID_TOPIC_EXCEPTION, "%s", strand_last_errstr());
    cr_expect_eq(atomic_load(&mk.n_metadata_naming[0]), 1, "one Metadata request, no retries");
    strand_topic_partition_t tp = { "bad topic!", 0, 0, 0 };
    cr_expect_eq(strand_consumer_assign(c, &tp, 1), ST_ERR_INVALID_TOPIC_EXCEPTION);
    strand_consumer_destroy(c);
}

/* Produce errors that are not retriable end the batch after one request. */
Test(client_errors, fatal_produce_errors_are_not_retried)
{
    static const int codes[] = { ST_ERR_INVALID_TOPIC_EXCEPTION, ST_ERR_TOPIC_AUTHORIZATION_FAILED,
                                 ST_ERR_MESSAGE_TOO_LARGE, ST_ERR_INVALID_REQUIRED_ACKS,
                                 ST_ERR_UNSUPPORTED_VERSION, ST_ERR_RECORD_LIST_TOO_LARGE,
                                 ST_ERR_INVALID_TIMESTAMP, ST_ERR_CLUSTER_AUTHORIZATION_FAILED };
    mock_reports_t r = { 0 };
    const char *kvs[] = { "retry.backoff.ms=5", "acks=1", "max.in.flight.requests.per.connection=1",
                          NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        mk.produce_fail_codes[0] = codes[i];
        mk.n_produce_fail_codes = 1;
        atomic_store(&mk.produce_fail_left, 1000);
        int before = atomic_load(&mk.n_produce), errors = atomic_load(&r.errors);
        cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
        cr_assert_eq(strand_producer_flush(p, 10000), 0);
        cr_expect_eq(atomic_load(&mk.n_produce) - before, 1, "%s retried",
                     strand_err_name(codes[i]));
        cr_expect_eq(atomic_load(&r.errors) - errors, 1);
        cr_expect_eq(r.last_error, codes[i]);
    }
    cr_expect_eq(lines_with("retrying", NULL), 0, "nothing was retried");
    strand_producer_destroy(p);
}

Test(client_errors, fatal_fetch_error_is_reported_once)
{
    mk.fetch_fail_code = ST_ERR_TOPIC_AUTHORIZATION_FAILED;
    atomic_store(&mk.fetch_fail_left, 1000);
    const char *kvs[] = { "retry.backoff.ms=10", NULL };
    strand_consumer_t *c = consumer_for(kvs);
    strand_topic_partition_t tp = { "t", 0, 0, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    int errors = 0;
    int64_t until = mock_now_ms() + 1000;
    while (mock_now_ms() < until) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 50, &msgs, &n), 0);
        for (size_t i = 0; i < n; i++) {
            cr_expect_eq(msgs[i].error, ST_ERR_TOPIC_AUTHORIZATION_FAILED, "%s", msgs[i].errstr);
            errors++;
        }
    }
    cr_expect_eq(errors, 1);
    cr_expect_eq(atomic_load(&mk.n_fetch), 1, "not fetched again");
    strand_consumer_destroy(c);
}

Test(client_errors, fatal_list_offsets_error_is_reported_once)
{
    mk.list_offsets_code = ST_ERR_TOPIC_AUTHORIZATION_FAILED;
    const char *kvs[] = { "retry.backoff.ms=10", NULL };
    strand_consumer_t *c = consumer_for(kvs);
    strand_topic_partition_t tp = { "t", 0, STRAND_OFFSET_BEGINNING, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    int errors = 0;
    int64_t until = mock_now_ms() + 1000;
    while (mock_now_ms() < until) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 50, &msgs, &n), 0);
        for (size_t i = 0; i < n; i++) {
            cr_expect_eq(msgs[i].error, ST_ERR_TOPIC_AUTHORIZATION_FAILED, "%s", msgs[i].errstr);
            errors++;
        }
    }
    cr_expect_eq(errors, 1);
    cr_expect_eq(atomic_load(&mk.n_list_offsets), 1, "not asked again");
    strand_consumer_destroy(c);
}

/* ---- retries are visible, once per condition ---------------------------------------------- */

Test(client_errors, produce_retries_logged_once_per_condition)
{
    mk.produce_fail_codes[0] = ST_ERR_NOT_LEADER_OR_FOLLOWER;
    mk.produce_fail_codes[1] = ST_ERR_KAFKA_STORAGE_ERROR;
    mk.produce_fail_codes[2] = ST_ERR_NOT_ENOUGH_REPLICAS;
    mk.n_produce_fail_codes = 3;
    atomic_store(&mk.produce_fail_left, 30);
    mock_reports_t r = { 0 };
    const char *kvs[] = { "retry.backoff.ms=5", "acks=all", NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    cr_assert_eq(strand_producer_flush(p, 20000), 0);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.errors), 0, "%s", r.last_errstr);
    cr_expect_eq(atomic_load(&mk.n_produce), 31, "30 failures retried, then written");
    static const char *const names[] = { "NOT_LEADER_OR_FOLLOWER", "KAFKA_STORAGE_ERROR",
                                         "NOT_ENOUGH_REPLICAS" };
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(lines_with("Got error produce response with correlation id ", names[i]), 1,
                     "one line for %s", names[i]);
    }
    cr_expect_eq(lines_with("[Producer clientId=strand] Got error produce response with correlation id",
                            "on topic-partition t-0, retrying (2147483646 attempts left). Error: "
                            "NOT_LEADER_OR_FOLLOWER. Error Message: injected by the mock"), 1);
    cr_expect_eq(lines_with("Got error", NULL), 3);
    if (lines_with("Got error", NULL) != 3)
        dump_lines();
}

/* Broker 1 (where the partition's leader is) does not answer: the producer keeps reconnecting
 * (every 10-20 ms) until delivery.timeout.ms, and says so once. */
Test(client_errors, unreachable_broker_logged_once)
{
    int fd;
    mk.dead_port = mock_bind_loopback(&fd);   /* bound, not listening: connections refused */
    mock_reports_t r = { 0 };
    const char *kvs[] = { "reconnect.backoff.ms=10", "reconnect.backoff.max.ms=20",
                          "delivery.timeout.ms=1500", "request.timeout.ms=1000", "acks=1", NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    cr_assert_eq(strand_producer_flush(p, 20000), 0);
    strand_producer_destroy(p);
    close(fd);
    cr_expect_eq(atomic_load(&r.errors), 1, "the record times out");
    char want[128];
    snprintf(want, sizeof(want), "Connection to node 1 (127.0.0.1:%d) could not be established",
             mk.dead_port);
    cr_expect_eq(lines_with(want, "Connection refused"), 1);
    if (lines_with(want, NULL) != 1)
        dump_lines();
}

/* A topic that is not in metadata yet: the producer keeps asking, says so (not at the first
 * answer), and gives up after max.block.ms with Kafka's message. */
Test(client_errors, topic_missing_from_metadata)
{
    atomic_store(&mk.missing_responses, 1000000);
    mock_reports_t r = { 0 };
    const char *kvs[] = { "retry.backoff.ms=20", "max.block.ms=700", NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    int e = strand_produce(p, "later", STRAND_PARTITION_ANY, NULL, 0, "x", 1, NULL, 0, 0, NULL);
    cr_expect_eq(e, ST_ERR_TIMED_OUT, "%s", strand_err_name(e));
    cr_expect(strstr(strand_last_errstr(), "Topic later not present in metadata after "),
              "%s", strand_last_errstr());
    cr_expect_geq(atomic_load(&mk.n_metadata_naming[1]), 5, "kept asking: %d", atomic_load(&mk.n_metadata_naming[1]));
    cr_expect_eq(lines_with("Error while fetching metadata with correlation id ",
                            "{later=UNKNOWN_TOPIC_OR_PARTITION}"), 1);
    strand_producer_destroy(p);

    /* Present after two answers: delivered; the first miss alone is not worth a line. */
    pthread_mutex_lock(&logged.lock);
    logged.n = 0;
    pthread_mutex_unlock(&logged.lock);
    atomic_store(&mk.missing_responses, 1);
    p = producer_for(&r, kvs);
    e = strand_produce(p, "later", STRAND_PARTITION_ANY, NULL, 0, "x", 1, NULL, 0, 0, NULL);
    cr_expect_eq(e, 0, "%s", strand_last_errstr());
    cr_expect_eq(strand_producer_flush(p, 10000), 0);
    strand_producer_destroy(p);
    cr_expect_eq(lines_with("Error while fetching metadata", NULL), 0);
}

/* KAFKA_STORAGE_ERROR is retriable (Kafka refreshes metadata and fetches again): the
 * application sees the records, not the error; the log says it once. */
Test(client_errors, retriable_fetch_error_not_surfaced)
{
    mk.fetch_fail_code = ST_ERR_KAFKA_STORAGE_ERROR;
    atomic_store(&mk.fetch_fail_left, 5);
    const char *kvs[] = { "retry.backoff.ms=10", NULL };
    strand_consumer_t *c = consumer_for(kvs);
    strand_topic_partition_t tp = { "t", 0, 0, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    int64_t next = 0, until = mock_now_ms() + 10000;
    while (next < 10 && mock_now_ms() < until) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 50, &msgs, &n), 0);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(msgs[i].error, 0, "%s", msgs[i].errstr);
            cr_expect_eq(msgs[i].offset, next++);
        }
    }
    cr_expect_eq(next, 10);
    strand_consumer_destroy(c);
    cr_expect_eq(lines_with("[Consumer clientId=strand] Error in fetch for partition t-0",
                            "KAFKA_STORAGE_ERROR, retrying"), 1);
}

/* ---- max.request.size --------------------------------------------------------------------- */

Test(client_errors, record_over_max_request_size_gets_kafkas_message)
{
    mock_reports_t r = { 0 };
    strand_producer_t *p = producer_for(&r, NULL);
    size_t len = 2000000;
    char *big = calloc(1, len);
    int e = strand_produce(p, "t", 0, NULL, 0, big, len, NULL, 0, 0, NULL);
    cr_expect_eq(e, ST_ERR_MESSAGE_TOO_LARGE);
    /* Kafka's size: 61 (batch) + 21 (record overhead) + 1 (null key) + 4 + 2000000 (value) +
     * 1 (no headers) = 2000088, the figure kafka-console-producer prints for this record. */
    cr_expect_str_eq(strand_last_errstr(), "The message is 2000088 bytes when serialized which is "
                     "larger than 1048576, which is the value of the max.request.size configuration.");
    /* A record that fits still goes. */
    cr_expect_eq(strand_produce(p, "t", 0, "k", 1, big, 1000, NULL, 0, 0, NULL), 0);
    cr_expect_eq(strand_producer_flush(p, 10000), 0);
    cr_expect_eq(atomic_load(&r.n), 1);
    free(big);
    strand_producer_destroy(p);
}

/* ---- auto.offset.reset -------------------------------------------------------------------- */

static int64_t first_offset(const char *reset, int64_t *ret_position)
{
    char kv[64];
    snprintf(kv, sizeof(kv), "auto.offset.reset=%s", reset);
    const char *kvs[] = { kv, NULL };
    strand_consumer_t *c = consumer_for(kvs);
    strand_topic_partition_t tp = { "t", 0, STRAND_OFFSET_INVALID, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    int64_t first = -1, until = mock_now_ms() + 1500;
    *ret_position = STRAND_OFFSET_INVALID;
    while (mock_now_ms() < until && first < 0) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 50, &msgs, &n), 0);
        if (n && msgs[0].error) {
            cr_expect_eq(msgs[0].error, ST_ERR_OFFSET_OUT_OF_RANGE);
            cr_expect_str_eq(msgs[0].errstr, "Undefined offset with no reset policy for partitions: "
                             "[t-0] (no committed offset and auto.offset.reset=none)");
            first = -2;
        } else if (n) {
            first = msgs[0].offset;
        }
        strand_consumer_position(c, "t", 0, ret_position);
        if (*ret_position >= 0 && !n && strcmp(reset, "latest") == 0)
            break;
    }
    strand_consumer_destroy(c);
    return first;
}

Test(client_errors, auto_offset_reset_without_a_position)
{
    int64_t pos;
    cr_expect_eq(first_offset("earliest", &pos), 0);
    cr_expect_eq(first_offset("latest", &pos), -1, "nothing new after the log end");
    cr_expect_eq(pos, 10, "positioned at the log end");
    cr_expect_eq(first_offset("none", &pos), -2, "a clear error");
}
