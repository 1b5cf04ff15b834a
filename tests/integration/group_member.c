/* group_member: one consumer-group member in a process of its own, for the consumer-group
 * integration tests (test_groups_client.c) and tests/bench/bench_groups.sh, which SIGKILL,
 * SIGTERM and restart members. It subscribes, polls, and writes one line per event to stdout
 * (line-buffered, so a killed member's output is complete up to its death):
 *
 *   READY                                   the consumer exists and has subscribed
 *   ASSIGNED|REVOKED|LOST <ms> <t-p> ...    a rebalance callback (ms: wall clock)
 *   R <topic> <partition> <offset> <ms> <value>   a record (ms: wall clock of its poll)
 *   COMMIT <err>                            a commit after a poll (--commit sync|async)
 *   ERROR <topic>-<partition> <name> <text> a per-partition error message
 *   FATAL <name> <text>                     a fatal group error; the member then exits 3
 *   GEN <generation> <coordinator> <leader> <member id>   the member's group view changed
 *                                           (strand_consumer_group_info, checked after polls)
 *   CLOSED <err>                            after an orderly close (SIGTERM, --max-records,
 *                                           --idle-exit-ms); exit 0
 *
 * Flags: --bootstrap H:P --group G (--topic T [--topic T2 ...] | --pattern RE)
 *   [--property k=v ...] (any client property: group.instance.id, partition.assignment.strategy,
 *   session.timeout.ms, auto.offset.reset, ...) [--commit none|sync|async] (after every poll that
 *   returned records) [--sleep-ms N] (after every poll: a slow application) [--quiet] (no R
 *   lines, counts only: STATS at the end) [--max-records N] [--idle-exit-ms N] (after the first record)
 *   [--stall-after N --stall-ms M] (after N records, stop polling for M ms: max.poll.interval)
 *   [--assign FROM-TO] (no group: the partitions FROM..TO of the first --topic, from the
 *   beginning; --group is then ignored -- tests/bench/bench_groups.sh's baseline).
 * With --quiet the last line before CLOSED is "STATS <records> <first ms> <last ms>" (wall clock
 * of the polls that returned the first and the last record). */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "strand.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "group_member: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static void on_rebalance(strand_consumer_t *c, strand_rebalance_event_t ev,
                         const strand_topic_partition_t *tps, size_t n, void *opaque)
{
    (void)c;
    (void)opaque;
    const char *name = ev == STRAND_REBALANCE_ASSIGNED ? "ASSIGNED"
                     : ev == STRAND_REBALANCE_REVOKED ? "REVOKED" : "LOST";
    printf("%s %lld", name, wall_ms());
    for (size_t i = 0; i < n; i++)
        printf(" %s-%d", tps[i].topic, tps[i].partition);
    printf("\n");
    fflush(stdout);
}

static void on_commit(strand_consumer_t *c, int err, const strand_topic_partition_t *tps, size_t n,
                      void *opaque)
{
    (void)c;
    (void)tps;
    (void)n;
    (void)opaque;
    printf("COMMIT %s\n", err ? strand_err_name(err) : "OK");
}

int main(int argc, char **argv)
{
    const char *bootstrap = NULL, *group = NULL, *pattern = NULL, *commit = "none";
    const char *topics[16];
    size_t n_topics = 0;
    const char *props[32];
    size_t n_props = 0;
    long sleep_ms = 0, idle_exit_ms = -1, stall_after = -1, stall_ms = 0;
    long long max_records = -1;
    int quiet = 0, assign_from = -1, assign_to = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (!v)
            die("%s needs a value", a);
        i++;
        if (strcmp(a, "--bootstrap") == 0)
            bootstrap = v;
        else if (strcmp(a, "--group") == 0)
            group = v;
        else if (strcmp(a, "--topic") == 0 && n_topics < 16)
            topics[n_topics++] = v;
        else if (strcmp(a, "--pattern") == 0)
            pattern = v;
        else if (strcmp(a, "--property") == 0 && n_props < 32)
            props[n_props++] = v;
        else if (strcmp(a, "--commit") == 0)
            commit = v;
        else if (strcmp(a, "--sleep-ms") == 0)
            sleep_ms = atol(v);
        else if (strcmp(a, "--max-records") == 0)
            max_records = atoll(v);
        else if (strcmp(a, "--idle-exit-ms") == 0)
            idle_exit_ms = atol(v);
        else if (strcmp(a, "--stall-after") == 0)
            stall_after = atol(v);
        else if (strcmp(a, "--stall-ms") == 0)
            stall_ms = atol(v);
        else if (strcmp(a, "--assign") == 0 && sscanf(v, "%d-%d", &assign_from, &assign_to) == 2)
            ;
        else
            die("unknown flag %s", a);
    }
    if (!bootstrap || !group || (!n_topics && !pattern))
        die("%s", "usage: group_member --bootstrap H:P --group G --topic T|--pattern RE ...");
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    char err[512];
    strand_conf_t *conf = strand_conf_new();
    if (strand_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) ||
        (assign_from < 0 && strand_conf_set(conf, "group.id", group, err, sizeof(err))))
        die("%s", err);
    for (size_t i = 0; i < n_props; i++)
        if (strand_conf_set_kv(conf, props[i], err, sizeof(err)))
            die("%s", err);
    strand_conf_set_rebalance_cb(conf, on_rebalance, NULL);
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    if (!c)
        die("%s", err);
    int e;
    if (assign_from >= 0) {
        strand_topic_partition_t tps[1024];
        size_t n = 0;
        for (int p = assign_from; p <= assign_to && n < 1024; p++)
            tps[n++] = (strand_topic_partition_t){ topics[0], p, STRAND_OFFSET_BEGINNING, 0 };
        e = strand_consumer_assign(c, tps, n);
    } else {
        e = pattern ? strand_consumer_subscribe_pattern(c, pattern, err, sizeof(err))
                    : strand_consumer_subscribe(c, topics, n_topics);
    }
    if (e)
        die("subscribe failed: %s", strand_err_name(e));
    printf("READY\n");

    long long count = 0, last_rec = mono_ms(), first_ms = -1, last_ms = -1;
    strand_group_info_t last_gi = { .generation = -2 };
    int rc = 0;
    bool stalled = false;
    while (!stop_flag && (max_records < 0 || count < max_records)) {
        const strand_message_t *msgs;
        size_t got = 0;
        e = strand_consumer_poll(c, 100, &msgs, &got);
        if (e) {
            strand_consumer_fatal_error(c, err, sizeof(err));
            printf("FATAL %s %s\n", strand_err_name(e), err);
            rc = 3;
            break;
        }
        strand_group_info_t gi;
        if (strand_consumer_group_info(c, &gi) == 0 &&
            (gi.generation != last_gi.generation || gi.coordinator != last_gi.coordinator ||
             strcmp(gi.member_id, last_gi.member_id) != 0)) {
            printf("GEN %d %d %d %s\n", gi.generation, gi.coordinator, gi.is_leader,
                   gi.member_id[0] ? gi.member_id : "-");
            last_gi = gi;
        }
        long long now = wall_ms();
        for (size_t i = 0; i < got; i++) {
            const strand_message_t *m = &msgs[i];
            if (m->error) {
                printf("ERROR %s-%d %s %s\n", m->topic, m->partition, strand_err_name(m->error),
                       m->errstr);
                continue;
            }
            count++;
            if (first_ms < 0)
                first_ms = now;
            last_ms = now;
            if (!quiet)
                printf("R %s %d %lld %lld %.*s\n", m->topic, m->partition, (long long)m->offset,
                       now, (int)m->value_len, m->value ? (const char *)m->value : "");
        }
        if (got) {
            last_rec = mono_ms();
            if (strcmp(commit, "sync") == 0) {
                e = strand_consumer_commit_sync(c, NULL, 0, -1);
                printf("COMMIT %s\n", e ? strand_err_name(e) : "OK");
            } else if (strcmp(commit, "async") == 0) {
                strand_consumer_commit_async(c, NULL, 0, on_commit, NULL);
            }
        } else if (idle_exit_ms >= 0 && count > 0 && mono_ms() - last_rec > idle_exit_ms) {
            break;
        }
        if (!stalled && stall_after >= 0 && count >= stall_after) {
            stalled = true;
            printf("STALL %ld\n", stall_ms);
            usleep((useconds_t)stall_ms * 1000);
        }
        if (sleep_ms)
            usleep((useconds_t)sleep_ms * 1000);
    }
    if (rc == 0) {
        e = strand_consumer_close(c, -1);
        if (quiet)
            printf("STATS %lld %lld %lld\n", count, first_ms, last_ms);
        printf("CLOSED %s\n", e ? strand_err_name(e) : "OK");
    }
    strand_consumer_destroy(c);
    return rc;
}
