/* Integration-test harness (see harness.h): starts real strand-broker processes on loopback
 * ports with their own temporary directories and ZooKeeper chroots, waits until they are
 * registered and serving (a Metadata and a ListOffsets round trip over the wire), stops them
 * with SIGTERM or SIGKILL, restarts them on the same port, directory and chroot, runs
 * command-line tools with a timeout, and opens raw TCP connections
 * for protocol-level tests. It also provides the ZooKeeper server: $STRAND_TEST_ZK, or one the
 * criterion runner starts before the tests (PRE_ALL report hook) and stops after them
 * (POST_ALL) -- unless the binary starts its own (cluster_harness.c says so through the weak
 * symbol st_test_harness_own_zookeeper) -- or, when even that is missing, one per test process
 * on first use.
 *
 * Children get PR_SET_PDEATHSIG(SIGKILL) so that a test process that crashes (criterion runs
 * each test in its own process) never leaves a broker, a tool or a JVM running behind it. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <zookeeper/zookeeper.h>

#include "st_buf.h"
#include "st_frame.h"
#include "strand.pb-c.h"
#include "zk_harness.h"

#define START_TIMEOUT_MS      10000   /* until the broker accepts connections */
#define READY_TIMEOUT_MS      20000   /* then until it is registered and serving */
#define STOP_TIMEOUT_MS       15000
#define WIRE_TIMEOUT_MS       2000    /* one readiness round trip */
/* zookeeper.session.timeout.ms of harness brokers: how long a SIGKILLed broker's ephemeral
 * znodes outlive it -- its registration (which a restart on the same endpoints replaces at
 * once) and, if it was the controller, /controller (a restarted lone broker serves again only
 * once that expired and it won the election). Short, but well above a scheduling hiccup on a
 * loaded machine (the ZooKeeper client pings every third of it). */
#define SESSION_TIMEOUT_MS    3000

/* Asks the kernel for a free loopback port. Another process could take it before the broker
 * binds it; the broker then fails to start and the start-up wait reports it. */
static int pick_free_port(void)
{
    int port;
    int r = st_test_free_ports(&port, 1);
    return r < 0 ? r : port;
}

int st_test_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* ---- ZooKeeper ------------------------------------------------------------------------------ */

static st_test_zk_t own_zk;           /* a server this process started (runner hook or lazily) */
static pid_t own_zk_owner;            /* the process that started it (workers may inherit the
                                       * struct when criterion forks them: never theirs) */
static char zk_server[64];            /* what st_test_zk_server returns, once known */

static int start_own_zk(void)
{
    int r = st_test_zk_start(&own_zk);
    if (r < 0) {
        fprintf(stderr, "harness: cannot start a ZooKeeper server for the brokers: %s\n",
                strerror(-r));
        return r;
    }
    own_zk_owner = getpid();
    return 0;
}

static void stop_own_zk(void)
{
    if (own_zk_owner == getpid() && own_zk.pid > 0)
        st_test_zk_cleanup(&own_zk);
}

const char *st_test_zk_server(void)
{
    if (zk_server[0])
        return zk_server;
    const char *env = getenv("STRAND_TEST_ZK");
    if (env && *env) {
        snprintf(zk_server, sizeof(zk_server), "%s", env);
        return zk_server;
    }
    /* Neither the environment nor the runner provided one: this test process starts its own
     * (about half a second), stopped at exit and killed with the process anyway. */
    if (start_own_zk() < 0)
        return NULL;
    atexit(stop_own_zk);
    snprintf(zk_server, sizeof(zk_server), "%s", own_zk.connect);
    return zk_server;
}

int st_test_zk_chroot(char *buf, size_t len)
{
    const char *server = st_test_zk_server();
    if (!server)
        return -EHOSTUNREACH;
    static unsigned counter;
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        rnd = (uint32_t)time(NULL) ^ (uint32_t)clock();
    int n = snprintf(buf, len, "%s/strand-it-%d-%u-%08x", server, (int)getpid(), ++counter, rnd);
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int st_test_zk_fake_controller(const char *chroot, int controller_id)
{
    const char *slash = strchr(chroot, '/');
    if (!slash)
        return ZBADARGUMENTS;
    char server[128], json[128];
    snprintf(server, sizeof(server), "%.*s", (int)(slash - chroot), chroot);
    int rc = st_test_zk_create(server, slash, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS)
        return rc;
    snprintf(json, sizeof(json), "{\"version\":1,\"brokerid\":%d,\"timestamp\":\"0\"}",
             controller_id);
    return st_test_zk_create(chroot, "/controller", json, 0);
}

/* Defined (by cluster_harness.c) in binaries whose tests start their own ZooKeeper. */
extern const bool st_test_harness_own_zookeeper __attribute__((weak));

/* The criterion runner (the parent of every test process of this binary) starts one server
 * before the tests and passes it on through the environment, so that each test does not start
 * its own; it stops it after the last test (and PR_SET_PDEATHSIG kills it if the runner dies). */
ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    const char *env = getenv("STRAND_TEST_ZK");
    if ((env && *env) || &st_test_harness_own_zookeeper || start_own_zk() < 0)
        return;
    setenv("STRAND_TEST_ZK", own_zk.connect, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    stop_own_zk();
}

/* ---- brokers -------------------------------------------------------------------------------- */

static void print_file(const char *path, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    fprintf(out, "---- %s ----\n", path);
    while (fgets(line, sizeof(line), f))
        fputs(line, out);
    fprintf(out, "---- end of %s ----\n", path);
    fclose(f);
}

static int write_config(const st_test_broker_t *b)
{
    FILE *f = fopen(b->config_path, "w");
    if (!f)
        return -errno;
    fprintf(f, "# written by the integration-test harness\n");
    fprintf(f, "broker.id=%d\n", b->broker_id);
    fprintf(f, "listeners=PLAINTEXT://127.0.0.1:%d\n", b->port);
    fprintf(f, "log.dirs=%s/logs\n", b->dir);
    fprintf(f, "num.network.threads=2\n");
    fprintf(f, "zookeeper.connect=%s\n", b->zk_connect);
    fprintf(f, "zookeeper.session.timeout.ms=%d\n", SESSION_TIMEOUT_MS);
    for (int i = 0; i < b->n_overrides; i++) {
        /* "{port}" in an override stands for the picked PLAINTEXT port, "{port2}" for the
         * second port (extra listeners), "{id}" for the broker id (per-broker paths in an
         * override shared by a cluster). */
        for (const char *o = b->overrides[i]; *o;) {
            if (strncmp(o, "{id}", 4) == 0) {
                fprintf(f, "%d", b->broker_id);
                o += 4;
            } else if (strncmp(o, "{port}", 6) == 0) {
                fprintf(f, "%d", b->port);
                o += 6;
            } else if (strncmp(o, "{port2}", 7) == 0) {
                fprintf(f, "%d", b->port2);
                o += 7;
            } else {
                fputc(*o++, f);
            }
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

static int spawn_broker(st_test_broker_t *b)
{
    const char *exe = getenv("STRAND_BROKER");
    if (!exe || !*exe) {
        fprintf(stderr, "harness: $STRAND_BROKER is not set (run the tests through meson)\n");
        return -ENOENT;
    }
    const char *const argv[] = { exe, b->config_path, NULL };
    pid_t pid = st_test_spawn_logged(exe, argv, NULL, b->log_path, "harness");
    if (pid < 0)
        return pid;
    b->pid = pid;

    int64_t deadline = st_test_now_ms() + START_TIMEOUT_MS;
    for (;;) {
        int status;
        if (st_test_child_exited(pid, &status)) {
            b->pid = 0;
            fprintf(stderr, "harness: broker on port %d exited during start-up (status 0x%x)\n",
                    b->port, status);
            print_file(b->log_path, stderr);
            return -ECHILD;
        }
        int fd = st_test_connect(b->port);
        if (fd >= 0) {
            close(fd);
            break;
        }
        if (st_test_now_ms() > deadline) {
            fprintf(stderr, "harness: broker on port %d did not accept connections within %d ms\n",
                    b->port, START_TIMEOUT_MS);
            print_file(b->log_path, stderr);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            b->pid = 0;
            return -ETIMEDOUT;
        }
        st_test_sleep_ms(20);
    }
    int r = st_test_broker_wait_ready(b, READY_TIMEOUT_MS);
    if (r < 0) {
        if (r == -ETIMEDOUT) {
            fprintf(stderr, "harness: broker %d on port %d was not %s within %d ms\n",
                    b->broker_id, b->port, b->ready == ST_TEST_READY_SERVING
                    ? "registered and serving (Metadata listing it and a controller, its "
                      "partitions led)" : "ready", READY_TIMEOUT_MS);
            print_file(b->log_path, stderr);
        }
        if (b->pid > 0) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
            b->pid = 0;
        }
    }
    return r;
}

/* ---- readiness: a Metadata and a ListOffsets round trip -------------------------------------- */

/* One request on fd; the unpacked response body (free with protobuf_c_message_free_unpacked),
 * or NULL. */
static ProtobufCMessage *wire_call(int fd, int32_t api_key, int32_t corr, const ProtobufCMessage *body,
                                   const ProtobufCMessageDescriptor *desc)
{
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = api_key;
    hdr.correlation_id = corr;
    hdr.client_id = "test-harness";
    st_buf_t buf = ST_BUF_INIT;
    ProtobufCMessage *resp = NULL;
    if (st_frame_encode(&buf, &hdr.base, body, 0) < 0)
        goto out;
    if (st_test_send_all(fd, buf.data, buf.len) < 0)
        goto out;
    int64_t deadline = st_test_now_ms() + WIRE_TIMEOUT_MS;
    uint8_t prefix[4];
    if (st_test_read_full(fd, prefix, 4, deadline) < 0)
        goto out;
    uint32_t size = st_be32(prefix);
    if (size > (64u << 20))
        goto out;
    buf.len = 0;
    if (st_buf_reserve(&buf, size) < 0 || st_test_read_full(fd, buf.data, size, deadline) < 0)
        goto out;
    st_frame_view_t v;
    const char *reason = NULL;
    if (st_frame_parse(buf.data, size, &v, &reason) < 0)
        goto out;
    Strand__ResponseHeader *rh = strand__response_header__unpack(NULL, v.header_len, v.header);
    bool match = rh && rh->correlation_id == corr;
    if (rh)
        strand__response_header__free_unpacked(rh, NULL);
    if (match)
        resp = protobuf_c_message_unpack(desc, NULL, v.body_len, v.body);
out:
    st_buf_free(&buf);
    return resp;
}

/* Whether the broker is registered and serving: Metadata (all topics) on its port lists it
 * (by id, or by port for a generated id), a controller and every topic of its chroot's
 * /brokers/topics, and the partitions it leads answer ListOffsets(latest) without error. why
 * gets what is missing. */
static bool broker_serving(const st_test_broker_t *b, char *why, size_t why_len)
{
    int fd = st_test_connect(b->port);
    if (fd < 0) {
        snprintf(why, why_len, "cannot connect: %s", strerror(-fd));
        return false;
    }
    bool ok = false;
    Strand__MetadataRequest mreq = STRAND__METADATA_REQUEST__INIT;
    mreq.all_topics = true;
    Strand__MetadataResponse *md = (Strand__MetadataResponse *)wire_call(
        fd, STRAND__API_KEY__METADATA, 1, &mreq.base, &strand__metadata_response__descriptor);
    if (!md) {
        snprintf(why, why_len, "no Metadata answer");
        goto out;
    }
    int32_t self = -1;
    for (size_t i = 0; i < md->n_brokers; i++)
        if (b->broker_id >= 0 ? md->brokers[i]->node_id == b->broker_id
                              : md->brokers[i]->port == b->port)
            self = md->brokers[i]->node_id;
    if (self < 0 || md->controller_id < 0) {
        snprintf(why, why_len, "Metadata lists %zu broker(s) without broker %d, controller %d",
                 md->n_brokers, b->broker_id, md->controller_id);
        goto out;
    }
    /* Every topic ZooKeeper has must be in the metadata (after a restart the controller may
     * describe the brokers before the topics). */
    char names[8192];
    int n_zk = b->zk_connect[0] ? st_test_zk_children(b->zk_connect, "/brokers/topics", names,
                                                      sizeof(names)) : 0;
    if (n_zk < 0 && n_zk != ZNONODE) {
        snprintf(why, why_len, "cannot list /brokers/topics (ZooKeeper code %d)", n_zk);
        goto out;
    }
    for (char *name = n_zk > 0 ? names : NULL, *next; name; name = next) {
        next = strchr(name, ',');
        if (next)
            *next++ = '\0';
        bool found = false;
        for (size_t i = 0; i < md->n_topics && !found; i++)
            found = strcmp(md->topics[i]->name, name) == 0;
        if (!found) {
            snprintf(why, why_len, "topic %.200s (in ZooKeeper) is not in the metadata yet", name);
            goto out;
        }
    }
    /* The partitions Metadata says this broker leads: one ListOffsets for all of them. */
    size_t n_topics = 0;
    Strand__ListOffsetsTopic *lt = calloc(md->n_topics + 1, sizeof(*lt));
    Strand__ListOffsetsTopic **ltp = calloc(md->n_topics + 1, sizeof(*ltp));
    size_t n_parts = 0;
    for (size_t i = 0; i < md->n_topics; i++)
        n_parts += md->topics[i]->n_partitions;
    Strand__ListOffsetsPartition *lp = calloc(n_parts + 1, sizeof(*lp));
    Strand__ListOffsetsPartition **lpp = calloc(n_parts + 1, sizeof(*lpp));
    if (!lt || !ltp || !lp || !lpp) {
        snprintf(why, why_len, "out of memory");
        goto free_lo;
    }
    size_t k = 0;
    for (size_t i = 0; i < md->n_topics; i++) {
        const Strand__TopicMetadata *t = md->topics[i];
        size_t first = k;
        for (size_t j = 0; j < t->n_partitions; j++) {
            if (t->partitions[j]->leader != self)
                continue;
            strand__list_offsets_partition__init(&lp[k]);
            lp[k].partition = t->partitions[j]->partition;
            lp[k].current_leader_epoch = -1;
            lp[k].timestamp = -1;
            lpp[k] = &lp[k];
            k++;
        }
        if (k == first)
            continue;
        strand__list_offsets_topic__init(&lt[n_topics]);
        lt[n_topics].name = t->name;
        lt[n_topics].partitions = &lpp[first];
        lt[n_topics].n_partitions = k - first;
        ltp[n_topics] = &lt[n_topics];
        n_topics++;
    }
    if (n_topics == 0) {
        ok = true;
        goto free_lo;
    }
    Strand__ListOffsetsRequest lreq = STRAND__LIST_OFFSETS_REQUEST__INIT;
    lreq.replica_id = -1;
    lreq.topics = ltp;
    lreq.n_topics = n_topics;
    Strand__ListOffsetsResponse *lo = (Strand__ListOffsetsResponse *)wire_call(
        fd, STRAND__API_KEY__LIST_OFFSETS, 2, &lreq.base, &strand__list_offsets_response__descriptor);
    if (!lo) {
        snprintf(why, why_len, "no ListOffsets answer");
        goto free_lo;
    }
    ok = true;
    for (size_t i = 0; i < lo->n_topics && ok; i++)
        for (size_t j = 0; j < lo->topics[i]->n_partitions && ok; j++)
            if (lo->topics[i]->partitions[j]->error_code != 0) {
                snprintf(why, why_len, "%s-%d, led by it per Metadata, answers ListOffsets with "
                         "error %d", lo->topics[i]->name, lo->topics[i]->partitions[j]->partition,
                         lo->topics[i]->partitions[j]->error_code);
                ok = false;
            }
    strand__list_offsets_response__free_unpacked(lo, NULL);
free_lo:
    free(lt);
    free(ltp);
    free(lp);
    free(lpp);
out:
    if (md)
        strand__metadata_response__free_unpacked(md, NULL);
    close(fd);
    return ok;
}

/* Whether the broker answers ApiVersions: its network loops run, which comes after the
 * registration and the signal handlers (the listening socket alone accepts TCP connections
 * earlier, while the broker is still connecting to ZooKeeper). */
static bool broker_answers(const st_test_broker_t *b, char *why, size_t why_len)
{
    int fd = st_test_connect(b->port);
    if (fd < 0) {
        snprintf(why, why_len, "cannot connect: %s", strerror(-fd));
        return false;
    }
    Strand__ApiVersionsRequest req = STRAND__API_VERSIONS_REQUEST__INIT;
    ProtobufCMessage *resp = wire_call(fd, STRAND__API_KEY__API_VERSIONS, 1, &req.base,
                                       &strand__api_versions_response__descriptor);
    close(fd);
    if (!resp) {
        snprintf(why, why_len, "no ApiVersions answer");
        return false;
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return true;
}

int st_test_broker_wait_ready(st_test_broker_t *b, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    char why[512] = "";
    for (;;) {
        int status;
        if (b->pid <= 0)
            return -ECHILD;
        if (st_test_child_exited(b->pid, &status)) {
            b->pid = 0;
            fprintf(stderr, "harness: broker on port %d exited while starting (status 0x%x)\n",
                    b->port, status);
            print_file(b->log_path, stderr);
            return -ECHILD;
        }
        if (b->ready == ST_TEST_READY_LISTENING ? broker_answers(b, why, sizeof(why))
                                                : broker_serving(b, why, sizeof(why)))
            return 0;
        if (st_test_now_ms() > deadline) {
            fprintf(stderr, "harness: broker %d on port %d not serving: %s\n", b->broker_id,
                    b->port, why);
            return -ETIMEDOUT;
        }
        st_test_sleep_ms(20);
    }
}

int st_test_broker_start(st_test_broker_t *b, const char *const *overrides)
{
    return st_test_broker_start_ready(b, overrides, ST_TEST_READY_SERVING);
}

int st_test_broker_start_ready(st_test_broker_t *b, const char *const *overrides,
                               st_test_ready_t ready)
{
    memset(b, 0, sizeof(*b));
    b->ready = ready;
    for (size_t i = 0; overrides && overrides[i]; i++) {
        if ((size_t)b->n_overrides >= sizeof(b->overrides) / sizeof(b->overrides[0]))
            return -E2BIG;
        if (strncmp(overrides[i], "broker.id=", 10) == 0)
            b->broker_id = atoi(overrides[i] + 10);
        if (strncmp(overrides[i], "zookeeper.connect=", 18) == 0)
            snprintf(b->zk_connect, sizeof(b->zk_connect), "%s", overrides[i] + 18);
        b->overrides[b->n_overrides] = strdup(overrides[i]);
        if (!b->overrides[b->n_overrides])
            return -ENOMEM;
        b->n_overrides++;
    }
    snprintf(b->dir, sizeof(b->dir), "/tmp/strand-it-XXXXXX");
    if (!mkdtemp(b->dir)) {
        b->dir[0] = '\0';
        return -errno;
    }
    snprintf(b->config_path, sizeof(b->config_path), "%s/server.properties", b->dir);
    snprintf(b->log_path, sizeof(b->log_path), "%s/broker.log", b->dir);
    int r = b->zk_connect[0] ? 0 : st_test_zk_chroot(b->zk_connect, sizeof(b->zk_connect));
    if (r < 0)
        return r;
    /* The picked port may be taken by someone else before the broker binds it (outgoing
     * connections use the same range): then the broker exits naming the address, and the
     * start is retried on another port. */
    for (int attempt = 1;; attempt++) {
        int port = pick_free_port();
        if (port < 0)
            return port;
        b->port = port;
        b->port2 = pick_free_port();
        if (b->port2 < 0)
            return b->port2;
        snprintf(b->bootstrap, sizeof(b->bootstrap), "127.0.0.1:%d", b->port);
        r = write_config(b);
        if (r < 0)
            return r;
        r = spawn_broker(b);
        if (r != -ECHILD || attempt == 3 || !st_test_file_contains(b->log_path, "Address already in use"))
            return r;
        fprintf(stderr, "harness: port %d was taken before the broker bound it, retrying\n", port);
        truncate(b->log_path, 0);
    }
}

int st_test_broker_stop(st_test_broker_t *b, int sig)
{
    if (b->pid <= 0)
        return -ESRCH;
    int status = st_test_stop_child(b->pid, sig, false, STOP_TIMEOUT_MS, "harness: broker");
    b->pid = 0;
    return status;
}

int st_test_broker_restart(st_test_broker_t *b)
{
    if (b->pid > 0)
        return -EBUSY;
    if (!b->dir[0])
        return -EINVAL;
    return spawn_broker(b);
}

/* The test process ends with abort() when a broker reported: criterion ignores assertions in
 * a .fini (where most tests clean up) but reports a crash there, and exiting only then lets
 * every broker of the test be cleaned up first. */
static void abort_after_sanitizer_report(void)
{
    fprintf(stderr, "harness: a broker of this test printed a sanitizer report (above)\n");
    abort();
}

/* A sanitizer report in the broker's log (ASan/UBSan abort the broker, TSan halts it with
 * halt_on_error=1, LSan reports at exit): printed from its first line, and the test fails
 * even when it tolerated the broker's death (a broker it was about to kill anyway): at once
 * (cr_expect_fail) when cleaned up in the test body, at exit when in a .fini. */
static void check_sanitizer_report(const st_test_broker_t *b)
{
    static const char *const marks[] = { "ERROR: AddressSanitizer", "runtime error:",
                                         "WARNING: ThreadSanitizer", "ERROR: LeakSanitizer" };
    FILE *f = fopen(b->log_path, "r");
    if (!f)
        return;
    char line[1024];
    int printing = 0;
    while (fgets(line, sizeof(line), f) && printing < 120) {
        for (size_t i = 0; !printing && i < sizeof(marks) / sizeof(marks[0]); i++)
            if (strstr(line, marks[i])) {
                fprintf(stderr, "harness: sanitizer report in %s (broker %d):\n", b->log_path,
                        b->broker_id);
                printing = 1;
            }
        if (printing) {
            fputs(line, stderr);
            printing++;
        }
    }
    fclose(f);
    static bool reported;
    if (printing && !reported) {
        reported = true;
        atexit(abort_after_sanitizer_report);
    }
    if (printing)
        cr_expect_fail("sanitizer report in the log of broker %d (printed above)", b->broker_id);
}

void st_test_broker_cleanup(st_test_broker_t *b)
{
    /* $STRAND_TEST_GRACEFUL_CLEANUP: SIGTERM first, so that sanitizer builds run their leak
     * check at exit (keep the dirs with $STRAND_KEEP_TEST_DIRS to read the reports). */
    if (b->pid > 0 && getenv("STRAND_TEST_GRACEFUL_CLEANUP"))
        st_test_broker_stop(b, SIGTERM);
    if (b->pid > 0)
        st_test_broker_stop(b, SIGKILL);
    if (b->dir[0])
        check_sanitizer_report(b);
    if (b->dir[0] && getenv("STRAND_KEEP_TEST_DIRS") == NULL)
        st_test_remove_tree(b->dir);
    b->dir[0] = '\0';
    for (int i = 0; i < b->n_overrides; i++)
        free(b->overrides[i]);
    b->n_overrides = 0;
}

/* ---- tools --------------------------------------------------------------------------------- */

struct capture {
    char *data;
    size_t len, cap;
};

static int capture_read(int fd, struct capture *c)
{
    if (c->cap - c->len < 4096) {
        size_t ncap = c->cap ? c->cap * 2 : 8192;
        char *n = realloc(c->data, ncap);
        if (!n)
            return -ENOMEM;
        c->data = n;
        c->cap = ncap;
    }
    ssize_t r = read(fd, c->data + c->len, c->cap - c->len - 1);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : -errno;
    c->len += (size_t)r;
    c->data[c->len] = '\0';
    return r > 0 ? 1 : 0;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int st_test_run_tool(const char *const *argv, const char *stdin_data, char **ret_stdout,
                     char **ret_stderr, int timeout_ms)
{
    const char *dir = getenv("STRAND_TOOLS_DIR");
    if (!dir || !argv || !argv[0]) {
        fprintf(stderr, "harness: $STRAND_TOOLS_DIR is not set or no tool given\n");
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, argv[0]);

    int in_p[2], out_p[2], err_p[2];
    if (pipe2(in_p, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(out_p, O_CLOEXEC) < 0) {
        close(in_p[0]); close(in_p[1]);
        return -1;
    }
    if (pipe2(err_p, O_CLOEXEC) < 0) {
        close(in_p[0]); close(in_p[1]); close(out_p[0]); close(out_p[1]);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(in_p[0]); close(in_p[1]); close(out_p[0]); close(out_p[1]);
        close(err_p[0]); close(err_p[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(in_p[0], STDIN_FILENO);
        dup2(out_p[1], STDOUT_FILENO);
        dup2(err_p[1], STDERR_FILENO);
        execv(path, (char *const *)argv);
        fprintf(stderr, "harness: exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(in_p[0]);
    close(out_p[1]);
    close(err_p[1]);
    set_nonblock(in_p[1]);
    set_nonblock(out_p[0]);
    set_nonblock(err_p[0]);

    /* A tool that exits early closes its stdin: ignore SIGPIPE while feeding it. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
    sigaction(SIGPIPE, &ign, &old_pipe);

    struct capture out = { 0 }, err = { 0 };
    size_t in_len = stdin_data ? strlen(stdin_data) : 0, in_pos = 0;
    int in_fd = in_p[1];
    if (in_len == 0) {
        close(in_fd);
        in_fd = -1;
    }
    int out_fd = out_p[0], err_fd = err_p[0];
    int64_t deadline = st_test_now_ms() + timeout_ms;
    bool timed_out = false;
    while (out_fd >= 0 || err_fd >= 0) {
        struct pollfd pfd[3];
        int n = 0, i_in = -1, i_out = -1, i_err = -1;
        if (in_fd >= 0) { i_in = n; pfd[n++] = (struct pollfd){ in_fd, POLLOUT, 0 }; }
        if (out_fd >= 0) { i_out = n; pfd[n++] = (struct pollfd){ out_fd, POLLIN, 0 }; }
        if (err_fd >= 0) { i_err = n; pfd[n++] = (struct pollfd){ err_fd, POLLIN, 0 }; }
        int64_t left = deadline - st_test_now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        if (poll(pfd, (nfds_t)n, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            break;
        if (i_in >= 0 && pfd[i_in].revents) {
            ssize_t w = write(in_fd, stdin_data + in_pos, in_len - in_pos);
            if (w > 0)
                in_pos += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_pos == in_len) {
                close(in_fd);
                in_fd = -1;
            }
        }
        if (i_out >= 0 && pfd[i_out].revents && capture_read(out_fd, &out) <= 0) {
            close(out_fd);
            out_fd = -1;
        }
        if (i_err >= 0 && pfd[i_err].revents && capture_read(err_fd, &err) <= 0) {
            close(err_fd);
            err_fd = -1;
        }
    }
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    sigaction(SIGPIPE, &old_pipe, NULL);

    int status = 0;
    if (timed_out) {
        fprintf(stderr, "harness: %s exceeded %d ms, killing it\n", argv[0], timeout_ms);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    } else {
        /* Output closed: the tool is exiting (or closed its stdio and keeps running). */
        while (!st_test_child_exited(pid, &status)) {
            if (st_test_now_ms() > deadline) {
                timed_out = true;
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            st_test_sleep_ms(5);
        }
    }
    if (ret_stdout)
        *ret_stdout = out.data ? out.data : strdup("");
    else
        free(out.data);
    if (ret_stderr)
        *ret_stderr = err.data ? err.data : strdup("");
    else
        free(err.data);
    if (timed_out || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}
