/* The client's metadata cache against stale leader epochs (KIP-320), with two in-process mock
 * brokers (ids 1 and 2) sharing partition "t"-0:
 *   - broker 2 is the leader at epoch 6 and says so; broker 1 plays a broker whose ZooKeeper
 *     session expired: its Metadata still names itself leader at the older epoch 5, and it
 *     still accepts Produce. A client that learned epoch 6 and then hears epoch 5 (because
 *     broker 2 stops answering Metadata) must keep producing to broker 2,
 *   - the escape hatch for a topic deleted and recreated (epochs restart): an older epoch is
 *     accepted once the cached one is older than metadata.max.age.ms of contradictions, and at
 *     once when the partition count changes. */
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
    atomic_int n_produce, n_metadata;
} mbroker_t;

static struct {
    mbroker_t b[2];
    atomic_bool stop;
    atomic_bool b2_drops_metadata;   /* broker 2 closes the connection on Metadata */
    atomic_bool b2_refuse_once;      /* broker 2 answers the next Produce NOT_LEADER_OR_FOLLOWER */
    atomic_int b1_epoch;             /* the epoch broker 1 claims leadership at */
} cl;

static bool handle(void *arg, int fd, const Strand__RequestHeader *h, const uint8_t *body,
                   size_t body_len)
{
    mbroker_t *mb = arg;
    int32_t corr = h->correlation_id;
    switch (h->api_key) {
    case STRAND__API_KEY__API_VERSIONS: {
        static const int keys[] = { 0, 3 };
        mock_send_api_versions(fd, corr, keys, 2);
        return true;
    }
    case STRAND__API_KEY__METADATA: {
        if (mb->id == 2 && atomic_load(&cl.b2_drops_metadata))
            return false;
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
        int32_t replicas[2] = { 1, 2 };
        Strand__PartitionMetadata pm = STRAND__PARTITION_METADATA__INIT;
        /* Each broker names itself: 2 at epoch 6, 1 (stale) at its older epoch. */
        pm.leader = mb->id;
        pm.leader_epoch = mb->id == 2 ? 6 : atomic_load(&cl.b1_epoch);
        pm.n_replicas = pm.n_isr = 2;
        pm.replicas = pm.isr = replicas;
        mock_send_metadata(fd, corr, req, bp, 2, &pm);
        strand__metadata_request__free_unpacked(req, NULL);
        return true;
    }
    case STRAND__API_KEY__PRODUCE: {
        Strand__ProduceRequest *req = strand__produce_request__unpack(NULL, body_len, body);
        Strand__ProducePartitionResponse pr = STRAND__PRODUCE_PARTITION_RESPONSE__INIT;
        pr.partition = req->topics[0]->partitions[0]->partition;
        pr.log_append_time_ms = -1;
        if (mb->id == 2 && atomic_exchange(&cl.b2_refuse_once, false))
            pr.error_code = ST_ERR_NOT_LEADER_OR_FOLLOWER;
        else
            atomic_fetch_add(&mb->n_produce, 1);
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
    atomic_store(&cl.b1_epoch, 5);
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
}

TestSuite(client_md_epoch, .init = cluster_start, .fini = cluster_stop, .timeout = 60);

static strand_producer_t *producer(mock_reports_t *r, const char *max_age)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512], servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", cl.b[1].srv.port);
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strand_conf_set(conf, "retry.backoff.ms", "20", err, sizeof(err)), 0);
    cr_assert_eq(strand_conf_set(conf, "acks", "1", err, sizeof(err)), 0);
    cr_assert_eq(strand_conf_set(conf, "metadata.max.age.ms", max_age, err, sizeof(err)), 0,
                 "%s", err);
    strand_conf_set_delivery_cb(conf, mock_on_report, r);
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

/* Learns leader 2 at epoch 6 (bootstrapped through broker 2), then makes broker 1 the only one
 * answering Metadata (leader 1 at b1_epoch) and forces a refresh through one refusal. */
static void hear_stale_leader(strand_producer_t *p, mock_reports_t *r)
{
    produce_n(p, 3);
    cr_assert_geq(atomic_load(&cl.b[1].n_produce), 1, "first learned leader is broker 2");
    cr_assert_eq(atomic_load(&cl.b[0].n_produce), 0);
    atomic_store(&cl.b2_drops_metadata, true);
    atomic_store(&cl.b2_refuse_once, true);
    int before = atomic_load(&cl.b[0].n_metadata);
    produce_n(p, 1);
    int64_t deadline = mock_now_ms() + 10000;
    while (atomic_load(&cl.b[0].n_metadata) < before + 1 && mock_now_ms() < deadline)
        usleep(10000);
    cr_assert_geq(atomic_load(&cl.b[0].n_metadata), before + 1,
                  "the refusal's metadata refresh was answered by broker 1");
    usleep(200000);   /* the answer reaches the client's cache */
    cr_expect_eq(atomic_load(&r->errors), 0, "%s", r->last_errstr);
}

Test(client_md_epoch, older_leader_epoch_is_ignored)
{
    mock_reports_t r = { 0 };
    strand_producer_t *p = producer(&r, "300000");
    hear_stale_leader(p, &r);
    int b2_before = atomic_load(&cl.b[1].n_produce);
    produce_n(p, 5);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.n), 9);
    cr_expect_eq(atomic_load(&r.errors), 0, "%s", r.last_errstr);
    cr_expect_eq(atomic_load(&cl.b[0].n_produce), 0,
                 "the stale leader (epoch 5 < 6) took %d produce requests",
                 atomic_load(&cl.b[0].n_produce));
    cr_expect_gt(atomic_load(&cl.b[1].n_produce), b2_before,
                 "the records after the stale answer went to the epoch-6 leader");
}

Test(client_md_epoch, newer_leader_epoch_is_followed)
{
    /* The same path with broker 1 at a newer epoch: the client moves to it. */
    atomic_store(&cl.b1_epoch, 7);
    mock_reports_t r = { 0 };
    strand_producer_t *p = producer(&r, "300000");
    hear_stale_leader(p, &r);
    produce_n(p, 5);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.errors), 0, "%s", r.last_errstr);
    cr_expect_geq(atomic_load(&cl.b[0].n_produce), 1, "epoch 7 > 6: broker 1 leads now");
}

Test(client_md_epoch, older_epoch_accepted_after_metadata_max_age)
{
    /* A recreated topic restarts its epochs: contradicted for longer than metadata.max.age.ms,
     * the cached epoch gives way (here max age 300 ms; metadata is asked for every 300 ms). */
    mock_reports_t r = { 0 };
    strand_producer_t *p = producer(&r, "300");
    hear_stale_leader(p, &r);
    int64_t deadline = mock_now_ms() + 20000;
    while (atomic_load(&cl.b[0].n_produce) == 0 && mock_now_ms() < deadline)
        produce_n(p, 1);
    strand_producer_destroy(p);
    cr_expect_eq(atomic_load(&r.errors), 0, "%s", r.last_errstr);
    cr_expect_geq(atomic_load(&cl.b[0].n_produce), 1, "the older epoch was accepted in the end");
}
