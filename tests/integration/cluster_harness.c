/* Cluster-test harness (see cluster_harness.h): ZooKeeper plus N broker processes, and waits on
 * the cluster state as ZooKeeper holds it. */
#include "cluster_harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zookeeper/zookeeper.h>

#include "st_znode.h"

#define WAIT_STEP_MS 25

/* Cluster tests start their own ZooKeeper (standalone or an ensemble, which they may stop, pause
 * or kill): the harness's runner need not start a shared one for them (harness.c). */
const bool st_test_harness_own_zookeeper = true;

st_test_broker_t *st_test_cluster_broker(st_test_cluster_t *c, int id)
{
    return id >= 1 && id <= c->n ? &c->broker[id - 1] : NULL;
}

int st_test_cluster_start(st_test_cluster_t *c, int n, bool ensemble, const char *const *overrides)
{
    memset(c, 0, sizeof(*c));
    if (n < 1 || n > ST_TEST_CLUSTER_MAX)
        return -EINVAL;
    c->ensemble = ensemble;
    int r = ensemble ? st_test_zk_ensemble_start(&c->ens, 3) : st_test_zk_start(&c->zk);
    if (r < 0)
        return r;
    c->zk_connect = ensemble ? c->ens.connect : c->zk.connect;
    c->n = n;
    char zkline[400], idline[32];
    snprintf(zkline, sizeof(zkline), "zookeeper.connect=%s", c->zk_connect);
    for (int i = 0; i < n; i++) {
        const char *kv[40];
        int k = 0;
        snprintf(idline, sizeof(idline), "broker.id=%d", i + 1);
        kv[k++] = idline;
        kv[k++] = zkline;
        kv[k++] = "zookeeper.session.timeout.ms=2000";
        kv[k++] = "replica.lag.time.max.ms=3000";
        kv[k++] = "controlled.shutdown.enable=true";
        for (size_t j = 0; overrides && overrides[j] && k < 39; j++)
            kv[k++] = overrides[j];
        kv[k] = NULL;
        /* Answering is enough here: the cluster waits below (registration, controller) and
         * the tests' own waits say what "formed" means for them (harness.h). */
        r = st_test_broker_start_ready(&c->broker[i], kv, ST_TEST_READY_LISTENING);
        if (r < 0) {
            fprintf(stderr, "cluster harness: broker %d did not start: %s\n", i + 1, strerror(-r));
            return r;
        }
    }
    size_t used = 0;
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(c->bootstrap + used, sizeof(c->bootstrap) - used, "%s%s",
                                 i ? "," : "", c->broker[i].bootstrap);
    int ids[ST_TEST_CLUSTER_MAX];
    for (int i = 0; i < n; i++)
        ids[i] = i + 1;
    r = st_test_cluster_wait_registered(c, ids, n, 20000);
    if (r == 0 && st_test_cluster_wait_controller(c, -1, 20000) < 0)
        r = -ETIMEDOUT;
    if (r < 0)
        fprintf(stderr, "cluster harness: the cluster did not form (registration or controller)\n");
    return r;
}

void st_test_cluster_cleanup(st_test_cluster_t *c)
{
    for (int i = 0; i < c->n; i++)
        st_test_broker_cleanup(&c->broker[i]);
    if (c->ensemble)
        st_test_zk_ensemble_cleanup(&c->ens);
    else
        st_test_zk_cleanup(&c->zk);
    c->n = 0;
}

int st_test_cluster_wait_registered(st_test_cluster_t *c, const int *ids, int n_ids, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    char want[256] = "";
    size_t used = 0;
    int sorted[ST_TEST_CLUSTER_MAX];
    memcpy(sorted, ids, (size_t)n_ids * sizeof(int));
    for (int i = 0; i < n_ids; i++)           /* ZooKeeper children sort as strings */
        for (int j = i + 1; j < n_ids; j++) {
            char a[16], b[16];
            snprintf(a, sizeof(a), "%d", sorted[i]);
            snprintf(b, sizeof(b), "%d", sorted[j]);
            if (strcmp(a, b) > 0) {
                int t = sorted[i];
                sorted[i] = sorted[j];
                sorted[j] = t;
            }
        }
    for (int i = 0; i < n_ids; i++)
        used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%d", i ? "," : "", sorted[i]);
    char got[256];
    do {
        int r = st_test_zk_children(c->zk_connect, "/brokers/ids", got, sizeof(got));
        if (r >= 0 && strcmp(got, want) == 0)
            return 0;
        st_test_sleep_ms(WAIT_STEP_MS * 2);
    } while (st_test_now_ms() < deadline);
    fprintf(stderr, "cluster harness: /brokers/ids is [%s], expected [%s]\n", got, want);
    return -ETIMEDOUT;
}

int st_test_cluster_controller(st_test_cluster_t *c)
{
    char buf[256];
    if (st_test_zk_get(c->zk_connect, "/controller", buf, sizeof(buf)) < 0)
        return -1;
    int32_t id = -1;
    char err[256];
    if (st_znode_controller_decode("/controller", buf, strlen(buf), &id, err, sizeof(err)) < 0)
        return -1;
    return id;
}

int st_test_cluster_wait_controller(st_test_cluster_t *c, int not_id, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        int id = st_test_cluster_controller(c);
        if (id >= 0 && id != not_id)
            return id;
        st_test_sleep_ms(WAIT_STEP_MS);
    } while (st_test_now_ms() < deadline);
    return -1;
}

int st_test_cluster_partition(st_test_cluster_t *c, const char *topic, int partition,
                              int *ret_leader, int *ret_epoch, int *ret_isr, int *inout_n_isr)
{
    char path[512], buf[1024], err[256];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", topic, partition);
    int r = st_test_zk_get(c->zk_connect, path, buf, sizeof(buf));
    if (r == ZNONODE)
        return -ENOENT;
    if (r < 0)
        return -EIO;
    st_lisr_t lisr;
    memset(&lisr, 0, sizeof(lisr));
    if (st_znode_lisr_decode(path, buf, strlen(buf), &lisr, err, sizeof(err)) < 0)
        return -EBADMSG;
    if (ret_leader)
        *ret_leader = lisr.leader;
    if (ret_epoch)
        *ret_epoch = lisr.leader_epoch;
    if (ret_isr && inout_n_isr) {
        int n = (int)lisr.isr.n < *inout_n_isr ? (int)lisr.isr.n : *inout_n_isr;
        for (int i = 0; i < n; i++)
            ret_isr[i] = lisr.isr.v[i];
        *inout_n_isr = n;
    }
    st_lisr_free(&lisr);
    return 0;
}

int st_test_cluster_wait_partition(st_test_cluster_t *c, const char *topic, int partition,
                                   st_test_partition_pred *pred, void *arg, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int leader = -1, isr[16], n_isr = 0;
    do {
        n_isr = 16;
        if (st_test_cluster_partition(c, topic, partition, &leader, NULL, isr, &n_isr) == 0 &&
            pred(arg, leader, isr, n_isr))
            return 0;
        st_test_sleep_ms(WAIT_STEP_MS);
    } while (st_test_now_ms() < deadline);
    fprintf(stderr, "cluster harness: %s-%d stayed at leader %d, isr of %d\n", topic, partition,
            leader, n_isr);
    return -ETIMEDOUT;
}

int st_test_cluster_tool(st_test_cluster_t *c, const char *const *argv, char **ret_stdout,
                         char **ret_stderr, int timeout_ms)
{
    const char *args[64];
    int k = 0;
    for (int i = 0; argv[i] && k < 62; i++) {
        if (strcmp(argv[i], "@ZK") == 0) {
            args[k++] = "--zookeeper";
            args[k++] = c->zk_connect;
        } else if (strcmp(argv[i], "@BOOTSTRAP") == 0) {
            args[k++] = "--bootstrap-server";
            args[k++] = c->bootstrap;
        } else {
            args[k++] = argv[i];
        }
    }
    args[k] = NULL;
    return st_test_run_tool(args, NULL, ret_stdout, ret_stderr, timeout_ms);
}
