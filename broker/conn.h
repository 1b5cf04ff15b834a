/* One client connection on one network loop: handshake, reading whole frames into one buffer,
 * dispatching them in order (requests are handled inline on the loop), and a write queue of
 * encoded responses and file slices (sent with sendfile). See conn.c for the state rules. */
#ifndef ST_CONN_H
#define ST_CONN_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "delayed.h"
#include "net.h"
#include "st_log.h"

/* Creates the connection from an accepted socket (transport from the listener's table:
 * tp->accept) and starts its handshake; the connection takes over the socket's quota slot. On
 * failure closes the fd, gives the slot back and logs. Loop thread. */
void st_conn_accept(st_loop_t *loop, const st_incoming_t *in);

/* Queues one response frame: header + body, then the slices (whose bytes make the frame's tail,
 * in order). Takes ownership of the slices, also on failure. 0 or -errno. */
int st_conn_queue_response(st_conn_t *conn, int32_t correlation_id, const ProtobufCMessage *body,
                           st_log_slice_t *slices, size_t n_slices);

const char *st_conn_peer(const st_conn_t *conn);
const char *st_conn_client_id(const st_conn_t *conn);
const char *st_conn_principal(const st_conn_t *conn);
st_arena_t *st_conn_arena(st_conn_t *conn);
st_loop_t *st_conn_loop(const st_conn_t *conn);
const st_listener_t *st_conn_listener(const st_conn_t *conn);
void st_conn_set_client_id(st_conn_t *conn, const char *client_id);

/* Parks a delayed operation (delayed.h) on the connection until its try_complete answers
 * (re-checked when the loop is woken) or wait_ms passes (on_expire). No further request of
 * this connection is handled meanwhile. */
void st_conn_park(st_conn_t *conn, st_delayed_t *op, int32_t wait_ms);

/* Loop-side entry points (net.c). */
void st_loop_recheck_parked(st_loop_t *loop);
void st_loop_idle_sweep(st_loop_t *loop, int64_t now_ms);
void st_loop_begin_stop(st_loop_t *loop);
bool st_loop_drained(st_loop_t *loop);
void st_loop_close_all(st_loop_t *loop);

#endif
