/* Integration tests of TLS on the client listener: a real strand-broker with a PLAINTEXT and an
 * SSL listener, certificates made by deploy/gen-certs.sh (plus a foreign CA, expired
 * certificates and an encrypted key made with the openssl command), the client library and
 * the console tools over TLS with and without client certificates, the refusals (wrong CA,
 * expired certificates, missing client certificate, TLS 1.1, plaintext on the SSL port and TLS
 * on the plaintext port) with their messages and timing, handshake garbage beside a working
 * connection, `openssl s_client -tls1_3`, the principal and fetch-path log lines, the kTLS
 * fail-over, and start-up errors (exit 1 naming the file). */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "strand.h"

#define CERTS_ENV "STRAND_TLS_IT_CERTS"
#define TOPIC "tls-events"

/* ---- certificates, made once for the whole run (criterion re-executes each test, so they are
 * found again through the environment) ------------------------------------------------------ */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int r = system(cmd);
    if (r != 0)
        fprintf(stderr, "test_tls: command failed (status %d): %s\n", r, cmd);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    const char *gen = getenv("STRAND_GEN_CERTS");
    static char dir[64] = "/tmp/strand-tls-it-XXXXXX";
    if (!gen || !mkdtemp(dir))
        return;
    setenv(CERTS_ENV, dir, 1);
    sh("%s %s >/dev/null && %s %s/other >/dev/null", gen, dir, gen, dir);
    /* Expired certificates (notAfter a day before notBefore = now; OpenSSL 3.0 accepts a
     * negative -days), signed by the good CA. */
    sh("cd %s && openssl req -new -key client.key -subj /O=acme/CN=expired -out exp-client.csr "
       "2>/dev/null && openssl x509 -req -in exp-client.csr -CA ca.pem -CAkey ca.key "
       "-CAcreateserial -days -1 -out expired-client.pem 2>/dev/null", dir);
    sh("cd %s && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
       "openssl req -new -key broker.key -subj /CN=localhost -out exp-broker.csr 2>/dev/null && "
       "openssl x509 -req -in exp-broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days -1 "
       "-extfile san.ext -out expired-broker.pem 2>/dev/null", dir);
    sh("cd %s && openssl pkey -in broker.key -aes256 -passout pass:s3cret -out broker-enc.key",
       dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    const char *dir = getenv(CERTS_ENV);
    if (dir && strncmp(dir, "/tmp/strand-tls-it-", 19) == 0)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *cert(const char *name)
{
    static char paths[8][256];
    static int next;
    const char *dir = getenv(CERTS_ENV);
    cr_assert(dir, "certificates were not made (is $STRAND_GEN_CERTS set?)");
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* ---- small helpers ------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/* Waits up to timeout_ms for text to appear in the broker's log. */
static bool log_has(const st_test_broker_t *b, const char *text, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        char *log = slurp(b->log_path);
        bool found = strstr(log, text) != NULL;
        free(log);
        if (found)
            return true;
        if (now_ms() > deadline)
            return false;
        usleep(20 * 1000);
    }
}

static void dump_log(const st_test_broker_t *b)
{
    char *log = slurp(b->log_path);
    cr_log_info("broker log:\n%s", log);
    free(log);
}

typedef struct tls_broker {
    st_test_broker_t b;
    int ssl_port;
    char ssl_bootstrap[64];
} tls_broker_t;

/* Starts a broker with PLAINTEXT on the harness's port and SSL on another one. The harness
 * writes listeners=PLAINTEXT://...:port itself, so the broker is started once, then restarted
 * with both listeners appended to its server.properties. extra: NULL-terminated key=value. */
static void start_tls_broker(tls_broker_t *tb, const char *client_auth, const char *const *extra)
{
    const char *ov[24];
    size_t n = 0;
    static char cert_kv[300], key_kv[300], ca_kv[300], auth_kv[64];
    snprintf(cert_kv, sizeof(cert_kv), "ssl.certificate.location=%s", cert("broker.pem"));
    snprintf(key_kv, sizeof(key_kv), "ssl.key.location=%s", cert("broker.key"));
    snprintf(ca_kv, sizeof(ca_kv), "ssl.ca.location=%s", cert("ca.pem"));
    snprintf(auth_kv, sizeof(auth_kv), "ssl.client.auth=%s", client_auth);
    ov[n++] = cert_kv;
    ov[n++] = key_kv;
    ov[n++] = ca_kv;
    ov[n++] = auth_kv;
    ov[n++] = "auto.create.topics.enable=true";
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        ov[n++] = extra[i];
    ov[n] = NULL;
    cr_assert_eq(st_test_broker_start(&tb->b, ov), 0, "broker did not start");
    st_test_broker_stop(&tb->b, SIGTERM);
    tb->ssl_port = free_port();
    FILE *f = fopen(tb->b.config_path, "a");
    cr_assert(f);
    fprintf(f, "listeners=PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d\n", tb->b.port,
            tb->ssl_port);
    fclose(f);
    cr_assert_eq(st_test_broker_restart(&tb->b), 0, "broker did not restart with SSL");
    snprintf(tb->ssl_bootstrap, sizeof(tb->ssl_bootstrap), "127.0.0.1:%d", tb->ssl_port);
    /* The SSL port is bound before the PLAINTEXT one is polled ready? Poll it too. */
    int64_t deadline = now_ms() + 10000;
    int fd;
    while ((fd = st_test_connect(tb->ssl_port)) < 0) {
        cr_assert(now_ms() < deadline, "SSL port %d never accepted", tb->ssl_port);
        usleep(20 * 1000);
    }
    close(fd);
}

/* Client configuration for the SSL listener. with_cert: present alice's certificate. */
static strand_conf_t *ssl_conf(const tls_broker_t *tb, const char *ca, bool with_cert)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", tb->ssl_bootstrap, err, sizeof(err)), 0);
    cr_assert_eq(strand_conf_set(conf, "security.protocol", "SSL", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strand_conf_set(conf, "ssl.ca.location", ca, err, sizeof(err)), 0, "%s", err);
    if (with_cert) {
        cr_assert_eq(strand_conf_set(conf, "ssl.certificate.location", cert("client.pem"), err,
                                     sizeof(err)), 0, "%s", err);
        cr_assert_eq(strand_conf_set(conf, "ssl.key.location", cert("client.key"), err,
                                     sizeof(err)), 0, "%s", err);
    }
    strand_conf_set(conf, "socket.connection.setup.timeout.ms", "4000", err, sizeof(err));
    strand_conf_set(conf, "request.timeout.ms", "4000", err, sizeof(err));
    strand_conf_set(conf, "max.block.ms", "4000", err, sizeof(err));
    return conf;
}

static void set(strand_conf_t *conf, const char *k, const char *v)
{
    char err[512];
    cr_assert_eq(strand_conf_set(conf, k, v, err, sizeof(err)), 0, "%s=%s: %s", k, v, err);
}

static void create_topic(strand_conf_t *conf, const char *topic, int partitions)
{
    char err[512] = "";
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    cr_assert(admin, "admin over TLS: %s", err);
    strand_new_topic_t nt = { .name = topic, .num_partitions = partitions, .replication_factor = 1 };
    int r = strand_admin_create_topic(admin, &nt, 10000, err, sizeof(err));
    cr_assert(r == 0 || r == ST_ERR_TOPIC_ALREADY_EXISTS, "create %s: %s", topic, err);
    strand_admin_destroy(admin);
}

static atomic_int delivered_ok, delivered_err;
static void on_delivery(const strand_delivery_report_t *rep, void *opaque)
{
    (void)opaque;
    if (rep->error)
        atomic_fetch_add(&delivered_err, 1);
    else
        atomic_fetch_add(&delivered_ok, 1);
}

/* Produces n records of value_len bytes ("<i>:" then filler) and consumes them back from the
 * beginning, checking every value. Fetches of many KiB exercise the broker's sendfile path
 * (pread + SSL_write without kTLS). */
static void produce_consume(strand_conf_t *conf, const char *topic, int n, size_t value_len)
{
    create_topic(conf, topic, 1);
    strand_conf_t *pconf = strand_conf_dup(conf);
    strand_conf_set_delivery_cb(pconf, on_delivery, NULL);
    char err[512] = "";
    strand_producer_t *p = strand_producer_new(pconf, err, sizeof(err));
    cr_assert(p, "producer over TLS: %s", err);
    strand_conf_destroy(pconf);
    char *value = malloc(value_len);
    cr_assert(value);
    atomic_store(&delivered_ok, 0);
    atomic_store(&delivered_err, 0);
    for (int i = 0; i < n; i++) {
        memset(value, 'a' + i % 26, value_len);
        int len = snprintf(value, value_len, "%d:", i);
        value[len] = '-';
        cr_assert_eq(strand_produce(p, topic, 0, NULL, 0, value, value_len, NULL, 0, 0, NULL), 0);
    }
    cr_assert_eq(strand_producer_flush(p, 20000), 0);
    cr_assert_eq(atomic_load(&delivered_ok), n, "delivered %d of %d (%d errors)",
                 atomic_load(&delivered_ok), n, atomic_load(&delivered_err));
    strand_producer_destroy(p);

    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert(c, "consumer over TLS: %s", err);
    strand_topic_partition_t tp = { .topic = topic, .partition = 0,
                                    .offset = STRAND_OFFSET_BEGINNING };
    cr_assert_eq(strand_consumer_assign(c, &tp, 1), 0);
    int got = 0;
    int64_t deadline = now_ms() + 20000;
    while (got < n && now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t count;
        cr_assert_eq(strand_consumer_poll(c, 500, &msgs, &count), 0);
        for (size_t i = 0; i < count; i++) {
            cr_assert_eq(msgs[i].error, 0, "fetch error: %s", msgs[i].errstr);
            cr_assert_eq(msgs[i].offset, got);
            cr_assert_eq(msgs[i].value_len, value_len);
            memset(value, 'a' + got % 26, value_len);
            int len = snprintf(value, value_len, "%d:", got);
            value[len] = '-';
            cr_assert(memcmp(msgs[i].value, value, value_len) == 0, "record %d differs", got);
            got++;
        }
    }
    cr_assert_eq(got, n, "consumed %d of %d records over TLS", got, n);
    strand_consumer_destroy(c);
    free(value);
}

/* Bootstraps a client with conf and expects it to fail within 5 s; returns its errstr. */
static char *expect_refused(strand_conf_t *conf)
{
    static char err[1024];
    err[0] = '\0';
    int64_t t0 = now_ms();
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    int64_t took = now_ms() - t0;
    if (admin) {
        /* Bootstrapping may be lazy: the first call must fail then. */
        char **names = NULL;
        size_t count = 0;
        int r = strand_admin_list_topics(admin, false, 4000, &names, &count);
        took = now_ms() - t0;
        if (r == 0)
            strand_names_free(names, count);
        cr_assert_neq(r, 0, "the client was not refused");
        snprintf(err, sizeof(err), "%s", strand_err_desc(r));
        strand_admin_destroy(admin);
    }
    cr_assert_lt(took, 5000, "refusal took %lld ms (must fail fast)", (long long)took);
    cr_log_info("refused in %lld ms: %s", (long long)took, err);
    return err;
}

/* Runs a shell command with a time limit, returning its exit status and output (2>&1). */
static int run_cmd(char **ret_out, int timeout_s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int run_cmd(char **ret_out, int timeout_s, const char *fmt, ...)
{
    char cmd[4096], full[4300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "timeout -s KILL %d sh -c '%s' 2>&1", timeout_s, cmd);
    FILE *p = popen(full, "r");
    cr_assert(p);
    size_t cap = 8192, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 1024)
            out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    int status = pclose(p);
    *ret_out = out;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void teardown(tls_broker_t *tb)
{
    if (tb->b.dir[0] && getenv("STRAND_TLS_TEST_VERBOSE"))
        dump_log(&tb->b);
    st_test_broker_cleanup(&tb->b);
}

/* No per-test .timeout: criterion 2.4 leaks its timeout timers in the runner when tests run in
 * parallel (LeakSanitizer fails the run); meson's timeout bounds the whole binary. */

/* ---- produce / consume --------------------------------------------------------------------- */

Test(tls, library_without_client_certificate)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    produce_consume(conf, TOPIC, 3000, 1024);
    strand_conf_destroy(conf);
    cr_assert(log_has(&tb.b, "principal User:ANONYMOUS", 2000), "anonymous principal not logged");
    teardown(&tb);
}

Test(tls, library_with_client_certificate_and_principal)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "required", NULL);
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), true);
    produce_consume(conf, TOPIC, 500, 1024);
    strand_conf_destroy(conf);
    cr_assert(log_has(&tb.b, "principal User:CN=alice,O=acme", 2000),
              "principal User:CN=alice,O=acme not logged");
    /* The connect line names peer, listener, principal, TLS version and cipher. */
    cr_assert(log_has(&tb.b, "on listener SSL: principal User:CN=alice,O=acme, TLSv1.3 TLS_AES_", 0));
    teardown(&tb);
}

Test(tls, hostname_verification_by_ip_and_by_name)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    /* By name: localhost is in the broker certificate's SAN. */
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    char bs[64];
    snprintf(bs, sizeof(bs), "localhost:%d", tb.ssl_port);
    set(conf, "bootstrap.servers", bs);
    char err[512] = "";
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    cr_assert(admin, "%s", err);
    char **names;
    size_t count;
    cr_assert_eq(strand_admin_list_topics(admin, false, 5000, &names, &count), 0);
    strand_names_free(names, count);
    strand_admin_destroy(admin);
    strand_conf_destroy(conf);
    teardown(&tb);
}

Test(tls, console_tools_over_tls_with_client_certificate)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "required", NULL);
    const char *props = cert("client-mtls.properties");
    char *out = NULL, *errout = NULL;
    const char *create[] = { "strand-topics", "--bootstrap-server", tb.ssl_bootstrap,
                             "--command-config", props, "--create", "--topic", "tools-tls",
                             "--partitions", "1", "--replication-factor", "1", NULL };
    int rc = st_test_run_tool(create, NULL, &out, &errout, 20000);
    cr_assert_eq(rc, 0, "strand-topics --create over TLS: %s%s", out, errout);
    free(out);
    free(errout);
    const char *produce[] = { "strand-console-producer", "--bootstrap-server", tb.ssl_bootstrap,
                              "--producer.config", props, "--topic", "tools-tls", NULL };
    rc = st_test_run_tool(produce, "one\ntwo\nthree\n", &out, &errout, 20000);
    cr_assert_eq(rc, 0, "console producer over TLS: %s%s", out, errout);
    free(out);
    free(errout);
    const char *consume[] = { "strand-console-consumer", "--bootstrap-server", tb.ssl_bootstrap,
                              "--consumer.config", props, "--topic", "tools-tls",
                              "--from-beginning", "--max-messages", "3", "--timeout-ms", "10000",
                              NULL };
    rc = st_test_run_tool(consume, NULL, &out, &errout, 20000);
    cr_assert_eq(rc, 0, "console consumer over TLS: %s", errout);
    cr_assert_str_eq(out, "one\ntwo\nthree\n");
    free(out);
    free(errout);
    cr_assert(log_has(&tb.b, "principal User:CN=alice,O=acme", 2000));
    teardown(&tb);
}

Test(tls, console_tools_over_tls_without_client_certificate)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    const char *props = cert("client-ssl.properties");
    char *out = NULL, *errout = NULL;
    const char *produce[] = { "strand-console-producer", "--bootstrap-server", tb.ssl_bootstrap,
                              "--producer.config", props, "--topic", "tools-ssl", NULL };
    int rc = st_test_run_tool(produce, "alpha\nbeta\n", &out, &errout, 20000);
    cr_assert_eq(rc, 0, "console producer over TLS: %s%s", out, errout);
    free(out);
    free(errout);
    const char *consume[] = { "strand-console-consumer", "--bootstrap-server", tb.ssl_bootstrap,
                              "--consumer.config", props, "--topic", "tools-ssl",
                              "--from-beginning", "--max-messages", "2", "--timeout-ms", "10000",
                              NULL };
    rc = st_test_run_tool(consume, NULL, &out, &errout, 20000);
    cr_assert_eq(rc, 0, "console consumer over TLS: %s", errout);
    cr_assert_str_eq(out, "alpha\nbeta\n");
    free(out);
    free(errout);
    const char *list[] = { "strand-topics", "--bootstrap-server", tb.ssl_bootstrap,
                           "--command-config", props, "--list", NULL };
    rc = st_test_run_tool(list, NULL, &out, &errout, 20000);
    cr_assert_eq(rc, 0, "strand-topics --list over TLS: %s", errout);
    cr_assert(strstr(out, "tools-ssl"), "%s", out);
    free(out);
    free(errout);
    teardown(&tb);
}

/* ---- refusals ------------------------------------------------------------------------------ */

Test(tls, plaintext_client_on_ssl_port_fails_fast)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    strand_conf_t *conf = strand_conf_new();
    set(conf, "bootstrap.servers", tb.ssl_bootstrap);
    set(conf, "socket.connection.setup.timeout.ms", "4000");
    set(conf, "request.timeout.ms", "4000");
    char *err = expect_refused(conf);
    cr_assert(strstr(err, "security.protocol=SSL"), "no hint in: %s", err);
    strand_conf_destroy(conf);
    cr_assert(log_has(&tb.b, "does not speak TLS", 2000), "broker did not explain the refusal");
    /* The tools say the same, and fast. */
    char *out = NULL, *errout = NULL;
    const char *list[] = { "strand-topics", "--bootstrap-server", tb.ssl_bootstrap, "--list", NULL };
    int64_t t0 = now_ms();
    int rc = st_test_run_tool(list, NULL, &out, &errout, 20000);
    cr_assert_neq(rc, 0);
    cr_assert_lt(now_ms() - t0, 5000, "strand-topics took %lld ms", (long long)(now_ms() - t0));
    cr_assert(strstr(errout, "security.protocol=SSL"), "%s", errout);
    free(out);
    free(errout);
    teardown(&tb);
}

Test(tls, ssl_client_on_plaintext_port_fails_fast)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    set(conf, "bootstrap.servers", tb.b.bootstrap);
    char *err = expect_refused(conf);
    cr_assert(strstr(err, "PLAINTEXT"), "no hint in: %s", err);
    strand_conf_destroy(conf);
    teardown(&tb);
}

Test(tls, wrong_ca_is_refused)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    strand_conf_t *conf = ssl_conf(&tb, cert("other/ca.pem"), false);
    char *err = expect_refused(conf);
    cr_assert(strstr(err, "certificate verify failed") && strstr(err, "ssl.ca.location"),
              "%s", err);
    strand_conf_destroy(conf);
    teardown(&tb);
}

Test(tls, expired_client_certificate_is_refused)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "required", NULL);
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    set(conf, "ssl.certificate.location", cert("expired-client.pem"));
    set(conf, "ssl.key.location", cert("client.key"));
    char *err = expect_refused(conf);
    cr_assert(strstr(err, "certificate expired"), "%s", err);
    strand_conf_destroy(conf);
    cr_assert(log_has(&tb.b, "certificate has expired", 2000), "broker did not log the reason");
    teardown(&tb);
}

Test(tls, expired_broker_certificate_is_refused)
{
    tls_broker_t tb;
    static char cert_kv[300];
    snprintf(cert_kv, sizeof(cert_kv), "ssl.certificate.location=%s", cert("expired-broker.pem"));
    const char *extra[] = { cert_kv, NULL };   /* same key as broker.pem, expired */
    start_tls_broker(&tb, "none", extra);
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    char *err = expect_refused(conf);
    cr_assert(strstr(err, "certificate has expired"), "%s", err);
    strand_conf_destroy(conf);
    teardown(&tb);
}

Test(tls, missing_client_certificate_when_required)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "required", NULL);
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    char *err = expect_refused(conf);
    cr_assert(strstr(err, "requires a client certificate"), "%s", err);
    strand_conf_destroy(conf);
    cr_assert(log_has(&tb.b, "peer did not return a certificate", 2000));
    teardown(&tb);
}

Test(tls, tls11_is_refused)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    char *out;
    int rc = run_cmd(&out, 10, "openssl s_client -connect 127.0.0.1:%d -tls1_1 "
                     "-cipher DEFAULT@SECLEVEL=0 -CAfile %s </dev/null", tb.ssl_port,
                     cert("ca.pem"));
    cr_assert_neq(rc, 0, "TLS 1.1 handshake succeeded:\n%s", out);
    cr_assert(strstr(out, "alert protocol version"), "%s", out);
    free(out);
    cr_assert(log_has(&tb.b, "unsupported protocol", 2000), "broker did not log the reason");
    /* The library, forced to TLSv1.1, is refused with a clear message too. */
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    set(conf, "ssl.enabled.protocols", "TLSv1.1");
    char *err = expect_refused(conf);
    cr_assert(strstr(err, "TLS version in common"), "%s", err);
    strand_conf_destroy(conf);
    teardown(&tb);
}

/* ---- robustness, openssl s_client, logs ---------------------------------------------------- */

Test(tls, handshake_garbage_does_not_disturb_other_connections)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    /* One connection sends garbage, one stalls half-way through a TLS record header. */
    int junk = st_test_connect(tb.ssl_port), staller = st_test_connect(tb.ssl_port);
    cr_assert(junk >= 0 && staller >= 0);
    const char garbage[] = "\x00\x00\x00\x10GARBAGEGARBAGE!!\r\n\r\nGET / HTTP/1.0\r\n\r\n";
    cr_assert_eq(write(junk, garbage, sizeof(garbage) - 1), (ssize_t)sizeof(garbage) - 1);
    cr_assert_eq(write(staller, "\x16\x03", 2), 2);
    /* The garbage connection is closed promptly. */
    struct pollfd pfd = { junk, POLLIN, 0 };
    cr_assert_eq(poll(&pfd, 1, 5000), 1, "broker did not close the garbage connection");
    char buf[64];
    cr_assert_leq(read(junk, buf, sizeof(buf)), 0);
    close(junk);
    /* Meanwhile a real client works. */
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    produce_consume(conf, TOPIC, 200, 512);
    strand_conf_destroy(conf);
    close(staller);
    cr_assert(log_has(&tb.b, "SSL handshake failed: error:0A00010B:SSL routines::wrong version "
                      "number (the client does not speak TLS", 2000), "garbage not explained");
    teardown(&tb);
}

Test(tls, openssl_s_client_connects_with_tls13)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    char *out;
    int rc = run_cmd(&out, 10, "openssl s_client -connect 127.0.0.1:%d -tls1_3 -CAfile %s "
                     "-verify_return_error -brief </dev/null", tb.ssl_port, cert("ca.pem"));
    cr_assert_eq(rc, 0, "s_client failed:\n%s", out);
    cr_assert(strstr(out, "Protocol version: TLSv1.3"), "%s", out);
    cr_assert(strstr(out, "Verification: OK"), "%s", out);
    free(out);
    teardown(&tb);
}

Test(tls, broker_logs_fallback_fetch_path)
{
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    cr_assert(log_has(&tb.b, "listener SSL: kernel TLS unavailable (", 2000) ||
              log_has(&tb.b, "listener SSL: kernel TLS available", 0), "no kTLS probe line");
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    produce_consume(conf, TOPIC, 100, 1024);
    strand_conf_destroy(conf);
    /* This kernel has no "tls" ULP: the copy path is the one in use, said once at INFO. */
    if (log_has(&tb.b, "kernel TLS unavailable", 0))
        cr_assert(log_has(&tb.b, "listener SSL: fetched records are sent with pread + SSL_write "
                          "(no kTLS: ", 2000), "fallback path not logged");
    teardown(&tb);
}

Test(tls, ktls_forced_on_falls_back_gracefully)
{
    setenv("STRAND_TLS_KTLS", "on", 1);   /* inherited by the broker */
    tls_broker_t tb;
    start_tls_broker(&tb, "none", NULL);
    unsetenv("STRAND_TLS_KTLS");
    cr_assert(log_has(&tb.b, "kernel TLS forced on", 2000) ||
              log_has(&tb.b, "kernel TLS available", 0));
    strand_conf_t *conf = ssl_conf(&tb, cert("ca.pem"), false);
    produce_consume(conf, TOPIC, 1000, 1024);
    strand_conf_destroy(conf);
    cr_assert(log_has(&tb.b, "fetched records are sent with", 2000));
    teardown(&tb);
}

/* ---- start-up errors ----------------------------------------------------------------------- */

/* Runs strand-broker on a config with an SSL listener and the given ssl.* lines; expects exit 1
 * and a message containing each of want[] (NULL-terminated). */
static void expect_startup_error(const char *ssl_lines, const char *const *want)
{
    char dir[] = "/tmp/strand-tls-start-XXXXXX";
    cr_assert(mkdtemp(dir));
    char cfg[128];
    snprintf(cfg, sizeof(cfg), "%s/server.properties", dir);
    char zk[200];
    cr_assert_eq(st_test_zk_chroot(zk, sizeof(zk)), 0);
    FILE *f = fopen(cfg, "w");
    fprintf(f, "broker.id=0\nlog.dirs=%s/logs\nzookeeper.connect=%s\n"
            "listeners=PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d\n%s\n", dir, zk, free_port(),
            free_port(), ssl_lines);
    fclose(f);
    char *out;
    int64_t t0 = now_ms();
    int rc = run_cmd(&out, 20, "%s %s", getenv("STRAND_BROKER"), cfg);
    cr_assert_lt(now_ms() - t0, 10000);
    cr_assert_eq(rc, 1, "exit status %d, output:\n%s", rc, out);
    for (size_t i = 0; want[i]; i++)
        cr_assert(strstr(out, want[i]), "'%s' not in:\n%s", want[i], out);
    free(out);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

Test(tls, startup_missing_key_file)
{
    char lines[1024], missing[300];
    snprintf(missing, sizeof(missing), "%s", cert("no-such.key"));
    snprintf(lines, sizeof(lines), "ssl.certificate.location=%s\nssl.key.location=%s",
             cert("broker.pem"), missing);
    const char *want[] = { "ssl.key.location", missing, "No such file or directory", NULL };
    expect_startup_error(lines, want);
}

Test(tls, startup_key_not_matching_certificate)
{
    char lines[1024], key[300];
    snprintf(key, sizeof(key), "%s", cert("client.key"));
    snprintf(lines, sizeof(lines), "ssl.certificate.location=%s\nssl.key.location=%s",
             cert("broker.pem"), key);
    const char *want[] = { key, "does not match", "key values mismatch", NULL };
    expect_startup_error(lines, want);
}

Test(tls, startup_bad_key_password)
{
    char lines[1024], key[300];
    snprintf(key, sizeof(key), "%s", cert("broker-enc.key"));
    snprintf(lines, sizeof(lines), "ssl.certificate.location=%s\nssl.key.location=%s\n"
             "ssl.key.password=wrong", cert("broker.pem"), key);
    /* OpenSSL's reason varies: usually "bad decrypt", but about one wrong password in 256
     * passes the CBC padding check and then fails ASN.1 decoding instead. Either way its error
     * text ("error:...") follows the broker's own explanation. */
    const char *want[] = { key, "wrong ssl.key.password", "error:", NULL };
    expect_startup_error(lines, want);
}

Test(tls, startup_unreadable_certificate)
{
    char lines[1024], missing[300];
    snprintf(missing, sizeof(missing), "%s", cert("no-such.pem"));
    snprintf(lines, sizeof(lines), "ssl.certificate.location=%s\nssl.key.location=%s", missing,
             cert("broker.key"));
    const char *want[] = { "ssl.certificate.location", missing, "No such file", NULL };
    expect_startup_error(lines, want);
}

Test(tls, client_bad_files_fail_at_creation)
{
    /* No broker needed: files are loaded when the handle is made. */
    char err[1024] = "", missing[300];
    snprintf(missing, sizeof(missing), "%s", cert("no-such-ca.pem"));
    strand_conf_t *conf = strand_conf_new();
    set(conf, "bootstrap.servers", "127.0.0.1:1");
    set(conf, "security.protocol", "SSL");
    set(conf, "ssl.ca.location", missing);
    int64_t t0 = now_ms();
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    cr_assert_null(admin);
    cr_assert_lt(now_ms() - t0, 3000);
    cr_assert(strstr(err, "ssl.ca.location") && strstr(err, missing) && strstr(err, "No such file"),
              "%s", err);
    /* A key that does not match the certificate. */
    set(conf, "ssl.ca.location", cert("ca.pem"));
    set(conf, "ssl.certificate.location", cert("client.pem"));
    set(conf, "ssl.key.location", cert("broker.key"));
    cr_assert_null(strand_admin_new(conf, err, sizeof(err)));
    cr_assert(strstr(err, "does not match") && strstr(err, "broker.key"), "%s", err);
    set(conf, "ssl.key.location", cert("client.key"));
    set(conf, "ssl.endpoint.identification.algorithm", "dns");
    cr_assert_null(strand_admin_new(conf, err, sizeof(err)));
    cr_assert(strstr(err, "ssl.endpoint.identification.algorithm"), "%s", err);
    strand_conf_destroy(conf);
    /* The tools say it in one line and exit 1. */
    char props[400];
    snprintf(props, sizeof(props), "%s.bad-%d.properties", cert("client"), (int)getpid());
    FILE *f = fopen(props, "w");
    fprintf(f, "security.protocol=SSL\nssl.ca.location=%s\n", missing);
    fclose(f);
    char *out = NULL, *errout = NULL;
    const char *list[] = { "strand-topics", "--bootstrap-server", "127.0.0.1:1", "--command-config",
                           props, "--list", NULL };
    int rc = st_test_run_tool(list, NULL, &out, &errout, 10000);
    unlink(props);
    cr_assert_eq(rc, 1, "%s", errout);
    cr_assert(strstr(errout, missing), "%s", errout);
    free(out);
    free(errout);
}
