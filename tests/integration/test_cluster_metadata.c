/* The metadata side of the cluster against a real strand-broker (broker.id=1, a ZooKeeper chroot
 * of its own). The test plays the controller: it sends UpdateMetadata over the wire describing 3
 * brokers and a topic, then checks that Metadata returns exactly that; that older controller
 * epochs and stale broker epochs are refused; that UpdateMetadata on a client-only listener
 * gets CLUSTER_AUTHORIZATION_FAILED and changes nothing; that leader -2 deletes a topic; and
 * strand-topics --describe (Kafka's layout and the four filters) against that broker.
 *
 * The controller: before the broker starts, the test writes a persistent /controller naming
 * broker 2 (the controller_id of its UpdateMetadata) in the chroot (st_test_zk_fake_controller),
 * so the broker registers, sees that controller and never elects itself: nobody but the test
 * ever sends it UpdateMetadata, and its metadata cache is exactly what the test said (empty
 * before the test speaks). The test writes no topic znodes. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker_wire.h"
#include "harness.h"

static st_test_broker_t broker;
static int corr = 1;

static void start(void)
{
    char chroot[200], zk[256];
    cr_assert_eq(st_test_zk_chroot(chroot, sizeof(chroot)), 0);
    cr_assert_eq(st_test_zk_fake_controller(chroot, 2), 0);
    snprintf(zk, sizeof(zk), "zookeeper.connect=%s", chroot);
    const char *ov[] = { "broker.id=1", zk, "controlled.shutdown.enable=false",
                         "min.insync.replicas=2", "broker.rack=r1", NULL };
    cr_assert_eq(st_test_broker_start_ready(&broker, ov, ST_TEST_READY_LISTENING), 0);
}

static void stop(void)
{
    st_test_broker_cleanup(&broker);
}

TestSuite(cluster_md, .init = start, .fini = stop, .timeout = 120);

/* ---- the controller's side ----------------------------------------------------------------- */

typedef struct um_builder {
    Strand__UpdateMetadataRequest req;
    Strand__UpdateMetadataBroker brokers[4], *bptrs[4];
    Strand__UpdateMetadataEndpoint eps[4][2], *eptrs[4][2];
    Strand__UpdateMetadataPartitionState ps[8], *pptrs[8];
} um_builder_t;

static void um_init(um_builder_t *u, int32_t controller_epoch)
{
    memset(u, 0, sizeof(*u));
    strand__update_metadata_request__init(&u->req);
    u->req.controller_id = 2;
    u->req.controller_epoch = controller_epoch;
    u->req.broker_epoch = -1;
    u->req.live_brokers = u->bptrs;
    u->req.partition_states = u->pptrs;
}

/* Adds a live broker with a PLAINTEXT listener at 127.0.0.1:port (every broker advertises this
 * test broker's port, so that clients reach one process whichever id they pick). */
static void um_broker(um_builder_t *u, int32_t id, int port, const char *rack)
{
    size_t i = u->req.n_live_brokers++;
    Strand__UpdateMetadataBroker *b = &u->brokers[i];
    strand__update_metadata_broker__init(b);
    b->id = id;
    b->rack = (char *)rack;
    Strand__UpdateMetadataEndpoint *e = &u->eps[i][0];
    strand__update_metadata_endpoint__init(e);
    e->port = port;
    e->host = "127.0.0.1";
    e->listener = "PLAINTEXT";
    e->security_protocol = "PLAINTEXT";
    Strand__UpdateMetadataEndpoint *e2 = &u->eps[i][1];
    strand__update_metadata_endpoint__init(e2);
    e2->port = 19000 + id;
    e2->host = "10.1.1.1";
    e2->listener = "INTERNAL";
    e2->security_protocol = "PLAINTEXT";
    u->eptrs[i][0] = e;
    u->eptrs[i][1] = e2;
    b->endpoints = u->eptrs[i];
    b->n_endpoints = 2;
    u->bptrs[i] = b;
}

static void um_partition(um_builder_t *u, const char *topic, int32_t partition, int32_t leader,
                         int32_t leader_epoch, int32_t *replicas, size_t n_replicas, int32_t *isr,
                         size_t n_isr)
{
    size_t i = u->req.n_partition_states++;
    Strand__UpdateMetadataPartitionState *p = &u->ps[i];
    strand__update_metadata_partition_state__init(p);
    p->topic = (char *)topic;
    p->partition = partition;
    p->controller_epoch = u->req.controller_epoch;
    p->leader = leader;
    p->leader_epoch = leader_epoch;
    p->replicas = replicas;
    p->n_replicas = n_replicas;
    p->isr = isr;
    p->n_isr = n_isr;
    p->zk_version = leader_epoch;
    u->pptrs[i] = p;
}

/* Sends it on a fresh connection to port; returns the response's error code (-1000 on a
 * transport failure). */
static int32_t um_send(const um_builder_t *u, int port)
{
    int fd = st_test_connect(port);
    cr_assert_geq(fd, 0);
    int c = corr++;
    cr_assert_eq(tw_send(fd, STRAND__API_KEY__UPDATE_METADATA, 0, c, &u->req.base, NULL, 0), 0);
    Strand__UpdateMetadataResponse *r = (Strand__UpdateMetadataResponse *)tw_recv_response(
        fd, c, &strand__update_metadata_response__descriptor, NULL, NULL);
    close(fd);
    if (!r)
        return -1000;
    int32_t code = r->error_code;
    strand__update_metadata_response__free_unpacked(r, NULL);
    return code;
}

static Strand__MetadataResponse *metadata_all(int port)
{
    int fd = st_test_connect(port);
    cr_assert_geq(fd, 0);
    Strand__MetadataRequest mr = STRAND__METADATA_REQUEST__INIT;
    mr.all_topics = true;
    int c = corr++;
    cr_assert_eq(tw_send(fd, STRAND__API_KEY__METADATA, 0, c, &mr.base, NULL, 0), 0);
    Strand__MetadataResponse *r = (Strand__MetadataResponse *)tw_recv_response(
        fd, c, &strand__metadata_response__descriptor, NULL, NULL);
    close(fd);
    cr_assert_not_null(r);
    return r;
}

static Strand__MetadataResponse *metadata_topic(int port, const char *topic, bool auto_create)
{
    int fd = st_test_connect(port);
    cr_assert_geq(fd, 0);
    Strand__MetadataResponse *r = tw_metadata(fd, corr++, topic, auto_create);
    close(fd);
    cr_assert_not_null(r);
    return r;
}

static const Strand__TopicMetadata *find_topic(const Strand__MetadataResponse *r, const char *name)
{
    for (size_t i = 0; i < r->n_topics; i++)
        if (strcmp(r->topics[i]->name, name) == 0)
            return r->topics[i];
    return NULL;
}

static const Strand__PartitionMetadata *find_part(const Strand__TopicMetadata *t, int32_t p)
{
    for (size_t i = 0; t && i < t->n_partitions; i++)
        if (t->partitions[i]->partition == p)
            return t->partitions[i];
    return NULL;
}

static bool ids_eq(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(int32_t)) == 0);
}

/* The topic "orders" of the describe tests (RF 3, min.insync.replicas=2 on the broker):
 *   p0 leader 1, ISR 1,2,3     -- healthy
 *   p1 leader 2, ISR 2,3       -- under-replicated, at min ISR
 *   p2 no leader, ISR 3        -- under-replicated, unavailable, under min ISR
 *   p3 leader 3, ISR 3         -- under-replicated, under min ISR
 *   p4 leader 4 (not live), ISR 4,1 -- under-replicated, unavailable, under min ISR, at min ISR */
static int32_t r123[] = { 1, 2, 3 }, r231[] = { 2, 3, 1 }, r312[] = { 3, 1, 2 }, r23[] = { 2, 3 };
static int32_t r3[] = { 3 }, r412[] = { 4, 1, 2 }, r41[] = { 4, 1 };

static void um_orders(um_builder_t *u, int32_t controller_epoch)
{
    um_init(u, controller_epoch);
    um_broker(u, 1, broker.port, "r1");
    um_broker(u, 2, broker.port, "r2");
    um_broker(u, 3, broker.port, "");
    um_partition(u, "orders", 0, 1, 4, r123, 3, r123, 3);
    um_partition(u, "orders", 1, 2, 5, r231, 3, r23, 2);
    um_partition(u, "orders", 2, -1, 6, r312, 3, r3, 1);
    u->ps[2].offline_replicas = r3;
    u->ps[2].n_offline_replicas = 1;
    um_partition(u, "orders", 3, 3, 7, r312, 3, r3, 1);
    um_partition(u, "orders", 4, 4, 8, r412, 3, r41, 2);
}

/* ---- tests --------------------------------------------------------------------------------- */

Test(cluster_md, empty_before_the_controller_speaks)
{
    Strand__MetadataResponse *r = metadata_topic(broker.port, "orders", false);
    cr_expect_eq(r->n_brokers, 0);
    cr_expect_eq(r->controller_id, -1);
    cr_expect_str_neq(r->cluster_id, "");
    cr_assert_eq(r->n_topics, 1);
    cr_expect_eq(r->topics[0]->error_code, 3 /* UNKNOWN_TOPIC_OR_PARTITION */);
    strand__metadata_response__free_unpacked(r, NULL);
    /* auto.create.topics.enable (default true) + allow: LEADER_NOT_AVAILABLE (the topic is
     * written to ZooKeeper; no controller acts on it here, so it stays out of the metadata). */
    r = metadata_topic(broker.port, "orders", true);
    cr_assert_eq(r->n_topics, 1);
    cr_expect_eq(r->topics[0]->error_code, 5 /* LEADER_NOT_AVAILABLE */);
    strand__metadata_response__free_unpacked(r, NULL);
    r = metadata_all(broker.port);
    cr_expect_eq(r->n_topics, 0);
    strand__metadata_response__free_unpacked(r, NULL);
}

Test(cluster_md, update_metadata_then_metadata_returns_exactly_that)
{
    um_builder_t u;
    um_orders(&u, 1);
    cr_assert_eq(um_send(&u, broker.port), 0);

    Strand__MetadataResponse *r = metadata_all(broker.port);
    cr_expect_eq(r->controller_id, 2);
    cr_assert_eq(r->n_brokers, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_expect_eq(r->brokers[i]->node_id, (int32_t)i + 1);
        cr_expect_str_eq(r->brokers[i]->host, "127.0.0.1");     /* the PLAINTEXT endpoint */
        cr_expect_eq(r->brokers[i]->port, broker.port);
    }
    cr_expect_str_eq(r->brokers[0]->rack, "r1");
    cr_expect_str_eq(r->brokers[1]->rack, "r2");
    cr_expect_str_eq(r->brokers[2]->rack, "");
    cr_assert_eq(r->n_topics, 1);
    const Strand__TopicMetadata *t = find_topic(r, "orders");
    cr_assert_not_null(t);
    cr_expect_eq(t->error_code, 0);
    cr_expect_eq(t->min_insync_replicas, 2);
    cr_assert_eq(t->n_partitions, 5);
    const Strand__PartitionMetadata *p0 = find_part(t, 0), *p1 = find_part(t, 1),
                                    *p2 = find_part(t, 2), *p4 = find_part(t, 4);
    cr_expect_eq(p0->error_code, 0);
    cr_expect_eq(p0->leader, 1);
    cr_expect_eq(p0->leader_epoch, 4);
    cr_expect(ids_eq(p0->replicas, p0->n_replicas, r123, 3));
    cr_expect(ids_eq(p0->isr, p0->n_isr, r123, 3));
    cr_expect_eq(p1->leader, 2);
    cr_expect_eq(p1->leader_epoch, 5);
    cr_expect(ids_eq(p1->replicas, p1->n_replicas, r231, 3));
    cr_expect(ids_eq(p1->isr, p1->n_isr, r23, 2));
    cr_expect_eq(p2->error_code, 5 /* LEADER_NOT_AVAILABLE */);
    cr_expect_eq(p2->leader, -1);
    cr_expect(ids_eq(p2->offline_replicas, p2->n_offline_replicas, r3, 1));
    cr_expect_eq(p4->error_code, 5, "leader 4 is not a live broker");
    cr_expect_eq(p4->leader, -1);
    cr_expect(ids_eq(p4->isr, p4->n_isr, r41, 2));
    strand__metadata_response__free_unpacked(r, NULL);

    /* One topic by name; unknown topics stay unknown. */
    r = metadata_topic(broker.port, "orders", false);
    cr_assert_eq(r->n_topics, 1);
    cr_expect_eq(r->topics[0]->n_partitions, 5);
    strand__metadata_response__free_unpacked(r, NULL);
    r = metadata_topic(broker.port, "nope", false);
    cr_expect_eq(r->topics[0]->error_code, 3);
    strand__metadata_response__free_unpacked(r, NULL);
}

Test(cluster_md, stale_controller_epoch_refused)
{
    um_builder_t u;
    um_orders(&u, 5);
    cr_assert_eq(um_send(&u, broker.port), 0);
    /* An older controller says partition 0 moved to broker 3: refused, nothing changes. */
    um_builder_t old;
    um_init(&old, 4);
    um_broker(&old, 3, broker.port, "");
    um_partition(&old, "orders", 0, 3, 99, r312, 3, r3, 1);
    cr_expect_eq(um_send(&old, broker.port), 11 /* STALE_CONTROLLER_EPOCH */);
    Strand__MetadataResponse *r = metadata_all(broker.port);
    cr_expect_eq(r->n_brokers, 3);
    cr_expect_eq(find_part(find_topic(r, "orders"), 0)->leader, 1);
    cr_expect_eq(find_part(find_topic(r, "orders"), 0)->leader_epoch, 4);
    strand__metadata_response__free_unpacked(r, NULL);
    /* The same epoch is accepted (one controller sends many requests). */
    old.req.controller_epoch = 5;
    cr_expect_eq(um_send(&old, broker.port), 0);
    r = metadata_all(broker.port);
    cr_expect_eq(r->n_brokers, 1);
    cr_expect_eq(find_part(find_topic(r, "orders"), 0)->leader, 3);
    strand__metadata_response__free_unpacked(r, NULL);
}

Test(cluster_md, stale_broker_epoch_refused)
{
    um_builder_t u;
    um_orders(&u, 1);
    /* This broker registered with its czxid as broker epoch: 0 is an older incarnation's
     * (-1 means "unknown" and is always accepted). */
    u.req.broker_epoch = 0;
    cr_expect_eq(um_send(&u, broker.port), 77 /* STALE_BROKER_EPOCH */);
    Strand__MetadataResponse *r = metadata_all(broker.port);
    cr_expect_eq(r->n_topics, 0);
    strand__metadata_response__free_unpacked(r, NULL);
}

Test(cluster_md, leader_minus_two_deletes_the_topic)
{
    um_builder_t u;
    um_orders(&u, 1);
    um_partition(&u, "doomed", 0, 1, 1, r123, 3, r123, 3);
    cr_assert_eq(um_send(&u, broker.port), 0);
    um_builder_t del;
    um_init(&del, 1);
    um_broker(&del, 1, broker.port, "r1");
    um_partition(&del, "doomed", 0, -2, 2, NULL, 0, NULL, 0);
    cr_assert_eq(um_send(&del, broker.port), 0);
    Strand__MetadataResponse *r = metadata_all(broker.port);
    cr_expect_null(find_topic(r, "doomed"));
    cr_expect_not_null(find_topic(r, "orders"));
    strand__metadata_response__free_unpacked(r, NULL);
}

/* ---- strand-topics --describe -------------------------------------------------------------- */

static char *topics_tool(const char *flag)
{
    const char *argv[] = { "strand-topics", "--bootstrap-server", broker.bootstrap, "--describe",
                           "--topic", "orders", flag, NULL };
    char *out = NULL, *err = NULL;
    int rc = st_test_run_tool(argv, NULL, &out, &err, 30000);
    cr_assert_eq(rc, 0, "strand-topics %s failed: %s", flag ? flag : "", err ? err : "");
    free(err);
    return out;
}

#define PLINE(p, leader, replicas, isr) \
    "\tTopic: orders\tPartition: " #p "\tLeader: " leader "\tReplicas: " replicas "\tIsr: " isr "\n"

Test(cluster_md, topics_describe_and_filters)
{
    um_builder_t u;
    um_orders(&u, 1);
    cr_assert_eq(um_send(&u, broker.port), 0);

    char *out = topics_tool(NULL);
    cr_expect_str_eq(out,
        "Topic: orders\tTopicId: AAAAAAAAAAAAAAAAAAAAAA\tPartitionCount: 5\tReplicationFactor: 3\tConfigs: \n"
        PLINE(0, "1", "1,2,3", "1,2,3")
        PLINE(1, "2", "2,3,1", "2,3")
        PLINE(2, "none", "3,1,2", "3")
        PLINE(3, "3", "3,1,2", "3")
        PLINE(4, "none", "4,1,2", "4,1"));
    free(out);

    out = topics_tool("--under-replicated-partitions");
    cr_expect_str_eq(out, PLINE(1, "2", "2,3,1", "2,3") PLINE(2, "none", "3,1,2", "3")
                          PLINE(3, "3", "3,1,2", "3") PLINE(4, "none", "4,1,2", "4,1"));
    free(out);
    out = topics_tool("--unavailable-partitions");
    cr_expect_str_eq(out, PLINE(2, "none", "3,1,2", "3") PLINE(4, "none", "4,1,2", "4,1"));
    free(out);
    out = topics_tool("--under-min-isr-partitions");
    cr_expect_str_eq(out, PLINE(2, "none", "3,1,2", "3") PLINE(3, "3", "3,1,2", "3")
                          PLINE(4, "none", "4,1,2", "4,1"));
    free(out);
    out = topics_tool("--at-min-isr-partitions");
    cr_expect_str_eq(out, PLINE(1, "2", "2,3,1", "2,3") PLINE(4, "none", "4,1,2", "4,1"));
    free(out);
}

/* ---- a client-only listener ---------------------------------------------------------------- */

/* Restarts the broker with two listeners: CLIENT on the harness port and INTERNAL (the
 * inter-broker listener) on another; returns the INTERNAL port. */
static int restart_with_two_listeners(void)
{
    int internal_port = 0;
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(a);
        cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        internal_port = ntohs(a.sin_port);
        close(fd);
    }
    cr_assert_eq(WIFEXITED(st_test_broker_stop(&broker, SIGTERM)), 1);
    FILE *f = fopen(broker.config_path, "a");
    cr_assert_not_null(f);
    fprintf(f, "listeners=CLIENT://127.0.0.1:%d,INTERNAL://127.0.0.1:%d\n", broker.port,
            internal_port);
    fprintf(f, "listener.security.protocol.map=CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT\n");
    fprintf(f, "inter.broker.listener.name=INTERNAL\n");
    fclose(f);
    cr_assert_eq(st_test_broker_restart(&broker), 0);
    return internal_port;
}

Test(cluster_md, update_metadata_on_client_listener_refused)
{
    int internal = restart_with_two_listeners();
    um_builder_t u;
    um_orders(&u, 1);
    u.eps[0][0].listener = "CLIENT";
    u.eps[1][0].listener = "CLIENT";
    u.eps[2][0].listener = "CLIENT";
    cr_expect_eq(um_send(&u, broker.port), 31 /* CLUSTER_AUTHORIZATION_FAILED */);
    Strand__MetadataResponse *r = metadata_all(broker.port);
    cr_expect_eq(r->n_brokers, 0, "nothing changed");
    cr_expect_eq(r->n_topics, 0);
    cr_expect_eq(r->controller_id, -1);
    strand__metadata_response__free_unpacked(r, NULL);
    /* The refusal did not record the controller epoch either: a lower one still passes. */
    u.req.controller_epoch = 0;
    cr_expect_eq(um_send(&u, internal), 0);
    /* Metadata answers per listener: CLIENT gets the CLIENT endpoints, INTERNAL the INTERNAL. */
    r = metadata_all(broker.port);
    cr_assert_eq(r->n_brokers, 3);
    cr_expect_eq(r->brokers[0]->port, broker.port);
    cr_expect_eq(find_part(find_topic(r, "orders"), 0)->error_code, 0);
    strand__metadata_response__free_unpacked(r, NULL);
    r = metadata_all(internal);
    cr_assert_eq(r->n_brokers, 3);
    cr_expect_str_eq(r->brokers[0]->host, "10.1.1.1");
    cr_expect_eq(r->brokers[0]->port, 19001);
    strand__metadata_response__free_unpacked(r, NULL);
}
