/* The requests a broker hands to the controller it hosts: ElectLeaders (43, from admin clients),
 * ControlledShutdown (7) and AlterIsr (56) (from brokers, so only on the inter-broker listener).
 * Each is decoded on the loop thread, parked (await.h) and submitted to the node thread
 * (controller/st_controller.h); the controller's answer comes back through st_await_done. A
 * broker that is not the active controller answers NOT_CONTROLLER at once, and the client
 * refreshes its metadata to find the right one. */
#include <errno.h>
#include <inttypes.h>

#include "await.h"
#include "inter_broker.h"
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
    if (!active(req)) {
        resp.error_code = not_controller(req);
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    resp.error_code = ST_ERR_REQUEST_TIMED_OUT;
    int32_t wait = msg->timeout_ms > 0 ? msg->timeout_ms : CONTROLLER_WAIT_MS;
    st_await_t *aw = st_await_park(req, wait, &resp.base, NULL);
    if (!aw)
        return st_reply_fatal(req->conn, req, "out of memory");
    int r = st_node_submit_elect_leaders(req->broker->node, msg, elect_done, aw);
    if (r < 0) {
        resp.error_code = r == -ENOTCONN ? not_controller(req) : ST_ERR_UNKNOWN_SERVER_ERROR;
        st_await_done(aw, &resp.base);
    }
    return 0;
}

int st_handle_controlled_shutdown(st_request_t *req)
{
    Strand__ControlledShutdownResponse resp = STRAND__CONTROLLED_SHUTDOWN_RESPONSE__INIT;
    char why[256];
    if (!st_request_is_inter_broker(req, why, sizeof(why))) {
        resp.error_code = st_reply_error(req, ST_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL,
                                         "ControlledShutdown refused: %s", why);
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    Strand__ControlledShutdownRequest *msg =
        strand__controlled_shutdown_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "ControlledShutdownRequest body of %zu bytes does "
                              "not decode (invalid protobuf)", req->body_len);
    if (!active(req)) {
        resp.error_code = not_controller(req);
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    resp.error_code = ST_ERR_REQUEST_TIMED_OUT;
    st_await_t *aw = st_await_park(req, CONTROLLER_WAIT_MS, &resp.base, NULL);
    if (!aw)
        return st_reply_fatal(req->conn, req, "out of memory");
    int r = st_node_submit_controlled_shutdown(req->broker->node, msg, shutdown_done, aw);
    if (r < 0) {
        resp.error_code = r == -ENOTCONN ? not_controller(req) : ST_ERR_UNKNOWN_SERVER_ERROR;
        st_await_done(aw, &resp.base);
    }
    return 0;
}

int st_handle_alter_isr(st_request_t *req)
{
    Strand__AlterIsrResponse resp = STRAND__ALTER_ISR_RESPONSE__INIT;
    char why[256];
    if (!st_request_is_inter_broker(req, why, sizeof(why))) {
        resp.error_code = st_reply_error(req, ST_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL,
                                         "AlterIsr refused: %s", why);
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    Strand__AlterIsrRequest *msg = strand__alter_isr_request__unpack(&req->arena->pb,
                                                                     req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "AlterIsrRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    if (!active(req)) {
        resp.error_code = not_controller(req);
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    resp.error_code = ST_ERR_REQUEST_TIMED_OUT;
    st_await_t *aw = st_await_park(req, CONTROLLER_WAIT_MS, &resp.base, NULL);
    if (!aw)
        return st_reply_fatal(req->conn, req, "out of memory");
    int r = st_node_submit_alter_isr(req->broker->node, msg, alter_isr_done, aw);
    if (r < 0) {
        resp.error_code = r == -ENOTCONN ? not_controller(req) : ST_ERR_UNKNOWN_SERVER_ERROR;
        st_await_done(aw, &resp.base);
    }
    return 0;
}
