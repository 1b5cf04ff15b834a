/* Client protocol logic against an in-process mock broker (a thread speaking the Strand wire
 * protocol on a loopback port), for cases a real broker rarely produces on demand:
 *   - a fetch response that starts below the requested offset and ends in a partial batch,
 *   - a batch larger than max.partition.fetch.bytes (the client must grow its fetch size),
 *   - produce errors: NOT_LEADER_OR_FOLLOWER retried after a metadata refresh, non-retriable
 *     errors reported with the broker's message, a broker that never answers (request timeout),
 *   - a malformed response frame (the connection is dropped, nothing crashes). */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_broker.h"
#include "st_batch.h"
#include "st_buf.h"
#include "strand.h"
#include "strand.pb-c.h"

typedef struct mock {
    mock_server_t srv;
    atomic_bool stop;
    mock_log_t log;   /* the partition's log */
    /* behaviour */
    atomic_int produce_fail_left;   /* answer this many Produce with produce_fail_code */
    int produce_fail_code;
    bool produce_silent;            /* never answer Produce */
    bool garbage_on_fetch;          /* answer Fetch with an invalid frame */
    /* counters */
    atomic_int n_produce, n_metadata, n_fetch;
    atomic_int max_fetch_bytes_seen;
} mock_t;

static mock_t mock;

static void handle(int fd, const Strand__RequestHeader *h, const uint8_t *body, size_t body_len)
{
    int32_t corr = h->correlation_id;
    switch (h->api_key) {
    case STRAND__API_KEY__API_VERSIONS: {
        static const int keys[] = { 0, 1, 2, 3, 18, 19, 20 };
        mock_send_api_versions(fd, corr, keys, 7);
        break;
    }
    case STRAND__API_KEY__METADATA: {
        atomic_fetch_add(&mock.n_metadata, 1);
        Strand__MetadataRequest *req = strand__metadata_request__unpack(NULL, body_len, body);
        Strand__BrokerMetadata b = STRAND__BROKER_METADATA__INIT, *bp = &b;
        b.node_id = 1;
        b.host = "127.0.0.1";
        b.port = mock.srv.port;
        Strand__PartitionMetadata pm = STRAND__PARTITION_METADATA__INIT;
        int32_t one = 1;
        pm.leader = 1;
        pm.n_replicas = pm.n_isr = 1;
        pm.replicas = pm.isr = &one;
        mock_send_metadata(fd, corr, req, &bp, 1, &pm);
        strand__metadata_request__free_unpacked(req, NULL);
        break;
    }
    case STRAND__API_KEY__LIST_OFFSETS: {
        Strand__ListOffsetsRequest *req = strand__list_offsets_request__unpack(NULL, body_len, body);
        Strand__ListOffsetsPartitionResponse pr = STRAND__LIST_OFFSETS_PARTITION_RESPONSE__INIT;
        pr.partition = 0;
        pr.offset = req->topics[0]->partitions[0]->timestamp == -2 ? 0 : mock.log.end;
        mock_send_list_offsets(fd, corr, req->topics[0]->name, &pr);
        strand__list_offsets_request__free_unpacked(req, NULL);
        break;
    }
    case STRAND__API_KEY__FETCH: {
        atomic_fetch_add(&mock.n_fetch, 1);
        if (mock.garbage_on_fetch) {
            uint8_t junk[8] = { 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff };
            ssize_t w = write(fd, junk, sizeof(junk));
            (void)w;
            break;
        }
        Strand__FetchRequest *req = strand__fetch_request__unpack(NULL, body_len, body);
        const Strand__FetchPartition *fp = req->topics[0]->partitions[0];
        if (fp->partition_max_bytes > atomic_load(&mock.max_fetch_bytes_seen))
            atomic_store(&mock.max_fetch_bytes_seen, fp->partition_max_bytes);
        Strand__FetchPartitionResponse pr = STRAND__FETCH_PARTITION_RESPONSE__INIT;
        pr.high_watermark = mock.log.end;
        size_t from = 0, len = 0;
        if (fp->fetch_offset > mock.log.end) {
            pr.error_code = ST_ERR_OFFSET_OUT_OF_RANGE;
        } else {
            from = mock_log_pos(&mock.log, fp->fetch_offset, NULL);
            len = mock.log.buf.len - from;
            /* Cut at the partition's max bytes, even mid-batch (a partial trailing batch). */
            if (len > (size_t)fp->partition_max_bytes)
                len = (size_t)fp->partition_max_bytes;
            if (!len)
                usleep(20000);   /* "max wait" */
        }
        pr.records_size = (uint32_t)len;
        mock_send_fetch(fd, corr, req->topics[0]->topic, &pr, mock.log.buf.data + from, len);
        strand__fetch_request__free_unpacked(req, NULL);
        break;
    }
    case STRAND__API_KEY__PRODUCE: {
        atomic_fetch_add(&mock.n_produce, 1);
        if (mock.produce_silent)
            break;
        Strand__ProduceRequest *req = strand__produce_request__unpack(NULL, body_len, body);
        Strand__ProducePartitionResponse pr = STRAND__PRODUCE_PARTITION_RESPONSE__INIT;
        pr.partition = req->topics[0]->partitions[0]->partition;
        pr.log_append_time_ms = -1;
        if (atomic_fetch_sub(&mock.produce_fail_left, 1) > 0) {
            pr.error_code = mock.produce_fail_code;
            pr.error_message = "injected by the mock";
        } else {
            pr.base_offset = mock.log.end;
            mock.log.end += 1000;   /* offsets are not checked by these tests */
        }
        if (req->acks != 0)
            mock_send_produce(fd, corr, req->topics[0]->name, &pr);
        strand__produce_request__free_unpacked(req, NULL);
        break;
    }
    default:
        break;
    }
}

static bool handle_req(void *arg, int fd, const Strand__RequestHeader *h, const uint8_t *body,
                       size_t body_len)
{
    (void)arg;
    handle(fd, h, body, body_len);
    return true;
}

static void mock_start(void)
{
    memset(&mock, 0, sizeof(mock));
    /* 3 batches of 10 records with 100-byte values (about 1.3 KB each). */
    for (int i = 0; i < 3; i++)
        mock_log_append(&mock.log, 10, 100);
    mock.srv.stop = &mock.stop;
    mock.srv.handle = handle_req;
    mock_server_start(&mock.srv);
}

static void mock_stop(void)
{
    atomic_store(&mock.stop, true);
    mock_server_join(&mock.srv);
    st_buf_free(&mock.log.buf);
}

TestSuite(client_mock, .init = mock_start, .fini = mock_stop, .timeout = 30);

static strand_conf_t *conf_for(const char *const *kvs)
{
    strand_conf_t *conf = strand_conf_new();
    char servers[64], err[512];
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", mock.srv.port);
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)), 0);
    for (size_t i = 0; kvs && kvs[i]; i++)
        cr_assert_eq(strand_conf_set_kv(conf, kvs[i], err, sizeof(err)), 0, "%s", err);
    return conf;
}

/* Consumes from `start` until the log end; checks offsets are exactly start..end-1. */
static void consume_all(const char *const *kvs, int64_t start)
{
    strand_conf_t *conf = conf_for(kvs);
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t tp = { "t", 0, start, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    int64_t next = start == STRAND_OFFSET_BEGINNING ? 0 : start;
    int64_t deadline = mock_now_ms() + 10000;
    while (next < mock.log.end && mock_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 100, &msgs, &n), 0);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(msgs[i].error, 0, "%s", msgs[i].errstr);
            cr_assert_eq(msgs[i].offset, next, "got offset %lld, expected %lld",
                         (long long)msgs[i].offset, (long long)next);
            char want[32];
            int len = snprintf(want, sizeof(want), "v%lld", (long long)next);
            cr_assert_eq(memcmp(msgs[i].value, want, (size_t)len), 0);
            cr_assert_eq(msgs[i].timestamp, 1000 + next);
            next++;
        }
    }
    cr_expect_eq(next, mock.log.end);
    strand_consumer_destroy(c);
}

Test(client_mock, skips_below_offset_and_handles_partial_tail)
{
    /* 2000 bytes = batch [0,10) and part of [10,20): every response ends mid-batch. */
    const char *kvs[] = { "max.partition.fetch.bytes=2000", NULL };
    consume_all(kvs, 5);
    cr_expect_eq(atomic_load(&mock.max_fetch_bytes_seen), 2000, "no need to grow");
}

Test(client_mock, grows_fetch_size_for_a_large_batch)
{
    const char *kvs[] = { "max.partition.fetch.bytes=100", NULL };
    consume_all(kvs, 0);
    cr_expect_geq(atomic_load(&mock.max_fetch_bytes_seen), 1300);
}

Test(client_mock, beginning_and_end_through_list_offsets)
{
    consume_all(NULL, STRAND_OFFSET_BEGINNING);
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

Test(client_mock, not_leader_is_retried_after_metadata_refresh)
{
    atomic_store(&mock.produce_fail_left, 2);
    mock.produce_fail_code = ST_ERR_NOT_LEADER_OR_FOLLOWER;
    mock_reports_t r = { 0 };
    const char *kvs[] = { "retry.backoff.ms=10", "acks=1", NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    int md_before = atomic_load(&mock.n_metadata);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.n), 5);
    cr_expect_eq(atomic_load(&r.errors), 0, "%s", r.last_errstr);
    cr_expect_geq(atomic_load(&mock.n_produce), 3);
    cr_expect_gt(atomic_load(&mock.n_metadata), md_before, "metadata refreshed on NOT_LEADER");
}

Test(client_mock, non_retriable_error_reported_with_message)
{
    atomic_store(&mock.produce_fail_left, 100);
    mock.produce_fail_code = ST_ERR_RECORD_LIST_TOO_LARGE;
    mock_reports_t r = { 0 };
    strand_producer_t *p = producer_for(&r, NULL);
    cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.errors), 1);
    cr_expect_eq(r.last_error, ST_ERR_RECORD_LIST_TOO_LARGE);
    cr_expect(strstr(r.last_errstr, "injected by the mock") && strstr(r.last_errstr, "t-0"),
              "%s", r.last_errstr);
    cr_expect_eq(atomic_load(&mock.n_produce), 1, "not retried");
}

Test(client_mock, retries_exhausted)
{
    atomic_store(&mock.produce_fail_left, 100);
    mock.produce_fail_code = ST_ERR_NOT_ENOUGH_REPLICAS;
    mock_reports_t r = { 0 };
    const char *kvs[] = { "retries=2", "retry.backoff.ms=5", NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    strand_producer_destroy(p);
    cr_expect_eq(r.last_error, ST_ERR_NOT_ENOUGH_REPLICAS);
    cr_expect(strstr(r.last_errstr, "after 2 retries") != NULL, "%s", r.last_errstr);
    cr_expect_eq(atomic_load(&mock.n_produce), 3);
}

Test(client_mock, silent_broker_times_out_request)
{
    mock.produce_silent = true;
    mock_reports_t r = { 0 };
    const char *kvs[] = { "request.timeout.ms=300", "retries=0", NULL };
    strand_producer_t *p = producer_for(&r, kvs);
    cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    int64_t t0 = mock_now_ms();
    cr_assert_eq(strand_producer_flush(p, 10000), 0);
    cr_expect_lt(mock_now_ms() - t0, 5000);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.errors), 1);
    cr_expect(r.last_error == ST_ERR_REQUEST_TIMED_OUT, "%s: %s", strand_err_name(r.last_error),
              r.last_errstr);
}

Test(client_mock, malformed_response_drops_connection)
{
    mock.garbage_on_fetch = true;
    strand_conf_t *conf = conf_for(NULL);
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t tp = { "t", 0, 0, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    int64_t deadline = mock_now_ms() + 1500;
    while (mock_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t n;
        cr_assert_eq(strand_consumer_poll(c, 100, &msgs, &n), 0);
        cr_assert_eq(n, 0);
    }
    cr_expect_geq(atomic_load(&mock.n_fetch), 2, "the client reconnects and fetches again");
    strand_consumer_destroy(c);
}

Test(client_mock, unknown_topic_fails_fast_for_consumers)
{
    strand_conf_t *conf = conf_for(NULL);
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    int64_t t0 = mock_now_ms();
    int32_t n;
    cr_expect_eq(strand_consumer_partition_count(c, "nope", 10000, &n), ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_expect_lt(mock_now_ms() - t0, 2000);
    strand_consumer_destroy(c);
}
