/* The Kafka walkthrough, literally: a ZooKeeper and brokers 1, 2, 3; create a replicated topic
 * with --zookeeper, describe it, SIGKILL broker 1 and watch its leaderships move, restart it and
 * watch the ISR fill again with leaders unchanged, run the preferred-replica election tool and
 * watch every partition go back to its first listed replica. The tools' outputs are checked
 * line by line against Kafka's formats, and the same describe through --bootstrap-server. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_harness.h"

#define TOPIC "topic1"
#define N_PART 5

static st_test_cluster_t cluster;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

/* One parsed partition line of --describe. */
typedef struct pline {
    int partition, leader;             /* leader -1 for "none" */
    int replicas[8], n_replicas;
    int isr[8], n_isr;
} pline_t;

static int parse_ids(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && *s != '\t' && *s != '\n' && n < max) {
        out[n++] = (int)strtol(s, (char **)&s, 10);
        if (*s == ',')
            s++;
    }
    return n;
}

/* Parses every "\tTopic: topic1\tPartition: ..." line; returns how many. */
static int parse_describe(const char *out, pline_t *lines, int max)
{
    int n = 0;
    const char *p = out;
    const char *prefix = "\tTopic: " TOPIC "\tPartition: ";
    while ((p = strstr(p, prefix)) != NULL && n < max) {
        pline_t *l = &lines[n];
        memset(l, 0, sizeof(*l));
        p += strlen(prefix);
        l->partition = (int)strtol(p, (char **)&p, 10);
        cr_assert(strncmp(p, "\tLeader: ", 9) == 0, "bad line at '%.40s'", p);
        p += 9;
        if (strncmp(p, "none", 4) == 0) {
            l->leader = -1;
            p += 4;
        } else {
            l->leader = (int)strtol(p, (char **)&p, 10);
        }
        cr_assert(strncmp(p, "\tReplicas: ", 11) == 0, "bad line at '%.40s'", p);
        p += 11;
        l->n_replicas = parse_ids(p, l->replicas, 8);
        p = strstr(p, "\tIsr: ");
        cr_assert_not_null(p);
        p += 6;
        l->n_isr = parse_ids(p, l->isr, 8);
        n++;
    }
    return n;
}

static bool has(const int *ids, int n, int id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static int describe(const char *how, pline_t *lines)
{
    const char *argv[] = { "strand-topics", "--describe", how, "--topic", TOPIC, NULL };
    char *out = NULL, *err = NULL;
    int rc = st_test_cluster_tool(&cluster, argv, &out, &err, 20000);
    cr_assert_eq(rc, 0, "describe (%s) failed: %s", how, err ? err : "");
    printf("---- describe %s ----\n%s", how, out);
    char head[128];
    snprintf(head, sizeof(head), "Topic: %s\t", TOPIC);
    cr_assert(strncmp(out, head, strlen(head)) == 0, "topic line: %s", out);
    cr_assert(strstr(out, "\tPartitionCount: 5\tReplicationFactor: 3\tConfigs: "), "%s", out);
    int n = parse_describe(out, lines, N_PART);
    free(out);
    free(err);
    return n;
}

static bool pred_full_isr(void *arg, int leader, const int *isr, int n_isr)
{
    (void)arg;
    (void)isr;
    return leader > 0 && n_isr == 3;
}

static bool pred_not_led_by(void *arg, int leader, const int *isr, int n_isr)
{
    int dead = *(int *)arg;
    return leader > 0 && leader != dead && !has(isr, n_isr, dead);
}

static bool pred_led_by(void *arg, int leader, const int *isr, int n_isr)
{
    (void)isr;
    (void)n_isr;
    return leader == *(int *)arg;
}

Test(cluster_scenario, kafka_walkthrough, .fini = teardown, .timeout = 240)
{
    /* Leaders must stay where elections put them until the tool asks otherwise. */
    const char *ov[] = { "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);

    const char *create[] = { "strand-topics", "--create", "@ZK", "--replication-factor", "3",
                             "--partitions", "5", "--topic", TOPIC, NULL };
    char *out = NULL, *err = NULL;
    int rc = st_test_cluster_tool(&cluster, create, &out, &err, 20000);
    cr_assert_eq(rc, 0, "create: %s", err ? err : "");
    cr_assert_str_eq(out, "Created topic topic1.\n");
    free(out);
    free(err);
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(st_test_cluster_wait_partition(&cluster, TOPIC, p, pred_full_isr, NULL,
                                                    20000), 0, "partition %d never got 3 in ISR", p);

    pline_t lines[N_PART];
    cr_assert_eq(describe("@ZK", lines), N_PART);
    int led[4] = { 0 };
    for (int i = 0; i < N_PART; i++) {
        cr_assert_eq(lines[i].partition, i);
        cr_assert_eq(lines[i].n_replicas, 3);
        cr_assert_eq(lines[i].n_isr, 3);
        cr_assert_eq(lines[i].leader, lines[i].replicas[0], "a new topic's leader is its "
                     "preferred replica");
        cr_assert(lines[i].leader >= 1 && lines[i].leader <= 3);
        led[lines[i].leader]++;
    }
    cr_assert(led[1] >= 1 && led[2] >= 1 && led[3] >= 1, "leaders spread over 1,2,3: %d %d %d",
              led[1], led[2], led[3]);
    pline_t bs[N_PART];
    cr_assert_eq(describe("@BOOTSTRAP", bs), N_PART);
    for (int i = 0; i < N_PART; i++)
        cr_assert_eq(bs[i].leader, lines[i].leader, "--bootstrap-server agrees with ZooKeeper");

    /* kill -9 broker 1 */
    int dead = 1;
    cr_assert_gt(st_test_cluster_broker(&cluster, 1)->pid, 0);
    st_test_broker_stop(st_test_cluster_broker(&cluster, 1), SIGKILL);
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(st_test_cluster_wait_partition(&cluster, TOPIC, p, pred_not_led_by, &dead,
                                                    20000), 0, "partition %d still has 1", p);
    pline_t after[N_PART];
    cr_assert_eq(describe("@ZK", after), N_PART);
    for (int i = 0; i < N_PART; i++) {
        cr_assert_neq(after[i].leader, 1);
        cr_assert(after[i].leader == 2 || after[i].leader == 3);
        cr_assert(!has(after[i].isr, after[i].n_isr, 1), "partition %d: Isr without 1", i);
        if (lines[i].leader != 1)
            cr_assert_eq(after[i].leader, lines[i].leader, "partition %d: untouched leader", i);
    }

    /* start broker 1 again: the ISR fills, leaders stay */
    cr_assert_eq(st_test_broker_restart(st_test_cluster_broker(&cluster, 1)), 0);
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(st_test_cluster_wait_partition(&cluster, TOPIC, p, pred_full_isr, NULL,
                                                    30000), 0, "partition %d: ISR not back", p);
    pline_t back[N_PART];
    cr_assert_eq(describe("@ZK", back), N_PART);
    for (int i = 0; i < N_PART; i++) {
        cr_assert_eq(back[i].n_isr, 3, "partition %d: Isr back to 3 members", i);
        cr_assert_eq(back[i].leader, after[i].leader, "partition %d: leader unchanged", i);
    }

    /* preferred replica election through ZooKeeper */
    const char *elect[] = { "strand-preferred-replica-election", "@ZK", NULL };
    rc = st_test_cluster_tool(&cluster, elect, &out, &err, 20000);
    cr_assert_eq(rc, 0, "election tool: %s", err ? err : "");
    printf("---- preferred election ----\n%s", out);
    cr_assert(strncmp(out, "Created preferred replica election path with ", 45) == 0, "%s", out);
    for (int p = 0; p < N_PART; p++) {
        char tp[32];
        snprintf(tp, sizeof(tp), "topic1-%d", p);
        cr_assert(strstr(out, tp), "%s missing from: %s", tp, out);
    }
    cr_assert(strstr(out, "\nSuccessfully started preferred replica election for partitions "),
              "%s", out);
    free(out);
    free(err);
    for (int p = 0; p < N_PART; p++) {
        int pref = lines[p].replicas[0];
        cr_assert_eq(st_test_cluster_wait_partition(&cluster, TOPIC, p, pred_led_by, &pref,
                                                    20000), 0, "partition %d not back on %d", p,
                     pref);
    }
    pline_t fin[N_PART];
    cr_assert_eq(describe("@ZK", fin), N_PART);
    for (int i = 0; i < N_PART; i++)
        cr_assert_eq(fin[i].leader, fin[i].replicas[0], "partition %d led by its first replica", i);
    /* The controller deletes the election znode once done. */
    char buf[64];
    for (int i = 0; i < 100 && st_test_zk_get(cluster.zk_connect,
                                              "/admin/preferred_replica_election", buf,
                                              sizeof(buf)) >= 0; i++)
        usleep(50000);
    cr_assert_lt(st_test_zk_get(cluster.zk_connect, "/admin/preferred_replica_election", buf,
                                sizeof(buf)), 0);
}
