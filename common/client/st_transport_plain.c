/* PLAINTEXT transport: non-blocking TCP sockets with TCP_NODELAY (see st_transport.h). */
#include "st_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int plain_connect(st_conn_t *conn, const char *host, int port, char *errbuf, size_t errlen)
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
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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

static int plain_finish_connect(st_conn_t *conn)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -errno;
    return soerr ? -soerr : 0;
}

static int plain_handshake(st_conn_t *conn, char *errbuf, size_t errlen)
{
    (void)conn;
    (void)errbuf;
    (void)errlen;
    return 0;
}

static ssize_t plain_read(st_conn_t *conn, void *buf, size_t len)
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

static ssize_t plain_writev(st_conn_t *conn, const struct iovec *iov, int iovcnt)
{
    for (;;) {
        struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
        ssize_t n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);
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

static void plain_close(st_conn_t *conn)
{
    if (conn->fd >= 0)
        close(conn->fd);
    conn->fd = -1;
}

const st_transport_t st_transport_plain = {
    .name = "PLAINTEXT",
    .connect = plain_connect,
    .finish_connect = plain_finish_connect,
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
