/* SSL transport, both sides (see st_transport.h): OpenSSL sessions over non-blocking sockets.
 *
 * ACCEPT SIDE (the broker's connections). A listener context (listener_new) is made once from
 * the broker's ssl.* settings at start-up; accept wraps each accepted socket of an SSL listener.
 * Fetched record data goes out with SSL_sendfile when OpenSSL moved the connection's sending
 * side into the kernel (kTLS: probed at start-up, checked per connection after the handshake
 * with BIO_get_ktls_send), otherwise with pread into a per-connection buffer and SSL_write.
 * The environment variable STRAND_TLS_KTLS=off|on|auto (default auto) skips the probe's
 * verdict: "off" never asks for kTLS, "on" asks even when the probe said no (the connection
 * then falls back by itself; the fail-over test uses it).
 *
 * Two ways to the socket, chosen per listener when it is made:
 *  - direct (kTLS was asked for): OpenSSL owns the socket through a socket BIO, which kTLS
 *    needs. Fetched records go out with SSL_sendfile when the connection got kTLS, otherwise
 *    with pread into a per-connection buffer and SSL_write; SSL_write's WANT_* are ours.
 *  - buffered (no kTLS, the usual case): reads still come straight from the socket, but
 *    OpenSSL writes its records into `out` through a memory-like BIO and the transport sends
 *    them with one send(2) per chunk. A 64 KiB chunk then costs one syscall instead of four
 *    (one per 16 KiB record), which is most of what TLS adds on the broker's side.
 *
 * ACCEPT-SIDE INVARIANTS (per ssl_transport_t, checked by check_transport() at every transition)
 *  1. Handshake first: until handshake_done, no write is pending and principal is
 *     "User:ANONYMOUS".
 *  2. A pending chunk exists exactly when a write could not finish: pend != PEND_NONE <=>
 *     pend_len > 0, its plaintext in buf[0..pend_len) (PEND_STAGE: gathered from a writev's
 *     iovec, PEND_FILE: pread by sendfile's copy path). The caller's retry (st_transport.h) brings
 *     the same bytes, which are then not looked at again. Until `encrypted`, SSL_write must be
 *     retried with exactly these bytes (OpenSSL's rule); once encrypted (buffered mode only) its
 *     records sit in out[out_off..out_len) and only sending remains. pend_len is reported as
 *     written when the last of them has left.
 *  3. Direct mode never has bytes in `out`. In buffered mode a new chunk is encrypted only
 *     with `out` empty, so out holds at most one chunk's records (plus what OpenSSL writes by
 *     itself: handshake, alerts, tickets, close_notify).
 *  4. ktls implies direct mode, kTLS asked for on the listener, and BIO_get_ktls_send said yes
 *     after the handshake; it only goes from true to false (fail-over), never back.
 *  5. After a fatal SSL error (failed) nothing but close() touches the session, and close()
 *     sends no close_notify.
 *
 * CONNECT SIDE (the client library, security.protocol=SSL, and the broker's inter-broker
 * channels): TCP as in st_transport_plain.c, then an OpenSSL session made from the client's
 * context (ctx_new: ssl.ca.location, ssl.certificate.location, ssl.key.location,
 * ssl.key.password, ssl.enabled.protocols, ssl.cipher.suites) with the broker's certificate
 * checked against the host connected to (ssl.endpoint.identification.algorithm=https: DNS
 * name or IP subjectAltName).
 *
 * CONNECT-SIDE INVARIANTS (per connection, checked by cli_check())
 *  1. conn->tls is the cli_state_t below from connect() until close().
 *  2. pend_len > 0 exactly when the last SSL_write returned WANT_*: its bytes sit in
 *     buf[0..pend_len) and the next writev writes them again (OpenSSL requires the same bytes
 *     and at least the same length); the caller's iovec then starts with those same bytes,
 *     which writev therefore does not copy again.
 *  3. After a fatal error (failed) only close() touches the session, and it sends no
 *     close_notify; error[] says what happened.
 *
 * Both sides share the error mapping, the plaintext buffer and its gathering; the table's
 * entries dispatch on conn->accepted. The accept side's code returns ST_TRANSPORT_WANT_* inside
 * this file and turns them into the table's -EAGAIN + want_* at its boundary (unfold). */
#include "st_transport.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "st_client_conf.h"
#include "st_logger.h"
#include "st_tls.h"

/* The per-connection plaintext buffer (both sides): writev gathers its iovec here and the
 * accept side's sendfile copy path preads into it; one SSL_write of it makes up to 4 full
 * (16 KiB) TLS records. */
#define BUF_CAP (64 * 1024)
/* Connect side: OpenSSL reads ahead into a buffer this large, so one read(2) brings several
 * records. */
#define READ_BUF_LEN (64 * 1024 + 512)

typedef struct st_ssl_listener {
    SSL_CTX *ctx;
    BIO_METHOD *out_method;    /* the buffered mode's write BIO */
    char name[32];
    bool ktls_requested;       /* SSL_OP_ENABLE_KTLS is set on ctx: direct mode */
    char ktls_why[160];        /* why not, when it is not */
    atomic_bool path_logged;   /* the INFO line about the fetch path in use, once */
    atomic_bool failover_logged;
} st_ssl_listener_t;

enum pend_kind { PEND_NONE = 0, PEND_STAGE, PEND_FILE };

typedef struct ssl_transport {
    st_transport_conn_t base;  /* first: accept() hands out &base */
    SSL *ssl;
    st_ssl_listener_t *listener;
    bool buffered;
    bool handshake_ok;         /* SSL_do_handshake returned 1 (its last records may be unsent) */
    bool handshake_done;       /* ... and they were sent: the conn may read and write */
    bool ktls;
    bool failed;
    enum pend_kind pend;
    size_t pend_len;
    bool encrypted;
    uint8_t *buf;              /* BUF_CAP bytes, allocated on the first write */
    uint8_t *out;              /* buffered mode: records not yet sent */
    size_t out_off, out_len, out_cap;
    char principal[512];
    char error[768];           /* why the session failed (last_error), "" while it has not */
} ssl_transport_t;

static bool check_transport(const ssl_transport_t *st)
{
    assert(st->base.fd >= 0);
    assert(st->handshake_done || st->pend == PEND_NONE);
    assert(st->handshake_done || strcmp(st->principal, "User:ANONYMOUS") == 0);
    assert(!st->handshake_done || st->handshake_ok);
    assert((st->pend == PEND_NONE) == (st->pend_len == 0));
    assert(st->pend == PEND_NONE || (st->buf && st->pend_len <= BUF_CAP));
    assert(!st->encrypted || (st->buffered && st->pend != PEND_NONE));
    assert(st->buffered || st->out_len == 0);
    assert(st->out_off <= st->out_len && st->out_len <= st->out_cap);
    assert(!st->ktls || (!st->buffered && st->handshake_done && st->listener->ktls_requested));
    return true;
}

/* ---- the buffered mode's write BIO: appends OpenSSL's records to st->out ------------------- */

static int out_bio_write(BIO *bio, const char *data, int len)
{
    ssl_transport_t *st = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (len <= 0)
        return 0;
    if (st->out_len + (size_t)len > st->out_cap) {
        if (st->out_off > 0) {
            memmove(st->out, st->out + st->out_off, st->out_len - st->out_off);
            st->out_len -= st->out_off;
            st->out_off = 0;
        }
        size_t need = st->out_len + (size_t)len;
        if (need > st->out_cap) {
            size_t cap = st->out_cap ? st->out_cap : 4096;
            while (cap < need)
                cap *= 2;
            uint8_t *n = realloc(st->out, cap);
            if (!n)
                return -1;
            st->out = n;
            st->out_cap = cap;
        }
    }
    memcpy(st->out + st->out_len, data, (size_t)len);
    st->out_len += (size_t)len;
    return len;
}

static long out_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    (void)bio, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;   /* sending is the transport's business */
}

static int out_bio_create(BIO *bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

/* Sends what `out` holds: 0 when it is empty, ST_TRANSPORT_WANT_WRITE, or -errno (with
 * st->error set when it is the first failure). */
static ssize_t flush_out(ssl_transport_t *st)
{
    while (st->out_off < st->out_len) {
        ssize_t n = send(st->base.fd, st->out + st->out_off, st->out_len - st->out_off,
                         MSG_NOSIGNAL);
        if (n > 0) {
            st->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return ST_TRANSPORT_WANT_WRITE;
        int err = n < 0 ? errno : EPIPE;
        if (!st->error[0])
            snprintf(st->error, sizeof(st->error), "send: %s", strerror(err));
        return -err;
    }
    st->out_off = st->out_len = 0;
    return 0;
}

/* ---- errors and logging ------------------------------------------------------------------- */

/* Maps a failed SSL_* call, on either side: ST_TRANSPORT_WANT_READ / _WRITE, 0 for the peer's
 * close_notify, or a fatal -errno (-EPROTO when there is none) with error[] explaining it. */
static ssize_t map_ssl_error(SSL *ssl, int ret, int saved_errno, char *error, size_t errlen)
{
    int code = SSL_get_error(ssl, ret);
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
    st_tls_error_explain(ssl, ret, saved_errno, error, errlen);
    return code == SSL_ERROR_SYSCALL && saved_errno != 0 ? -saved_errno : -EPROTO;
}

static bool is_want(ssize_t r)
{
    return r == ST_TRANSPORT_WANT_READ || r == ST_TRANSPORT_WANT_WRITE;
}

/* The table's form of a result: a WANT becomes -EAGAIN with conn->want_* set. */
static ssize_t unfold(st_transport_conn_t *conn, ssize_t r)
{
    if (r == ST_TRANSPORT_WANT_READ) {
        conn->want_read = true;
        return -EAGAIN;
    }
    if (r == ST_TRANSPORT_WANT_WRITE) {
        conn->want_write = true;
        return -EAGAIN;
    }
    return r;
}

/* Allocates a BUF_CAP plaintext buffer on first use. */
static int ensure_buf(uint8_t **buf)
{
    if (!*buf && !(*buf = malloc(BUF_CAP)))
        return -ENOMEM;
    return 0;
}

/* Copies the head of an iovec (at most BUF_CAP bytes) into buf; returns how many. One memcpy
 * buys whole records and a retry that does not depend on where the caller keeps its bytes. */
static size_t gather(uint8_t *buf, const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; i < iovcnt && n < BUF_CAP; i++) {
        size_t take = iov[i].iov_len < BUF_CAP - n ? iov[i].iov_len : BUF_CAP - n;
        memcpy(buf + n, iov[i].iov_base, take);
        n += take;
    }
    return n;
}

/* Maps a failed SSL_* call to the server path's results; logs fatal errors with the reason
 * (the conn only sees an errno). */
static ssize_t srv_map_error(ssl_transport_t *st, int ret, int saved_errno, const char *what)
{
    ssize_t r = map_ssl_error(st->ssl, ret, saved_errno, st->error, sizeof(st->error));
    if (r >= 0 || is_want(r))
        return r;
    st->failed = true;
    ST_DEBUG("SSL %s with %s on listener %s failed: %s", what, st->base.peer, st->listener->name,
             st->error);   /* the conn logs it once, through last_error */
    return r;
}

static void log_fetch_path(ssl_transport_t *st)
{
    st_ssl_listener_t *l = st->listener;
    const char *path = st->ktls ? "kTLS (SSL_sendfile)" : "pread + SSL_write";
    const char *why = st->ktls ? "" : (l->ktls_requested
                                           ? "kTLS was asked for but not granted on this connection"
                                           : l->ktls_why);
    ST_DEBUG("SSL connection %s on listener %s: fetch path %s%s%s%s", st->base.peer, l->name, path,
             why[0] ? " (" : "", why, why[0] ? ")" : "");
    bool expected = false;
    if (atomic_compare_exchange_strong(&l->path_logged, &expected, true))
        ST_INFO("listener %s: fetched records are sent with %s%s%s%s", l->name, path,
                why[0] ? " (no kTLS: " : "", why, why[0] ? ")" : "");
}

/* ---- handshake and read ------------------------------------------------------------------- */

static int srv_handshake(st_transport_conn_t *t)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    assert(check_transport(st));
    if (st->handshake_done)
        return 0;
    if (st->failed)
        return -EPROTO;
    if (!st->handshake_ok) {
        ERR_clear_error();
        int r = SSL_do_handshake(st->ssl);
        int saved = errno;
        int code = r == 1 ? SSL_ERROR_NONE : SSL_get_error(st->ssl, r);
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
            /* Our flight must leave before the peer can answer it. */
            ssize_t fr = st->buffered ? flush_out(st) : 0;
            if (fr == ST_TRANSPORT_WANT_WRITE)
                return ST_TRANSPORT_WANT_WRITE;
            if (fr < 0) {
                st->failed = true;
                snprintf(st->error, sizeof(st->error), "sending the handshake failed: %s",
                         strerror((int)-fr));
                return (int)fr;
            }
            return code == SSL_ERROR_WANT_READ ? ST_TRANSPORT_WANT_READ : ST_TRANSPORT_WANT_WRITE;
        }
        if (r != 1) {
            /* The conn logs the failure once, with last_error's text. */
            st_tls_error_explain(st->ssl, r, saved, st->error, sizeof(st->error));
            st->failed = true;
            if (st->buffered)
                flush_out(st);   /* best effort: the alert tells the client why */
            if (BIO_number_read(SSL_get_rbio(st->ssl)) == 0)
                return -ECONNRESET;   /* port probes, health checks: st_transport.h */
            return code == SSL_ERROR_SYSCALL && saved ? -saved : -ECONNABORTED;
        }
        st->handshake_ok = true;
    }
    if (st->buffered) {
        ssize_t fr = flush_out(st);   /* the last flight (and session tickets) */
        if (fr == ST_TRANSPORT_WANT_WRITE)
            return ST_TRANSPORT_WANT_WRITE;
        if (fr < 0) {
            st->failed = true;
            return (int)fr;
        }
    }
    st->handshake_done = true;
    st_tls_principal(st->ssl, st->principal, sizeof(st->principal));
    st->ktls = !st->buffered && st->listener->ktls_requested && st_tls_ktls_send_active(st->ssl);
    char desc[128];
    ST_INFO("SSL connection from %s on listener %s: principal %s, %s", st->base.peer,
            st->listener->name, st->principal, st_tls_describe(st->ssl, desc, sizeof(desc)));
    log_fetch_path(st);
    assert(check_transport(st));
    return 0;
}

static ssize_t srv_read(st_transport_conn_t *t, void *buf, size_t len)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    assert(check_transport(st) && st->handshake_done);
    if (st->failed)
        return -EPROTO;
    ssize_t got = st_tls_read_fill(st->ssl, buf, len);
    ssize_t res = got > 0 ? got : srv_map_error(st, (int)got, errno, "read");
    /* Records OpenSSL wrote by itself while reading (a KeyUpdate answer): send them now if
     * the socket takes them; otherwise the next write sends them first. */
    if (st->buffered && st->pend == PEND_NONE && st->out_len > 0 && !st->failed)
        flush_out(st);
    return res;
}

/* ---- writes ------------------------------------------------------------------------------- */

/* Moves the pending chunk on: (re)tries SSL_write until it is encrypted, then sends its
 * records (buffered mode). Returns pend_len once all of it has left, a WANT, or an error. */
static ssize_t resume_chunk(ssl_transport_t *st)
{
    assert(st->pend != PEND_NONE);
    if (!st->encrypted) {
        ERR_clear_error();
        int r = SSL_write(st->ssl, st->buf, (int)st->pend_len);
        if (r <= 0) {
            ssize_t res = srv_map_error(st, r, errno, "write");
            if (res == ST_TRANSPORT_WANT_READ || res == ST_TRANSPORT_WANT_WRITE)
                return res;   /* retried with the same bytes (OpenSSL's rule) */
            st->pend = PEND_NONE;
            st->pend_len = 0;
            return res == 0 ? -EPIPE : res;   /* close_notify from the peer while we write */
        }
        assert((size_t)r == st->pend_len);   /* no partial writes without ENABLE_PARTIAL_WRITE */
        st->encrypted = st->buffered;
    }
    if (st->buffered) {
        ssize_t fr = flush_out(st);
        if (fr != 0) {
            if (fr != ST_TRANSPORT_WANT_WRITE) {
                st->failed = true;
                st->pend = PEND_NONE;
                st->pend_len = 0;
                st->encrypted = false;
            }
            return fr;
        }
    }
    ssize_t done = (ssize_t)st->pend_len;
    st->pend = PEND_NONE;
    st->pend_len = 0;
    st->encrypted = false;
    return done;
}

/* Before a new chunk: records OpenSSL wrote by itself must leave first. */
static ssize_t flush_leftover(ssl_transport_t *st)
{
    if (!st->buffered || st->out_len == 0)
        return 0;
    ssize_t fr = flush_out(st);
    if (fr < 0 && fr != ST_TRANSPORT_WANT_WRITE)
        st->failed = true;
    return fr;
}

static ssize_t srv_writev(st_transport_conn_t *t, const struct iovec *iov, int iovcnt)
{
    /* conn->more is not looked at: SSL_write has no MSG_MORE; each chunk ends in whole records
     * anyway. */
    ssl_transport_t *st = (ssl_transport_t *)t;
    assert(check_transport(st) && st->handshake_done);
    assert(st->pend != PEND_FILE);
    if (st->failed)
        return -EPROTO;
    ssize_t r;
    if (st->pend == PEND_STAGE) {
        r = resume_chunk(st);
    } else {
        r = flush_leftover(st);
        if (r != 0)
            return r;
        if (ensure_buf(&st->buf) < 0)
            return -ENOMEM;
        size_t n = gather(st->buf, iov, iovcnt);
        if (n == 0)
            return 0;
        st->pend = PEND_STAGE;
        st->pend_len = n;
        r = resume_chunk(st);
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
             "to pread + SSL_write", st->base.peer, st->listener->name, reason, strerror(saved));
    bool expected = false;
    if (atomic_compare_exchange_strong(&st->listener->failover_logged, &expected, true))
        ST_INFO("listener %s: SSL_sendfile failed on %s (%s); such connections fall back to "
                "pread + SSL_write", st->listener->name, st->base.peer, strerror(saved));
    st->ktls = false;
    return -ENOTSUP;
}

static ssize_t srv_sendfile(st_transport_conn_t *t, int fd, off_t *pos, size_t len)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    assert(check_transport(st) && st->handshake_done);
    assert(st->pend != PEND_STAGE);
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
        r = resume_chunk(st);
    } else {
        r = flush_leftover(st);
        if (r != 0)
            return r;
        if (ensure_buf(&st->buf) < 0)
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
        st->pend = PEND_FILE;
        st->pend_len = (size_t)got;
        r = resume_chunk(st);
    }
    if (r > 0)
        *pos += r;
    assert(check_transport(st));
    return r;
}

/* ---- the rest of the table ---------------------------------------------------------------- */

static void srv_close(st_transport_conn_t *t)
{
    ssl_transport_t *st = (ssl_transport_t *)t;
    if (st->handshake_done && !st->failed) {
        /* Best effort close_notify; never waits for the peer's. */
        ERR_clear_error();
        SSL_shutdown(st->ssl);
        if (st->buffered)
            flush_out(st);
    }
    ERR_clear_error();
    SSL_free(st->ssl);   /* frees both BIOs; the socket BIO does not close fd */
    close(t->fd);
    free(st->buf);
    free(st->out);
    free(st);
}

static const char *srv_principal(const st_transport_conn_t *t)
{
    return ((const ssl_transport_t *)t)->principal;
}

static const char *srv_last_error(const st_transport_conn_t *t)
{
    const ssl_transport_t *st = (const ssl_transport_t *)t;
    return st->error[0] ? st->error : NULL;
}

static st_transport_conn_t *srv_accept(int fd, const char *peer, void *ctx)
{
    st_ssl_listener_t *l = ctx;
    ssl_transport_t *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->ssl = SSL_new(l->ctx);
    bool ok = st->ssl != NULL;
    if (ok && l->ktls_requested) {
        ok = SSL_set_fd(st->ssl, fd) == 1;   /* kTLS needs OpenSSL's socket BIO */
    } else if (ok) {
        BIO *rbio = BIO_new_socket(fd, BIO_NOCLOSE);
        BIO *wbio = BIO_new(l->out_method);
        ok = rbio && wbio;
        if (ok) {
            BIO_set_data(wbio, st);
            SSL_set_bio(st->ssl, rbio, wbio);   /* the SSL owns both from here */
            st->buffered = true;
        } else {
            BIO_free(rbio);
            BIO_free(wbio);
        }
    }
    if (!ok) {
        ERR_clear_error();
        SSL_free(st->ssl);
        free(st);
        errno = ENOMEM;
        return NULL;
    }
    SSL_set_accept_state(st->ssl);
    st->base.tp = &st_transport_ssl;
    st->base.accepted = true;
    st->base.fd = fd;
    st->listener = l;
    snprintf(st->base.peer, sizeof(st->base.peer), "%s", peer ? peer : "?");
    snprintf(st->principal, sizeof(st->principal), "User:ANONYMOUS");
    assert(check_transport(st));
    return &st->base;
}

/* ---- listener context ---------------------------------------------------------------------- */

static void srv_listener_free(void *ctx);

static int srv_listener_new(const st_tls_conf_t *tls, const char *name, void **ret_listener,
                            char *errbuf, size_t errlen)
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
    l->out_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "strand TLS out");
    if (!l->out_method || !BIO_meth_set_write(l->out_method, out_bio_write) ||
        !BIO_meth_set_ctrl(l->out_method, out_bio_ctrl) ||
        !BIO_meth_set_create(l->out_method, out_bio_create)) {
        snprintf(errbuf, errlen, "listener %s: cannot create the TLS output BIO", l->name);
        srv_listener_free(l);
        return -ENOMEM;
    }
    if (l->ktls_requested)
        ST_INFO("listener %s: kernel TLS %s: fetches will use SSL_sendfile where a connection "
                "gets it", l->name, available ? "available" : "forced on (STRAND_TLS_KTLS=on)");
    else
        ST_INFO("listener %s: kernel TLS unavailable (%s): fetches use pread + SSL_write",
                l->name, l->ktls_why);
    *ret_listener = l;
    return 0;
}

static void srv_listener_free(void *ctx)
{
    st_ssl_listener_t *listener = ctx;
    if (!listener)
        return;
    SSL_CTX_free(listener->ctx);
    BIO_meth_free(listener->out_method);
    free(listener);
}

/* ---- connect side ---------------------------------------------------------------------------- */

typedef struct ssl_client_ctx {
    SSL_CTX *ctx;
    bool verify_host;
} ssl_client_ctx_t;

typedef struct cli_state {
    SSL *ssl;
    bool failed;
    size_t pend_len;
    uint8_t *buf;            /* BUF_CAP bytes, allocated on the first write */
    char error[512];
} cli_state_t;

static bool cli_check(const st_transport_conn_t *conn)
{
    const cli_state_t *s = conn->tls;
    assert(!conn->accepted && s && s->ssl);
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

static int ssl_connect(st_transport_conn_t *conn, const char *host, int port, char *errbuf,
                       size_t errlen)
{
    ssl_client_ctx_t *c = conn->tp_ctx;
    if (!c) {
        snprintf(errbuf, errlen, "SSL transport used without its context (bug)");
        return -EINVAL;
    }
    cli_state_t *s = calloc(1, sizeof(*s));
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

static int ssl_finish_connect(st_transport_conn_t *conn)
{
    return st_transport_plain.finish_connect(conn);
}

/* Maps a failed SSL_* call: WANT_* -> -EAGAIN with want_*; 0 for a clean close (reads);
 * otherwise -errno or -EPROTO with error[] set. */
static ssize_t cli_map_error(st_transport_conn_t *conn, int ret, int saved_errno)
{
    cli_state_t *s = conn->tls;
    ssize_t r = map_ssl_error(s->ssl, ret, saved_errno, s->error, sizeof(s->error));
    if (r < 0 && !is_want(r))
        s->failed = true;
    return unfold(conn, r);
}

static int cli_handshake(st_transport_conn_t *conn, char *errbuf, size_t errlen)
{
    cli_state_t *s = conn->tls;
    assert(cli_check(conn));
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
    ssize_t res = cli_map_error(conn, r, errno);
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

static ssize_t cli_read(st_transport_conn_t *conn, void *buf, size_t len)
{
    cli_state_t *s = conn->tls;
    assert(cli_check(conn));
    if (s->failed)
        return -EPROTO;
    ssize_t got = st_tls_read_fill(s->ssl, buf, len);
    return got > 0 ? got : cli_map_error(conn, (int)got, errno);
}

/* The broker refused us after our side of the handshake was done (TLS 1.3: a client
 * certificate it does not accept), sent an alert and closed; our next write then meets a reset.
 * The alert is still in the socket's receive queue, ahead of the reset: read it for the real
 * reason. */
static void explain_reset(st_transport_conn_t *conn)
{
    cli_state_t *s = conn->tls;
    char scratch[512];
    ERR_clear_error();
    int r = SSL_read(s->ssl, scratch, sizeof(scratch));
    if (r <= 0 && SSL_get_error(s->ssl, r) == SSL_ERROR_SSL)
        st_tls_error_explain(s->ssl, r, 0, s->error, sizeof(s->error));
    else
        ERR_clear_error();
}

static ssize_t cli_writev(st_transport_conn_t *conn, const struct iovec *iov, int iovcnt)
{
    cli_state_t *s = conn->tls;
    assert(cli_check(conn));
    if (s->failed)
        return -EPROTO;
    size_t n = s->pend_len;
    if (n == 0) {
        if (ensure_buf(&s->buf) < 0)
            return -ENOMEM;
        n = gather(s->buf, iov, iovcnt);
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
    ssize_t res = cli_map_error(conn, r, saved);
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

static void cli_close(st_transport_conn_t *conn)
{
    cli_state_t *s = conn->tls;
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

static const char *cli_last_error(const st_transport_conn_t *conn)
{
    const cli_state_t *s = conn->tls;
    return s && s->failed && s->error[0] ? s->error : NULL;
}

/* ---- the table: both sides ------------------------------------------------------------------- */

static int ssl_handshake(st_transport_conn_t *conn, char *errbuf, size_t errlen)
{
    if (!conn->accepted)
        return cli_handshake(conn, errbuf, errlen);
    int r = (int)unfold(conn, srv_handshake(conn));
    if (r < 0 && r != -EAGAIN && errlen > 0)
        snprintf(errbuf, errlen, "%s", srv_last_error(conn) ? srv_last_error(conn) : strerror(-r));
    return r;
}

static ssize_t ssl_read(st_transport_conn_t *conn, void *buf, size_t len)
{
    return conn->accepted ? unfold(conn, srv_read(conn, buf, len)) : cli_read(conn, buf, len);
}

static ssize_t ssl_writev(st_transport_conn_t *conn, const struct iovec *iov, int iovcnt)
{
    return conn->accepted ? unfold(conn, srv_writev(conn, iov, iovcnt))
                          : cli_writev(conn, iov, iovcnt);
}

static ssize_t ssl_sendfile(st_transport_conn_t *conn, int fd, off_t *pos, size_t len)
{
    assert(conn->accepted);
    return unfold(conn, srv_sendfile(conn, fd, pos, len));
}

static void ssl_close(st_transport_conn_t *conn)
{
    if (conn->accepted)
        srv_close(conn);
    else
        cli_close(conn);
}

static const char *ssl_last_error(const st_transport_conn_t *conn)
{
    return conn->accepted ? srv_last_error(conn) : cli_last_error(conn);
}

static bool ssl_pending(const st_transport_conn_t *conn)
{
    if (conn->accepted) {
        const ssl_transport_t *st = (const ssl_transport_t *)conn;
        return !st->failed && SSL_has_pending(st->ssl);
    }
    const cli_state_t *s = conn->tls;
    return s && !s->failed && SSL_has_pending(s->ssl);
}

const st_transport_t st_transport_ssl = {
    .name = "SSL",
    .connect = ssl_connect,
    .finish_connect = ssl_finish_connect,
    .ctx_new = ssl_ctx_new,
    .ctx_free = ssl_ctx_free,
    .pending = ssl_pending,
    .listener_new = srv_listener_new,
    .listener_free = srv_listener_free,
    .accept = srv_accept,
    .sendfile = ssl_sendfile,
    .principal = srv_principal,
    .handshake = ssl_handshake,
    .read = ssl_read,
    .writev = ssl_writev,
    .close = ssl_close,
    .last_error = ssl_last_error,
};
