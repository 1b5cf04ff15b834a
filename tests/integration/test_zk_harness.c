/* Tests of the ZooKeeper test harness (zk_harness.h) against real ZooKeeper JVMs: a standalone
 * server serves the znode helpers, keeps its data across SIGKILL and SIGTERM restarts, and stops
 * answering while paused; a 3-node ensemble keeps serving when its leader is killed, and the
 * restarted node rejoins and catches up. Start-up times are printed to stderr. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "zk_harness.h"

static st_test_zk_t zk;
static st_test_zk_ensemble_t ens;

static void cleanup(void)
{
    st_test_zk_cleanup(&zk);
    st_test_zk_ensemble_cleanup(&ens);
}

TestSuite(zk_harness, .fini = cleanup, .timeout = 120);

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void assert_get(const char *connect, const char *path, const char *want)
{
    char buf[256];
    int n = st_test_zk_get(connect, path, buf, sizeof(buf));
    cr_assert_eq(n, (int)strlen(want), "get %s on %s: %d (%s)", path, connect, n,
                 n < 0 ? zerror(n) : buf);
    cr_assert_str_eq(buf, want);
}

Test(zk_harness, standalone_znodes_survive_restarts)
{
    int64_t t0 = now_ms();
    cr_assert_eq(st_test_zk_start(&zk), 0);
    fprintf(stderr, "zk_harness timing: standalone server serving after %lld ms\n",
            (long long)(now_ms() - t0));
    cr_assert_gt(zk.pid, 0);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%d", zk.port);
    cr_assert_str_eq(zk.connect, want);

    char buf[256];
    cr_assert_eq(st_test_zk_4lw(zk.port, "ruok", buf, sizeof(buf), 2000), 4);
    cr_assert_str_eq(buf, "imok");
    cr_assert_eq(st_test_zk_4lw(zk.port, "srvr", buf, sizeof(buf), 2000) > 0, 1);
    cr_assert_not_null(strstr(buf, "Mode: standalone"), "%s", buf);

    /* create, get, set, children, sequential, errors, delete */
    cr_assert_eq(st_test_zk_create(zk.connect, "/strand", NULL, 0), ZOK);
    cr_assert_eq(st_test_zk_get(zk.connect, "/strand", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(st_test_zk_create(zk.connect, "/strand/a", "hello", 0), ZOK);
    cr_assert_eq(st_test_zk_create(zk.connect, "/strand/a", "again", 0), ZNODEEXISTS);
    cr_assert_eq(st_test_zk_create(zk.connect, "/missing/x", "x", 0), ZNONODE);
    assert_get(zk.connect, "/strand/a", "hello");
    cr_assert_eq(st_test_zk_set(zk.connect, "/strand/a", "world"), ZOK);
    assert_get(zk.connect, "/strand/a", "world");
    cr_assert_eq(st_test_zk_set(zk.connect, "/strand/nope", "x"), ZNONODE);
    cr_assert_eq(st_test_zk_create(zk.connect, "/strand/b", "", 0), ZOK);
    cr_assert_eq(st_test_zk_create(zk.connect, "/strand/seq-", "s", ZOO_SEQUENCE), ZOK);
    cr_assert_eq(st_test_zk_children(zk.connect, "/strand", buf, sizeof(buf)), 3);
    cr_assert_str_eq(buf, "a,b,seq-0000000002");
    char tiny[4];
    cr_assert_eq(st_test_zk_children(zk.connect, "/strand", tiny, sizeof(tiny)), ZBADARGUMENTS);
    cr_assert_eq(st_test_zk_children(zk.connect, "/strand/a", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(st_test_zk_get(zk.connect, "/strand/a", tiny, sizeof(tiny)), 5, "full length");
    cr_assert_str_eq(tiny, "wor", "truncated to the buffer");
    cr_assert_eq(st_test_zk_delete(zk.connect, "/strand"), ZNOTEMPTY);
    cr_assert_eq(st_test_zk_delete(zk.connect, "/strand/b"), ZOK);
    cr_assert_eq(st_test_zk_get(zk.connect, "/strand/b", buf, sizeof(buf)), ZNONODE);
    cr_assert_eq(st_test_zk_delete(zk.connect, "/strand/b"), ZNONODE);

    /* SIGKILL: nothing answers on the port; the data is there after the restart. */
    int port = zk.port;
    int status = st_test_zk_stop(&zk, SIGKILL);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status 0x%x", status);
    cr_assert_eq(zk.pid, 0);
    cr_assert_lt(st_test_zk_4lw(port, "ruok", buf, sizeof(buf), 1000), 0);
    cr_assert_eq(st_test_zk_restart(&zk), 0, "restart after kill");
    cr_assert_eq(zk.port, port);
    cr_assert_eq(st_test_zk_restart(&zk), -EBUSY, "already running");
    assert_get(zk.connect, "/strand/a", "world");
    cr_assert_eq(st_test_zk_children(zk.connect, "/strand", buf, sizeof(buf)), 2);
    cr_assert_str_eq(buf, "a,seq-0000000002");

    /* SIGTERM: a clean exit, data kept too. */
    cr_assert_eq(st_test_zk_set(zk.connect, "/strand/a", "after-kill"), ZOK);
    status = st_test_zk_stop(&zk, SIGTERM);
    cr_assert(WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM),
              "status 0x%x", status);
    t0 = now_ms();
    cr_assert_eq(st_test_zk_restart(&zk), 0);
    fprintf(stderr, "zk_harness timing: standalone restart serving after %lld ms\n",
            (long long)(now_ms() - t0));
    assert_get(zk.connect, "/strand/a", "after-kill");

    /* Cleanup kills it and removes the directory. */
    char dir[sizeof(zk.dir)];
    snprintf(dir, sizeof(dir), "%s", zk.dir);
    pid_t pid = zk.pid;
    st_test_zk_cleanup(&zk);
    cr_assert_eq(kill(pid, 0), -1, "the JVM is gone");
    struct stat st;
    if (getenv("STRAND_KEEP_TEST_DIRS") == NULL)     /* kept on purpose otherwise */
        cr_assert_eq(stat(dir, &st), -1, "%s removed", dir);
}

Test(zk_harness, paused_server_answers_nothing_until_resumed)
{
    cr_assert_eq(st_test_zk_start(&zk), 0);
    cr_assert_eq(st_test_zk_create(zk.connect, "/p", "before", 0), ZOK);
    cr_assert_eq(st_test_zk_pause(&zk), 0);
    cr_assert(zk.paused);
    char buf[256];
    int64_t t0 = now_ms();
    cr_assert_eq(st_test_zk_4lw(zk.port, "ruok", buf, sizeof(buf), 1000), -ETIMEDOUT);
    cr_assert_lt(now_ms() - t0, 3000);
    cr_assert_eq(st_test_zk_resume(&zk), 0);
    cr_assert(!zk.paused);
    cr_assert_eq(st_test_zk_wait_serving(&zk, 10000), 0);
    assert_get(zk.connect, "/p", "before");

    /* SIGTERM reaches a paused server too (the harness resumes it). */
    cr_assert_eq(st_test_zk_pause(&zk), 0);
    int status = st_test_zk_stop(&zk, SIGTERM);
    cr_assert(WIFEXITED(status) || WIFSIGNALED(status), "status 0x%x", status);
    cr_assert_eq(zk.pid, 0);
}

Test(zk_harness, ensemble_survives_losing_a_node)
{
    int64_t t0 = now_ms();
    cr_assert_eq(st_test_zk_ensemble_start(&ens, 3), 0);
    fprintf(stderr, "zk_harness timing: 3-node ensemble serving after %lld ms\n",
            (long long)(now_ms() - t0));
    char want[256];
    snprintf(want, sizeof(want), "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", ens.node[0].port,
             ens.node[1].port, ens.node[2].port);
    cr_assert_str_eq(ens.connect, want);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ens.node[i].myid, i + 1);

    cr_assert_eq(st_test_zk_create(ens.connect, "/e", "one", 0), ZOK);
    /* Written through one node, visible through each. */
    for (int i = 0; i < 3; i++)
        assert_get(ens.node[i].connect, "/e", "one");

    int leader = st_test_zk_ensemble_leader(&ens);
    cr_assert_geq(leader, 0, "a leader is elected");

    /* Kill the leader: the other two elect a new one and go on serving. */
    st_test_zk_t *victim = &ens.node[leader];
    st_test_zk_stop(victim, SIGKILL);
    t0 = now_ms();
    cr_assert_eq(st_test_zk_ensemble_wait(&ens, 2, 30000), 0);
    fprintf(stderr, "zk_harness timing: quorum of 2 serving %lld ms after the leader was killed\n",
            (long long)(now_ms() - t0));
    int new_leader = st_test_zk_ensemble_leader(&ens);
    cr_assert(new_leader >= 0 && new_leader != leader, "new leader %d (old %d)", new_leader,
              leader);
    cr_assert_eq(st_test_zk_create(ens.connect, "/e2", "two", 0), ZOK);
    assert_get(ens.connect, "/e", "one");

    /* The restarted node rejoins and has what was written while it was down. */
    t0 = now_ms();
    cr_assert_eq(st_test_zk_restart(victim), 0);
    fprintf(stderr, "zk_harness timing: killed node rejoined %lld ms after its restart\n",
            (long long)(now_ms() - t0));
    assert_get(victim->connect, "/e2", "two");
    cr_assert_eq(st_test_zk_ensemble_wait(&ens, 3, 1000), 0);

    /* A paused follower does not stop the others either. */
    int follower = (st_test_zk_ensemble_leader(&ens) + 1) % 3;
    cr_assert_eq(st_test_zk_pause(&ens.node[follower]), 0);
    cr_assert_eq(st_test_zk_set(ens.node[(follower + 1) % 3].connect, "/e", "paused"), ZOK);
    cr_assert_eq(st_test_zk_resume(&ens.node[follower]), 0);
    cr_assert_eq(st_test_zk_ensemble_wait(&ens, 3, 30000), 0);
    /* A follower may serve a read before it has applied the commit: poll briefly. */
    char buf[64] = "";
    for (int64_t end = now_ms() + 5000; now_ms() < end; usleep(50000))
        if (st_test_zk_get(ens.node[follower].connect, "/e", buf, sizeof(buf)) == 6 &&
            strcmp(buf, "paused") == 0)
            break;
    cr_assert_str_eq(buf, "paused");

    pid_t pids[3];
    for (int i = 0; i < 3; i++)
        pids[i] = ens.node[i].pid;
    st_test_zk_ensemble_cleanup(&ens);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(kill(pids[i], 0), -1, "node %d's JVM is gone", i + 1);
}
