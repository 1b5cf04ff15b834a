/* Broker integration tests, process level: acknowledged data survives a SIGTERM restart (with
 * the clean-shutdown marker) and a SIGKILL restart (recovery), topics and their configs persist
 * (in ZooKeeper), configuration errors stop start-up with exit code 1 naming the key (a missing
 * zookeeper.connect included), unknown keys are warned about, --version / --help-config work,
 * the fetch path uses sendfile(2) without reading segment data into user space (checked under
 * strace, skipped if strace cannot run), and the ZooKeeper start-up failures: an unreachable
 * ensemble (exit 1 within zookeeper.connection.timeout.ms, naming it), a broker id another live
 * broker holds (exit 1 naming the id and the holder's endpoint), a log dir of another cluster
 * (Kafka's "The Cluster ID ... doesn't match stored clusterId ..."), and stray logs on disk
 * (kept, not served, one WARN per topic). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker_wire.h"
#include "harness.h"
#include "st_error.h"
#include "zk_harness.h"

#include <zookeeper/zookeeper.h>

static st_test_broker_t broker;
static pid_t traced_broker_pid;   /* the broker under strace (the harness's child is strace) */

static void cleanup(void)
{
    /* strace killed by the harness detaches its tracee, which would live on: kill it too. */
    if (traced_broker_pid > 0)
        kill(traced_broker_pid, SIGKILL);
    st_test_broker_cleanup(&broker);
}

TestSuite(broker_lifecycle, .fini = cleanup, .timeout = 90);

static void create_topic(int fd, const char *name, int partitions, const char *const *configs)
{
    Strand__CreateTopicsResponse *resp = tw_create_topic(fd, 1, name, partitions, 1, configs);
    cr_assert_not_null(resp);
    cr_assert_eq(resp->topics[0]->error_code, 0, "%s", resp->topics[0]->error_message);
    strand__create_topics_response__free_unpacked(resp, NULL);
}

/* Produces `batches` batches of 10 records to every partition, all acknowledged. */
static void produce_all(int fd, const char *topic, int partitions, int batches)
{
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(10, 64, 1700000000000LL, &batch, &len), 0);
    for (int p = 0; p < partitions; p++) {
        for (int b = 0; b < batches; b++) {
            Strand__ProduceResponse *resp = tw_produce(fd, b, topic, p, -1, batch, len);
            cr_assert_not_null(resp);
            cr_assert_eq(resp->responses[0]->partitions[0]->error_code, 0);
            cr_assert_eq(resp->responses[0]->partitions[0]->base_offset, (int64_t)b * 10);
            strand__produce_response__free_unpacked(resp, NULL);
        }
    }
    free(batch);
}

/* Fetches each partition from 0 to the end and checks the record count. */
static void verify_all(int fd, const char *topic, int partitions, int64_t expected)
{
    for (int p = 0; p < partitions; p++) {
        int64_t next = 0;
        int64_t records = 0;
        for (int guard = 0; guard < 1000 && next < expected; guard++) {
            uint8_t *tail = NULL;
            size_t tail_len = 0;
            Strand__FetchResponse *resp = tw_fetch(fd, 9, topic, p, next, 0, 1, 0, 0, &tail,
                                                   &tail_len);
            cr_assert_not_null(resp);
            Strand__FetchPartitionResponse *pr = resp->responses[0]->partitions[0];
            cr_assert_eq(pr->error_code, 0, "%s-%d at %lld: error %d", topic, p,
                         (long long)next, pr->error_code);
            cr_assert_eq(pr->high_watermark, expected);
            int64_t first = -1, last = -1;
            int n = tw_count_records(tail, tail_len, &first, &last);
            cr_assert_gt(n, 0);
            records += n;
            next = last + 1;
            free(tail);
            strand__fetch_response__free_unpacked(resp, NULL);
        }
        cr_expect_eq(records, expected, "%s-%d: %lld records after restart", topic, p,
                     (long long)records);
    }
}

static void restart_and_verify(int sig)
{
    cr_assert_eq(st_test_broker_start(&broker, NULL), 0);
    int fd = st_test_connect(broker.port);
    const char *cfg[] = { "retention.ms", "86400000", NULL };
    create_topic(fd, "durable", 3, cfg);
    produce_all(fd, "durable", 3, 20);
    close(fd);

    int status = st_test_broker_stop(&broker, sig);
    char marker[512];
    snprintf(marker, sizeof(marker), "%s/logs/.kafka_cleanshutdown", broker.dir);
    if (sig == SIGTERM) {
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM exit status 0x%x", status);
        cr_expect_eq(access(marker, F_OK), 0, "no clean-shutdown marker after SIGTERM");
        cr_expect(st_test_file_contains(broker.log_path, "shut down cleanly"));
    } else {
        cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        cr_expect_neq(access(marker, F_OK), 0, "clean-shutdown marker after SIGKILL");
    }

    cr_assert_eq(st_test_broker_restart(&broker), 0);
    fd = st_test_connect(broker.port);
    Strand__MetadataResponse *md = tw_metadata(fd, 2, "durable", false);
    cr_assert_not_null(md);
    cr_expect_eq(md->topics[0]->error_code, 0);
    cr_expect_eq(md->topics[0]->n_partitions, 3);
    strand__metadata_response__free_unpacked(md, NULL);
    verify_all(fd, "durable", 3, 200);
    /* Appends continue after the recovered end. */
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(1, 1, 1, &batch, &len), 0);
    Strand__ProduceResponse *pr = tw_produce(fd, 3, "durable", 0, 1, batch, len);
    free(batch);
    cr_assert_not_null(pr);
    cr_expect_eq(pr->responses[0]->partitions[0]->base_offset, 200);
    strand__produce_response__free_unpacked(pr, NULL);
    close(fd);
    char cfg_json[512] = "";
    cr_expect_geq(st_test_zk_get(broker.zk_connect, "/config/topics/durable", cfg_json,
                                 sizeof(cfg_json)), 0);
    cr_expect(strstr(cfg_json, "\"retention.ms\":\"86400000\""),
              "topic config not in ZooKeeper: %s", cfg_json);
}

Test(broker_lifecycle, sigterm_restart_keeps_data)
{
    restart_and_verify(SIGTERM);
}

Test(broker_lifecycle, sigkill_restart_keeps_acknowledged_data)
{
    restart_and_verify(SIGKILL);
}

/* A zookeeper.connect line for configs that fail before the broker connects anywhere. */
#define ZK_LINE "zookeeper.connect=127.0.0.1:1\n"

/* Runs the broker binary with a config file; returns the exit code, output in out_path. */
static int run_broker(const char *dir, const char *config_text, const char *extra_args,
                      char *out_path, size_t out_len)
{
    char cfg[512], cmd[2048];
    snprintf(cfg, sizeof(cfg), "%s/bad.properties", dir);
    snprintf(out_path, out_len, "%s/out.txt", dir);
    FILE *f = fopen(cfg, "w");
    cr_assert_not_null(f);
    fputs(config_text, f);
    fclose(f);
    const char *exe = getenv("STRAND_BROKER");
    cr_assert_not_null(exe, "$STRAND_BROKER not set");
    snprintf(cmd, sizeof(cmd), "timeout -s KILL 20 '%s' '%s' %s > '%s' 2>&1", exe, cfg,
             extra_args ? extra_args : "", out_path);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(broker_lifecycle, config_errors)
{
    char dir[] = "/tmp/strand-cfg-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[600], text[1024];

    /* zookeeper.connect is required (the other errors below come before any connection). */
    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "Missing required configuration \"zookeeper.connect\""));

    snprintf(text, sizeof(text), ZK_LINE "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n"
             "num.partitions=zero\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "num.partitions=zero"));
    cr_expect(st_test_file_contains(out, "[1, 2147483647]"));

    snprintf(text, sizeof(text), ZK_LINE "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n"
             "num.network.threads=1000\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "num.network.threads=1000"));

    snprintf(text, sizeof(text), ZK_LINE "listeners=FOO://127.0.0.1:1\nlog.dirs=%s/l\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "unknown security protocol 'FOO'"));

    snprintf(text, sizeof(text), ZK_LINE "listeners=PLAINTEXT://127.0.0.1:99999\nlog.dirs=%s/l\n",
             dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "listeners"));

    snprintf(text, sizeof(text), ZK_LINE "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n"
             "auto.create.topics.enable=maybe\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "auto.create.topics.enable=maybe"));

    snprintf(text, sizeof(text), ZK_LINE "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n", dir);
    cr_expect_eq(run_broker(dir, text, "--override ssl.client.auth=sometimes", out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "none,requested,required"));

    /* Unknown keys only warn (file:line); --version and --help-config exit 0. */
    snprintf(text, sizeof(text), ZK_LINE "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n"
             "no.such.key=1\n", dir);
    cr_expect_eq(run_broker(dir, text, "--version", out, sizeof(out)), 0);
    cr_expect(st_test_file_contains(out, "strand-broker "));
    cr_expect_eq(run_broker(dir, text, "--help-config", out, sizeof(out)), 0);
    cr_expect(st_test_file_contains(out, "log.retention.hours"));
    cr_expect(st_test_file_contains(out, "ssl.certificate.location"));
    cr_expect(st_test_file_contains(out, "zookeeper.connect"));
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

Test(broker_lifecycle, unknown_key_warns)
{
    static const char *const overrides[] = { "no.such.key=1", NULL };
    cr_assert_eq(st_test_broker_start(&broker, overrides), 0);
    cr_expect(st_test_file_contains(broker.log_path, "unknown configuration key 'no.such.key'"));
    cr_expect(st_test_file_contains(broker.log_path, "server.properties:"));
    cr_expect(st_test_file_contains(broker.log_path, "Non-default configuration"));
    cr_expect(tw_broker_serves(broker.port));
}

/* Result of a traced call: the number after the last " = ". */
static long long traced_result(const char *line)
{
    const char *eq = strstr(line, ") = ");
    const char *last = NULL;
    while (eq) {
        last = eq;
        eq = strstr(eq + 1, ") = ");
    }
    return last ? atoll(last + 4) : -1;
}

/* The fetch path sends segment bytes with sendfile(2): record data never comes into the
 * broker. The storage engine positions reads by pread(2)-ing batch headers (a few KiB around
 * the fetch offset and the end boundary, see broker/log/segment_scan.c), so the check is that
 * every fetched byte went out by sendfile and that preads of the segment stay a small fraction
 * of it; plain read/readv of the segment must not happen at all. */
Test(broker_lifecycle, fetch_uses_sendfile)
{
    if (system("strace -qq -o /dev/null true > /dev/null 2>&1") != 0)
        cr_skip_test("strace is missing or cannot trace here; check manually with: strace -f -y "
                     "-e trace=sendfile,read,pread64,readv -p <broker pid>");
    const char *exe = getenv("STRAND_BROKER");
    cr_assert_not_null(exe);
    char wrapper_dir[] = "/tmp/strand-strace-XXXXXX";
    cr_assert_not_null(mkdtemp(wrapper_dir));
    char wrapper[300], trace[300];
    snprintf(wrapper, sizeof(wrapper), "%s/broker.sh", wrapper_dir);
    snprintf(trace, sizeof(trace), "%s/trace.txt", wrapper_dir);
    FILE *f = fopen(wrapper, "w");
    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\nexec strace -f -qq -y -o '%s' -e trace=sendfile,read,pread64,readv,preadv "
            "'%s' \"$@\"\n", trace, exe);
    fclose(f);
    chmod(wrapper, 0755);
    setenv("STRAND_BROKER", wrapper, 1);

    cr_assert_eq(st_test_broker_start(&broker, NULL), 0);
    FILE *t = fopen(trace, "r");
    cr_assert_not_null(t);
    int broker_pid = 0;
    cr_assert_eq(fscanf(t, "%d", &broker_pid), 1);
    traced_broker_pid = broker_pid;
    int fd = st_test_connect(broker.port);
    create_topic(fd, "zerocopy", 1, NULL);
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(10, 1000, 1, &batch, &len), 0);
    size_t produced = 0;
    for (int b = 0; b < 100; b++) {
        Strand__ProduceResponse *resp = tw_produce(fd, b, "zerocopy", 0, 1, batch, len);
        cr_assert_not_null(resp);
        cr_assert_eq(resp->responses[0]->partitions[0]->error_code, 0);
        strand__produce_response__free_unpacked(resp, NULL);
        produced += len;
    }
    free(batch);
    verify_all(fd, "zerocopy", 1, 1000);
    close(fd);

    /* SIGTERM the broker itself, then wait for strace to exit with it. */
    kill(broker_pid, SIGTERM);
    st_test_broker_stop(&broker, 0);
    traced_broker_pid = 0;

    rewind(t);
    char line[4096];
    long long sent = 0, preads = 0;
    int sendfiles = 0, plain_reads = 0;
    while (fgets(line, sizeof(line), t)) {
        if (!strstr(line, "zerocopy-0/00000000000000000000.log"))
            continue;
        long long n = traced_result(line);
        if (strstr(line, "sendfile(")) {
            sendfiles++;
            sent += n > 0 ? n : 0;
        } else if (strstr(line, "pread64(") || strstr(line, "preadv(")) {
            preads += n > 0 ? n : 0;
        } else if (strstr(line, "read(") || strstr(line, "readv(")) {
            plain_reads++;
        }
    }
    fclose(t);
    cr_expect_gt(sendfiles, 0, "no sendfile(2) from the segment in %s", trace);
    cr_expect_geq(sent, (long long)produced, "sendfile moved %lld bytes, %zu were fetched", sent,
                  produced);
    cr_expect_eq(plain_reads, 0, "%d read(2)s of the segment", plain_reads);
    cr_expect_lt(preads * 10, sent, "pread of %lld segment bytes for %lld sent: record data "
                 "read into user space?", preads, sent);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", wrapper_dir);
    if (sendfiles > 0 && plain_reads == 0)
        cr_expect_eq(system(cmd), 0);
}

/* A second broker on the same log dir refuses to start (the .lock file is held). */
Test(broker_lifecycle, log_dir_locked)
{
    cr_assert_eq(st_test_broker_start(&broker, NULL), 0);
    char out[600], text[1024];
    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=%s/logs\n"
             "zookeeper.connect=%s\nbroker.id=1\n", broker.dir, broker.zk_connect);
    cr_expect_eq(run_broker(broker.dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "is in use by another process"));
    cr_expect(tw_broker_serves(broker.port));
}

/* ---- ZooKeeper at start-up ------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* No ZooKeeper at the address: exit 1 once zookeeper.connection.timeout.ms has passed (not
 * before, and not much later), with a message naming the ensemble and the key. */
Test(broker_lifecycle, zookeeper_unreachable_exits_1_naming_the_ensemble)
{
    char dir[] = "/tmp/strand-nozk-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    int port = closed_port();
    char out[600], text[1024], ensemble[64];
    snprintf(ensemble, sizeof(ensemble), "127.0.0.1:%d", port);
    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=%s/l\n"
             "zookeeper.connect=%s/strand\nzookeeper.connection.timeout.ms=1500\n", dir, ensemble);
    int64_t t0 = mono_ms();
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    int64_t took = mono_ms() - t0;
    cr_expect_geq(took, 1400, "gave up after %lld ms, before the connection timeout",
                  (long long)took);
    cr_expect_lt(took, 1500 + 3000, "exited %lld ms after start, long past the 1500 ms timeout",
                 (long long)took);
    cr_expect(st_test_file_contains(out, ensemble), "the message does not name the ensemble %s",
              ensemble);
    cr_expect(st_test_file_contains(out, "zookeeper.connection.timeout.ms"));
    cr_expect_not(st_test_file_contains(out, "started"), "a broker without ZooKeeper started");
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* A second broker with an id a live broker holds (same cluster): exit 1 naming the id and the
 * holder's endpoint; the first broker goes on serving. */
Test(broker_lifecycle, broker_id_taken_exits_1_naming_id_and_holder)
{
    static const char *const ov[] = { "broker.id=7", NULL };
    cr_assert_eq(st_test_broker_start(&broker, ov), 0);
    char dir[] = "/tmp/strand-dupid-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[600], text[1024], holder[64];
    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=%s/l\n"
             "zookeeper.connect=%s\nbroker.id=7\n", dir, broker.zk_connect);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "broker.id 7 is already registered"));
    snprintf(holder, sizeof(holder), "PLAINTEXT://127.0.0.1:%d", broker.port);
    cr_expect(st_test_file_contains(out, holder), "the message does not name the holder %s", holder);
    cr_expect(tw_broker_serves(broker.port));
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* A log dir written for one cluster, pointed at another (another chroot: another cluster id):
 * Kafka's refusal, exit 1. */
Test(broker_lifecycle, log_dir_of_another_cluster_refused)
{
    cr_assert_eq(st_test_broker_start(&broker, NULL), 0);
    char meta[400];
    snprintf(meta, sizeof(meta), "%s/logs/meta.properties", broker.dir);
    cr_assert(st_test_file_contains(meta, "cluster.id="), "meta.properties records no cluster id");
    cr_assert_eq(WEXITSTATUS(st_test_broker_stop(&broker, SIGTERM)), 0);
    char other[200], out[600], text[1024];
    cr_assert_eq(st_test_zk_chroot(other, sizeof(other)), 0);
    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=%s/logs\n"
             "zookeeper.connect=%s\nbroker.id=0\n", broker.dir, other);
    cr_expect_eq(run_broker(broker.dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(st_test_file_contains(out, "doesn't match stored clusterId"));
    cr_expect(st_test_file_contains(out, "The broker is trying to join the wrong cluster"));
    /* Its own cluster still takes it back. */
    cr_expect_eq(st_test_broker_restart(&broker), 0);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Logs on disk of a topic ZooKeeper no longer has (removed by hand while the broker was down):
 * kept untouched, not served, one WARN line naming the topic and its partitions. */
Test(broker_lifecycle, stray_logs_kept_not_served)
{
    cr_assert_eq(st_test_broker_start(&broker, NULL), 0);
    int fd = st_test_connect(broker.port);
    create_topic(fd, "kept", 2, NULL);
    create_topic(fd, "served", 1, NULL);
    produce_all(fd, "kept", 2, 3);
    produce_all(fd, "served", 1, 3);
    close(fd);
    cr_assert_eq(WEXITSTATUS(st_test_broker_stop(&broker, SIGTERM)), 0);
    char seg[400];
    snprintf(seg, sizeof(seg), "%s/logs/kept-1/00000000000000000000.log", broker.dir);
    long size = file_size(seg);
    cr_assert_gt(size, 0);
    /* The topic's znodes go, as if deleted with zkCli.sh while this broker was down. */
    static const char *const paths[] = {
        "/brokers/topics/kept/partitions/0/state", "/brokers/topics/kept/partitions/0",
        "/brokers/topics/kept/partitions/1/state", "/brokers/topics/kept/partitions/1",
        "/brokers/topics/kept/partitions", "/brokers/topics/kept", "/config/topics/kept", NULL };
    for (int i = 0; paths[i]; i++)
        cr_assert_eq(st_test_zk_delete(broker.zk_connect, paths[i]), ZOK, "%s", paths[i]);

    cr_assert_eq(st_test_broker_restart(&broker), 0);
    cr_expect(tw_wait_file_contains(broker.log_path, "stray log(s) of topic kept on disk "
                                    "(partition(s) 0,1)", 2000));
    cr_expect_not(st_test_file_contains(broker.log_path, "stray log(s) of topic served"));
    fd = st_test_connect(broker.port);
    verify_all(fd, "served", 1, 30);
    uint8_t *batch;
    size_t len;
    cr_assert_eq(tw_make_batch(1, 1, 1, &batch, &len), 0);
    Strand__ProduceResponse *pr = tw_produce(fd, 3, "kept", 1, 1, batch, len);
    free(batch);
    cr_assert_not_null(pr);
    cr_expect_eq(pr->responses[0]->partitions[0]->error_code, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                 "a stray log was served");
    strand__produce_response__free_unpacked(pr, NULL);
    close(fd);
    cr_expect_eq(file_size(seg), size, "the stray log changed");
}
