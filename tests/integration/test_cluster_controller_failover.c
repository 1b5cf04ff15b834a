/* Controller failover (reference §2.1, §6.1, §6.2):
 *  1. SIGKILL the controller: another broker takes /controller with a higher /controller_epoch,
 *     and the partitions the dead broker led get new leaders.
 *  2. SIGSTOP the controller past the session timeout, creating a topic through ZooKeeper
 *     (strand-topics --create --zookeeper, RF 2: one broker is down then) right after the
 *     stop: a successor takes over and
 *     completes the new topic (every partition gets a leader); after SIGCONT the old controller
 *     resigns, no partition state znode carries its epoch (every state znode is read), and every
 *     broker answers a LeaderAndIsr at its epoch with STALE_CONTROLLER_EPOCH (11).
 *     A "bystander" partition (RF 2, not on the paused controller) has its follower dropped
 *     from the ISR by the old controller before the pause and re-added (AlterIsr, through the
 *     new controller) after it: that write must carry the new controller's epoch too. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_util.h"
#include "st_error.h"

#define TOPIC "cf"
#define N_PART 6
#define NEW_TOPIC "born-during-pause"
#define NEW_PARTS 4
#define BYSTANDER "bystander"

static st_test_cluster_t cluster;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

/* Every partition state znode of every topic: path, controller_epoch and data version. */
typedef struct state_rec {
    char path[400];
    int controller_epoch;
    int version;
} state_rec_t;

static int read_states(state_rec_t *out, int max)
{
    char topics[4096];
    int n = 0;
    cr_assert_geq(st_test_zk_children(cluster.zk_connect, "/brokers/topics", topics,
                                      sizeof(topics)), 0);
    for (char *save = NULL, *t = strtok_r(topics, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char ppath[300], parts[4096];
        snprintf(ppath, sizeof(ppath), "/brokers/topics/%s/partitions", t);
        if (st_test_zk_children(cluster.zk_connect, ppath, parts, sizeof(parts)) < 0)
            continue;
        for (char *s2 = NULL, *p = strtok_r(parts, ",", &s2); p && n < max;
             p = strtok_r(NULL, ",", &s2)) {
            state_rec_t *r = &out[n++];
            snprintf(r->path, sizeof(r->path), "%s/%s/state", ppath, p);
            char buf[1024];
            int64_t czxid;
            cr_assert_eq(fu_zk_stat(cluster.zk_connect, r->path, buf, sizeof(buf), &czxid,
                                    &r->version), 0, "%s unreadable", r->path);
            r->controller_epoch = fu_state_controller_epoch(&cluster, t, atoi(p));
        }
    }
    return n;
}

static bool all_led_without(const char *topic, int parts, int id)
{
    for (int p = 0; p < parts; p++) {
        int isr[16], n = 0;
        int leader = fu_leader(&cluster, topic, p, NULL, isr, &n);
        if (leader <= 0 || leader == id || fu_has(isr, n, id))
            return false;
    }
    return true;
}

static bool wait_all_led_without(const char *topic, int parts, int id, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        if (all_led_without(topic, parts, id))
            return true;
        st_test_sleep_ms(50);
    } while (st_test_now_ms() < deadline);
    return false;
}

Test(cluster_controller_failover, kill_and_pause_the_controller, .fini = teardown, .timeout = 300)
{
    const char *ov[] = { "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    fu_create_topic(&cluster, TOPIC, N_PART, 3, NULL);

    /* ---- 1. SIGKILL the controller ---- */
    int c1 = st_test_cluster_controller(&cluster);
    int e1 = fu_controller_epoch(&cluster);
    cr_assert(c1 > 0 && e1 > 0);
    int led[N_PART], n_led = 0;
    for (int p = 0; p < N_PART; p++)
        if (fu_leader(&cluster, TOPIC, p, NULL, NULL, NULL) == c1)
            led[n_led++] = p;
    cr_assert_gt(n_led, 0, "the controller leads none of %d partitions", N_PART);
    int64_t t0 = st_test_now_ms();
    st_test_broker_stop(st_test_cluster_broker(&cluster, c1), SIGKILL);
    int c2 = st_test_cluster_wait_controller(&cluster, c1, 30000);
    int64_t t_ctl = st_test_now_ms() - t0;
    cr_assert_gt(c2, 0, "no successor after controller %d died", c1);
    int e2 = fu_controller_epoch(&cluster);
    cr_assert_gt(e2, e1, "/controller_epoch %d after %d", e2, e1);
    int64_t t_lead = 0;
    for (int i = 0; i < n_led; i++) {
        int nl = fu_wait_leader(&cluster, TOPIC, led[i], c1, 30000);
        cr_assert_gt(nl, 0, "%s-%d (led by the dead controller) got no leader", TOPIC, led[i]);
        t_lead = st_test_now_ms() - t0;
    }
    printf("controller_failover: controller %d (epoch %d) SIGKILLed; controller %d (epoch %d) "
           "after %lld ms; its %d partitions led again after %lld ms\n", c1, e1, c2, e2,
           (long long)t_ctl, n_led, (long long)t_lead);
    cr_assert_eq(st_test_broker_restart(st_test_cluster_broker(&cluster, c1)), 0);
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, p, 3, 60000), 0);

    /* ---- 2. SIGSTOP the controller, create a topic meanwhile ---- */
    int cs = st_test_cluster_controller(&cluster);
    int es = fu_controller_epoch(&cluster);
    cr_assert_gt(cs, 0);
    st_test_broker_t *sb = st_test_cluster_broker(&cluster, cs);
    /* the bystander: replicas [a, b] without the controller; b leaves its ISR through the
     * controller about to be paused, and comes back after the pause */
    int a = cs % 3 + 1, b = a % 3 + 1;
    char assignment[16];
    snprintf(assignment, sizeof(assignment), "%d:%d", a, b);
    const char *by[] = { "strand-topics", "--create", "@ZK", "--topic", BYSTANDER,
                         "--replica-assignment", assignment, NULL };
    cr_assert_eq(st_test_cluster_tool(&cluster, by, NULL, NULL, 30000), 0);
    cr_assert_eq(fu_wait_isr_size(&cluster, BYSTANDER, 0, 2, 30000), 0);
    st_test_broker_stop(st_test_cluster_broker(&cluster, b), SIGKILL);
    cr_assert_eq(fu_wait_isr_has(&cluster, BYSTANDER, 0, b, false, 30000), 0);
    cr_assert_eq(fu_state_controller_epoch(&cluster, BYSTANDER, 0), es);
    cr_assert_eq(st_test_pause(sb->pid, 5000), 0);
    t0 = st_test_now_ms();
    const char *create[] = { "strand-topics", "--create", "@ZK", "--topic", NEW_TOPIC,
                             "--partitions", "4", "--replication-factor", "2", NULL };
    char *out = NULL, *err = NULL;
    int rc = st_test_cluster_tool(&cluster, create, &out, &err, 30000);
    int64_t t_created = st_test_now_ms() - t0;
    if (rc != 0)
        kill(sb->pid, SIGCONT);
    cr_assert_eq(rc, 0, "create while the controller is stopped: %s%s", out, err);
    free(out);
    free(err);
    int cn = st_test_cluster_wait_controller(&cluster, cs, 30000);
    int64_t t_succ = st_test_now_ms() - t0;
    int en = fu_controller_epoch(&cluster);
    bool complete = true;
    for (int p = 0; p < NEW_PARTS && cn > 0; p++)
        complete &= fu_wait_leader(&cluster, NEW_TOPIC, p, cs, 30000) > 0;
    int64_t t_complete = st_test_now_ms() - t0;
    bool shrunk = cn > 0 && wait_all_led_without(TOPIC, N_PART, cs, 30000);
    /* what ZooKeeper holds while the old controller is still stopped */
    state_rec_t before[64];
    int n_before = cn > 0 ? read_states(before, 64) : 0;
    long log_mark = fu_file_size(sb->log_path);
    int64_t stopped_ms = st_test_now_ms() - t0;
    cr_assert_eq(kill(sb->pid, SIGCONT), 0);
    cr_assert_eq(st_test_broker_restart(st_test_cluster_broker(&cluster, b)), 0);
    cr_assert_gt(cn, 0, "no successor while controller %d was stopped", cs);
    cr_assert_gt(en, es, "/controller_epoch %d after %d", en, es);
    cr_assert(complete, "%s created while the controller was stopped has a partition without a "
              "leader", NEW_TOPIC);
    cr_assert(shrunk, "controller %d never took broker %d out of the ISRs", cn, cs);
    printf("controller_failover: controller %d (epoch %d) SIGSTOPped; %s created %lld ms later; "
           "controller %d (epoch %d) after %lld ms; every partition of %s led after %lld ms; "
           "resumed after %lld ms\n", cs, es, NEW_TOPIC, (long long)t_created, cn, en,
           (long long)t_succ, NEW_TOPIC, (long long)t_complete, (long long)stopped_ms);

    /* the old controller resigns and rejoins as a plain broker */
    cr_assert(fu_wait_in_file(sb->log_path, "Resigning as controller", log_mark, 20000),
              "the resumed controller %d never resigned", cs);
    char *line = fu_find_line(sb->log_path, "Resigning as controller", log_mark);
    printf("controller_failover: broker %d: %s\n", cs, line ? line : "");
    free(line);
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, p, 3, 60000), 0);
    for (int p = 0; p < NEW_PARTS; p++)
        cr_assert_eq(fu_wait_isr_size(&cluster, NEW_TOPIC, p, 2, 60000), 0);
    cr_assert_eq(fu_wait_isr_size(&cluster, BYSTANDER, 0, 2, 60000), 0,
                 "broker %d never rejoined the bystander's ISR", b);
    cr_assert_eq(st_test_cluster_controller(&cluster), cn, "the controller stayed %d", cn);
    cr_assert_eq(fu_controller_epoch(&cluster), en);

    /* no state znode written by the old controller after the election */
    state_rec_t after[64];
    int n_after = read_states(after, 64);
    int with_old = 0, changed = 0, count[64] = { 0 };
    for (int i = 0; i < n_after; i++) {
        if (after[i].controller_epoch == es) {
            with_old++;
            fprintf(stderr, "%s carries the old controller epoch %d\n", after[i].path, es);
        }
        if (after[i].controller_epoch >= 0 && after[i].controller_epoch < 64)
            count[after[i].controller_epoch]++;
        for (int j = 0; j < n_before; j++)
            if (strcmp(before[j].path, after[i].path) == 0 && before[j].version != after[i].version) {
                changed++;
                cr_assert_geq(after[i].controller_epoch, en, "%s was rewritten at controller "
                              "epoch %d after epoch %d took over", after[i].path,
                              after[i].controller_epoch, en);
            }
    }
    printf("controller_failover: %d state znodes (%d rewritten after SIGCONT); by controller "
           "epoch:", n_after, changed);
    for (int e = 0; e < 64; e++)
        if (count[e])
            printf(" %d:%d", e, count[e]);
    printf("\n");
    cr_assert_eq(n_after, N_PART + NEW_PARTS + 1);
    cr_assert_eq(with_old, 0, "%d state znodes carry the deposed controller's epoch %d", with_old,
                 es);

    /* every broker refuses the deposed controller's epoch */
    int isr[16], n_isr = 0, leader_epoch = 0;
    int leader = fu_leader(&cluster, TOPIC, 0, &leader_epoch, isr, &n_isr);
    int replicas[3] = { 1, 2, 3 };
    for (int id = 1; id <= 3; id++) {
        st_test_broker_t *b = st_test_cluster_broker(&cluster, id);
        int code = fu_leader_and_isr(b->port, cs, es, -1, TOPIC, 0, leader, leader_epoch + 100,
                                     isr, n_isr, replicas, 3,
                                     st_test_cluster_broker(&cluster, leader)->port);
        printf("controller_failover: LeaderAndIsr at the old controller epoch %d to broker %d: "
               "error %d (%s)\n", es, id, code, code < 0 ? "no answer" : strand_err_name(code));
        cr_assert_eq(code, ST_ERR_STALE_CONTROLLER_EPOCH, "broker %d answered %d", id, code);
    }
    int refused = 0;
    for (int id = 1; id <= 3; id++)
        refused += fu_count_in_file(st_test_cluster_broker(&cluster, id)->log_path,
                                    "(already seen): ignored", 0);
    printf("controller_failover: broker logs hold %d refusals of an old controller epoch\n",
           refused);
    cr_assert_eq(fu_leader(&cluster, TOPIC, 0, NULL, NULL, NULL), leader);
}
