/* Replication between real brokers (one ZooKeeper chroot shared by the test's brokers; the
 * test plays the controller by sending LeaderAndIsr / StopReplica itself): follower fetch and
 * byte-identical logs, acks=all, leadership change and NOT_LEADER_OR_FOLLOWER, controller-epoch
 * fencing, cluster APIs refused on a client-only listener, min.insync.replicas, and truncation
 * of a divergent tail.
 *
 * The controller: every broker needs ZooKeeper, and left alone the brokers of a chroot elect a
 * real controller (the first to create /controller), which would send its own LeaderAndIsr and
 * UpdateMetadata beside the test's. Rather than out-shouting it with a huge controller epoch,
 * the test takes the controller's place in ZooKeeper too: before the brokers start it writes a
 * persistent /controller naming broker 100 (the controller_id its requests carry;
 * st_test_zk_fake_controller), so the brokers register, see a controller and never elect one.
 * The test is then the one controller, in ZooKeeper and on the wire, and every assertion about
 * the broker side holds exactly as designed: epochs start at 1, an older one is refused. The
 * test writes no topic znodes: the partition exists because its LeaderAndIsr says so. */
#include <criterion/criterion.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker_wire.h"
#include "harness.h"
#include "st_error.h"

#define TOPIC "t"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char zk_line[256];            /* zookeeper.connect=<the test's chroot> */

/* A chroot of this test's own whose /controller names the test (controller id 100). */
static const char *test_cluster(void)
{
    char chroot[200];
    cr_assert_eq(st_test_zk_chroot(chroot, sizeof(chroot)), 0);
    cr_assert_eq(st_test_zk_fake_controller(chroot, 100), 0, "placeholder /controller in %s",
                 chroot);
    snprintf(zk_line, sizeof(zk_line), "zookeeper.connect=%s", chroot);
    return zk_line;
}

static void start_cluster_broker(st_test_broker_t *b, int id, const char *extra1, const char *extra2)
{
    char idl[32];
    snprintf(idl, sizeof(idl), "broker.id=%d", id);
    if (!zk_line[0])
        test_cluster();
    const char *ov[] = { idl, zk_line, "controlled.shutdown.enable=false",
                         "replica.fetch.wait.max.ms=100", "replica.fetch.backoff.ms=100", extra1,
                         extra2, NULL };
    cr_assert_eq(st_test_broker_start_ready(b, ov, ST_TEST_READY_LISTENING), 0,
                 "broker %d starts", id);
}

/* Sends LeaderAndIsr for TOPIC-0 to the broker on fd. */
static Strand__LeaderAndIsrResponse *lai(int fd, int corr, int controller_epoch, int leader,
                                         int leader_epoch, int32_t *isr, size_t n_isr,
                                         int32_t *replicas, size_t n_replicas, int leader_port,
                                         const char *cfg_name, const char *cfg_value)
{
    tw_lai_t a = { .controller_id = 100, .controller_epoch = controller_epoch, .broker_epoch = -1,
                   .topic = TOPIC, .partition = 0, .leader = leader, .leader_epoch = leader_epoch,
                   .isr = isr, .n_isr = n_isr, .replicas = replicas, .n_replicas = n_replicas,
                   .leader_port = leader_port, .cfg_name = cfg_name, .cfg_value = cfg_value };
    return tw_leader_and_isr(fd, corr, &a);
}

static int lai_ok(Strand__LeaderAndIsrResponse *r)
{
    cr_assert_not_null(r, "LeaderAndIsr answered");
    int code = r->error_code;
    if (code == 0 && r->n_partition_errors == 1)
        code = r->partition_errors[0]->error_code;
    strand__leader_and_isr_response__free_unpacked(r, NULL);
    return code;
}

static int produce_code(int fd, int corr, int acks, int n_records, int64_t *ret_base)
{
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(n_records, 20, 1700000000000LL, &batch, &len), 0);
    Strand__ProduceResponse *r = tw_produce(fd, corr, TOPIC, 0, acks, batch, len);
    free(batch);
    cr_assert_not_null(r, "produce answered");
    int code = r->responses[0]->partitions[0]->error_code;
    if (ret_base)
        *ret_base = r->responses[0]->partitions[0]->base_offset;
    strand__produce_response__free_unpacked(r, NULL);
    return code;
}

static int64_t latest_offset(int fd, int corr)
{
    Strand__ListOffsetsResponse *r = tw_list_offsets(fd, corr, TOPIC, 0, -1);
    cr_assert_not_null(r);
    int64_t off = r->topics[0]->partitions[0]->error_code ? -1 : r->topics[0]->partitions[0]->offset;
    strand__list_offsets_response__free_unpacked(r, NULL);
    return off;
}

/* The first segment of TOPIC-0 on broker b (malloc'd). */
static uint8_t *read_segment(const st_test_broker_t *b, size_t *ret_len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/logs/" TOPIC "-0/00000000000000000000.log", b->dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    *ret_len = n;
    return buf;
}

static bool segments_equal(const st_test_broker_t *a, const st_test_broker_t *b, size_t min_len)
{
    size_t la = 0, lb = 0;
    uint8_t *x = read_segment(a, &la), *y = read_segment(b, &lb);
    bool eq = x && y && la == lb && la >= min_len && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return eq;
}

static bool wait_segments_equal(const st_test_broker_t *a, const st_test_broker_t *b,
                                size_t min_len, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    while (mono_ms() < end) {
        if (segments_equal(a, b, min_len))
            return true;
        usleep(50000);
    }
    return false;
}

Test(replication, leader_follower_acks_all_and_leader_change, .timeout = 60)
{
    st_test_broker_t b[3];
    memset(b, 0, sizeof(b));
    for (int i = 0; i < 3; i++)
        start_cluster_broker(&b[i], i + 1, NULL, NULL);
    int fd[3];
    for (int i = 0; i < 3; i++)
        cr_assert_geq(fd[i] = st_test_connect(b[i].port), 0);
    int32_t reps[] = { 1, 2, 3 }, isr[] = { 1, 2, 3 };
    for (int i = 0; i < 3; i++)
        cr_assert_eq(lai_ok(lai(fd[i], 1, 1, 1, 1, isr, 3, reps, 3, b[0].port, NULL, NULL)), 0);

    /* acks=all returns once both followers have the data; HW moves to the end. */
    int64_t t0 = mono_ms();
    int64_t base = -1;
    cr_assert_eq(produce_code(fd[0], 2, -1, 5, &base), ST_ERR_NONE);
    cr_assert_eq(base, 0);
    cr_assert_lt(mono_ms() - t0, 5000);
    cr_assert_eq(latest_offset(fd[0], 3), 5, "HW after acks=all");
    cr_assert_eq(produce_code(fd[0], 4, -1, 3, &base), ST_ERR_NONE);
    cr_assert_eq(base, 5);
    cr_assert(wait_segments_equal(&b[0], &b[1], 100, 5000), "follower 2 has byte-identical data");
    cr_assert(wait_segments_equal(&b[0], &b[2], 100, 5000), "follower 3 has byte-identical data");

    /* Followers refuse produce and consumer fetch. */
    cr_assert_eq(produce_code(fd[1], 5, 1, 1, NULL), ST_ERR_NOT_LEADER_OR_FOLLOWER);

    /* Leadership moves to broker 2 at epoch 2. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(lai_ok(lai(fd[i], 6, 1, 2, 2, isr, 3, reps, 3, b[1].port, NULL, NULL)), 0);
    cr_assert_eq(produce_code(fd[0], 7, 1, 1, NULL), ST_ERR_NOT_LEADER_OR_FOLLOWER);
    cr_assert_eq(produce_code(fd[1], 8, -1, 2, &base), ST_ERR_NONE);
    cr_assert_eq(base, 8);
    cr_assert(wait_segments_equal(&b[1], &b[0], 100, 5000), "old leader follows the new one");
    cr_assert(wait_segments_equal(&b[1], &b[2], 100, 5000));

    /* Fencing: an older controller epoch, and the same leader epoch again. */
    cr_assert_eq(lai_ok(lai(fd[0], 9, 0, 1, 3, isr, 3, reps, 3, b[0].port, NULL, NULL)),
                 ST_ERR_STALE_CONTROLLER_EPOCH);
    cr_assert_eq(lai_ok(lai(fd[0], 10, 1, 1, 2, isr, 3, reps, 3, b[0].port, NULL, NULL)),
                 ST_ERR_STALE_CONTROLLER_EPOCH, "equal leader epoch is ignored");
    cr_assert_eq(produce_code(fd[0], 11, 1, 1, NULL), ST_ERR_NOT_LEADER_OR_FOLLOWER,
                 "nothing changed");
    /* Not in replicas. */
    int32_t others[] = { 2, 3 };
    cr_assert_eq(lai_ok(lai(fd[0], 12, 1, 2, 3, others, 2, others, 2, b[1].port, NULL, NULL)),
                 ST_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_assert(st_test_file_contains(b[0].log_path, "leader 1 -> 2 at leader epoch 2"));
    for (int i = 0; i < 3; i++) {
        close(fd[i]);
        st_test_broker_cleanup(&b[i]);
    }
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bind(s, (struct sockaddr *)&a, sizeof(a));
    socklen_t l = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &l);
    int port = ntohs(a.sin_port);
    close(s);
    return port;
}

Test(replication, cluster_apis_refused_on_client_listener, .timeout = 30)
{
    st_test_broker_t b;
    memset(&b, 0, sizeof(b));
    int client_port = free_port();
    char lst[160];
    snprintf(lst, sizeof(lst), "listeners=PLAINTEXT://127.0.0.1:{port},CLIENT://127.0.0.1:%d",
             client_port);
    const char *ov[] = { "broker.id=1", test_cluster(), "controlled.shutdown.enable=false",
                         "listener.security.protocol.map=CLIENT:PLAINTEXT",
                         "inter.broker.listener.name=PLAINTEXT", lst, NULL };
    cr_assert_eq(st_test_broker_start_ready(&b, ov, ST_TEST_READY_LISTENING), 0);
    int cfd = st_test_connect(client_port);
    cr_assert_geq(cfd, 0);
    int32_t reps[] = { 1 };
    cr_assert_eq(lai_ok(lai(cfd, 1, 1, 1, 1, reps, 1, reps, 1, client_port, NULL, NULL)),
                 ST_ERR_CLUSTER_AUTHORIZATION_FAILED);
    int pfd = st_test_connect(b.port);
    cr_assert_geq(pfd, 0);
    cr_assert_eq(produce_code(pfd, 2, 1, 1, NULL), ST_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                 "the refused request changed nothing");
    cr_assert_eq(lai_ok(lai(pfd, 3, 1, 1, 1, reps, 1, reps, 1, b.port, NULL, NULL)), 0);
    cr_assert_eq(produce_code(cfd, 4, 1, 1, NULL), ST_ERR_NONE, "clients produce on CLIENT");
    close(cfd);
    close(pfd);
    st_test_broker_cleanup(&b);
}

Test(replication, min_insync_refuses_and_appends_nothing, .timeout = 30)
{
    st_test_broker_t b;
    memset(&b, 0, sizeof(b));
    start_cluster_broker(&b, 1, NULL, NULL);
    int fd = st_test_connect(b.port);
    int32_t reps[] = { 1, 2, 3 }, isr[] = { 1 };
    cr_assert_eq(lai_ok(lai(fd, 1, 1, 1, 1, isr, 1, reps, 3, b.port, "min.insync.replicas", "2")), 0);
    cr_assert_eq(produce_code(fd, 2, -1, 3, NULL), ST_ERR_NOT_ENOUGH_REPLICAS);
    cr_assert_eq(latest_offset(fd, 3), 0, "nothing appended");
    cr_assert_eq(produce_code(fd, 4, 1, 3, NULL), ST_ERR_NONE, "acks=1 ignores min.insync");
    close(fd);
    st_test_broker_cleanup(&b);
}

/* An ISR is a set of the replicas: one naming the leader twice or a broker outside the
 * assignment must not count towards min.insync.replicas, or an acks=all write is acknowledged
 * with a single copy. Replicas listed twice are refused. */
Test(replication, isr_duplicates_and_strangers_do_not_count, .timeout = 30)
{
    st_test_broker_t b;
    memset(&b, 0, sizeof(b));
    start_cluster_broker(&b, 1, NULL, NULL);
    int fd = st_test_connect(b.port);
    int32_t reps[] = { 1, 2, 3 }, twice[] = { 1, 1 }, stranger[] = { 1, 99 };
    cr_assert_eq(lai_ok(lai(fd, 1, 1, 1, 1, twice, 2, reps, 3, b.port, "min.insync.replicas", "2")),
                 0);
    cr_expect_eq(produce_code(fd, 2, -1, 3, NULL), ST_ERR_NOT_ENOUGH_REPLICAS, "ISR [1,1]");
    cr_assert_eq(lai_ok(lai(fd, 3, 1, 1, 2, stranger, 2, reps, 3, b.port, NULL, NULL)), 0);
    cr_expect_eq(produce_code(fd, 4, -1, 3, NULL), ST_ERR_NOT_ENOUGH_REPLICAS, "ISR [1,99]");
    cr_expect_eq(latest_offset(fd, 5), 0, "nothing appended");
    int32_t dup_reps[] = { 1, 2, 2 }, isr1[] = { 1 };
    cr_expect_eq(lai_ok(lai(fd, 6, 1, 1, 3, isr1, 1, dup_reps, 3, b.port, NULL, NULL)),
                 ST_ERR_INVALID_REQUEST, "replicas [1,2,2]");
    close(fd);
    st_test_broker_cleanup(&b);
}

/* UpdateMetadata from the test's controller (id 100): broker 1 at port, TOPIC-0 led by 1. */
static int update_metadata(int fd, int corr, int port)
{
    Strand__UpdateMetadataEndpoint ep = STRAND__UPDATE_METADATA_ENDPOINT__INIT, *epp = &ep;
    ep.port = port;
    ep.host = "127.0.0.1";
    ep.listener = "PLAINTEXT";
    ep.security_protocol = "PLAINTEXT";
    Strand__UpdateMetadataBroker b = STRAND__UPDATE_METADATA_BROKER__INIT, *bp = &b;
    b.id = 1;
    b.endpoints = &epp;
    b.n_endpoints = 1;
    int32_t one[] = { 1 };
    Strand__UpdateMetadataPartitionState ps = STRAND__UPDATE_METADATA_PARTITION_STATE__INIT;
    Strand__UpdateMetadataPartitionState *psp = &ps;
    ps.topic = TOPIC;
    ps.controller_epoch = 1;
    ps.leader = 1;
    ps.isr = one;
    ps.n_isr = 1;
    ps.replicas = one;
    ps.n_replicas = 1;
    Strand__UpdateMetadataRequest um = STRAND__UPDATE_METADATA_REQUEST__INIT;
    um.controller_id = 100;
    um.controller_epoch = 1;
    um.broker_epoch = -1;
    um.live_brokers = &bp;
    um.n_live_brokers = 1;
    um.partition_states = &psp;
    um.n_partition_states = 1;
    if (tw_send(fd, STRAND__API_KEY__UPDATE_METADATA, 0, corr, &um.base, NULL, 0) < 0)
        return -1;
    Strand__UpdateMetadataResponse *r = (Strand__UpdateMetadataResponse *)tw_recv_response(
        fd, corr, &strand__update_metadata_response__descriptor, NULL, NULL);
    if (!r)
        return -1;
    int code = r->error_code;
    strand__update_metadata_response__free_unpacked(r, NULL);
    return code;
}

typedef struct md_loop {
    int port;
    atomic_bool stop;
    int answered;
} md_loop_t;

static void *metadata_loop(void *arg)
{
    md_loop_t *m = arg;
    int fd = st_test_connect(m->port);
    for (int corr = 1; fd >= 0 && !atomic_load(&m->stop); corr++) {
        Strand__MetadataResponse *r = tw_metadata(fd, corr, TOPIC, false);
        if (!r)
            break;
        m->answered++;
        strand__metadata_response__free_unpacked(r, NULL);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* LeaderAndIsr changing the topic's config while Metadata requests read it: the replica-state
 * thread copied the config without the registry's lock that the network threads read it under
 * (found by TSan in cluster_durability). Meaningful under ./tests/run.sh --tsan, where the race
 * halts the broker and the harness fails the test on its report. */
Test(replication, topic_config_change_while_metadata_reads, .timeout = 120)
{
    st_test_broker_t b;
    memset(&b, 0, sizeof(b));
    start_cluster_broker(&b, 1, NULL, NULL);
    int fd = st_test_connect(b.port);
    int32_t reps[] = { 1 }, isr[] = { 1 };
    cr_assert_eq(lai_ok(lai(fd, 1, 1, 1, 1, isr, 1, reps, 1, b.port, "min.insync.replicas", "1")),
                 0);
    cr_assert_eq(update_metadata(fd, 2, b.port), 0);
    md_loop_t m = { .port = b.port };
    atomic_init(&m.stop, false);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, metadata_loop, &m), 0);
    for (int i = 0; i < 150; i++)
        cr_assert_eq(lai_ok(lai(fd, 10 + i, 1, 1, 2 + i, isr, 1, reps, 1, b.port,
                                "min.insync.replicas", i % 2 ? "1" : "2")), 0, "round %d", i);
    atomic_store(&m.stop, true);
    pthread_join(th, NULL);
    cr_assert_gt(m.answered, 0, "Metadata was answered meanwhile");
    cr_assert(tw_broker_serves(b.port));
    close(fd);
    st_test_broker_cleanup(&b);
}

/* Stops the replica on fd (the fetcher stops; the log stays). */
static int stop_replica(int fd, int corr, int controller_epoch)
{
    Strand__StopReplicaPartitionState ps = STRAND__STOP_REPLICA_PARTITION_STATE__INIT;
    ps.partition = 0;
    ps.leader_epoch = 1;
    Strand__StopReplicaPartitionState *pss[] = { &ps };
    Strand__StopReplicaTopicState ts = STRAND__STOP_REPLICA_TOPIC_STATE__INIT;
    ts.topic = TOPIC;
    ts.partitions = pss;
    ts.n_partitions = 1;
    Strand__StopReplicaTopicState *tss[] = { &ts };
    Strand__StopReplicaRequest req = STRAND__STOP_REPLICA_REQUEST__INIT;
    req.controller_id = 100;
    req.controller_epoch = controller_epoch;
    req.broker_epoch = -1;
    req.topics = tss;
    req.n_topics = 1;
    if (tw_send(fd, STRAND__API_KEY__STOP_REPLICA, 0, corr, &req.base, NULL, 0) < 0)
        return -1;
    Strand__StopReplicaResponse *r = (Strand__StopReplicaResponse *)tw_recv_response(
        fd, corr, &strand__stop_replica_response__descriptor, NULL, NULL);
    if (!r)
        return -1;
    int code = r->error_code;
    strand__stop_replica_response__free_unpacked(r, NULL);
    return code;
}

Test(replication, divergent_tail_is_truncated, .timeout = 60)
{
    st_test_broker_t b[2];
    memset(b, 0, sizeof(b));
    for (int i = 0; i < 2; i++)
        start_cluster_broker(&b[i], i + 1, NULL, NULL);
    int fd[2];
    for (int i = 0; i < 2; i++)
        cr_assert_geq(fd[i] = st_test_connect(b[i].port), 0);
    int32_t reps[] = { 1, 2 };
    for (int i = 0; i < 2; i++)
        cr_assert_eq(lai_ok(lai(fd[i], 1, 1, 1, 1, reps, 2, reps, 2, b[0].port, NULL, NULL)), 0);
    cr_assert_eq(produce_code(fd[0], 2, -1, 4, NULL), ST_ERR_NONE);   /* offsets 0..3 on both */
    cr_assert(wait_segments_equal(&b[0], &b[1], 50, 5000));
    /* Broker 2 stops following; broker 1 writes a tail at epoch 1 that 2 never sees. */
    cr_assert_eq(stop_replica(fd[1], 3, 1), 0);
    cr_assert_eq(produce_code(fd[0], 4, 1, 3, NULL), ST_ERR_NONE);    /* 4..6 */
    cr_assert_eq(produce_code(fd[0], 5, 1, 3, NULL), ST_ERR_NONE);    /* 7..9 */
    /* Broker 2 becomes leader at epoch 2 and writes its own data at offset 4. */
    int32_t isr2[] = { 2 };
    cr_assert_eq(lai_ok(lai(fd[1], 6, 2, 2, 2, isr2, 1, reps, 2, b[1].port, NULL, NULL)), 0);
    int64_t base = -1;
    cr_assert_eq(produce_code(fd[1], 7, 1, 2, &base), ST_ERR_NONE);
    cr_assert_eq(base, 4);
    /* Broker 1 follows 2: its tail 4..9 of epoch 1 diverges and must go. */
    cr_assert_eq(lai_ok(lai(fd[0], 8, 2, 2, 2, isr2, 1, reps, 2, b[1].port, NULL, NULL)), 0);
    bool same = wait_segments_equal(&b[1], &b[0], 50, 8000);
    if (!same) {
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "tail -n 30 %s %s >&2", b[0].log_path, b[1].log_path);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot show the broker logs\n");
    }
    cr_assert(same, "truncated and re-fetched");
    cr_assert(tw_wait_file_contains(b[0].log_path, "truncated from offset 10 to 4", 2000));
    for (int i = 0; i < 2; i++) {
        close(fd[i]);
        st_test_broker_cleanup(&b[i]);
    }
}
