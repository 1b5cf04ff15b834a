/* SSL transport of the client library (security.protocol=SSL): TCP as in st_transport_plain.c,
 * then an OpenSSL session made from the client's context (ctx_new: ssl.ca.location,
 * ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.enabled.protocols,
 * ssl.cipher.suites) with the broker's certificate checked against the host connected to
 * (ssl.endpoint.identification.algorithm=https: DNS name or IP subjectAltName). See
 * st_transport.h for the contract.
 *
 * INVARIANTS (per connection, checked by check_state())
 *  1. conn->tls is the state below from connect() until close().
 *  2. pend_len > 0 exactly when the last SSL_write returned WANT_*: its bytes sit in
 *     buf[0..pend_len) and the next writev writes them again (OpenSSL requires the same bytes
 *     and at least the same length); the caller's iovec then starts with those same bytes,
 *     which writev therefore does not copy again.
 *  3. After a fatal error (failed) only close() touches the session, and it sends no
 *     close_notify; error[] says what happened. */
#include "st_transport.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "st_client_conf.h"
#include "st_logger.h"
#include "st_tls.h"

/* writev gathers up to this much into one SSL_write: 4 full TLS records. */
#define BUF_CAP (64 * 1024)
/* OpenSSL reads ahead into a buffer this large, so one read(2) brings several records. */
#define READ_BUF_LEN (64 * 1024 + 512)

typedef struct ssl_client_ctx {
    SSL_CTX *ctx;
    bool verify_host;
} ssl_client_ctx_t;

typedef struct ssl_state {
    SSL *ssl;
    bool failed;
    size_t pend_len;
    uint8_t *buf;            /* BUF_CAP bytes, allocated on the first write */
    char error[512];
} ssl_state_t;

static bool check_state(const st_conn_t *conn)
{
    const ssl_state_t *s = conn->tls;
    assert(s && s->ssl);
    assert(s->pend_len == 0 || (s->buf && s->pend_len <= BUF_CAP));
    return true;
}

static int ssl_ctx_new(const st_client_conf_t *conf, void **ret_ctx, char *errbuf, size_t errlen)
{
    const char *eia = conf->ssl_endpoint_identification_algorithm;
    bool verify_host;
    if (!eia || !*eia) {
        verify_host = false;
    } else if (strcasecmp(eia, "https") == 0) {
        verify_host = true;
    } else {
        snprintf(errbuf, errlen, "ssl.endpoint.identification.algorithm=%s: expected https, or "
                 "empty to turn hostname verification off", eia);
        return -EINVAL;
    }
    st_tls_conf_t tls = {
        .certificate_location = conf->ssl_certificate_location,
        .key_location = conf->ssl_key_location,
        .key_password = conf->ssl_key_password,
        .ca_location = conf->ssl_ca_location,
        .enabled_protocols = conf->ssl_enabled_protocols,
        .cipher_suites = conf->ssl_cipher_suites,
    };
    ssl_client_ctx_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int r = st_tls_client_ctx_new(&tls, &c->ctx, errbuf, errlen);
    if (r < 0) {
        free(c);
        return r;
    }
    SSL_CTX_set_read_ahead(c->ctx, 1);
    SSL_CTX_set_default_read_buffer_len(c->ctx, READ_BUF_LEN);
    c->verify_host = verify_host;
    *ret_ctx = c;
    return 0;
}

static void ssl_ctx_free(void *ctx)
{
    ssl_client_ctx_t *c = ctx;
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

static int ssl_connect(st_conn_t *conn, const char *host, int port, char *errbuf, size_t errlen)
{
    ssl_client_ctx_t *c = conn->tp_ctx;
    if (!c) {
        snprintf(errbuf, errlen, "SSL transport used without its context (bug)");
        return -EINVAL;
    }
    ssl_state_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errbuf, errlen, "out of memory");
        return -ENOMEM;
    }
    int r = st_transport_plain.connect(conn, host, port, errbuf, errlen);
    if (r < 0 && r != -EINPROGRESS) {
        free(s);
        return r;
    }
    s->ssl = SSL_new(c->ctx);
    if (!s->ssl || SSL_set_fd(s->ssl, conn->fd) != 1 ||
        st_tls_client_set_host(s->ssl, host, c->verify_host) < 0) {
        char reason[256];
        snprintf(errbuf, errlen, "cannot set up the TLS session for %s: %s", host,
                 st_tls_drain_errors(reason, sizeof(reason)));
        SSL_free(s->ssl);
        free(s);
        st_transport_plain.close(conn);
        return -ENOMEM;
    }
    SSL_set_connect_state(s->ssl);
    conn->tls = s;
    return r;
}

/* Maps a failed SSL_* call: WANT_* -> -EAGAIN with want_*; 0 for a clean close (reads);
 * otherwise -errno or -EPROTO with error[] set. */
static ssize_t map_error(st_conn_t *conn, int ret, int saved_errno)
{
    ssl_state_t *s = conn->tls;
    int code = SSL_get_error(s->ssl, ret);
    if (code == SSL_ERROR_WANT_READ) {
        conn->want_read = true;
        return -EAGAIN;
    }
    if (code == SSL_ERROR_WANT_WRITE) {
        conn->want_write = true;
        return -EAGAIN;
    }
    if (code == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return 0;
    }
    s->failed = true;
    st_tls_error_explain(s->ssl, ret, saved_errno, s->error, sizeof(s->error));
    return code == SSL_ERROR_SYSCALL && saved_errno ? -saved_errno : -EPROTO;
}

static int ssl_finish_connect(st_conn_t *conn)
{
    return st_transport_plain.finish_connect(conn);
}

static int ssl_handshake(st_conn_t *conn, char *errbuf, size_t errlen)
{
    ssl_state_t *s = conn->tls;
    assert(check_state(conn));
    if (s->failed) {
        snprintf(errbuf, errlen, "%s", s->error);
        return -EPROTO;
    }
    ERR_clear_error();
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        char desc[128];
        ST_DEBUG("client: TLS to %s:%d: %s", conn->host, conn->port,
                 st_tls_describe(s->ssl, desc, sizeof(desc)));
        return 0;
    }
    ssize_t res = map_error(conn, r, errno);
    if (res == -EAGAIN)
        return -EAGAIN;
    if (res == 0) {
        s->failed = true;
        snprintf(s->error, sizeof(s->error), "the broker closed the connection during the TLS "
                 "handshake (is this a PLAINTEXT listener?)");
    }
    snprintf(errbuf, errlen, "%s", s->error);
    return res < 0 ? (int)res : -ECONNRESET;
}

static ssize_t ssl_read(st_conn_t *conn, void *buf, size_t len)
{
    ssl_state_t *s = conn->tls;
    assert(check_state(conn));
    if (s->failed)
        return -EPROTO;
    ssize_t got = st_tls_read_fill(s->ssl, buf, len);
    return got > 0 ? got : map_error(conn, (int)got, errno);
}

/* The broker refused us after our side of the handshake was done (TLS 1.3: a client
 * certificate it does not accept), sent an alert and closed; our next write then meets a reset.
 * The alert is still in the socket's receive queue, ahead of the reset: read it for the real
 * reason. */
static void explain_reset(st_conn_t *conn)
{
    ssl_state_t *s = conn->tls;
    char scratch[512];
    ERR_clear_error();
    int r = SSL_read(s->ssl, scratch, sizeof(scratch));
    if (r <= 0 && SSL_get_error(s->ssl, r) == SSL_ERROR_SSL)
        st_tls_error_explain(s->ssl, r, 0, s->error, sizeof(s->error));
    else
        ERR_clear_error();
}

static ssize_t ssl_writev(st_conn_t *conn, const struct iovec *iov, int iovcnt)
{
    ssl_state_t *s = conn->tls;
    assert(check_state(conn));
    if (s->failed)
        return -EPROTO;
    size_t n = s->pend_len;
    if (n == 0) {
        if (!s->buf && !(s->buf = malloc(BUF_CAP)))
            return -ENOMEM;
        for (int i = 0; i < iovcnt && n < BUF_CAP; i++) {
            size_t take = iov[i].iov_len < BUF_CAP - n ? iov[i].iov_len : BUF_CAP - n;
            memcpy(s->buf + n, iov[i].iov_base, take);
            n += take;
        }
        if (n == 0)
            return 0;
    }
    ERR_clear_error();
    int r = SSL_write(s->ssl, s->buf, (int)n);
    if (r > 0) {
        s->pend_len = 0;
        return r;
    }
    int saved = errno;
    ssize_t res = map_error(conn, r, saved);
    if (res == -EAGAIN) {
        s->pend_len = n;
        return -EAGAIN;
    }
    s->pend_len = 0;
    if (res == -ECONNRESET || res == -EPIPE)
        explain_reset(conn);
    if (res == 0) {
        s->failed = true;
        snprintf(s->error, sizeof(s->error), "the broker closed the TLS session");
        return -EPIPE;
    }
    return res;
}

static void ssl_close(st_conn_t *conn)
{
    ssl_state_t *s = conn->tls;
    if (s) {
        if (!s->failed && SSL_is_init_finished(s->ssl)) {
            ERR_clear_error();
            SSL_shutdown(s->ssl);   /* best-effort close_notify, never waits */
        }
        ERR_clear_error();
        SSL_free(s->ssl);
        free(s->buf);
        free(s);
        conn->tls = NULL;
    }
    st_transport_plain.close(conn);
}

static const char *ssl_last_error(const st_conn_t *conn)
{
    const ssl_state_t *s = conn->tls;
    return s && s->failed && s->error[0] ? s->error : NULL;
}

static bool ssl_pending(const st_conn_t *conn)
{
    const ssl_state_t *s = conn->tls;
    return s && !s->failed && SSL_has_pending(s->ssl);
}

const st_transport_t st_transport_ssl = {
    .name = "SSL",
    .connect = ssl_connect,
    .finish_connect = ssl_finish_connect,
    .handshake = ssl_handshake,
    .read = ssl_read,
    .writev = ssl_writev,
    .close = ssl_close,
    .ctx_new = ssl_ctx_new,
    .ctx_free = ssl_ctx_free,
    .last_error = ssl_last_error,
    .pending = ssl_pending,
};
