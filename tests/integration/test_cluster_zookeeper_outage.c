/* ZooKeeper outages against a 3-node ensemble:
 *  1. one ZooKeeper node SIGKILLed (a follower: the quorum stays): nothing changes -- leaders,
 *     leader epochs, ISRs and the controller are the same after longer than the session
 *     timeout, and acks=all produce and fetch work;
 *  2. all three SIGKILLed for OUTAGE_MS: every partition leader keeps serving acks=1 produce
 *     and fetch (replication between brokers does not need ZooKeeper);
 *  3. the ensemble restarted: the cluster recovers -- every partition has a leader, every ISR
 *     is complete, and a new topic can be created and gets leaders. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_util.h"
#include "st_error.h"

#define TOPIC "zo"
#define N_PART 3
#define OUTAGE_MS 10000

static st_test_cluster_t cluster;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

typedef struct snap {
    int leader[N_PART], epoch[N_PART], isr[N_PART][16], n_isr[N_PART];
    int controller, controller_epoch;
} snap_t;

static void snapshot(snap_t *s)
{
    memset(s, 0, sizeof(*s));
    for (int p = 0; p < N_PART; p++)
        s->leader[p] = fu_leader(&cluster, TOPIC, p, &s->epoch[p], s->isr[p], &s->n_isr[p]);
    s->controller = st_test_cluster_controller(&cluster);
    s->controller_epoch = fu_controller_epoch(&cluster);
}

/* acks `acks` produce of 5 records to every partition's leader (as known before the outage),
 * then fetch them back as a consumer (bounded wait for the HW). Returns the number of
 * partitions where both worked. */
static int produce_and_fetch(const snap_t *s, int acks, const char *when)
{
    int ok = 0;
    for (int p = 0; p < N_PART; p++) {
        st_test_broker_t *b = st_test_cluster_broker(&cluster, s->leader[p]);
        int64_t base = -1, hw = -1;
        int code = fu_produce(b->port, TOPIC, p, acks, 5, 10000, &base);
        int got = -1;
        int64_t deadline = st_test_now_ms() + 10000;
        while (code == 0 && st_test_now_ms() < deadline) {
            got = fu_fetch(b->port, TOPIC, p, base, &hw);
            if (got >= 5)
                break;
            st_test_sleep_ms(50);
        }
        printf("zookeeper_outage: %s: %s-%d leader %d: acks=%d produce %d (%s) at %lld, fetched "
               "%d records back (HW %lld)\n", when, TOPIC, p, s->leader[p], acks, code,
               code < 0 ? "no answer" : strand_err_name(code), (long long)base, got,
               (long long)hw);
        ok += code == 0 && got >= 5;
    }
    return ok;
}

static void assert_unchanged(const snap_t *a, const snap_t *b)
{
    cr_assert_eq(b->controller, a->controller, "controller %d -> %d", a->controller, b->controller);
    cr_assert_eq(b->controller_epoch, a->controller_epoch);
    for (int p = 0; p < N_PART; p++) {
        cr_assert_eq(b->leader[p], a->leader[p], "%s-%d: leader %d -> %d", TOPIC, p, a->leader[p],
                     b->leader[p]);
        cr_assert_eq(b->epoch[p], a->epoch[p], "%s-%d: leader epoch %d -> %d", TOPIC, p,
                     a->epoch[p], b->epoch[p]);
        cr_assert_eq(b->n_isr[p], a->n_isr[p], "%s-%d: ISR of %d -> %d", TOPIC, p, a->n_isr[p],
                     b->n_isr[p]);
    }
}

Test(cluster_zookeeper_outage, brokers_ride_out_zookeeper, .fini = teardown, .timeout = 300)
{
    const char *ov[] = { "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, true, ov), 0);
    fu_create_topic(&cluster, TOPIC, N_PART, 3, NULL);
    snap_t s0;
    snapshot(&s0);
    cr_assert_eq(produce_and_fetch(&s0, -1, "before"), N_PART);

    /* ---- 1. one node down ---- */
    int zl = st_test_zk_ensemble_leader(&cluster.ens);
    int victim = zl == 0 ? 1 : 0;                  /* a follower: the quorum stays */
    st_test_zk_stop(&cluster.ens.node[victim], SIGKILL);
    printf("zookeeper_outage: ZooKeeper node %d (a follower; leader is node %d) SIGKILLed\n",
           victim + 1, zl + 1);
    st_test_sleep_ms(4000);                             /* twice the session timeout */
    snap_t s1;
    snapshot(&s1);
    assert_unchanged(&s0, &s1);
    cr_assert_eq(produce_and_fetch(&s1, -1, "one ZooKeeper node down"), N_PART);
    snapshot(&s1);
    assert_unchanged(&s0, &s1);

    /* ---- 2. every node down ---- */
    for (int i = 0; i < 3; i++)
        if (cluster.ens.node[i].pid > 0)
            st_test_zk_stop(&cluster.ens.node[i], SIGKILL);
    int64_t t0 = st_test_now_ms();
    int rounds = 0, served = 0;
    while (st_test_now_ms() - t0 < OUTAGE_MS) {
        char when[64];
        snprintf(when, sizeof(when), "ZooKeeper down %lld ms", (long long)(st_test_now_ms() - t0));
        served += produce_and_fetch(&s0, 1, when);
        rounds++;
        st_test_sleep_ms(1000);
    }
    printf("zookeeper_outage: %d of %d acks=1 produce+fetch rounds served during %d ms without "
           "ZooKeeper\n", served, rounds * N_PART, OUTAGE_MS);
    cr_assert_eq(served, rounds * N_PART, "a leader stopped serving while ZooKeeper was down");
    for (int id = 1; id <= 3; id++)
        cr_assert_gt(st_test_cluster_broker(&cluster, id)->pid, 0);

    /* ---- 3. ZooKeeper back ---- */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(st_test_zk_restart_nowait(&cluster.ens.node[i]), 0);
    cr_assert_eq(st_test_zk_ensemble_wait(&cluster.ens, 3, 60000), 0, "the ensemble came back");
    int64_t t1 = st_test_now_ms();
    int ids[] = { 1, 2, 3 };
    cr_assert_eq(st_test_cluster_wait_registered(&cluster, ids, 3, 60000), 0);
    cr_assert_gt(st_test_cluster_wait_controller(&cluster, -1, 60000), 0);
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, p, 3, 60000), 0, "%s-%d did not recover",
                     TOPIC, p);
    int64_t t_rec = st_test_now_ms() - t1;
    snap_t s2;
    snapshot(&s2);
    printf("zookeeper_outage: recovered %lld ms after the ensemble served again: controller %d "
           "(epoch %d, was %d at %d)\n", (long long)t_rec, s2.controller, s2.controller_epoch,
           s0.controller, s0.controller_epoch);
    for (int p = 0; p < N_PART; p++)
        printf("zookeeper_outage: %s-%d leader %d epoch %d ISR of %d (was leader %d epoch %d)\n",
               TOPIC, p, s2.leader[p], s2.epoch[p], s2.n_isr[p], s0.leader[p], s0.epoch[p]);
    fu_create_topic(&cluster, "after-outage", 3, 3, NULL);
    printf("zookeeper_outage: a new topic was created and got leaders\n");
    cr_assert_eq(produce_and_fetch(&s2, -1, "after"), N_PART);
}
