/* Integration-test harness for real ZooKeeper (see zk_harness.h): starts Debian's ZooKeeper 3.8
 * as a standalone server (ZooKeeperServerMain) or as an ensemble (QuorumPeerMain) on free
 * loopback ports with temporary directories; stops, kills, pauses and restarts single servers;
 * checks readiness with the `srvr` four-letter word; and offers synchronous znode helpers over
 * libzookeeper_mt.
 *
 * Standalone on purpose: it shares no code with harness.c (both use test_util.c), so a test can
 * link either or both.
 *
 * Start-up races: a port is found free by binding port 0 and closing the socket, so another
 * process may take it before the JVM binds it. The JVM then exits with "Address already in use"
 * and the start is retried (up to 3 times) on new ports. */
#include "zk_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <zookeeper/zookeeper.h>

#include "test_util.h"

#define STANDALONE_START_TIMEOUT_MS 20000
#define ENSEMBLE_START_TIMEOUT_MS   30000
#define STOP_TIMEOUT_MS             15000
#define CLIENT_CONNECT_TIMEOUT_MS   10000
#define CLIENT_SESSION_TIMEOUT_MS   10000
#define START_ATTEMPTS              3

#define DEFAULT_JAR_DIR "/usr/share/java"

/* JVM flags: small heap, serial GC and the C1 compiler only start the server fastest and use
 * least CPU on a shared 2-core machine (measured: ~0.25-0.3 s to serving); no hsperfdata files;
 * no log4j JMX beans. */
static const char *const jvm_flags[] = {
    "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
    "-XX:-UsePerfData", "-XX:+ExitOnOutOfMemoryError", "-Dzookeeper.jmx.log4j.disable=true",
};

/* Prints the last ~32 KiB of a log file (ZooKeeper logs at INFO: the whole file is long). */
static void print_log_tail(const char *path, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(out, "---- %s: %s ----\n", path, strerror(errno));
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > 32768 ? size - 32768 : 0;
    fseek(f, from, SEEK_SET);
    char line[2048];
    if (from > 0 && fgets(line, sizeof(line), f)) /* skip the partial first line */
        fprintf(out, "---- %s (last %ld bytes) ----\n", path, size - from);
    else
        fprintf(out, "---- %s ----\n", path);
    while (fgets(line, sizeof(line), f))
        fputs(line, out);
    fprintf(out, "---- end of %s ----\n", path);
    fclose(f);
}

/* Removes dir, unless $STRAND_KEEP_TEST_DIRS asks to keep the test's directories. */
static void remove_tree(const char *dir, bool always)
{
    if (dir[0] && (always || getenv("STRAND_KEEP_TEST_DIRS") == NULL))
        st_test_remove_tree(dir);
}

/* ---- four-letter words ---------------------------------------------------------------------- */

int st_test_zk_4lw(int port, const char *cmd, char *buf, size_t len, int timeout_ms)
{
    if (!buf || len == 0)
        return -EINVAL;
    buf[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int err = 0;
    size_t got = 0;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
        err = -errno;
        goto out;
    }
    struct pollfd pfd = { fd, POLLOUT, 0 };
    if (poll(&pfd, 1, timeout_ms) <= 0) {
        err = -ETIMEDOUT;
        goto out;
    }
    int soerr = 0;
    socklen_t slen = sizeof(soerr);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen);
    if (soerr) {
        err = -soerr;
        goto out;
    }
    if (send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) != (ssize_t)strlen(cmd)) {
        err = -EIO;
        goto out;
    }
    for (;;) {
        int64_t left = deadline - st_test_now_ms();
        if (left <= 0) {
            err = -ETIMEDOUT;
            goto out;
        }
        pfd = (struct pollfd){ fd, POLLIN, 0 };
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        char tmp[1024];
        ssize_t r = read(fd, tmp, sizeof(tmp));
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r < 0) {
            err = -errno;
            goto out;
        }
        if (r == 0)
            break;
        size_t room = len - 1 - got;
        size_t n = (size_t)r < room ? (size_t)r : room;
        memcpy(buf + got, tmp, n);
        got += n;
        buf[got] = '\0';
    }
out:
    close(fd);
    return err < 0 ? err : (int)got;
}

/* True if the server answers `srvr` with a Mode line, i.e. it serves client requests. */
static bool zk_serving(int port, char *mode, size_t mode_len)
{
    char buf[2048];
    if (st_test_zk_4lw(port, "srvr", buf, sizeof(buf), 500) <= 0)
        return false;
    const char *m = strstr(buf, "Mode: ");
    if (!m)
        return false;
    if (mode) {
        m += 6;
        size_t n = strcspn(m, "\r\n");
        if (n >= mode_len)
            n = mode_len - 1;
        memcpy(mode, m, n);
        mode[n] = '\0';
    }
    return true;
}

/* ---- one server ----------------------------------------------------------------------------- */

/* Writes zoo.cfg and log4j.properties into zk->dir. servers: the ensemble's nodes (NULL and
 * n = 0 for a standalone server). */
static int write_files(const st_test_zk_t *zk, const st_test_zk_t *servers, int n)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/data", zk->dir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (zk->myid > 0) {
        snprintf(path, sizeof(path), "%s/data/myid", zk->dir);
        FILE *f = fopen(path, "w");
        if (!f)
            return -errno;
        fprintf(f, "%d\n", zk->myid);
        if (fclose(f) != 0)
            return -errno;
    }

    FILE *f = fopen(zk->cfg_path, "w");
    if (!f)
        return -errno;
    fprintf(f, "# written by the integration-test ZooKeeper harness\n"
               "tickTime=500\n"
               "minSessionTimeout=1000\n"
               "maxSessionTimeout=60000\n"
               "dataDir=%s/data\n"
               "clientPort=%d\n"
               "clientPortAddress=127.0.0.1\n"
               "4lw.commands.whitelist=*\n"
               "admin.enableServer=false\n"
               "# tests need no fsync (a killed process loses nothing) nor 64 MB preallocation\n"
               "forceSync=no\n"
               "preAllocSize=1024\n",
            zk->dir, zk->port);
    if (n > 0) {
        fprintf(f, "initLimit=20\nsyncLimit=10\n");
        for (int i = 0; i < n; i++)
            fprintf(f, "server.%d=127.0.0.1:%d:%d\n", servers[i].myid, servers[i].peer_port,
                    servers[i].election_port);
    }
    if (fclose(f) != 0)
        return -errno;

    snprintf(path, sizeof(path), "%s/log4j.properties", zk->dir);
    f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "log4j.rootLogger=INFO, CONSOLE\n"
               "log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
               "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
               "log4j.appender.CONSOLE.layout.ConversionPattern="
               "%%d{ISO8601} %%-5p [myid:%d] [%%t:%%C{1}@%%L] - %%m%%n\n",
            zk->myid);
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

/* The class path: $STRAND_ZK_CLASSPATH, or Debian's jars. */
static int class_path(char *buf, size_t len)
{
    const char *env = getenv("STRAND_ZK_CLASSPATH");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return 0;
    }
    static const char *const jars[] = { "zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar" };
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(jars) / sizeof(jars[0]); i++) {
        char jar[256];
        snprintf(jar, sizeof(jar), "%s/%s", DEFAULT_JAR_DIR, jars[i]);
        if (access(jar, R_OK) < 0) {
            if (i == 0) {
                fprintf(stderr, "zk_harness: %s not found: install Debian's zookeeper package "
                                "or set $STRAND_ZK_CLASSPATH\n", jar);
                return -ENOENT;
            }
            continue;   /* without a log binding slf4j is silent, but the server runs */
        }
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? ":" : "", jar);
    }
    return 0;
}

static int spawn(st_test_zk_t *zk)
{
    char cp[2048], log4j[320];
    int r = class_path(cp, sizeof(cp));
    if (r < 0)
        return r;
    snprintf(log4j, sizeof(log4j), "-Dlog4j.configuration=file:%s/log4j.properties", zk->dir);
    const char *java = getenv("JAVA");
    if (!java || !*java)
        java = "java";
    const char *main_class = zk->myid > 0 ? "org.apache.zookeeper.server.quorum.QuorumPeerMain"
                                          : "org.apache.zookeeper.server.ZooKeeperServerMain";
    enum { N_FLAGS = sizeof(jvm_flags) / sizeof(jvm_flags[0]) };
    const char *argv[N_FLAGS + 8];
    int argc = 0;
    argv[argc++] = java;
    for (int i = 0; i < N_FLAGS; i++)
        argv[argc++] = jvm_flags[i];
    argv[argc++] = log4j;
    argv[argc++] = "-cp";
    argv[argc++] = cp;
    argv[argc++] = main_class;
    argv[argc++] = zk->cfg_path;
    argv[argc] = NULL;

    pid_t pid = st_test_spawn_logged(java, argv, zk->dir, zk->log_path, "zk_harness");
    if (pid < 0)
        return pid;
    zk->pid = pid;
    zk->paused = false;
    return 0;
}

int st_test_zk_wait_serving(st_test_zk_t *zk, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    for (;;) {
        int status;
        if (zk->pid <= 0)
            return -ECHILD;
        if (st_test_child_exited(zk->pid, &status)) {
            zk->pid = 0;
            fprintf(stderr, "zk_harness: ZooKeeper %s (port %d) exited (status 0x%x)\n",
                    zk->myid ? "node" : "server", zk->port, status);
            print_log_tail(zk->log_path, stderr);
            return -ECHILD;
        }
        if (zk_serving(zk->port, NULL, 0))
            return 0;
        if (st_test_now_ms() > deadline)
            return -ETIMEDOUT;
        st_test_sleep_ms(50);
    }
}

int st_test_zk_stop(st_test_zk_t *zk, int sig)
{
    if (zk->pid <= 0)
        return -ESRCH;
    int status = st_test_stop_child(zk->pid, sig, zk->paused && sig != SIGKILL, STOP_TIMEOUT_MS,
                                    "zk_harness: ZooKeeper");
    zk->paused = false;
    zk->pid = 0;
    return status;
}

int st_test_zk_restart_nowait(st_test_zk_t *zk)
{
    if (zk->pid > 0)
        return -EBUSY;
    if (!zk->dir[0])
        return -EINVAL;
    return spawn(zk);
}

int st_test_zk_restart(st_test_zk_t *zk)
{
    int r = st_test_zk_restart_nowait(zk);
    if (r < 0)
        return r;
    int timeout = zk->myid > 0 ? ENSEMBLE_START_TIMEOUT_MS : STANDALONE_START_TIMEOUT_MS;
    r = st_test_zk_wait_serving(zk, timeout);
    if (r == -ETIMEDOUT) {
        fprintf(stderr, "zk_harness: restarted ZooKeeper on port %d did not serve within %d ms\n",
                zk->port, timeout);
        print_log_tail(zk->log_path, stderr);
        st_test_zk_stop(zk, SIGKILL);
    }
    return r;
}

/* Signals a stopped/continued child and waits until the kernel reports the new state. */
static int stop_or_continue(st_test_zk_t *zk, int sig)
{
    if (zk->pid <= 0)
        return -ESRCH;
    if (kill(zk->pid, sig) < 0)
        return -errno;
    int status;
    pid_t r = waitpid(zk->pid, &status, sig == SIGSTOP ? WUNTRACED : WCONTINUED);
    if (r == zk->pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
        zk->pid = 0;
        return -ECHILD;
    }
    zk->paused = sig == SIGSTOP;
    return 0;
}

int st_test_zk_pause(st_test_zk_t *zk)
{
    return zk->paused ? 0 : stop_or_continue(zk, SIGSTOP);
}

int st_test_zk_resume(st_test_zk_t *zk)
{
    return zk->paused ? stop_or_continue(zk, SIGCONT) : 0;
}

void st_test_zk_cleanup(st_test_zk_t *zk)
{
    if (zk->pid > 0)
        st_test_zk_stop(zk, SIGKILL);
    remove_tree(zk->dir, false);
    zk->dir[0] = '\0';
}

static void set_paths(st_test_zk_t *zk)
{
    snprintf(zk->cfg_path, sizeof(zk->cfg_path), "%s/zoo.cfg", zk->dir);
    snprintf(zk->log_path, sizeof(zk->log_path), "%s/zookeeper.log", zk->dir);
}

int st_test_zk_start(st_test_zk_t *zk)
{
    memset(zk, 0, sizeof(*zk));
    snprintf(zk->dir, sizeof(zk->dir), "/tmp/strand-zk-XXXXXX");
    if (!mkdtemp(zk->dir)) {
        zk->dir[0] = '\0';
        return -errno;
    }
    set_paths(zk);
    int r = 0;
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        if ((r = st_test_free_ports(&zk->port, 1)) < 0 || (r = write_files(zk, NULL, 0)) < 0 ||
            (r = spawn(zk)) < 0)
            return r;
        snprintf(zk->connect, sizeof(zk->connect), "127.0.0.1:%d", zk->port);
        r = st_test_zk_wait_serving(zk, STANDALONE_START_TIMEOUT_MS);
        if (r == 0)
            return 0;
        if (r == -ECHILD && st_test_file_contains(zk->log_path, "Address already in use")) {
            fprintf(stderr, "zk_harness: port %d was taken meanwhile, retrying\n", zk->port);
            continue;
        }
        break;
    }
    if (r == -ETIMEDOUT) {
        fprintf(stderr, "zk_harness: ZooKeeper on port %d did not serve within %d ms\n", zk->port,
                STANDALONE_START_TIMEOUT_MS);
        print_log_tail(zk->log_path, stderr);
    }
    if (zk->pid > 0)
        st_test_zk_stop(zk, SIGKILL);
    return r;
}

/* ---- ensemble ------------------------------------------------------------------------------- */

int st_test_zk_ensemble_wait(st_test_zk_ensemble_t *e, int serving, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    for (;;) {
        int count = 0;
        for (int i = 0; i < e->n; i++) {
            st_test_zk_t *zk = &e->node[i];
            int status;
            if (zk->pid > 0 && st_test_child_exited(zk->pid, &status)) {
                zk->pid = 0;
                fprintf(stderr, "zk_harness: ZooKeeper node %d (port %d) exited (status 0x%x)\n",
                        zk->myid, zk->port, status);
                print_log_tail(zk->log_path, stderr);
            }
            if (zk->pid > 0 && !zk->paused && zk_serving(zk->port, NULL, 0))
                count++;
        }
        if (count >= serving)
            return 0;
        if (st_test_now_ms() > deadline)
            return -ETIMEDOUT;
        st_test_sleep_ms(50);
    }
}

int st_test_zk_ensemble_leader(st_test_zk_ensemble_t *e)
{
    for (int i = 0; i < e->n; i++) {
        char mode[32];
        if (e->node[i].pid > 0 && !e->node[i].paused &&
            zk_serving(e->node[i].port, mode, sizeof(mode)) && strcmp(mode, "leader") == 0)
            return i;
    }
    return -1;
}

static void ensemble_kill_all(st_test_zk_ensemble_t *e)
{
    for (int i = 0; i < e->n; i++)
        if (e->node[i].pid > 0)
            st_test_zk_stop(&e->node[i], SIGKILL);
}

/* One attempt: new ports, fresh data directories, all nodes spawned, all serving. */
static int ensemble_try_start(st_test_zk_ensemble_t *e)
{
    int ports[3 * ST_TEST_ZK_MAX_NODES];
    int r = st_test_free_ports(ports, 3 * e->n);
    if (r < 0)
        return r;
    size_t used = 0;
    for (int i = 0; i < e->n; i++) {
        st_test_zk_t *zk = &e->node[i];
        zk->port = ports[3 * i];
        zk->peer_port = ports[3 * i + 1];
        zk->election_port = ports[3 * i + 2];
        snprintf(zk->connect, sizeof(zk->connect), "127.0.0.1:%d", zk->port);
        used += (size_t)snprintf(e->connect + used, sizeof(e->connect) - used, "%s%s",
                                 i ? "," : "", zk->connect);
    }
    for (int i = 0; i < e->n; i++) {
        st_test_zk_t *zk = &e->node[i];
        char data[320];
        snprintf(data, sizeof(data), "%s/data", zk->dir);
        remove_tree(data, true);      /* a previous attempt's epoch files would not match the ports */
        if ((r = write_files(zk, e->node, e->n)) < 0)
            return r;
    }
    for (int i = 0; i < e->n; i++)
        if ((r = spawn(&e->node[i])) < 0)
            return r;
    return st_test_zk_ensemble_wait(e, e->n, ENSEMBLE_START_TIMEOUT_MS);
}

int st_test_zk_ensemble_start(st_test_zk_ensemble_t *e, int n)
{
    memset(e, 0, sizeof(*e));
    if (n < 1 || n > ST_TEST_ZK_MAX_NODES)
        return -EINVAL;
    snprintf(e->dir, sizeof(e->dir), "/tmp/strand-zk-ens-XXXXXX");
    if (!mkdtemp(e->dir)) {
        e->dir[0] = '\0';
        return -errno;
    }
    e->n = n;
    for (int i = 0; i < n; i++) {
        st_test_zk_t *zk = &e->node[i];
        zk->myid = i + 1;
        snprintf(zk->dir, sizeof(zk->dir), "%s/node%d", e->dir, zk->myid);
        if (mkdir(zk->dir, 0755) < 0)
            return -errno;
        set_paths(zk);
    }
    int r = 0;
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        r = ensemble_try_start(e);
        if (r == 0)
            return 0;
        bool port_taken = false;
        for (int i = 0; i < n; i++)
            port_taken |= st_test_file_contains(e->node[i].log_path, "Address already in use");
        ensemble_kill_all(e);
        if (!port_taken)
            break;
        fprintf(stderr, "zk_harness: a port was taken meanwhile, restarting the ensemble\n");
        for (int i = 0; i < n; i++)
            unlink(e->node[i].log_path);
    }
    fprintf(stderr, "zk_harness: the %d-node ensemble did not serve: %s\n", n, strerror(-r));
    for (int i = 0; i < n; i++)
        print_log_tail(e->node[i].log_path, stderr);
    return r;
}

void st_test_zk_ensemble_cleanup(st_test_zk_ensemble_t *e)
{
    for (int i = 0; i < e->n && i < ST_TEST_ZK_MAX_NODES; i++)
        st_test_zk_cleanup(&e->node[i]);
    remove_tree(e->dir, false);
    e->dir[0] = '\0';
    e->n = 0;
}

/* ---- znode helpers -------------------------------------------------------------------------- */

static void client_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)type; (void)state; (void)path; (void)ctx;
}

/* The C client logs every connection at INFO: keep its warnings and errors only. */
static void client_log(const char *message)
{
    if (!strstr(message, "ZOO_INFO") && !strstr(message, "ZOO_DEBUG"))
        fprintf(stderr, "zk-client: %s\n", message);
}

/* Opens a session and waits until it is connected; NULL if not within the bound. */
static zhandle_t *client_open(const char *connect)
{
    zhandle_t *zh = zookeeper_init2(connect, client_watcher, CLIENT_SESSION_TIMEOUT_MS, NULL,
                                    NULL, 0, client_log);
    if (!zh)
        return NULL;
    int64_t deadline = st_test_now_ms() + CLIENT_CONNECT_TIMEOUT_MS;
    while (zoo_state(zh) != ZOO_CONNECTED_STATE) {
        if (st_test_now_ms() > deadline || zoo_state(zh) == ZOO_EXPIRED_SESSION_STATE ||
            zoo_state(zh) == ZOO_AUTH_FAILED_STATE) {
            fprintf(stderr, "zk_harness: no ZooKeeper session on %s within %d ms\n", connect,
                    CLIENT_CONNECT_TIMEOUT_MS);
            zookeeper_close(zh);
            return NULL;
        }
        st_test_sleep_ms(10);
    }
    return zh;
}

int st_test_zk_get(const char *connect, const char *path, char *buf, size_t len)
{
    if (!buf || len == 0 || len > INT32_MAX)
        return ZBADARGUMENTS;
    zhandle_t *zh = client_open(connect);
    if (!zh)
        return ZOPERATIONTIMEOUT;
    int blen = (int)len - 1;
    struct Stat stat;
    int rc = zoo_get(zh, path, 0, buf, &blen, &stat);
    zookeeper_close(zh);
    if (rc != ZOK)
        return rc;
    buf[blen > 0 ? blen : 0] = '\0';
    return stat.dataLength;
}

int st_test_zk_set(const char *connect, const char *path, const char *data)
{
    zhandle_t *zh = client_open(connect);
    if (!zh)
        return ZOPERATIONTIMEOUT;
    int rc = zoo_set(zh, path, data, data ? (int)strlen(data) : -1, -1);
    zookeeper_close(zh);
    return rc;
}

int st_test_zk_create(const char *connect, const char *path, const char *data, int flags)
{
    zhandle_t *zh = client_open(connect);
    if (!zh)
        return ZOPERATIONTIMEOUT;
    int rc = zoo_create(zh, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE,
                        flags, NULL, 0);
    zookeeper_close(zh);
    return rc;
}

int st_test_zk_delete(const char *connect, const char *path)
{
    zhandle_t *zh = client_open(connect);
    if (!zh)
        return ZOPERATIONTIMEOUT;
    int rc = zoo_delete(zh, path, -1);
    zookeeper_close(zh);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_test_zk_children(const char *connect, const char *path, char *buf, size_t len)
{
    if (!buf || len == 0)
        return ZBADARGUMENTS;
    buf[0] = '\0';
    zhandle_t *zh = client_open(connect);
    if (!zh)
        return ZOPERATIONTIMEOUT;
    struct String_vector names = { 0, NULL };
    int rc = zoo_get_children(zh, path, 0, &names);
    zookeeper_close(zh);
    if (rc != ZOK)
        return rc;
    qsort(names.data, (size_t)names.count, sizeof(names.data[0]), cmp_str);
    size_t used = 0;
    for (int i = 0; i < names.count && rc == ZOK; i++) {
        size_t need = strlen(names.data[i]) + (i ? 1 : 0);
        if (used + need >= len)
            rc = ZBADARGUMENTS;
        else
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
                                     names.data[i]);
    }
    int count = names.count;
    deallocate_String_vector(&names);
    return rc == ZOK ? count : rc;
}
