/* A request answered by another thread (a delayed operation kind, see delayed.h): the handler
 * parks the request with st_await_park and hands the returned st_await_t to whoever does the
 * work -- the controller's node thread (ElectLeaders, ControlledShutdown, AlterIsr), the topic
 * admin thread (CreateTopics, DeleteTopics, CreatePartitions through ZooKeeper). That thread
 * calls st_await_done with the encoded response body once; the connection's loop is woken and
 * sends it. If the wait expires first, the loop answers with the `expired` body the handler
 * gave (e.g. REQUEST_TIMED_OUT); the late st_await_done is then dropped harmlessly.
 *
 * Ownership: the st_await_t is shared by the loop and the worker (two references); each side
 * drops its own: the worker by calling st_await_done (exactly once, also on failure: pass the
 * error response), the loop when the operation completes, expires or is aborted.
 *
 * Threads: st_await_park on the request's loop thread; st_await_done from any thread. */
#ifndef ST_AWAIT_H
#define ST_AWAIT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "request.h"

typedef struct st_await st_await_t;

/* Called on the loop thread with the decoded answer just before it is sent: the place to pass
 * the answer's error codes through the one error path (st_reply_error), which must not run on
 * the worker (it names the connection). May be NULL. */
typedef void st_await_finish_fn(st_request_t *req, ProtobufCMessage *resp);

/* Parks req for up to wait_ms. `expired` is the response to send if the worker has not answered
 * by then (packed now; may be the same type with an error code). NULL when out of memory (the
 * caller answers with an error itself; nothing is parked). */
st_await_t *st_await_park(st_request_t *req, int32_t wait_ms, const ProtobufCMessage *expired,
                          st_await_finish_fn *finish);
/* The worker's answer (packed here; resp may be freed on return). Drops the worker's reference:
 * aw must not be used afterwards. */
void st_await_done(st_await_t *aw, const ProtobufCMessage *resp);

/* The worker gives up without answering (it is stopping): drops its reference; the parked
 * request is answered with its `expired` body when its wait ends. */
void st_await_cancel(st_await_t *aw);

#endif
