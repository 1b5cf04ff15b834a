/* ZooKeeper session expiry of the controller and of a broker (reference §2.11, §6 items 1, 2, 4),
 * at the controller level: nodes and fake brokers, no real brokers (the controller channel just
 * retries). Each test runs its own standalone ZooKeeper (zk_harness.h) because some pause it.
 *
 *   - cloned_session_close_expires_both: the "zoo_set trick": a second client opens a node's
 *     session (same id and password) and closes it, which expires it server-side,
 *     deterministically. Both nodes' sessions are expired at once: each must resign (the
 *     controller), re-register /brokers/ids/<id> with a NEW broker epoch (the czxid of the new
 *     znode, reported through on_broker_epoch) within the session timeout plus a bound, and a
 *     controller must be elected again with a higher epoch. A monitor thread samples both nodes
 *     every millisecond throughout: two nodes never both say "controller" at the same epoch.
 *   - reregistration_retried_until_the_id_is_free: after an expiry, a foreign live session holds
 *     /brokers/ids/<id>; re-registration keeps failing and is retried on the node thread's
 *     timer, and succeeds (new broker epoch) soon after that session goes.
 *   - paused_controller_process: the controller runs in a child process that is SIGSTOPped for
 *     three session timeouts (a long GC pause): its session expires while it sleeps, the other
 *     node takes over with epoch + 1 and moves a leader; after SIGCONT the old controller must
 *     resign without writing anything (the partition znode keeps the new controller's epoch and
 *     version), re-register with a new broker epoch within the bound, and follow the new
 *     controller. The split-brain monitor reads both processes through shared memory.
 *   - zk_pause_converges / expiry_during_recovery: ZooKeeper itself is SIGSTOPped for three
 *     session timeouts (twice in a row in the second test, the second pause hitting the
 *     recovery). Whether a session expires then is a race inside ZooKeeper (a reconnect that
 *     reaches the server before its session expirer revalidates the session), so these assert
 *     convergence: every node registered under its current session, a broker epoch that is new
 *     whenever its session was replaced, exactly one controller whose epoch ZooKeeper holds,
 *     and never two controllers at one epoch.
 *   - multi_on_an_expired_session_is_refused: a controller-style fenced multi on a chrooted
 *     session that has just expired returns -ESHUTDOWN instead of reaching libzookeeper_mt's
 *     zoo_amulti, which double-frees the op paths then (st_zk.c, session_over). */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "st_controller.h"
#include "st_znode.h"
#include "st_zk.h"
#include "zk_harness.h"
#include "test_util.h"

#define SESSION_MS 2000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define WAIT_FOR(cond, ms)                                                     \
    do {                                                                       \
        int64_t _dl = now_ms() + (ms);                                         \
        while (!(cond) && now_ms() < _dl)                                      \
            usleep(5000);                                                      \
        cr_assert(cond, "timed out waiting for " #cond);                       \
    } while (0)

/* What a node reported through its callbacks (node thread -> test thread). */
typedef struct seen {
    int32_t id;
    _Atomic int64_t epoch;          /* last broker epoch reported */
    _Atomic int64_t epoch_at;       /* when (monotonic ms) */
    atomic_int reports;
} seen_t;

static void on_epoch(void *arg, int64_t epoch)
{
    seen_t *s = arg;
    atomic_store(&s->epoch, epoch);
    atomic_store(&s->epoch_at, now_ms());
    atomic_fetch_add(&s->reports, 1);
}

static st_node_t *start_node(const char *connect, int32_t id, seen_t *seen)
{
    st_node_listener_t l = { "PLAINTEXT", "PLAINTEXT", "127.0.0.1", 21000 + id };
    st_node_config_t cfg;
    st_node_config_init(&cfg);
    cfg.broker_id = id;
    cfg.zk_connect = connect;
    cfg.zk_session_timeout_ms = SESSION_MS;
    cfg.zk_connection_timeout_ms = 10000;
    cfg.listeners = &l;
    cfg.n_listeners = 1;
    cfg.auto_leader_rebalance_enable = false;
    cfg.on_broker_epoch = on_epoch;
    cfg.cb_arg = seen;
    seen->id = id;
    st_node_t *n = NULL;
    char err[512];
    int r = st_node_start(&cfg, &n, err, sizeof(err));
    cr_assert_eq(r, 0, "node %d: %s", id, err);
    atomic_store(&seen->epoch, st_node_broker_epoch(n));
    return n;
}

static st_zk_t *raw(const char *connect)
{
    st_zk_config_t c = { .connect = connect, .session_timeout_ms = 10000,
                         .connection_timeout_ms = 10000 };
    st_zk_t *zk = NULL;
    char err[256];
    cr_assert_eq(st_zk_open(&c, &zk, err, sizeof(err)), 0, "zk open: %s", err);
    return zk;
}

static int32_t read_epoch(st_zk_t *zk)
{
    char *d = NULL, err[128];
    int len = 0;
    int32_t e = -1;
    if (st_zk_get(zk, ST_ZPATH_CONTROLLER_EPOCH, false, &d, &len, NULL) == 0)
        st_znode_controller_epoch_decode("/controller_epoch", d, (size_t)len, &e, err, sizeof(err));
    free(d);
    return e;
}

static int64_t registration_czxid(st_zk_t *zk, int32_t id)
{
    char path[64];
    struct Stat st;
    st_zpath_broker(path, sizeof(path), id);
    return st_zk_exists(zk, path, false, &st) == 0 ? st.czxid : -1;
}

/* ---- the split-brain monitor ----------------------------------------------------------------- */

typedef struct monitor {
    st_node_t *nodes[2];
    atomic_bool stop;
    atomic_int violations;
    int32_t bad_epoch;
    atomic_long samples;
    pthread_t th;
} monitor_t;

/* A node "believes it is controller at epoch e" when is_controller holds before and after
 * reading its epoch (the epoch of an active controller does not change while it stays active). */
static bool believes(st_node_t *n, int32_t *ret_epoch)
{
    if (!st_node_is_controller(n))
        return false;
    *ret_epoch = st_node_controller_epoch(n);
    return st_node_is_controller(n);
}

static void *monitor_main(void *arg)
{
    monitor_t *m = arg;
    while (!atomic_load(&m->stop)) {
        int32_t e0 = -1, e1 = -1;
        bool c0 = believes(m->nodes[0], &e0), c1 = believes(m->nodes[1], &e1);
        if (c0 && c1 && e0 == e1) {
            m->bad_epoch = e0;
            atomic_fetch_add(&m->violations, 1);
        }
        atomic_fetch_add(&m->samples, 1);
        usleep(1000);
    }
    return NULL;
}

static void monitor_start(monitor_t *m, st_node_t *a, st_node_t *b)
{
    memset(m, 0, sizeof(*m));
    m->nodes[0] = a;
    m->nodes[1] = b;
    cr_assert_eq(pthread_create(&m->th, NULL, monitor_main, m), 0);
}

static void monitor_stop(monitor_t *m)
{
    atomic_store(&m->stop, true);
    pthread_join(m->th, NULL);
    fprintf(stderr, "split-brain monitor: %ld samples, %d violations\n",
            (long)atomic_load(&m->samples), atomic_load(&m->violations));
    cr_assert_eq(atomic_load(&m->violations), 0,
                 "two nodes both believed they were controller at epoch %d", m->bad_epoch);
}

/* Both nodes re-registered with a new broker epoch (reported and in ZooKeeper). */
static bool reregistered(seen_t *s, int64_t old_epoch, st_node_t *n, st_zk_t *zk)
{
    int64_t e = atomic_load(&s->epoch);
    return e > old_epoch && st_node_broker_epoch(n) == e && registration_czxid(zk, s->id) == e;
}

static int32_t controller_epoch_now(st_node_t *a, st_node_t *b)
{
    int32_t e = -1;
    if (believes(a, &e) || believes(b, &e))
        return e;
    return -1;
}

static void setup(st_test_zk_t *zk, char *connect, size_t len)
{
    int r = st_test_zk_start(zk);
    cr_assert_eq(r, 0, "cannot start ZooKeeper: %d", r);
    snprintf(connect, len, "%s/strand", zk->connect);
}

static void noop_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)type; (void)state; (void)path; (void)ctx;
}

static zhandle_t *connect_as(const char *ensemble, const clientid_t *cid)
{
    zhandle_t *h = zookeeper_init(ensemble, noop_watcher, SESSION_MS, cid, NULL, 0);
    cr_assert_not_null(h);
    int64_t dl = now_ms() + 10000;
    while (zoo_state(h) != ZOO_CONNECTED_STATE && now_ms() < dl)
        usleep(5000);
    cr_assert_eq(zoo_state(h), ZOO_CONNECTED_STATE);
    return h;
}

/* Expires a session server-side: a second client takes it over (same id and password) and
 * closes it. The owner learns "expired" at its next contact with the server.
 *
 * The takeover races with the owner: the server drops the owner's connection when the clone
 * attaches, the owner reconnects at once and may take the session back before the clone's
 * close is sent, and then the close never reaches the session (seen in CI: one of two brokers
 * never expired). So the clone marks the session with an ephemeral probe znode, and a third
 * client checks after the close that the probe is gone, which ZooKeeper does only when the
 * session has really been closed; otherwise the takeover is tried again. */
static void expire_session(const char *ensemble, clientid_t cid)
{
    char probe[64];
    snprintf(probe, sizeof(probe), "/expire-probe-%llx", (unsigned long long)cid.client_id);
    zhandle_t *check = connect_as(ensemble, NULL);
    bool gone = false;
    for (int attempt = 0; attempt < 10 && !gone; attempt++) {
        zhandle_t *clone = connect_as(ensemble, &cid);
        int rc = zoo_create(clone, probe, "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
        zookeeper_close(clone);
        struct Stat st;
        int ex = zoo_exists(check, probe, 0, &st);
        gone = (rc == ZOK || rc == ZNODEEXISTS) && ex == ZNONODE;
        if (!gone)
            fprintf(stderr, "expire_session 0x%llx: attempt %d did not close the session "
                    "(create %d, probe %s); retrying\n", (unsigned long long)cid.client_id,
                    attempt + 1, rc, ex == ZOK ? "still there" : "absent");
    }
    zookeeper_close(check);
    cr_assert(gone, "could not expire session 0x%llx in 10 takeovers",
              (unsigned long long)cid.client_id);
}

Test(controller_session, cloned_session_close_expires_both, .timeout = 120)
{
    st_test_zk_t zks;
    char c[128];
    setup(&zks, c, sizeof(c));
    seen_t sa = { 0 }, sb = { 0 };
    st_node_t *a = start_node(c, 1, &sa);
    WAIT_FOR(st_node_is_controller(a), 10000);
    st_node_t *b = start_node(c, 2, &sb);
    WAIT_FOR(st_node_controller_id(b) == 1, 10000);
    st_zk_t *zk = raw(c);
    int32_t epoch0 = read_epoch(zk);
    cr_assert_eq(epoch0, 1);
    int64_t ea = st_node_broker_epoch(a), eb = st_node_broker_epoch(b);
    clientid_t ca = *zoo_client_id(st_zk_handle(st_node_zk(a)));
    clientid_t cb = *zoo_client_id(st_zk_handle(st_node_zk(b)));
    monitor_t mon;
    monitor_start(&mon, a, b);
    int64_t t0 = now_ms();
    expire_session(zks.connect, ca);
    expire_session(zks.connect, cb);
    /* new broker epochs within the session timeout plus a bound (3 s) */
    WAIT_FOR(reregistered(&sa, ea, a, zk) && reregistered(&sb, eb, b, zk), SESSION_MS + 3000);
    int64_t ta = atomic_load(&sa.epoch_at) - t0, tb = atomic_load(&sb.epoch_at) - t0;
    /* and a controller again, with a higher epoch, that ZooKeeper agrees on */
    WAIT_FOR(controller_epoch_now(a, b) > epoch0, SESSION_MS + 3000);
    int64_t tc = now_ms() - t0;
    int32_t epoch1 = controller_epoch_now(a, b);
    WAIT_FOR(read_epoch(zk) == epoch1, 2000);
    int32_t who = st_node_is_controller(a) ? 1 : 2;
    WAIT_FOR(st_node_controller_id(who == 1 ? b : a) == who, 5000);
    cr_assert(!(st_node_is_controller(a) && st_node_is_controller(b)));
    fprintf(stderr, "SESSION EXPIRY (both sessions closed server-side): re-registered after %lld "
            "/ %lld ms (broker epochs %lld -> %lld, %lld -> %lld); controller %d with epoch %d -> "
            "%d after %lld ms\n", (long long)ta, (long long)tb, (long long)ea,
            (long long)atomic_load(&sa.epoch), (long long)eb, (long long)atomic_load(&sb.epoch),
            who, epoch0, epoch1, (long long)tc);
    usleep(300000);   /* keep watching a little after the dust settles */
    monitor_stop(&mon);
    st_node_stop(a);
    st_node_stop(b);
    st_zk_close(zk);
    st_test_zk_cleanup(&zks);
}

/* Re-registration is retried on the node thread's timer: right after node 1's session is
 * expired, another session takes /brokers/ids/1 (a live foreign owner: not ours to delete), so
 * every attempt fails until that session goes; then the next retry (backoff at most 2 s)
 * registers with a new broker epoch. */
Test(controller_session, reregistration_retried_until_the_id_is_free, .timeout = 120)
{
    st_test_zk_t zks;
    char c[128];
    setup(&zks, c, sizeof(c));
    seen_t sa = { 0 }, sb = { 0 };
    st_node_t *a = start_node(c, 1, &sa);
    WAIT_FOR(st_node_is_controller(a), 10000);
    st_node_t *b = start_node(c, 2, &sb);
    WAIT_FOR(st_node_controller_id(b) == 1, 10000);
    st_zk_t *zk = raw(c);
    int64_t ea = st_node_broker_epoch(a);
    st_zk_t *squatter = NULL;
    for (int attempt = 0; attempt < 5 && !squatter; attempt++) {
        st_zk_t *r = raw(c);
        clientid_t ca = *zoo_client_id(st_zk_handle(st_node_zk(a)));
        expire_session(zks.connect, ca);
        const char *reg = "{\"version\":5,\"host\":\"10.0.0.9\",\"port\":9,\"jmx_port\":-1,"
                          "\"timestamp\":\"1\",\"endpoints\":[\"PLAINTEXT://10.0.0.9:9\"],"
                          "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}}";
        if (st_zk_create(r, "/brokers/ids/1", reg, (int)strlen(reg), ZOO_EPHEMERAL, NULL, 0) == 0)
            squatter = r;   /* we beat node 1's re-registration */
        else
            st_zk_close(r);
        if (!squatter)   /* node 1 won the race: let it settle, try again */
            WAIT_FOR(reregistered(&sa, ea, a, zk) && (ea = atomic_load(&sa.epoch)) > 0, 10000);
    }
    cr_assert_not_null(squatter, "never got /brokers/ids/1 before node 1 re-registered");
    /* node 1 keeps failing: no registration, no new broker epoch, not controller */
    WAIT_FOR(st_node_is_controller(b), 10000);
    usleep(1500000);
    cr_assert_eq(atomic_load(&sa.epoch), ea, "registered over a live broker's znode");
    cr_assert(!st_node_is_controller(a));
    /* the id is freed: the next timer-driven retry registers */
    int64_t t_free = now_ms();
    st_zk_close(squatter);
    WAIT_FOR(reregistered(&sa, ea, a, zk), 2000 + 1000);
    int64_t took = atomic_load(&sa.epoch_at) - t_free;
    WAIT_FOR(st_node_controller_id(a) == 2, 5000);
    fprintf(stderr, "REGISTRATION RETRY: node 1 registered %lld ms after its id was freed "
            "(broker epoch %lld -> %lld)\n", (long long)took, (long long)ea,
            (long long)atomic_load(&sa.epoch));
    st_node_stop(a);
    st_node_stop(b);
    st_zk_close(zk);
    st_test_zk_cleanup(&zks);
}

/* ---- nodes in child processes ---------------------------------------------------------------- */

typedef struct shared_node {
    _Atomic int64_t view;          /* (believes controller << 32) | controller epoch */
    _Atomic int64_t broker_epoch;  /* as reported through on_broker_epoch (or at start) */
    _Atomic int64_t reported_at;   /* CLOCK_MONOTONIC ms: comparable across processes */
    atomic_int controller_id;
    atomic_int ready;
} shared_node_t;

typedef struct shared {
    shared_node_t node[2];
    atomic_int stop;
} shared_t;

static void child_on_epoch(void *arg, int64_t epoch)
{
    shared_node_t *sn = arg;
    atomic_store(&sn->broker_epoch, epoch);
    atomic_store(&sn->reported_at, now_ms());
}

/* The child: runs a node and publishes what it believes every millisecond until told to stop. */
static pid_t spawn_node(shared_t *sh, int idx, const char *connect, int32_t id)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid > 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    shared_node_t *sn = &sh->node[idx];
    st_node_listener_t l = { "PLAINTEXT", "PLAINTEXT", "127.0.0.1", 21000 + id };
    st_node_config_t cfg;
    st_node_config_init(&cfg);
    cfg.broker_id = id;
    cfg.zk_connect = connect;
    cfg.zk_session_timeout_ms = SESSION_MS;
    cfg.zk_connection_timeout_ms = 10000;
    cfg.listeners = &l;
    cfg.n_listeners = 1;
    cfg.auto_leader_rebalance_enable = false;
    cfg.on_broker_epoch = child_on_epoch;
    cfg.cb_arg = sn;
    st_node_t *n = NULL;
    char err[512];
    if (st_node_start(&cfg, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "child node %d: %s\n", id, err);
        _exit(1);
    }
    atomic_store(&sn->broker_epoch, st_node_broker_epoch(n));
    atomic_store(&sn->ready, 1);
    while (!atomic_load(&sh->stop)) {
        int32_t e = 0;
        bool c = believes(n, &e);
        atomic_store(&sn->view, ((int64_t)c << 32) | (uint32_t)e);
        atomic_store(&sn->controller_id, st_node_controller_id(n));
        usleep(1000);
    }
    st_node_stop(n);
    _exit(0);
}

static bool shared_believes(shared_node_t *sn, int32_t *ret_epoch)
{
    int64_t v = atomic_load(&sn->view);
    *ret_epoch = (int32_t)(uint32_t)v;
    return v >> 32;
}

typedef struct xmonitor {
    shared_t *sh;
    atomic_bool stop;
    atomic_int violations;
    int32_t bad_epoch;
    atomic_long samples;
    pthread_t th;
} xmonitor_t;

static void *xmonitor_main(void *arg)
{
    xmonitor_t *m = arg;
    while (!atomic_load(&m->stop)) {
        int32_t e0, e1;
        bool c0 = shared_believes(&m->sh->node[0], &e0), c1 = shared_believes(&m->sh->node[1], &e1);
        if (c0 && c1 && e0 == e1) {
            m->bad_epoch = e0;
            atomic_fetch_add(&m->violations, 1);
        }
        atomic_fetch_add(&m->samples, 1);
        usleep(1000);
    }
    return NULL;
}

static int leader_state(st_zk_t *zk, const char *t, int p, st_lisr_t *out, int *ret_version)
{
    char path[256], err[256];
    st_zpath_partition_state(path, sizeof(path), t, p);
    char *d = NULL;
    int len = 0;
    struct Stat st;
    if (st_zk_get(zk, path, false, &d, &len, &st) != 0)
        return -100;
    int r = st_znode_lisr_decode(path, d, d ? (size_t)len : 0, out, err, sizeof(err));
    free(d);
    if (r < 0)
        return -100;
    if (ret_version)
        *ret_version = st.version;
    return out->leader;
}

static int leader_of(st_zk_t *zk, const char *t, int p)
{
    st_lisr_t l;
    int leader = leader_state(zk, t, p, &l, NULL);
    if (leader != -100)
        st_lisr_free(&l);
    return leader;
}

static st_zk_t *fake_broker(const char *connect, int32_t id)
{
    st_zk_t *zk = raw(connect);
    st_endpoint_t ep = { "PLAINTEXT", "PLAINTEXT", "127.0.0.1", 30000 + id };
    st_broker_reg_t reg = { .id = id, .endpoints = &ep, .n_endpoints = 1, .jmx_port = -1 };
    char *json = st_znode_broker_encode(&reg);
    char path[64];
    st_zpath_broker(path, sizeof(path), id);
    cr_assert_eq(st_zk_create(zk, path, json, (int)strlen(json), ZOO_EPHEMERAL, NULL, 0), 0);
    free(json);
    return zk;
}

Test(controller_session, paused_controller_process, .timeout = 120)
{
    st_test_zk_t zks;
    char c[128];
    setup(&zks, c, sizeof(c));
    shared_t *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                        -1, 0);
    cr_assert_neq(sh, MAP_FAILED);
    memset(sh, 0, sizeof(*sh));
    /* children first: nothing of libzookeeper runs in this process when they fork */
    pid_t pa = spawn_node(sh, 0, c, 1);
    int32_t e;
    WAIT_FOR(atomic_load(&sh->node[0].ready) && shared_believes(&sh->node[0], &e), 10000);
    pid_t pb = spawn_node(sh, 1, c, 2);
    WAIT_FOR(atomic_load(&sh->node[1].ready) && atomic_load(&sh->node[1].controller_id) == 1, 10000);
    st_zk_t *zk = raw(c);
    st_zk_t *b3 = fake_broker(c, 3), *b4 = fake_broker(c, 4);
    st_zk_ensure_path(zk, "/brokers/topics");
    const char *topic = "{\"version\":2,\"partitions\":{\"0\":[3,4]}}";
    cr_assert_eq(st_zk_create(zk, "/brokers/topics/z", topic, (int)strlen(topic), 0, NULL, 0), 0);
    WAIT_FOR(leader_of(zk, "z", 0) == 3, 10000);
    int64_t ea = atomic_load(&sh->node[0].broker_epoch);

    xmonitor_t mon = { .sh = sh };
    cr_assert_eq(pthread_create(&mon.th, NULL, xmonitor_main, &mon), 0);
    /* the controller freezes for three session timeouts */
    int64_t t0 = now_ms();
    cr_assert_eq(st_test_pause(pa, 5000), 0);
    WAIT_FOR(shared_believes(&sh->node[1], &e) && e == 2, SESSION_MS + 3000);
    int64_t t_takeover = now_ms() - t0;
    /* the new controller acts: broker 3 dies, broker 4 leads with controller epoch 2 */
    st_zk_close(b3);
    WAIT_FOR(leader_of(zk, "z", 0) == 4, 5000);
    st_lisr_t l;
    int version = -1;
    cr_assert_eq(leader_state(zk, "z", 0, &l, &version), 4);
    cr_assert_eq(l.controller_epoch, 2);
    st_lisr_free(&l);
    int64_t left = 3 * SESSION_MS - (now_ms() - t0);
    if (left > 0)
        usleep((useconds_t)left * 1000);
    /* the zombie wakes up: it must resign, write nothing, re-register with a new epoch */
    int64_t t1 = now_ms();
    cr_assert_eq(kill(pa, SIGCONT), 0);
    WAIT_FOR(atomic_load(&sh->node[0].broker_epoch) > ea, SESSION_MS + 3000);
    int64_t t_rereg = atomic_load(&sh->node[0].reported_at) - t1;
    int64_t ea1 = atomic_load(&sh->node[0].broker_epoch);
    WAIT_FOR(registration_czxid(zk, 1) == ea1, 2000);
    WAIT_FOR(atomic_load(&sh->node[0].controller_id) == 2, 5000);
    usleep(500000);
    cr_assert(!shared_believes(&sh->node[0], &e), "the old controller still believes (epoch %d)", e);
    cr_assert(shared_believes(&sh->node[1], &e) && e == 2);
    cr_assert_eq(read_epoch(zk), 2);
    int version2 = -1;
    cr_assert_eq(leader_state(zk, "z", 0, &l, &version2), 4);
    cr_assert_eq(l.controller_epoch, 2, "the zombie wrote the partition state");
    cr_assert_eq(version2, version, "the zombie wrote the partition state");
    st_lisr_free(&l);
    fprintf(stderr, "PAUSED CONTROLLER (SIGSTOP %d ms): node 2 controller with epoch 2 after %lld "
            "ms; node 1 re-registered %lld ms after SIGCONT (broker epoch %lld -> %lld) and "
            "wrote nothing\n", 3 * SESSION_MS, (long long)t_takeover, (long long)t_rereg,
            (long long)ea, (long long)ea1);
    atomic_store(&mon.stop, true);
    pthread_join(mon.th, NULL);
    fprintf(stderr, "split-brain monitor: %ld samples, %d violations\n",
            (long)atomic_load(&mon.samples), atomic_load(&mon.violations));
    cr_assert_eq(atomic_load(&mon.violations), 0,
                 "two nodes both believed they were controller at epoch %d", mon.bad_epoch);
    atomic_store(&sh->stop, 1);
    int status;
    cr_assert_eq(waitpid(pa, &status, 0), pa);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(waitpid(pb, &status, 0), pb);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    st_zk_close(b4);
    st_zk_close(zk);
    munmap(sh, sizeof(*sh));
    st_test_zk_cleanup(&zks);
}

/* ---- writes on an expired handle ------------------------------------------------------------- */

/* The controller's fenced writes on a session that has just expired (a controller SIGSTOPped past
 * its session and resumed: its AlterIsr for its own partitions runs before the EXPIRED event is
 * handled). libzookeeper_mt's zoo_amulti / zoo_multi free the chroot-prefixed path of an op whose
 * request cannot be built (the handle is unrecoverable) and then free it again, an abort
 * ("free(): double free detected in tcache 2"). st_zk must answer such calls itself with
 * -ESHUTDOWN (session gone), which is also what makes the controller resign. The connect string
 * has a chroot, as in every real deployment of the fault suite. */
Test(controller_session, multi_on_an_expired_session_is_refused, .timeout = 120)
{
    st_test_zk_t zks;
    char c[128];
    setup(&zks, c, sizeof(c));
    st_zk_t *zk = raw(c);
    cr_assert_eq(st_zk_ensure_path(zk, "/fenced"), 0);
    clientid_t cid = *zoo_client_id(st_zk_handle(zk));
    expire_session(zks.connect, cid);
    /* the owner learns it at its next contact with the server */
    int64_t dl = now_ms() + 20000;
    while (st_zk_state(zk) != ST_ZK_EXPIRED && now_ms() < dl) {
        st_zk_exists(zk, "/fenced", false, NULL);
        usleep(20000);
    }
    cr_assert_eq(st_zk_state(zk), ST_ZK_EXPIRED);

    /* a fenced write as the controller makes it: a check of /controller_epoch, then a set */
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    struct Stat st;
    zoo_check_op_init(&ops[0], ST_ZPATH_CONTROLLER_EPOCH, 1);
    zoo_set_op_init(&ops[1], "/fenced", "x", 1, -1, &st);
    int failed = 0;
    cr_assert_eq(st_zk_multi(zk, 2, ops, res, &failed), -ESHUTDOWN);
    st_zk_multi_t m[2] = { { .ops = ops, .results = res, .n_ops = 2 },
                           { .ops = ops, .results = res, .n_ops = 2 } };
    cr_assert_eq(st_zk_multi_many(zk, m, 2), -ESHUTDOWN);
    cr_assert_eq(m[0].rc, -ESHUTDOWN);
    cr_assert_eq(m[1].rc, -ESHUTDOWN);
    /* the other calls refuse cleanly too */
    cr_assert_eq(st_zk_set(zk, "/fenced", "y", 1, -1, NULL), -ESHUTDOWN);
    st_zk_close(zk);
    st_test_zk_cleanup(&zks);
}

/* ---- ZooKeeper itself paused ------------------------------------------------------------------- */

/* After a pause: the cluster converges (see the file comment). */
static void assert_converged(st_node_t *a, seen_t *sa, int64_t sid_a, int64_t ea, st_node_t *b,
                             seen_t *sb, int64_t sid_b, int64_t eb, st_zk_t *zk,
                             int32_t epoch0, int64_t t_resume, const char *what)
{
    /* both registered under their current sessions */
    WAIT_FOR(registration_czxid(zk, 1) == st_node_broker_epoch(a) &&
                 registration_czxid(zk, 2) == st_node_broker_epoch(b) &&
                 st_zk_state(st_node_zk(a)) == ST_ZK_CONNECTED &&
                 st_zk_state(st_node_zk(b)) == ST_ZK_CONNECTED,
             3 * SESSION_MS + 5000);
    bool xa = st_zk_session_id(st_node_zk(a)) != sid_a, xb = st_zk_session_id(st_node_zk(b)) != sid_b;
    /* a replaced session means a new registration with a new broker epoch, reported */
    if (xa)
        WAIT_FOR(reregistered(sa, ea, a, zk), SESSION_MS + 3000);
    if (xb)
        WAIT_FOR(reregistered(sb, eb, b, zk), SESSION_MS + 3000);
    /* exactly one controller, whose epoch ZooKeeper holds, followed by the other */
    WAIT_FOR(controller_epoch_now(a, b) >= epoch0, SESSION_MS + 3000);
    int32_t epoch1 = controller_epoch_now(a, b);
    WAIT_FOR(read_epoch(zk) == epoch1, 2000);
    int32_t who = st_node_is_controller(a) ? 1 : 2;
    WAIT_FOR(st_node_controller_id(who == 1 ? b : a) == who, 5000);
    cr_assert(!(st_node_is_controller(a) && st_node_is_controller(b)));
    if (xa || xb)
        cr_assert_gt(epoch1, epoch0, "a session expired but no new election took place");
    fprintf(stderr, "%s: sessions expired: node 1 %s, node 2 %s; converged %lld ms after the "
            "resume: controller %d with epoch %d (was %d)\n", what, xa ? "yes" : "no",
            xb ? "yes" : "no", (long long)(now_ms() - t_resume), who, epoch1, epoch0);
}

static void pause_test(int second_pause_ms, const char *what)
{
    st_test_zk_t zks;
    char c[128];
    setup(&zks, c, sizeof(c));
    seen_t sa = { 0 }, sb = { 0 };
    st_node_t *a = start_node(c, 1, &sa);
    WAIT_FOR(st_node_is_controller(a), 10000);
    st_node_t *b = start_node(c, 2, &sb);
    WAIT_FOR(st_node_controller_id(b) == 1, 10000);
    int64_t ea = st_node_broker_epoch(a), eb = st_node_broker_epoch(b);
    int64_t sid_a = st_zk_session_id(st_node_zk(a)), sid_b = st_zk_session_id(st_node_zk(b));
    monitor_t mon;
    monitor_start(&mon, a, b);
    cr_assert_eq(st_test_zk_pause(&zks), 0);
    usleep(3 * SESSION_MS * 1000);
    cr_assert_eq(st_test_zk_resume(&zks), 0);
    if (second_pause_ms) {
        usleep(20000);   /* expiries being learned, new sessions starting */
        cr_assert_eq(st_test_zk_pause(&zks), 0);
        usleep((useconds_t)second_pause_ms * 1000);
        cr_assert_eq(st_test_zk_resume(&zks), 0);
    }
    int64_t t_resume = now_ms();
    st_zk_t *zk = raw(c);
    assert_converged(a, &sa, sid_a, ea, b, &sb, sid_b, eb, zk, 1, t_resume, what);
    usleep(300000);
    monitor_stop(&mon);
    st_node_stop(a);
    st_node_stop(b);
    st_zk_close(zk);
    st_test_zk_cleanup(&zks);
}

Test(controller_session, zk_pause_converges, .timeout = 120)
{
    pause_test(0, "ZOOKEEPER PAUSED");
}

Test(controller_session, expiry_during_recovery, .timeout = 120)
{
    pause_test(2 * SESSION_MS, "ZOOKEEPER PAUSED TWICE");
}
