/* PLAINTEXT transport, both sides (see st_transport.h): non-blocking TCP sockets with
 * TCP_NODELAY; the connect side resolves and connects, the accept side wraps the broker's
 * accepted sockets and sends fetched record data with sendfile(2). Read, writev and close are
 * the same code on both sides. */
#include "st_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

void st_transport_socket_options(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- connect side ---------------------------------------------------------------------------- */

static int plain_connect(st_transport_conn_t *conn, const char *host, int port, char *errbuf,
                         size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(errbuf, errlen, "cannot resolve host: %s", gai_strerror(gai));
        return -EHOSTUNREACH;
    }
    int err = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        st_transport_socket_options(fd);
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r == 0 || errno == EINPROGRESS) {
            conn->fd = fd;
            freeaddrinfo(res);
            return r == 0 ? 0 : -EINPROGRESS;
        }
        err = -errno;
        close(fd);
    }
    freeaddrinfo(res);
    snprintf(errbuf, errlen, "%s", strerror(-err));
    return err;
}

static int plain_finish_connect(st_transport_conn_t *conn)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -errno;
    return soerr ? -soerr : 0;
}

/* ---- accept side ----------------------------------------------------------------------------- */

static st_transport_conn_t *plain_accept(int fd, const char *peer, void *ctx)
{
    (void)ctx;
    st_transport_conn_t *conn = calloc(1, sizeof(*conn));
    if (!conn)
        return NULL;
    conn->fd = fd;
    conn->tp = &st_transport_plain;
    conn->accepted = true;
    snprintf(conn->peer, sizeof(conn->peer), "%s", peer ? peer : "?");
    return conn;
}

static ssize_t plain_sendfile(st_transport_conn_t *conn, int fd, off_t *pos, size_t len)
{
    for (;;) {
        ssize_t r = sendfile(conn->fd, fd, pos, len);
        if (r > 0)
            return r;
        if (r == 0)   /* the file is shorter than the slice said: truncated under us */
            return -ENODATA;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            conn->want_write = true;
            return -EAGAIN;
        }
        return -errno;
    }
}

static const char *plain_principal(const st_transport_conn_t *conn)
{
    (void)conn;
    return "User:ANONYMOUS";
}

/* ---- both sides ------------------------------------------------------------------------------ */

static int plain_handshake(st_transport_conn_t *conn, char *errbuf, size_t errlen)
{
    (void)conn;
    (void)errbuf;
    (void)errlen;
    return 0;
}

static ssize_t plain_read(st_transport_conn_t *conn, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(conn->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            conn->want_read = true;
            return -EAGAIN;
        }
        return -errno;
    }
}

static ssize_t plain_writev(st_transport_conn_t *conn, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
    int flags = MSG_NOSIGNAL | (conn->more ? MSG_MORE : 0);
    for (;;) {
        ssize_t n = sendmsg(conn->fd, &msg, flags);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            conn->want_write = true;
            return -EAGAIN;
        }
        return -errno;
    }
}

static void plain_close(st_transport_conn_t *conn)
{
    if (conn->fd >= 0)
        close(conn->fd);
    conn->fd = -1;
    if (conn->accepted)
        free(conn);
}

const st_transport_t st_transport_plain = {
    .name = "PLAINTEXT",
    .connect = plain_connect,
    .finish_connect = plain_finish_connect,
    .accept = plain_accept,
    .sendfile = plain_sendfile,
    .principal = plain_principal,
    .handshake = plain_handshake,
    .read = plain_read,
    .writev = plain_writev,
    .close = plain_close,
};

const st_transport_t *st_transport_find(const char *name)
{
    static const st_transport_t *const transports[] = { &st_transport_plain, &st_transport_ssl };
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
        if (strcasecmp(transports[i]->name, name) == 0)
            return transports[i];
    return NULL;
}
