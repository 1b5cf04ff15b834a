/* Client core: the I/O thread, broker connections (connect, transport handshake, ApiVersions),
 * request queues with correlation ids, pipelining and timeouts, the any-broker queue used for
 * bootstrap, and synchronous calls for application threads. See st_client.h for the thread
 * rules and the connection state machine. */
#include "st_client.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "st_logger.h"
#include "st_version.h"

#define RBUF_CAP        (256 * 1024)
#define MAX_FRAME_SIZE  (1u << 30)      /* a response larger than 1 GiB is a protocol error */
#define READ_BUDGET     (32u << 20)     /* bytes read per broker per loop iteration */
#define RCVLOWAT_MAX    (256 * 1024)    /* largest SO_RCVLOWAT asked for (see set_rcvlowat) */
#define MAX_IOV         64
#define FRAME_START_READ 4096           /* first read of a frame after a large one (see broker_read) */
#define IDLE_WAKEUP_MS  100

int64_t st_client_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t st_client_wallclock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
/* Re-read the clock after this many TSC cycles (10-60 us at 0.8-5 GHz). */
#define TSC_REFRESH_CYCLES 50000u

int64_t st_client_record_time_ms(void)
{
    static __thread uint64_t tsc_at;
    static __thread int64_t ms_at;
    uint64_t tsc = __rdtsc();
    /* Unsigned difference: a TSC that went backwards (another core) looks huge: refresh. */
    if (ms_at && tsc - tsc_at < TSC_REFRESH_CYCLES)
        return ms_at;
    ms_at = st_client_wallclock_ms();
    tsc_at = tsc;
    return ms_at;
}
#else
int64_t st_client_record_time_ms(void)
{
    return st_client_wallclock_ms();
}
#endif

void st_client_errstr(char *errstr, size_t size, const char *fmt, ...)
{
    if (!errstr || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, size, fmt, ap);
    va_end(ap);
}

static const char *api_name(int32_t key)
{
    switch (key) {
    case STRAND__API_KEY__PRODUCE: return "Produce";
    case STRAND__API_KEY__FETCH: return "Fetch";
    case STRAND__API_KEY__LIST_OFFSETS: return "ListOffsets";
    case STRAND__API_KEY__METADATA: return "Metadata";
    case STRAND__API_KEY__API_VERSIONS: return "ApiVersions";
    case STRAND__API_KEY__CREATE_TOPICS: return "CreateTopics";
    case STRAND__API_KEY__DELETE_TOPICS: return "DeleteTopics";
    case STRAND__API_KEY__OFFSET_COMMIT: return "OffsetCommit";
    case STRAND__API_KEY__OFFSET_FETCH: return "OffsetFetch";
    case STRAND__API_KEY__FIND_COORDINATOR: return "FindCoordinator";
    case STRAND__API_KEY__JOIN_GROUP: return "JoinGroup";
    case STRAND__API_KEY__HEARTBEAT: return "Heartbeat";
    case STRAND__API_KEY__LEAVE_GROUP: return "LeaveGroup";
    case STRAND__API_KEY__SYNC_GROUP: return "SyncGroup";
    default: return "Unknown";
    }
}

/* ---- receive buffers ---------------------------------------------------------------------- */

uint8_t *st_client_buf_get(st_client_t *cl, size_t size, size_t *ret_cap)
{
    pthread_mutex_lock(&cl->pool_lock);
    int best = -1;
    for (int i = 0; i < cl->n_pool; i++)
        if (cl->pool_cap[i] >= size && (best < 0 || cl->pool_cap[i] < cl->pool_cap[best]))
            best = i;
    if (best >= 0) {
        uint8_t *buf = cl->pool[best];
        *ret_cap = cl->pool_cap[best];
        cl->n_pool--;
        cl->pool[best] = cl->pool[cl->n_pool];
        cl->pool_cap[best] = cl->pool_cap[cl->n_pool];
        pthread_mutex_unlock(&cl->pool_lock);
        return buf;
    }
    pthread_mutex_unlock(&cl->pool_lock);
    size_t cap = size < 4096 ? 4096 : size;
    uint8_t *buf = malloc(cap);
    if (buf)
        *ret_cap = cap;
    return buf;
}

void st_client_buf_put(st_client_t *cl, uint8_t *buf, size_t cap)
{
    if (!buf)
        return;
    pthread_mutex_lock(&cl->pool_lock);
    int n = (int)(sizeof(cl->pool) / sizeof(cl->pool[0]));
    if (cl->n_pool < n) {
        cl->pool[cl->n_pool] = buf;
        cl->pool_cap[cl->n_pool] = cap;
        cl->n_pool++;
        buf = NULL;
    } else {
        int smallest = 0;
        for (int i = 1; i < n; i++)
            if (cl->pool_cap[i] < cl->pool_cap[smallest])
                smallest = i;
        if (cl->pool_cap[smallest] < cap) {
            uint8_t *old = cl->pool[smallest];
            cl->pool[smallest] = buf;
            cl->pool_cap[smallest] = cap;
            buf = old;
        }
    }
    pthread_mutex_unlock(&cl->pool_lock);
    free(buf);
}

void st_client_frame_release(st_client_t *cl, st_rframe_t *frame)
{
    if (frame->buf)
        st_client_buf_put(cl, frame->buf, frame->cap);
    frame->buf = NULL;
}

/* ---- requests ----------------------------------------------------------------------------- */

st_req_t *st_req_new(st_client_t *cl, int32_t api_key, const ProtobufCMessage *body,
                     size_t tail_len, int32_t target, int timeout_ms, st_req_cb_t *cb, void *arg)
{
    st_req_t *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->api_key = api_key;
    req->corr_id = (int32_t)(atomic_fetch_add(&cl->next_corr_id, 1) & 0x7fffffff);
    req->target = target;
    req->cb = cb;
    req->arg = arg;
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = api_key;
    hdr.api_version = 0;
    hdr.correlation_id = req->corr_id;
    hdr.client_id = cl->conf.client_id;
    if (st_frame_encode(&req->out, &hdr.base, body, tail_len) < 0) {
        st_buf_free(&req->out);
        free(req);
        return NULL;
    }
    req->total = req->out.len + tail_len;
    req->enq_ms = st_client_now_ms();
    req->deadline_ms = req->enq_ms + (timeout_ms < 0 ? cl->conf.request_timeout_ms : timeout_ms);
    return req;
}

void st_req_free(st_req_t *req)
{
    if (!req)
        return;
    st_buf_free(&req->out);
    free(req);
}

static void req_complete(st_client_t *cl, st_req_t *req, int err, const char *errstr,
                         st_rframe_t *resp)
{
    req->cb(cl, req, err, errstr ? errstr : "", resp);
    st_req_free(req);
}

static void q_push(st_req_t **head, st_req_t **tail, st_req_t *req)
{
    req->next = NULL;
    if (*tail)
        (*tail)->next = req;
    else
        *head = req;
    *tail = req;
}

static st_req_t *q_pop(st_req_t **head, st_req_t **tail)
{
    st_req_t *req = *head;
    if (req) {
        *head = req->next;
        if (!*head)
            *tail = NULL;
        req->next = NULL;
    }
    return req;
}

/* Removes req (which must be in the queue) and returns it. */
static void q_remove(st_req_t **head, st_req_t **tail, st_req_t *req, st_req_t *prev)
{
    if (prev)
        prev->next = req->next;
    else
        *head = req->next;
    if (*tail == req)
        *tail = prev;
    req->next = NULL;
}

bool st_client_on_io_thread(const st_client_t *cl)
{
    return cl->thread_started && pthread_equal(pthread_self(), cl->thread);
}

void st_client_wake(st_client_t *cl)
{
    if (atomic_exchange(&cl->wake_pending, 1) == 0) {
        uint64_t one = 1;
        ssize_t r = write(cl->evfd, &one, sizeof(one));
        (void)r;
    }
}

void st_client_submit(st_client_t *cl, st_req_t *req)
{
    pthread_mutex_lock(&cl->lock);
    q_push(&cl->submit_head, &cl->submit_tail, req);
    pthread_mutex_unlock(&cl->lock);
    st_client_wake(cl);
}

/* ---- brokers ------------------------------------------------------------------------------ */

static bool broker_check(const st_broker_t *b)
{
    if ((b->conn.fd >= 0) != (b->state != ST_BS_DOWN))
        return false;
    for (const st_req_t *r = b->waitq_head; r; r = r->next) {
        if (r->written != r->total)
            return false;
        if (b->state != ST_BS_UP && !r->handshake)
            return false;
    }
    return true;
}

st_broker_t *st_client_broker(st_client_t *cl, int32_t node_id)
{
    for (size_t i = 0; i < cl->n_brokers; i++)
        if (cl->brokers[i]->node_id == node_id)
            return cl->brokers[i];
    return NULL;
}

static st_broker_t *broker_add(st_client_t *cl, int32_t node_id, const char *host, int port)
{
    st_broker_t *b = calloc(1, sizeof(*b));
    st_broker_t **grown = realloc(cl->brokers, (cl->n_brokers + 1) * sizeof(*grown));
    if (!b || !grown) {
        free(b);
        if (grown)
            cl->brokers = grown;
        return NULL;
    }
    cl->brokers = grown;
    b->node_id = node_id;
    snprintf(b->host, sizeof(b->host), "%s", host);
    b->port = port;
    snprintf(b->addr, sizeof(b->addr), "%s:%d", host, port);
    b->conn.fd = -1;
    b->state = ST_BS_DOWN;
    b->backoff_ms = cl->conf.reconnect_backoff_ms;
    memset(b->api_max, 0xff, sizeof(b->api_max));
    cl->brokers[cl->n_brokers++] = b;
    return b;
}

static void broker_update_events(st_client_t *cl, st_broker_t *b)
{
    uint32_t want = 0;
    if (b->state == ST_BS_CONNECTING)
        want = EPOLLOUT;
    else if (b->state != ST_BS_DOWN)
        want = EPOLLIN | (b->conn.want_write ? EPOLLOUT : 0);
    if (want == b->ev_mask)
        return;
    struct epoll_event ev = { .events = want, .data.ptr = b };
    if (!want)
        epoll_ctl(cl->epfd, EPOLL_CTL_DEL, b->conn.fd, &ev);
    else
        epoll_ctl(cl->epfd, b->ev_mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, b->conn.fd, &ev);
    b->ev_mask = want;
}

static void broker_fail(st_client_t *cl, st_broker_t *b, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void broker_fail(st_client_t *cl, st_broker_t *b, int err, const char *fmt, ...)
{
    int64_t now = st_client_now_ms();
    st_bstate_t was = b->state;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->last_error, sizeof(b->last_error), fmt, ap);
    va_end(ap);
    if (b->state != ST_BS_DOWN) {
        if (b->ev_mask) {
            struct epoll_event ev = { 0 };
            epoll_ctl(cl->epfd, EPOLL_CTL_DEL, b->conn.fd, &ev);
        }
        b->conn.tp->close(&b->conn);
    }
    b->conn.fd = -1;
    b->ev_mask = 0;
    b->state = ST_BS_DOWN;
    b->state_since_ms = now;
    b->last_fail_ms = now;
    b->fail_seq = ++cl->fail_counter;
    b->gen++;
    b->reconnect_at_ms = now + b->backoff_ms;
    b->backoff_ms = b->backoff_ms * 2 > cl->conf.reconnect_backoff_max_ms
                        ? cl->conf.reconnect_backoff_max_ms : b->backoff_ms * 2;
    b->dirty = false;
    b->conn.want_read = b->conn.want_write = false;
    st_client_frame_release(cl, &b->rframe);
    b->rframe_have = 0;
    b->rbuf_len = b->rbuf_pos = 0;
    b->rcvlowat = 0;
    ST_DEBUG("client: broker %s (id %d) down: %s", b->addr, b->node_id, b->last_error);
    /* Kafka's NetworkClient warning, once the client is up and will retry (during bootstrap a
     * failure is the error st_client_init returns). */
    if (atomic_load(&cl->ready) && err == ST_ERR_TRANSPORT && was != ST_BS_UP) {
        char key[320];
        snprintf(key, sizeof(key), "connect %s", b->addr);
        st_client_log(cl, STRAND_LOG_WARN, "strand.network", key,
                      "Connection to node %d (%s) could not be established. Node may not be "
                      "available: %s", b->node_id, b->addr, b->last_error);
    }

    char msg[600];
    snprintf(msg, sizeof(msg), "broker %s: %s", b->addr, b->last_error);
    /* Detach both queues first: callbacks may queue new requests on this broker. */
    st_req_t *list = b->waitq_head;
    if (b->waitq_tail)
        b->waitq_tail->next = b->sendq_head;
    else
        list = b->sendq_head;
    b->waitq_head = b->waitq_tail = b->sendq_head = b->sendq_tail = NULL;
    b->n_waitq = 0;
    while (list) {
        st_req_t *req = list;
        list = req->next;
        req->next = NULL;
        req->broker = NULL;
        if (req->any && !req->handshake) {
            req->written = 0;
            req->any_seq = cl->fail_counter - 1;   /* this failure counts against it */
            q_push(&cl->anyq_head, &cl->anyq_tail, req);
        } else {
            req_complete(cl, req, err, msg, NULL);
        }
    }
}

static void apiversions_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr,
                           st_rframe_t *resp)
{
    (void)errstr;
    st_broker_t *b = req->broker;
    if (err || !b || b->state != ST_BS_APIVERSIONS)
        return;   /* the connection already failed (and told everyone why) */
    Strand__ApiVersionsResponse *av =
        strand__api_versions_response__unpack(NULL, resp->view.body_len, resp->view.body);
    if (!av) {
        broker_fail(cl, b, ST_ERR_BAD_RESPONSE, "undecodable ApiVersions response");
        return;
    }
    if (av->error_code != 0) {
        int code = av->error_code;
        strand__api_versions_response__free_unpacked(av, NULL);
        broker_fail(cl, b, code, "ApiVersions failed: %s", st_error_name(code));
        return;
    }
    memset(b->api_max, 0xff, sizeof(b->api_max));
    for (size_t i = 0; i < av->n_api_keys; i++) {
        const Strand__ApiVersionRange *r = av->api_keys[i];
        if (r->api_key >= 0 && r->api_key < ST_API_MAX_KEY && r->min_version <= 0 &&
            r->max_version >= 0)
            b->api_max[r->api_key] = (int16_t)(r->max_version > INT16_MAX ? INT16_MAX : r->max_version);
    }
    strand__api_versions_response__free_unpacked(av, NULL);
    b->state = ST_BS_UP;
    b->state_since_ms = st_client_now_ms();
    b->backoff_ms = cl->conf.reconnect_backoff_ms;
    b->dirty = true;
    assert(broker_check(b));
    ST_DEBUG("client: connected to broker %s (id %d)", b->addr, b->node_id);
}

static void broker_handshake(st_client_t *cl, st_broker_t *b)
{
    char err[256] = "";
    b->conn.want_read = b->conn.want_write = false;
    int r = b->conn.tp->handshake(&b->conn, err, sizeof(err));
    if (r == -EAGAIN) {
        broker_update_events(cl, b);
        return;
    }
    if (r < 0) {
        broker_fail(cl, b, ST_ERR_SSL, "%s handshake failed: %s", b->conn.tp->name,
                    err[0] ? err : strerror(-r));
        return;
    }
    Strand__ApiVersionsRequest avr = STRAND__API_VERSIONS_REQUEST__INIT;
    avr.client_software_name = "strand-c";
    avr.client_software_version = STRAND_VERSION;
    st_req_t *req = st_req_new(cl, STRAND__API_KEY__API_VERSIONS, &avr.base, 0, b->node_id,
                               cl->conf.socket_connection_setup_timeout_ms, apiversions_cb, NULL);
    if (!req) {
        broker_fail(cl, b, ST_ERR_TRANSPORT, "out of memory");
        return;
    }
    req->handshake = true;
    req->broker = b;
    /* ApiVersions goes first: everything else waits for UP. */
    req->next = b->sendq_head;
    b->sendq_head = req;
    if (!b->sendq_tail)
        b->sendq_tail = req;
    b->state = ST_BS_APIVERSIONS;
    b->dirty = true;
    broker_update_events(cl, b);
    assert(broker_check(b));
}

static void broker_connect(st_client_t *cl, st_broker_t *b)
{
    assert(b->state == ST_BS_DOWN);
    char err[256] = "";
    b->conn.tp = cl->tp;
    b->conn.tp_ctx = cl->tp_ctx;
    b->conn.fd = -1;
    b->conn.tls = NULL;
    b->conn.want_read = b->conn.want_write = false;
    snprintf(b->conn.host, sizeof(b->conn.host), "%s", b->host);
    b->conn.port = b->port;
    b->state_since_ms = st_client_now_ms();
    int r = cl->tp->connect(&b->conn, b->host, b->port, err, sizeof(err));
    if (r < 0 && r != -EINPROGRESS) {
        b->conn.fd = -1;
        broker_fail(cl, b, ST_ERR_TRANSPORT, "%s", err[0] ? err : strerror(-r));
        return;
    }
    ST_DEBUG("client: connecting to broker %s (id %d)", b->addr, b->node_id);
    b->state = ST_BS_CONNECTING;
    if (r == -EINPROGRESS) {
        broker_update_events(cl, b);
        return;
    }
    b->state = ST_BS_HANDSHAKE;
    broker_handshake(cl, b);
}

static void broker_enqueue(st_client_t *cl, st_broker_t *b, st_req_t *req)
{
    if (b->state == ST_BS_UP && req->api_key >= 0 && req->api_key < ST_API_MAX_KEY &&
        b->api_max[req->api_key] < 0) {
        char msg[400];
        snprintf(msg, sizeof(msg), "broker %s does not support the %s API", b->addr,
                 api_name(req->api_key));
        req_complete(cl, req, ST_ERR_UNSUPPORTED_VERSION, msg, NULL);
        return;
    }
    req->broker = b;
    q_push(&b->sendq_head, &b->sendq_tail, req);
    b->dirty = true;
    if (b->state == ST_BS_DOWN && b->reconnect_at_ms <= st_client_now_ms())
        broker_connect(cl, b);
}

st_broker_t *st_client_broker_upsert(st_client_t *cl, int32_t node_id, const char *host, int port)
{
    st_broker_t *b = st_client_broker(cl, node_id);
    if (!b)
        return broker_add(cl, node_id, host, port);
    if (b->port != port || strcmp(b->host, host) != 0) {
        if (b->state != ST_BS_DOWN)
            broker_fail(cl, b, ST_ERR_TRANSPORT, "broker moved to %s:%d", host, port);
        snprintf(b->host, sizeof(b->host), "%s", host);
        b->port = port;
        snprintf(b->addr, sizeof(b->addr), "%s:%d", host, port);
        b->reconnect_at_ms = 0;
    }
    return b;
}

st_broker_t *st_client_broker_dedicated(st_client_t *cl, int32_t node_id, const char *host, int port)
{
    st_broker_t *b = st_client_broker_upsert(cl, node_id, host, port);
    if (b)
        b->dedicated = true;
    return b;
}

void st_client_send(st_client_t *cl, st_req_t *req)
{
    int32_t target = req->target;
    if (target == ST_BROKER_CONTROLLER) {
        pthread_mutex_lock(&cl->lock);
        int32_t id = cl->controller_id;
        pthread_mutex_unlock(&cl->lock);
        target = (id >= 0 && st_client_broker(cl, id)) ? id : ST_BROKER_ANY;
    }
    if (target == ST_BROKER_ANY) {
        req->any = true;
        req->any_seq = cl->fail_counter;
        q_push(&cl->anyq_head, &cl->anyq_tail, req);
        return;
    }
    st_broker_t *b = st_client_broker(cl, target);
    if (!b) {
        char msg[128];
        snprintf(msg, sizeof(msg), "broker id %d is not known (yet) from metadata", target);
        req_complete(cl, req, ST_ERR_TRANSPORT, msg, NULL);
        return;
    }
    broker_enqueue(cl, b, req);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Hands a complete frame to its request. False if the connection failed meanwhile. */
static bool broker_dispatch(st_client_t *cl, st_broker_t *b)
{
    st_rframe_t fr = b->rframe;
    uint64_t gen = b->gen;
    b->rframe.buf = NULL;
    b->rframe_have = 0;
    const char *reason = NULL;
    if (st_frame_parse(fr.buf, fr.len, &fr.view, &reason) < 0) {
        st_client_frame_release(cl, &fr);
        broker_fail(cl, b, ST_ERR_BAD_RESPONSE, "malformed response frame: %s", reason);
        return false;
    }
    Strand__ResponseHeader *hdr =
        strand__response_header__unpack(NULL, fr.view.header_len, fr.view.header);
    if (!hdr) {
        st_client_frame_release(cl, &fr);
        broker_fail(cl, b, ST_ERR_BAD_RESPONSE, "undecodable response header");
        return false;
    }
    int32_t corr = hdr->correlation_id;
    strand__response_header__free_unpacked(hdr, NULL);
    st_req_t *prev = NULL, *req = b->waitq_head;
    while (req && req->corr_id != corr) {
        prev = req;
        req = req->next;
    }
    if (!req) {
        ST_DEBUG("client: broker %s: response with unknown correlation id %d dropped", b->addr, corr);
        st_client_frame_release(cl, &fr);
        return true;
    }
    q_remove(&b->waitq_head, &b->waitq_tail, req, prev);
    b->n_waitq--;
    b->big_frames = fr.len >= RBUF_CAP / 4;
    req_complete(cl, req, 0, NULL, &fr);
    st_client_frame_release(cl, &fr);
    return b->gen == gen;
}

/* Moves bytes from rbuf into frames. False if the connection failed. */
static bool broker_consume_rbuf(st_client_t *cl, st_broker_t *b)
{
    while (b->rbuf_pos < b->rbuf_len) {
        if (!b->rframe.buf) {
            size_t avail = b->rbuf_len - b->rbuf_pos;
            if (avail < ST_FRAME_SIZE_PREFIX) {
                memmove(b->rbuf, b->rbuf + b->rbuf_pos, avail);
                b->rbuf_pos = 0;
                b->rbuf_len = avail;
                return true;
            }
            uint32_t size = st_be32(b->rbuf + b->rbuf_pos);
            if (size < ST_FRAME_MIN_SIZE || size > MAX_FRAME_SIZE) {
                broker_fail(cl, b, ST_ERR_BAD_RESPONSE, "invalid response frame size %" PRIu32, size);
                return false;
            }
            b->rbuf_pos += ST_FRAME_SIZE_PREFIX;
            b->rframe.buf = st_client_buf_get(cl, size, &b->rframe.cap);
            if (!b->rframe.buf) {
                broker_fail(cl, b, ST_ERR_TRANSPORT, "out of memory for a %" PRIu32 "-byte response", size);
                return false;
            }
            b->rframe.len = size;
            b->rframe_have = 0;
        }
        size_t n = b->rbuf_len - b->rbuf_pos;
        if (n > b->rframe.len - b->rframe_have)
            n = b->rframe.len - b->rframe_have;
        memcpy(b->rframe.buf + b->rframe_have, b->rbuf + b->rbuf_pos, n);
        b->rframe_have += n;
        b->rbuf_pos += n;
        if (b->rframe_have == b->rframe.len && !broker_dispatch(cl, b))
            return false;
    }
    b->rbuf_pos = b->rbuf_len = 0;
    return true;
}

/* Why a transport operation failed: the transport's own words when it has them (TLS alerts and
 * verification results), else the errno; with a hint when a PLAINTEXT connection is dropped
 * before ApiVersions is answered, the mark of an SSL listener. */
static void conn_error(const st_broker_t *b, ssize_t n, char *buf, size_t len)
{
    const char *e = b->conn.tp->last_error ? b->conn.tp->last_error(&b->conn) : NULL;
    bool plain_dropped = b->state == ST_BS_APIVERSIONS &&
                         strcmp(b->conn.tp->name, "PLAINTEXT") == 0;
    snprintf(buf, len, "%s%s", n == 0 ? "connection closed by the broker" : e ? e : strerror((int)-n),
             plain_dropped ? " before it answered ApiVersions (if this is an SSL listener, set "
                             "security.protocol=SSL)" : "");
}

/* True if the transport holds input that epoll no longer shows (decrypted TLS records). */
static bool conn_pending(const st_broker_t *b)
{
    return b->conn.tp->pending && b->conn.tp->pending(&b->conn);
}

/* While a large response is incomplete, asks the kernel not to report the socket readable
 * before min(rest of the frame, RCVLOWAT_MAX) bytes are there: one wake-up per big piece
 * instead of one per loopback segment. PLAINTEXT only: with TLS, input already buffered inside
 * the TLS library would make the socket-level mark wait for bytes that never come. The rest of
 * a frame always arrives (the broker writes whole frames), so the mark never stalls. */
static void set_rcvlowat(st_broker_t *b)
{
    int want = 1;
    if (b->conn.tp == &st_transport_plain && b->rframe.buf) {
        size_t rest = b->rframe.len - b->rframe_have;
        want = rest > RCVLOWAT_MAX ? RCVLOWAT_MAX : (int)rest;
        if (want < 1)
            want = 1;
    }
    if (want == (b->rcvlowat ? b->rcvlowat : 1))
        return;
    if (setsockopt(b->conn.fd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof(want)) == 0)
        b->rcvlowat = want;
}

static void broker_read(st_client_t *cl, st_broker_t *b)
{
    uint64_t gen = b->gen;
    size_t budget = READ_BUDGET;
    if (!b->rbuf && !(b->rbuf = malloc(RBUF_CAP))) {
        broker_fail(cl, b, ST_ERR_TRANSPORT, "out of memory");
        return;
    }
    while ((budget > 0 || conn_pending(b)) && b->gen == gen) {
        ssize_t n;
        if (b->rframe.buf && b->rbuf_pos == b->rbuf_len &&
            b->rframe.len - b->rframe_have >= RBUF_CAP / 4) {
            /* Large frame: read straight into its buffer. */
            n = b->conn.tp->read(&b->conn, b->rframe.buf + b->rframe_have,
                                 b->rframe.len - b->rframe_have);
            if (n > 0) {
                b->rframe_have += (size_t)n;
                budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
                if (b->rframe_have < b->rframe.len)
                    continue;
                if (!broker_dispatch(cl, b))
                    return;
                /* A large response is complete: return so that the loop sends what it made
                 * ready (the next fetch) before reading on; epoll is level-triggered, so input
                 * already there is seen at once. Input held inside the transport (TLS) is not:
                 * then read on. */
                if (!conn_pending(b)) {
                    set_rcvlowat(b);
                    return;
                }
                continue;
            }
        } else {
            /* After a large frame the next one is likely large too: read only its start into
             * rbuf, so that the body goes straight into the frame buffer instead of being
             * copied from rbuf. */
            size_t room = RBUF_CAP - b->rbuf_len;
            if (b->big_frames && !b->rframe.buf && b->rbuf_len < FRAME_START_READ)
                room = FRAME_START_READ - b->rbuf_len;
            n = b->conn.tp->read(&b->conn, b->rbuf + b->rbuf_len, room);
            if (n > 0) {
                b->rbuf_len += (size_t)n;
                budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
                if (!broker_consume_rbuf(cl, b))
                    return;
                continue;
            }
        }
        if (n == -EAGAIN) {
            set_rcvlowat(b);
            return;
        }
        char why[600];
        conn_error(b, n, why, sizeof(why));
        broker_fail(cl, b, ST_ERR_TRANSPORT, "%s%s", n == 0 ? "" : "read failed: ", why);
        return;
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static int req_iov(const st_req_t *req, struct iovec *iov, int room)
{
    int cnt = 0;
    size_t skip = req->written;
    if (skip < req->out.len) {
        iov[cnt].iov_base = req->out.data + skip;
        iov[cnt].iov_len = req->out.len - skip;
        cnt++;
        skip = 0;
    } else {
        skip -= req->out.len;
    }
    for (int i = 0; i < req->tail_cnt && cnt < room; i++) {
        size_t len = req->tail[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        iov[cnt].iov_base = (uint8_t *)req->tail[i].iov_base + skip;
        iov[cnt].iov_len = len - skip;
        skip = 0;
        cnt++;
    }
    return cnt;
}

static void broker_write(st_client_t *cl, st_broker_t *b)
{
    uint64_t gen = b->gen;
    b->dirty = false;
    if (b->state != ST_BS_UP && b->state != ST_BS_APIVERSIONS)
        return;
    b->conn.want_write = false;
    while (b->sendq_head && b->gen == gen) {
        struct iovec iov[MAX_IOV];
        int cnt = 0;
        for (st_req_t *req = b->sendq_head; req && cnt < MAX_IOV; req = req->next) {
            if (b->state != ST_BS_UP && !req->handshake)
                break;
            if (req->tail_cnt + 1 > MAX_IOV - cnt && cnt > 0)
                break;
            cnt += req_iov(req, iov + cnt, MAX_IOV - cnt);
        }
        if (cnt == 0)
            break;
        ssize_t n = b->conn.tp->writev(&b->conn, iov, cnt);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            char why[600];
            conn_error(b, n, why, sizeof(why));
            broker_fail(cl, b, ST_ERR_TRANSPORT, "write failed: %s", why);
            return;
        }
        size_t left = (size_t)n;
        while (left > 0 && b->sendq_head) {
            st_req_t *req = b->sendq_head;
            size_t take = req->total - req->written;
            if (take > left)
                take = left;
            req->written += take;
            left -= take;
            if (req->written < req->total)
                break;
            q_pop(&b->sendq_head, &b->sendq_tail);
            if (req->no_response) {
                req_complete(cl, req, 0, NULL, NULL);
                if (b->gen != gen)
                    return;
            } else {
                q_push(&b->waitq_head, &b->waitq_tail, req);
                b->n_waitq++;
            }
        }
    }
    if (b->gen == gen)
        broker_update_events(cl, b);
}

/* ---- timers and the any-broker queue ------------------------------------------------------ */

static void fail_anyq_req(st_client_t *cl, st_req_t *req, int err, const char *what)
{
    char msg[1024];
    size_t off = (size_t)snprintf(msg, sizeof(msg), "%s", what);
    const char *sep = ": ";
    for (size_t i = 0; i < cl->n_brokers && off < sizeof(msg); i++) {
        const st_broker_t *b = cl->brokers[i];
        if (!b->last_fail_ms)
            continue;
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cl->brokers[j]->addr, b->addr) == 0 && cl->brokers[j]->last_fail_ms)
                dup = true;
        if (dup)
            continue;
        off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s (%s)", sep, b->addr,
                                b->last_error);
        sep = ", ";
    }
    req_complete(cl, req, err, msg, NULL);
}

static void service_anyq(st_client_t *cl, int64_t now)
{
    if (!cl->anyq_head)
        return;
    st_broker_t *best = NULL;
    bool connecting = false;
    for (size_t i = 0; i < cl->n_brokers; i++) {
        st_broker_t *b = cl->brokers[i];
        if (b->dedicated)
            continue;
        if (b->state == ST_BS_UP) {
            if (!best || (best->node_id < 0 && b->node_id >= 0) ||
                ((best->node_id < 0) == (b->node_id < 0) && b->n_waitq < best->n_waitq))
                best = b;
        } else if (b->state != ST_BS_DOWN) {
            connecting = true;
        }
    }
    if (best) {
        st_req_t *req;
        while ((req = q_pop(&cl->anyq_head, &cl->anyq_tail)))
            broker_enqueue(cl, best, req);
        return;
    }
    if (connecting)
        return;
    /* Fail the requests every broker has failed for since they were queued. */
    st_req_t *prev = NULL, *req = cl->anyq_head;
    while (req) {
        st_req_t *next = req->next;
        bool all_failed = cl->n_brokers > 0;
        for (size_t i = 0; i < cl->n_brokers && all_failed; i++)
            if (!cl->brokers[i]->dedicated && cl->brokers[i]->fail_seq <= req->any_seq)
                all_failed = false;
        if (all_failed) {
            q_remove(&cl->anyq_head, &cl->anyq_tail, req, prev);
            fail_anyq_req(cl, req, ST_ERR_TRANSPORT, "cannot reach any broker");
        } else {
            prev = req;
        }
        req = next;
    }
    if (!cl->anyq_head)
        return;
    /* Connect to the next candidate that has not failed since the oldest request was queued. */
    uint64_t seq = cl->anyq_head->any_seq;
    for (size_t i = 0; i < cl->n_brokers; i++) {
        size_t idx = (cl->next_candidate + i) % cl->n_brokers;
        st_broker_t *b = cl->brokers[idx];
        if (!b->dedicated && b->state == ST_BS_DOWN && b->fail_seq <= seq &&
            b->reconnect_at_ms <= now) {
            cl->next_candidate = idx + 1;
            broker_connect(cl, b);
            return;
        }
    }
}

static void check_timeouts(st_client_t *cl, int64_t now)
{
    for (size_t i = 0; i < cl->n_brokers; i++) {
        st_broker_t *b = cl->brokers[i];
        if (b->state != ST_BS_DOWN && b->state != ST_BS_UP &&
            now - b->state_since_ms >= cl->conf.socket_connection_setup_timeout_ms) {
            broker_fail(cl, b, ST_ERR_TRANSPORT, "connection setup timed out after %d ms",
                        cl->conf.socket_connection_setup_timeout_ms);
            continue;
        }
        for (st_req_t *req = b->waitq_head; req; req = req->next) {
            if (req->deadline_ms <= now) {
                broker_fail(cl, b, ST_ERR_REQUEST_TIMED_OUT, "%s request timed out after %" PRId64 " ms",
                            api_name(req->api_key), now - req->enq_ms);
                break;
            }
        }
        if (b->state == ST_BS_DOWN && b->sendq_head && b->reconnect_at_ms <= now)
            broker_connect(cl, b);
        st_req_t *prev = NULL, *req = b->sendq_head;
        while (req) {
            st_req_t *next = req->next;
            if (req->deadline_ms <= now && req->written == 0) {
                q_remove(&b->sendq_head, &b->sendq_tail, req, prev);
                char msg[1024];
                snprintf(msg, sizeof(msg), "broker %s: %s request not sent within %" PRId64 " ms%s%s",
                         b->addr, api_name(req->api_key), now - req->enq_ms,
                         b->last_fail_ms ? ": " : "", b->last_fail_ms ? b->last_error : "");
                req_complete(cl, req, ST_ERR_REQUEST_TIMED_OUT, msg, NULL);
            } else {
                prev = req;
            }
            req = next;
        }
    }
    st_req_t *prev = NULL, *req = cl->anyq_head;
    while (req) {
        st_req_t *next = req->next;
        if (req->deadline_ms <= now) {
            q_remove(&cl->anyq_head, &cl->anyq_tail, req, prev);
            fail_anyq_req(cl, req, ST_ERR_TIMED_OUT, "timed out waiting for a broker connection");
        } else {
            prev = req;
        }
        req = next;
    }
}

static int64_t next_timer(st_client_t *cl, int64_t now)
{
    int64_t next = now + IDLE_WAKEUP_MS;
    if (cl->role && cl->role->next_wakeup) {
        int64_t t = cl->role->next_wakeup(cl, now);
        if (t < next)
            next = t;
    }
    for (size_t i = 0; i < cl->n_brokers; i++) {
        const st_broker_t *b = cl->brokers[i];
        if (b->state == ST_BS_DOWN && (b->sendq_head || (cl->anyq_head && !b->dedicated)) &&
            b->reconnect_at_ms < next)
            next = b->reconnect_at_ms;
    }
    return next;
}

/* ---- the I/O thread ----------------------------------------------------------------------- */

static void handle_event(st_client_t *cl, st_broker_t *b, uint32_t events)
{
    uint64_t gen = b->gen;
    switch (b->state) {
    case ST_BS_DOWN:
        return;
    case ST_BS_CONNECTING: {
        int r = b->conn.tp->finish_connect(&b->conn);
        if (r < 0) {
            broker_fail(cl, b, ST_ERR_TRANSPORT, "%s", strerror(-r));
            return;
        }
        b->state = ST_BS_HANDSHAKE;
        broker_handshake(cl, b);
        return;
    }
    case ST_BS_HANDSHAKE:
        broker_handshake(cl, b);
        return;
    case ST_BS_APIVERSIONS:
    case ST_BS_UP:
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            broker_read(cl, b);
        if (b->gen == gen && (events & EPOLLOUT))
            broker_write(cl, b);
        return;
    }
}

static void *io_main(void *arg)
{
    st_client_t *cl = arg;
    struct epoll_event evs[64];
    while (!atomic_load(&cl->stop)) {
        int64_t now = st_client_now_ms();
        int64_t next = next_timer(cl, now);
        int timeout = next <= now ? 0 : (int)(next - now);
        int n = epoll_wait(cl->epfd, evs, 64, timeout);
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                atomic_store(&cl->wake_pending, 0);
                uint64_t v;
                ssize_t r = read(cl->evfd, &v, sizeof(v));
                (void)r;
                continue;
            }
            handle_event(cl, evs[i].data.ptr, evs[i].events);
        }
        now = st_client_now_ms();
        pthread_mutex_lock(&cl->lock);
        st_req_t *list = cl->submit_head;
        cl->submit_head = cl->submit_tail = NULL;
        pthread_mutex_unlock(&cl->lock);
        while (list) {
            st_req_t *req = list;
            list = req->next;
            req->next = NULL;
            st_client_send(cl, req);
        }
        st_client_md_tick(cl, now);
        if (cl->role && cl->role->tick)
            cl->role->tick(cl, now);
        service_anyq(cl, now);
        check_timeouts(cl, now);
        for (size_t i = 0; i < cl->n_brokers; i++) {
            st_broker_t *b = cl->brokers[i];
            if (b->dirty)
                broker_write(cl, b);
            assert(broker_check(b));
        }
        if (cl->role && cl->role->after_io)
            cl->role->after_io(cl);
    }
    return NULL;
}

/* ---- synchronous calls -------------------------------------------------------------------- */

typedef struct call_wait {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
    int err;
    char errstr[1024];
    st_rframe_t resp;
} call_wait_t;

static void call_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    (void)cl;
    call_wait_t *w = req->arg;
    pthread_mutex_lock(&w->mu);
    w->err = err;
    snprintf(w->errstr, sizeof(w->errstr), "%s", errstr);
    if (resp) {
        w->resp = *resp;
        resp->buf = NULL;
    }
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

int st_client_call(st_client_t *cl, int32_t target, int32_t api_key, const ProtobufCMessage *body,
                   int timeout_ms, st_rframe_t *ret_resp, char *errstr, size_t errstr_size)
{
    assert(!st_client_on_io_thread(cl));
    call_wait_t w = { .done = false };
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cond, NULL);
    st_req_t *req = st_req_new(cl, api_key, body, 0, target, timeout_ms, call_cb, &w);
    if (!req) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    st_client_submit(cl, req);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cond);
    if (w.err) {
        st_client_errstr(errstr, errstr_size, "%s", w.errstr);
        st_client_frame_release(cl, &w.resp);
        return w.err;
    }
    if (!w.resp.buf) {
        st_client_errstr(errstr, errstr_size, "no response");
        return ST_ERR_BAD_RESPONSE;
    }
    *ret_resp = w.resp;
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

int st_client_init(st_client_t *cl, const strand_conf_t *conf, const st_client_role_t *role,
                   void *role_arg, char *errstr, size_t errstr_size)
{
    memset(cl, 0, sizeof(*cl));
    cl->epfd = cl->evfd = -1;
    if (!conf) {
        st_client_errstr(errstr, errstr_size, "no configuration given");
        return ST_ERR_INVALID_ARG;
    }
    bool no_bootstrap = role && role->no_bootstrap;
    int err = no_bootstrap && (!conf->props.bootstrap_servers || !*conf->props.bootstrap_servers)
                  ? 0 : st_client_conf_check(&conf->props, errstr, errstr_size);
    if (err)
        return err;
    strand_conf_t *copy = strand_conf_dup(conf);
    if (!copy) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    cl->conf = copy->props;
    cl->delivery_cb = copy->delivery_cb;
    cl->delivery_opaque = copy->delivery_opaque;
    cl->log_cb = copy->log_cb;
    cl->log_opaque = copy->log_opaque;
    free(copy);
    cl->tp = st_transport_find(cl->conf.security_protocol);
    if (!cl->tp) {
        st_client_errstr(errstr, errstr_size, "security.protocol=%s: transport not available",
                         cl->conf.security_protocol);
        st_cfg_free(st_client_conf_table, &cl->conf);
        return ST_ERR_INVALID_CONFIG;
    }
    if (cl->tp->ctx_new) {
        /* SSL: certificates and keys are loaded once, here, so a bad file fails at once. */
        int r = cl->tp->ctx_new(&cl->conf, &cl->tp_ctx, errstr ? errstr : (char[1]){ 0 },
                                errstr ? errstr_size : 1);
        if (r < 0) {
            st_cfg_free(st_client_conf_table, &cl->conf);
            return ST_ERR_INVALID_CONFIG;
        }
    }
    cl->acks = st_client_conf_acks(&cl->conf);
    cl->role = role;
    cl->role_arg = role_arg;
    cl->md_auto_create = role && role->auto_create_topics;
    cl->controller_id = -1;
    atomic_init(&cl->next_corr_id, 1);
    pthread_mutex_init(&cl->lock, NULL);
    pthread_mutex_init(&cl->pool_lock, NULL);
    pthread_mutex_init(&cl->log_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cl->md_cond, &ca);
    pthread_condattr_destroy(&ca);

    st_hostport_t *boot = NULL;
    size_t n_boot = 0;
    if (!(no_bootstrap && (!cl->conf.bootstrap_servers || !*cl->conf.bootstrap_servers)) &&
        st_client_parse_bootstrap(cl->conf.bootstrap_servers, &boot, &n_boot, errstr,
                                  errstr_size) < 0) {
        st_client_destroy(cl);
        return ST_ERR_INVALID_CONFIG;
    }
    for (size_t i = 0; i < n_boot; i++) {
        if (!broker_add(cl, -1 - (int32_t)i, boot[i].host, boot[i].port)) {
            free(boot);
            st_client_errstr(errstr, errstr_size, "out of memory");
            st_client_destroy(cl);
            return ST_ERR_INVALID_ARG;
        }
    }
    free(boot);
    cl->epfd = epoll_create1(EPOLL_CLOEXEC);
    cl->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cl->epfd < 0 || cl->evfd < 0) {
        st_client_errstr(errstr, errstr_size, "cannot create epoll/eventfd: %s", strerror(errno));
        st_client_destroy(cl);
        return ST_ERR_INVALID_ARG;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(cl->epfd, EPOLL_CTL_ADD, cl->evfd, &ev);
    if (pthread_create(&cl->thread, NULL, io_main, cl) != 0) {
        st_client_errstr(errstr, errstr_size, "cannot start the I/O thread");
        st_client_destroy(cl);
        return ST_ERR_INVALID_ARG;
    }
    cl->thread_started = true;
    if (no_bootstrap) {
        atomic_store(&cl->ready, true);
        return 0;
    }

    /* Bootstrap: wait for the first metadata response (or for every broker to fail). */
    pthread_mutex_lock(&cl->lock);
    cl->md_last_err = 0;
    pthread_mutex_unlock(&cl->lock);
    st_client_md_refresh(cl);
    pthread_mutex_lock(&cl->lock);
    while (cl->md_version == 0 && cl->md_last_err == 0)
        pthread_cond_wait(&cl->md_cond, &cl->lock);
    err = cl->md_version == 0 ? cl->md_last_err : 0;
    if (err)
        st_client_errstr(errstr, errstr_size, "%s", cl->md_last_errstr);
    pthread_mutex_unlock(&cl->lock);
    if (err) {
        st_client_stop(cl);
        st_client_destroy(cl);
        return err;
    }
    atomic_store(&cl->ready, true);
    return 0;
}

void st_client_stop(st_client_t *cl)
{
    if (cl->thread_started) {
        atomic_store(&cl->stop, true);
        st_client_wake(cl);
        pthread_join(cl->thread, NULL);
        cl->thread_started = false;
    }
    /* Fail everything still queued, on this thread. */
    pthread_mutex_lock(&cl->lock);
    st_req_t *list = cl->submit_head;
    cl->submit_head = cl->submit_tail = NULL;
    pthread_mutex_unlock(&cl->lock);
    while (list) {
        st_req_t *req = list;
        list = req->next;
        req_complete(cl, req, ST_ERR_DESTROYED, "client destroyed", NULL);
    }
    while ((list = q_pop(&cl->anyq_head, &cl->anyq_tail)))
        req_complete(cl, list, ST_ERR_DESTROYED, "client destroyed", NULL);
    for (size_t i = 0; i < cl->n_brokers; i++) {
        st_broker_t *b = cl->brokers[i];
        if (b->state != ST_BS_DOWN)
            b->conn.tp->close(&b->conn);
        b->conn.fd = -1;
        b->state = ST_BS_DOWN;
        b->gen++;
        st_req_t *req;
        while ((req = q_pop(&b->waitq_head, &b->waitq_tail)))
            req_complete(cl, req, ST_ERR_DESTROYED, "client destroyed", NULL);
        while ((req = q_pop(&b->sendq_head, &b->sendq_tail)))
            req_complete(cl, req, ST_ERR_DESTROYED, "client destroyed", NULL);
    }
}

void st_client_destroy(st_client_t *cl)
{
    for (size_t i = 0; i < cl->n_brokers; i++) {
        st_broker_t *b = cl->brokers[i];
        if (b->conn.fd >= 0)
            close(b->conn.fd);
        st_client_frame_release(cl, &b->rframe);
        free(b->rbuf);
        free(b);
    }
    free(cl->brokers);
    cl->brokers = NULL;
    cl->n_brokers = 0;
    st_client_md_free(cl);
    for (int i = 0; i < cl->n_pool; i++)
        free(cl->pool[i]);
    cl->n_pool = 0;
    if (cl->epfd >= 0)
        close(cl->epfd);
    if (cl->evfd >= 0)
        close(cl->evfd);
    cl->epfd = cl->evfd = -1;
    pthread_mutex_destroy(&cl->lock);
    pthread_mutex_destroy(&cl->pool_lock);
    pthread_mutex_destroy(&cl->log_lock);
    pthread_cond_destroy(&cl->md_cond);
    if (cl->tp && cl->tp->ctx_free)
        cl->tp->ctx_free(cl->tp_ctx);
    cl->tp_ctx = NULL;
    st_cfg_free(st_client_conf_table, &cl->conf);
}
