/* Broker integration tests, process level: acknowledged data survives a SIGTERM restart (with
 * the clean-shutdown marker) and a SIGKILL restart (recovery), topics and their configs persist,
 * configuration errors stop start-up with exit code 1 naming the key, unknown keys are warned
 * about, --version / --help-config work, and the fetch path uses sendfile(2) without reading
 * segment data into user space (checked under strace, skipped if strace cannot run). */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker_wire.h"
#include "harness.h"
#include "st_error.h"

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
        cr_expect(tw_file_contains(broker.log_path, "shut down cleanly"));
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
    char store[512];
    snprintf(store, sizeof(store), "%s/logs/strand-topics.json", broker.dir);
    cr_expect(tw_file_contains(store, "\"retention.ms\": \"86400000\""),
              "topic config not persisted");
}

Test(broker_lifecycle, sigterm_restart_keeps_data)
{
    restart_and_verify(SIGTERM);
}

Test(broker_lifecycle, sigkill_restart_keeps_acknowledged_data)
{
    restart_and_verify(SIGKILL);
}

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

    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n"
             "num.partitions=zero\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(tw_file_contains(out, "num.partitions=zero"));
    cr_expect(tw_file_contains(out, "[1, 2147483647]"));

    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n"
             "num.network.threads=1000\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(tw_file_contains(out, "num.network.threads=1000"));

    snprintf(text, sizeof(text), "listeners=FOO://127.0.0.1:1\nlog.dirs=%s/l\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(tw_file_contains(out, "unknown security protocol 'FOO'"));

    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:99999\nlog.dirs=%s/l\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(tw_file_contains(out, "listeners"));

    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n"
             "auto.create.topics.enable=maybe\n", dir);
    cr_expect_eq(run_broker(dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(tw_file_contains(out, "auto.create.topics.enable=maybe"));

    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n", dir);
    cr_expect_eq(run_broker(dir, text, "--override ssl.client.auth=sometimes", out, sizeof(out)), 1);
    cr_expect(tw_file_contains(out, "none,requested,required"));

    /* Unknown keys only warn (file:line); --version and --help-config exit 0. */
    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=%s/l\n"
             "no.such.key=1\n", dir);
    cr_expect_eq(run_broker(dir, text, "--version", out, sizeof(out)), 0);
    cr_expect(tw_file_contains(out, "strand-broker "));
    cr_expect_eq(run_broker(dir, text, "--help-config", out, sizeof(out)), 0);
    cr_expect(tw_file_contains(out, "log.retention.hours"));
    cr_expect(tw_file_contains(out, "ssl.certificate.location"));
    cr_expect(tw_file_contains(out, "zookeeper.connect"));
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

Test(broker_lifecycle, unknown_key_warns)
{
    static const char *const overrides[] = { "no.such.key=1", NULL };
    cr_assert_eq(st_test_broker_start(&broker, overrides), 0);
    cr_expect(tw_file_contains(broker.log_path, "unknown configuration key 'no.such.key'"));
    cr_expect(tw_file_contains(broker.log_path, "server.properties:"));
    cr_expect(tw_file_contains(broker.log_path, "Non-default configuration"));
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
    snprintf(text, sizeof(text), "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=%s/logs\n", broker.dir);
    cr_expect_eq(run_broker(broker.dir, text, NULL, out, sizeof(out)), 1);
    cr_expect(tw_file_contains(out, "is in use by another process"));
    cr_expect(tw_broker_serves(broker.port));
}
