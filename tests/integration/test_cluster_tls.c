/* Inter-broker TLS: three brokers whose inter-broker listener is SSL (inter.broker.listener.name,
 * ssl.client.auth=required, super.users naming the brokers' certificate) next to a PLAINTEXT
 * listener for clients. The controller's requests, the replica fetchers and AlterIsr all go over
 * TLS with the broker certificate as client certificate: the ISR fills (which needs follower
 * fetches and AlterIsr to be accepted on the SSL listener), acks=all works, a leader kill loses
 * nothing; and the cluster APIs sent on the client (PLAINTEXT) listener are refused with
 * CLUSTER_AUTHORIZATION_FAILED and change nothing. A second cluster whose super.users does not
 * name the brokers shows that the principal check is real: its controller's LeaderAndIsr is
 * refused, so no partition ever gets a leader's log. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker_wire.h"
#include "cluster_harness.h"
#include "fault_util.h"

#define TOPIC "tls-t"
#define N_PART 3

static st_test_cluster_t cluster;
static char certs[64];

static void make_certs(void)
{
    const char *gen = getenv("STRAND_GEN_CERTS");
    cr_assert(gen, "$STRAND_GEN_CERTS is not set (run through meson)");
    snprintf(certs, sizeof(certs), "/tmp/strand-ctls-XXXXXX");
    cr_assert(mkdtemp(certs));
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s %s > /dev/null", gen, certs);
    cr_assert_eq(system(cmd), 0, "gen-certs.sh failed");
}

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
    if (certs[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certs);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", certs);
    }
}

/* True when some line of the file holds both strings. */
static bool line_has_both(const char *path, const char *a, const char *b)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, a) && strstr(line, b);
    fclose(f);
    return found;
}

/* The overrides of every broker: PLAINTEXT for clients and the harness, SSL between brokers. */
static void start(const char *super_users)
{
    make_certs();
    static char cert[128], key[128], ca[128], su[160];
    snprintf(cert, sizeof(cert), "ssl.certificate.location=%s/broker.pem", certs);
    snprintf(key, sizeof(key), "ssl.key.location=%s/broker.key", certs);
    snprintf(ca, sizeof(ca), "ssl.ca.location=%s/ca.pem", certs);
    snprintf(su, sizeof(su), "super.users=%s", super_users);
    const char *ov[] = { "listeners=PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:{port2}",
                         "inter.broker.listener.name=SSL", "ssl.client.auth=required",
                         cert, key, ca, su, "min.insync.replicas=2",
                         "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
}

Test(cluster_tls, replication_over_ssl, .fini = teardown, .timeout = 240)
{
    start("User:CN=localhost,O=Strand");
    fu_create_topic(&cluster, TOPIC, N_PART, 3, NULL);
    for (int p = 0; p < N_PART; p++)
        cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, p, 3, 20000), 0,
                     "partition %d: the ISR never filled over TLS", p);

    /* acks=all through the client library (PLAINTEXT client listener) */
    int leader = fu_leader(&cluster, TOPIC, 0, NULL, NULL, NULL);
    cr_assert_gt(leader, 0);
    int64_t base = -1;
    cr_assert_eq(fu_produce(st_test_cluster_broker(&cluster, leader)->port, TOPIC, 0, -1, 500,
                            10000, &base), 0, "acks=all over a TLS-replicated partition");
    cr_assert_eq(base, 0);

    /* the followers have it: kill the leader, the new one serves every record */
    st_test_broker_stop(st_test_cluster_broker(&cluster, leader), SIGKILL);
    int next = fu_wait_leader(&cluster, TOPIC, 0, leader, 20000);
    cr_assert_gt(next, 0, "no new leader after the TLS leader died");
    int64_t hw = -1;
    int n = 0;
    for (int i = 0; i < 100 && n < 500; i++) {
        n = fu_fetch(st_test_cluster_broker(&cluster, next)->port, TOPIC, 0, 0, &hw);
        if (n < 500)
            usleep(100000);
    }
    cr_assert_eq(n, 500, "the new leader serves all 500 acknowledged records (got %d)", n);

    /* cluster APIs on the client listener: refused, nothing changes */
    st_test_broker_t *b = st_test_cluster_broker(&cluster, next);
    int isr[3] = { next, 0, 0 };
    int replicas[1] = { next };
    int code = fu_leader_and_isr(b->port, next, 9999, -1, TOPIC, 0, next, 999, isr, 1, replicas,
                                 1, b->port);
    cr_assert_eq(code, ST_ERR_CLUSTER_AUTHORIZATION_FAILED,
                 "LeaderAndIsr on the PLAINTEXT client listener gets %d", code);
    int epoch = -1;
    cr_assert_eq(fu_broker_view(b->port, TOPIC, 0, NULL, &epoch, NULL, NULL), 0);
    cr_assert_neq(epoch, 999, "the refused LeaderAndIsr changed nothing");
    cr_assert(line_has_both(b->log_path, "LeaderAndIsr request from", "CLUSTER_AUTHORIZATION_FAILED"));
    /* and the brokers did talk TLS with the broker certificate as client certificate */
    cr_assert(line_has_both(b->log_path, "on listener SSL: principal", "User:CN=localhost,O=Strand"),
              "no inter-broker TLS connection with the broker principal in %s", b->log_path);
}

Test(cluster_tls, super_users_is_checked, .fini = teardown, .timeout = 240)
{
    /* The brokers' certificate is not a super user: the controller's requests over the SSL
     * inter-broker listener are refused, so no broker ever hosts a replica. */
    start("User:CN=someone-else");
    const char *argv[] = { "strand-topics", "--create", "@ZK", "--topic", TOPIC, "--partitions",
                           "1", "--replication-factor", "3", NULL };
    char *out = NULL, *err = NULL;
    cr_assert_eq(st_test_cluster_tool(&cluster, argv, &out, &err, 20000), 0, "%s", err);
    free(out);
    free(err);
    /* Every replica is sent a LeaderAndIsr for the new topic: each must be refused. */
    int refused = 0;
    for (int i = 0; i < 150 && refused < 3; i++) {
        refused = 0;
        for (int id = 1; id <= 3; id++)
            refused += line_has_both(st_test_cluster_broker(&cluster, id)->log_path,
                                     "LeaderAndIsr request from", "CLUSTER_AUTHORIZATION_FAILED");
        if (refused < 3)
            usleep(100000);
    }
    cr_assert_eq(refused, 3, "only %d of 3 brokers refused the controller's LeaderAndIsr from a "
                 "principal not in super.users", refused);
    for (int id = 1; id <= 3; id++) {
        char dir[512];
        struct stat st;
        snprintf(dir, sizeof(dir), "%s/logs/" TOPIC "-0", st_test_cluster_broker(&cluster, id)->dir);
        cr_assert_neq(stat(dir, &st), 0, "broker %d created %s from a refused LeaderAndIsr", id,
                      dir);
    }
}
