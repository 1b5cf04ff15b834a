/* Broker integration tests, connection handling (issue 9, item 2): a client that hangs up while
 * its long-poll fetch is parked frees its connection at once (the broker's fd count, read from
 * /proc/<pid>/fd, returns to its baseline long before max_wait_ms), also when the client had
 * pipelined more than the receive buffer holds behind the fetch; max.connections and
 * max.connections.per.ip (+ overrides) refuse the connection past the limit with a log line
 * naming the key and the peer, and admit again once one closes; the inter-broker listener is
 * exempt from max.connections when it is a listener of its own. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker_wire.h"
#include "harness.h"
#include "st_error.h"

#define PARKED_CLIENTS   500
#define LONG_POLL_MS     120000     /* far past every bound below: only a hang-up frees them */
#define FREED_WITHIN_MS  20000      /* generous; the broker should need milliseconds */

/* Open file descriptors of a process (/proc/<pid>/fd entries), -1 if unreadable. */
static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Polls until the broker holds at most `want` fds; returns the last count seen. */
static int wait_fds_at_most(pid_t pid, int want, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int n;
    while ((n = count_fds(pid)) > want && st_test_now_ms() < deadline)
        st_test_sleep_ms(50);
    return n;
}

static int wait_fds_at_least(pid_t pid, int want, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int n;
    while ((n = count_fds(pid)) < want && st_test_now_ms() < deadline)
        st_test_sleep_ms(20);
    return n;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    cr_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 2 * PARKED_CLIENTS + 64,
              "RLIMIT_NOFILE %llu is too small for %d clients", (unsigned long long)rl.rlim_cur,
              PARKED_CLIENTS);
}

static void create_topic(int port, const char *name)
{
    int fd = st_test_connect(port);
    cr_assert_geq(fd, 0);
    Strand__CreateTopicsResponse *resp = tw_create_topic(fd, 1, name, 1, 1, NULL);
    cr_assert_not_null(resp);
    cr_assert_eq(resp->topics[0]->error_code, ST_ERR_NONE, "create %s: %s", name,
                 resp->topics[0]->error_message);
    strand__create_topics_response__free_unpacked(resp, NULL);
    /* One answered fetch: the segment files are open before the baseline is taken. */
    Strand__FetchResponse *f = tw_fetch(fd, 2, name, 0, 0, 0, 0, 0, 0, NULL, NULL);
    cr_assert_not_null(f);
    strand__fetch_response__free_unpacked(f, NULL);
    close(fd);
}

/* 500 long polls parked on an empty partition, then every client hangs up: the broker gives
 * back all 500 fds at once, not after max_wait_ms (which is 120 s here). */
Test(broker_connections, parked_fetch_hangup_frees_fd, .timeout = 120)
{
    raise_fd_limit();
    st_test_broker_t b;
    cr_assert_eq(st_test_broker_start(&b, NULL), 0, "broker did not start");
    create_topic(b.port, "quiet");
    st_test_sleep_ms(300);                    /* let the set-up connections' closes land */
    int baseline = count_fds(b.pid);
    cr_assert_gt(baseline, 0, "cannot read /proc/%d/fd", (int)b.pid);

    static int fds[PARKED_CLIENTS];
    for (int i = 0; i < PARKED_CLIENTS; i++) {
        fds[i] = st_test_connect(b.port);
        cr_assert_geq(fds[i], 0, "connection %d: %s", i, strerror(-fds[i]));
        cr_assert_eq(tw_send_fetch(fds[i], 100 + i, "quiet", 0, 0, LONG_POLL_MS, 1), 0);
    }
    int held = wait_fds_at_least(b.pid, baseline + PARKED_CLIENTS, 10000);
    cr_assert_geq(held, baseline + PARKED_CLIENTS, "the broker holds %d fds, baseline %d",
                  held, baseline);
    /* Each fetch is parked (nothing to answer for 120 s): none has an answer. */
    st_test_sleep_ms(300);
    char byte;
    cr_assert_eq(recv(fds[0], &byte, 1, MSG_DONTWAIT), -1, "a parked fetch was answered");
    cr_assert_eq(errno, EAGAIN);

    int64_t t0 = st_test_now_ms();
    for (int i = 0; i < PARKED_CLIENTS; i++)
        close(fds[i]);
    int left = wait_fds_at_most(b.pid, baseline, FREED_WITHIN_MS);
    int64_t took = st_test_now_ms() - t0;
    cr_expect_leq(left, baseline, "after %lld ms the broker still holds %d fds (baseline %d): "
                  "%d hung-up connections kept", (long long)took, left, baseline,
                  left - baseline);
    cr_log_info("%d parked hang-ups: fds back to %d (baseline %d) %lld ms after the closes",
                PARKED_CLIENTS, left, baseline, (long long)took);
    /* The broker still serves. */
    cr_expect(tw_broker_serves(b.port));
    st_test_broker_cleanup(&b);
}

/* The same with more pipelined behind the fetch than the broker's receive buffer holds: the
 * broker stops reading (backpressure) and can no longer see EOF by reading, so the idle sweep
 * asks the kernel whether the peer has gone. */
Test(broker_connections, parked_fetch_hangup_with_full_buffer, .timeout = 120)
{
    raise_fd_limit();
    st_test_broker_t b;
    cr_assert_eq(st_test_broker_start(&b, NULL), 0, "broker did not start");
    create_topic(b.port, "quiet");
    st_test_sleep_ms(300);
    int baseline = count_fds(b.pid);
    cr_assert_gt(baseline, 0);

    enum { N = 20, PIPELINED = 300 * 1024 };
    uint8_t *junk = calloc(1, PIPELINED);
    cr_assert_not_null(junk);
    /* A frame announcing more than is sent: never dispatchable, only buffered. */
    uint32_t announce = htonl(1024 * 1024);
    memcpy(junk, &announce, 4);
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = st_test_connect(b.port);
        cr_assert_geq(fds[i], 0);
        int big = 1 << 20;
        setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        cr_assert_eq(tw_send_fetch(fds[i], 7, "quiet", 0, 0, LONG_POLL_MS, 1), 0);
    }
    cr_assert_geq(wait_fds_at_least(b.pid, baseline + N, 10000), baseline + N);
    st_test_sleep_ms(300);                    /* parked */
    for (int i = 0; i < N; i++) {
        ssize_t w = send(fds[i], junk, PIPELINED, MSG_NOSIGNAL | MSG_DONTWAIT);
        cr_assert_gt(w, 256 * 1024, "only %zd bytes went out", w);
    }
    free(junk);
    st_test_sleep_ms(300);                    /* the broker fills its buffers and stops */
    for (int i = 0; i < N; i++)
        close(fds[i]);
    int left = wait_fds_at_most(b.pid, baseline, FREED_WITHIN_MS);
    cr_expect_leq(left, baseline, "the broker still holds %d fds (baseline %d)", left, baseline);
    cr_expect(tw_broker_serves(b.port));
    st_test_broker_cleanup(&b);
}

/* ---- connection limits ---------------------------------------------------------------------- */

/* A connection from src (NULL: the kernel's choice) to 127.0.0.1:port; -errno on failure. */
static int connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (src) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        inet_pton(AF_INET, src, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* True if the broker answers an ApiVersions on fd; false if it closed the connection. */
static bool admitted(int fd)
{
    Strand__ApiVersionsRequest req = STRAND__API_VERSIONS_REQUEST__INIT;
    if (tw_send(fd, STRAND__API_KEY__API_VERSIONS, 0, 9, &req.base, NULL, 0) < 0)
        return false;
    st_buf_t buf = ST_BUF_INIT;
    int r = tw_recv_frame(fd, &buf, 10000);
    st_buf_free(&buf);
    cr_assert_neq(r, -ETIMEDOUT, "neither answered nor closed within 10 s");
    return r == 0;
}

/* Opens admitted connections from src until one is refused and stays refused for a second
 * (connections the harness closed just before may still count for a moment). Returns how many
 * were admitted; their fds go to fds (at most max). */
static int fill_until_refused(const char *src, int port, int *fds, int max)
{
    int n = 0;
    int64_t refused_since = 0;
    for (;;) {
        int fd = connect_from(src, port);
        cr_assert_geq(fd, 0, "connect from %s: %s", src ? src : "any", strerror(-fd));
        if (admitted(fd)) {
            cr_assert_lt(n, max, "more than %d connections admitted", max);
            fds[n++] = fd;
            refused_since = 0;
            continue;
        }
        close(fd);
        if (!refused_since)
            refused_since = st_test_now_ms();
        else if (st_test_now_ms() - refused_since >= 1000)
            return n;
        st_test_sleep_ms(100);
    }
}

/* Broker-side ESTABLISHED connections on a local port (/proc/net/tcp). */
static int established_on(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    cr_assert_not_null(f);
    char line[512];
    int n = 0;
    fgets(line, sizeof(line), f);
    while (fgets(line, sizeof(line), f)) {
        unsigned local_port = 0, state = 0;
        if (sscanf(line, " %*d: %*8x:%x %*8x:%*x %x", &local_port, &state) == 2 &&
            (int)local_port == port && state == 0x01)
            n++;
    }
    fclose(f);
    return n;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* max.connections=8 with a separate inter-broker listener: clients fill what the inter-broker
 * connections leave, the next one is refused and logged, one closing admits a new one, and the
 * inter-broker listener is still accepted at the limit. */
Test(broker_connections, max_connections, .timeout = 120)
{
    enum { MAX = 8 };
    static const char *const ov[] = {
        "listeners=PLAINTEXT://127.0.0.1:{port},INTERNAL://127.0.0.1:{port2}",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
        "inter.broker.listener.name=INTERNAL",
        "max.connections=8",
        NULL };
    st_test_broker_t b;
    cr_assert_eq(st_test_broker_start(&b, ov), 0, "broker did not start");

    /* The broker's own inter-broker connections (its controller's channel to itself) come up
     * during and after start-up, much later under TSan: count them once they hold still, so
     * that none arrives during the fill (seen: 7 clients admitted, then 3 inter-broker). */
    int internal = established_on(b.port2);
    for (int64_t still_since = st_test_now_ms(), end = still_since + 15000;
         st_test_now_ms() - still_since < 1500 && st_test_now_ms() < end;) {
        st_test_sleep_ms(100);
        int now_n = established_on(b.port2);
        if (now_n != internal) {
            internal = now_n;
            still_since = st_test_now_ms();
        }
    }
    int fds[MAX + 1];
    int n = fill_until_refused(NULL, b.port, fds, MAX);
    cr_expect_eq(established_on(b.port2), internal,
                 "inter-broker connections changed during the fill (%d before)", internal);
    printf("max_connections: %d inter-broker, %d client connections admitted\n", internal, n);
    cr_expect_eq(n + internal, MAX, "%d client connections admitted next to %d inter-broker ones "
                 "under max.connections=%d", n, internal, MAX);
    cr_expect(tw_wait_file_contains(b.log_path, "max.connections=8 reached", 5000),
              "no refusal line naming max.connections in %s", b.log_path);
    cr_expect(tw_wait_file_contains(b.log_path, "Refused connection from 127.0.0.1:", 5000),
              "the refusal line does not name the peer");

    /* One closes: a new one is admitted (after the broker has seen the close). */
    close(fds[--n]);
    int64_t deadline = st_test_now_ms() + 5000;
    bool again = false;
    while (!again && st_test_now_ms() < deadline) {
        int fd = st_test_connect(b.port);
        cr_assert_geq(fd, 0);
        if ((again = admitted(fd)))
            fds[n++] = fd;
        else
            close(fd), st_test_sleep_ms(50);
    }
    cr_expect(again, "no connection admitted after one of %d closed", MAX);
    /* Full again: refused. */
    int extra = st_test_connect(b.port);
    cr_expect(!admitted(extra), "a connection past max.connections was admitted");
    close(extra);

    /* The inter-broker listener (a listener of its own) is exempt. */
    int ib = st_test_connect(b.port2);
    cr_assert_geq(ib, 0);
    cr_expect(admitted(ib), "the inter-broker listener refused a connection at max.connections");
    close(ib);

    close_all(fds, n);
    st_test_broker_cleanup(&b);
}

/* max.connections.per.ip=3 with overrides 127.0.0.1:1000 and 127.0.0.3:1: 127.0.0.2 gets 3,
 * the 4th is refused and logged naming max.connections.per.ip and the address, while
 * 127.0.0.1 (both loopback) still connects past 3; 127.0.0.3 gets its override's 1; closing one
 * from 127.0.0.2 admits another from it. */
Test(broker_connections, max_connections_per_ip, .timeout = 120)
{
    static const char *const ov[] = {
        "max.connections.per.ip=3",
        "max.connections.per.ip.overrides=127.0.0.1:1000,127.0.0.3:1",
        NULL };
    st_test_broker_t b;
    cr_assert_eq(st_test_broker_start(&b, ov), 0, "broker did not start");

    int two[8];
    int n2 = fill_until_refused("127.0.0.2", b.port, two, 8);
    cr_expect_eq(n2, 3, "127.0.0.2 got %d connections under max.connections.per.ip=3", n2);
    cr_expect(tw_wait_file_contains(b.log_path, "max.connections.per.ip=3 reached for 127.0.0.2",
                                    5000),
              "no refusal line naming max.connections.per.ip and 127.0.0.2 in %s", b.log_path);

    int one[6];
    for (int i = 0; i < 6; i++) {
        one[i] = connect_from("127.0.0.1", b.port);
        cr_assert_geq(one[i], 0);
        cr_expect(admitted(one[i]), "127.0.0.1 connection %d refused: its override is 1000", i);
    }

    int three[4];
    int n3 = fill_until_refused("127.0.0.3", b.port, three, 4);
    cr_expect_eq(n3, 1, "127.0.0.3 got %d connections under its override of 1", n3);
    cr_expect(tw_wait_file_contains(b.log_path,
                                    "max.connections.per.ip.overrides=1 reached for 127.0.0.3",
                                    5000), "no refusal line naming the override");

    close(two[--n2]);
    int64_t deadline = st_test_now_ms() + 5000;
    bool again = false;
    while (!again && st_test_now_ms() < deadline) {
        int fd = connect_from("127.0.0.2", b.port);
        cr_assert_geq(fd, 0);
        if ((again = admitted(fd)))
            two[n2++] = fd;
        else
            close(fd), st_test_sleep_ms(50);
    }
    cr_expect(again, "127.0.0.2 not admitted again after one of its connections closed");

    close_all(two, n2);
    close_all(one, 6);
    close_all(three, n3);
    st_test_broker_cleanup(&b);
}

/* A bad value stops start-up with a message naming the key. */
Test(broker_connections, bad_limit_configs_refused, .timeout = 60)
{
    static const struct { const char *kv, *needle; } cases[] = {
        { "max.connections.per.ip=0", "max.connections.per.ip=0 refuses every connection" },
        { "max.connections.per.ip.overrides=127.0.0.1", "max.connections.per.ip.overrides: '127.0.0.1' is not host:count" },
        { "max.connections.per.ip.overrides=127.0.0.1:x", "max.connections.per.ip.overrides: count 'x'" },
        { "max.connections=-1", "max.connections" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *ov[] = { cases[i].kv, NULL };
        st_test_broker_t b;
        int r = st_test_broker_start_ready(&b, ov, ST_TEST_READY_LISTENING);
        cr_expect_neq(r, 0, "%s: the broker started", cases[i].kv);
        cr_expect(st_test_file_contains(b.log_path, cases[i].needle), "%s: no '%s' in %s",
                  cases[i].kv, cases[i].needle, b.log_path);
        st_test_broker_cleanup(&b);
    }
}
