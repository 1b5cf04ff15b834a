/* LeaderAndIsr (4), from the controller: checked for where it came from (the inter-broker
 * listener, super.users under SSL), decoded, and handed to the replica manager's replica-state
 * thread, which applies it in order (fencing by broker and controller epoch, then per partition
 * by leader epoch; see replica/replica_manager.c). The request stays parked (a delayed
 * operation) until the thread is done; then the per-partition errors are sent. */
#include <inttypes.h>

#include "replica_manager.h"
#include "request.h"

int st_handle_leader_and_isr(st_request_t *req)
{
    Strand__LeaderAndIsrResponse resp = STRAND__LEADER_AND_ISR_RESPONSE__INIT;
    int r = 0;
    if (!st_request_require_inter_broker(req, &resp.base, &resp.error_code, &r))
        return r;
    /* Default allocator: the request outlives this connection's arena turn. */
    Strand__LeaderAndIsrRequest *msg = strand__leader_and_isr_request__unpack(NULL, req->body_len,
                                                                             req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "LeaderAndIsrRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    return st_replica_manager_submit_leader_and_isr(req, msg);
}
