/* Client connections: per-connection read buffer and frame parsing, in-order dispatch of
 * pipelined requests, the response write queue (memory chunks + sendfile slices), parking of
 * delayed operations (delayed.h: fetch long-poll, acks=all, controller requests -- this file
 * never knows which kind), idle closing and the graceful stop. Runs on the connection's loop
 * thread.
 *
 * State and invariants (check_conn() asserts them at every transition):
 *   C1. rstart <= rend <= rcap; bytes [rstart, rend) of rbuf are received, unhandled input.
 *   C2. chunks[chunk_head, n_chunks) is the unsent output in order; out_bytes is the sum of
 *       their lengths; MEM chunks lie inside obuf and never overlap; no FILE chunk is empty.
 *   C3. parked != NULL  <=>  the connection is on loop->parked; while parked no frame is
 *       dispatched and the arena is not reset (the parked operation lives in it).
 *   C4. the read event is added iff the connection wants input and the read side waits for
 *       readability (or the write side waits for readability); likewise for the write event.
 *   C5. while parked, bytes [0, rend) of rbuf are neither moved nor overwritten (the parked
 *       request may still point into them): input that arrives meanwhile is only appended at
 *       rend, and rbuf is never compacted, grown or shrunk.
 *
 *   paused = parked || out_bytes > OUT_HIGH_WATER || loop->stopping: no frames are dispatched
 *   while paused, so a slow reader or a long poll applies backpressure through TCP instead of
 *   buffering. No input is read while paused either, with one exception: a parked connection
 *   (not stopping) keeps reading into the free tail of rbuf (C5), so that a peer that hangs up
 *   during a long poll is seen at once (read returns 0: the connection is closed and its parked
 *   operation aborted) instead of holding its fd in CLOSE_WAIT until the wait ends. Once that
 *   tail is full the connection stops reading (TCP backpressure again) and the idle sweep asks
 *   the kernel (TCP_INFO) whether the peer has closed.
 *
 * Only top-level callbacks (on_event, on_park_timer, the loop's recheck/sweep/stop) close a
 * connection; inner functions return a negative value instead, so nothing below them ever
 * touches a freed connection. */
#include "conn.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "request.h"
#include "st_buf.h"
#include "st_frame.h"
#include "st_logger.h"
#include "strand.pb-c.h"

#define RBUF_DEFAULT     (256 * 1024)
#define OUT_HIGH_WATER   (4 * 1024 * 1024)
#define OBUF_COMPACT_MIN (1024 * 1024)
#define READS_PER_EVENT  16
#define ARENA_BLOCK      (64 * 1024)

typedef enum wait_on { WAIT_NONE = 0, WAIT_READABLE, WAIT_WRITABLE } wait_on_t;

typedef struct out_chunk {
    bool is_file;
    size_t off;               /* MEM: offset of the unsent bytes in obuf */
    size_t len;               /* unsent bytes */
    st_log_slice_t slice;     /* FILE: slice.pos advances as bytes go out */
} out_chunk_t;

struct st_conn {
    st_loop_t *loop;
    st_listener_t *listener;
    st_transport_conn_t *tr;
    struct event *ev_read, *ev_write, *ev_timer;
    bool ev_read_added, ev_write_added;
    bool kick;                /* an activation of ev_read is owed (budget spent, un-paused):
                               * event_del cancels pending activations, so update_events
                               * re-activates while this is set; on_event clears it */
    bool handshaking;
    wait_on_t read_wait;      /* what the read side (or handshake) waits for */
    wait_on_t write_wait;     /* what the write side waits for */
    /* input */
    uint8_t *rbuf;
    size_t rcap, rstart, rend;
    /* output */
    st_buf_t obuf;
    out_chunk_t *chunks;
    size_t n_chunks, cap_chunks, chunk_head;
    size_t out_bytes;
    /* requests */
    st_arena_t arena;
    st_delayed_t *parked;
    uint64_t park_gen;
    int64_t last_active_ms;
    st_quota_addr_t addr;     /* its connection-quota key: the slot is given back on close */
    char client_id[64];
    TAILQ_ENTRY(st_conn) link;
    TAILQ_ENTRY(st_conn) park_link;
};

static void on_event(evutil_socket_t fd, short what, void *arg);
static void on_park_timer(evutil_socket_t fd, short what, void *arg);

static void check_conn(const st_conn_t *c)
{
    assert(c->rstart <= c->rend && c->rend <= c->rcap);                             /* C1 */
    size_t sum = 0;
    for (size_t i = c->chunk_head; i < c->n_chunks; i++) {                          /* C2 */
        const out_chunk_t *ch = &c->chunks[i];
        if (ch->is_file)
            assert(ch->len > 0);
        else
            assert(ch->off + ch->len <= c->obuf.len);
        sum += ch->len;
    }
    assert(sum == c->out_bytes);
    (void)sum;
}

const char *st_conn_peer(const st_conn_t *c) { return st_transport_peer(c->tr); }
const char *st_conn_client_id(const st_conn_t *c) { return c->client_id; }
const char *st_conn_principal(const st_conn_t *c) { return st_transport_principal(c->tr); }
st_arena_t *st_conn_arena(st_conn_t *c) { return &c->arena; }
st_loop_t *st_conn_loop(const st_conn_t *c) { return c->loop; }
const st_listener_t *st_conn_listener(const st_conn_t *c) { return c->listener; }

void st_conn_set_client_id(st_conn_t *c, const char *client_id)
{
    if (strncmp(c->client_id, client_id, sizeof(c->client_id)) != 0)
        snprintf(c->client_id, sizeof(c->client_id), "%s", client_id);
}

static bool paused(const st_conn_t *c)
{
    return c->parked || c->out_bytes > OUT_HIGH_WATER || c->loop->stopping;
}

/* A parked connection reads on into the free tail of rbuf, only to see a hang-up early (C5). */
static bool reads_while_parked(const st_conn_t *c)
{
    return c->parked && !c->loop->stopping && c->rend < c->rcap;
}

static bool wants_input(const st_conn_t *c)
{
    return c->handshaking || !paused(c) || reads_while_parked(c);
}

/* C4: adds or removes the two events to match what the sides wait for. */
static void update_events(st_conn_t *c)
{
    bool in = wants_input(c);
    bool out = c->out_bytes > 0 || c->handshaking;
    bool need_read = (in && c->read_wait == WAIT_READABLE) || (out && c->write_wait == WAIT_READABLE);
    bool need_write = (in && c->read_wait == WAIT_WRITABLE) || (out && c->write_wait == WAIT_WRITABLE);
    if (need_read != c->ev_read_added) {
        if (need_read)
            event_add(c->ev_read, NULL);
        else
            event_del(c->ev_read);
        c->ev_read_added = need_read;
    }
    if (c->kick)
        event_active(c->ev_read, EV_READ, 0);
    if (need_write != c->ev_write_added) {
        if (need_write)
            event_add(c->ev_write, NULL);
        else
            event_del(c->ev_write);
        c->ev_write_added = need_write;
    }
}

static void release_output(st_conn_t *c)
{
    for (size_t i = c->chunk_head; i < c->n_chunks; i++)
        if (c->chunks[i].is_file)
            st_log_slice_release(&c->chunks[i].slice);
    c->chunk_head = c->n_chunks = 0;
    c->out_bytes = 0;
}

static void unpark(st_conn_t *c)
{
    assert(c->parked);
    TAILQ_REMOVE(&c->loop->parked, c, park_link);
    c->parked = NULL;
    if (c->ev_timer)
        evtimer_del(c->ev_timer);
}

/* Frees everything. Top-level callers only. A non-NULL fmt is logged at `level`. */
static void conn_close(st_conn_t *c, st_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_close(st_conn_t *c, st_level_t level, const char *fmt, ...)
{
    if (fmt && level >= st_logger_level()) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        st_logger_write(level, "Closing connection from %s (client '%s'): %s", st_conn_peer(c),
                        c->client_id, msg);
    }
    if (c->parked) {
        st_delayed_t *op = c->parked;
        unpark(c);
        op->ops->abort(op);
    }
    TAILQ_REMOVE(&c->loop->conns, c, link);
    c->loop->n_conns--;
    if (c->ev_read)
        event_free(c->ev_read);
    if (c->ev_write)
        event_free(c->ev_write);
    if (c->ev_timer)
        event_free(c->ev_timer);
    release_output(c);
    st_buf_free(&c->obuf);
    free(c->chunks);
    free(c->rbuf);
    st_arena_destroy(&c->arena);
    st_transport_close(c->tr);
    st_conn_quota_release(c->loop->net->quota, &c->addr);
    free(c);
}

void st_conn_accept(st_loop_t *loop, const st_incoming_t *in)
{
    st_listener_t *listener = in->listener;
    int fd = in->fd;
    const char *peer = in->peer;
    st_conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        ST_ERROR("Out of memory accepting a connection from %s", peer);
        st_net_drop_incoming(loop->net, in);
        return;
    }
    c->tr = listener->tp->accept(fd, peer, listener->tp_ctx);
    if (!c->tr) {
        ST_ERROR("Cannot set up the %s transport for %s: %s", listener->cfg.name, peer,
                 strerror(errno));
        st_net_drop_incoming(loop->net, in);
        free(c);
        return;
    }
    c->addr = in->addr;
    c->loop = loop;
    c->listener = listener;
    c->rcap = RBUF_DEFAULT;
    c->rbuf = malloc(c->rcap);
    c->ev_read = event_new(loop->base, fd, EV_READ | EV_PERSIST, on_event, c);
    c->ev_write = event_new(loop->base, fd, EV_WRITE | EV_PERSIST, on_event, c);
    st_arena_init(&c->arena, ARENA_BLOCK);
    c->handshaking = true;
    c->read_wait = WAIT_NONE;
    c->write_wait = WAIT_NONE;
    c->last_active_ms = st_now_ms();
    TAILQ_INSERT_TAIL(&loop->conns, c, link);
    loop->n_conns++;
    if (!c->rbuf || !c->ev_read || !c->ev_write) {
        conn_close(c, ST_LEVEL_ERROR, "out of memory");
        return;
    }
    ST_DEBUG("Accepted %s connection from %s on loop %d", listener->cfg.name, peer, loop->index);
    /* Start the handshake (plain: completes at once) on the next loop iteration. */
    event_active(c->ev_read, EV_READ, 0);
}

/* ---- output ------------------------------------------------------------------------------ */

static int push_chunk(st_conn_t *c, const out_chunk_t *ch)
{
    if (c->n_chunks == c->cap_chunks) {
        if (c->chunk_head > 0) {
            memmove(c->chunks, c->chunks + c->chunk_head,
                    (c->n_chunks - c->chunk_head) * sizeof(out_chunk_t));
            c->n_chunks -= c->chunk_head;
            c->chunk_head = 0;
        } else {
            size_t ncap = c->cap_chunks ? c->cap_chunks * 2 : 16;
            out_chunk_t *n = realloc(c->chunks, ncap * sizeof(*n));
            if (!n)
                return -ENOMEM;
            c->chunks = n;
            c->cap_chunks = ncap;
        }
    }
    c->chunks[c->n_chunks++] = *ch;
    c->out_bytes += ch->len;
    return 0;
}

int st_conn_queue_response(st_conn_t *c, int32_t correlation_id, const ProtobufCMessage *body,
                           st_log_slice_t *slices, size_t n_slices)
{
    Strand__ResponseHeader hdr = STRAND__RESPONSE_HEADER__INIT;
    hdr.correlation_id = correlation_id;
    size_t tail = 0;
    for (size_t i = 0; i < n_slices; i++)
        tail += slices[i].len;
    size_t start = c->obuf.len;
    int r = st_frame_encode(&c->obuf, &hdr.base, body, tail);
    size_t i = 0;
    if (r == 0) {
        out_chunk_t *last = c->n_chunks > c->chunk_head ? &c->chunks[c->n_chunks - 1] : NULL;
        if (last && !last->is_file && last->off + last->len == start) {
            last->len += c->obuf.len - start;
            c->out_bytes += c->obuf.len - start;
        } else {
            out_chunk_t ch = { .is_file = false, .off = start, .len = c->obuf.len - start };
            r = push_chunk(c, &ch);
        }
        for (; r == 0 && i < n_slices; i++) {
            if (slices[i].len == 0) {
                st_log_slice_release(&slices[i]);
                continue;
            }
            out_chunk_t ch = { .is_file = true, .len = slices[i].len, .slice = slices[i] };
            r = push_chunk(c, &ch);
            if (r < 0)
                break;
        }
    }
    if (r < 0) {
        /* The frame may be half queued: the connection cannot continue. */
        for (; i < n_slices; i++)
            st_log_slice_release(&slices[i]);
        return r;
    }
    check_conn(c);
    return 0;
}

/* Compacts obuf once its sent prefix is large. */
static void compact_output(st_conn_t *c)
{
    if (c->chunk_head == c->n_chunks) {
        c->chunk_head = c->n_chunks = 0;
        c->obuf.len = 0;
        return;
    }
    size_t first = SIZE_MAX;
    for (size_t i = c->chunk_head; i < c->n_chunks; i++) {
        if (!c->chunks[i].is_file) {
            first = c->chunks[i].off;
            break;
        }
    }
    if (first == SIZE_MAX)
        first = c->obuf.len;
    if (first >= OBUF_COMPACT_MIN && first > c->obuf.len / 2) {
        memmove(c->obuf.data, c->obuf.data + first, c->obuf.len - first);
        c->obuf.len -= first;
        for (size_t i = c->chunk_head; i < c->n_chunks; i++)
            if (!c->chunks[i].is_file)
                c->chunks[i].off -= first;
    }
}

/* Writes as much as the socket takes. 0, or -errno (close). */
static int flush_output(st_conn_t *c)
{
    while (c->chunk_head < c->n_chunks) {
        out_chunk_t *ch = &c->chunks[c->chunk_head];
        ssize_t n;
        if (!ch->is_file) {
            struct iovec iov = { c->obuf.data + ch->off, ch->len };
            bool more = c->chunk_head + 1 < c->n_chunks;
            n = st_transport_writev(c->tr, &iov, 1, more ? ST_TRANSPORT_MORE : 0);
        } else {
            n = st_transport_sendfile(c->tr, ch->slice.fd, &ch->slice.pos, ch->len);
        }
        if (n == ST_TRANSPORT_WANT_WRITE || n == ST_TRANSPORT_WANT_READ) {
            c->write_wait = n == ST_TRANSPORT_WANT_WRITE ? WAIT_WRITABLE : WAIT_READABLE;
            break;
        }
        if (n < 0)
            return (int)n;
        c->write_wait = WAIT_NONE;
        c->last_active_ms = st_now_ms();
        ch->len -= (size_t)n;
        c->out_bytes -= (size_t)n;
        if (!ch->is_file)
            ch->off += (size_t)n;
        if (ch->len == 0) {
            if (ch->is_file)
                st_log_slice_release(&ch->slice);
            c->chunk_head++;
        }
    }
    compact_output(c);
    check_conn(c);
    return 0;
}

/* ---- input ------------------------------------------------------------------------------- */

/* Makes room for a whole frame of `need` bytes (prefix included) starting at rstart. */
static int reserve_frame(st_conn_t *c, size_t need)
{
    size_t have = c->rend - c->rstart;
    if (c->rcap - c->rstart >= need)
        return 0;
    if (need <= c->rcap) {
        memmove(c->rbuf, c->rbuf + c->rstart, have);
    } else {
        size_t ncap = need < 2 * c->rcap ? 2 * c->rcap : need;
        uint8_t *n = malloc(ncap);
        if (!n)
            return -ENOMEM;
        memcpy(n, c->rbuf + c->rstart, have);
        free(c->rbuf);
        c->rbuf = n;
        c->rcap = ncap;
    }
    c->rstart = 0;
    c->rend = have;
    return 0;
}

/* Dispatches every whole frame in the buffer while not paused. 0 or <0 (close, logged). */
static int process_frames(st_conn_t *c)
{
    size_t max = (size_t)c->loop->broker->cfg.socket_request_max_bytes;
    while (!paused(c)) {
        size_t avail = c->rend - c->rstart;
        int64_t size = st_frame_peek_size(c->rbuf + c->rstart, avail);
        if (size < 0)
            break;
        if ((uint64_t)size > max)
            return st_reply_fatal(c, NULL, "frame of %" PRId64 " bytes exceeds "
                                  "socket.request.max.bytes (%zu)", size, max);
        size_t total = ST_FRAME_SIZE_PREFIX + (size_t)size;
        if (avail < total) {
            /* Grow with what has arrived, not with what the prefix announces: a peer that
             * announces socket.request.max.bytes and goes quiet holds memory in proportion to
             * what it actually sent (at most about 4x, or the default buffer) until
             * connections.max.idle.ms closes it. */
            size_t want = 2 * avail > RBUF_DEFAULT ? 2 * avail : RBUF_DEFAULT;
            if (reserve_frame(c, want < total ? want : total) < 0)
                return st_reply_fatal(c, NULL, "out of memory for a frame of %zu bytes", total);
            break;
        }
        st_arena_reset(&c->arena);
        int r = st_request_dispatch(c, c->loop->broker, c->rbuf + c->rstart + ST_FRAME_SIZE_PREFIX,
                                    (size_t)size);
        c->rstart += total;
        if (r < 0)
            return r;
    }
    if (c->rstart == c->rend && !c->parked)      /* C5: never rewind under a parked request */
        c->rstart = c->rend = 0;
    check_conn(c);
    return 0;
}

/* Reads and dispatches until the transport would block, the connection pauses or the per-event
 * budget is spent (then the event is re-activated). 0, 1 = peer closed, <0 = error. */
static int read_input(st_conn_t *c)
{
    for (int i = 0; i < READS_PER_EVENT; i++) {
        if (!wants_input(c) || c->read_wait != WAIT_NONE)
            return 0;
        if (c->rend == c->rcap) {
            assert(!c->parked);                          /* C5: reads_while_parked said no */
            if (c->rstart == 0)
                return st_reply_fatal(c, NULL, "receive buffer full without a whole frame");
            memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
            c->rend -= c->rstart;
            c->rstart = 0;
        }
        ssize_t n = st_transport_read(c->tr, c->rbuf + c->rend, c->rcap - c->rend);
        if (n == ST_TRANSPORT_WANT_READ) {
            c->read_wait = WAIT_READABLE;
            return 0;
        }
        if (n == ST_TRANSPORT_WANT_WRITE) {
            c->read_wait = WAIT_WRITABLE;
            return 0;
        }
        if (n == 0)
            return 1;
        if (n < 0)
            return (int)n;
        c->rend += (size_t)n;
        c->last_active_ms = st_now_ms();
        int r = process_frames(c);
        if (r < 0)
            return r;
    }
    /* Budget spent with input possibly left (or buffered inside TLS): come back next turn. */
    c->kick = true;
    event_active(c->ev_read, EV_READ, 0);
    return 0;
}

/* Runs whatever can make progress. Top-level: may close c; returns false if it did. */
static bool conn_drive(st_conn_t *c)
{
    if (c->handshaking) {
        int r = st_transport_handshake(c->tr);
        if (r == ST_TRANSPORT_WANT_READ || r == ST_TRANSPORT_WANT_WRITE) {
            c->read_wait = r == ST_TRANSPORT_WANT_READ ? WAIT_READABLE : WAIT_WRITABLE;
            update_events(c);
            return true;
        }
        if (r < 0) {
            /* -ECONNRESET: closed before sending a byte (port probes): DEBUG is enough. */
            const char *why = st_transport_last_error(c->tr);
            conn_close(c, r == -ECONNRESET ? ST_LEVEL_DEBUG : ST_LEVEL_INFO,
                       "%s handshake failed: %s", c->listener->cfg.name, why ? why : strerror(-r));
            return false;
        }
        c->handshaking = false;
        c->read_wait = WAIT_NONE;
        ST_DEBUG("Connection from %s ready (%s, principal %s)", st_conn_peer(c),
                 c->listener->cfg.name, st_conn_principal(c));
    }
    int r = process_frames(c);              /* frames left over from a pause */
    if (r == 0)
        r = read_input(c);
    if (r == 1) {
        size_t partial = c->rend - c->rstart;
        if (c->parked)
            conn_close(c, ST_LEVEL_DEBUG, "peer closed the connection while its %s request "
                       "was waiting", c->parked->ops->name);
        else if (partial)
            conn_close(c, ST_LEVEL_INFO, "peer closed the connection in the middle of a frame "
                       "(%zu bytes of it received)", partial);
        else
            conn_close(c, ST_LEVEL_DEBUG, "peer closed the connection");
        return false;
    }
    if (r < 0) {
        if (r == -EBADMSG || r == -ECONNABORTED)
            conn_close(c, ST_LEVEL_DEBUG, NULL);   /* already logged (st_reply_fatal, acks=0) */
        else
            conn_close(c, ST_LEVEL_INFO, "read failed: %s",
                       st_transport_last_error(c->tr) ? st_transport_last_error(c->tr)
                                                      : strerror(-r));
        return false;
    }
    if (c->out_bytes > 0 && c->write_wait == WAIT_NONE) {
        bool was_paused = paused(c);
        r = flush_output(c);
        if (r < 0) {
            conn_close(c, ST_LEVEL_DEBUG, "write failed: %s",
                       st_transport_last_error(c->tr) ? st_transport_last_error(c->tr)
                                                      : strerror(-r));
            return false;
        }
        /* Draining below the high-water mark un-pauses: handle what was waiting next turn. */
        if (was_paused && !paused(c)) {
            c->kick = true;
            event_active(c->ev_read, EV_READ, 0);
        }
    }
    update_events(c);
    return true;
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    st_conn_t *c = arg;
    c->kick = false;
    if (what & EV_READ) {
        if (c->read_wait == WAIT_READABLE)
            c->read_wait = WAIT_NONE;
        if (c->write_wait == WAIT_READABLE)
            c->write_wait = WAIT_NONE;
    }
    if (what & EV_WRITE) {
        if (c->read_wait == WAIT_WRITABLE)
            c->read_wait = WAIT_NONE;
        if (c->write_wait == WAIT_WRITABLE)
            c->write_wait = WAIT_NONE;
    }
    conn_drive(c);
}

/* ---- parked (delayed) operations --------------------------------------------------------- */

void st_conn_park(st_conn_t *c, st_delayed_t *op, int32_t wait_ms)
{
    assert(!c->parked);
    assert(op && op->ops && op->ops->try_complete && op->ops->on_expire && op->ops->abort);
    if (!c->ev_timer)
        c->ev_timer = evtimer_new(c->loop->base, on_park_timer, c);
    c->parked = op;
    c->park_gen = c->loop->wake_gen;
    TAILQ_INSERT_TAIL(&c->loop->parked, c, park_link);
    struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
    if (c->ev_timer)
        evtimer_add(c->ev_timer, &tv);
}

/* Re-checks one parked operation; top-level: may close c. */
static void recheck(st_conn_t *c, bool final)
{
    st_delayed_t *op = c->parked;
    int r = final ? op->ops->on_expire(op) : op->ops->try_complete(op);
    assert(!final || r != 0);
    if (r == 0)
        return;
    unpark(c);
    if (r < 0) {
        conn_close(c, ST_LEVEL_DEBUG, NULL);
        return;
    }
    conn_drive(c);   /* send the response, then handle pipelined requests */
}

static void on_park_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    st_conn_t *c = arg;
    if (c->parked)
        recheck(c, true);
}

void st_loop_recheck_parked(st_loop_t *loop)
{
    uint64_t gen = ++loop->wake_gen;
    st_conn_t *c = TAILQ_FIRST(&loop->parked);
    while (c) {
        st_conn_t *next = TAILQ_NEXT(c, park_link);
        if (c->park_gen != gen)
            recheck(c, false);
        c = next;
    }
}

/* ---- loop-wide ---------------------------------------------------------------------------- */

/* A parked connection that can no longer read (its rbuf tail is full) cannot see EOF: asks the
 * kernel whether the peer has closed or reset its side (Linux TCP_INFO). */
static bool peer_gone(const st_conn_t *c)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    int fd = event_get_fd(c->ev_read);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return false;
    return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_CLOSE ||
           ti.tcpi_state == TCP_LAST_ACK;
}

void st_loop_idle_sweep(st_loop_t *loop, int64_t now_ms)
{
    int64_t idle_ms = loop->broker->cfg.connections_max_idle_ms;
    st_conn_t *c = TAILQ_FIRST(&loop->conns);
    while (c) {
        st_conn_t *next = TAILQ_NEXT(c, link);
        int64_t idle = now_ms - c->last_active_ms;
        if (!c->parked && c->out_bytes == 0 && idle > idle_ms) {
            conn_close(c, ST_LEVEL_INFO, "idle for %" PRId64 " ms (connections.max.idle.ms=%" PRId64 ")",
                       idle, idle_ms);
        } else if (c->parked && !reads_while_parked(c) && !c->loop->stopping && peer_gone(c)) {
            conn_close(c, ST_LEVEL_DEBUG, "peer closed the connection while its %s request was "
                       "waiting (%zu unread bytes)", c->parked->ops->name, c->rend - c->rstart);
        } else if (!c->parked && c->rstart == c->rend && c->rcap > RBUF_DEFAULT && idle > 5000) {
            /* Give back a receive buffer grown for a big frame once the connection is quiet. */
            uint8_t *n = realloc(c->rbuf, RBUF_DEFAULT);
            if (n) {
                c->rbuf = n;
                c->rcap = RBUF_DEFAULT;
                c->rstart = c->rend = 0;
            }
        }
        c = next;
    }
}

void st_loop_begin_stop(st_loop_t *loop)
{
    loop->stopping = true;
    st_conn_t *c = TAILQ_FIRST(&loop->conns);
    while (c) {
        st_conn_t *next = TAILQ_NEXT(c, link);
        if (c->parked) {
            recheck(c, true);
        } else {
            conn_drive(c);
        }
        c = next;
    }
}

bool st_loop_drained(st_loop_t *loop)
{
    st_conn_t *c;
    TAILQ_FOREACH(c, &loop->conns, link)
        if (c->out_bytes > 0 || c->parked)
            return false;
    return true;
}

void st_loop_close_all(st_loop_t *loop)
{
    st_conn_t *c;
    while ((c = TAILQ_FIRST(&loop->conns)) != NULL)
        conn_close(c, ST_LEVEL_DEBUG, c->out_bytes ? "broker shutting down (%zu bytes unsent)"
                                                   : "broker shutting down", c->out_bytes);
}
