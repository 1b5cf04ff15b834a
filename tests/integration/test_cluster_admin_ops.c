/* Admin operations on a live 3-broker cluster, each test on its own ZooKeeper and brokers:
 *  - strand-topics --alter --partitions through --zookeeper and --bootstrap-server: the new
 *    partitions get leaders and take records;
 *  - --delete (both ways) and re-creating the same name: the old data is gone;
 *  - --replica-assignment 1:2,2:3,3:1; replication factor 4 on 3 brokers refused with Kafka's
 *    message and exit status 1;
 *  - strand-leader-election --election-type preferred --all-topic-partitions after a leader
 *    moved: Kafka's "Successfully completed leader election (PREFERRED) ..." and leaders back;
 *  - --election-type unclean for a partition whose only ISR member is dead, with
 *    unclean.leader.election.enable=false: the live out-of-ISR replica is NOT elected by the
 *    controller on its own, only through the tool (reference §2.6);
 *  - controlled shutdown: SIGTERM a broker leading partitions (controlled.shutdown.enable=true):
 *    its leaderships move before it exits, and an acks=all producer running meanwhile sees no
 *    failed send;
 *  - --describe --under-replicated-partitions / --unavailable-partitions while a broker is down. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fault_util.h"
#include "st_error.h"

static st_test_cluster_t cluster;

static void start(void)
{
    const char *ov[] = { "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
}

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

TestSuite(cluster_admin_ops, .init = start, .fini = teardown, .timeout = 240);

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

/* acks=all of n records to the partition's current leader (retried while leadership settles).
 * Returns the base offset, or -1. */
static int64_t produce(const char *topic, int p, int n)
{
    int64_t deadline = st_test_now_ms() + 30000;
    do {
        int leader = fu_leader(&cluster, topic, p, NULL, NULL, NULL);
        int64_t base = -1;
        if (leader > 0 && fu_produce(st_test_cluster_broker(&cluster, leader)->port, topic, p, -1,
                                     n, 10000, &base) == 0)
            return base;
        st_test_sleep_ms(100);
    } while (st_test_now_ms() < deadline);
    return -1;
}

/* ---- --alter --partitions ---------------------------------------------------------------- */

Test(cluster_admin_ops, alter_partitions_both_ways)
{
    fu_create_topic(&cluster, "grow", 2, 2, NULL);
    const char *zk[] = { "strand-topics", "--alter", "@ZK", "--topic", "grow", "--partitions", "4",
                         NULL };
    char *out = NULL;
    cr_assert_eq(tool(zk, &out, NULL), 0);
    cr_assert(strstr(out, "Adding partitions succeeded!"), "%s", out);
    free(out);
    for (int p = 2; p < 4; p++) {
        cr_assert_eq(fu_wait_isr_size(&cluster, "grow", p, 2, 30000), 0, "grow-%d got no leader", p);
        int64_t base = produce("grow", p, 5);
        printf("admin_ops: grow-%d (added through ZooKeeper) leader %d took 5 records at %lld\n", p,
               fu_leader(&cluster, "grow", p, NULL, NULL, NULL), (long long)base);
        cr_assert_eq(base, 0);
    }
    const char *bs[] = { "strand-topics", "--alter", "@BOOTSTRAP", "--topic", "grow",
                         "--partitions", "6", NULL };
    cr_assert_eq(tool(bs, NULL, NULL), 0);
    for (int p = 4; p < 6; p++) {
        cr_assert_eq(fu_wait_isr_size(&cluster, "grow", p, 2, 30000), 0, "grow-%d got no leader", p);
        int64_t base = produce("grow", p, 5);
        printf("admin_ops: grow-%d (added through the admin API) leader %d took 5 records at %lld\n",
               p, fu_leader(&cluster, "grow", p, NULL, NULL, NULL), (long long)base);
        cr_assert_eq(base, 0);
    }
    const char *desc[] = { "strand-topics", "--describe", "@BOOTSTRAP", "--topic", "grow", NULL };
    cr_assert_eq(tool(desc, &out, NULL), 0);
    cr_assert(strstr(out, "\tPartitionCount: 6\tReplicationFactor: 2\t"), "%s", out);
    for (int p = 0; p < 6; p++) {
        char line[64];
        snprintf(line, sizeof(line), "\tTopic: grow\tPartition: %d\tLeader: ", p);
        cr_assert(strstr(out, line), "no line for grow-%d: %s", p, out);
    }
    free(out);
}

/* ---- --delete and re-create ------------------------------------------------------------- */

static bool wait_gone(const char *topic, int timeout_ms)
{
    char path[128], buf[16];
    snprintf(path, sizeof(path), "/brokers/topics/%s", topic);
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        bool gone = st_test_zk_get(cluster.zk_connect, path, buf, sizeof(buf)) < 0;
        for (int id = 1; id <= 3 && gone; id++)
            gone = fu_segment_total(st_test_cluster_broker(&cluster, id), topic, 0) < 0;
        if (gone)
            return true;
        st_test_sleep_ms(100);
    } while (st_test_now_ms() < deadline);
    return false;
}

Test(cluster_admin_ops, delete_and_recreate)
{
    const char *how[] = { "@ZK", "@BOOTSTRAP" };
    for (int round = 0; round < 2; round++) {
        fu_create_topic(&cluster, "phoenix", 1, 3, NULL);
        int64_t base = produce("phoenix", 0, 10 + round);
        cr_assert_eq(base, 0, "round %d: a fresh topic starts at offset 0", round);
        const char *del[] = { "strand-topics", "--delete", how[round], "--topic", "phoenix", NULL };
        cr_assert_eq(tool(del, NULL, NULL), 0);
        int64_t t0 = st_test_now_ms();
        cr_assert(wait_gone("phoenix", 30000), "round %d: phoenix still in ZooKeeper or on disk",
                  round);
        printf("admin_ops: phoenix deleted through %s: gone from ZooKeeper and every log dir after "
               "%lld ms\n", how[round], (long long)(st_test_now_ms() - t0));
    }
    fu_create_topic(&cluster, "phoenix", 1, 3, NULL);
    int leader = fu_leader(&cluster, "phoenix", 0, NULL, NULL, NULL);
    int64_t leo = -1;
    int code = -1;
    int64_t deadline = st_test_now_ms() + 20000;   /* until the leader has applied its LeaderAndIsr */
    while ((code = fu_list_latest(st_test_cluster_broker(&cluster, leader)->port, "phoenix", 0,
                                  true, &leo)) != 0 && st_test_now_ms() < deadline)
        st_test_sleep_ms(50);
    cr_assert_eq(code, 0, "ListOffsets on the new leader %d: %d", leader, code);
    cr_assert_eq(leo, 0, "the re-created topic holds %lld old records", (long long)leo);
    cr_assert_eq(produce("phoenix", 0, 3), 0);
    fu_rec_t *recs = NULL;
    size_t n = fu_consume_all(&cluster, "phoenix", 0, 30000, &recs);
    printf("admin_ops: re-created phoenix holds %zu records\n", n);
    cr_assert_eq(n, 3);
    fu_recs_free(recs, n);
}

/* ---- --replica-assignment and too large a replication factor ---------------------------- */

Test(cluster_admin_ops, replica_assignment_and_rf_too_large)
{
    const char *create[] = { "strand-topics", "--create", "@ZK", "--topic", "placed",
                             "--replica-assignment", "1:2,2:3,3:1", NULL };
    char *out = NULL, *err = NULL;
    cr_assert_eq(tool(create, &out, NULL), 0);
    cr_assert_str_eq(out, "Created topic placed.\n");
    free(out);
    int want[3][2] = { { 1, 2 }, { 2, 3 }, { 3, 1 } };
    for (int p = 0; p < 3; p++) {
        cr_assert_eq(fu_wait_isr_size(&cluster, "placed", p, 2, 30000), 0);
        cr_assert_eq(fu_leader(&cluster, "placed", p, NULL, NULL, NULL), want[p][0],
                     "placed-%d is led by its first listed replica", p);
    }
    const char *desc[] = { "strand-topics", "--describe", "@ZK", "--topic", "placed", NULL };
    cr_assert_eq(tool(desc, &out, NULL), 0);
    for (int p = 0; p < 3; p++) {
        char line[128];
        snprintf(line, sizeof(line), "\tTopic: placed\tPartition: %d\tLeader: %d\tReplicas: %d,%d\t",
                 p, want[p][0], want[p][0], want[p][1]);
        cr_assert(strstr(out, line), "missing '%s' in:\n%s", line, out);
    }
    free(out);

    const char *how[] = { "@ZK", "@BOOTSTRAP" };
    for (int i = 0; i < 2; i++) {
        const char *big[] = { "strand-topics", "--create", how[i], "--topic", "too-big",
                              "--partitions", "1", "--replication-factor", "4", NULL };
        int rc = tool(big, &out, &err);
        cr_assert_eq(rc, 1, "RF 4 on 3 brokers through %s: exit %d", how[i], rc);
        cr_assert(strstr(err, "Replication factor: 4 larger than available brokers: 3."),
                  "through %s: %s", how[i], err);
        free(out);
        free(err);
    }
    char buf[16];
    cr_assert_lt(st_test_zk_get(cluster.zk_connect, "/brokers/topics/too-big", buf, sizeof(buf)), 0);
}

/* ---- preferred election ------------------------------------------------------------------ */

Test(cluster_admin_ops, preferred_election_moves_leaders_back)
{
    fu_create_topic(&cluster, "pref", 3, 3, NULL);
    int preferred[3];
    for (int p = 0; p < 3; p++)
        preferred[p] = fu_leader(&cluster, "pref", p, NULL, NULL, NULL);
    int victim = preferred[0];
    st_test_broker_stop(st_test_cluster_broker(&cluster, victim), SIGKILL);
    cr_assert_gt(fu_wait_leader(&cluster, "pref", 0, victim, 30000), 0);
    cr_assert_eq(st_test_broker_restart(st_test_cluster_broker(&cluster, victim)), 0);
    for (int p = 0; p < 3; p++)
        cr_assert_eq(fu_wait_isr_size(&cluster, "pref", p, 3, 30000), 0);
    int moved = 0;
    char expect[128] = "";
    for (int p = 0; p < 3; p++)
        if (fu_leader(&cluster, "pref", p, NULL, NULL, NULL) != preferred[p]) {
            size_t l = strlen(expect);
            snprintf(expect + l, sizeof(expect) - l, "%spref-%d", moved++ ? ", " : "", p);
        }
    cr_assert_gt(moved, 0, "no leader moved off broker %d", victim);
    printf("admin_ops: after broker %d's restart %d partition(s) are off their preferred leader: "
           "%s\n", victim, moved, expect);
    const char *elect[] = { "strand-leader-election", "@BOOTSTRAP", "--election-type", "preferred",
                            "--all-topic-partitions", NULL };
    char *out = NULL;
    cr_assert_eq(tool(elect, &out, NULL), 0);
    char line[256];
    snprintf(line, sizeof(line), "Successfully completed leader election (PREFERRED) for partitions "
             "%s\n", expect);
    cr_assert(strstr(out, line), "expected '%s' in:\n%s", line, out);
    free(out);
    for (int p = 0; p < 3; p++)
        cr_assert_eq(fu_leader(&cluster, "pref", p, NULL, NULL, NULL), preferred[p],
                     "pref-%d not back on %d", p, preferred[p]);
}

/* ---- unclean election -------------------------------------------------------------------- */

Test(cluster_admin_ops, unclean_election_only_through_the_tool)
{
    const char *create[] = { "strand-topics", "--create", "@ZK", "--topic", "dirty",
                             "--replica-assignment", "1:2:3", NULL };
    cr_assert_eq(tool(create, NULL, NULL), 0);
    cr_assert_eq(fu_wait_isr_size(&cluster, "dirty", 0, 3, 30000), 0);
    cr_assert_eq(fu_leader(&cluster, "dirty", 0, NULL, NULL, NULL), 1);
    cr_assert_eq(produce("dirty", 0, 10), 0);
    st_test_broker_stop(st_test_cluster_broker(&cluster, 2), SIGKILL);
    st_test_broker_stop(st_test_cluster_broker(&cluster, 3), SIGKILL);
    cr_assert_eq(fu_wait_isr_size(&cluster, "dirty", 0, 1, 30000), 0, "ISR never became [1]");
    cr_assert_eq(produce("dirty", 0, 5), 10, "the last ISR member takes more records");
    st_test_broker_stop(st_test_cluster_broker(&cluster, 1), SIGKILL);
    /* the leader goes; the ISR keeps its last member (KAFKA-5083) */
    cr_assert_eq(st_test_broker_restart(st_test_cluster_broker(&cluster, 2)), 0);
    int ids[] = { 2 };
    cr_assert_eq(st_test_cluster_wait_registered(&cluster, ids, 1, 30000), 0);
    cr_assert_eq(st_test_cluster_wait_controller(&cluster, -1, 30000), 2);
    int64_t deadline = st_test_now_ms() + 30000;
    int leader = 0, isr[16], n_isr = 0;
    while ((leader = fu_leader(&cluster, "dirty", 0, NULL, isr, &n_isr)) != -1 &&
           st_test_now_ms() < deadline)
        st_test_sleep_ms(50);
    cr_assert_eq(leader, -1, "dirty-0 still led by %d with every ISR member dead", leader);
    cr_assert(n_isr == 1 && isr[0] == 1, "the ISR keeps its last member 1");
    st_test_sleep_ms(4000);   /* longer than a session timeout: no election on its own */
    leader = fu_leader(&cluster, "dirty", 0, NULL, isr, &n_isr);
    printf("admin_ops: dirty-0 with ISR [1] dead and broker 2 alive: leader %d after 4 s\n", leader);
    cr_assert_eq(leader, -1, "broker %d became leader without an unclean election", leader);

    const char *pref[] = { "strand-leader-election", "@BOOTSTRAP", "--election-type", "preferred",
                           "--topic", "dirty", "--partition", "0", NULL };
    char *out = NULL;
    int rc = tool(pref, &out, NULL);
    cr_assert_neq(rc, 0, "a preferred election cannot elect the dead broker 1");
    free(out);
    cr_assert_eq(fu_leader(&cluster, "dirty", 0, NULL, NULL, NULL), -1);

    const char *unclean[] = { "strand-leader-election", "@BOOTSTRAP", "--election-type", "unclean",
                              "--topic", "dirty", "--partition", "0", NULL };
    cr_assert_eq(tool(unclean, &out, NULL), 0);
    cr_assert(strstr(out, "Successfully completed leader election (UNCLEAN) for partitions "
                          "dirty-0\n"), "%s", out);
    free(out);
    n_isr = 0;
    cr_assert_eq(fu_wait_leader(&cluster, "dirty", 0, -1, 30000), 2);
    leader = fu_leader(&cluster, "dirty", 0, NULL, isr, &n_isr);
    printf("admin_ops: after the unclean election dirty-0 is led by %d, ISR of %d\n", leader, n_isr);
    cr_assert(n_isr == 1 && isr[0] == 2, "an unclean leader starts with ISR [itself]");
    int64_t base = produce("dirty", 0, 1);
    printf("admin_ops: the unclean leader appends at offset %lld (broker 1 had 15 records)\n",
           (long long)base);
    cr_assert_eq(base, 10, "broker 2 had the first 10 records only");
}

/* ---- controlled shutdown ----------------------------------------------------------------- */

typedef struct cs_prod {
    strand_producer_t *p;
    atomic_long sent, acked, failed;
    atomic_bool stop;
    char first_error[256];
} cs_prod_t;

static void cs_dr(const strand_delivery_report_t *rep, void *opaque)
{
    cs_prod_t *c = opaque;
    if (rep->error) {
        if (atomic_fetch_add(&c->failed, 1) == 0)
            snprintf(c->first_error, sizeof(c->first_error), "%s: %s",
                     strand_err_name(rep->error), rep->errstr);
    } else {
        atomic_fetch_add(&c->acked, 1);
    }
}

static void *cs_main(void *arg)
{
    cs_prod_t *c = arg;
    long i = 0;
    while (!atomic_load(&c->stop)) {
        char v[32];
        snprintf(v, sizeof(v), "r-%ld", i);
        if (strand_produce(c->p, "calm", (int32_t)(i % 6), NULL, 0, v, strlen(v), NULL, 0, 0,
                           NULL) == 0) {
            i++;
            atomic_store(&c->sent, i);
        }
        st_test_sleep_ms(2);
    }
    return NULL;
}

Test(cluster_admin_ops, controlled_shutdown_moves_leaders_first)
{
    fu_create_topic(&cluster, "calm", 6, 3, NULL);
    int ctl = st_test_cluster_controller(&cluster);
    int victim = ctl % 3 + 1;
    int led[6], n_led = 0;
    for (int p = 0; p < 6; p++)
        if (fu_leader(&cluster, "calm", p, NULL, NULL, NULL) == victim)
            led[n_led++] = p;
    cr_assert_gt(n_led, 0, "broker %d leads nothing", victim);
    cs_prod_t c;
    memset(&c, 0, sizeof(c));
    strand_conf_t *conf = fu_conf(&cluster, (const char *const[]){ "acks=all", "linger.ms=5",
                                                                  NULL });
    strand_conf_set_delivery_cb(conf, cs_dr, &c);
    char err[512];
    c.p = strand_producer_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    cr_assert_not_null(c.p, "%s", err);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, cs_main, &c), 0);
    st_test_sleep_ms(1500);

    st_test_broker_t *b = st_test_cluster_broker(&cluster, victim);
    st_test_broker_t *cb = st_test_cluster_broker(&cluster, ctl);
    long b_mark = fu_file_size(b->log_path), c_mark = fu_file_size(cb->log_path);
    long acked_before = atomic_load(&c.acked);
    int64_t t0 = st_test_now_ms();
    int status = st_test_broker_stop(b, SIGTERM);
    int64_t t_exit = st_test_now_ms() - t0;
    printf("admin_ops: broker %d (leader of %d partitions) SIGTERMed: exited with status %d after "
           "%lld ms\n", victim, n_led, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           (long long)t_exit);
    int handed = 0, moved = 0;
    for (int i = 0; i < n_led; i++) {
        char needle[96];
        snprintf(needle, sizeof(needle), "calm-%d: leader -> follower, leader %d -> ", led[i],
                 victim);
        char *line = fu_find_line(b->log_path, needle, b_mark);
        printf("admin_ops: broker %d: %s\n", victim, line ? line : "(no handover line)");
        handed += line != NULL;
        free(line);
        int now = fu_leader(&cluster, "calm", led[i], NULL, NULL, NULL);
        moved += now > 0 && now != victim;
    }
    char needle[64];
    snprintf(needle, sizeof(needle), "Controlled shutdown of broker %d", victim);
    int ctl_lines = fu_count_in_file(cb->log_path, needle, c_mark);
    st_test_sleep_ms(1500);
    /* the producer stops before any assertion (a failed one must not leave it running) */
    atomic_store(&c.stop, true);
    pthread_join(th, NULL);
    int flushed = strand_producer_flush(c.p, 60000);
    strand_producer_destroy(c.p);
    printf("admin_ops: acks=all producer across the controlled shutdown: %ld sent, %ld acked "
           "(%ld after the SIGTERM), %ld failed%s%s\n", atomic_load(&c.sent),
           atomic_load(&c.acked), atomic_load(&c.acked) - acked_before, atomic_load(&c.failed),
           c.first_error[0] ? ": " : "", c.first_error);
    cr_assert(WIFEXITED(status), "broker %d did not exit on its own (status 0x%x)", victim, status);
    cr_assert_eq(handed, n_led, "broker %d exited still leading %d of its %d partitions", victim,
                 n_led - handed, n_led);
    cr_assert_eq(moved, n_led, "ZooKeeper: %d of %d partitions moved off broker %d", moved, n_led,
                 victim);
    cr_assert_gt(ctl_lines, 0, "controller %d did not log the controlled shutdown", ctl);
    cr_assert_eq(flushed, 0);
    cr_assert_eq(atomic_load(&c.failed), 0, "failed sends: %s", c.first_error);
    cr_assert_gt(atomic_load(&c.acked), acked_before, "nothing acknowledged after the SIGTERM");
    cr_assert_eq(st_test_broker_restart(b), 0);
    for (int p = 0; p < 6; p++)
        cr_assert_eq(fu_wait_isr_size(&cluster, "calm", p, 3, 30000), 0);
}

/* ---- describe filters while a broker is down ---------------------------------------------- */

static int count_lines(const char *out, const char *prefix)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, prefix)) != NULL; p += strlen(prefix))
        n++;
    return n;
}

Test(cluster_admin_ops, describe_filters_with_a_broker_down)
{
    fu_create_topic(&cluster, "wide", 3, 3, NULL);
    const char *solo_c[] = { "strand-topics", "--create", "@ZK", "--topic", "solo",
                             "--replica-assignment", "3", NULL };
    cr_assert_eq(tool(solo_c, NULL, NULL), 0);
    cr_assert_eq(fu_wait_isr_size(&cluster, "solo", 0, 1, 30000), 0);
    const char *how[] = { "@ZK", "@BOOTSTRAP" };
    for (int i = 0; i < 2; i++) {
        const char *ur[] = { "strand-topics", "--describe", how[i], "--under-replicated-partitions",
                             NULL };
        char *out = NULL;
        cr_assert_eq(tool(ur, &out, NULL), 0);
        cr_assert_str_eq(out, "", "all replicas up: nothing under-replicated");
        free(out);
    }
    st_test_broker_stop(st_test_cluster_broker(&cluster, 3), SIGKILL);
    for (int p = 0; p < 3; p++)
        cr_assert_eq(fu_wait_isr_has(&cluster, "wide", p, 3, false, 30000), 0);
    int64_t deadline = st_test_now_ms() + 30000;
    for (int i = 0; i < 2; i++) {
        char *out = NULL;
        /* the brokers' metadata follows ZooKeeper shortly: poll until the filter shows it */
        do {
            free(out);
            out = NULL;
            const char *ur[] = { "strand-topics", "--describe", how[i],
                                 "--under-replicated-partitions", NULL };
            cr_assert_eq(tool(ur, &out, NULL), 0);
            if (count_lines(out, "\tTopic: wide\tPartition: ") == 3)
                break;
            st_test_sleep_ms(200);
        } while (st_test_now_ms() < deadline);
        cr_assert_eq(count_lines(out, "\tTopic: wide\tPartition: "), 3, "%s: %s", how[i], out);
        cr_assert_eq(count_lines(out, "\tTopic: solo\tPartition: "), 0,
                     "solo (ISR = replicas = [3]) is not under-replicated: %s", out);
        cr_assert_null(strstr(out, "Configs:"), "a filtered describe prints no topic line");
        free(out);
        const char *un[] = { "strand-topics", "--describe", how[i], "--unavailable-partitions",
                             NULL };
        out = NULL;
        cr_assert_eq(tool(un, &out, NULL), 0);
        cr_assert(strstr(out, "\tTopic: solo\tPartition: 0\tLeader: "), "%s: %s", how[i], out);
        cr_assert_eq(count_lines(out, "\tTopic: "), 1, "only solo-0 is unavailable: %s", out);
        free(out);
    }
}
