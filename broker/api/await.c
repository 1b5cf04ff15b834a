/* Requests answered by another thread (see await.h).
 *
 * States: WAITING (parked, no answer yet) -> ANSWERED (worker stored the packed body; the loop
 * is woken) -> SENT (the loop queued it); or WAITING -> EXPIRED (the loop sent the `expired`
 * body; a later answer is dropped); or any -> ABORTED (the connection closed). The packed
 * bodies are decoded into the connection's arena on the loop thread and queued like any
 * response (one extra decode of a small message, in exchange for no shared protobuf memory
 * between threads). */
#include "await.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "delayed.h"
#include "net.h"

struct st_await {
    st_delayed_t op;                 /* first member (delayed.h) */
    st_request_t req;                /* header fields; body/tail not valid once parked */
    st_net_t *net;
    int loop;
    atomic_int refs;
    atomic_bool answered;
    uint8_t *answer;                 /* packed body from the worker */
    size_t answer_len;
    uint8_t *expired;                /* packed body for expiry */
    size_t expired_len;
    const ProtobufCMessageDescriptor *desc;   /* the response type */
    st_await_finish_fn *finish;
};

static void await_unref(st_await_t *aw)
{
    if (atomic_fetch_sub(&aw->refs, 1) != 1)
        return;
    free(aw->answer);
    free(aw->expired);
    free(aw);
}

static uint8_t *pack(const ProtobufCMessage *msg, size_t *ret_len)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf)
        protobuf_c_message_pack(msg, buf);
    *ret_len = len;
    return buf;
}

/* Sends packed bytes as the response body: unpacked into the arena with the message type's
 * descriptor and queued like any response. */
static int respond_packed(st_await_t *aw, const ProtobufCMessageDescriptor *desc,
                          const uint8_t *body, size_t len)
{
    st_request_t *req = &aw->req;
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &req->arena->pb, len, body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "internal error: an answer does not decode");
    if (aw->finish)
        aw->finish(req, msg);
    int r = st_request_respond(req, msg, NULL, 0);
    return r < 0 ? r : 1;
}

static int await_try_complete(st_delayed_t *op)
{
    st_await_t *aw = (st_await_t *)op;
    if (!atomic_load(&aw->answered))
        return 0;
    int r = aw->answer ? respond_packed(aw, aw->desc, aw->answer, aw->answer_len)
                       : st_reply_fatal(aw->req.conn, &aw->req, "out of memory");
    await_unref(aw);
    return r;
}

static int await_on_expire(st_delayed_t *op)
{
    st_await_t *aw = (st_await_t *)op;
    if (atomic_load(&aw->answered))
        return await_try_complete(op);
    int r = respond_packed(aw, aw->desc, aw->expired, aw->expired_len);
    await_unref(aw);
    return r;
}

static void await_abort(st_delayed_t *op)
{
    await_unref((st_await_t *)op);
}

static const st_delayed_ops_t await_ops = {
    .name = "await",
    .try_complete = await_try_complete,
    .on_expire = await_on_expire,
    .abort = await_abort,
};

st_await_t *st_await_park(st_request_t *req, int32_t wait_ms, const ProtobufCMessage *expired,
                          st_await_finish_fn *finish)
{
    st_await_t *aw = calloc(1, sizeof(*aw));
    if (!aw)
        return NULL;
    aw->expired = pack(expired, &aw->expired_len);
    if (!aw->expired) {
        free(aw);
        return NULL;
    }
    aw->desc = expired->descriptor;
    aw->finish = finish;
    aw->op.ops = &await_ops;
    aw->req = *req;
    aw->req.body = NULL;
    aw->req.tail = NULL;
    aw->net = req->broker->net;
    aw->loop = st_conn_loop(req->conn)->index;
    atomic_init(&aw->refs, 2);
    atomic_init(&aw->answered, false);
    st_conn_park(req->conn, &aw->op, wait_ms > 0 ? wait_ms : 1);
    return aw;
}

void st_await_done(st_await_t *aw, const ProtobufCMessage *resp)
{
    aw->answer = pack(resp, &aw->answer_len);
    atomic_store(&aw->answered, true);
    st_net_wake_loop(aw->net, aw->loop);
    await_unref(aw);
}

void st_await_cancel(st_await_t *aw)
{
    await_unref(aw);
}
