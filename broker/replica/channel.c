/* Blocking inter-broker connection over the one transport table, common/net/st_transport.h (see channel.h). */
#include "channel.h"

#include "broker_config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_client_conf.h"
#include "st_transport.h"
#include "strand.pb-c.h"

struct st_channel {
    st_transport_conn_t conn;         /* the client transport's connection */
    const st_transport_t *tp;
    void *tp_ctx;
    int32_t next_corr;
    char client_id[64];
    char peer[300];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for what the transport asked for (or `events`) until the deadline. */
static int wait_io(st_channel_t *ch, short events, int64_t deadline)
{
    if (ch->tp->pending && (events & POLLIN) && ch->tp->pending(&ch->conn))
        return 0;
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return -ETIMEDOUT;
    struct pollfd pfd = { ch->conn.fd, events, 0 };
    int r = poll(&pfd, 1, (int)left);
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    return r == 0 ? -ETIMEDOUT : 0;
}

static short want_events(const st_channel_t *ch)
{
    short ev = 0;
    if (ch->conn.want_read)
        ev |= POLLIN;
    if (ch->conn.want_write)
        ev |= POLLOUT;
    return ev ? ev : POLLIN;
}

int st_channel_open(const st_channel_conf_t *conf, const char *host, int port, int timeout_ms,
                    st_channel_t **ret_ch, char *err, size_t errlen)
{
    st_channel_t *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return -ENOMEM;
    ch->conn.fd = -1;
    ch->tp = conf->ssl ? &st_transport_ssl : &st_transport_plain;
    snprintf(ch->client_id, sizeof(ch->client_id), "%s", conf->client_id ? conf->client_id : "");
    snprintf(ch->peer, sizeof(ch->peer), "%s:%d", host, port);
    int64_t deadline = now_ms() + timeout_ms;
    int r = 0;
    if (ch->tp->ctx_new) {
        st_client_conf_t cc;
        memset(&cc, 0, sizeof(cc));
        cc.ssl_certificate_location = (char *)conf->ssl_certificate_location;
        cc.ssl_key_location = (char *)conf->ssl_key_location;
        cc.ssl_key_password = (char *)conf->ssl_key_password;
        cc.ssl_ca_location = (char *)conf->ssl_ca_location;
        cc.ssl_enabled_protocols = (char *)conf->ssl_enabled_protocols;
        cc.ssl_cipher_suites = (char *)conf->ssl_cipher_suites;
        r = ch->tp->ctx_new(&cc, &ch->tp_ctx, err, errlen);
        if (r < 0) {
            free(ch);
            return r;
        }
    }
    ch->conn.tp = ch->tp;
    ch->conn.tp_ctx = ch->tp_ctx;
    r = ch->tp->connect(&ch->conn, host, port, err, errlen);
    if (r == -EINPROGRESS) {
        r = wait_io(ch, POLLOUT, deadline);
        if (r == 0)
            r = ch->tp->finish_connect(&ch->conn);
        if (r < 0)
            snprintf(err, errlen, "connecting to %s: %s", ch->peer, strerror(-r));
    } else if (r < 0 && err[0] == '\0') {
        snprintf(err, errlen, "connecting to %s: %s", ch->peer, strerror(-r));
    }
    while (r == 0) {
        r = ch->tp->handshake(&ch->conn, err, errlen);
        if (r != -EAGAIN)
            break;
        r = wait_io(ch, want_events(ch), deadline);
        if (r < 0)
            snprintf(err, errlen, "handshake with %s: %s", ch->peer, strerror(-r));
    }
    if (r < 0) {
        st_channel_close(ch);
        return r;
    }
    *ret_ch = ch;
    return 0;
}

static int write_all(st_channel_t *ch, const uint8_t *p, size_t len, int64_t deadline)
{
    while (len) {
        struct iovec iov = { (void *)p, len };
        ssize_t n = ch->tp->writev(&ch->conn, &iov, 1);
        if (n == -EAGAIN) {
            int r = wait_io(ch, want_events(ch), deadline);
            if (r < 0)
                return r;
            continue;
        }
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(st_channel_t *ch, uint8_t *p, size_t len, int64_t deadline)
{
    while (len) {
        ssize_t n = ch->tp->read(&ch->conn, p, len);
        if (n == -EAGAIN) {
            int r = wait_io(ch, want_events(ch), deadline);
            if (r < 0)
                return r;
            continue;
        }
        if (n == 0)
            return -EPIPE;
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int st_channel_call(st_channel_t *ch, int32_t api_key, int32_t api_version,
                    const ProtobufCMessage *body, int timeout_ms, st_buf_t *frame,
                    st_frame_view_t *ret_view)
{
    int64_t deadline = now_ms() + timeout_ms;
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = api_key;
    hdr.api_version = api_version;
    hdr.correlation_id = ++ch->next_corr;
    hdr.client_id = ch->client_id;
    st_buf_reset(frame);
    int r = st_frame_encode(frame, &hdr.base, body, 0);
    if (r == 0)
        r = write_all(ch, frame->data, frame->len, deadline);
    if (r < 0)
        return r;
    uint8_t size[4];
    if ((r = read_all(ch, size, 4, deadline)) < 0)
        return r;
    uint32_t n = st_be32(size);
    if (n < ST_FRAME_MIN_SIZE || n > (1u << 30))
        return -EBADMSG;
    st_buf_reset(frame);
    if ((r = st_buf_reserve(frame, n)) < 0)
        return r;
    if ((r = read_all(ch, frame->data, n, deadline)) < 0)
        return r;
    frame->len = n;
    const char *reason = NULL;
    if (st_frame_parse(frame->data, n, ret_view, &reason) < 0)
        return -EBADMSG;
    Strand__ResponseHeader *rh = strand__response_header__unpack(NULL, ret_view->header_len,
                                                                 ret_view->header);
    if (!rh)
        return -EBADMSG;
    bool ok = rh->correlation_id == hdr.correlation_id;
    strand__response_header__free_unpacked(rh, NULL);
    return ok ? 0 : -EBADMSG;
}

void st_channel_close(st_channel_t *ch)
{
    if (!ch)
        return;
    if (ch->conn.fd >= 0 || ch->conn.tls)
        ch->tp->close(&ch->conn);
    if (ch->tp_ctx && ch->tp->ctx_free)
        ch->tp->ctx_free(ch->tp_ctx);
    free(ch);
}

const char *st_channel_peer(const st_channel_t *ch) { return ch->peer; }
int st_channel_fd(const st_channel_t *ch) { return ch ? ch->conn.fd : -1; }

void st_channel_conf_inter_broker(const struct st_broker_config *cfg, const char *client_id,
                                  st_channel_conf_t *ret)
{
    *ret = (st_channel_conf_t){
        .ssl = cfg->listener_list[cfg->inter_broker_listener].protocol == ST_PROTO_SSL,
        .ssl_certificate_location = cfg->ssl_certificate_location,
        .ssl_key_location = cfg->ssl_key_location,
        .ssl_key_password = cfg->ssl_key_password,
        .ssl_ca_location = cfg->ssl_ca_location,
        .ssl_enabled_protocols = cfg->ssl_enabled_protocols,
        .ssl_cipher_suites = cfg->ssl_cipher_suites,
        .client_id = client_id,
    };
}
