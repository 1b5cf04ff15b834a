/* The requests a broker hands to the controller it hosts: ElectLeaders (43, from admin clients),
 * ControlledShutdown (7) and AlterIsr (56) (from brokers, so only on the inter-broker listener).
 * Each is decoded on the loop thread, parked (await.h) and submitted to the node thread
 * (controller/st_controller.h); the controller's answer comes back through st_await_done. A
 * broker that is not the active controller answers NOT_CONTROLLER at once, and the client
 * refreshes its metadata to find the right one. */
#include <errno.h>
#include <inttypes.h>

#include "await.h"
#include "request.h"
#include "st_controller.h"

#define CONTROLLER_WAIT_MS 30000   /* controller.socket.timeout.ms's default */

/* Node thread. */
static void elect_done(void *arg, const Strand__ElectLeadersResponse *resp)
{
    st_await_done(arg, &resp->base);
}

static void shutdown_done(void *arg, const Strand__ControlledShutdownResponse *resp)
{
    st_await_done(arg, &resp->base);
}

static void alter_isr_done(void *arg, const Strand__AlterIsrResponse *resp)
{
    st_await_done(arg, &resp->base);
}

/* The NOT_CONTROLLER answer (counted and logged through the error path). */
static int32_t not_controller(st_request_t *req)
{
    return st_reply_error(req, ST_ERR_NOT_CONTROLLER, NULL, "%s sent to broker %" PRId32
                          ", which is not the active controller (controller is %" PRId32 ")",
                          st_api_name(req->api_key), req->broker->cfg.broker_id,
                          req->broker->node ? st_node_controller_id(req->broker->node) : -1);
}

static bool active(const st_request_t *req)
{
    return req->broker->node && st_node_is_controller(req->broker->node);
}

static int submit_elect(st_node_t *node, const void *msg, st_await_t *aw)
{
    return st_node_submit_elect_leaders(node, msg, elect_done, aw);
}

static int submit_shutdown(st_node_t *node, const void *msg, st_await_t *aw)
{
    return st_node_submit_controlled_shutdown(node, msg, shutdown_done, aw);
}

static int submit_alter_isr(st_node_t *node, const void *msg, st_await_t *aw)
{
    return st_node_submit_alter_isr(node, msg, alter_isr_done, aw);
}

/* Hands a decoded request to the controller: NOT_CONTROLLER at once when this broker is not
 * the active one, else parked until the controller answers (or REQUEST_TIMED_OUT after
 * wait_ms). resp is the handler's empty response, *code its error_code field. */
static int forward(st_request_t *req, ProtobufCMessage *resp, int32_t *code, int32_t wait_ms,
                   int (*submit)(st_node_t *node, const void *msg, st_await_t *aw),
                   const void *msg)
{
    if (!active(req)) {
        *code = not_controller(req);
        return st_request_respond(req, resp, NULL, 0);
    }
    *code = ST_ERR_REQUEST_TIMED_OUT;
    st_await_t *aw = st_await_park(req, wait_ms, resp, NULL);
    if (!aw)
        return st_reply_fatal(req->conn, req, "out of memory");
    int r = submit(req->broker->node, msg, aw);
    if (r < 0) {
        *code = r == -ENOTCONN ? not_controller(req) : ST_ERR_UNKNOWN_SERVER_ERROR;
        st_await_done(aw, resp);
    }
    return 0;
}

int st_handle_elect_leaders(st_request_t *req)
{
    Strand__ElectLeadersRequest *msg = strand__elect_leaders_request__unpack(&req->arena->pb,
                                                                             req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "ElectLeadersRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    Strand__ElectLeadersResponse resp = STRAND__ELECT_LEADERS_RESPONSE__INIT;
    if (msg->election_type != 0 && msg->election_type != 1) {
        resp.error_code = st_reply_error(req, ST_ERR_INVALID_REQUEST, NULL, "election_type %"
                                         PRId32 " (0 preferred, 1 unclean)", msg->election_type);
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    return forward(req, &resp.base, &resp.error_code,
                   msg->timeout_ms > 0 ? msg->timeout_ms : CONTROLLER_WAIT_MS, submit_elect, msg);
}

int st_handle_controlled_shutdown(st_request_t *req)
{
    Strand__ControlledShutdownResponse resp = STRAND__CONTROLLED_SHUTDOWN_RESPONSE__INIT;
    int r = 0;
    if (!st_request_require_inter_broker(req, &resp.base, &resp.error_code, &r))
        return r;
    Strand__ControlledShutdownRequest *msg =
        strand__controlled_shutdown_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "ControlledShutdownRequest body of %zu bytes does "
                              "not decode (invalid protobuf)", req->body_len);
    return forward(req, &resp.base, &resp.error_code, CONTROLLER_WAIT_MS, submit_shutdown, msg);
}

int st_handle_alter_isr(st_request_t *req)
{
    Strand__AlterIsrResponse resp = STRAND__ALTER_ISR_RESPONSE__INIT;
    int r = 0;
    if (!st_request_require_inter_broker(req, &resp.base, &resp.error_code, &r))
        return r;
    Strand__AlterIsrRequest *msg = strand__alter_isr_request__unpack(&req->arena->pb,
                                                                     req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "AlterIsrRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    return forward(req, &resp.base, &resp.error_code, CONTROLLER_WAIT_MS, submit_alter_isr, msg);
}
