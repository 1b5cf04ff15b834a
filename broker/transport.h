/* The broker's transport abstraction: one table of functions per kind of connection (plain TCP
 * now, TLS later), so that connection and request code never ask which one they have.
 *
 * CONTRACT (for every implementation)
 *
 *  Ownership and threads. A transport wraps one connected, non-blocking socket. It is created
 *  by the listener's factory (see st_transport_factory_t) on the network thread that will own
 *  the connection, and from then on it is used ONLY from that thread: no locking inside.
 *  close() releases everything, including the socket.
 *
 *  Results. read, writev and sendfile return the number of bytes moved (> 0), or:
 *    0                       read only: the peer closed the connection cleanly (EOF);
 *    ST_TRANSPORT_WANT_READ  nothing could be done until the socket is readable;
 *    ST_TRANSPORT_WANT_WRITE nothing could be done until the socket is writable;
 *    -errno                  a fatal error (the caller closes the connection).
 *  Any operation may return either WANT: under TLS a read can need the socket to be writable
 *  (renegotiation, post-handshake messages) and a write can need it readable. The caller waits
 *  for the readiness asked for, then calls the SAME operation again.
 *
 *  Retries. After a WANT from writev, the caller calls writev again with the same bytes first
 *  (the length may grow as responses are appended), but possibly at a different address: the
 *  output buffer can be reallocated or compacted in between. A TLS implementation therefore
 *  sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE. After a WANT from
 *  sendfile, the caller calls again with the same fd, position and length. Partial progress is
 *  normal: a short count is not an error.
 *
 *  Buffered input. A transport may hold decrypted input that the socket readiness no longer
 *  reflects (SSL_pending). The connection code therefore always reads until it gets
 *  ST_TRANSPORT_WANT_READ (or pauses itself and, when it resumes, calls read again without
 *  waiting for readiness). Implementations need not do anything about it.
 *
 *  Handshake. A new connection starts in the handshake state: the caller calls handshake()
 *  until it returns 0 (done; the plain transport returns 0 at once), waiting for the readiness
 *  each WANT asks for; -errno means the handshake failed (the caller logs it with the peer name
 *  and closes). read/writev/sendfile are only called after handshake() has returned 0.
 *
 *  sendfile moves len bytes of file fd from *pos to the peer without copying them into user
 *  space when the transport can (plain: sendfile(2); kTLS: SSL_sendfile); otherwise it may
 *  pread a chunk into its own buffer and write that (TLS without kTLS). It advances *pos by the
 *  bytes it reports sent.
 *
 *  flags: ST_TRANSPORT_MORE on writev means more data follows immediately (a fetch response's
 *  header is followed by sendfile of its records); the plain transport passes MSG_MORE.
 *
 *  Names. peer() is "ip:port" of the remote end (for log lines), principal() is the
 *  authenticated identity, "User:ANONYMOUS" for plaintext and, under TLS, "User:<subject DN>"
 *  of the client certificate once the handshake is done (used by ACLs later). Both stay valid
 *  until close().
 *
 * The conn (conn.c) is the only caller. A TLS implementation adds transport_ssl.c with its own
 * factory, and net.c's transport_factory_for() maps the SSL listener protocol to it. */
#ifndef ST_TRANSPORT_H
#define ST_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define ST_TRANSPORT_WANT_READ   (-100001)
#define ST_TRANSPORT_WANT_WRITE  (-100002)

#define ST_TRANSPORT_MORE 0x1

typedef struct st_transport st_transport_t;

typedef struct st_transport_ops {
    const char *name;                                     /* "PLAINTEXT", "SSL" */
    int (*handshake)(st_transport_t *t);
    ssize_t (*read)(st_transport_t *t, void *buf, size_t len);
    ssize_t (*writev)(st_transport_t *t, const struct iovec *iov, int iovcnt, int flags);
    ssize_t (*sendfile)(st_transport_t *t, int fd, off_t *pos, size_t len);
    void (*close)(st_transport_t *t);                     /* frees t and closes the socket */
    const char *(*peer)(const st_transport_t *t);
    const char *(*principal)(const st_transport_t *t);
    /* Optional (NULL for plain): why the last handshake/read/writev/sendfile failed, in more
     * words than its errno (TLS: OpenSSL's reason and a hint), or NULL. Valid until close(). */
    const char *(*last_error)(const st_transport_t *t);
} st_transport_ops_t;

/* The common head of every transport; implementations embed it as their FIRST member. */
struct st_transport {
    const st_transport_ops_t *ops;
    int fd;                       /* the socket, for the event loop's readiness events */
};

/* A handshake that fails because the peer closed the connection before sending anything (port
 * probes, health checks) returns -ECONNRESET, which the caller may log quietly. */

/* Creates the transport of one accepted socket (non-blocking, TCP_NODELAY already set). `ctx`
 * is the listener's opaque context (e.g. an SSL_CTX); peer is "ip:port". Returns NULL with
 * errno set on failure (the caller closes fd). */
typedef st_transport_t *(*st_transport_factory_t)(int fd, const char *peer, void *ctx);

/* transport_plain.c */
st_transport_t *st_transport_plain_new(int fd, const char *peer, void *ctx);

static inline int st_transport_handshake(st_transport_t *t) { return t->ops->handshake(t); }
static inline ssize_t st_transport_read(st_transport_t *t, void *buf, size_t len)
{
    return t->ops->read(t, buf, len);
}
static inline ssize_t st_transport_writev(st_transport_t *t, const struct iovec *iov, int iovcnt,
                                          int flags)
{
    return t->ops->writev(t, iov, iovcnt, flags);
}
static inline ssize_t st_transport_sendfile(st_transport_t *t, int fd, off_t *pos, size_t len)
{
    return t->ops->sendfile(t, fd, pos, len);
}
static inline void st_transport_close(st_transport_t *t) { t->ops->close(t); }
static inline const char *st_transport_peer(const st_transport_t *t) { return t->ops->peer(t); }
static inline const char *st_transport_principal(const st_transport_t *t)
{
    return t->ops->principal(t);
}
static inline const char *st_transport_last_error(const st_transport_t *t)
{
    return t->ops->last_error ? t->ops->last_error(t) : NULL;
}

#endif
