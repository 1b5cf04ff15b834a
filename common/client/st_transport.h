/* Client transports behind one small table of functions (Redis' connection.h habit): the
 * connection code never asks whether it has plain TCP or TLS. PLAINTEXT lives in
 * st_transport_plain.c; an SSL transport slots in by adding a row to st_transport_find()'s table
 * (and its ssl.* keys to the client config table).
 *
 * Every function runs on the client's I/O thread and never blocks: the socket is non-blocking
 * and "would block" is -EAGAIN, with conn->want_read / conn->want_write saying which readiness
 * the transport waits for. */
#ifndef ST_TRANSPORT_H
#define ST_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct st_client_conf;

typedef struct st_conn {
    int fd;                          /* -1 when closed */
    const struct st_transport *tp;
    void *tls;                       /* transport state (TLS session), NULL for plain */
    void *tp_ctx;                    /* the client's transport context (from ctx_new), set
                                      * before connect; NULL for plain */
    bool want_read, want_write;      /* what the last -EAGAIN waits for */
    char host[256];
    int port;
} st_conn_t;

typedef struct st_transport {
    const char *name;                /* security.protocol value: "PLAINTEXT", "SSL" */
    /* Starts a non-blocking connect to host:port. 0 connected, -EINPROGRESS (wait for
     * writability, then call finish_connect), or -errno (getaddrinfo failures: -EHOSTUNREACH with
     * the reason in errbuf). */
    int (*connect)(st_conn_t *conn, const char *host, int port, char *errbuf, size_t errlen);
    /* After writability: 0 connected or -errno (the SO_ERROR). */
    int (*finish_connect)(st_conn_t *conn);
    /* Transport handshake after TCP connect: 0 done, -EAGAIN (see want_*), -errno with errbuf. */
    int (*handshake)(st_conn_t *conn, char *errbuf, size_t errlen);
    /* >0 bytes, 0 = peer closed, -EAGAIN, -errno. */
    ssize_t (*read)(st_conn_t *conn, void *buf, size_t len);
    /* >0 bytes written, -EAGAIN, -errno. */
    ssize_t (*writev)(st_conn_t *conn, const struct iovec *iov, int iovcnt);
    void (*close)(st_conn_t *conn);
    /* Optional (NULL for plain). ctx_new makes the per-client context from the configuration
     * once, when the client is created (SSL: the SSL_CTX from the ssl.* keys; a bad file or
     * setting is -errno with errbuf naming it); ctx_free releases it after every connection
     * is closed. last_error: why the last read/writev failed, when the transport knows more
     * than the errno (TLS alerts), or NULL. pending: true if the transport holds input that
     * socket readiness no longer shows (TLS records already read and decrypted): the caller
     * must keep reading before waiting for EPOLLIN. */
    int (*ctx_new)(const struct st_client_conf *conf, void **ret_ctx, char *errbuf,
                   size_t errlen);
    void (*ctx_free)(void *ctx);
    const char *(*last_error)(const st_conn_t *conn);
    bool (*pending)(const st_conn_t *conn);
} st_transport_t;

extern const st_transport_t st_transport_plain;
extern const st_transport_t st_transport_ssl;   /* st_transport_ssl.c */

/* By security.protocol name (case-insensitive); NULL if unknown. */
const st_transport_t *st_transport_find(const char *name);

#endif
