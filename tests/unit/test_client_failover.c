/* Client failover against two in-process mock brokers (ids 1 and 2, threads speaking the Strand
 * wire protocol on loopback ports) that share one partition "t"-0 and one idea of its leader:
 *   - bootstrap through a list whose first server is down,
 *   - producers: the leader moves and the old one answers NOT_LEADER_OR_FOLLOWER,
 *     LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION or FENCED_LEADER_EPOCH, or drops the
 *     connection: records are delivered through the new leader after a metadata refresh,
 *     without an application-visible error; with no leader at all, delivery.timeout.ms bounds
 *     the wait,
 *   - consumers: the leader moves mid-partition; fetching moves to the new leader, the position
 *     is kept (offsets contiguous), and no error reaches poll(). */
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

typedef struct mbroker {
    int32_t id;
    mock_server_t srv;
    atomic_int n_produce_ok, n_produce_refused, n_fetch_ok, n_fetch_refused, n_metadata;
} mbroker_t;

/* The "cluster" both mocks agree on. */
static struct {
    mbroker_t b[2];
    atomic_bool stop;
    atomic_int leader;              /* 1, 2 or -1 (none) */
    int refuse_code;                /* what a non-leader answers to Produce/Fetch */
    atomic_bool drop_on_refuse;     /* a non-leader closes the connection instead */
    atomic_int move_after_fetches;  /* > 0: after this many served fetches, leader 1 -> 2 */
    atomic_bool move_on_refuse;     /* the first refusal moves the leader to 2 */
    atomic_bool b1_refuses;         /* broker 1 refuses even while named leader */
    mock_log_t log;
} cl;

/* A non-leader's answer: false = close the connection. */
static bool leads(const mbroker_t *mb)
{
    return atomic_load(&cl.leader) == mb->id && !(mb->id == 1 && atomic_load(&cl.b1_refuses));
}

static bool refuse(mbroker_t *mb, int *ret_code)
{
    if (atomic_load(&cl.move_on_refuse)) {
        atomic_store(&cl.move_on_refuse, false);
        atomic_store(&cl.leader, 2);
    }
    *ret_code = cl.refuse_code;
    (void)mb;
    return !atomic_load(&cl.drop_on_refuse);
}

/* Returns false to close the connection. */
static bool handle(void *arg, int fd, const Strand__RequestHeader *h, const uint8_t *body,
                   size_t body_len)
{
    mbroker_t *mb = arg;
    int32_t corr = h->correlation_id;
    switch (h->api_key) {
    case STRAND__API_KEY__API_VERSIONS: {
        static const int keys[] = { 0, 1, 2, 3, 18 };
        mock_send_api_versions(fd, corr, keys, 5);
        return true;
    }
    case STRAND__API_KEY__METADATA: {
        atomic_fetch_add(&mb->n_metadata, 1);
        Strand__MetadataRequest *req = strand__metadata_request__unpack(NULL, body_len, body);
        Strand__BrokerMetadata bm[2], *bp[2];
        for (int i = 0; i < 2; i++) {
            strand__broker_metadata__init(&bm[i]);
            bm[i].node_id = cl.b[i].id;
            bm[i].host = "127.0.0.1";
            bm[i].port = cl.b[i].srv.port;
            bp[i] = &bm[i];
        }
        int32_t leader = atomic_load(&cl.leader);
        int32_t replicas[2] = { 1, 2 };
        Strand__PartitionMetadata pm = STRAND__PARTITION_METADATA__INIT;
        pm.leader = leader;
        pm.leader_epoch = leader;
        pm.error_code = leader < 0 ? ST_ERR_LEADER_NOT_AVAILABLE : 0;
        pm.n_replicas = pm.n_isr = 2;
        pm.replicas = pm.isr = replicas;
        mock_send_metadata(fd, corr, req, bp, 2, &pm);
        strand__metadata_request__free_unpacked(req, NULL);
        return true;
    }
    case STRAND__API_KEY__LIST_OFFSETS: {
        Strand__ListOffsetsRequest *req = strand__list_offsets_request__unpack(NULL, body_len, body);
        Strand__ListOffsetsPartitionResponse pr = STRAND__LIST_OFFSETS_PARTITION_RESPONSE__INIT;
        pr.offset = req->topics[0]->partitions[0]->timestamp == -2 ? 0 : cl.log.end;
        if (!leads(mb) && !refuse(mb, &pr.error_code)) {
            strand__list_offsets_request__free_unpacked(req, NULL);
            return false;
        }
        mock_send_list_offsets(fd, corr, req->topics[0]->name, &pr);
        strand__list_offsets_request__free_unpacked(req, NULL);
        return true;
    }
    case STRAND__API_KEY__FETCH: {
        Strand__FetchRequest *req = strand__fetch_request__unpack(NULL, body_len, body);
        const Strand__FetchPartition *fp = req->topics[0]->partitions[0];
        Strand__FetchPartitionResponse pr = STRAND__FETCH_PARTITION_RESPONSE__INIT;
        pr.high_watermark = cl.log.end;
        size_t from = 0, len = 0;
        if (!leads(mb)) {
            atomic_fetch_add(&mb->n_fetch_refused, 1);
            if (!refuse(mb, &pr.error_code)) {
                strand__fetch_request__free_unpacked(req, NULL);
                return false;
            }
        } else {
            from = mock_log_pos(&cl.log, fp->fetch_offset, &len);
            if (len) {
                atomic_fetch_add(&mb->n_fetch_ok, 1);
                if (atomic_load(&cl.move_after_fetches) > 0 &&
                    atomic_fetch_sub(&cl.move_after_fetches, 1) == 1)
                    atomic_store(&cl.leader, 2);
            } else {
                usleep(20000);
            }
        }
        pr.records_size = (uint32_t)len;
        mock_send_fetch(fd, corr, req->topics[0]->topic, &pr, cl.log.buf.data + from, len);
        strand__fetch_request__free_unpacked(req, NULL);
        return true;
    }
    case STRAND__API_KEY__PRODUCE: {
        Strand__ProduceRequest *req = strand__produce_request__unpack(NULL, body_len, body);
        Strand__ProducePartitionResponse pr = STRAND__PRODUCE_PARTITION_RESPONSE__INIT;
        pr.partition = req->topics[0]->partitions[0]->partition;
        pr.log_append_time_ms = -1;
        if (!leads(mb)) {
            atomic_fetch_add(&mb->n_produce_refused, 1);
            if (!refuse(mb, &pr.error_code)) {
                strand__produce_request__free_unpacked(req, NULL);
                return false;
            }
        } else {
            atomic_fetch_add(&mb->n_produce_ok, 1);
            pr.base_offset = 0;
        }
        mock_send_produce(fd, corr, req->topics[0]->name, &pr);
        strand__produce_request__free_unpacked(req, NULL);
        return true;
    }
    default:
        return true;
    }
}

static void cluster_start(void)
{
    memset(&cl, 0, sizeof(cl));
    atomic_store(&cl.leader, 1);
    cl.refuse_code = ST_ERR_NOT_LEADER_OR_FOLLOWER;
    for (int i = 0; i < 3; i++)
        mock_log_append(&cl.log, 10, 0);
    for (int i = 0; i < 2; i++) {
        mbroker_t *mb = &cl.b[i];
        mb->id = i + 1;
        mb->srv.stop = &cl.stop;
        mb->srv.handle = handle;
        mb->srv.arg = mb;
        mock_server_start(&mb->srv);
    }
}

static void cluster_stop(void)
{
    atomic_store(&cl.stop, true);
    for (int i = 0; i < 2; i++)
        mock_server_join(&cl.b[i].srv);
    st_buf_free(&cl.log.buf);
}

TestSuite(client_failover, .init = cluster_start, .fini = cluster_stop, .timeout = 60);

/* ---- helpers ------------------------------------------------------------------------------- */

static strand_conf_t *conf_with(const char *servers, const char *const *kvs)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strand_conf_set(conf, "retry.backoff.ms", "20", err, sizeof(err)), 0);
    for (size_t i = 0; kvs && kvs[i]; i++)
        cr_assert_eq(strand_conf_set_kv(conf, kvs[i], err, sizeof(err)), 0, "%s", err);
    return conf;
}

static const char *broker1(void)
{
    static char s[64];
    snprintf(s, sizeof(s), "127.0.0.1:%d", cl.b[0].srv.port);
    return s;
}

static strand_producer_t *producer(mock_reports_t *r, const char *servers, const char *const *kvs)
{
    strand_conf_t *conf = conf_with(servers, kvs);
    strand_conf_set_delivery_cb(conf, mock_on_report, r);
    char err[512];
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    strand_conf_destroy(conf);
    return p;
}

static void produce_n(strand_producer_t *p, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    cr_assert_eq(strand_producer_flush(p, 15000), 0);
}

/* ---- bootstrap ----------------------------------------------------------------------------- */

Test(client_failover, bootstrap_skips_a_dead_first_server)
{
    int dead_fd;
    int dead = mock_bind_loopback(&dead_fd);
    close(dead_fd);                   /* nothing listens there any more: connection refused */
    char servers[128];
    snprintf(servers, sizeof(servers), "127.0.0.1:%d,127.0.0.1:%d", dead, cl.b[1].srv.port);
    mock_reports_t r = { 0 };
    strand_producer_t *p = producer(&r, servers, NULL);
    produce_n(p, 3);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.n), 3);
    cr_expect_eq(atomic_load(&r.errors), 0, "%s", r.last_errstr);
    cr_expect_geq(atomic_load(&cl.b[1].n_metadata), 1, "bootstrapped through the second server");
}

/* ---- producer ------------------------------------------------------------------------------ */

/* Produces through leader 1, then the leader moves to 2 when broker 1 first refuses with
 * `code` (or drops the connection): every record is delivered, without an error. */
static void producer_follows_move(int code, bool drop)
{
    cl.refuse_code = code;
    atomic_store(&cl.drop_on_refuse, drop);
    mock_reports_t r = { 0 };
    strand_producer_t *p = producer(&r, broker1(), (const char *[]){ "acks=1", NULL });
    produce_n(p, 2);
    cr_expect_geq(atomic_load(&cl.b[0].n_produce_ok), 1);
    /* Broker 1 stops leading while the client's metadata still names it; its first refusal
     * makes broker 2 the leader (both mocks' Metadata say so from then on). */
    atomic_store(&cl.move_on_refuse, true);
    atomic_store(&cl.b1_refuses, true);
    produce_n(p, 10);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.n), 12);
    cr_expect_eq(atomic_load(&r.errors), 0, "%s: %s", strand_err_name(r.last_error), r.last_errstr);
    cr_expect_geq(atomic_load(&cl.b[0].n_produce_refused), 1);
    cr_expect_geq(atomic_load(&cl.b[1].n_produce_ok), 1, "delivered through the new leader");
}

Test(client_failover, producer_not_leader_or_follower)
{
    producer_follows_move(ST_ERR_NOT_LEADER_OR_FOLLOWER, false);
}

Test(client_failover, producer_leader_not_available)
{
    producer_follows_move(ST_ERR_LEADER_NOT_AVAILABLE, false);
}

Test(client_failover, producer_unknown_topic_or_partition)
{
    producer_follows_move(ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, false);
}

Test(client_failover, producer_fenced_leader_epoch)
{
    producer_follows_move(ST_ERR_FENCED_LEADER_EPOCH, false);
}

Test(client_failover, producer_broker_disconnect)
{
    producer_follows_move(ST_ERR_NOT_LEADER_OR_FOLLOWER, true);
}

Test(client_failover, producer_no_leader_until_delivery_timeout)
{
    atomic_store(&cl.leader, -1);
    mock_reports_t r = { 0 };
    strand_producer_t *p = producer(&r, broker1(),
                                    (const char *[]){ "delivery.timeout.ms=1500", "linger.ms=0",
                                                      "request.timeout.ms=1000", NULL });
    int64_t t0 = mock_now_ms();
    cr_assert_eq(strand_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), 0);
    while (atomic_load(&r.n) == 0 && mock_now_ms() < t0 + 10000)
        usleep(10000);
    int64_t took = mock_now_ms() - t0;
    strand_producer_destroy(p);
    cr_assert_eq(atomic_load(&r.n), 1);
    cr_expect_eq(atomic_load(&r.errors), 1);
    cr_expect(strand_err_retriable(r.last_error), "%s", strand_err_name(r.last_error));
    cr_expect(took >= 1400 && took < 5000, "reported after %lld ms", (long long)took);
}

/* ---- consumer ------------------------------------------------------------------------------ */

static void consumer_follows_move(int code, bool drop)
{
    cl.refuse_code = code;
    atomic_store(&cl.drop_on_refuse, drop);
    atomic_store(&cl.move_after_fetches, 1);      /* after the first batch, leader 1 -> 2 */
    strand_conf_t *conf = conf_with(broker1(), (const char *[]){ "max.partition.fetch.bytes=200", NULL });
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t tp = { "t", 0, STRAND_OFFSET_BEGINNING, 0 };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    int64_t next = 0, deadline = mock_now_ms() + 15000;
    while (next < cl.log.end && mock_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t n = 0;
        cr_assert_eq(strand_consumer_poll(c, 100, &msgs, &n), 0);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(msgs[i].error, 0, "application saw an error: %s", msgs[i].errstr);
            cr_assert_eq(msgs[i].offset, next, "offset %lld, expected %lld",
                         (long long)msgs[i].offset, (long long)next);
            next++;
        }
    }
    int64_t pos = -1;
    cr_expect_eq(strand_consumer_position(c, "t", 0, &pos), 0);
    strand_consumer_destroy(c);
    cr_expect_eq(next, cl.log.end);
    cr_expect_eq(pos, cl.log.end);
    cr_expect_geq(atomic_load(&cl.b[0].n_fetch_ok), 1);
    cr_expect_geq(atomic_load(&cl.b[0].n_fetch_refused), 1, "the old leader refused");
    cr_expect_geq(atomic_load(&cl.b[1].n_fetch_ok), 2, "fetching moved to the new leader");
}

Test(client_failover, consumer_not_leader_or_follower)
{
    consumer_follows_move(ST_ERR_NOT_LEADER_OR_FOLLOWER, false);
}

Test(client_failover, consumer_fenced_leader_epoch)
{
    consumer_follows_move(ST_ERR_FENCED_LEADER_EPOCH, false);
}

Test(client_failover, consumer_broker_disconnect)
{
    consumer_follows_move(ST_ERR_NOT_LEADER_OR_FOLLOWER, true);
}
