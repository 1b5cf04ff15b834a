/* The one transport of the cluster (Redis' connection.h habit): a table of functions per
 * security protocol, plain TCP (st_transport_plain.c) and TLS (st_transport_ssl.c), each with a
 * connect side and an accept side. The broker's connections (broker/conn.c, listeners in
 * broker/net.c), its replica fetchers and controller channel (broker/replica/channel.c) and the
 * client library (common/client/st_client.c) all use it; none of them asks which protocol it
 * has.
 *
 * THREADS
 *  - Connect side (connect, finish_connect, ctx_new, ctx_free, pending) and the shared entries
 *    on a connected conn: the thread that owns the conn, i.e. the client library's I/O thread,
 *    or the broker thread that runs a blocking inter-broker channel (fetcher, AlterIsr,
 *    controlled shutdown, controller-to-broker requests).
 *  - Accept side: listener_new / listener_free on the broker's main thread (start-up and
 *    shutdown; the context is then shared read-only by every loop), accept and everything on an
 *    accepted conn (handshake, read, writev, sendfile, peer, principal, last_error, close) on
 *    the broker loop thread that owns the connection.
 *  A conn is used by one thread only: no locking inside.
 *
 * RESULTS (every entry, both sides). read, writev and sendfile return the bytes moved (> 0),
 * read returns 0 when the peer closed cleanly, and would-block is -EAGAIN with conn->want_read /
 * conn->want_write saying which readiness to wait for (under TLS a read can need writability
 * and a write readability). The caller clears want_* before each call, waits for the readiness
 * asked for, then calls the SAME operation again: after -EAGAIN from writev, with the same bytes
 * first (the length may grow, the address may change: the TLS side copies them); after -EAGAIN
 * from sendfile, with the same fd, position and length. Other negatives are -errno: fatal, the
 * caller closes. A short count is not an error. The broker's loop uses the st_transport_*()
 * wrappers below, which fold -EAGAIN and want_* into ST_TRANSPORT_WANT_READ / _WRITE.
 *
 * HANDSHAKE. A new conn calls handshake() until it returns 0 (plain: at once). read/writev/
 * sendfile only after that. On the accept side a handshake that fails because the peer closed
 * before sending anything (port probes, health checks) is -ECONNRESET, which may be logged
 * quietly.
 *
 * BUFFERED INPUT. TLS may hold decrypted input that socket readiness no longer shows: pending()
 * says so on the connect side; the broker's conn always reads until it would block. */
#ifndef ST_TRANSPORT_H
#define ST_TRANSPORT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "st_tls.h"

struct st_client_conf;

typedef struct st_transport st_transport_t;

/* One connection of either side. The connect side embeds it (the client's broker slot, an
 * inter-broker channel) and fills tp, tp_ctx, host and port before connect(); the accept side
 * gets it from accept(), which allocates it (the TLS side as the head of a larger struct), and
 * close() frees it. */
typedef struct st_transport_conn {
    int fd;                          /* -1 when closed */
    const st_transport_t *tp;
    void *tls;                       /* connect side: the TLS session state, NULL for plain */
    void *tp_ctx;                    /* connect side: the client's context (from ctx_new) */
    bool want_read, want_write;      /* what the last -EAGAIN waits for */
    bool accepted;                   /* made by accept(): close() frees it */
    bool more;                       /* accept side: more data follows this writev (MSG_MORE) */
    char host[256];                  /* connect side: the host and port connected to */
    int port;
    char peer[64];                   /* accept side: "ip:port" of the remote end, for logs */
} st_transport_conn_t;

struct st_transport {
    const char *name;                /* security.protocol value: "PLAINTEXT", "SSL" */

    /* ---- connect side (client I/O thread, inter-broker channel thread) ---- */
    /* Starts a non-blocking connect to host:port (TCP_NODELAY). 0 connected, -EINPROGRESS (wait
     * for writability, then call finish_connect), or -errno (getaddrinfo failures:
     * -EHOSTUNREACH with the reason in errbuf). */
    int (*connect)(st_transport_conn_t *conn, const char *host, int port, char *errbuf,
                   size_t errlen);
    /* After writability: 0 connected or -errno (the SO_ERROR). */
    int (*finish_connect)(st_transport_conn_t *conn);
    /* Optional (NULL for plain). ctx_new makes the per-client context from the configuration
     * once, when the client is created (SSL: the SSL_CTX from the ssl.* keys; a bad file or
     * setting is -errno with errbuf naming it); ctx_free releases it after every connection
     * is closed. */
    int (*ctx_new)(const struct st_client_conf *conf, void **ret_ctx, char *errbuf,
                   size_t errlen);
    void (*ctx_free)(void *ctx);
    /* Optional: true if the transport holds input that socket readiness no longer shows (TLS
     * records already read and decrypted): keep reading before waiting for EPOLLIN. */
    bool (*pending)(const st_transport_conn_t *conn);

    /* ---- accept side (broker: main thread for listeners, loop thread for conns) ---- */
    /* Optional (NULL for plain): the context of listener `name` from the broker's ssl.*
     * settings (SSL: SSL_CTX, kTLS decision, STRAND_TLS_KTLS=off|on|auto). 0, or -errno with
     * errbuf naming the key, file and OpenSSL's reason; logs at INFO which fetch path the
     * listener will use. listener_free: after every connection made from it is closed. */
    int (*listener_new)(const st_tls_conf_t *tls, const char *name, void **ret_ctx,
                        char *errbuf, size_t errlen);
    void (*listener_free)(void *ctx);
    /* Wraps one accepted socket (non-blocking, TCP_NODELAY already set) of a listener whose
     * context is ctx; peer is "ip:port". NULL with errno set on failure (the caller closes
     * fd). */
    st_transport_conn_t *(*accept)(int fd, const char *peer, void *ctx);
    /* Moves len bytes of file fd from *pos to the peer, advancing *pos: sendfile(2) for plain;
     * for TLS SSL_sendfile when the conn got kTLS, else pread into the conn's buffer and
     * SSL_write. -ENODATA when the file is shorter than len (truncated under us). */
    ssize_t (*sendfile)(st_transport_conn_t *conn, int fd, off_t *pos, size_t len);
    /* The authenticated identity: "User:ANONYMOUS" for plain, under TLS "User:<subject DN>" of
     * the client certificate once the handshake is done. Valid until close(). */
    const char *(*principal)(const st_transport_conn_t *conn);

    /* ---- both sides ---- */
    /* Transport handshake after TCP connect / accept: 0 done, -EAGAIN (see want_*), -errno
     * with the reason in errbuf (errbuf may be NULL with errlen 0: see last_error). */
    int (*handshake)(st_transport_conn_t *conn, char *errbuf, size_t errlen);
    /* >0 bytes, 0 = peer closed, -EAGAIN, -errno. */
    ssize_t (*read)(st_transport_conn_t *conn, void *buf, size_t len);
    /* >0 bytes written, -EAGAIN, -errno. */
    ssize_t (*writev)(st_transport_conn_t *conn, const struct iovec *iov, int iovcnt);
    /* Releases the session (best-effort close_notify, never waits) and closes the socket; frees
     * an accepted conn. */
    void (*close)(st_transport_conn_t *conn);
    /* Optional: why the last handshake/read/writev/sendfile failed, in more words than its
     * errno (TLS alerts, OpenSSL's reason and a hint), or NULL. */
    const char *(*last_error)(const st_transport_conn_t *conn);
};

extern const st_transport_t st_transport_plain;   /* st_transport_plain.c */
extern const st_transport_t st_transport_ssl;     /* st_transport_ssl.c */

/* By security.protocol name (case-insensitive); NULL if unknown. Any thread. */
const st_transport_t *st_transport_find(const char *name);

/* Sets the options every TCP connection of the cluster gets (TCP_NODELAY), on either side. */
void st_transport_socket_options(int fd);

/* ---- the broker loop's view of an accepted conn: -EAGAIN and want_* folded into one value --- */

#define ST_TRANSPORT_WANT_READ   (-100001)
#define ST_TRANSPORT_WANT_WRITE  (-100002)

#define ST_TRANSPORT_MORE 0x1        /* writev flag: more data follows immediately */

static inline ssize_t st_transport_fold(st_transport_conn_t *c, ssize_t r)
{
    if (r != -EAGAIN)
        return r;
    return c->want_write ? ST_TRANSPORT_WANT_WRITE : ST_TRANSPORT_WANT_READ;
}

static inline int st_transport_handshake(st_transport_conn_t *c)
{
    c->want_read = c->want_write = false;
    return (int)st_transport_fold(c, c->tp->handshake(c, NULL, 0));
}
static inline ssize_t st_transport_read(st_transport_conn_t *c, void *buf, size_t len)
{
    c->want_read = c->want_write = false;
    return st_transport_fold(c, c->tp->read(c, buf, len));
}
static inline ssize_t st_transport_writev(st_transport_conn_t *c, const struct iovec *iov,
                                          int iovcnt, int flags)
{
    c->want_read = c->want_write = false;
    c->more = (flags & ST_TRANSPORT_MORE) != 0;
    ssize_t r = c->tp->writev(c, iov, iovcnt);
    c->more = false;
    return st_transport_fold(c, r);
}
static inline ssize_t st_transport_sendfile(st_transport_conn_t *c, int fd, off_t *pos,
                                            size_t len)
{
    c->want_read = c->want_write = false;
    return st_transport_fold(c, c->tp->sendfile(c, fd, pos, len));
}
static inline void st_transport_close(st_transport_conn_t *c) { c->tp->close(c); }
static inline const char *st_transport_peer(const st_transport_conn_t *c) { return c->peer; }
static inline const char *st_transport_principal(const st_transport_conn_t *c)
{
    return c->tp->principal(c);
}
static inline const char *st_transport_last_error(const st_transport_conn_t *c)
{
    return c->tp->last_error ? c->tp->last_error(c) : NULL;
}

#endif
