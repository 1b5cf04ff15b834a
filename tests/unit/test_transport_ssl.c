/* Unit tests of the TLS transport's accept side (common/net/st_transport_ssl.c) against an
 * OpenSSL client on a loopback TCP pair with small socket buffers, so that every WANT_WRITE / retry path is
 * taken: the handshake and principal, writev gathering and its retries, and sendfile's copy
 * path (pread + SSL_write) for several MiB of a file, in both of the transport's modes --
 * buffered (the default without kTLS: records collected and sent with one send(2)) and direct
 * (kTLS asked for with STRAND_TLS_KTLS=on; this kernel refuses it, so the connection falls back
 * to pread + SSL_write over OpenSSL's socket BIO). */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "st_tls.h"
#include "st_transport.h"

#define CERTS_ENV "STRAND_TLS_TRANSPORT_CERTS"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    const char *gen = getenv("STRAND_GEN_CERTS");
    char tmp[] = "/tmp/strand-tls-tr-XXXXXX";
    if (!gen || !*gen || !mkdtemp(tmp))
        return;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s %s >/dev/null", gen, tmp);
    if (system(cmd) == 0)
        setenv(CERTS_ENV, tmp, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    const char *d = getenv(CERTS_ENV);
    if (d && strncmp(d, "/tmp/strand-tls-tr-", 19) == 0)
        nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char certs[64];

static void find_certs(void)
{
    const char *d = getenv(CERTS_ENV);
    cr_assert(d, "certificates were not made ($STRAND_GEN_CERTS unset or gen-certs.sh failed)");
    snprintf(certs, sizeof(certs), "%s", d);
}

TestSuite(transport_ssl, .init = find_certs);

typedef struct pair {
    void *listener;                   /* st_transport_ssl.listener_new's context */
    st_transport_conn_t *server;
    SSL_CTX *cctx;
    SSL *client;
    int cfd;
} pair_t;

/* Loops below run until done or this deadline; when neither side moved they wait briefly on
 * both sockets instead of spinning (a small window can wait for an ACK). */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void idle_wait(const pair_t *p);

static void small_buffers(int fd)
{
    int sz = 8192, one = 1;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A connected loopback TCP pair with small, non-blocking buffers. */
static void tcp_pair(int *ret_server, int *ret_client)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    cr_assert(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 1) == 0 &&
              getsockname(lfd, (struct sockaddr *)&a, &len) == 0);
    int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    small_buffers(cfd);   /* before connect, so the window starts small */
    int r = connect(cfd, (struct sockaddr *)&a, sizeof(a));
    cr_assert(r == 0 || errno == EINPROGRESS);
    int sfd = accept(lfd, NULL, NULL);
    cr_assert(sfd >= 0);
    small_buffers(sfd);
    close(lfd);
    *ret_server = sfd;
    *ret_client = cfd;
}

static void pair_make(pair_t *p, bool with_client_cert)
{
    memset(p, 0, sizeof(*p));
    char ca[128], bpem[128], bkey[128], cpem[128], ckey[128], err[512] = "";
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    snprintf(bpem, sizeof(bpem), "%s/broker.pem", certs);
    snprintf(bkey, sizeof(bkey), "%s/broker.key", certs);
    snprintf(cpem, sizeof(cpem), "%s/client.pem", certs);
    snprintf(ckey, sizeof(ckey), "%s/client.key", certs);
    st_tls_conf_t sc = { .certificate_location = bpem, .key_location = bkey, .ca_location = ca,
                         .client_auth = "requested" };
    cr_assert_eq(st_transport_ssl.listener_new(&sc, "SSL", &p->listener, err, sizeof(err)), 0, "%s", err);
    st_tls_conf_t cc = { .ca_location = ca };
    if (with_client_cert) {
        cc.certificate_location = cpem;
        cc.key_location = ckey;
    }
    cr_assert_eq(st_tls_client_ctx_new(&cc, &p->cctx, err, sizeof(err)), 0, "%s", err);
    int sfd;
    tcp_pair(&sfd, &p->cfd);
    p->server = st_transport_ssl.accept(sfd, "127.0.0.1:1", p->listener);
    cr_assert(p->server);
    p->client = SSL_new(p->cctx);
    SSL_set_fd(p->client, p->cfd);
    SSL_set_connect_state(p->client);
    cr_assert_eq(st_tls_client_set_host(p->client, "localhost", true), 0);
}

static void idle_wait(const pair_t *p)
{
    struct pollfd pfd[2] = { { p->server->fd, POLLIN | POLLOUT, 0 }, { p->cfd, POLLIN | POLLOUT, 0 } };
    poll(pfd, 2, 5);
}

static void pair_free(pair_t *p)
{
    st_transport_close(p->server);
    SSL_free(p->client);
    close(p->cfd);
    SSL_CTX_free(p->cctx);
    st_transport_ssl.listener_free(p->listener);
}

static void handshake(pair_t *p)
{
    bool sdone = false, cdone = false;
    int64_t deadline = now_ms() + 10000;
    while (!(sdone && cdone) && now_ms() < deadline) {
        if (!cdone) {
            int r = SSL_do_handshake(p->client);
            int code = SSL_get_error(p->client, r);
            cr_assert(r == 1 || code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE,
                      "client handshake failed");
            cdone = r == 1;
        }
        if (!sdone) {
            int r = st_transport_handshake(p->server);
            cr_assert(r == 0 || r == ST_TRANSPORT_WANT_READ || r == ST_TRANSPORT_WANT_WRITE,
                      "server handshake failed: %d", r);
            sdone = r == 0;
        }
        if (!(sdone && cdone))
            idle_wait(p);
    }
    cr_assert(sdone && cdone, "handshake did not finish");
}

/* Reads whatever the client can get now into out (grows); returns bytes read. */
static size_t client_drain(pair_t *p, uint8_t *out, size_t cap, size_t have)
{
    size_t got = 0;
    while (have + got < cap) {
        int r = SSL_read(p->client, out + have + got, (int)(cap - have - got));
        if (r <= 0) {
            int code = SSL_get_error(p->client, r);
            cr_assert(code == SSL_ERROR_WANT_READ, "client read failed (%d)", code);
            break;
        }
        got += (size_t)r;
    }
    return got;
}

/* Sends `len` bytes of a file through the transport's sendfile while the client reads them;
 * every WANT is answered by retrying with the same fd, position and length, as conn.c does. */
static void sendfile_roundtrip(pair_t *p, size_t len)
{
    char path[] = "/tmp/strand-tls-sf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    unlink(path);
    uint8_t *data = malloc(len), *recv = malloc(len);
    cr_assert(data && recv);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    off_t pos = 0;
    size_t received = 0;
    int wants = 0;
    int64_t deadline = now_ms() + 30000;
    while (received < len && now_ms() < deadline) {
        bool moved = false;
        if ((size_t)pos < len) {
            ssize_t n = st_transport_sendfile(p->server, fd, &pos, len - (size_t)pos);
            if (n == ST_TRANSPORT_WANT_WRITE || n == ST_TRANSPORT_WANT_READ)
                wants++;
            else
                cr_assert_gt(n, 0, "sendfile failed: %zd", n);
            moved = n > 0;
        }
        size_t got = client_drain(p, recv, len, received);
        received += got;
        if (!moved && got == 0)
            idle_wait(p);
    }
    cr_assert_eq((size_t)pos, len);
    cr_assert_eq(received, len);
    cr_assert(memcmp(data, recv, len) == 0, "bytes differ");
    if (len > 1024 * 1024)
        cr_assert_gt(wants, 0, "the small socket buffers never pushed back: retry paths untested");
    free(data);
    free(recv);
    close(fd);
}

/* writev of a header and a body in separate iovec entries, resubmitted after partial progress
 * and WANTs as conn.c does (the same bytes first, at the same addresses). */
static void writev_roundtrip(pair_t *p, size_t body_len)
{
    uint8_t header[13] = "frame-header:";
    uint8_t *body = malloc(body_len), *recv = malloc(sizeof(header) + body_len);
    for (size_t i = 0; i < body_len; i++)
        body[i] = (uint8_t)(i * 31 + 7);
    size_t total = sizeof(header) + body_len, sent = 0, received = 0;
    int wants = 0;
    int64_t deadline = now_ms() + 30000;
    while (received < total && now_ms() < deadline) {
        bool moved = false;
        if (sent < total) {
            struct iovec iov[2];
            int cnt = 0;
            if (sent < sizeof(header)) {
                iov[cnt++] = (struct iovec){ header + sent, sizeof(header) - sent };
                iov[cnt++] = (struct iovec){ body, body_len };
            } else {
                iov[cnt++] = (struct iovec){ body + (sent - sizeof(header)), total - sent };
            }
            ssize_t n = st_transport_writev(p->server, iov, cnt, 0);
            if (n == ST_TRANSPORT_WANT_WRITE || n == ST_TRANSPORT_WANT_READ)
                wants++;
            else
                cr_assert_gt(n, 0, "writev failed: %zd", n);
            if (n > 0)
                sent += (size_t)n;
            moved = n > 0;
        }
        size_t got = client_drain(p, recv, total, received);
        received += got;
        if (!moved && got == 0)
            idle_wait(p);
    }
    cr_assert_eq(received, total);
    cr_assert(memcmp(recv, header, sizeof(header)) == 0);
    cr_assert(memcmp(recv + sizeof(header), body, body_len) == 0);
    if (body_len > 100 * 1000)
        cr_assert_gt(wants, 0, "the small socket buffers never pushed back: retry paths untested");
    free(body);
    free(recv);
}

/* The server reads what the client wrote (a produce request, say). */
static void read_roundtrip(pair_t *p, size_t len)
{
    uint8_t *data = malloc(len), *got = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i ^ 0x5a);
    size_t written = 0, read = 0;
    int64_t deadline = now_ms() + 30000;
    while (read < len && now_ms() < deadline) {
        bool moved = false;
        if (written < len) {
            int r = SSL_write(p->client, data + written, (int)(len - written));
            if (r > 0)
                written += (size_t)r;
            else
                cr_assert_eq(SSL_get_error(p->client, r), SSL_ERROR_WANT_WRITE);
            moved = r > 0;
        }
        ssize_t n = st_transport_read(p->server, got + read, len - read);
        if (n > 0)
            read += (size_t)n;
        else
            cr_assert_eq(n, ST_TRANSPORT_WANT_READ, "read failed: %zd", n);
        if (!moved && n <= 0)
            idle_wait(p);
    }
    cr_assert_eq(read, len);
    cr_assert(memcmp(data, got, len) == 0);
    free(data);
    free(got);
}

static void exercise(bool client_cert)
{
    pair_t p;
    pair_make(&p, client_cert);
    handshake(&p);
    cr_assert_str_eq(st_transport_principal(p.server),
                     client_cert ? "User:CN=alice,O=acme" : "User:ANONYMOUS");
    cr_assert_str_eq(st_transport_peer(p.server), "127.0.0.1:1");
    read_roundtrip(&p, 300 * 1000);
    writev_roundtrip(&p, 200 * 1000);
    sendfile_roundtrip(&p, 3 * 1024 * 1024 + 12345);
    writev_roundtrip(&p, 5);
    sendfile_roundtrip(&p, 100);
    pair_free(&p);
}

Test(transport_ssl, buffered_mode_with_client_certificate)
{
    unsetenv("STRAND_TLS_KTLS");
    exercise(true);
}

Test(transport_ssl, buffered_mode_anonymous)
{
    setenv("STRAND_TLS_KTLS", "off", 1);
    exercise(false);
}

Test(transport_ssl, direct_mode_falls_back_from_ktls)
{
    /* kTLS asked for: OpenSSL's socket BIO, SSL_OP_ENABLE_KTLS. Where the kernel has no "tls"
     * ULP the connection uses pread + SSL_write over it; where it has, SSL_sendfile. */
    setenv("STRAND_TLS_KTLS", "on", 1);
    exercise(true);
}

Test(transport_ssl, garbage_fails_the_handshake)
{
    unsetenv("STRAND_TLS_KTLS");
    pair_t p;
    pair_make(&p, false);
    const char junk[] = "\x00\x00\x00\x20not a TLS client hello at all......";
    cr_assert_eq(write(p.cfd, junk, sizeof(junk) - 1), (ssize_t)sizeof(junk) - 1);
    int r = ST_TRANSPORT_WANT_READ;
    for (int i = 0; i < 1000 && r == ST_TRANSPORT_WANT_READ; i++) {
        r = st_transport_handshake(p.server);
        if (r == ST_TRANSPORT_WANT_READ)
            usleep(1000);
    }
    cr_assert(r < 0 && r != ST_TRANSPORT_WANT_READ && r != ST_TRANSPORT_WANT_WRITE,
              "garbage accepted (%d)", r);
    pair_free(&p);
}
