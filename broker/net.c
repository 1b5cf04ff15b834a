/* Network loops, listeners and the acceptor (libevent). The acceptor runs on the main thread's
 * event_base and hands each accepted socket to the next loop round-robin through the loop's
 * mutex-guarded incoming queue and a manually activated notify event; the loop creates the
 * connection on its own thread. The same notify event carries parked-fetch wake-ups and the
 * stop request.
 *
 * Connection quotas (conn_quota.h): the acceptor takes a slot for each accepted socket before
 * handing it on, and refuses (closes, logs one rate-limited line naming the limit and the peer)
 * a socket past max.connections or max.connections.per.ip; the slot goes back when the fd is
 * closed, by the loop (conn_close) or here (st_net_drop_incoming).
 *
 * Loop states: running -> stopping (st_loop_begin_stop: parked fetches answered, no more input,
 * output draining) -> exited (event_base_loopbreak once drained or past the deadline) ->
 * connections closed by the loop thread itself. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/thread.h>

#include "conn.h"
#include "st_logger.h"

#define LISTEN_BACKLOG 1024

int64_t st_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t st_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The transport of each security protocol (common/net/st_transport.h). */
static const st_transport_t *transport_for(st_security_protocol_t protocol)
{
    switch (protocol) {
    case ST_PROTO_PLAINTEXT:
        return &st_transport_plain;
    case ST_PROTO_SSL:
        return &st_transport_ssl;
    }
    return NULL;
}

/* The listener context from the broker's ssl.* settings (SSL listeners). */
static int listener_ctx_new(const st_broker_config_t *cfg, st_listener_t *l, char *errbuf,
                            size_t errlen)
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
    return l->tp->listener_new(&tls, l->cfg.name, &l->tp_ctx, errbuf, errlen);
}

static void format_addr(const struct sockaddr *sa, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, len, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, len, "[%s]:%d", host, port);
    } else {
        snprintf(out, len, "unknown");
    }
}

/* ---- loops ------------------------------------------------------------------------------- */

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    st_loop_t *loop = arg;
    for (;;) {
        pthread_mutex_lock(&loop->lock);
        if (loop->n_incoming == 0) {
            pthread_mutex_unlock(&loop->lock);
            break;
        }
        st_incoming_t in = loop->incoming[--loop->n_incoming];
        pthread_mutex_unlock(&loop->lock);
        if (loop->stopping) {
            st_net_drop_incoming(loop->net, &in);
            continue;
        }
        st_conn_accept(loop, &in);
    }
    if (atomic_exchange(&loop->fetch_wake, false))
        st_loop_recheck_parked(loop);
    if (atomic_load(&loop->stop_requested) && !loop->stopping) {
        st_loop_begin_stop(loop);
        struct timeval tv = { 0, 20 * 1000 };
        event_add(loop->stop_ev, &tv);
    }
}

static void on_stop_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    st_loop_t *loop = arg;
    if (atomic_exchange(&loop->fetch_wake, false))
        st_loop_recheck_parked(loop);
    if (st_loop_drained(loop) || st_now_ms() >= loop->stop_deadline_ms)
        event_base_loopbreak(loop->base);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    st_loop_t *loop = arg;
    st_loop_idle_sweep(loop, st_now_ms());
}

static void *loop_main(void *arg)
{
    st_loop_t *loop = arg;
    char name[16];
    snprintf(name, sizeof(name), "st-net-%d", loop->index);
    pthread_setname_np(pthread_self(), name);
    event_base_loop(loop->base, EVLOOP_NO_EXIT_ON_EMPTY);
    st_loop_close_all(loop);
    return NULL;
}

static int loop_init(st_net_t *net, st_loop_t *loop, int index)
{
    loop->net = net;
    loop->broker = net->broker;
    loop->index = index;
    pthread_mutex_init(&loop->lock, NULL);
    TAILQ_INIT(&loop->conns);
    TAILQ_INIT(&loop->parked);
    loop->base = event_base_new();
    if (!loop->base)
        return -ENOMEM;
    loop->notify_ev = event_new(loop->base, -1, 0, on_notify, loop);
    loop->idle_ev = event_new(loop->base, -1, EV_PERSIST, on_idle, loop);
    loop->stop_ev = event_new(loop->base, -1, EV_PERSIST, on_stop_check, loop);
    if (!loop->notify_ev || !loop->idle_ev || !loop->stop_ev)
        return -ENOMEM;
    int64_t idle = net->broker->cfg.connections_max_idle_ms;
    int64_t every = idle / 4 < 1000 ? (idle / 4 > 100 ? idle / 4 : 100) : 1000;
    struct timeval tv = { (time_t)(every / 1000), (suseconds_t)((every % 1000) * 1000) };
    event_add(loop->idle_ev, &tv);
    return 0;
}

static void loop_notify(st_loop_t *loop)
{
    event_active(loop->notify_ev, EV_READ, 0);
}

void st_net_wake_loop(void *arg, int index)
{
    st_net_t *net = arg;
    st_loop_t *loop = &net->loops[index];
    if (!atomic_exchange(&loop->fetch_wake, true))
        loop_notify(loop);
}

/* ---- listeners and acceptor ---------------------------------------------------------------- */

void st_net_drop_incoming(st_net_t *net, const st_incoming_t *in)
{
    close(in->fd);
    st_conn_quota_release(net->quota, &in->addr);
}

/* True when max.connections never refuses this listener's connections: the inter-broker
 * listener when the broker has more than one listener (Kafka's protectedListener rule; with one
 * listener, clients and brokers share it and the limit applies to both). */
static bool protected_listener(const st_net_t *net, const st_listener_t *l)
{
    return net->n_listeners > 1 && l->index == net->broker->cfg.inter_broker_listener;
}

#define REFUSED_LOG_INTERVAL_MS 10000

/* Logs a refused connection: the first for each limit key at once, then at most one line per
 * key and REFUSED_LOG_INTERVAL_MS, carrying the count refused in between (whatever the peer:
 * a flood from many addresses costs one line per interval). Acceptor thread. */
static void log_refused(st_net_t *net, const st_listener_t *l, const st_incoming_t *in,
                        st_quota_verdict_t verdict, int32_t limit, int64_t open)
{
    int64_t now = st_now_ms();
    bool override = verdict == ST_QUOTA_PER_IP && st_conn_quota_is_override(net->quota, &in->addr);
    unsigned k = override ? 4 : (unsigned)verdict;    /* one rate limit per key named */
    if (net->refused_log_ms[k] && now - net->refused_log_ms[k] < REFUSED_LOG_INTERVAL_MS) {
        net->refused_unlogged[k]++;
        return;
    }
    char also[96] = "";
    if (net->refused_unlogged[k])
        snprintf(also, sizeof(also), " (%" PRIu64 " more refused for the same reason since the "
                 "last such line)", net->refused_unlogged[k]);
    net->refused_log_ms[k] = now;
    net->refused_unlogged[k] = 0;
    char ip[INET6_ADDRSTRLEN];
    st_quota_addr_format(&in->addr, ip, sizeof(ip));
    switch (verdict) {
    case ST_QUOTA_MAX_CONNECTIONS:
        ST_WARN("Refused connection from %s on listener %s: max.connections=%" PRId32 " reached "
                "(%" PRId64 " connections open); closed it%s", in->peer, l->cfg.name, limit,
                open, also);
        break;
    case ST_QUOTA_PER_IP:
        ST_WARN("Refused connection from %s on listener %s: %s=%" PRId32 " reached for %s "
                "(%" PRId64 " connections open from it); closed it%s", in->peer, l->cfg.name,
                override ? "max.connections.per.ip.overrides" : "max.connections.per.ip",
                limit, ip, open, also);
        break;
    default:
        ST_ERROR("Refused connection from %s on listener %s: out of memory%s", in->peer,
                 l->cfg.name, also);
        break;
    }
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    (void)evl;
    (void)socklen;
    st_listener_t *l = arg;
    st_net_t *net = l->net;
    const st_broker_config_t *cfg = &net->broker->cfg;
    st_incoming_t in = { .fd = fd, .listener = l };
    format_addr(sa, in.peer, sizeof(in.peer));
    st_quota_addr_from_sockaddr(sa, &in.addr);
    int32_t limit = 0;
    int64_t open = 0;
    st_quota_verdict_t verdict = st_conn_quota_acquire(net->quota, &in.addr,
                                                       protected_listener(net, l), &limit, &open);
    if (verdict != ST_QUOTA_OK) {
        /* As Kafka does for max.connections.per.ip: close the new connection, say why. */
        close(fd);
        log_refused(net, l, &in, verdict, limit, open);
        return;
    }
    st_transport_socket_options(fd);
    if (cfg->socket_send_buffer_bytes > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cfg->socket_send_buffer_bytes, sizeof(int));
    if (cfg->socket_receive_buffer_bytes > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg->socket_receive_buffer_bytes, sizeof(int));
    unsigned idx = atomic_fetch_add(&net->next_loop, 1) % (unsigned)net->n_loops;
    st_loop_t *loop = &net->loops[idx];
    pthread_mutex_lock(&loop->lock);
    if (loop->n_incoming == loop->cap_incoming) {
        size_t ncap = loop->cap_incoming ? loop->cap_incoming * 2 : 64;
        st_incoming_t *n = realloc(loop->incoming, ncap * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&loop->lock);
            ST_ERROR("Out of memory: dropping the connection from %s", in.peer);
            st_net_drop_incoming(net, &in);
            return;
        }
        loop->incoming = n;
        loop->cap_incoming = ncap;
    }
    loop->incoming[loop->n_incoming++] = in;
    pthread_mutex_unlock(&loop->lock);
    loop_notify(loop);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    st_listener_t *l = arg;
    if (l->ev)
        evconnlistener_enable(l->ev);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
    st_listener_t *l = arg;
    int err = EVUTIL_SOCKET_ERROR();
    ST_WARN("Accepting on %s://%s:%d failed: %s; pausing accepts for 100 ms", l->cfg.name,
            l->cfg.host, l->port, evutil_socket_error_to_string(err));
    evconnlistener_disable(evl);
    struct timeval tv = { 0, 100 * 1000 };
    event_add(l->retry_ev, &tv);
}

static int bind_listener(st_net_t *net, st_listener_t *l)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", l->cfg.port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    const char *host = l->cfg.host[0] ? l->cfg.host : NULL;
    if (!host)
        hints.ai_family = AF_INET;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        ST_ERROR("Listener %s://%s:%d: cannot resolve '%s': %s", l->cfg.name, l->cfg.host,
                 l->cfg.port, l->cfg.host, gai_strerror(gai));
        return -EINVAL;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
            err = errno;
    }
    freeaddrinfo(res);
    if (err) {
        ST_ERROR("Listener %s://%s:%d: cannot listen: %s", l->cfg.name, l->cfg.host, l->cfg.port,
                 strerror(err));
        if (fd >= 0)
            close(fd);
        return -err;
    }
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &slen);
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    l->fd = fd;
    l->ev = evconnlistener_new(net->main_base, on_accept, l,
                               LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED,
                               0 /* already listening */, fd);
    l->retry_ev = evtimer_new(net->main_base, on_accept_retry, l);
    if (!l->ev || !l->retry_ev) {
        if (!l->ev)
            close(fd);
        return -ENOMEM;
    }
    evconnlistener_set_error_cb(l->ev, on_accept_error);
    return 0;
}

int st_net_create(st_broker_t *broker, struct event_base *main_base, st_net_t **ret_net)
{
    const st_broker_config_t *cfg = &broker->cfg;
    st_net_t *net = calloc(1, sizeof(*net));
    if (!net)
        return -ENOMEM;
    net->broker = broker;
    net->main_base = main_base;
    net->n_loops = cfg->num_network_threads;
    net->loops = calloc((size_t)net->n_loops, sizeof(st_loop_t));
    net->n_listeners = cfg->n_listeners;
    net->listeners = calloc(net->n_listeners, sizeof(st_listener_t));
    net->quota = st_conn_quota_new(cfg);
    if (!net->loops || !net->listeners || !net->quota) {
        st_net_free(net);
        return -ENOMEM;
    }
    int r = 0;
    for (size_t i = 0; r == 0 && i < net->n_listeners; i++) {
        st_listener_t *l = &net->listeners[i];
        l->cfg = cfg->listener_list[i];
        l->index = (int)i;
        l->fd = -1;
        l->net = net;
        l->tp = transport_for(l->cfg.protocol);
        if (!l->tp) {
            ST_ERROR("Listener %s://%s:%d: the %s transport is not available in this build",
                     l->cfg.name, l->cfg.host, l->cfg.port, l->cfg.name);
            r = -ENOTSUP;
            break;
        }
        if (l->tp->listener_new) {
            /* Certificates and keys are loaded here: a bad one stops start-up (exit 1). */
            char err[1024];
            r = listener_ctx_new(cfg, l, err, sizeof(err));
            if (r < 0) {
                ST_ERROR("Listener %s://%s:%d: %s", l->cfg.name, l->cfg.host, l->cfg.port, err);
                break;
            }
        }
        r = bind_listener(net, l);
    }
    for (int i = 0; r == 0 && i < net->n_loops; i++)
        r = loop_init(net, &net->loops[i], i);
    if (r < 0) {
        st_net_free(net);
        return r;
    }
    *ret_net = net;
    return 0;
}

int st_net_start(st_net_t *net)
{
    /* Network threads leave signals to the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = 0;
    for (int i = 0; i < net->n_loops; i++) {
        r = -pthread_create(&net->loops[i].thread, NULL, loop_main, &net->loops[i]);
        if (r < 0)
            break;
        net->loops[i].thread_started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        ST_ERROR("Cannot start the network threads: %s", strerror(-r));
        return r;
    }
    for (size_t i = 0; i < net->n_listeners; i++) {
        st_listener_t *l = &net->listeners[i];
        evconnlistener_enable(l->ev);
        ST_INFO("Listening on %s://%s:%d", l->cfg.name, l->cfg.host[0] ? l->cfg.host : "0.0.0.0",
                l->port);
    }
    return 0;
}

void st_net_stop_accepting(st_net_t *net)
{
    for (size_t i = 0; i < net->n_listeners; i++) {
        st_listener_t *l = &net->listeners[i];
        if (l->retry_ev) {
            event_free(l->retry_ev);
            l->retry_ev = NULL;
        }
        if (l->ev) {
            evconnlistener_free(l->ev);
            l->ev = NULL;
            l->fd = -1;
        }
    }
}

void st_net_shutdown(st_net_t *net, int grace_ms)
{
    for (int i = 0; i < net->n_loops; i++) {
        st_loop_t *loop = &net->loops[i];
        if (!loop->thread_started)
            continue;
        /* Written before the flag; read by the loop after it sees the flag. */
        loop->stop_deadline_ms = st_now_ms() + grace_ms;
        atomic_store(&loop->stop_requested, true);
        loop_notify(loop);
    }
    for (int i = 0; i < net->n_loops; i++) {
        if (net->loops[i].thread_started) {
            pthread_join(net->loops[i].thread, NULL);
            net->loops[i].thread_started = false;
        }
    }
}

void st_net_free(st_net_t *net)
{
    if (!net)
        return;
    st_net_stop_accepting(net);
    for (int i = 0; net->loops && i < net->n_loops; i++) {
        st_loop_t *loop = &net->loops[i];
        for (size_t k = 0; k < loop->n_incoming; k++)
            st_net_drop_incoming(net, &loop->incoming[k]);
        free(loop->incoming);
        if (loop->notify_ev)
            event_free(loop->notify_ev);
        if (loop->idle_ev)
            event_free(loop->idle_ev);
        if (loop->stop_ev)
            event_free(loop->stop_ev);
        if (loop->base)
            event_base_free(loop->base);
        pthread_mutex_destroy(&loop->lock);
    }
    free(net->loops);
    for (size_t i = 0; net->listeners && i < net->n_listeners; i++)
        if (net->listeners[i].tp && net->listeners[i].tp->listener_free)
            net->listeners[i].tp->listener_free(net->listeners[i].tp_ctx);
    free(net->listeners);
    st_conn_quota_free(net->quota);
    free(net);
}
