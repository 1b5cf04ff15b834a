/* The broker's TLS transport: OpenSSL sessions over non-blocking sockets behind the
 * st_transport_ops_t table (see transport.h for the contract and transport_ssl.h for the
 * listener context). Fetched records go out with SSL_sendfile under kernel TLS, otherwise
 * with pread into a per-connection buffer and SSL_write.
 *
 * INVARIANTS (checked by check_transport() at every transition)
 *  1. Handshake first: until handshake_done, no write is pending and principal is
 *     "User:ANONYMOUS".
 *  2. A pending write exists exactly when the last SSL_write returned WANT_*: pend != PEND_NONE
 *     <=> pend_len > 0. OpenSSL then requires the retry to pass the same bytes and a length of
 *     at least pend_len; they sit in buf[0..pend_len) and stay untouched until written:
 *       PEND_STAGE  gathered from a writev's iovec (whose retry brings the same bytes again,
 *                   which are then skipped, not copied twice);
 *       PEND_FILE   read from the file at *pos by sendfile's copy path.
 *     writev and sendfile each retry only their own kind (transport.h's retry rule).
 *  3. ktls implies kTLS was asked for on the listener and BIO_get_ktls_send said yes after the
 *     handshake; it only ever goes from true to false (fail-over), never back.
 *  4. After a fatal SSL error (failed) nothing but close() touches the session, and close()
 *     sends no close_notify. */
#include "transport_ssl.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>

#include "st_logger.h"

/* The per-connection buffer: writev gathers its iovec here and sendfile's copy path preads
 * into it; one SSL_write of it makes up to 4 full (16 KiB) TLS records. */
#define BUF_CAP (64 * 1024)

struct st_ssl_listener {
    SSL_CTX *ctx;
    char name[32];
    bool ktls_requested;       /* SSL_OP_ENABLE_KTLS is set on ctx */
    char ktls_why[160];        /* why not, when it is not */
    atomic_bool path_logged;   /* the INFO line about the fetch path in use, once */
    atomic_bool failover_logged;
};

enum pend_kind { PEND_NONE = 0, PEND_STAGE, PEND_FILE };

typedef struct ssl_transport {
    st_transport_t base;
    SSL *ssl;
    st_ssl_listener_t *listener;
    bool handshake_done;
    bool ktls;
    bool failed;
    enum pend_kind pend;
    size_t pend_len;
    uint8_t *buf;              /* BUF_CAP bytes, allocated on first write */
    char peer[64];
    char principal[512];
} ssl_transport_t;

static bool check_transport(const ssl_transport_t *st)
{
    assert(st->base.fd >= 0);
    assert(st->handshake_done || st->pend == PEND_NONE);
    assert(st->handshake_done || strcmp(st->principal, "User:ANONYMOUS") == 0);
    assert((st->pend == PEND_NONE) == (st->pend_len == 0));
    assert(st->pend == PEND_NONE || (st->buf && st->pend_len <= BUF_CAP));
    assert(!st->ktls || (st->handshake_done && st->listener->ktls_requested));
    return true;
}

/* Maps a failed SSL_* call to the transport's results; logs fatal errors with the reason
 * (the conn only sees an errno). */
static ssize_t map_error(ssl_transport_t *st, int ret, int saved_errno, const char *what)
{
    int code = SSL_get_error(st->ssl, ret);
    switch (code) {
    case SSL_ERROR_WANT_READ:
        return ST_TRANSPORT_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return ST_TRANSPORT_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return 0;
    default:
        break;
    }
    char reason[768];
    st_tls_error_explain(st->ssl, ret, saved_errno, reason, sizeof(reason));
    st->failed = true;
    if (code == SSL_ERROR_SYSCALL && saved_errno != 0) {
        ST_DEBUG("SSL %s with %s on listener %s: %s", what, st->peer, st->listener->name, reason);
        return -saved_errno;
    }
    ST_INFO("SSL %s with %s on listener %s failed: %s", what, st->peer, st->listener->name,
            reason);
    return -EPROTO;
}

static void log_fetch_path(ssl_transport_t *st)
{
    st_ssl_listener_t *l = st->listener;
    const char *path = st->ktls ? "kTLS (SSL_sendfile)" : "pread + SSL_write";
    const char *why = st->ktls ? "" : (l->ktls_requested
                                           ? "kTLS was asked for but not granted on this connection"
                                           : l->ktls_why);
    ST_DEBUG("SSL connection %s on listener %s: fetch path %s%s%s%s", st->peer, l->name, path,
             why[0] ? " (" : "", why, why[0] ? ")" : "");
    bool expected = false;
    if (atomic_compare_exchange_strong(&l->path_logged, &expected, true))
        ST_INFO("listener %s: fetched records are sent with %s%s%s%s", l->name, path,
                why[0] ? " (no kTLS: " : "", why, why[0] ? ")" : "");
}

static int ssl_handshake(st_transport_t *t)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    assert(check_transport(st));
    if (st->handshake_done)
        return 0;
    if (st->failed)
        return -EPROTO;
    ERR_clear_error();
    int r = SSL_do_handshake(st->ssl);
    if (r != 1) {
        int saved = errno;
        int code = SSL_get_error(st->ssl, r);
        if (code == SSL_ERROR_WANT_READ)
            return ST_TRANSPORT_WANT_READ;
        if (code == SSL_ERROR_WANT_WRITE)
            return ST_TRANSPORT_WANT_WRITE;
        char reason[768];
        st_tls_error_explain(st->ssl, r, saved, reason, sizeof(reason));
        st->failed = true;
        ST_INFO("SSL handshake with %s on listener %s failed: %s", st->peer, st->listener->name,
                reason);
        return code == SSL_ERROR_SYSCALL && saved ? -saved : -ECONNABORTED;
    }
    st->handshake_done = true;
    st_tls_principal(st->ssl, st->principal, sizeof(st->principal));
    st->ktls = st->listener->ktls_requested && st_tls_ktls_send_active(st->ssl);
    char desc[128];
    ST_INFO("SSL connection from %s on listener %s: principal %s, %s", st->peer,
            st->listener->name, st->principal, st_tls_describe(st->ssl, desc, sizeof(desc)));
    log_fetch_path(st);
    assert(check_transport(st));
    return 0;
}

static ssize_t ssl_read(st_transport_t *t, void *buf, size_t len)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    assert(check_transport(st) && st->handshake_done);
    if (st->failed)
        return -EPROTO;
    /* Fill the buffer from as many records as are there, as recv(2) would: one call per
     * buffer, not per 16 KiB record. A failure after some bytes is reported by the next call
     * (OpenSSL keeps returning it). */
    size_t got = 0;
    while (got < len) {
        size_t want = len - got > INT_MAX ? INT_MAX : len - got;
        ERR_clear_error();
        int r = SSL_read(st->ssl, (char *)buf + got, (int)want);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (got > 0) {
            ERR_clear_error();
            break;
        }
        return map_error(st, r, errno, "read");
    }
    return (ssize_t)got;
}

/* One SSL_write and its bookkeeping: on success the pending state is cleared, on WANT it is
 * set to (kind, n). */
static ssize_t write_once(ssl_transport_t *st, const void *data, size_t n, enum pend_kind kind)
{
    ERR_clear_error();
    int r = SSL_write(st->ssl, data, (int)n);
    if (r > 0) {
        st->pend = PEND_NONE;
        st->pend_len = 0;
        return r;
    }
    int saved = errno;
    ssize_t res = map_error(st, r, saved, "write");
    if (res == ST_TRANSPORT_WANT_READ || res == ST_TRANSPORT_WANT_WRITE) {
        st->pend = kind;
        st->pend_len = n;
    } else {
        st->pend = PEND_NONE;
        st->pend_len = 0;
        if (res == 0)
            res = -EPIPE;   /* close_notify from the peer while we write */
    }
    return res;
}

static int ensure_buf(ssl_transport_t *st)
{
    if (!st->buf && !(st->buf = malloc(BUF_CAP)))
        return -ENOMEM;
    return 0;
}

static ssize_t ssl_writev(st_transport_t *t, const struct iovec *iov, int iovcnt, int flags)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    (void)flags;   /* SSL_write has no MSG_MORE; each call ends in whole records anyway */
    assert(check_transport(st) && st->handshake_done);
    assert(st->pend != PEND_FILE);
    if (st->failed)
        return -EPROTO;
    ssize_t r;
    if (st->pend == PEND_STAGE) {
        r = write_once(st, st->buf, st->pend_len, PEND_STAGE);
    } else {
        /* Gathering costs one memcpy of at most BUF_CAP bytes, and buys whole records and a
         * retry that does not depend on where the caller keeps its bytes. */
        if (ensure_buf(st) < 0)
            return -ENOMEM;
        size_t n = 0;
        for (int i = 0; i < iovcnt && n < BUF_CAP; i++) {
            size_t take = iov[i].iov_len < BUF_CAP - n ? iov[i].iov_len : BUF_CAP - n;
            memcpy(st->buf + n, iov[i].iov_base, take);
            n += take;
        }
        if (n == 0)
            return 0;
        r = write_once(st, st->buf, n, PEND_STAGE);
    }
    assert(check_transport(st));
    return r;
}

/* kTLS: the kernel encrypts straight from the page cache. Returns bytes sent, a WANT, or
 * -ENOTSUP when the connection must fall back (the caller then uses the copy path). */
static ssize_t ktls_sendfile(ssl_transport_t *st, int fd, off_t *pos, size_t len)
{
    ERR_clear_error();
    ossl_ssize_t r = SSL_sendfile(st->ssl, fd, *pos, len, 0);
    if (r > 0) {
        *pos += r;
        return r;
    }
    int saved = errno;
    int code = SSL_get_error(st->ssl, (int)r);
    if (code == SSL_ERROR_WANT_WRITE)
        return ST_TRANSPORT_WANT_WRITE;
    if (code == SSL_ERROR_WANT_READ)
        return ST_TRANSPORT_WANT_READ;
    if (r == 0)
        return -ENODATA;   /* the file is shorter than the slice said */
    char reason[512];
    st_tls_drain_errors(reason, sizeof(reason));
    ST_DEBUG("SSL connection %s on listener %s: SSL_sendfile failed (%s, errno %s): falling back "
             "to pread + SSL_write", st->peer, st->listener->name, reason, strerror(saved));
    bool expected = false;
    if (atomic_compare_exchange_strong(&st->listener->failover_logged, &expected, true))
        ST_INFO("listener %s: SSL_sendfile failed on %s (%s); such connections fall back to "
                "pread + SSL_write", st->listener->name, st->peer, strerror(saved));
    st->ktls = false;
    return -ENOTSUP;
}

static ssize_t ssl_sendfile(st_transport_t *t, int fd, off_t *pos, size_t len)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    assert(check_transport(st) && st->handshake_done);
    if (st->failed)
        return -EPROTO;
    if (len == 0)
        return 0;
    if (st->ktls && st->pend == PEND_NONE) {
        ssize_t r = ktls_sendfile(st, fd, pos, len);
        if (r != -ENOTSUP)
            return r;
    }
    ssize_t r;
    if (st->pend == PEND_FILE) {
        assert(len >= st->pend_len);
        r = write_once(st, st->buf, st->pend_len, PEND_FILE);
    } else {
        assert(st->pend == PEND_NONE);
        if (ensure_buf(st) < 0)
            return -ENOMEM;
        size_t want = len < BUF_CAP ? len : BUF_CAP;
        ssize_t got;
        do
            got = pread(fd, st->buf, want, *pos);
        while (got < 0 && errno == EINTR);
        if (got < 0)
            return -errno;
        if (got == 0)
            return -ENODATA;   /* truncated under us, as the plain transport reports it */
        r = write_once(st, st->buf, (size_t)got, PEND_FILE);
    }
    if (r > 0)
        *pos += r;
    assert(check_transport(st));
    return r;
}

static void ssl_close(st_transport_t *t)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    if (st->handshake_done && !st->failed) {
        /* Best effort close_notify; never waits for the peer's. */
        ERR_clear_error();
        SSL_shutdown(st->ssl);
    }
    ERR_clear_error();
    SSL_free(st->ssl);
    close(t->fd);
    free(st->buf);
    free(st);
}

static const char *ssl_peer(const st_transport_t *t)
{
    return ((const ssl_transport_t *)t)->peer;
}

static const char *ssl_principal(const st_transport_t *t)
{
    return ((const ssl_transport_t *)t)->principal;
}

static const st_transport_ops_t ssl_ops = {
    .name = "SSL",
    .handshake = ssl_handshake,
    .read = ssl_read,
    .writev = ssl_writev,
    .sendfile = ssl_sendfile,
    .close = ssl_close,
    .peer = ssl_peer,
    .principal = ssl_principal,
};

st_transport_t *st_transport_ssl_new(int fd, const char *peer, void *ctx)
{
    st_ssl_listener_t *l = ctx;
    ssl_transport_t *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->ssl = SSL_new(l->ctx);
    if (!st->ssl || SSL_set_fd(st->ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(st->ssl);
        free(st);
        errno = ENOMEM;
        return NULL;
    }
    SSL_set_accept_state(st->ssl);
    st->base.ops = &ssl_ops;
    st->base.fd = fd;
    st->listener = l;
    snprintf(st->peer, sizeof(st->peer), "%s", peer ? peer : "?");
    snprintf(st->principal, sizeof(st->principal), "User:ANONYMOUS");
    assert(check_transport(st));
    return &st->base;
}

/* ---- listener context ---------------------------------------------------------------------- */

int st_ssl_listener_new_from(const st_tls_conf_t *tls, const char *name,
                             st_ssl_listener_t **ret_listener, char *errbuf, size_t errlen)
{
    st_ssl_listener_t *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    snprintf(l->name, sizeof(l->name), "%s", name ? name : "SSL");
    const char *mode = getenv("STRAND_TLS_KTLS");
    bool available = st_tls_ktls_probe(l->ktls_why, sizeof(l->ktls_why));
    if (mode && strcasecmp(mode, "off") == 0) {
        l->ktls_requested = false;
        snprintf(l->ktls_why, sizeof(l->ktls_why), "turned off by STRAND_TLS_KTLS=off");
    } else if (mode && strcasecmp(mode, "on") == 0) {
        l->ktls_requested = true;
    } else {
        l->ktls_requested = available;
    }
    st_tls_conf_t conf = *tls;
    conf.ktls = l->ktls_requested;
    int r = st_tls_server_ctx_new(&conf, &l->ctx, errbuf, errlen);
    if (r < 0) {
        free(l);
        return r;
    }
    /* One recv(2) per record (header and body together) instead of two. */
    SSL_CTX_set_read_ahead(l->ctx, 1);
    if (l->ktls_requested)
        ST_INFO("listener %s: kernel TLS %s: fetches will use SSL_sendfile where a connection "
                "gets it", l->name, available ? "available" : "forced on (STRAND_TLS_KTLS=on)");
    else
        ST_INFO("listener %s: kernel TLS unavailable (%s): fetches use pread + SSL_write",
                l->name, l->ktls_why);
    *ret_listener = l;
    return 0;
}

int st_ssl_listener_new(const st_broker_config_t *cfg, const char *name,
                        st_ssl_listener_t **ret_listener, char *errbuf, size_t errlen)
{
    st_tls_conf_t tls = {
        .certificate_location = cfg->ssl_certificate_location,
        .key_location = cfg->ssl_key_location,
        .key_password = cfg->ssl_key_password,
        .ca_location = cfg->ssl_ca_location,
        .client_auth = cfg->ssl_client_auth,
        .enabled_protocols = cfg->ssl_enabled_protocols,
        .cipher_suites = cfg->ssl_cipher_suites,
    };
    return st_ssl_listener_new_from(&tls, name, ret_listener, errbuf, errlen);
}

void st_ssl_listener_free(st_ssl_listener_t *listener)
{
    if (!listener)
        return;
    SSL_CTX_free(listener->ctx);
    free(listener);
}
