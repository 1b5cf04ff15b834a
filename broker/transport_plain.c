/* The plaintext transport: a non-blocking TCP socket with sendmsg(2) for responses and
 * sendfile(2) for fetched record data. See transport.h for the contract. */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct plain_transport {
    st_transport_t base;
    char peer[64];
} plain_transport_t;

static int plain_handshake(st_transport_t *t)
{
    (void)t;
    return 0;
}

static ssize_t plain_read(st_transport_t *t, void *buf, size_t len)
{
    for (;;) {
        ssize_t r = recv(t->fd, buf, len, 0);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return ST_TRANSPORT_WANT_READ;
        return -errno;
    }
}

static ssize_t plain_writev(st_transport_t *t, const struct iovec *iov, int iovcnt, int flags)
{
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
    int sflags = MSG_NOSIGNAL | ((flags & ST_TRANSPORT_MORE) ? MSG_MORE : 0);
    for (;;) {
        ssize_t r = sendmsg(t->fd, &msg, sflags);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return ST_TRANSPORT_WANT_WRITE;
        return -errno;
    }
}

static ssize_t plain_sendfile(st_transport_t *t, int fd, off_t *pos, size_t len)
{
    for (;;) {
        ssize_t r = sendfile(t->fd, fd, pos, len);
        if (r > 0)
            return r;
        if (r == 0)   /* the file is shorter than the slice said: truncated under us */
            return -ENODATA;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return ST_TRANSPORT_WANT_WRITE;
        return -errno;
    }
}

static void plain_close(st_transport_t *t)
{
    plain_transport_t *pt = (plain_transport_t *)t;
    close(t->fd);
    free(pt);
}

static const char *plain_peer(const st_transport_t *t)
{
    return ((const plain_transport_t *)t)->peer;
}

static const char *plain_principal(const st_transport_t *t)
{
    (void)t;
    return "User:ANONYMOUS";
}

static const st_transport_ops_t plain_ops = {
    .name = "PLAINTEXT",
    .handshake = plain_handshake,
    .read = plain_read,
    .writev = plain_writev,
    .sendfile = plain_sendfile,
    .close = plain_close,
    .peer = plain_peer,
    .principal = plain_principal,
};

st_transport_t *st_transport_plain_new(int fd, const char *peer, void *ctx)
{
    (void)ctx;
    plain_transport_t *pt = calloc(1, sizeof(*pt));
    if (!pt)
        return NULL;
    pt->base.ops = &plain_ops;
    pt->base.fd = fd;
    snprintf(pt->peer, sizeof(pt->peer), "%s", peer ? peer : "?");
    return &pt->base;
}
