/* Dynamic configuration on a live 3-broker cluster (each test on its own ZooKeeper and brokers):
 *  - strand-configs --alter of segment.bytes / retention.ms / cleanup.policy applies on every
 *    replica, leader and followers, without a restart: new segments roll at segment.bytes on
 *    every broker's disk, retention deletes closed segments everywhere, compaction shrinks every
 *    replica; no .log file is ever larger than segment.bytes;
 *  - describe output line by line (Kafka's kafka-configs format), strand-topics Configs: and
 *    --topics-with-overrides, --delete-config back to the default;
 *  - bad keys and values: exit 1 with a line naming the key and value, INVALID_CONFIG, nothing
 *    written;
 *  - a hand-edited /config/topics/<t> with garbage: every broker logs an error naming the znode
 *    and keeps the previous configuration, and keeps serving;
 *  - dynamic broker configs: cluster default and per broker, refusal of keys that need a
 *    restart; the --zookeeper mode of strand-configs and strand-topics --alter --config;
 *  - message.timestamp.type=LogAppendTime stamps batches on append. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker_wire.h"
#include "fault_util.h"
#include "st_batch.h"
#include "st_error.h"
#include "zk_harness.h"

#include <zookeeper/zookeeper.h>

static st_test_cluster_t cluster;

static void start(void)
{
    const char *ov[] = { "auto.leader.rebalance.enable=false",
                         "log.retention.check.interval.ms=500", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
}

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

TestSuite(cluster_configs, .init = start, .fini = teardown, .timeout = 240);

/* Runs a tool (argv with "@ZK" / "@BOOTSTRAP"); returns its exit status, output in *out / *err
 * (malloc'd, may be NULL to discard). */
static int tool(const char *const *argv, char **out, char **err)
{
    char *o = NULL, *e = NULL;
    int rc = st_test_cluster_tool(&cluster, argv, &o, &e, 40000);
    printf("$");
    for (int i = 0; argv[i]; i++)
        printf(" %s", argv[i]);
    printf("  -> exit %d\n%s%s", rc, o ? o : "", e ? e : "");
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

/* strand-configs --bootstrap-server ... that must succeed; returns stdout. */
static char *configs_ok(const char *const *args)
{
    const char *argv[24] = { "strand-configs", "@BOOTSTRAP" };
    int k = 2;
    for (int i = 0; args[i] && k < 23; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    char *out = NULL, *err = NULL;
    int rc = tool(argv, &out, &err);
    cr_assert_eq(rc, 0, "strand-configs failed: %s", err ? err : "");
    free(err);
    return out;
}

static void alter_topic(const char *topic, const char *add, const char *del)
{
    char expect[256];
    const char *args[10] = { "--entity-type", "topics", "--entity-name", topic, "--alter" };
    int k = 5;
    if (add) {
        args[k++] = "--add-config";
        args[k++] = add;
    }
    if (del) {
        args[k++] = "--delete-config";
        args[k++] = del;
    }
    args[k] = NULL;
    char *out = configs_ok(args);
    snprintf(expect, sizeof(expect), "Completed updating config for topic %s.\n", topic);
    cr_assert_str_eq(out, expect);
    free(out);
}

/* Offsets in the broker logs where the next search starts. */
static void log_marks(long *marks)
{
    for (int i = 0; i < 3; i++)
        marks[i] = fu_file_size(cluster.broker[i].log_path);
}

/* Every broker logs that it applied the topic's configuration (after `marks`). */
static void wait_applied(const char *topic, const long *marks)
{
    char needle[256];
    snprintf(needle, sizeof(needle), "Topic %s: configuration from /config/topics/%s applied", topic,
             topic);
    for (int i = 0; i < 3; i++)
        cr_assert(fu_wait_in_file(cluster.broker[i].log_path, needle, marks[i], 15000),
                  "broker %d did not apply the change of %s", i + 1, topic);
}

/* The .log files of broker b's replica of topic-0: how many, the total size, and the largest
 * size among the segments whose base offset is at least min_base. */
static int segment_files_from(const st_test_broker_t *b, const char *topic, long long min_base,
                              long *ret_max, long *ret_total)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/logs/%s-0", b->dir, topic);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    long max = 0, total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".log") != 0)
            continue;
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        long size = fu_file_size(path);
        if (atoll(e->d_name) >= min_base && size > max)
            max = size;
        total += size;
        n++;
    }
    closedir(d);
    if (ret_max)
        *ret_max = max;
    if (ret_total)
        *ret_total = total;
    return n;
}

static int segment_files(const st_test_broker_t *b, const char *topic, long *ret_max,
                         long *ret_total)
{
    return segment_files_from(b, topic, 0, ret_max, ret_total);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One batch of n records (value_len bytes, timestamps now) to topic-0's leader, acks=all,
 * retried while leadership settles: the partition's error code, *ret_base the base offset. */
static int produce_now(const char *topic, int n, size_t value_len, int64_t *ret_base)
{
    int64_t deadline = st_test_now_ms() + 20000;
    for (;;) {
        int leader = fu_leader(&cluster, topic, 0, NULL, NULL, NULL);
        int code = -1;
        if (leader > 0) {
            int fd = st_test_connect(st_test_cluster_broker(&cluster, leader)->port);
            if (fd >= 0) {
                uint8_t *batch = NULL;
                size_t len = 0;
                cr_assert_eq(tw_make_batch(n, value_len, wall_ms(), &batch, &len), 0);
                if (tw_send_produce(fd, 71, topic, 0, -1, 10000, batch, len) == 0)
                    code = fu_produce_recv(fd, ret_base);
                free(batch);
                close(fd);
            }
        }
        /* retriable while the new topic's LeaderAndIsr is still on its way: the leader named
         * by ZooKeeper may not host the partition yet */
        if (code != -1 && code != ST_ERR_NOT_LEADER_OR_FOLLOWER && code != ST_ERR_NOT_ENOUGH_REPLICAS &&
            code != ST_ERR_UNKNOWN_TOPIC_OR_PARTITION && code != ST_ERR_LEADER_NOT_AVAILABLE) {
            if (code != 0)
                fprintf(stderr, "produce to %s: error %d (%s)\n", topic, code, st_error_name(code));
            return code;
        }
        cr_assert_lt(st_test_now_ms(), deadline, "produce to %s never answered", topic);
        st_test_sleep_ms(100);
    }
}

static bool all_running(void)
{
    for (int i = 0; i < 3; i++)
        if (cluster.broker[i].pid <= 0 || kill(cluster.broker[i].pid, 0) != 0)
            return false;
    return true;
}

/* ---- segment.bytes, retention.ms, cleanup.policy on every replica ------------------------ */

Test(cluster_configs, alter_applies_on_every_replica_without_restart)
{
    pid_t pids[3];
    for (int i = 0; i < 3; i++)
        pids[i] = cluster.broker[i].pid;
    fu_create_topic(&cluster, "seg", 1, 3, NULL);
    /* before: everything in one segment on every replica */
    for (int i = 0; i < 6; i++)
        cr_assert_eq(produce_now("seg", 10, 100, NULL), 0);
    cr_assert_gt(fu_wait_replicas_identical(&cluster, "seg", 0, 60, 20000), 2);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(segment_files(&cluster.broker[i], "seg", NULL, NULL), 1);

    long marks[3];
    log_marks(marks);
    alter_topic("seg", "segment.bytes=3000", NULL);
    wait_applied("seg", marks);
    for (int i = 0; i < 12; i++)
        cr_assert_eq(produce_now("seg", 10, 100, NULL), 0);
    cr_assert_eq(fu_wait_replicas_identical(&cluster, "seg", 0, 180, 20000), 3,
                 "the replicas differ");
    for (int i = 0; i < 3; i++) {
        long max = 0;
        int n = segment_files_from(&cluster.broker[i], "seg", 60, &max, NULL);
        printf("broker %d: %d segments, the largest since the change %ld bytes\n", i + 1, n, max);
        cr_expect_geq(n, 4, "broker %d did not roll at segment.bytes=3000 (%d files)", i + 1, n);
        cr_expect_leq(max, 3000, "broker %d: a segment of %ld bytes", i + 1, max);
    }
    /* retention.ms: every replica deletes its closed segments (they are older than 1 s) */
    log_marks(marks);
    alter_topic("seg", "retention.ms=1000", NULL);
    wait_applied("seg", marks);
    for (int i = 0; i < 3; i++) {
        int64_t deadline = st_test_now_ms() + 20000;
        int n;
        while ((n = segment_files(&cluster.broker[i], "seg", NULL, NULL)) > 1 &&
               st_test_now_ms() < deadline)
            st_test_sleep_ms(200);
        cr_expect_eq(n, 1, "broker %d kept %d segments past retention.ms=1000", i + 1, n);
    }
    for (int i = 0; i < 3; i++)
        cr_expect_eq(cluster.broker[i].pid, pids[i], "broker %d was restarted", i + 1);
    cr_assert(all_running());
}

/* Compaction after cleanup.policy=compact: every replica's log shrinks (the same 10 keys
 * written 12 times). */
Test(cluster_configs, cleanup_policy_compact_applies_on_every_replica)
{
    const char *cfg[] = { "segment.bytes=1500", "retention.ms=-1", NULL };
    fu_create_topic(&cluster, "comp", 1, 3, cfg);
    strand_conf_t *conf = fu_conf(&cluster, (const char *const[]){ "acks=all", "linger.ms=0",
                                                                    NULL });
    char err[512];
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    cr_assert(p, "%s", err);
    char value[64];
    for (int round = 0; round < 12; round++) {
        for (int k = 0; k < 10; k++) {
            char key[16];
            snprintf(key, sizeof(key), "key-%d", k);
            snprintf(value, sizeof(value), "round %02d of key %d, padded ..............", round, k);
            cr_assert_eq(strand_produce(p, "comp", 0, key, strlen(key), value, strlen(value),
                                        NULL, 0, -1, NULL), 0);
        }
        cr_assert_eq(strand_producer_flush(p, 10000), 0);
    }
    strand_producer_destroy(p);
    cr_assert_eq(fu_wait_replicas_identical(&cluster, "comp", 0, 120, 20000), 3);
    long before[3];
    for (int i = 0; i < 3; i++)
        segment_files(&cluster.broker[i], "comp", NULL, &before[i]);
    long marks[3];
    log_marks(marks);
    alter_topic("comp", "cleanup.policy=compact", NULL);
    wait_applied("comp", marks);
    for (int i = 0; i < 3; i++) {
        int64_t deadline = st_test_now_ms() + 20000;
        long total = before[i];
        while (total >= before[i] / 2 && st_test_now_ms() < deadline) {
            st_test_sleep_ms(200);
            segment_files(&cluster.broker[i], "comp", NULL, &total);
        }
        printf("broker %d: %ld bytes of log before compaction, %ld after\n", i + 1, before[i],
               total);
        cr_expect_lt(total, before[i] / 2, "broker %d did not compact", i + 1);
    }
}

/* ---- describe, Configs:, delete-config ------------------------------------------------------ */

Test(cluster_configs, describe_lines_and_delete_config_reverts)
{
    fu_create_topic(&cluster, "desc", 1, 3, (const char *const[]){ "cleanup.policy=compact", NULL });
    fu_create_topic(&cluster, "plain", 1, 2, NULL);
    alter_topic("desc", "segment.bytes=3000,retention.ms=86400000", NULL);
    char *out = configs_ok((const char *const[]){ "--entity-type", "topics", "--entity-name",
                                                   "desc", "--describe", NULL });
    cr_expect_str_eq(out,
        "Dynamic configs for topic desc are:\n"
        "  cleanup.policy=compact sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact, DEFAULT_CONFIG:log.cleanup.policy=delete}\n"
        "  retention.ms=86400000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000}\n"
        "  segment.bytes=3000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:segment.bytes=3000, DEFAULT_CONFIG:log.segment.bytes=1073741824}\n");
    free(out);

    /* strand-topics: Configs: in Kafka's format, both ways; --topics-with-overrides */
    const char *bs[] = { "strand-topics", "@BOOTSTRAP", "--describe", "--topic", "desc", NULL };
    cr_assert_eq(tool(bs, &out, NULL), 0);
    cr_expect(strstr(out, "Topic: desc\tTopicId: AAAAAAAAAAAAAAAAAAAAAA\tPartitionCount: 1\t"
                          "ReplicationFactor: 3\tConfigs: cleanup.policy=compact,"
                          "retention.ms=86400000,segment.bytes=3000\n") == out, "%s", out);
    free(out);
    const char *zk[] = { "strand-topics", "@ZK", "--describe", "--topic", "desc", NULL };
    cr_assert_eq(tool(zk, &out, NULL), 0);
    cr_expect(strstr(out, "\tConfigs: cleanup.policy=compact,retention.ms=86400000,"
                          "segment.bytes=3000\n"), "%s", out);
    free(out);
    const char *wo[] = { "strand-topics", "@BOOTSTRAP", "--describe", "--topics-with-overrides",
                         NULL };
    cr_assert_eq(tool(wo, &out, NULL), 0);
    cr_expect_str_eq(out, "Topic: desc\tTopicId: AAAAAAAAAAAAAAAAAAAAAA\tPartitionCount: 1\t"
                          "ReplicationFactor: 3\tConfigs: cleanup.policy=compact,"
                          "retention.ms=86400000,segment.bytes=3000\n");
    free(out);

    /* --delete-config: back to the broker's default */
    long marks[3];
    log_marks(marks);
    alter_topic("desc", NULL, "retention.ms,segment.bytes");
    wait_applied("desc", marks);
    out = configs_ok((const char *const[]){ "--entity-type", "topics", "--entity-name", "desc",
                                            "--describe", NULL });
    cr_expect_str_eq(out,
        "Dynamic configs for topic desc are:\n"
        "  cleanup.policy=compact sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact, DEFAULT_CONFIG:log.cleanup.policy=delete}\n");
    free(out);
    out = configs_ok((const char *const[]){ "--entity-type", "topics", "--entity-name", "desc",
                                            "--describe", "--all", NULL });
    cr_expect(strstr(out, "All configs for topic desc are:\n") == out, "%s", out);
    cr_expect(strstr(out, "\n  retention.ms=604800000 sensitive=false synonyms={}\n"), "%s", out);
    cr_expect(strstr(out, "\n  segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:"
                          "log.segment.bytes=1073741824}\n"), "%s", out);
    cr_expect(strstr(out, "\n  preallocate=false sensitive=false synonyms={DEFAULT_CONFIG:"
                          "log.preallocate=false}\n"), "%s", out);
    free(out);
    /* the broker logs name what it applied: only the remaining override */
    for (int i = 0; i < 3; i++)
        cr_expect(fu_wait_in_file(cluster.broker[i].log_path,
                                  "Topic desc: configuration from /config/topics/desc applied to "
                                  "its partitions here: cleanup.policy=compact\n", marks[i], 1000),
                  "broker %d", i + 1);
    /* deleting what is not set is Kafka's "Invalid config(s)" */
    char *err = NULL;
    const char *bad[] = { "strand-configs", "@BOOTSTRAP", "--entity-type", "topics",
                          "--entity-name", "desc", "--alter", "--delete-config",
                          "retention.bytes,segment.bytes", NULL };
    cr_expect_eq(tool(bad, NULL, &err), 1);
    cr_expect(strstr(err, "Invalid config(s): retention.bytes,segment.bytes"), "%s", err);
    free(err);
}

/* ---- bad keys and values ------------------------------------------------------------------ */

static void expect_refused(const char *type, const char *name, const char *add,
                           const char *needle, const char *code)
{
    char *err = NULL;
    const char *argv[] = { "strand-configs", "@BOOTSTRAP", "--entity-type", type,
                           "--entity-name", name, "--alter", "--add-config", add, NULL };
    cr_expect_eq(tool(argv, NULL, &err), 1, "%s accepted", add);
    cr_expect(err && strstr(err, needle), "%s: %s", add, err ? err : "");
    cr_expect(err && strstr(err, code), "%s: %s", add, err ? err : "");
    cr_expect(err && strchr(err, '\n') == err + strlen(err) - 1, "one line: %s", err ? err : "");
    free(err);
}

Test(cluster_configs, bad_keys_and_values_are_refused_naming_them)
{
    fu_create_topic(&cluster, "strict", 1, 3, NULL);
    alter_topic("strict", "retention.ms=5000", NULL);
    char before[512];
    cr_assert_gt(st_test_zk_get(cluster.zk_connect, "/config/topics/strict", before,
                                sizeof(before)), 0);
    expect_refused("topics", "strict", "retention.msx=1",
                   "Unknown topic config name: retention.msx (did you mean 'retention.ms'?)",
                   "INVALID_CONFIG");
    expect_refused("topics", "strict", "retention.ms=1000,segment.bytes=13",
                   "Invalid value 13 for configuration segment.bytes", "INVALID_CONFIG");
    expect_refused("topics", "strict", "cleanup.policy=forever",
                   "Invalid value forever for configuration cleanup.policy", "INVALID_CONFIG");
    expect_refused("topics", "strict", "compression.type=gzip",
                   "Strand supports only lz4", "INVALID_CONFIG");
    expect_refused("topics", "strict", "min.cleanable.dirty.ratio=2",
                   "Invalid value 2 for configuration min.cleanable.dirty.ratio", "INVALID_CONFIG");
    expect_refused("topics", "nosuchtopic", "retention.ms=1",
                   "Topic 'nosuchtopic' does not exist.", "UNKNOWN_TOPIC_OR_PARTITION");
    expect_refused("brokers", "2", "log.dirs=/tmp/elsewhere",
                   "Cannot update these configs dynamically: Set(log.dirs)", "INVALID_REQUEST");
    expect_refused("brokers", "2", "log.retention.hours=1",
                   "Cannot update these configs dynamically: Set(log.retention.hours)",
                   "INVALID_REQUEST");
    expect_refused("brokers", "2", "log.segment.bytes=ten",
                   "Invalid value ten for configuration log.segment.bytes", "INVALID_CONFIG");
    char after[512];
    cr_assert_gt(st_test_zk_get(cluster.zk_connect, "/config/topics/strict", after,
                                sizeof(after)), 0);
    cr_expect_str_eq(after, before, "a refused change was written");
    cr_expect_eq(st_test_zk_get(cluster.zk_connect, "/config/brokers/2", after, sizeof(after)),
                 ZNONODE);
    cr_assert(all_running());
}

/* ---- a hand-edited znode with garbage ------------------------------------------------------ */

/* Writes data to /config/topics/<topic> and announces it as AdminZkClient would. */
static void hand_edit(const char *topic, const char *data)
{
    char path[256], note[256];
    snprintf(path, sizeof(path), "/config/topics/%s", topic);
    cr_assert_eq(st_test_zk_set(cluster.zk_connect, path, data), ZOK);
    snprintf(note, sizeof(note), "{\"version\":2,\"entity_path\":\"topics/%s\"}", topic);
    cr_assert_eq(st_test_zk_create(cluster.zk_connect, "/config/changes/config_change_", note,
                                   ZOO_SEQUENCE), ZOK);
}

Test(cluster_configs, garbage_in_a_config_znode_keeps_the_previous_config)
{
    fu_create_topic(&cluster, "hand", 1, 3, NULL);
    long marks[3];
    log_marks(marks);
    alter_topic("hand", "segment.bytes=3000", NULL);
    wait_applied("hand", marks);

    log_marks(marks);
    hand_edit("hand", "{\"version\":1,\"config\":{\"segment.bytes\":");
    for (int i = 0; i < 3; i++)
        cr_assert(fu_wait_in_file(cluster.broker[i].log_path, "Invalid topic config "
                                  "/config/topics/hand: not valid JSON", marks[i], 15000),
                  "broker %d did not report the garbage", i + 1);
    char *jerr = NULL;
    const char *jdesc[] = { "strand-configs", "@BOOTSTRAP", "--entity-type", "topics",
                            "--entity-name", "hand", "--describe", NULL };
    cr_expect_eq(tool(jdesc, NULL, &jerr), 1);
    cr_expect(jerr && strstr(jerr, "/config/topics/hand: not valid JSON"), "%s", jerr ? jerr : "");
    free(jerr);
    log_marks(marks);
    hand_edit("hand", "{\"version\":1,\"config\":{\"segment.bytes\":\"tiny\"}}");
    for (int i = 0; i < 3; i++) {
        cr_assert(fu_wait_in_file(cluster.broker[i].log_path, "Invalid topic config in "
                                  "/config/topics/hand: Invalid value tiny for configuration "
                                  "segment.bytes", marks[i], 15000),
                  "broker %d did not report the bad value", i + 1);
        char *line = fu_find_line(cluster.broker[i].log_path, "Invalid topic config in", marks[i]);
        cr_expect(line && strstr(line, "keeping the previous configuration of topic hand"), "%s",
                  line ? line : "");
        free(line);
    }
    cr_assert(all_running(), "a broker died on a garbage znode");
    /* the previous segment.bytes (3000) still rolls segments on every replica */
    for (int i = 0; i < 10; i++)
        cr_assert_eq(produce_now("hand", 10, 100, NULL), 0);
    cr_assert_eq(fu_wait_replicas_identical(&cluster, "hand", 0, 100, 20000), 3);
    for (int i = 0; i < 3; i++) {
        long max = 0;
        int n = segment_files(&cluster.broker[i], "hand", &max, NULL);
        cr_expect_geq(n, 3, "broker %d: %d segments", i + 1, n);
        cr_expect_leq(max, 3000, "broker %d: a segment of %ld bytes", i + 1, max);
    }
    /* describing shows the bad override as written; another change is refused naming it;
     * deleting it through the tool repairs the topic */
    char *out = configs_ok((const char *const[]){ "--entity-type", "topics", "--entity-name",
                                                   "hand", "--describe", NULL });
    cr_expect_str_eq(out, "Dynamic configs for topic hand are:\n"
                          "  segment.bytes=tiny sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:"
                          "segment.bytes=tiny, DEFAULT_CONFIG:log.segment.bytes=1073741824}\n");
    free(out);
    char *err = NULL;
    const char *argv[] = { "strand-configs", "@BOOTSTRAP", "--entity-type", "topics",
                           "--entity-name", "hand", "--alter", "--add-config", "retention.ms=1000",
                           NULL };
    cr_expect_eq(tool(argv, NULL, &err), 1);
    cr_expect(err && strstr(err, "Invalid value tiny for configuration segment.bytes"), "%s",
              err ? err : "");
    free(err);
    log_marks(marks);
    alter_topic("hand", NULL, "segment.bytes");
    wait_applied("hand", marks);
}

/* ---- dynamic broker configs ---------------------------------------------------------------- */

Test(cluster_configs, dynamic_broker_configs)
{
    fu_create_topic(&cluster, "dyn", 1, 3, NULL);
    fu_create_topic(&cluster, "own", 1, 3, (const char *const[]){ "segment.bytes=100000", NULL });
    long marks[3];
    log_marks(marks);
    char *out = configs_ok((const char *const[]){ "--entity-type", "brokers", "--entity-default",
                                                   "--alter", "--add-config",
                                                   "log.segment.bytes=4000", NULL });
    cr_expect_str_eq(out, "Completed updating default config for brokers in the cluster.\n");
    free(out);
    for (int i = 0; i < 3; i++)
        cr_assert(fu_wait_in_file(cluster.broker[i].log_path, "Dynamic broker config (cluster "
                                  "default, /config/brokers/<default>): log.segment.bytes=4000",
                                  marks[i], 15000), "broker %d", i + 1);
    out = configs_ok((const char *const[]){ "--entity-type", "brokers", "--entity-default",
                                            "--describe", NULL });
    cr_expect_str_eq(out, "Default configs for brokers in the cluster are:\n"
                          "  log.segment.bytes=4000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.segment.bytes=4000}\n");
    free(out);
    /* topics without an override follow it (and say where it comes from), others keep theirs */
    out = configs_ok((const char *const[]){ "--entity-type", "topics", "--entity-name", "dyn",
                                            "--describe", "--all", NULL });
    cr_expect(strstr(out, "\n  segment.bytes=4000 sensitive=false synonyms={DYNAMIC_DEFAULT_"
                          "BROKER_CONFIG:log.segment.bytes=4000, DEFAULT_CONFIG:log.segment."
                          "bytes=1073741824}\n"), "%s", out);
    free(out);
    for (int i = 0; i < 12; i++) {
        cr_assert_eq(produce_now("dyn", 10, 100, NULL), 0);
        cr_assert_eq(produce_now("own", 10, 100, NULL), 0);
    }
    cr_assert_eq(fu_wait_replicas_identical(&cluster, "dyn", 0, 120, 20000), 3);
    cr_assert_eq(fu_wait_replicas_identical(&cluster, "own", 0, 120, 20000), 3);
    for (int i = 0; i < 3; i++) {
        long max = 0;
        cr_expect_geq(segment_files(&cluster.broker[i], "dyn", &max, NULL), 3, "broker %d", i + 1);
        cr_expect_leq(max, 4000);
        cr_expect_eq(segment_files(&cluster.broker[i], "own", NULL, NULL), 1, "broker %d", i + 1);
    }

    /* per broker: only broker 2, and it wins over the cluster default there */
    out = configs_ok((const char *const[]){ "--entity-type", "brokers", "--entity-name", "2",
                                            "--alter", "--add-config",
                                            "log.retention.ms=3600000,log.segment.bytes=5000",
                                            NULL });
    cr_expect_str_eq(out, "Completed updating config for broker 2.\n");
    free(out);
    cr_assert(fu_wait_in_file(cluster.broker[1].log_path, "Dynamic broker config "
                              "(/config/brokers/2): log.retention.ms=3600000,"
                              "log.segment.bytes=5000", marks[1], 15000));
    out = configs_ok((const char *const[]){ "--entity-type", "brokers", "--entity-name", "2",
                                            "--describe", NULL });
    cr_expect_str_eq(out, "Dynamic configs for broker 2 are:\n"
        "  log.retention.ms=3600000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=3600000, DEFAULT_CONFIG:log.retention.hours=168}\n"
        "  log.segment.bytes=5000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.segment.bytes=5000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.segment.bytes=4000, DEFAULT_CONFIG:log.segment.bytes=1073741824}\n");
    free(out);
    out = configs_ok((const char *const[]){ "--entity-type", "brokers", "--entity-name", "1",
                                            "--describe", NULL });
    cr_expect_str_eq(out, "Dynamic configs for broker 1 are:\n");
    free(out);
    /* deleting the cluster default: back to the static value */
    log_marks(marks);
    out = configs_ok((const char *const[]){ "--entity-type", "brokers", "--entity-default",
                                            "--alter", "--delete-config", "log.segment.bytes",
                                            NULL });
    free(out);
    for (int i = 0; i < 3; i++)
        cr_assert(fu_wait_in_file(cluster.broker[i].log_path, "Dynamic broker config (cluster "
                                  "default, /config/brokers/<default>): (none)", marks[i], 15000));
    out = configs_ok((const char *const[]){ "--entity-type", "topics", "--entity-name", "dyn",
                                            "--describe", "--all", NULL });
    cr_expect(strstr(out, "\n  segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:"
                          "log.segment.bytes=1073741824}\n"), "%s", out);
    free(out);
}

/* ---- the --zookeeper modes ------------------------------------------------------------------ */

Test(cluster_configs, zookeeper_mode)
{
    fu_create_topic(&cluster, "zkt", 1, 3, NULL);
    long marks[3];
    log_marks(marks);
    char *out = NULL, *err = NULL;
    const char *alter[] = { "strand-configs", "@ZK", "--entity-type", "topics", "--entity-name",
                            "zkt", "--alter", "--add-config", "segment.bytes=3000,flush.ms=1000",
                            NULL };
    cr_assert_eq(tool(alter, &out, NULL), 0);
    cr_expect_str_eq(out, "Completed updating config for entity: topic 'zkt'.\n");
    free(out);
    wait_applied("zkt", marks);
    char data[512];
    cr_assert_gt(st_test_zk_get(cluster.zk_connect, "/config/topics/zkt", data, sizeof(data)), 0);
    cr_expect(strstr(data, "\"version\":1") && strstr(data, "\"segment.bytes\":\"3000\""), "%s",
              data);
    const char *describe[] = { "strand-configs", "@ZK", "--entity-type", "topics",
                               "--entity-name", "zkt", "--describe", NULL };
    cr_assert_eq(tool(describe, &out, NULL), 0);
    cr_expect_str_eq(out, "Configs for topic 'zkt' are flush.ms=1000,segment.bytes=3000\n");
    free(out);
    /* the notification znode, as Kafka writes it */
    char names[4096];
    cr_assert_gt(st_test_zk_children(cluster.zk_connect, "/config/changes", names, sizeof(names)), 0);
    char last[64] = "";
    for (char *tok = strtok(names, ","); tok; tok = strtok(NULL, ","))
        snprintf(last, sizeof(last), "%s", tok);
    char path[128];
    snprintf(path, sizeof(path), "/config/changes/%s", last);
    cr_assert_gt(st_test_zk_get(cluster.zk_connect, path, data, sizeof(data)), 0);
    cr_expect(strstr(data, "\"entity_path\":\"topics/zkt\"") && strstr(data, "\"version\":2"),
              "%s", data);

    /* strand-topics --alter --config / --delete-config (Kafka 2.x --zookeeper) */
    log_marks(marks);
    const char *talter[] = { "strand-topics", "@ZK", "--alter", "--topic", "zkt", "--config",
                             "retention.bytes=100000", "--delete-config", "flush.ms", NULL };
    cr_assert_eq(tool(talter, &out, NULL), 0);
    cr_expect(strstr(out, "Updated config for topic zkt.\n"), "%s", out);
    free(out);
    wait_applied("zkt", marks);
    cr_assert_eq(tool(describe, &out, NULL), 0);
    cr_expect_str_eq(out, "Configs for topic 'zkt' are retention.bytes=100000,segment.bytes=3000\n");
    free(out);
    /* with --bootstrap-server Kafka refuses --alter --config and points to kafka-configs */
    const char *tbs[] = { "strand-topics", "@BOOTSTRAP", "--alter", "--topic", "zkt", "--config",
                          "retention.bytes=1", NULL };
    cr_expect_eq(tool(tbs, NULL, &err), 1);
    cr_expect(err && strstr(err, "Option combination \"[bootstrap-server],[config]\" can't be "
                                 "used with option \"[alter]\""), "%s", err ? err : "");
    free(err);
    /* a bad value through ZooKeeper: refused before anything is written */
    const char *bad[] = { "strand-configs", "@ZK", "--entity-type", "topics", "--entity-name",
                          "zkt", "--alter", "--add-config", "segment.jitter.ms=-5", NULL };
    cr_expect_eq(tool(bad, NULL, &err), 1);
    cr_expect(err && strstr(err, "Invalid value -5 for configuration segment.jitter.ms"), "%s",
              err ? err : "");
    free(err);
    /* dynamic broker configs through ZooKeeper only while the broker is down (Kafka's rule) */
    const char *broker[] = { "strand-configs", "@ZK", "--entity-type", "brokers", "--entity-name",
                             "1", "--alter", "--add-config", "log.retention.ms=1000", NULL };
    cr_expect_eq(tool(broker, NULL, &err), 1);
    cr_expect(err && strstr(err, "--bootstrap-server option must be specified to update broker "
                                 "configs Set(log.retention.ms) when the broker is running"), "%s",
              err ? err : "");
    free(err);
}

/* ---- message.timestamp.type=LogAppendTime ---------------------------------------------------- */

Test(cluster_configs, log_append_time_stamps_batches)
{
    fu_create_topic(&cluster, "lat", 1, 3, NULL);
    long marks[3];
    log_marks(marks);
    alter_topic("lat", "message.timestamp.type=LogAppendTime", NULL);
    wait_applied("lat", marks);
    int64_t before = wall_ms();
    int leader = fu_leader(&cluster, "lat", 0, NULL, NULL, NULL);
    cr_assert_gt(leader, 0);
    int fd = st_test_connect(st_test_cluster_broker(&cluster, leader)->port);
    cr_assert_geq(fd, 0);
    uint8_t *batch = NULL;
    size_t len = 0;
    cr_assert_eq(tw_make_batch(3, 20, 1000, &batch, &len), 0);   /* CreateTime 1970 */
    cr_assert_eq(tw_send_produce(fd, 82, "lat", 0, -1, 10000, batch, len), 0);
    Strand__ProduceResponse *r = (Strand__ProduceResponse *)tw_recv_response(
        fd, 82, &strand__produce_response__descriptor, NULL, NULL);
    close(fd);
    free(batch);
    cr_assert(r && r->n_responses == 1 && r->responses[0]->n_partitions == 1);
    const Strand__ProducePartitionResponse *pr = r->responses[0]->partitions[0];
    cr_assert_eq(pr->error_code, 0);
    int64_t after = wall_ms();
    cr_expect(pr->log_append_time_ms >= before && pr->log_append_time_ms <= after,
              "log_append_time_ms %lld not in [%lld, %lld]", (long long)pr->log_append_time_ms,
              (long long)before, (long long)after);
    int64_t stamped = pr->log_append_time_ms;
    strand__produce_response__free_unpacked(r, NULL);
    /* every replica holds the stamped batch: LogAppendTime attribute, maxTimestamp, valid CRC */
    cr_assert_eq(fu_wait_replicas_identical(&cluster, "lat", 0, 3, 20000), 3);
    uint8_t *bytes = NULL;
    size_t n = 0;
    cr_assert_eq(fu_segment_bytes(&cluster.broker[0], "lat", 0, 3, &bytes, &n), 0);
    st_batch_header_t hdr;
    cr_assert_eq(st_batch_validate(bytes, n, &hdr, NULL), 0, "the stamped batch's CRC");
    cr_expect(hdr.attributes & ST_BATCH_ATTR_LOG_APPEND_TIME);
    cr_expect_eq(hdr.max_timestamp, stamped);
    free(bytes);
}

/* ---- compression.type and message.timestamp.difference.max.ms --------------------------------- */

/* Sends one batch (raw bytes) to topic-0's leader with acks=all; the partition's error code. */
static int produce_raw(const char *topic, const uint8_t *batch, size_t len)
{
    int leader = fu_leader(&cluster, topic, 0, NULL, NULL, NULL);
    cr_assert_gt(leader, 0);
    int fd = st_test_connect(st_test_cluster_broker(&cluster, leader)->port);
    cr_assert_geq(fd, 0);
    int code = -1;
    if (tw_send_produce(fd, 71, topic, 0, -1, 10000, batch, len) == 0)
        code = fu_produce_recv(fd, NULL);
    close(fd);
    return code;
}

/* The header of the batch at `offset` in broker 1's replica (after the replicas agree). */
static st_batch_header_t stored_header(const char *topic, int64_t offset, int64_t upto)
{
    cr_assert_eq(fu_wait_replicas_identical(&cluster, topic, 0, upto, 20000), 3);
    uint8_t *bytes = NULL;
    size_t n = 0;
    cr_assert_eq(fu_segment_bytes(&cluster.broker[0], topic, 0, upto, &bytes, &n), 0);
    st_batch_header_t hdr;
    memset(&hdr, 0, sizeof(hdr));
    for (size_t pos = 0; pos < n;) {
        cr_assert_eq(st_batch_validate(bytes + pos, n - pos, &hdr, NULL), 0, "stored CRC");
        if (hdr.base_offset == offset)
            break;
        pos += st_batch_total_size(&hdr);
    }
    cr_assert_eq(hdr.base_offset, offset);
    free(bytes);
    return hdr;
}

Test(cluster_configs, compression_type_and_timestamp_difference)
{
    fu_create_topic(&cluster, "codec", 1, 3, NULL);
    long marks[3];
    log_marks(marks);
    alter_topic("codec", "compression.type=lz4", NULL);
    wait_applied("codec", marks);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    cr_assert_eq(tw_make_batch(5, 200, wall_ms(), &plain, &plain_len), 0);
    cr_assert_eq(produce_raw("codec", plain, plain_len), 0);
    st_batch_header_t h = stored_header("codec", 0, 5);
    cr_expect_eq(st_batch_codec(&h), ST_COMPRESSION_LZ4, "stored as lz4 on every replica");
    cr_expect_lt(st_batch_total_size(&h), plain_len);
    cr_expect_eq(h.record_count, 5);

    log_marks(marks);
    alter_topic("codec", "compression.type=uncompressed", NULL);
    wait_applied("codec", marks);
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_LZ4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(st_batch_writer_add(w, wall_ms(), "k", 1, "a value that repeats repeats", 28,
                                         NULL, 0), 0);
    const void *lz;
    size_t lz_len;
    cr_assert_eq(st_batch_writer_finish(w, &lz, &lz_len), 0);
    cr_assert_eq(produce_raw("codec", lz, lz_len), 0);
    st_batch_writer_free(w);
    h = stored_header("codec", 5, 9);
    cr_expect_eq(st_batch_codec(&h), ST_COMPRESSION_NONE, "stored uncompressed");
    cr_expect_eq(h.record_count, 4);
    /* a consumer reads all 9 records back */
    fu_rec_t *recs = NULL;
    size_t n = fu_consume_all(&cluster, "codec", 0, 20000, &recs);
    cr_expect_eq(n, 9);
    fu_recs_free(recs, n);

    /* message.timestamp.difference.max.ms: a batch from 1970 is refused, one from now is not */
    log_marks(marks);
    alter_topic("codec", "message.timestamp.difference.max.ms=3600000", NULL);
    wait_applied("codec", marks);
    uint8_t *old = NULL;
    size_t old_len = 0;
    cr_assert_eq(tw_make_batch(2, 20, 1000, &old, &old_len), 0);
    cr_expect_eq(produce_raw("codec", old, old_len), ST_ERR_INVALID_TIMESTAMP);
    cr_expect_eq(produce_raw("codec", plain, plain_len), 0);
    free(old);
    free(plain);
}

/* ---- a broker restarted after a change gets it --------------------------------------------- */

Test(cluster_configs, restarted_broker_gets_the_change)
{
    fu_create_topic(&cluster, "late", 1, 3, NULL);
    st_test_broker_t *b3 = st_test_cluster_broker(&cluster, 3);
    cr_assert_eq(st_test_broker_stop(b3, SIGKILL) != 0, true);
    long marks[3];
    log_marks(marks);
    alter_topic("late", "segment.bytes=2500", NULL);
    for (int i = 0; i < 2; i++)
        cr_assert(fu_wait_in_file(cluster.broker[i].log_path, "Topic late: configuration from "
                                  "/config/topics/late applied", marks[i], 15000));
    for (int i = 0; i < 6; i++)
        cr_assert_eq(produce_now("late", 10, 100, NULL), 0);
    cr_assert_eq(st_test_broker_restart(b3), 0);
    cr_assert_eq(fu_wait_isr_size(&cluster, "late", 0, 3, 30000), 0);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(produce_now("late", 10, 100, NULL), 0);
    cr_assert_eq(fu_wait_replicas_identical(&cluster, "late", 0, 120, 30000), 3);
    long max = 0;
    int n = segment_files(b3, "late", &max, NULL);
    printf("restarted broker 3: %d segments, largest %ld bytes\n", n, max);
    cr_expect_geq(n, 4);
    cr_expect_leq(max, 2500);
}
