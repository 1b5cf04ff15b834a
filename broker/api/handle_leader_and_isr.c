/* LeaderAndIsr (4), from the controller: checked for where it came from (the inter-broker
 * listener, super.users under SSL), decoded, and handed to the replica manager's replica-state
 * thread, which applies it in order (fencing by broker and controller epoch, then per partition
 * by leader epoch; see replica/replica_manager.c). The request stays parked (a delayed
 * operation) until the thread is done; then the per-partition errors are sent. */
#include <inttypes.h>

#include "replica_manager.h"
#include "inter_broker.h"
#include "request.h"

int st_handle_leader_and_isr(st_request_t *req)
{
    if (!st_request_is_inter_broker(req, NULL, 0)) {
        Strand__LeaderAndIsrResponse resp = STRAND__LEADER_AND_ISR_RESPONSE__INIT;
        resp.error_code = st_reply_error(req, ST_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL,
                                         "LeaderAndIsr is accepted only on the inter-broker "
                                         "listener from a broker principal (peer %s)",
                                         st_conn_principal(req->conn));
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    /* Default allocator: the request outlives this connection's arena turn. */
    Strand__LeaderAndIsrRequest *msg = strand__leader_and_isr_request__unpack(NULL, req->body_len,
                                                                             req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "LeaderAndIsrRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    return st_replica_manager_submit_leader_and_isr(req, msg);
}
