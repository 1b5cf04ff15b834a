/* The fault suite's cluster: ZooKeeper ensemble and brokers in namespaces, their disks, process
 * and disk faults, and the cluster state read from ZooKeeper (see ft_cluster.h). */
#include "ft_cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "ft.h"
#include "st_znode.h"

#define DISK_MB 64
#define ZK_START_TIMEOUT_MS 60000
#define BROKER_LISTEN_TIMEOUT_MS 15000

/* JVM flags as zk_harness.c uses them: small heap, serial GC, C1 only (fast start, low CPU). */
static const char *const jvm_flags[] = {
    "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
    "-XX:-UsePerfData", "-XX:+ExitOnOutOfMemoryError", "-Dzookeeper.jmx.log4j.disable=true",
};

ft_proc_t *ft_broker(ft_cluster_t *c, int id)
{
    return id >= 1 && id <= FT_BR_N ? &c->br[id - 1] : NULL;
}

ft_proc_t *ft_zk(ft_cluster_t *c, int myid)
{
    return myid >= 1 && myid <= FT_ZK_N ? &c->zk[myid - 1] : NULL;
}

uint32_t ft_mask_of(const ft_proc_t *p)
{
    return 1u << p->net;
}

uint32_t ft_mask_brokers(const ft_cluster_t *c)
{
    uint32_t m = 0;
    for (int i = 0; i < FT_BR_N; i++)
        m |= ft_mask_of(&c->br[i]);
    return m;
}

uint32_t ft_mask_zk(const ft_cluster_t *c)
{
    uint32_t m = 0;
    for (int i = 0; i < FT_ZK_N; i++)
        m |= ft_mask_of(&c->zk[i]);
    return m;
}

static const char *addr_of(const ft_cluster_t *c, const ft_proc_t *p)
{
    return c->net.node[p->net].addr;
}

/* ---- files ----------------------------------------------------------------------------------- */

static int write_zk_files(ft_cluster_t *c, ft_proc_t *z)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/data", z->dir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof(path), "%s/data/myid", z->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", z->id);
    fclose(f);
    f = fopen(z->cfg_path, "w");
    if (!f)
        return -1;
    fprintf(f, "# written by the fault-suite driver\n"
               "tickTime=500\nminSessionTimeout=1000\nmaxSessionTimeout=60000\n"
               "initLimit=20\nsyncLimit=10\n"
               "dataDir=%s/data\nclientPort=%d\nclientPortAddress=%s\n"
               "4lw.commands.whitelist=*\nadmin.enableServer=false\n"
               "forceSync=no\npreAllocSize=1024\n",
            z->dir, FT_ZK_PORT, addr_of(c, z));
    for (int i = 0; i < FT_ZK_N; i++)
        fprintf(f, "server.%d=%s:2888:3888\n", c->zk[i].id, addr_of(c, &c->zk[i]));
    fclose(f);
    snprintf(path, sizeof(path), "%s/log4j.properties", z->dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "log4j.rootLogger=INFO, CONSOLE\n"
               "log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
               "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
               "log4j.appender.CONSOLE.layout.ConversionPattern="
               "%%d{ISO8601} %%-5p [myid:%d] [%%t:%%C{1}@%%L] - %%m%%n\n", z->id);
    fclose(f);
    return 0;
}

static int write_broker_config(ft_cluster_t *c, ft_proc_t *b)
{
    FILE *f = fopen(b->cfg_path, "w");
    if (!f)
        return -1;
    fprintf(f, "# written by the fault-suite driver\n"
               "broker.id=%d\n"
               "listeners=PLAINTEXT://%s:%d\n"
               "advertised.listeners=PLAINTEXT://%s:%d\n"
               "inter.broker.listener.name=PLAINTEXT\n"
               "log.dirs=%s/logs\n"
               "zookeeper.connect=%s/strand\n"
               "zookeeper.session.timeout.ms=%d\n"
               "replica.lag.time.max.ms=%d\n"
               "replica.socket.timeout.ms=5000\n"
               "min.insync.replicas=2\n"
               "default.replication.factor=3\n"
               "unclean.leader.election.enable=false\n"
               "auto.create.topics.enable=false\n"
               "controlled.shutdown.enable=true\n"
               "num.network.threads=2\n"
               "log.segment.bytes=1048576\n",
            b->id, addr_of(c, b), FT_BROKER_PORT, addr_of(c, b), FT_BROKER_PORT, b->mnt,
            c->zk_connect, c->session_ms, c->lag_ms);
    fclose(f);
    return 0;
}

/* ---- disks ----------------------------------------------------------------------------------- */

static int disk_mount(ft_proc_t *b)
{
    /* the device losetup attaches now: after a repair the old device may still be bound to the
     * image (detached lazily), with the failed file system's state cached on it */
    char out[256];
    if (ft_sh_out(out, sizeof(out), "losetup -f --show %s", b->img) != 0 || !out[0])
        return -1;
    out[strcspn(out, "\n")] = '\0';
    snprintf(b->loopdev, sizeof(b->loopdev), "%.63s", out);
    ft_logf("%s: %s on %s", b->name, b->img, b->loopdev);
    if (ft_sh("mount -t ext4 -o errors=remount-ro %s %s", b->loopdev, b->mnt) != 0) {
        ft_sh("losetup -d %s", b->loopdev);
        b->loopdev[0] = '\0';
        return -1;
    }
    b->mounted = true;
    return 0;
}

static void disk_unmount(ft_proc_t *b)
{
    if (b->mounted)
        ft_sh("umount %s || umount -l %s", b->mnt, b->mnt);
    b->mounted = false;
    if (b->loopdev[0])
        ft_sh("losetup -d %s", b->loopdev);
    b->loopdev[0] = '\0';
}

static int disk_create(ft_proc_t *b)
{
    if (ft_sh("truncate -s %dM %s && mkfs.ext4 -q -F -m 0 -O ^has_journal %s", DISK_MB, b->img,
              b->img) != 0)
        return -1;
    if (mkdir(b->mnt, 0755) < 0 && errno != EEXIST)
        return -1;
    return disk_mount(b);
}

int ft_disk_fill(ft_cluster_t *c, ft_proc_t *b)
{
    (void)c;
    char path[512];
    snprintf(path, sizeof(path), "%s/filler", b->mnt);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    static char zeros[1 << 16];
    size_t chunk = sizeof(zeros);
    long total = 0;
    while (chunk >= 512) {
        ssize_t w = write(fd, zeros, chunk);
        if (w > 0) {
            total += w;
            continue;
        }
        if (w < 0 && errno != ENOSPC)
            break;
        chunk /= 2;
    }
    fsync(fd);
    close(fd);
    b->filled = true;
    ft_logf("%s: filler of %ld bytes written", b->name, total);
    return 0;
}

int ft_disk_unfill(ft_cluster_t *c, ft_proc_t *b)
{
    (void)c;
    char path[512];
    snprintf(path, sizeof(path), "%s/filler", b->mnt);
    b->filled = false;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int ft_disk_fail(ft_cluster_t *c, ft_proc_t *b)
{
    (void)c;
    const char *dev = strrchr(b->loopdev, '/');
    if (!dev)
        return -1;
    if (ft_sh("echo strand-fault-suite > /sys/fs/ext4/%s/trigger_fs_error", dev + 1) != 0)
        return -1;
    b->failed_fs = true;
    return 0;
}

int ft_disk_repair(ft_cluster_t *c, ft_proc_t *b)
{
    if (b->pid > 0)
        ft_proc_kill(b, SIGTERM);
    if (b->filled)
        ft_disk_unfill(c, b);
    disk_unmount(b);
    /* e2fsck: 0 clean, 1 errors corrected */
    int r = ft_sh("e2fsck -fy %s", b->img);
    if (r != 0 && r != 1)
        ft_log("%s: e2fsck exited %d", b->name, r);
    if (disk_mount(b) < 0)
        return -1;
    b->failed_fs = false;
    char path[512];
    snprintf(path, sizeof(path), "%s/filler", b->mnt);
    unlink(path);
    b->filled = false;
    return 0;
}

/* ---- processes ------------------------------------------------------------------------------- */

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
        snprintf(jar, sizeof(jar), "/usr/share/java/%s", jars[i]);
        if (access(jar, R_OK) < 0) {
            if (i == 0) {
                ft_log("%s not found: install Debian's zookeeper package", jar);
                return -1;
            }
            continue;
        }
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? ":" : "", jar);
    }
    return 0;
}

/* Can the broker's address be connected to from the driver? */
static bool can_connect(const char *addr, int port, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, addr, &sa.sin_addr);
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        ok = true;
    } else if (errno == EINPROGRESS) {
        struct pollfd pfd = { fd, POLLOUT, 0 };
        if (poll(&pfd, 1, timeout_ms) == 1) {
            int err = 0;
            socklen_t l = sizeof(err);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
            ok = err == 0;
        }
    }
    close(fd);
    return ok;
}

int ft_proc_start(ft_cluster_t *c, ft_proc_t *p)
{
    if (p->pid > 0)
        return 0;
    char nsarg[128];
    snprintf(nsarg, sizeof(nsarg), "--net=/run/netns/%s", c->net.node[p->net].ns);
    const char *argv[32];
    int k = 0;
    char cp[2048], log4j[512];
    argv[k++] = "nsenter";
    argv[k++] = nsarg;
    argv[k++] = "--";
    if (p->kind == FT_ZK) {
        if (class_path(cp, sizeof(cp)) < 0)
            return -1;
        snprintf(log4j, sizeof(log4j), "-Dlog4j.configuration=file:%s/log4j.properties", p->dir);
        const char *java = getenv("JAVA");
        argv[k++] = java && *java ? java : "java";
        for (size_t i = 0; i < sizeof(jvm_flags) / sizeof(jvm_flags[0]); i++)
            argv[k++] = jvm_flags[i];
        argv[k++] = log4j;
        argv[k++] = "-cp";
        argv[k++] = cp;
        argv[k++] = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
        argv[k++] = p->cfg_path;
    } else {
        if (!p->mounted) {
            ft_log("%s: not started: its log dir's file system is not mounted", p->name);
            return -1;
        }
        argv[k++] = c->broker_exe;
        argv[k++] = p->cfg_path;
    }
    argv[k] = NULL;
    pid_t pid = st_test_spawn_logged("nsenter", argv, p->dir, p->log_path, p->name);
    if (pid < 0)
        return -1;
    p->pid = pid;
    p->paused = false;
    p->starts++;
    ft_logf("%s started (pid %d)", p->name, (int)pid);
    if (p->kind == FT_ZK)
        return 0;
    int64_t deadline = st_test_now_ms() + BROKER_LISTEN_TIMEOUT_MS;
    while (st_test_now_ms() < deadline) {
        if (!ft_proc_alive(p)) {
            ft_log("%s exited during start-up (see %s)", p->name, p->log_path);
            return -1;
        }
        if (can_connect(addr_of(c, p), FT_BROKER_PORT, 200))
            return 0;
        st_test_sleep_ms(50);
    }
    ft_log("%s did not accept connections within %d ms", p->name, BROKER_LISTEN_TIMEOUT_MS);
    return -1;
}

int ft_unexpected_exits;
char ft_last_exit[256];

bool ft_proc_alive(ft_proc_t *p)
{
    if (p->pid <= 0)
        return false;
    int status;
    if (st_test_child_exited(p->pid, &status)) {
        /* killed by a signal the suite did not send (SIGABRT, SIGSEGV, SIGBUS...): a crash.
         * An exit with a status is the process's own decision (a broker whose every log dir
         * failed shuts down, as Kafka's does): logged, not counted. */
        if (WIFSIGNALED(status))
            ft_unexpected_exits++;
        snprintf(ft_last_exit, sizeof(ft_last_exit), "%s (pid %d): %s %d, see %.150s", p->name,
                 (int)p->pid, WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), p->log_path);
        ft_log("%s exited by itself: %s", p->name, ft_last_exit);
        p->pid = 0;
        p->paused = false;
        return false;
    }
    return true;
}

void ft_proc_kill(ft_proc_t *p, int sig)
{
    if (!ft_proc_alive(p))
        return;
    st_test_stop_child(p->pid, sig, p->paused && sig != SIGKILL, 15000, p->name);
    p->pid = 0;
    p->paused = false;
}

int ft_proc_pause(ft_proc_t *p)
{
    if (!ft_proc_alive(p) || p->paused)
        return -1;
    if (kill(p->pid, SIGSTOP) < 0)
        return -1;
    int status;
    waitpid(p->pid, &status, WUNTRACED);
    p->paused = true;
    return 0;
}

int ft_proc_resume(ft_proc_t *p)
{
    if (p->pid <= 0 || !p->paused)
        return -1;
    if (kill(p->pid, SIGCONT) < 0)
        return -1;
    int status;
    waitpid(p->pid, &status, WCONTINUED);
    p->paused = false;
    return 0;
}

long ft_proc_log_size(const ft_proc_t *p)
{
    struct stat st;
    return stat(p->log_path, &st) == 0 ? (long)st.st_size : 0;
}

int ft_proc_log_count(const ft_proc_t *p, const char *needle, long from)
{
    FILE *f = fopen(p->log_path, "r");
    if (!f)
        return 0;
    fseek(f, from, SEEK_SET);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

/* ---- ZooKeeper nodes ------------------------------------------------------------------------- */

static int four_letter(const char *addr, const char *cmd, char *buf, size_t len, int timeout_ms)
{
    buf[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(FT_ZK_PORT) };
    inet_pton(AF_INET, addr, &sa.sin_addr);
    int64_t deadline = st_test_now_ms() + timeout_ms;
    size_t got = 0;
    int rc = -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        goto out;
    struct pollfd pfd = { fd, POLLOUT, 0 };
    if (poll(&pfd, 1, timeout_ms) != 1)
        goto out;
    int err = 0;
    socklen_t l = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err || send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) != (ssize_t)strlen(cmd))
        goto out;
    for (;;) {
        int64_t left = deadline - st_test_now_ms();
        if (left <= 0)
            goto out;
        pfd = (struct pollfd){ fd, POLLIN, 0 };
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        ssize_t r = read(fd, buf + got, len - 1 - got);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
        if (got >= len - 1)
            break;
    }
    rc = (int)got;
out:
    close(fd);
    return rc;
}

bool ft_zk_mode(ft_cluster_t *c, ft_proc_t *z, char *mode, size_t len)
{
    if (z->pid <= 0 || z->paused)
        return false;
    char buf[2048];
    if (four_letter(addr_of(c, z), "srvr", buf, sizeof(buf), 1000) <= 0)
        return false;
    const char *m = strstr(buf, "Mode: ");
    if (!m)
        return false;
    if (mode) {
        m += 6;
        size_t n = strcspn(m, "\r\n");
        if (n >= len)
            n = len - 1;
        memcpy(mode, m, n);
        mode[n] = '\0';
    }
    return true;
}

int ft_zk_wait_serving(ft_cluster_t *c, int n, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        int serving = 0;
        for (int i = 0; i < FT_ZK_N; i++)
            if (ft_proc_alive(&c->zk[i]) && ft_zk_mode(c, &c->zk[i], NULL, 0))
                serving++;
        if (serving >= n)
            return 0;
        st_test_sleep_ms(100);
    } while (st_test_now_ms() < deadline);
    return -1;
}

int ft_zk_wipe(ft_cluster_t *c, ft_proc_t *z)
{
    if (z->pid > 0)
        return -1;
    char path[512];
    snprintf(path, sizeof(path), "%s/data", z->dir);
    st_test_remove_tree(path);
    return write_zk_files(c, z);
}

/* ---- the driver's ZooKeeper session ------------------------------------------------------- */

static void zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)type; (void)state; (void)path; (void)ctx;
}

/* The handle, (re)opened when missing or expired; NULL if no session within 10 s. */
static zhandle_t *zk_handle(ft_cluster_t *c)
{
    zhandle_t *zh = c->zh;
    if (zh && zoo_state(zh) == ZOO_EXPIRED_SESSION_STATE) {
        zookeeper_close(zh);
        zh = c->zh = NULL;
    }
    if (!zh) {
        char connect[300];
        snprintf(connect, sizeof(connect), "%s/strand", c->zk_connect);
        zh = zookeeper_init(connect, zk_watcher, 20000, NULL, NULL, 0);
        if (!zh)
            return NULL;
        c->zh = zh;
    }
    int64_t deadline = st_test_now_ms() + 10000;
    while (zoo_state(zh) != ZOO_CONNECTED_STATE) {
        if (st_test_now_ms() > deadline || zoo_state(zh) == ZOO_EXPIRED_SESSION_STATE)
            return NULL;
        st_test_sleep_ms(20);
    }
    return zh;
}

int ft_zk_get(ft_cluster_t *c, const char *path, char *buf, size_t len, int *ret_version,
              int64_t *ret_czxid)
{
    zhandle_t *zh = zk_handle(c);
    if (!zh)
        return ZCONNECTIONLOSS;
    int blen = (int)len - 1;
    struct Stat st;
    int rc = zoo_get(zh, path, 0, buf, &blen, &st);
    if (rc != ZOK)
        return rc;
    buf[blen > 0 ? blen : 0] = '\0';
    if (ret_version)
        *ret_version = st.version;
    if (ret_czxid)
        *ret_czxid = st.czxid;
    return blen > 0 ? blen : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ft_zk_children(ft_cluster_t *c, const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    zhandle_t *zh = zk_handle(c);
    if (!zh)
        return ZCONNECTIONLOSS;
    struct String_vector names = { 0, NULL };
    int rc = zoo_get_children(zh, path, 0, &names);
    if (rc != ZOK)
        return rc;
    qsort(names.data, (size_t)names.count, sizeof(names.data[0]), cmp_str);
    size_t used = 0;
    for (int i = 0; i < names.count; i++)
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s", i ? "," : "",
                                 names.data[i]);
    int n = names.count;
    deallocate_String_vector(&names);
    return n;
}

int ft_registered(ft_cluster_t *c)
{
    char buf[256];
    int n = ft_zk_children(c, "/brokers/ids", buf, sizeof(buf));
    if (n < 0)
        return -1;
    int mask = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
        mask |= 1 << atoi(t);
    return mask;
}

int ft_controller(ft_cluster_t *c)
{
    char buf[256], err[256];
    if (ft_zk_get(c, "/controller", buf, sizeof(buf), NULL, NULL) < 0)
        return -1;
    int32_t id = -1;
    if (st_znode_controller_decode("/controller", buf, strlen(buf), &id, err, sizeof(err)) < 0)
        return -1;
    return id;
}

int ft_controller_epoch(ft_cluster_t *c)
{
    char buf[64];
    if (ft_zk_get(c, "/controller_epoch", buf, sizeof(buf), NULL, NULL) < 0)
        return -1;
    return atoi(buf);
}

int ft_partition_state(ft_cluster_t *c, const char *topic, int p, ft_pstate_t *ret)
{
    char path[512], buf[2048], err[256];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", topic, p);
    int version = -1;
    if (ft_zk_get(c, path, buf, sizeof(buf), &version, NULL) < 0)
        return -1;
    st_lisr_t lisr;
    memset(&lisr, 0, sizeof(lisr));
    if (st_znode_lisr_decode(path, buf, strlen(buf), &lisr, err, sizeof(err)) < 0)
        return -1;
    memset(ret, 0, sizeof(*ret));
    ret->leader = lisr.leader;
    ret->leader_epoch = lisr.leader_epoch;
    ret->controller_epoch = lisr.controller_epoch;
    ret->version = version;
    for (size_t i = 0; i < lisr.isr.n && i < 8; i++)
        ret->isr[ret->n_isr++] = lisr.isr.v[i];
    st_lisr_free(&lisr);
    return 0;
}

int ft_wait_registered(ft_cluster_t *c, int mask, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int got = -1, ctl = -1;
    do {
        got = ft_registered(c);
        ctl = ft_controller(c);
        if (got == mask && ctl > 0)
            return 0;
        st_test_sleep_ms(100);
    } while (st_test_now_ms() < deadline);
    ft_log("registered brokers 0x%x (wanted 0x%x), controller %d", got, mask, ctl);
    return -1;
}

/* ---- the cluster ----------------------------------------------------------------------------- */

int ft_cluster_start(ft_cluster_t *c, const char *broker_exe)
{
    char *abs = realpath(broker_exe, NULL);   /* the processes run in their own directories */
    snprintf(c->broker_exe, sizeof(c->broker_exe), "%s", abs ? abs : broker_exe);
    free(abs);
    if (c->session_ms == 0)
        c->session_ms = 6000;
    if (c->lag_ms == 0)
        c->lag_ms = 4000;
    const char *names[FT_ZK_N + FT_BR_N];
    int hosts[FT_ZK_N + FT_BR_N];
    static const char *const zn[] = { "z1", "z2", "z3" }, *const bn[] = { "b1", "b2", "b3" };
    for (int i = 0; i < FT_BR_N; i++) {
        names[i] = bn[i];
        hosts[i] = i + 1;
    }
    for (int i = 0; i < FT_ZK_N; i++) {
        names[FT_BR_N + i] = zn[i];
        hosts[FT_BR_N + i] = 11 + i;
    }
    if (ft_net_setup(&c->net, names, hosts, FT_ZK_N + FT_BR_N) < 0)
        return -1;
    size_t used = 0;
    for (int i = 0; i < FT_ZK_N; i++) {
        ft_proc_t *z = &c->zk[i];
        z->kind = FT_ZK;
        z->id = i + 1;
        z->net = FT_BR_N + i;
        snprintf(z->name, sizeof(z->name), "%s", zn[i]);
        snprintf(z->dir, sizeof(z->dir), "%s/%s", c->dir, z->name);
        snprintf(z->cfg_path, sizeof(z->cfg_path), "%s/zoo.cfg", z->dir);
        snprintf(z->log_path, sizeof(z->log_path), "%s/zookeeper.log", z->dir);
        used += (size_t)snprintf(c->zk_connect + used, sizeof(c->zk_connect) - used, "%s%s:%d",
                                 i ? "," : "", c->net.node[z->net].addr, FT_ZK_PORT);
    }
    used = 0;
    for (int i = 0; i < FT_BR_N; i++) {
        ft_proc_t *b = &c->br[i];
        b->kind = FT_BROKER;
        b->id = i + 1;
        b->net = i;
        snprintf(b->name, sizeof(b->name), "%s", bn[i]);
        snprintf(b->dir, sizeof(b->dir), "%s/%s", c->dir, b->name);
        snprintf(b->cfg_path, sizeof(b->cfg_path), "%s/server.properties", b->dir);
        snprintf(b->log_path, sizeof(b->log_path), "%s/broker.log", b->dir);
        snprintf(b->img, sizeof(b->img), "%s/disk.img", b->dir);
        snprintf(b->mnt, sizeof(b->mnt), "%s/disk", b->dir);
        used += (size_t)snprintf(c->bootstrap + used, sizeof(c->bootstrap) - used, "%s%s:%d",
                                 i ? "," : "", c->net.node[b->net].addr, FT_BROKER_PORT);
    }
    for (int i = 0; i < FT_ZK_N; i++)
        if (mkdir(c->zk[i].dir, 0755) < 0 || write_zk_files(c, &c->zk[i]) < 0)
            return -1;
    for (int i = 0; i < FT_ZK_N; i++)
        if (ft_proc_start(c, &c->zk[i]) < 0)
            return -1;
    for (int i = 0; i < FT_BR_N; i++) {
        ft_proc_t *b = &c->br[i];
        if (mkdir(b->dir, 0755) < 0 || disk_create(b) < 0 || write_broker_config(c, b) < 0) {
            ft_log("%s: cannot make its directory or disk", b->name);
            return -1;
        }
    }
    if (ft_zk_wait_serving(c, FT_ZK_N, ZK_START_TIMEOUT_MS) < 0) {
        ft_log("the ZooKeeper ensemble did not serve within %d ms (logs in %s/z*/zookeeper.log)",
               ZK_START_TIMEOUT_MS, c->dir);
        return -1;
    }
    /* the chroot the brokers use */
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(c->zk_connect, zk_watcher, 20000, NULL, NULL, 0);
    int64_t deadline = st_test_now_ms() + 10000;
    while (zh && zoo_state(zh) != ZOO_CONNECTED_STATE && st_test_now_ms() < deadline)
        st_test_sleep_ms(20);
    int rc = zh ? zoo_create(zh, "/strand", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0)
                : ZCONNECTIONLOSS;
    if (zh)
        zookeeper_close(zh);
    if (rc != ZOK && rc != ZNODEEXISTS) {
        ft_log("cannot create the chroot /strand: ZooKeeper code %d", rc);
        return -1;
    }
    for (int i = 0; i < FT_BR_N; i++)
        if (ft_proc_start(c, &c->br[i]) < 0)
            return -1;
    if (ft_wait_registered(c, 0xe, 30000) < 0)
        return -1;
    ft_log("cluster up: ZooKeeper %s, brokers %s, controller %d", c->zk_connect, c->bootstrap,
           ft_controller(c));
    return 0;
}

void ft_cluster_stop(ft_cluster_t *c)
{
    if (c->zh)
        zookeeper_close(c->zh);
    c->zh = NULL;
    for (int i = 0; i < FT_BR_N; i++)
        ft_proc_kill(&c->br[i], SIGKILL);
    for (int i = 0; i < FT_ZK_N; i++)
        ft_proc_kill(&c->zk[i], SIGKILL);
    for (int i = 0; i < FT_BR_N; i++)
        disk_unmount(&c->br[i]);
    ft_net_teardown(&c->net);
}
